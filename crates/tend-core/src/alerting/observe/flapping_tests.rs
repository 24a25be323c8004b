//! Flapping: a service that keeps changing state raises one message, not a page per change.

use crate::alerting::testing::{CRIT, HEALTHY, Seen, WARN, after, at, events_of, mins, walk};
use crate::alerting::{AlertEvent as E, AlertPolicy, AlertState as S, AlertTrack, Condition, Severity};

const CRITICAL: Severity = Severity::Critical;

/// A check toggling every minute: a problem on even minutes, healthy on odd ones.
fn toggling(minutes: std::ops::Range<i64>) -> impl Iterator<Item = Seen> {
    minutes.map(|minute| (minute, if minute % 2 == 0 { WARN } else { HEALTHY }))
}

/// Three minutes down, three minutes up, over and over.
fn cycling(minutes: std::ops::Range<i64>) -> impl Iterator<Item = Seen> {
    minutes.map(|minute| (minute, if minute % 6 < 3 { CRIT } else { HEALTHY }))
}

#[test]
fn a_service_toggling_every_minute_says_so_once() {
    let policy = AlertPolicy::default();
    let observations = toggling(0..60).chain((60..120).map(|minute| (minute, HEALTHY)));
    let (track, events) = events_of(&policy, AlertTrack::new(), observations);
    // Never down for pending_for, so it would never have fired; six changes make it flapping,
    // and the last change (minute 59) lies a whole window back at minute 89.
    let expected =
        vec![(0, E::Pending), (2, E::Pending), (4, E::Pending), (5, E::FlappingStarted), (89, E::FlappingStopped)];
    assert_eq!(events, expected);
    assert_eq!(track.state, S::Ok);
}

#[test]
fn flapping_starts_at_the_threshold_and_stops_after_a_quiet_window() {
    let policy = AlertPolicy::default();
    let start = walk(
        &policy,
        AlertTrack::new(),
        vec![
            // (minute, seen, state, events); changes counted in brackets
            (0, WARN, S::Pending, vec![E::Pending]), // [1]
            (1, HEALTHY, S::Ok, vec![]),             // [2]
            (2, WARN, S::Pending, vec![E::Pending]), // [3]
            (3, HEALTHY, S::Ok, vec![]),             // [4]
            (4, WARN, S::Pending, vec![E::Pending]), // [5]
            (5, HEALTHY, S::Flapping, vec![E::FlappingStarted]),
            (6, WARN, S::Flapping, vec![]),
            (7, HEALTHY, S::Flapping, vec![]),
            (36, HEALTHY, S::Flapping, vec![]),
        ],
    );
    assert_eq!(start.condition, Condition::Ok);
    walk(&policy, start, vec![(37, HEALTHY, S::Ok, vec![E::FlappingStopped]), (38, HEALTHY, S::Ok, vec![])]);
}

#[test]
fn hysteresis_alone_absorbs_a_fast_toggle() {
    // Paging at once, but a minute of health is too short to resolve: one page, no storm.
    let policy = AlertPolicy { pending_for: mins(0), ..AlertPolicy::default() };
    let (track, events) = events_of(&policy, AlertTrack::new(), toggling(0..60));
    assert_eq!(events, vec![(0, E::Firing { severity: Severity::Warning })]);
    assert_eq!(track.state, S::Firing);
}

#[test]
fn a_cycling_service_pages_three_times_then_flaps_then_fires_when_steady() {
    let policy = AlertPolicy { pending_for: mins(0), ..AlertPolicy::default() };
    let observations = cycling(0..60).chain((60..=95).map(|minute| (minute, CRIT)));
    let (track, events) = events_of(&policy, AlertTrack::new(), observations);
    let resolved = E::Resolved { duration: mins(3) };
    let firing = E::Firing { severity: CRITICAL };
    #[rustfmt::skip]
    let expected = vec![
        (0, firing.clone()), (5, resolved.clone()),
        (6, firing.clone()), (11, resolved),
        (12, firing.clone()),
        // The sixth change (a resolution) makes it flapping: no Resolved, no more Firing.
        (17, E::FlappingStarted),
        // Steady since the change at minute 60: a whole window later it is announced afresh.
        (90, E::FlappingStopped), (90, firing),
    ];
    assert_eq!(events, expected);
    assert_eq!((track.state, track.fired_at), (S::Firing, Some(at(90))), "notification clocks start anew");
}

