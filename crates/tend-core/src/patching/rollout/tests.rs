//! Rollouts walked through: a test ring (hosts 1, 2), an empty staging ring, production (hosts
//! 3, 4, 5), soaking 24 hours. Instants are hours after 22:00 UTC on 2 June 2025.

use super::*;

fn t(hours: i64) -> Timestamp {
    "2025-06-02T22:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_hours(hours)
}

fn plan(urgency: Urgency) -> Rollout {
    let rings =
        vec![("test".to_owned(), vec![1, 2]), ("staging".to_owned(), vec![]), ("production".to_owned(), vec![3, 4, 5])];
    Rollout::plan(rings, &SoakPolicy::default(), urgency).unwrap()
}

#[derive(Clone, Copy)]
enum Event {
    /// Host, hour.
    Success(i64, i64),
    /// Host, hour.
    Failure(i64, i64),
    /// Promote the ring at this hour, after its soak.
    Promote(usize, i64),
}

use Event::{Failure, Promote, Success};

fn apply(rollout: &mut Rollout, events: &[Event]) {
    for &event in events {
        match event {
            Success(host, hour) => rollout.record(host, Outcome::Succeeded, t(hour)).unwrap(),
            Failure(host, hour) => {
                rollout.record(host, Outcome::Failed { reason: "dpkg exit 100".into() }, t(hour)).unwrap()
            }
            Promote(ring, hour) => rollout.rings[ring].promoted = Some(Promotion { at: t(hour), without_soak: None }),
        }
    }
}

/// Critical alerts as (host, hour); `new_critical_alert(host, since)` sees those at or after
/// `since`.
fn alerts(list: &[(i64, i64)]) -> impl Fn(i64, Timestamp) -> bool + '_ {
    move |host, since| list.iter().any(|&(h, hour)| h == host && t(hour) >= since)
}

const TEST_RING_DONE: [Event; 2] = [Success(1, 1), Success(2, 2)];

fn then(mut events: Vec<Event>, more: &[Event]) -> Vec<Event> {
    events.extend_from_slice(more);
    events
}

struct Case {
    name: &'static str,
    events: Vec<Event>,
    alerts: Vec<(i64, i64)>,
    now: i64,
    expected: Step,
}

fn case(name: &'static str, events: Vec<Event>, now: i64, expected: Step) -> Case {
    Case { name, events, alerts: vec![], now, expected }
}

