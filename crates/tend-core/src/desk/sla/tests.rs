//! SLA clocks walked through tickets' lives: business hours, weekends, holidays, pauses, priority
//! changes, reopening, daylight saving changes.
//!
//! The office policy counts Monday to Friday 08:00–18:00 in Paris, Christmas Day closed;
//! 2 June 2025 is a Monday. Europe/Paris changes to summer time on Sunday 30 March 2025 and back
//! on Sunday 26 October 2025.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;

use super::*;
use crate::desk::calendar::{Opening, WeekHours};

use AlarmLevel::{Breach, Warning};
use Change::{Created, StaffPublicReply, Status};
use ClockKind::{Resolution, Response};
use Priority::{P1, P2, P3, P4};
use TicketStatus::{Closed, InProgress, Open, Resolved, WaitingOnCustomer};

fn hours(n: i64) -> SignedDuration {
    SignedDuration::from_hours(n)
}

fn paris_zone() -> TimeZone {
    TimeZone::get("Europe/Paris").unwrap()
}

/// Paris wall-clock time, "2025-06-02 08:00", as an instant.
fn paris(local: &str) -> Timestamp {
    local.parse::<DateTime>().unwrap().to_zoned(paris_zone()).unwrap().timestamp()
}

fn ev(local: &str, change: Change) -> TicketEvent {
    TicketEvent { at: paris(local), change }
}

fn opening(start: &str, end: &str) -> Opening {
    serde_json::from_value(serde_json::json!([start, end])).unwrap()
}

fn targets() -> Targets {
    let target = |response, resolution| Target { first_response: hours(response), resolution: hours(resolution) };
    Targets { p1: target(1, 4), p2: target(2, 8), p3: target(4, 24), p4: target(8, 40) }
}

fn policy(calendar: BusinessCalendar) -> SlaPolicy {
    SlaPolicy { name: "Standard".into(), calendar, targets: targets(), warn_at: DEFAULT_WARN_AT }
}

fn office() -> SlaPolicy {
    let week = WeekHours::monday_to_friday(vec![opening("08:00", "18:00")]);
    let christmas = "2025-12-25".parse().unwrap();
    policy(BusinessCalendar::business_hours("Europe/Paris", week, vec![christmas]).unwrap())
}

/// Every day 00:00–24:00 on the Paris wall clock.
fn around_the_wall_clock(zone: &str) -> SlaPolicy {
    let day = vec![opening("00:00", "24:00")];
    let week = WeekHours { sat: day.clone(), sun: day.clone(), ..WeekHours::monday_to_friday(day) };
    policy(BusinessCalendar::business_hours(zone, week, vec![]).unwrap())
}

/// "Running 1h/2h due 2025-06-02 11:00 CEST": state, elapsed/target, and the instants set.
fn summary(clock: &Clock) -> String {
    let wall = |at: Timestamp| at.to_zoned(paris_zone()).strftime("%F %H:%M %Z").to_string();
    let mut text = format!("{:?} {:#}/{:#}", clock.state, clock.elapsed, clock.target);
    if let Some(due) = clock.due_at {
        text += &format!(" due {}", wall(due));
    }
    if let Some(stopped) = clock.stopped_at {
        text += &format!(" stopped {}", wall(stopped));
    }
    assert_eq!(clock.remaining, clock.target - clock.elapsed);
    text
}

struct Case {
    name: &'static str,
    history: Vec<TicketEvent>,
    now: &'static str,
    response: &'static str,
    resolution: &'static str,
    alarms: &'static [(ClockKind, AlarmLevel)],
}

fn check(policy: &SlaPolicy, cases: Vec<Case>) {
    for case in cases {
        let clocks = clocks(&case.history, policy, paris(case.now)).unwrap();
        let name = case.name;
        assert_eq!(summary(&clocks.response), case.response, "{name}: response");
        assert_eq!(summary(&clocks.resolution), case.resolution, "{name}: resolution");
        let expected: Vec<SlaAlarm> = case.alarms.iter().map(|&(clock, level)| SlaAlarm { clock, level }).collect();
        assert_eq!(alarms(&clocks), expected, "{name}: alarms");
    }
}

