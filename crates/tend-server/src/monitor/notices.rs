//! Telling a client's contacts of planned maintenance before it happens.
//!
//! Which occurrence is due for a notice is the domain's (`maintenance::notices_due`); this
//! module writes one notice per occurrence and contact (idempotent across instances) and
//! delivers them by e-mail, with retries, like alert notifications.

use jiff::{SignedDuration, Timestamp, tz::TimeZone};
use tend_core::maintenance;
use tend_store::{MaintenanceWindowRow, NoticeRow, Scope};

use super::notify;
use super::scheduler::schedule_of;
use crate::{AppState, Error};

/// How long claimed notices are this instance's to send.
const NOTICE_LEASE: SignedDuration = SignedDuration::from_secs(120);
/// At most this many occurrences of one window are announced in one pass.
const MAX_OCCURRENCES_PER_PASS: usize = 16;

/// Writes the notices that have come due, then sends what is pending.
pub async fn run(state: &AppState, now: Timestamp) -> Result<(), Error> {
    for window in state.store.maintenance_windows(Scope::System, None).await? {
        if let Err(e) = plan(state, &window, now).await {
            tracing::warn!(window = window.id, error = %e, "planning maintenance notices failed");
        }
    }
    deliver(state, now).await
}

async fn plan(state: &AppState, window: &MaintenanceWindowRow, now: Timestamp) -> Result<(), Error> {
    let default_days = i64::from(state.config.notifications.maintenance_notice_days);
    let days = window.notice_days.unwrap_or(default_days);
    // Emergency work is announced by the technician, not by a notice days ahead.
    if window.kind != "planned" || window.ended_at.is_some() || days <= 0 {
        return Ok(());
    }
    let schedule = schedule_of(window)?;
    let mut last = state.store.last_noticed_start(window.id).await?;
    for _ in 0..MAX_OCCURRENCES_PER_PASS {
        let Some(occurrence) = maintenance::notices_due(&schedule, SignedDuration::from_hours(24 * days), last, now)
        else {
            break;
        };
        state.store.write_notices(window.id, occurrence.start, now).await?;
        last = Some(occurrence.start);
    }
    Ok(())
}

async fn deliver(state: &AppState, now: Timestamp) -> Result<(), Error> {
    for notice in state.store.claim_notices(now, NOTICE_LEASE, 100).await? {
        let (subject, body) = message(&notice);
        let smtp = &state.config.notifications;
        match notify::send_mail(smtp, &notice.contact_email, &subject, body, None).await {
            Ok(()) => state.store.record_notice(notice.id, now, None, None).await?,
            Err(reason) => {
                let attempts = notice.attempts + 1;
                let retry_at = notify::retry_at(attempts, now);
                tracing::warn!(notice = notice.id, attempts, %reason, "maintenance notice failed");
                state.store.record_notice(notice.id, now, Some(&reason), retry_at).await?;
            }
        }
    }
    Ok(())
}

/// The notice's subject and text, with times in the window's own time zone.
fn message(notice: &NoticeRow) -> (String, String) {
    let zone = TimeZone::get(&notice.time_zone).unwrap_or(TimeZone::UTC);
    let start = notice.occurrence_start.to_zoned(zone.clone());
    let end = (notice.occurrence_start + SignedDuration::from_secs(notice.duration_secs)).to_zoned(zone);
    let when = format!(
        "{} to {} ({})",
        start.strftime("%A %-d %B %Y, %H:%M"),
        end.strftime("%A %-d %B %Y, %H:%M"),
        notice.time_zone
    );
    let subject = format!("[tend] Planned maintenance: {} on {}", notice.title, start.strftime("%-d %B %Y"));
    let body = format!(
        "Hello {},\n\nplanned maintenance is scheduled on your systems.\n\n{}\nWhen: {when}\n\n{}\n",
        notice.contact_name, notice.title, notice.description
    );
    (subject, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notice_speaks_the_windows_local_time() {
        let notice = NoticeRow {
            id: 1,
            window_id: 1,
            occurrence_start: "2027-01-10T21:00:00Z".parse().unwrap(),
            contact_name: "Ada".into(),
            contact_email: "ada@acme.test".into(),
            title: "Kernel updates".into(),
            description: "Servers reboot one after the other.".into(),
            time_zone: "Europe/Paris".into(),
            duration_secs: 7200,
            status: "pending".into(),
            attempts: 0,
            sent_at: None,
            last_error: None,
        };
        let (subject, body) = message(&notice);
        assert_eq!(subject, "[tend] Planned maintenance: Kernel updates on 10 January 2027");
        assert!(
            body.contains("When: Sunday 10 January 2027, 22:00 to Monday 11 January 2027, 00:00 (Europe/Paris)"),
            "{body}"
        );
        assert!(body.contains("Servers reboot one after the other."));
    }
}
