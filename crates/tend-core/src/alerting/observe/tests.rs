//! The lifecycle of one alert without flapping: pending, firing, recovery, escalation, late and
//! repeated observations.

use jiff::SignedDuration;

use crate::alerting::testing::{CRIT, HEALTHY, Seen, WARN, after, at, mins, seen, walk};
use crate::alerting::{
    AlertEvent as E, AlertPolicy, AlertState as S, AlertTrack, Condition, Observation, Severity, observe,
};

const WARNING: Severity = Severity::Warning;
const CRITICAL: Severity = Severity::Critical;

/// Pages at once and resolves at once: the policy without any hysteresis.
fn instant() -> AlertPolicy {
    AlertPolicy { pending_for: mins(0), recover_for: mins(0), ..AlertPolicy::default() }
}

#[test]
fn a_full_disk_sampled_every_minute() {
    let track = walk(
        &AlertPolicy::default(),
        AlertTrack::new(),
        vec![
            // (minute, seen, state, events)
            (0, WARN, S::Pending, vec![E::Pending]),
            (1, WARN, S::Pending, vec![]),
            (2, WARN, S::Firing, vec![E::Firing { severity: WARNING }]),
            (3, WARN, S::Firing, vec![]),
            // A brief recovery waits out recover_for…
            (4, HEALTHY, S::Firing, vec![]),
            // …and the problem returning within it is the same alert: no second page.
            (5, WARN, S::Firing, vec![]),
            (6, HEALTHY, S::Firing, vec![]),
            (7, HEALTHY, S::Firing, vec![]),
            // The problem lasted from minute 0 to minute 6.
            (8, HEALTHY, S::Ok, vec![E::Resolved { duration: mins(6) }]),
            (9, HEALTHY, S::Ok, vec![]),
        ],
    );
    let over = AlertTrack {
        changes: track.changes.clone(),
        last_summary: track.last_summary.clone(),
        last_observed_at: Some(at(9)),
        ..AlertTrack::new()
    };
    assert_eq!(track, over, "a resolved track keeps only its flap history");
}

/// (what, policy, history, observation, state, events)
type Transition<'a> = (&'a str, &'a AlertPolicy, &'a [Seen], Seen, S, Vec<E>);

#[test]
fn every_transition_of_one_step() {
    let policy = AlertPolicy::default();
    let instant = instant();
    let fired: &[Seen] = &[(0, WARN), (2, WARN)];
    let recovering: &[Seen] = &[(0, WARN), (2, WARN), (3, HEALTHY)];
    #[rustfmt::skip]
    let cases: Vec<Transition> = vec![
        // (what, policy, history, observation, state, events)
        ("ok stays ok", &policy, &[], (0, HEALTHY), S::Ok, vec![]),
        ("ok: a problem is pending", &policy, &[], (0, WARN), S::Pending, vec![E::Pending]),
        ("ok: fires at once without pending_for", &instant, &[], (0, CRIT), S::Firing, vec![E::Firing { severity: CRITICAL }]),
        ("pending: not lasted yet", &policy, &[(0, WARN)], (1, WARN), S::Pending, vec![]),
        ("pending: lasted exactly", &policy, &[(0, WARN)], (2, WARN), S::Firing, vec![E::Firing { severity: WARNING }]),
        ("pending: lasted longer, sparse samples", &policy, &[(0, WARN)], (10, CRIT), S::Firing, vec![E::Firing { severity: CRITICAL }]),
        ("pending: fires at the severity seen now", &policy, &[(0, CRIT), (1, WARN)], (2, WARN), S::Firing, vec![E::Firing { severity: WARNING }]),
        ("pending: a rise is no event yet", &policy, &[(0, WARN)], (1, CRIT), S::Pending, vec![]),
        ("pending: clears silently", &policy, &[(0, WARN)], (1, HEALTHY), S::Ok, vec![]),
        ("pending: clears silently after long", &policy, &[(0, WARN), (1, WARN)], (60, HEALTHY), S::Ok, vec![]),
        ("firing: stays firing", &policy, fired, (3, WARN), S::Firing, vec![]),
        ("firing: healthy starts the recovery wait", &policy, fired, (3, HEALTHY), S::Firing, vec![]),
        ("firing: one healthy sample after silence waits too", &policy, fired, (60, HEALTHY), S::Firing, vec![]),
        ("firing: resolves at once without recover_for", &instant, &[(0, CRIT)], (1, HEALTHY), S::Ok, vec![E::Resolved { duration: mins(1) }]),
        ("recovering: not lasted yet", &policy, recovering, (4, HEALTHY), S::Firing, vec![]),
        ("recovering: lasted exactly", &policy, recovering, (5, HEALTHY), S::Ok, vec![E::Resolved { duration: mins(3) }]),
        ("recovering: lasted longer, sparse samples", &policy, recovering, (60, HEALTHY), S::Ok, vec![E::Resolved { duration: mins(3) }]),
        ("recovering: the problem returns", &policy, recovering, (4, WARN), S::Firing, vec![]),
        ("recovering: the problem returns worse", &policy, recovering, (4, CRIT), S::Firing, vec![E::Escalated { from: WARNING, to: CRITICAL }]),
        ("firing: severity rises", &policy, fired, (3, CRIT), S::Firing, vec![E::Escalated { from: WARNING, to: CRITICAL }]),
        ("firing: severity falls", &policy, &[(0, CRIT), (2, CRIT)], (3, WARN), S::Firing, vec![]),
        ("firing: back up to what was announced", &policy, &[(0, WARN), (2, WARN), (3, CRIT), (4, WARN)], (5, CRIT), S::Firing, vec![]),
    ];
    for (what, policy, history, (minute, severity), state, events) in cases {
        let track = after(policy, history);
        let (next, got) = observe(&track, &seen(minute, severity), policy);
        assert_eq!((next.state, got), (state, events), "{what}");
        assert_eq!(S::from(next.condition), state, "{what}: without flapping, the condition is the state");
    }
}

