//! One step of an alert's track: what a new observation changes and which events it raises.
//!
//! Owns the transitions ok → pending → firing → ok, the hysteresis on both sides, escalation
//! and flap detection. Must not notify, store or read the clock: the observation's time is the
//! only "now" it knows.

use jiff::{SignedDuration, Timestamp};

use super::track::{AlertEvent, AlertPolicy, AlertState, AlertTrack, Condition, Observation, Severity};

/// The track after `observation`, and the events it raised.
///
/// Transitions of the condition: a problem opens a pending alert, which fires once the problem
/// has lasted `pending_for` and goes back to ok silently if it clears before (nobody was told).
/// A firing alert resolves only after `recover_for` of health; a problem returning sooner
/// keeps it firing. A severity rising above what was announced escalates. On top, reaching
/// `flap_threshold` condition changes within `flap_window` makes the alert flapping: one
/// `FlappingStarted`, then silence until a whole window passes without a change.
pub fn observe(track: &AlertTrack, observation: &Observation, policy: &AlertPolicy) -> (AlertTrack, Vec<AlertEvent>) {
    if track.last_observed_at.is_some_and(|last| observation.at < last) {
        // A late delivery (say, an agent's spool replayed after a newer result): the track
        // already reflects newer knowledge, and replaying the past would invent transitions.
        return (track.clone(), Vec::new());
    }
    let at = observation.at;
    let mut next = track.clone();
    next.last_observed_at = Some(at);
    next.last_summary.clone_from(&observation.summary);
    let condition_events = follow_check(&mut next, observation, policy);
    if next.condition != track.condition {
        next.changes.push(at);
    }
    forget_old_changes(&mut next.changes, at, policy);
    let events = judge_flapping(track.state, &mut next, condition_events, at, policy);
    if next.state == AlertState::Ok {
        // The acknowledgement and the notification clock belong to the problem that just ended.
        next.acknowledgement = None;
        next.fired_at = None;
    }
    (next, events)
}

/// Moves the condition along with what the check saw, returning the events a person would be
/// told about if the alert were not flapping.
fn follow_check(track: &mut AlertTrack, observation: &Observation, policy: &AlertPolicy) -> Vec<AlertEvent> {
    let at = observation.at;
    match (track.condition, observation.severity) {
        (Condition::Ok, None) => Vec::new(),
        (Condition::Ok, Some(severity)) => {
            track.problem_since = Some(at);
            track.severity = Some(severity);
            if has_lasted(track.problem_since, at, policy.pending_for) {
                vec![fire(track, at, severity)]
            } else {
                track.condition = Condition::Pending;
                vec![AlertEvent::Pending]
            }
        }
        (Condition::Pending, Some(severity)) => {
            track.severity = Some(severity);
            if has_lasted(track.problem_since, at, policy.pending_for) {
                vec![fire(track, at, severity)]
            } else {
                Vec::new()
            }
        }
        (Condition::Pending, None) => {
            // It never fired, so there is nobody to tell that it is over.
            clear_problem(track);
            Vec::new()
        }
        (Condition::Firing, Some(severity)) => {
            track.healthy_since = None;
            escalate(track, severity)
        }
        (Condition::Firing, None) => recover(track, at, policy.recover_for),
    }
}

fn has_lasted(since: Option<Timestamp>, at: Timestamp, needed: SignedDuration) -> bool {
    since.is_some_and(|since| at.duration_since(since) >= needed)
}

/// Makes the condition firing and announces it at `severity`.
fn fire(track: &mut AlertTrack, at: Timestamp, severity: Severity) -> AlertEvent {
    track.condition = Condition::Firing;
    track.fired_at = Some(at);
    track.announced_severity = Some(severity);
    AlertEvent::Firing { severity }
}

/// A firing alert's severity now: an event only when it rises above what people were told, so
/// a value bouncing between warning and critical escalates once.
fn escalate(track: &mut AlertTrack, severity: Severity) -> Vec<AlertEvent> {
    track.severity = Some(severity);
    match track.announced_severity {
        Some(from) if severity > from => {
            track.announced_severity = Some(severity);
            vec![AlertEvent::Escalated { from, to: severity }]
        }
        _ => Vec::new(),
    }
}

/// A healthy observation of a firing alert: resolves once health has lasted `recover_for`.
fn recover(track: &mut AlertTrack, at: Timestamp, recover_for: SignedDuration) -> Vec<AlertEvent> {
    let healthy_since = *track.healthy_since.get_or_insert(at);
    if at.duration_since(healthy_since) < recover_for {
        return Vec::new();
    }
    let duration = track.problem_since.map_or(SignedDuration::ZERO, |since| healthy_since.duration_since(since));
    clear_problem(track);
    vec![AlertEvent::Resolved { duration }]
}

fn clear_problem(track: &mut AlertTrack) {
    track.condition = Condition::Ok;
    track.severity = None;
    track.announced_severity = None;
    track.problem_since = None;
    track.healthy_since = None;
}

/// Keeps only the changes that can still matter: those inside the window, and of those only
/// the newest `flap_threshold` (enough to reach the threshold; the newest also says when
/// flapping may end). This bounds the stored track however often a check runs.
fn forget_old_changes(changes: &mut Vec<Timestamp>, at: Timestamp, policy: &AlertPolicy) {
    changes.retain(|&change| at.duration_since(change) < policy.flap_window);
    let keep = usize::try_from(policy.flap_threshold.max(1)).unwrap_or(usize::MAX);
    let surplus = changes.len().saturating_sub(keep);
    changes.drain(..surplus);
}

/// Decides the state people see from the condition and the recent changes, and which of the
/// condition's events reach them.
fn judge_flapping(
    previous: AlertState,
    track: &mut AlertTrack,
    condition_events: Vec<AlertEvent>,
    at: Timestamp,
    policy: &AlertPolicy,
) -> Vec<AlertEvent> {
    if previous == AlertState::Flapping {
        if track.changes.is_empty() {
            return stop_flapping(track, at);
        }
        // Still flapping: whatever the condition did, nobody is woken for it, and a firing
        // condition has not been announced, so no notification clock runs.
        track.fired_at = None;
        return Vec::new();
    }
    if reaches_flap_threshold(&track.changes, policy) {
        track.state = AlertState::Flapping;
        track.fired_at = None;
        return vec![AlertEvent::FlappingStarted];
    }
    track.state = track.condition.into();
    condition_events
}

fn reaches_flap_threshold(changes: &[Timestamp], policy: &AlertPolicy) -> bool {
    policy.flap_threshold > 0 && u32::try_from(changes.len()).unwrap_or(u32::MAX) >= policy.flap_threshold
}

/// A whole window without a change: the alert settles where the condition is. A problem that
/// persists is announced afresh, since the flapping message was the last anyone heard of it.
fn stop_flapping(track: &mut AlertTrack, at: Timestamp) -> Vec<AlertEvent> {
    track.state = track.condition.into();
    let mut events = vec![AlertEvent::FlappingStopped];
    match (track.condition, track.severity) {
        (Condition::Firing, Some(severity)) => events.push(fire(track, at, severity)),
        (Condition::Pending, _) => events.push(AlertEvent::Pending),
        _ => {}
    }
    events
}

#[cfg(test)]
mod flapping_tests;
#[cfg(test)]
mod tests;