#[test]
fn clocks_during_business_hours() {
    let filed = || ev("2025-06-02 09:00", Created { priority: P2 });
    check(
        &office(),
        vec![
            Case {
                name: "just filed",
                history: vec![filed()],
                now: "2025-06-02 09:00",
                response: "Running 0s/2h due 2025-06-02 11:00 CEST",
                resolution: "Running 0s/8h due 2025-06-02 17:00 CEST",
                alarms: &[],
            },
            Case {
                name: "running",
                history: vec![filed()],
                now: "2025-06-02 10:00",
                response: "Running 1h/2h due 2025-06-02 11:00 CEST",
                resolution: "Running 1h/8h due 2025-06-02 17:00 CEST",
                alarms: &[],
            },
            Case {
                name: "three quarters of the response target used",
                history: vec![filed()],
                now: "2025-06-02 10:30",
                response: "Warning 1h 30m/2h due 2025-06-02 11:00 CEST",
                resolution: "Running 1h 30m/8h due 2025-06-02 17:00 CEST",
                alarms: &[(Response, Warning)],
            },
            Case {
                name: "exactly at the target: not yet breached",
                history: vec![filed()],
                now: "2025-06-02 11:00",
                response: "Warning 2h/2h due 2025-06-02 11:00 CEST",
                resolution: "Running 2h/8h due 2025-06-02 17:00 CEST",
                alarms: &[(Response, Warning)],
            },
            Case {
                name: "breached and still running: due at the instant it was breached",
                history: vec![filed()],
                now: "2025-06-02 11:30",
                response: "Breached 2h 30m/2h due 2025-06-02 11:00 CEST",
                resolution: "Running 2h 30m/8h due 2025-06-02 17:00 CEST",
                alarms: &[(Response, Breach)],
            },
            Case {
                name: "answered in time",
                history: vec![filed(), ev("2025-06-02 09:30", StaffPublicReply)],
                now: "2025-06-02 12:00",
                response: "Met 30m/2h stopped 2025-06-02 09:30 CEST",
                resolution: "Running 3h/8h due 2025-06-02 17:00 CEST",
                alarms: &[],
            },
            Case {
                name: "answered late: breached, but nothing left to alarm about",
                history: vec![filed(), ev("2025-06-02 11:15", StaffPublicReply)],
                now: "2025-06-02 12:00",
                response: "Breached 2h 15m/2h stopped 2025-06-02 11:15 CEST",
                resolution: "Running 3h/8h due 2025-06-02 17:00 CEST",
                alarms: &[],
            },
            Case {
                name: "only the first reply stops the response clock",
                history: vec![
                    filed(),
                    ev("2025-06-02 09:30", StaffPublicReply),
                    ev("2025-06-02 12:00", StaffPublicReply),
                ],
                now: "2025-06-02 12:00",
                response: "Met 30m/2h stopped 2025-06-02 09:30 CEST",
                resolution: "Running 3h/8h due 2025-06-02 17:00 CEST",
                alarms: &[],
            },
            Case {
                name: "both breached overnight",
                history: vec![filed()],
                now: "2025-06-03 09:00",
                response: "Breached 10h/2h due 2025-06-02 11:00 CEST",
                resolution: "Breached 10h/8h due 2025-06-02 17:00 CEST",
                alarms: &[(Response, Breach), (Resolution, Breach)],
            },
            Case {
                name: "events after now are not yet history",
                history: vec![filed(), ev("2025-06-02 11:00", Status(Resolved))],
                now: "2025-06-02 10:00",
                response: "Running 1h/2h due 2025-06-02 11:00 CEST",
                resolution: "Running 1h/8h due 2025-06-02 17:00 CEST",
                alarms: &[],
            },
            Case {
                name: "asked about an instant before the ticket was filed",
                history: vec![filed()],
                now: "2025-06-01 12:00",
                response: "Running 0s/2h due 2025-06-02 11:00 CEST",
                resolution: "Running 0s/8h due 2025-06-02 17:00 CEST",
                alarms: &[],
            },
        ],
    );
}

