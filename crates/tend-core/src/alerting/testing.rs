//! Helpers for the alerting tests: minutes on a fixed clock and walks through time.

use jiff::{SignedDuration, Timestamp};

use super::{AlertEvent, AlertPolicy, AlertState, AlertTrack, Observation, Severity, observe};

pub const HEALTHY: Option<Severity> = None;
pub const WARN: Option<Severity> = Some(Severity::Warning);
pub const CRIT: Option<Severity> = Some(Severity::Critical);

/// `minute` minutes after an arbitrary fixed origin.
pub fn at(minute: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + minute * 60).unwrap()
}

pub fn mins(minutes: i64) -> SignedDuration {
    SignedDuration::from_mins(minutes)
}

pub fn seen(minute: i64, severity: Option<Severity>) -> Observation {
    Observation { at: at(minute), severity, summary: format!("{severity:?} at minute {minute}") }
}

/// An observation in a table: the minute and what the check saw.
pub type Seen = (i64, Option<Severity>);

/// One row of a walk: the minute, what the check saw, then the state and events expected.
pub type Step = (i64, Option<Severity>, AlertState, Vec<AlertEvent>);

/// Feeds each step's observation to the track and checks the outcome; returns the last track.
pub fn walk(policy: &AlertPolicy, start: AlertTrack, steps: Vec<Step>) -> AlertTrack {
    steps.into_iter().fold(start, |track, (minute, severity, state, events)| {
        let (next, got) = observe(&track, &seen(minute, severity), policy);
        assert_eq!((next.state, got), (state, events), "minute {minute}, saw {severity:?}, from {track:?}");
        next
    })
}

/// The track after `observations`, whatever happened on the way.
pub fn after(policy: &AlertPolicy, observations: &[Seen]) -> AlertTrack {
    observations
        .iter()
        .fold(AlertTrack::new(), |track, &(minute, severity)| observe(&track, &seen(minute, severity), policy).0)
}

/// Every event a run of observations raises, in order, with its minute.
pub fn events_of(
    policy: &AlertPolicy,
    start: AlertTrack,
    observations: impl IntoIterator<Item = Seen>,
) -> (AlertTrack, Vec<(i64, AlertEvent)>) {
    let mut all = Vec::new();
    let track = observations.into_iter().fold(start, |track, (minute, severity)| {
        let (next, events) = observe(&track, &seen(minute, severity), policy);
        all.extend(events.into_iter().map(|event| (minute, event)));
        next
    });
    (track, all)
}