#[test]
fn next_steps() {
    let done = || TEST_RING_DONE.to_vec();
    let promoted = || then(done(), &[Promote(2, 26)]);
    let soaking = |until| Step::Soaking { ring: 0, until: t(until) };
    let failed = |ring, host_id| Step::Halted(Halt::HostFailed { ring, host_id, reason: "dpkg exit 100".into() });
    let alert = |ring, host_id, hour| Step::Halted(Halt::CriticalAlert { ring, host_id, patched_at: t(hour) });
    let cases = [
        case("just planned", vec![], 0, Step::ApplyToRing { ring: 0, hosts: vec![1, 2] }),
        case("one test host patched", vec![Success(1, 1)], 1, Step::ApplyToRing { ring: 0, hosts: vec![2] }),
        case("a test host failed", vec![Success(1, 1), Failure(2, 1)], 1, failed(0, 2)),
        case("a failure halts even with hosts left", vec![Failure(1, 1)], 1, failed(0, 1)),
        Case {
            alerts: vec![(1, 2)],
            ..case("an alert on a patched host while others are pending", vec![Success(1, 1)], 2, alert(0, 1, 1))
        },
        Case {
            alerts: vec![(1, 0), (2, 0)],
            ..case(
                "alerts from before the patch do not count",
                vec![Success(1, 1)],
                2,
                Step::ApplyToRing { ring: 0, hosts: vec![2] },
            )
        },
        case("the test ring soaks from its last success", done(), 3, soaking(26)),
        case("an hour before the end of the soak", done(), 25, soaking(26)),
        case("soak elapsed: production next, staging skipped", done(), 26, Step::Promote { ring: 2 }),
        case("long after the soak", done(), 200, Step::Promote { ring: 2 }),
        Case { alerts: vec![(2, 20)], ..case("an alert during the soak", done(), 21, alert(0, 2, 2)) },
        Case { alerts: vec![(2, 30)], ..case("an alert after the soak, before promotion", done(), 31, alert(0, 2, 2)) },
        case("production promoted", promoted(), 26, Step::ApplyToRing { ring: 2, hosts: vec![3, 4, 5] }),
        Case {
            alerts: vec![(1, 27)],
            ..case(
                "the test ring is no longer the gate once production started",
                promoted(),
                27,
                Step::ApplyToRing { ring: 2, hosts: vec![3, 4, 5] },
            )
        },
        case(
            "production partly patched",
            then(promoted(), &[Success(4, 27)]),
            27,
            Step::ApplyToRing { ring: 2, hosts: vec![3, 5] },
        ),
        case("a production host failed", then(promoted(), &[Success(3, 27), Failure(5, 27)]), 28, failed(2, 5)),
        Case {
            alerts: vec![(4, 29)],
            ..case("an alert on a patched production host", then(promoted(), &[Success(4, 27)]), 29, alert(2, 4, 27))
        },
        case("every ring patched", then(promoted(), &[Success(3, 27), Success(4, 27), Success(5, 28)]), 28, Step::Done),
        Case {
            alerts: vec![(3, 30), (1, 30)],
            ..case(
                "alerts after the last ring is patched",
                then(promoted(), &[Success(3, 27), Success(4, 27), Success(5, 28)]),
                30,
                Step::Done,
            )
        },
        case(
            "a failed host retried successfully resumes the rollout",
            vec![Success(1, 1), Failure(2, 1), Success(2, 5)],
            6,
            soaking(29),
        ),
        case("a retry that fails again", vec![Success(1, 1), Success(2, 1), Failure(2, 5)], 6, failed(0, 2)),
    ];
    for case in cases {
        let mut rollout = plan(Urgency::Regular);
        apply(&mut rollout, &case.events);
        assert_eq!(next_step(&rollout, &alerts(&case.alerts), t(case.now)), case.expected, "{}", case.name);
    }
}

#[test]
fn ring_shapes() {
    let no_alerts = |_: i64, _: Timestamp| false;
    let ring = |name: &str, hosts: Vec<i64>| (name.to_owned(), hosts);
    let policy = SoakPolicy::default();
    let cases = [
        ("every ring empty", vec![ring("test", vec![]), ring("production", vec![])], Step::Done),
        (
            "the first ring empty",
            vec![ring("test", vec![]), ring("production", vec![3])],
            Step::ApplyToRing { ring: 1, hosts: vec![3] },
        ),
        ("a single ring", vec![ring("all", vec![3, 4])], Step::ApplyToRing { ring: 0, hosts: vec![3, 4] }),
    ];
    for (name, rings, expected) in cases {
        let rollout = Rollout::plan(rings, &policy, Urgency::Regular).unwrap();
        assert_eq!(next_step(&rollout, &no_alerts, t(0)), expected, "{name}");
    }

    let mut single = Rollout::plan(vec![ring("all", vec![3])], &policy, Urgency::Regular).unwrap();
    single.record(3, Outcome::Succeeded, t(1)).unwrap();
    assert_eq!(next_step(&single, &no_alerts, t(1)), Step::Done, "the last ring does not soak");

    let mut moved = plan(Urgency::Regular);
    apply(&mut moved, &[Failure(1, 1), Success(2, 1)]);
    moved.rings[0].hosts = vec![2];
    assert_eq!(
        next_step(&moved, &no_alerts, t(2)),
        Step::Soaking { ring: 0, until: t(25) },
        "a host taken out of its ring"
    );
}

#[test]
fn soak_times() {
    let no_alerts = |_: i64, _: Timestamp| false;
    let mut emergency = plan(Urgency::Emergency);
    apply(&mut emergency, &TEST_RING_DONE);
    assert_eq!(next_step(&emergency, &no_alerts, t(3)), Step::Soaking { ring: 0, until: t(4) });
    assert_eq!(next_step(&emergency, &no_alerts, t(4)), Step::Promote { ring: 2 });

    let no_soak = SoakPolicy { regular: SignedDuration::ZERO, emergency: SignedDuration::ZERO };
    let rings = vec![("test".to_owned(), vec![1]), ("production".to_owned(), vec![3])];
    let mut rollout = Rollout::plan(rings, &no_soak, Urgency::Regular).unwrap();
    rollout.record(1, Outcome::Succeeded, t(1)).unwrap();
    assert_eq!(next_step(&rollout, &no_alerts, t(1)), Step::Promote { ring: 1 });
}