#[test]
fn clocks_start_at_the_next_opening() {
    check(
        &office(),
        vec![
            Case {
                name: "filed on Saturday, asked on Sunday",
                history: vec![ev("2025-06-07 10:00", Created { priority: P2 })],
                now: "2025-06-08 20:00",
                response: "Running 0s/2h due 2025-06-09 10:00 CEST",
                resolution: "Running 0s/8h due 2025-06-09 16:00 CEST",
                alarms: &[],
            },
            Case {
                name: "filed on Saturday, asked on Monday morning",
                history: vec![ev("2025-06-07 10:00", Created { priority: P2 })],
                now: "2025-06-09 08:30",
                response: "Running 30m/2h due 2025-06-09 10:00 CEST",
                resolution: "Running 30m/8h due 2025-06-09 16:00 CEST",
                alarms: &[],
            },
            Case {
                name: "filed on Friday evening: the weekend does not count",
                history: vec![ev("2025-06-06 17:00", Created { priority: P2 })],
                now: "2025-06-09 09:00",
                response: "Warning 2h/2h due 2025-06-09 09:00 CEST",
                resolution: "Running 2h/8h due 2025-06-09 15:00 CEST",
                alarms: &[(Response, Warning)],
            },
            Case {
                name: "filed on Christmas Day",
                history: vec![ev("2025-12-25 10:00", Created { priority: P1 })],
                now: "2025-12-26 08:30",
                response: "Running 30m/1h due 2025-12-26 09:00 CET",
                resolution: "Running 30m/4h due 2025-12-26 12:00 CET",
                alarms: &[],
            },
            Case {
                name: "filed before Christmas, running through it",
                history: vec![ev("2025-12-24 17:00", Created { priority: P2 })],
                now: "2025-12-26 08:00",
                response: "Running 1h/2h due 2025-12-26 09:00 CET",
                resolution: "Running 1h/8h due 2025-12-26 15:00 CET",
                alarms: &[],
            },
        ],
    );
}

#[test]
fn waiting_on_the_customer_pauses_the_clocks() {
    let filed = || ev("2025-06-02 09:00", Created { priority: P2 });
    let waiting_from_monday_to_wednesday = || {
        vec![
            filed(),
            ev("2025-06-02 09:15", StaffPublicReply),
            ev("2025-06-02 10:00", Status(WaitingOnCustomer)),
            ev("2025-06-04 11:00", Status(InProgress)),
        ]
    };
    check(
        &office(),
        vec![
            Case {
                name: "paused over a day",
                history: waiting_from_monday_to_wednesday(),
                now: "2025-06-03 12:00",
                response: "Met 15m/2h stopped 2025-06-02 09:15 CEST",
                resolution: "Paused 1h/8h",
                alarms: &[],
            },
            Case {
                name: "resumed on Wednesday where it stopped on Monday",
                history: waiting_from_monday_to_wednesday(),
                now: "2025-06-04 12:00",
                response: "Met 15m/2h stopped 2025-06-02 09:15 CEST",
                resolution: "Running 2h/8h due 2025-06-04 18:00 CEST",
                alarms: &[],
            },
            Case {
                name: "paused after the warning share: still a warning, no deadline",
                history: vec![
                    filed(),
                    ev("2025-06-02 09:05", StaffPublicReply),
                    ev("2025-06-02 15:00", Status(WaitingOnCustomer)),
                ],
                now: "2025-06-03 12:00",
                response: "Met 5m/2h stopped 2025-06-02 09:05 CEST",
                resolution: "Warning 6h/8h",
                alarms: &[(Resolution, Warning)],
            },
            Case {
                name: "waiting before any reply pauses the response clock too",
                history: vec![filed(), ev("2025-06-02 09:30", Status(WaitingOnCustomer))],
                now: "2025-06-03 12:00",
                response: "Paused 30m/2h",
                resolution: "Paused 30m/8h",
                alarms: &[],
            },
            Case {
                name: "several pauses add up",
                history: vec![
                    filed(),
                    ev("2025-06-02 09:10", StaffPublicReply),
                    ev("2025-06-02 10:00", Status(WaitingOnCustomer)),
                    ev("2025-06-02 14:00", Status(InProgress)),
                    ev("2025-06-02 15:00", Status(WaitingOnCustomer)),
                    ev("2025-06-03 16:00", Status(InProgress)),
                ],
                now: "2025-06-03 17:00",
                response: "Met 10m/2h stopped 2025-06-02 09:10 CEST",
                resolution: "Running 3h/8h due 2025-06-04 12:00 CEST",
                alarms: &[],
            },
        ],
    );
}