#[test]
fn while_flapping_no_transition_is_told() {
    let policy = AlertPolicy { pending_for: mins(0), ..AlertPolicy::default() };
    let flapping = after(&policy, &cycling(0..18).collect::<Vec<_>>());
    assert_eq!((flapping.state, flapping.condition, flapping.fired_at), (S::Flapping, Condition::Ok, None));
    let track = walk(
        &policy,
        flapping,
        vec![
            // Firing, escalation, falling back and resolution all stay quiet.
            (18, WARN, S::Flapping, vec![]),
            (19, CRIT, S::Flapping, vec![]),
            (20, WARN, S::Flapping, vec![]),
            (21, HEALTHY, S::Flapping, vec![]),
            (23, HEALTHY, S::Flapping, vec![]),
            (24, WARN, S::Flapping, vec![]),
        ],
    );
    assert_eq!((track.condition, track.fired_at), (Condition::Firing, None));
    // Steady from minute 24: leaves at 54 with the severity seen then, and escalates normally.
    walk(
        &policy,
        track,
        vec![
            (53, WARN, S::Flapping, vec![]),
            (54, WARN, S::Firing, vec![E::FlappingStopped, E::Firing { severity: Severity::Warning }]),
            (55, CRIT, S::Firing, vec![E::Escalated { from: Severity::Warning, to: CRITICAL }]),
        ],
    );
}

#[test]
fn flapping_can_end_in_a_pending_alert() {
    // Waiting longer than the flap window before paging: the steady problem is still pending
    // when the window has passed.
    let policy = AlertPolicy { pending_for: mins(60), ..AlertPolicy::default() };
    let flapping = after(&policy, &toggling(0..6).collect::<Vec<_>>());
    assert_eq!(flapping.state, S::Flapping);
    walk(
        &policy,
        flapping,
        vec![
            (6, WARN, S::Flapping, vec![]),
            (35, WARN, S::Flapping, vec![]),
            (36, WARN, S::Pending, vec![E::FlappingStopped, E::Pending]),
            (65, WARN, S::Pending, vec![]),
            (66, WARN, S::Firing, vec![E::Firing { severity: Severity::Warning }]),
        ],
    );
}

#[test]
fn every_flap_policy_edge() {
    let base = AlertPolicy { pending_for: mins(0), recover_for: mins(0), ..AlertPolicy::default() };
    #[rustfmt::skip]
    let cases = [
        // (what, policy, FlappingStarted at minutes)
        ("six changes in thirty minutes", base, vec![5]),
        ("threshold zero: detection off", AlertPolicy { flap_threshold: 0, ..base }, vec![]),
        ("window zero: detection off", AlertPolicy { flap_window: mins(0), ..base }, vec![]),
        ("threshold one: the first change", AlertPolicy { flap_threshold: 1, ..base }, vec![0]),
        // Changes one minute apart: a five-minute window never holds more than five of them.
        ("window too short for the threshold", AlertPolicy { flap_window: mins(5), ..base }, vec![]),
        ("window just long enough", AlertPolicy { flap_window: mins(6), ..base }, vec![5]),
    ];
    for (what, policy, expected) in cases {
        let (_, events) = events_of(&policy, AlertTrack::new(), toggling(0..40));
        let started: Vec<i64> =
            events.iter().filter(|(_, event)| *event == E::FlappingStarted).map(|&(minute, _)| minute).collect();
        assert_eq!(started, expected, "{what}");
        if expected.is_empty() {
            // Without flap detection every change is told: the storm it exists to prevent.
            let pages = events.iter().filter(|(_, event)| matches!(event, E::Firing { .. })).count();
            assert_eq!(pages, 20, "{what}");
        }
    }
}

#[test]
fn the_flap_history_stays_small() {
    let policy = AlertPolicy::default();
    let (track, _) = events_of(&policy, AlertTrack::new(), toggling(0..10_000));
    assert_eq!(track.changes.len(), 6, "only as many changes as the threshold needs");
    assert_eq!(track.changes.last(), Some(&at(9_999)));
    let quiet = after(&policy, &[(0, WARN), (1, HEALTHY), (31, HEALTHY)]);
    assert_eq!(quiet.changes, vec![], "changes a whole window old are forgotten");
    let recent = after(&policy, &[(0, WARN), (1, HEALTHY), (30, HEALTHY)]);
    assert_eq!(recent.changes, vec![at(1)]);
}