#[test]
fn promotion() {
    let no_alerts = |_: i64, _: Timestamp| false;
    let mut rollout = plan(Urgency::Regular);
    rollout.record(1, Outcome::Succeeded, t(1)).unwrap();
    let refused = rollout.promote(&no_alerts, t(1)).unwrap_err();
    assert!(refused.to_string().contains("ring 0 is still being patched"), "{refused}");

    rollout.record(2, Outcome::Succeeded, t(2)).unwrap();
    let refused = rollout.promote(&no_alerts, t(3)).unwrap_err();
    assert!(refused.to_string().contains("ring 0 soaks until 2025-06-04T00:00:00Z"), "{refused}");

    assert_eq!(rollout.promote(&no_alerts, t(26)), Ok(2));
    assert_eq!(rollout.rings[2].promoted, Some(Promotion { at: t(26), without_soak: None }));
    assert_eq!(rollout.rings[1].promoted, None, "the empty ring is skipped");
    assert_eq!(next_step(&rollout, &no_alerts, t(26)), Step::ApplyToRing { ring: 2, hosts: vec![3, 4, 5] });
}

#[test]
fn promotion_without_soak() {
    let no_alerts = |_: i64, _: Timestamp| false;
    let mut rollout = plan(Urgency::Regular);
    apply(&mut rollout, &TEST_RING_DONE);
    for blank in ["", "  \n"] {
        assert!(matches!(
            rollout.promote_without_soak(blank, &no_alerts, t(3)),
            Err(Error::Invalid { field: "reason", .. })
        ));
    }
    assert_eq!(rollout.rings[2].promoted, None, "nothing recorded for a refused promotion");

    let reason = "CVE-2024-1000 is exploited in the wild; test hosts healthy for 1 h";
    assert_eq!(rollout.promote_without_soak(reason, &no_alerts, t(3)), Ok(2));
    assert_eq!(rollout.rings[2].promoted, Some(Promotion { at: t(3), without_soak: Some(reason.to_owned()) }));
    assert_eq!(next_step(&rollout, &no_alerts, t(3)), Step::ApplyToRing { ring: 2, hosts: vec![3, 4, 5] });
    assert!(
        rollout.promote_without_soak(reason, &no_alerts, t(3)).is_err(),
        "production is not soaking: nothing follows"
    );

    // Not while patching, nor to get past a halt.
    let mut patching = plan(Urgency::Regular);
    patching.record(1, Outcome::Succeeded, t(1)).unwrap();
    assert!(matches!(
        patching.promote_without_soak(reason, &no_alerts, t(1)),
        Err(Error::Invalid { field: "rollout", .. })
    ));
    let mut halted = plan(Urgency::Regular);
    apply(&mut halted, &[Success(1, 1), Success(2, 2)]);
    let alert = |host: i64, _: Timestamp| host == 2;
    let refused = halted.promote_without_soak(reason, &alert, t(3)).unwrap_err();
    assert!(refused.to_string().contains("the rollout is halted: a critical alert fired on host 2"), "{refused}");
}

#[test]
fn plans_are_validated() {
    let policy = SoakPolicy::default();
    let ring = |name: &str, hosts: Vec<i64>| (name.to_owned(), hosts);
    let cases = [
        (vec![], "rings"),
        (vec![ring("", vec![1])], "rings.name"),
        (vec![ring("test ring", vec![1])], "rings.name"),
        (vec![ring("test", vec![1]), ring("test", vec![2])], "rings.name"),
        (vec![ring("test", vec![1]), ring("production", vec![2, 1])], "rings.hosts"),
        (vec![ring("test", vec![1, 1])], "rings.hosts"),
    ];
    for (rings, field) in cases {
        let refused = Rollout::plan(rings.clone(), &policy, Urgency::Regular);
        assert!(matches!(refused, Err(Error::Invalid { field: f, .. }) if f == field), "{rings:?}");
    }
    let mut rollout = plan(Urgency::Regular);
    assert!(matches!(rollout.record(9, Outcome::Succeeded, t(1)), Err(Error::Invalid { field: "host_id", .. })));
}