#[test]
fn the_priority_in_force_applies_to_the_whole_history() {
    check(
        &office(),
        vec![
            Case {
                name: "raised from P4 to P1 three hours in: late since 10:00",
                history: vec![
                    ev("2025-06-02 09:00", Created { priority: P4 }),
                    ev("2025-06-02 12:00", Change::Priority(P1)),
                ],
                now: "2025-06-02 12:00",
                response: "Breached 3h/1h due 2025-06-02 10:00 CEST",
                resolution: "Warning 3h/4h due 2025-06-02 13:00 CEST",
                alarms: &[(Response, Breach), (Resolution, Warning)],
            },
            Case {
                name: "lowered from P1 to P3 after a pause: the pause still does not count",
                history: vec![
                    ev("2025-06-02 09:00", Created { priority: P1 }),
                    ev("2025-06-02 09:20", StaffPublicReply),
                    ev("2025-06-02 10:00", Status(WaitingOnCustomer)),
                    ev("2025-06-03 10:00", Status(InProgress)),
                    ev("2025-06-03 11:00", Change::Priority(P3)),
                ],
                now: "2025-06-03 11:00",
                response: "Met 20m/4h stopped 2025-06-02 09:20 CEST",
                resolution: "Running 2h/24h due 2025-06-05 13:00 CEST",
                alarms: &[],
            },
            Case {
                name: "the last priority set wins",
                history: vec![
                    ev("2025-06-02 09:00", Created { priority: P3 }),
                    ev("2025-06-02 09:10", Change::Priority(P1)),
                    ev("2025-06-02 09:20", Change::Priority(P2)),
                ],
                now: "2025-06-02 09:30",
                response: "Running 30m/2h due 2025-06-02 11:00 CEST",
                resolution: "Running 30m/8h due 2025-06-02 17:00 CEST",
                alarms: &[],
            },
        ],
    );
    let raised = [ev("2025-06-02 09:00", Created { priority: P4 }), ev("2025-06-02 09:30", Change::Priority(P1))];
    assert_eq!(clocks(&raised, &office(), paris("2025-06-02 09:30")).unwrap().priority, P1);
}

