//! When a firing alert calls for another notification: a reminder to whoever was told, or
//! escalation to the next level of support.
//!
//! Owns the decisions only. Must not choose recipients or channels, nor send anything: the
//! server does, and records when it last notified, which is what keeps escalation to once.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::track::{AlertState, AlertTrack};

/// How persistently an unacknowledged firing alert is pursued. `None`, zero or a negative
/// duration means never, so a mistyped policy cannot cause a notification storm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationPolicy {
    /// Remind this often while the alert fires unacknowledged.
    pub repeat_every: Option<SignedDuration>,
    /// Escalate once when the alert has fired this long unacknowledged.
    pub escalate_after: Option<SignedDuration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationDue {
    /// Remind the people already notified.
    Repeat,
    /// Hand the alert to the next support level.
    EscalateToNextLevel,
}

/// The notifications due at `now` for `track`, escalation first. `last_notified` is when the
/// server last notified anyone of this alert (the firing notification included), `None` if
/// never; the clocks count from it or from `fired_at`, whichever is later.
///
/// Nothing is due unless the alert fires unacknowledged: a pending alert has told nobody, a
/// flapping one said so once, and an acknowledged one has someone on it. Escalation is due
/// when `escalate_after` has passed since the alert fired and nobody was notified since that
/// moment; the escalation notification itself moves `last_notified` past it, so it comes once.
/// An acknowledgement that lapses after that moment lets escalation through at once.
pub fn due_notifications(
    track: &AlertTrack,
    policy: &EscalationPolicy,
    last_notified: Option<Timestamp>,
    now: Timestamp,
) -> Vec<NotificationDue> {
    let Some(fired_at) = track.fired_at else { return Vec::new() };
    if track.state != AlertState::Firing || track.is_acknowledged(now) {
        return Vec::new();
    }
    let notified = last_notified.map_or(fired_at, |last| last.max(fired_at));
    let mut due = Vec::new();
    if let Some(after) = positive(policy.escalate_after)
        && now.duration_since(fired_at) >= after
        && notified.duration_since(fired_at) < after
    {
        due.push(NotificationDue::EscalateToNextLevel);
    }
    if let Some(every) = positive(policy.repeat_every)
        && now.duration_since(notified) >= every
    {
        due.push(NotificationDue::Repeat);
    }
    due
}

fn positive(duration: Option<SignedDuration>) -> Option<SignedDuration> {
    duration.filter(|duration| duration.is_positive())
}

#[cfg(test)]
mod tests;
