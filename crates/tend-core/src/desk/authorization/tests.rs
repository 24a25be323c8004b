//! Authorizations: what each grant permits, on which hosts, when, and which refusal a technician
//! reads when nothing permits the action.

use jiff::SignedDuration;
use tend_proto::desk::{BackupStatement, ServerIdentification, TimeRange};

use super::*;
use crate::maintenance::parse_rrule;

use GatedAction::{DestructiveJob, PowerCycle, Reboot, Shutdown};

const ALL: [GatedAction; 4] = [Reboot, PowerCycle, Shutdown, DestructiveJob];

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn grant(host_id: Option<i64>, actions: &[GatedAction], when: TimeLimit) -> Grant {
    Grant { source: GrantSource::Ticket(42), host_id, actions: actions.to_vec(), when }
}

fn intervals(list: &[(&str, &str)]) -> TimeLimit {
    TimeLimit::Intervals(list.iter().map(|&(start, end)| (at(start), at(end))).collect())
}

/// Saturdays 22:00–02:00 in Paris.
fn saturday_nights() -> TimeLimit {
    let start = "2026-01-03T22:00".parse().unwrap();
    let rule = parse_rrule("FREQ=WEEKLY;BYDAY=SA").unwrap();
    TimeLimit::Recurring(WindowSchedule::new(start, SignedDuration::from_hours(4), "Europe/Paris", Some(rule)).unwrap())
}

#[test]
fn what_each_grant_permits() {
    let now = at("2026-03-02T10:00:00Z");
    // (granted, the actions it permits)
    let cases = [
        (Reboot, &[Reboot][..]),
        (PowerCycle, &[Reboot, PowerCycle]),
        (Shutdown, &[Shutdown]),
        (DestructiveJob, &[DestructiveJob]),
    ];
    for (granted, permitted) in cases {
        let grants = [grant(Some(7), &[granted], TimeLimit::Always)];
        for asked in ALL {
            let expected = permitted.contains(&asked);
            assert_eq!(authorize_action(&grants, 7, asked, now).is_ok(), expected, "{granted} grant, {asked} asked");
        }
    }
}

#[test]
fn a_grant_covers_its_host_or_every_host() {
    let now = at("2026-03-02T10:00:00Z");
    let one_host = [grant(Some(7), &[Reboot], TimeLimit::Always)];
    let every_host = [grant(None, &[Reboot], TimeLimit::Always)];
    assert!(authorize_action(&one_host, 7, Reboot, now).is_ok());
    assert_eq!(authorize_action(&one_host, 8, Reboot, now), Err(Refusal::NoAuthorization { action: Reboot }));
    assert!(authorize_action(&every_host, 7, Reboot, now).is_ok());
    assert!(authorize_action(&every_host, 8, Reboot, now).is_ok());
}

#[test]
fn intervals_hold_from_start_to_end_exclusive() {
    let grants = [grant(
        Some(7),
        &[Reboot],
        intervals(&[
            ("2026-03-07T22:00:00Z", "2026-03-08T02:00:00Z"),
            ("2026-03-14T22:00:00Z", "2026-03-15T02:00:00Z"),
        ]),
    )];
    let outside = |next: Option<&str>| {
        Err(Refusal::OutsideWindow { action: Reboot, source: GrantSource::Ticket(42), next_start: next.map(at) })
    };
    let cases = [
        ("2026-03-07T21:59:59Z", outside(Some("2026-03-07T22:00:00Z"))),
        ("2026-03-07T22:00:00Z", Ok(())),
        ("2026-03-08T01:59:59Z", Ok(())),
        ("2026-03-08T02:00:00Z", outside(Some("2026-03-14T22:00:00Z"))),
        ("2026-03-14T23:00:00Z", Ok(())),
        ("2026-03-15T02:00:00Z", outside(None)),
    ];
    for (instant, expected) in cases {
        assert_eq!(authorize_action(&grants, 7, Reboot, at(instant)).map(|_| ()), expected, "at {instant}");
    }
}