#[test]
fn resolving_stops_and_reopening_resumes() {
    let answered_and_resolved = || {
        vec![
            ev("2025-06-02 09:00", Created { priority: P2 }),
            ev("2025-06-02 09:10", StaffPublicReply),
            ev("2025-06-02 11:00", Status(Resolved)),
        ]
    };
    let reopened = || {
        let mut history = answered_and_resolved();
        history.push(ev("2025-06-03 09:00", Status(Open)));
        history
    };
    let closed = || {
        let mut history = answered_and_resolved();
        history.push(ev("2025-06-03 11:00", Status(Closed)));
        history
    };
    check(
        &office(),
        vec![
            Case {
                name: "resolved in time",
                history: answered_and_resolved(),
                now: "2025-06-02 15:00",
                response: "Met 10m/2h stopped 2025-06-02 09:10 CEST",
                resolution: "Met 2h/8h stopped 2025-06-02 11:00 CEST",
                alarms: &[],
            },
            Case {
                name: "reopened: resumes from two hours",
                history: reopened(),
                now: "2025-06-03 10:00",
                response: "Met 10m/2h stopped 2025-06-02 09:10 CEST",
                resolution: "Running 3h/8h due 2025-06-03 15:00 CEST",
                alarms: &[],
            },
            Case {
                name: "reopened and resolved again: stopped at the second resolution",
                history: {
                    let mut history = reopened();
                    history.push(ev("2025-06-03 12:00", Status(Resolved)));
                    history
                },
                now: "2025-06-04 10:00",
                response: "Met 10m/2h stopped 2025-06-02 09:10 CEST",
                resolution: "Met 5h/8h stopped 2025-06-03 12:00 CEST",
                alarms: &[],
            },
            Case {
                name: "closed: stopped when it was resolved",
                history: closed(),
                now: "2025-06-05 10:00",
                response: "Met 10m/2h stopped 2025-06-02 09:10 CEST",
                resolution: "Met 2h/8h stopped 2025-06-02 11:00 CEST",
                alarms: &[],
            },
            Case {
                name: "closed then reopened by staff",
                history: {
                    let mut history = closed();
                    history.push(ev("2025-06-04 09:00", Status(Open)));
                    history
                },
                now: "2025-06-04 17:00",
                response: "Met 10m/2h stopped 2025-06-02 09:10 CEST",
                resolution: "Breached 10h/8h due 2025-06-04 15:00 CEST",
                alarms: &[(Resolution, Breach)],
            },
            Case {
                name: "resolved without a reply: the fix was the answer",
                history: vec![
                    ev("2025-06-02 09:00", Created { priority: P2 }),
                    ev("2025-06-02 10:00", Status(Resolved)),
                ],
                now: "2025-06-02 12:00",
                response: "Met 1h/2h stopped 2025-06-02 10:00 CEST",
                resolution: "Met 1h/8h stopped 2025-06-02 10:00 CEST",
                alarms: &[],
            },
            Case {
                name: "resolved late",
                history: vec![
                    ev("2025-06-02 09:00", Created { priority: P1 }),
                    ev("2025-06-02 09:30", StaffPublicReply),
                    ev("2025-06-03 10:00", Status(Resolved)),
                ],
                now: "2025-06-03 12:00",
                response: "Met 30m/1h stopped 2025-06-02 09:30 CEST",
                resolution: "Breached 11h/4h stopped 2025-06-03 10:00 CEST",
                alarms: &[],
            },
        ],
    );
}