#[test]
fn pending_for_is_measured_to_the_second() {
    let policy = AlertPolicy::default();
    let pending = after(&policy, &[(0, WARN)]);
    let cases = [(119, S::Pending), (120, S::Firing), (121, S::Firing)];
    for (secs, expected) in cases {
        let observation =
            Observation { at: at(0) + SignedDuration::from_secs(secs), severity: WARN, summary: String::new() };
        assert_eq!(observe(&pending, &observation, &policy).0.state, expected, "after {secs} s");
    }
}

/// (history, severity, announced, problem since, healthy since, fired at)
type Remembered = (&'static [Seen], Option<Severity>, Option<Severity>, Option<i64>, Option<i64>, Option<i64>);

#[test]
fn the_track_remembers_the_problem() {
    let policy = AlertPolicy::default();
    #[rustfmt::skip]
    let cases: Vec<Remembered> = vec![
        // (history, severity, announced, problem since, healthy since, fired at)
        (&[], None, None, None, None, None),
        (&[(0, CRIT)], CRIT, None, Some(0), None, None),
        (&[(0, CRIT), (1, WARN)], WARN, None, Some(0), None, None),
        (&[(0, WARN), (2, WARN)], WARN, WARN, Some(0), None, Some(2)),
        (&[(0, WARN), (2, WARN), (3, CRIT)], CRIT, CRIT, Some(0), None, Some(2)),
        (&[(0, WARN), (2, WARN), (3, CRIT), (4, WARN)], WARN, CRIT, Some(0), None, Some(2)),
        (&[(0, WARN), (2, WARN), (3, HEALTHY)], WARN, WARN, Some(0), Some(3), Some(2)),
        (&[(0, WARN), (2, WARN), (3, HEALTHY), (4, HEALTHY)], WARN, WARN, Some(0), Some(3), Some(2)),
        (&[(0, WARN), (2, WARN), (3, HEALTHY), (4, WARN)], WARN, WARN, Some(0), None, Some(2)),
        (&[(0, WARN), (2, WARN), (3, HEALTHY), (5, HEALTHY)], None, None, None, None, None),
        (&[(0, WARN), (1, HEALTHY)], None, None, None, None, None),
    ];
    for (history, severity, announced, problem_since, healthy_since, fired_at) in cases {
        let track = after(&policy, history);
        let got = (track.severity, track.announced_severity, track.problem_since, track.healthy_since, track.fired_at);
        let expected = (severity, announced, problem_since.map(at), healthy_since.map(at), fired_at.map(at));
        assert_eq!(got, expected, "after {history:?}");
    }
}

#[test]
fn a_bouncing_severity_escalates_once_per_problem() {
    walk(
        &AlertPolicy::default(),
        AlertTrack::new(),
        vec![
            (0, WARN, S::Pending, vec![E::Pending]),
            (2, WARN, S::Firing, vec![E::Firing { severity: WARNING }]),
            (3, CRIT, S::Firing, vec![E::Escalated { from: WARNING, to: CRITICAL }]),
            (4, WARN, S::Firing, vec![]),
            (5, CRIT, S::Firing, vec![]),
            (6, WARN, S::Firing, vec![]),
            (7, HEALTHY, S::Firing, vec![]),
            (9, HEALTHY, S::Ok, vec![E::Resolved { duration: mins(7) }]),
            // A new problem is announced and escalated afresh.
            (10, WARN, S::Pending, vec![E::Pending]),
            (12, WARN, S::Firing, vec![E::Firing { severity: WARNING }]),
            (13, CRIT, S::Firing, vec![E::Escalated { from: WARNING, to: CRITICAL }]),
        ],
    );
}

#[test]
fn a_problem_that_starts_critical_has_nothing_to_escalate() {
    walk(
        &AlertPolicy::default(),
        AlertTrack::new(),
        vec![
            (0, WARN, S::Pending, vec![E::Pending]),
            (1, CRIT, S::Pending, vec![]),
            (2, CRIT, S::Firing, vec![E::Firing { severity: CRITICAL }]),
            (3, WARN, S::Firing, vec![]),
            (4, CRIT, S::Firing, vec![]),
        ],
    );
}

#[test]
fn late_observations_change_nothing() {
    let policy = AlertPolicy::default();
    #[rustfmt::skip]
    let cases: Vec<(&[Seen], Seen)> = vec![
        // (history, late observation)
        (&[(5, HEALTHY)], (4, WARN)),
        (&[(0, WARN)], (-1, HEALTHY)),
        (&[(0, WARN), (2, WARN)], (1, HEALTHY)),
        (&[(0, WARN), (2, WARN)], (1, CRIT)),
        (&[(0, WARN), (2, WARN), (3, HEALTHY)], (2, WARN)),
        (&[(0, WARN), (2, WARN), (3, HEALTHY), (5, HEALTHY)], (4, WARN)),
    ];
    for (history, (minute, severity)) in cases {
        let track = after(&policy, history);
        let (next, events) = observe(&track, &seen(minute, severity), &policy);
        assert_eq!((next, events), (track, vec![]), "{severity:?} at minute {minute} after {history:?}");
    }
}

#[test]
fn an_observation_at_the_same_instant_counts() {
    // Two results stamped alike are both news; only older ones are late.
    walk(
        &AlertPolicy::default(),
        after(&AlertPolicy::default(), &[(0, WARN), (2, WARN)]),
        vec![(2, HEALTHY, S::Firing, vec![]), (4, HEALTHY, S::Ok, vec![E::Resolved { duration: mins(2) }])],
    );
}

#[test]
fn repeating_an_observation_changes_nothing_more() {
    let policy = AlertPolicy::default();
    let histories: [&[Seen]; 6] = [
        &[(0, HEALTHY)],
        &[(0, WARN)],
        &[(0, WARN), (2, CRIT)],
        &[(0, WARN), (2, WARN), (3, HEALTHY)],
        &[(0, WARN), (2, WARN), (3, HEALTHY), (5, HEALTHY)],
        &[(0, WARN), (1, HEALTHY)],
    ];
    for history in histories {
        let track = after(&policy, history);
        let &(minute, severity) = history.last().unwrap();
        let (again, events) = observe(&track, &seen(minute, severity), &policy);
        assert_eq!((again, events), (track, vec![]), "repeating the last of {history:?}");
    }
}

#[test]
fn the_summary_follows_the_latest_observation() {
    let policy = AlertPolicy::default();
    let track = after(&policy, &[(0, WARN), (2, CRIT)]);
    assert_eq!(track.last_summary, seen(2, CRIT).summary);
    let late = observe(&track, &seen(1, HEALTHY), &policy).0;
    assert_eq!(late.last_summary, seen(2, CRIT).summary);
}

#[test]
fn a_track_survives_its_json() {
    let policy = AlertPolicy::default();
    let track = after(&policy, &[(0, WARN), (2, WARN), (3, CRIT), (4, HEALTHY)]);
    let json = serde_json::to_string(&track).unwrap();
    assert_eq!(serde_json::from_str::<AlertTrack>(&json).unwrap(), track);
    assert_eq!(track.condition, Condition::Firing);

    let events = [
        (E::Pending, r#"{"kind":"pending"}"#),
        (E::Firing { severity: CRITICAL }, r#"{"kind":"firing","severity":"critical"}"#),
        (E::Escalated { from: WARNING, to: CRITICAL }, r#"{"kind":"escalated","from":"warning","to":"critical"}"#),
        (E::Resolved { duration: mins(6) }, r#"{"kind":"resolved","duration":"PT6M"}"#),
        (E::FlappingStarted, r#"{"kind":"flapping_started"}"#),
        (E::FlappingStopped, r#"{"kind":"flapping_stopped"}"#),
        (E::Acknowledged, r#"{"kind":"acknowledged"}"#),
        (E::AcknowledgementExpired, r#"{"kind":"acknowledgement_expired"}"#),
    ];
    for (event, json) in events {
        assert_eq!(serde_json::to_string(&event).unwrap(), json);
        assert_eq!(serde_json::from_str::<E>(json).unwrap(), event);
    }
}