#[test]
fn a_recurring_window_holds_on_its_occurrences() {
    let grants = [Grant { source: GrantSource::Standing, ..grant(None, &[PowerCycle], saturday_nights()) }];
    let cases = [
        // (instant, reboot allowed, next start when refused)
        ("2026-03-07T21:30:00Z", true, None), // Saturday 22:30 CET
        ("2026-03-08T00:59:59Z", true, None), // Sunday 01:59:59 CET
        ("2026-03-08T01:00:00Z", false, Some("2026-03-14T21:00:00Z")),
        // Across the spring-forward night: Saturday 28 March 22:00 CET, then 4 April 22:00 CEST.
        ("2026-03-29T00:30:00Z", true, None),
        ("2026-03-29T01:00:00Z", false, Some("2026-04-04T20:00:00Z")),
    ];
    for (instant, allowed, next) in cases {
        let result = authorize_action(&grants, 3, Reboot, at(instant));
        match (allowed, result) {
            (true, Ok(found)) => assert_eq!(found.source, GrantSource::Standing),
            (false, Err(refusal)) => assert_eq!(
                refusal,
                Refusal::OutsideWindow { action: Reboot, source: GrantSource::Standing, next_start: next.map(at) },
                "at {instant}"
            ),
            (allowed, result) => panic!("at {instant}: expected allowed={allowed}, got {result:?}"),
        }
    }
}

#[test]
fn the_first_grant_that_permits_the_action_now_is_the_one_used() {
    let now = at("2026-03-07T23:00:00Z");
    let grants = [
        grant(Some(7), &[Shutdown], TimeLimit::Always),
        Grant {
            source: GrantSource::Ticket(1),
            ..grant(Some(7), &[Reboot], intervals(&[("2026-03-08T00:00:00Z", "2026-03-08T01:00:00Z")]))
        },
        Grant { source: GrantSource::Ticket(2), ..grant(None, &[Reboot, Shutdown], TimeLimit::Always) },
        Grant { source: GrantSource::Standing, ..grant(Some(7), &[Reboot], TimeLimit::Always) },
    ];
    assert_eq!(authorize_action(&grants, 7, Reboot, now).unwrap().source, GrantSource::Ticket(2));
    assert_eq!(authorize_action(&grants, 7, Shutdown, now).unwrap().source, GrantSource::Ticket(42));
}

#[test]
fn the_most_useful_refusal_wins() {
    let now = at("2026-03-02T10:00:00Z");
    let later =
        |source, start: &str, end: &str| Grant { source, ..grant(Some(7), &[Reboot], intervals(&[(start, end)])) };
    let other_actions = [grant(Some(7), &[Shutdown], TimeLimit::Always), grant(None, &[PowerCycle], intervals(&[]))];
    let cases: Vec<(&str, Vec<Grant>, Refusal)> = vec![
        ("no grant at all", vec![], Refusal::NoAuthorization { action: DestructiveJob }),
        (
            "grants for other hosts only",
            vec![grant(Some(8), &[DestructiveJob], TimeLimit::Always)],
            Refusal::NoAuthorization { action: DestructiveJob },
        ),
        (
            "grants for other actions, with what they permit",
            other_actions.to_vec(),
            Refusal::WrongAction { action: DestructiveJob, authorized: vec![Reboot, PowerCycle, Shutdown] },
        ),
        (
            "a grant outside its window beats grants for other actions",
            vec![
                other_actions[0].clone(),
                Grant {
                    source: GrantSource::Ticket(9),
                    ..grant(None, &[DestructiveJob], intervals(&[("2026-03-03T00:00:00Z", "2026-03-03T01:00:00Z")]))
                },
                other_actions[1].clone(),
            ],
            Refusal::OutsideWindow {
                action: DestructiveJob,
                source: GrantSource::Ticket(9),
                next_start: Some(at("2026-03-03T00:00:00Z")),
            },
        ),
    ];
    for (name, grants, expected) in cases {
        assert_eq!(authorize_action(&grants, 7, DestructiveJob, now), Err(expected), "{name}");
    }
    // Among grants outside their windows, the one that holds again soonest.
    let grants = [
        later(GrantSource::Ticket(1), "2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z"), // over
        later(GrantSource::Ticket(2), "2026-03-10T00:00:00Z", "2026-03-11T00:00:00Z"),
        later(GrantSource::Ticket(3), "2026-03-05T00:00:00Z", "2026-03-06T00:00:00Z"),
        later(GrantSource::Ticket(4), "2026-03-20T00:00:00Z", "2026-03-21T00:00:00Z"),
    ];
    let expected = Refusal::OutsideWindow {
        action: Reboot,
        source: GrantSource::Ticket(3),
        next_start: Some(at("2026-03-05T00:00:00Z")),
    };
    assert_eq!(authorize_action(&grants, 7, Reboot, now), Err(expected));
    assert_eq!(
        authorize_action(&grants[..1], 7, Reboot, now),
        Err(Refusal::OutsideWindow { action: Reboot, source: GrantSource::Ticket(1), next_start: None })
    );
}

