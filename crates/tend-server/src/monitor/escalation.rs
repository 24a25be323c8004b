//! Pursuing firing alerts nobody acknowledged: reminders to the channels already on the alert,
//! and escalation to the channels of the next support level (L1 → L2 → L3).
//!
//! When is the domain's (`alerting::due_notifications`); this module only finds the alerts,
//! routes the notifications and records them with the alert, in one write.

use jiff::{SignedDuration, Timestamp};
use tend_core::alerting::{self, AlertTrack, EscalationPolicy, NotificationDue};
use tend_store::{AlertEventRecord, AlertRow, AlertUpdate, Scope};

use super::evaluate::{self, Audience, FIRST_LEVEL, Message, Subject};
use crate::config::NotificationsConfig;
use crate::{AppState, Error};

/// The configured policy (validated at start); a zero duration turns a part off, which the
/// domain already reads as never.
pub fn policy(config: &NotificationsConfig) -> EscalationPolicy {
    let duration = |text: &str| text.parse::<SignedDuration>().ok().filter(|d| d.is_positive());
    EscalationPolicy { repeat_every: duration(&config.repeat_every), escalate_after: duration(&config.escalate_after) }
}

/// The level above `level`, if there is one.
fn next_level(level: &str) -> Option<&'static str> {
    match level {
        "L1" => Some("L2"),
        "L2" => Some("L3"),
        _ => None,
    }
}

/// Sends what is due for every firing, unacknowledged alert.
pub async fn pursue(state: &AppState, now: Timestamp) -> Result<(), Error> {
    let policy = policy(&state.config.notifications);
    if policy == EscalationPolicy::default() {
        return Ok(());
    }
    let firing =
        state.store.list_alerts(Scope::System, true, 100_000).await?.into_iter().filter(|a| a.state == "firing");
    let mut updates = Vec::new();
    for alert in firing {
        let Ok(track) = serde_json::from_str::<AlertTrack>(&alert.track) else { continue };
        let due = alerting::due_notifications(&track, &policy, alert.last_notified_at, now);
        if !due.is_empty()
            && let Some(update) = notify(state, &alert, &due, now).await?
        {
            updates.push(update);
        }
    }
    state.store.apply_alert_updates(&updates).await?;
    Ok(())
}

/// The reminder and escalation of one alert, `None` when no channel would hear them.
async fn notify(
    state: &AppState,
    alert: &AlertRow,
    due: &[NotificationDue],
    now: Timestamp,
) -> Result<Option<AlertUpdate>, Error> {
    let site_id = match alert.host_id {
        Some(host) => state.store.host(Scope::System, host).await?.site_id,
        None => None,
    };
    let channels = state.store.channels_for_client(alert.client_id).await?;
    let subject = Subject { host_id: alert.host_id, client_id: alert.client_id, site_id, name: alert.target.clone() };
    let message = Message { subject: &subject, check: &alert.check, target: &alert.target, summary: &alert.summary };
    let severity = alert.severity.as_deref().and_then(evaluate::severity_of);
    let mut level = alert.escalated_to.clone().unwrap_or_else(|| FIRST_LEVEL.to_owned());
    let mut update = AlertUpdate { at: now, ..evaluate::update_of(alert) };
    for due in due {
        let (event, audience) = match due {
            NotificationDue::EscalateToNextLevel => {
                let Some(next) = next_level(&level) else { continue };
                level = next.to_owned();
                update.escalated_to = Some(level.clone());
                (format!("escalated_to_{}", level.to_lowercase()), Audience::Only(next))
            }
            NotificationDue::Repeat => ("reminder".to_owned(), Audience::UpTo(&level)),
        };
        let intents = evaluate::intents(&message, &event, severity, &channels, audience, now);
        // A reminder nobody hears is not history; an escalation is (it moved the alert's level).
        if intents.is_empty() && *due == NotificationDue::Repeat {
            continue;
        }
        let detail = serde_json::json!({ "channels": intents.len() }).to_string();
        update.events.push(AlertEventRecord { at: now, event, detail, notified: !intents.is_empty() });
        update.notifications.extend(intents);
    }
    // Nobody at the next level: the escalation notified nobody, so it is due again at the next
    // pass and climbs one more level: empty levels are skipped.
    Ok((!update.events.is_empty()).then_some(update))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_climb_to_l3_and_stop() {
        assert_eq!(next_level("L1"), Some("L2"));
        assert_eq!(next_level("L2"), Some("L3"));
        assert_eq!(next_level("L3"), None);
    }

    #[test]
    fn zero_turns_a_part_off() {
        let config =
            NotificationsConfig { repeat_every: "0s".into(), escalate_after: "15m".into(), ..Default::default() };
        let policy = policy(&config);
        assert_eq!(policy.repeat_every, None);
        assert_eq!(policy.escalate_after, Some(SignedDuration::from_mins(15)));
    }
}
