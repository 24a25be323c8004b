//! Reminders and escalation of a firing alert, walked through time.

use jiff::Timestamp;

use super::*;
use crate::alerting::testing::{CRIT, HEALTHY, WARN, after, at, mins};
use crate::alerting::{Acknowledgement, AlertPolicy, acknowledge};

use NotificationDue::{EscalateToNextLevel as Escalate, Repeat};

/// Remind every 15 minutes, escalate after 30.
fn pursue() -> EscalationPolicy {
    EscalationPolicy { repeat_every: Some(mins(15)), escalate_after: Some(mins(30)) }
}

/// An alert that fired at minute 0 and has nobody on it.
fn firing() -> AlertTrack {
    after(&AlertPolicy { pending_for: mins(0), ..AlertPolicy::default() }, &[(0, CRIT)])
}

fn acknowledged_until(until: Option<Timestamp>) -> AlertTrack {
    let ack = Acknowledgement { by: 7, comment: "on it".into(), at: at(1), until };
    acknowledge(&firing(), ack).unwrap().0
}

#[test]
fn reminders_and_one_escalation_over_time() {
    let track = firing();
    assert_eq!(track.fired_at, Some(at(0)));
    #[rustfmt::skip]
    let cases: Vec<(Option<i64>, i64, Vec<NotificationDue>)> = vec![
        // (last notified, now, due)
        (None, 0, vec![]),
        (Some(0), 0, vec![]),
        (Some(0), 14, vec![]),
        (Some(0), 15, vec![Repeat]),
        (Some(15), 29, vec![]),
        (Some(15), 30, vec![Escalate, Repeat]),
        (Some(20), 31, vec![Escalate]),
        (Some(30), 31, vec![]),
        (Some(30), 44, vec![]),
        (Some(30), 45, vec![Repeat]),
        (Some(45), 600, vec![Repeat]),
        // Never notified: the clocks run from the firing.
        (None, 15, vec![Repeat]),
        (None, 30, vec![Escalate, Repeat]),
        // A notification about an earlier problem does not count for this one.
        (Some(-100), 10, vec![]),
        (Some(-100), 15, vec![Repeat]),
        (Some(-100), 30, vec![Escalate, Repeat]),
    ];
    for (last_notified, now, due) in cases {
        let got = due_notifications(&track, &pursue(), last_notified.map(at), at(now));
        assert_eq!(got, due, "last notified {last_notified:?}, now {now}");
    }
}

#[test]
fn each_half_of_the_policy_works_alone() {
    let track = firing();
    #[rustfmt::skip]
    let cases = vec![
        // (what, policy, last notified, now, due)
        ("nothing configured", EscalationPolicy::default(), Some(0), 1_000, vec![]),
        ("repeat only", EscalationPolicy { escalate_after: None, ..pursue() }, Some(0), 30, vec![Repeat]),
        ("escalate only", EscalationPolicy { repeat_every: None, ..pursue() }, Some(0), 30, vec![Escalate]),
        ("escalate only, already done", EscalationPolicy { repeat_every: None, ..pursue() }, Some(30), 1_000, vec![]),
        ("zero periods mean never", EscalationPolicy { repeat_every: Some(mins(0)), escalate_after: Some(mins(0)) }, Some(0), 1_000, vec![]),
        ("negative periods mean never", EscalationPolicy { repeat_every: Some(mins(-5)), escalate_after: Some(mins(-5)) }, None, 1_000, vec![]),
    ];
    for (what, policy, last_notified, now, due) in cases {
        assert_eq!(due_notifications(&track, &policy, last_notified.map(at), at(now)), due, "{what}");
    }
}

#[test]
fn only_an_unacknowledged_firing_alert_is_pursued() {
    let policy = AlertPolicy::default();
    let flapping_policy = AlertPolicy { pending_for: mins(0), recover_for: mins(0), ..policy };
    let toggled: Vec<_> = (0..6).map(|minute| (minute, if minute % 2 == 0 { WARN } else { HEALTHY })).collect();
    #[rustfmt::skip]
    let cases: Vec<(&str, AlertTrack, i64, Vec<NotificationDue>)> = vec![
        // (what, track, now, due) — last notified at minute 0 each time
        ("never seen", AlertTrack::new(), 600, vec![]),
        ("pending: nobody was told", after(&policy, &[(0, WARN)]), 600, vec![]),
        ("resolved", after(&policy, &[(0, WARN), (2, WARN), (3, HEALTHY), (5, HEALTHY)]), 600, vec![]),
        ("flapping: told once", after(&flapping_policy, &toggled), 600, vec![]),
        ("acknowledged for good", acknowledged_until(None), 600, vec![]),
        ("acknowledged, still holding", acknowledged_until(Some(at(40))), 39, vec![]),
        // The acknowledgement lapsed after the escalation moment: escalate now.
        ("acknowledgement lapsed", acknowledged_until(Some(at(40))), 40, vec![Escalate, Repeat]),
        ("firing while recovering", after(&policy, &[(0, WARN), (2, WARN), (3, HEALTHY)]), 600, vec![Escalate, Repeat]),
    ];
    for (what, track, now, due) in cases {
        assert_eq!(due_notifications(&track, &pursue(), Some(at(0)), at(now)), due, "{what}");
    }
}
