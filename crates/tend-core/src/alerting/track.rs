//! The vocabulary of an alert and the record the server keeps of it: what a check saw, how a
//! track reacts (the policy), where it stands, and the events it raises.
//!
//! Owns the shapes only. The transitions live in `observe` and `acknowledgement`; nothing here
//! decides anything.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// How bad a problem is. Ordered, Critical above Warning, so that escalation is a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    Critical,
}

/// One result of a check against one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    pub at: Timestamp,
    /// `None` when the check found the target healthy.
    pub severity: Option<Severity>,
    pub summary: String,
}

/// How a track turns observations into an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertPolicy {
    /// How long a problem must persist before the alert fires; zero fires at once.
    pub pending_for: SignedDuration,
    /// How long a firing alert must be healthy before it resolves; a problem returning within
    /// this time keeps the same alert firing instead of opening a new one.
    pub recover_for: SignedDuration,
    /// The span over which state changes are counted for flap detection.
    pub flap_window: SignedDuration,
    /// This many state changes within `flap_window` mean flapping; zero turns detection off.
    pub flap_threshold: u32,
}

impl Default for AlertPolicy {
    /// Tuned for checks sampled about once a minute.
    ///
    /// - Pending 2 min: a problem must show in three consecutive samples before anyone is paged,
    ///   so one bad sample (a reboot, a backup's I/O burst, a lost packet) pages no one, while a
    ///   real outage still reaches a person within about two minutes. Zero would page on every
    ///   blip.
    /// - Recover 2 min: the same on the way back; one good sample inside an outage does not close
    ///   the alert only for it to open again and page twice.
    /// - 6 changes in 30 min: three full problem/recovery cycles in half an hour is no longer an
    ///   outage but an unstable service; one "flapping" message says so instead of a page per
    ///   cycle. A lower count would take two genuine incidents in a row for flapping.
    fn default() -> Self {
        AlertPolicy {
            pending_for: SignedDuration::from_mins(2),
            recover_for: SignedDuration::from_mins(2),
            flap_window: SignedDuration::from_mins(30),
            flap_threshold: 6,
        }
    }
}

/// Where an alert stands, as people see it. A resolution is an event that returns it to `Ok`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    #[default]
    Ok,
    Pending,
    Firing,
    /// Changing state too often to be worth a page per change; notifications are held back.
    Flapping,
}

/// What the observations alone make of an alert, before flap detection holds anything back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    #[default]
    Ok,
    Pending,
    Firing,
}

impl From<Condition> for AlertState {
    fn from(condition: Condition) -> Self {
        match condition {
            Condition::Ok => AlertState::Ok,
            Condition::Pending => AlertState::Pending,
            Condition::Firing => AlertState::Firing,
        }
    }
}

/// A person taking an alert on: reminders and escalation hold until `until`, or until the
/// problem is over when there is no `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    /// The user who acknowledged.
    pub by: i64,
    pub comment: String,
    pub at: Timestamp,
    pub until: Option<Timestamp>,
}

/// Everything the server keeps of one (check, target) pair between observations, stored as JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertTrack {
    pub state: AlertState,
    /// What the observations say; equals `state` except while flapping, when it tells what the
    /// check is doing underneath.
    pub condition: Condition,
    /// The severity of the current problem, `None` when there is none.
    pub severity: Option<Severity>,
    /// The highest severity people were told about in this problem (by `Firing` or
    /// `Escalated`): a severity bouncing between warning and critical escalates once, not on
    /// every bounce.
    pub announced_severity: Option<Severity>,
    /// When the current problem was first seen.
    pub problem_since: Option<Timestamp>,
    /// When a firing alert's check turned healthy again, while it waits out `recover_for`.
    pub healthy_since: Option<Timestamp>,
    /// When people were told the alert is firing; reminders and escalation count from here.
    /// `None` unless the state is `Firing`.
    pub fired_at: Option<Timestamp>,
    /// Recent changes of `condition`, for flap detection: only those within the flap window,
    /// and only as many as the threshold needs.
    pub changes: Vec<Timestamp>,
    pub acknowledgement: Option<Acknowledgement>,
    pub last_summary: String,
    /// The time of the newest observation taken into account; older ones arrive too late.
    pub last_observed_at: Option<Timestamp>,
}

impl AlertTrack {
    /// A track that has seen nothing: `Ok`.
    pub fn new() -> Self {
        Self::default()
    }
}

/// What happened to an alert: the server records each in the alert's history and makes
/// notifications from them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AlertEvent {
    /// A problem was seen and is waiting out `pending_for`.
    Pending,
    Firing {
        severity: Severity,
    },
    /// The severity rose while firing, above anything already announced.
    Escalated {
        from: Severity,
        to: Severity,
    },
    /// The alert is over. `duration` is how long the problem lasted: from when it was first seen
    /// until the check turned healthy for good, not counting the wait of `recover_for`.
    Resolved {
        duration: SignedDuration,
    },
    FlappingStarted,
    FlappingStopped,
    Acknowledged,
    AcknowledgementExpired,
}