#[test]
fn refusals_read_well() {
    let cases = [
        (
            Refusal::NoAuthorization { action: Reboot },
            "nothing authorizes a reboot of this host: the customer must grant it on a ticket or as a standing \
             authorization",
        ),
        (
            Refusal::OutsideWindow {
                action: Reboot,
                source: GrantSource::Ticket(42),
                next_start: Some(at("2026-03-07T22:00:00Z")),
            },
            "ticket 42 authorizes a reboot only inside its windows; the next one starts at 2026-03-07T22:00:00Z",
        ),
        (
            Refusal::OutsideWindow { action: PowerCycle, source: GrantSource::Standing, next_start: None },
            "the standing authorization authorizes a power cycle only inside its windows; none is left",
        ),
        (
            Refusal::WrongAction { action: Shutdown, authorized: vec![Reboot, PowerCycle] },
            "the customer authorized only reboot, power cycle on this host, not a shutdown",
        ),
        (
            Refusal::WrongAction { action: DestructiveJob, authorized: vec![Reboot] },
            "the customer authorized only reboot on this host, not a destructive job",
        ),
    ];
    for (refusal, message) in cases {
        assert_eq!(refusal.to_string(), message);
    }
}

#[test]
fn grants_from_intervention_forms() {
    let form = |power_action, windows: &[(&str, &str)]| InterventionForm {
        server: ServerIdentification { service_id: Some("SRV-1042".into()), ..ServerIdentification::default() },
        problem: "kernel panic".into(),
        access_credential_id: None,
        power_action,
        power_windows: windows.iter().map(|&(s, e)| TimeRange { start: s.into(), end: e.into() }).collect(),
        backup_statement: Some(BackupStatement::CurrentBackupExists),
    };
    let window = ("2026-03-07T23:00:00+01:00", "2026-03-08T03:00:00+01:00");
    let cases = [
        (Some(PowerAction::None), &[][..], None),
        (
            Some(PowerAction::Reboot),
            &[window][..],
            Some((Reboot, intervals(&[("2026-03-07T22:00:00Z", "2026-03-08T02:00:00Z")]))),
        ),
        (Some(PowerAction::PowerCycle), &[], Some((PowerCycle, TimeLimit::Always))),
        (Some(PowerAction::Shutdown), &[], Some((Shutdown, TimeLimit::Always))),
    ];
    for (power_action, windows, expected) in cases {
        let granted = grant_from_intervention(5, 7, &form(power_action, windows)).unwrap();
        let expected = expected.map(|(action, when)| Grant {
            source: GrantSource::Ticket(5),
            host_id: Some(7),
            actions: vec![action],
            when,
        });
        assert_eq!(granted, expected, "{power_action:?}");
    }
    // An incomplete form grants nothing.
    let err = grant_from_intervention(5, 7, &form(None, &[])).unwrap_err();
    assert!(matches!(err, Error::Invalid { field: "power_action", .. }), "{err}");
    let err =
        grant_from_intervention(5, 7, &form(Some(PowerAction::Reboot), &[("2026-03-08", "2026-03-09")])).unwrap_err();
    assert!(matches!(err, Error::Invalid { field: "power_windows", .. }), "{err}");
    // The grant then decides.
    let granted = grant_from_intervention(5, 7, &form(Some(PowerAction::Reboot), &[window])).unwrap().unwrap();
    let grants = [granted];
    assert!(authorize_action(&grants, 7, Reboot, at("2026-03-08T00:00:00Z")).is_ok());
    assert!(matches!(
        authorize_action(&grants, 7, PowerCycle, at("2026-03-08T00:00:00Z")),
        Err(Refusal::WrongAction { .. })
    ));
    assert!(matches!(
        authorize_action(&grants, 7, Reboot, at("2026-03-08T02:00:00Z")),
        Err(Refusal::OutsideWindow { .. })
    ));
}