#[test]
fn clocks_across_daylight_saving_changes() {
    check(
        &office(),
        vec![Case {
            name: "office hours over the spring-forward weekend",
            history: vec![ev("2025-03-28 17:00", Created { priority: P2 })],
            now: "2025-03-31 08:00",
            response: "Running 1h/2h due 2025-03-31 09:00 CEST",
            resolution: "Running 1h/8h due 2025-03-31 15:00 CEST",
            alarms: &[],
        }],
    );
    // Around the clock on the wall: 4 hours of P1 resolution are 4 real hours, however the wall
    // clock jumps in between.
    check(
        &around_the_wall_clock("Europe/Paris"),
        vec![
            Case {
                name: "filed just before the spring-forward jump",
                history: vec![ev("2025-03-30 01:30", Created { priority: P1 })],
                now: "2025-03-30 01:45",
                response: "Running 15m/1h due 2025-03-30 03:30 CEST",
                resolution: "Running 15m/4h due 2025-03-30 06:30 CEST",
                alarms: &[],
            },
            Case {
                name: "filed just before the fall-back repeat",
                history: vec![ev("2025-10-26 01:30", Created { priority: P1 })],
                now: "2025-10-26 01:45",
                response: "Running 15m/1h due 2025-10-26 02:30 CEST",
                resolution: "Running 15m/4h due 2025-10-26 04:30 CET",
                alarms: &[],
            },
            Case {
                name: "a pause across the fall-back night",
                history: vec![
                    ev("2025-10-25 22:00", Created { priority: P2 }),
                    ev("2025-10-25 22:30", StaffPublicReply),
                    ev("2025-10-25 23:00", Status(WaitingOnCustomer)),
                    ev("2025-10-26 04:00", Status(InProgress)),
                ],
                now: "2025-10-26 05:00",
                response: "Met 30m/2h stopped 2025-10-25 22:30 CEST",
                resolution: "Running 2h/8h due 2025-10-26 11:00 CET",
                alarms: &[],
            },
        ],
    );
}

#[test]
fn around_the_clock_nights_and_weekends_count() {
    let filed = || ev("2025-06-07 10:00", Created { priority: P1 }); // a Saturday
    check(
        &policy(BusinessCalendar::always_open()),
        vec![
            Case {
                name: "filed on Saturday morning",
                history: vec![filed()],
                now: "2025-06-07 10:50",
                response: "Warning 50m/1h due 2025-06-07 11:00 CEST",
                resolution: "Running 50m/4h due 2025-06-07 14:00 CEST",
                alarms: &[(Response, Warning)],
            },
            Case {
                name: "waiting on the customer over Saturday night",
                history: vec![
                    filed(),
                    ev("2025-06-07 10:20", StaffPublicReply),
                    ev("2025-06-07 12:00", Status(WaitingOnCustomer)),
                    ev("2025-06-08 09:00", Status(InProgress)),
                ],
                now: "2025-06-08 09:30",
                response: "Met 20m/1h stopped 2025-06-07 10:20 CEST",
                resolution: "Running 2h 30m/4h due 2025-06-08 11:00 CEST",
                alarms: &[],
            },
        ],
    );
}

#[test]
fn a_calendar_open_around_the_wall_clock_counts_like_always_open() {
    let always = policy(BusinessCalendar::always_open());
    let history = [
        ev("2025-03-29 20:00", Created { priority: P3 }),
        ev("2025-03-30 01:00", StaffPublicReply),
        ev("2025-03-30 02:59", Status(WaitingOnCustomer)), // 02:59 does not exist: 03:59 CEST
        ev("2025-03-30 06:00", Status(InProgress)),
        ev("2025-10-25 10:00", Status(Resolved)),
        ev("2025-10-26 02:30", Status(Open)),
        ev("2025-10-26 02:45", Change::Priority(P4)),
    ];
    for zone in ["Europe/Paris", "America/New_York", "UTC"] {
        let wall = around_the_wall_clock(zone);
        for now in ["2025-03-30 00:00", "2025-03-30 04:30", "2025-03-31 00:00", "2025-10-26 03:30", "2026-01-01 00:00"]
        {
            let now = paris(now);
            assert_eq!(clocks(&history, &wall, now), clocks(&history, &always, now), "{zone} at {now}");
        }
    }
}

#[test]
fn no_clocks_without_a_creation() {
    let policy = office();
    let now = paris("2025-06-02 12:00");
    assert_eq!(clocks(&[], &policy, now), None);
    assert_eq!(clocks(&[ev("2025-06-02 09:00", Status(Open))], &policy, now), None);
}