#[test]
fn soak_policies() {
    assert_eq!(SoakPolicy::default().validate(), Ok(()));
    let hours = SignedDuration::from_hours;
    let cases = [
        (SoakPolicy { regular: hours(-1), emergency: hours(0) }, "soak.regular"),
        (SoakPolicy { regular: MAX_SOAK + hours(1), emergency: hours(0) }, "soak.regular"),
        (SoakPolicy { regular: hours(24), emergency: hours(-1) }, "soak.emergency"),
        (SoakPolicy { regular: hours(4), emergency: hours(6) }, "soak.emergency"),
    ];
    for (policy, field) in cases {
        assert!(matches!(policy.validate(), Err(Error::Invalid { field: f, .. }) if f == field), "{policy:?}");
        let refused = Rollout::plan(vec![("test".to_owned(), vec![1])], &policy, Urgency::Regular);
        assert!(refused.is_err(), "{policy:?}");
    }
    let read: SoakPolicy = serde_json::from_str(r#"{"emergency": "1h"}"#).unwrap();
    assert_eq!(read, SoakPolicy { regular: DEFAULT_SOAK, emergency: hours(1) });
    assert_eq!(read.soak(Urgency::Regular), DEFAULT_SOAK);
    assert_eq!(read.soak(Urgency::Emergency), hours(1));
}

#[test]
fn halts_read_as_ticket_titles() {
    let failed = Halt::HostFailed { ring: 0, host_id: 7, reason: "dpkg exit 100".into() };
    assert_eq!(failed.to_string(), "the update failed on host 7 (ring 0): dpkg exit 100");
    let alert = Halt::CriticalAlert { ring: 2, host_id: 4, patched_at: t(1) };
    assert_eq!(
        alert.to_string(),
        "a critical alert fired on host 4 (ring 2) after it was patched at 2025-06-02T23:00:00Z"
    );
}

#[test]
fn a_skipped_host_does_not_hold_its_ring_up() {
    let mut rollout = plan(Urgency::Regular);
    apply(&mut rollout, &[Success(1, 1)]);
    let held = Outcome::Skipped { reason: "held back: postgresql-16: pinned by the customer".into() };
    rollout.record(2, held, t(2)).unwrap();
    // The ring soaks from its last outcome, the skip included, then production follows.
    assert_eq!(next_step(&rollout, &alerts(&[]), t(3)), Step::Soaking { ring: 0, until: t(26) });
    assert_eq!(next_step(&rollout, &alerts(&[]), t(26)), Step::Promote { ring: 2 });
    // A skip in the last ring ends the rollout like a success.
    apply(&mut rollout, &[Promote(2, 26), Success(3, 27), Success(4, 27)]);
    rollout.record(5, Outcome::Skipped { reason: "held".into() }, t(27)).unwrap();
    assert_eq!(next_step(&rollout, &alerts(&[]), t(28)), Step::Done);
}

#[test]
fn a_ring_is_patched_when_every_hosts_latest_outcome_succeeded_or_was_skipped() {
    let ring = |hosts: &[i64], applied: &[(i64, Outcome)]| RingState {
        name: "test".into(),
        hosts: hosts.to_vec(),
        soak: SignedDuration::ZERO,
        promoted: None,
        applied: applied
            .iter()
            .map(|(host_id, outcome)| Applied { host_id: *host_id, outcome: outcome.clone(), at: t(1) })
            .collect(),
    };
    let failed = Outcome::Failed { reason: "x".into() };
    let skipped = Outcome::Skipped { reason: "held".into() };
    assert!(!ring(&[], &[]).patched(), "an empty ring is passed by");
    assert!(!ring(&[1, 2], &[(1, Outcome::Succeeded)]).patched(), "a host has no outcome yet");
    assert!(ring(&[1, 2], &[(1, Outcome::Succeeded), (2, skipped.clone())]).patched());
    assert!(!ring(&[1, 2], &[(1, Outcome::Succeeded), (2, skipped), (2, failed.clone())]).patched());
    assert!(ring(&[1], &[(1, failed), (1, Outcome::Succeeded)]).patched(), "a retry that succeeded counts");
    assert!(!ring(&[1], &[(2, Outcome::Succeeded)]).patched(), "another ring's host does not count");
}