#[test]
fn events_out_of_order_count_as_simultaneous() {
    let history = [
        ev("2025-06-02 09:00", Created { priority: P2 }),
        ev("2025-06-02 10:00", Status(WaitingOnCustomer)),
        ev("2025-06-02 09:50", Status(InProgress)), // written late with an earlier stamp
    ];
    let clocks = clocks(&history, &office(), paris("2025-06-02 11:00")).unwrap();
    assert_eq!(summary(&clocks.resolution), "Running 2h/8h due 2025-06-02 17:00 CEST");
}

#[test]
fn policies_are_written_in_json_and_validated() {
    let json = serde_json::json!({
        "name": "Business",
        "calendar": {"kind": "business_hours", "time_zone": "Europe/Paris", "hours": {"mon": [["08:00", "18:00"]]}},
        "targets": {
            "p1": {"first_response": "PT1H", "resolution": "4h"},
            "p2": {"first_response": "2h", "resolution": "8h"},
            "p3": {"first_response": "4h", "resolution": "24h"},
            "p4": {"first_response": "8h", "resolution": "40h"},
        },
    });
    let policy: SlaPolicy = serde_json::from_value(json.clone()).unwrap();
    policy.validate().unwrap();
    assert_eq!(policy.warn_at, DEFAULT_WARN_AT);
    assert_eq!(policy.targets, targets());
    let round_trip: SlaPolicy = serde_json::from_value(serde_json::to_value(&policy).unwrap()).unwrap();
    assert_eq!(round_trip, policy);

    type Spoil = fn(&mut SlaPolicy);
    let cases: [(Spoil, &str); 7] = [
        (|p| p.name = " ".into(), "invalid name: must not be empty"),
        (|p| p.targets.p3.resolution = hours(0), "invalid targets.p3.resolution: must be more than zero"),
        (|p| p.targets.p1.first_response = hours(-1), "invalid targets.p1.first_response: must be more than zero"),
        (
            |p| p.targets.p4.first_response = hours(41),
            "invalid targets.p4.first_response: a first response within 41h comes after the resolution within 40h",
        ),
        (|p| p.warn_at = 0.0, "invalid warn_at: 0 must be more than 0 and at most 1 (a share of the target)"),
        (|p| p.warn_at = 1.5, "invalid warn_at: 1.5 must be more than 0 and at most 1 (a share of the target)"),
        (|p| p.warn_at = f64::NAN, "invalid warn_at: NaN must be more than 0 and at most 1 (a share of the target)"),
    ];
    for (spoil, message) in cases {
        let mut spoiled = policy.clone();
        spoil(&mut spoiled);
        assert_eq!(spoiled.validate().unwrap_err().to_string(), message);
    }
    let mut typo = json;
    typo["warn"] = 0.5.into();
    assert!(serde_json::from_value::<SlaPolicy>(typo).unwrap_err().to_string().contains("unknown field `warn`"));
}

#[test]
fn history_and_alarms_in_json() {
    let history = [
        ev("2025-06-02 09:00", Created { priority: P2 }),
        ev("2025-06-02 09:10", StaffPublicReply),
        ev("2025-06-02 09:20", Change::Priority(P1)),
        ev("2025-06-02 09:30", Status(Resolved)),
    ];
    assert_eq!(
        serde_json::to_value(history).unwrap(),
        serde_json::json!([
            {"at": "2025-06-02T07:00:00Z", "change": {"created": {"priority": "p2"}}},
            {"at": "2025-06-02T07:10:00Z", "change": "staff_public_reply"},
            {"at": "2025-06-02T07:20:00Z", "change": {"priority": "p1"}},
            {"at": "2025-06-02T07:30:00Z", "change": {"status": "resolved"}},
        ])
    );
    let alarm = SlaAlarm { clock: Response, level: Breach };
    assert_eq!(serde_json::to_value(alarm).unwrap(), serde_json::json!({"clock": "response", "level": "breach"}));
    for kind in [Response, Resolution] {
        assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
    }
    for level in [Warning, Breach] {
        assert_eq!(serde_json::to_value(level).unwrap(), level.as_str());
    }
}
