//! Windows across daylight saving changes: local starts keep their wall-clock time, durations
//! stay elapsed time, starts in a gap move forward, starts in a repeated hour take the first.
//!
//! Europe/Paris 2025: summer time from 30 March 02:00 CET (→ 03:00 CEST) to 26 October 03:00
//! CEST (→ 02:00 CET). America/New_York 2025: 9 March 02:00 EST (→ 03:00 EDT) to 2 November
//! 02:00 EDT (→ 01:00 EST).

use super::*;

/// An occurrence as UTC interval and as the wall clock of the window's zone.
fn both(schedule: &WindowSchedule, occurrence: &Occurrence) -> String {
    let wall = |t: Timestamp| t.to_zoned(schedule.zone.clone()).strftime("%F %H:%M %Z").to_string();
    format!("{} | {} → {}", utc(occurrence), wall(occurrence.start), wall(occurrence.end))
}

fn listed(schedule: &WindowSchedule, from: &str, to: &str) -> Vec<String> {
    schedule.occurrences(at(from), at(to)).iter().map(|o| both(schedule, o)).collect()
}

#[test]
fn second_tuesday_22_to_02_in_paris_keeps_its_wall_clock_through_the_year() {
    let w = window("2025-01-14T22:00", hours(4), "Europe/Paris", Some("FREQ=MONTHLY;BYDAY=2TU"));
    assert_eq!(
        listed(&w, "2025-01-01T00:00Z", "2026-01-01T00:00Z"),
        [
            "2025-01-14T21:00:00Z/2025-01-15T01:00:00Z | 2025-01-14 22:00 CET → 2025-01-15 02:00 CET",
            "2025-02-11T21:00:00Z/2025-02-12T01:00:00Z | 2025-02-11 22:00 CET → 2025-02-12 02:00 CET",
            "2025-03-11T21:00:00Z/2025-03-12T01:00:00Z | 2025-03-11 22:00 CET → 2025-03-12 02:00 CET",
            // Summer time: one hour earlier in UTC, the same on the wall.
            "2025-04-08T20:00:00Z/2025-04-09T00:00:00Z | 2025-04-08 22:00 CEST → 2025-04-09 02:00 CEST",
            "2025-05-13T20:00:00Z/2025-05-14T00:00:00Z | 2025-05-13 22:00 CEST → 2025-05-14 02:00 CEST",
            "2025-06-10T20:00:00Z/2025-06-11T00:00:00Z | 2025-06-10 22:00 CEST → 2025-06-11 02:00 CEST",
            "2025-07-08T20:00:00Z/2025-07-09T00:00:00Z | 2025-07-08 22:00 CEST → 2025-07-09 02:00 CEST",
            "2025-08-12T20:00:00Z/2025-08-13T00:00:00Z | 2025-08-12 22:00 CEST → 2025-08-13 02:00 CEST",
            "2025-09-09T20:00:00Z/2025-09-10T00:00:00Z | 2025-09-09 22:00 CEST → 2025-09-10 02:00 CEST",
            "2025-10-14T20:00:00Z/2025-10-15T00:00:00Z | 2025-10-14 22:00 CEST → 2025-10-15 02:00 CEST",
            "2025-11-11T21:00:00Z/2025-11-12T01:00:00Z | 2025-11-11 22:00 CET → 2025-11-12 02:00 CET",
            "2025-12-09T21:00:00Z/2025-12-10T01:00:00Z | 2025-12-09 22:00 CET → 2025-12-10 02:00 CET",
        ]
    );
}

#[test]
fn second_tuesday_in_paris_is_open_exactly_from_22_to_02_local_either_side_of_each_change() {
    let w = window("2025-01-14T22:00", hours(4), "Europe/Paris", Some("FREQ=MONTHLY;BYDAY=2TU"));
    let cases = [
        // (instant, open window's start) — March (CET), before and after 30 March
        ("2025-03-11T20:59:59Z", None),
        ("2025-03-11T21:00:00Z", Some("2025-03-11T21:00:00Z")),
        ("2025-03-12T00:59:59.999999999Z", Some("2025-03-11T21:00:00Z")),
        ("2025-03-12T01:00:00Z", None),
        // April (CEST): 20:00 UTC is 22:00 on the wall.
        ("2025-04-08T19:59:59Z", None),
        ("2025-04-08T20:00:00Z", Some("2025-04-08T20:00:00Z")),
        ("2025-04-08T23:59:59Z", Some("2025-04-08T20:00:00Z")),
        ("2025-04-09T00:00:00Z", None),
        // October (CEST), before 26 October; November (CET), after it.
        ("2025-10-14T20:00:00Z", Some("2025-10-14T20:00:00Z")),
        ("2025-10-15T00:00:00Z", None),
        ("2025-11-11T20:30:00Z", None),
        ("2025-11-11T21:00:00Z", Some("2025-11-11T21:00:00Z")),
        ("2025-11-12T00:59:59Z", Some("2025-11-11T21:00:00Z")),
        ("2025-11-12T01:00:00Z", None),
        // Change nights themselves: no window (they are Sundays).
        ("2025-03-30T01:30:00Z", None),
        ("2025-10-26T01:30:00Z", None),
    ];
    for (instant, expected) in cases {
        let open = w.active_at(at(instant)).map(|o| o.start.to_string());
        assert_eq!(open.as_deref(), expected, "at {instant}");
    }
    assert_eq!(w.next_after(at("2025-03-11T21:00Z")).map(|o| o.start), Some(at("2025-04-08T20:00Z")));
    assert_eq!(w.next_after(at("2025-10-14T20:00Z")).map(|o| o.start), Some(at("2025-11-11T21:00Z")));
}

#[test]
fn a_window_across_the_change_lasts_its_real_hours_not_its_wall_clock_hours() {
    // The night of each change (the EU rule itself), 01:00 local, 4 hours.
    let w = window("2025-03-30T01:00", hours(4), "Europe/Paris", Some("FREQ=YEARLY;BYMONTH=3,10;BYDAY=-1SU"));
    assert_eq!(
        listed(&w, "2025-01-01T00:00Z", "2027-01-01T00:00Z"),
        [
            // The wall clock jumps an hour ahead: 5 hours on the wall.
            "2025-03-30T00:00:00Z/2025-03-30T04:00:00Z | 2025-03-30 01:00 CET → 2025-03-30 06:00 CEST",
            // It falls back an hour: 3 hours on the wall.
            "2025-10-25T23:00:00Z/2025-10-26T03:00:00Z | 2025-10-26 01:00 CEST → 2025-10-26 04:00 CET",
            "2026-03-29T00:00:00Z/2026-03-29T04:00:00Z | 2026-03-29 01:00 CET → 2026-03-29 06:00 CEST",
            "2026-10-24T23:00:00Z/2026-10-25T03:00:00Z | 2026-10-25 01:00 CEST → 2026-10-25 04:00 CET",
        ]
    );
    for o in w.occurrences(at("2025-01-01T00:00Z"), at("2027-01-01T00:00Z")) {
        assert_eq!(o.end.duration_since(o.start), hours(4));
    }
    let cases = [
        // (instant, open) — walking the autumn night, including both passes of 02:30
        ("2025-10-25T22:59:59Z", false),
        ("2025-10-25T23:00:00Z", true),
        ("2025-10-26T00:30:00Z", true), // 02:30 CEST, first pass
        ("2025-10-26T01:30:00Z", true), // 02:30 CET, second pass
        ("2025-10-26T02:59:59Z", true),
        ("2025-10-26T03:00:00Z", false), // 04:00 CET
    ];
    for (instant, open) in cases {
        assert_eq!(w.active_at(at(instant)).is_some(), open, "at {instant}");
    }
}

#[test]
fn weekly_sunday_02_to_05_in_new_york_on_the_spring_forward_sunday_starts_at_03() {
    let w = window("2025-03-02T02:00", hours(3), "America/New_York", Some("FREQ=WEEKLY;BYDAY=SU"));
    assert_eq!(
        listed(&w, "2025-03-01T00:00Z", "2025-03-20T00:00Z"),
        [
            "2025-03-02T07:00:00Z/2025-03-02T10:00:00Z | 2025-03-02 02:00 EST → 2025-03-02 05:00 EST",
            // 02:00 does not exist on 9 March: the window opens when the clock shows 03:00,
            // and still lasts 3 hours.
            "2025-03-09T07:00:00Z/2025-03-09T10:00:00Z | 2025-03-09 03:00 EDT → 2025-03-09 06:00 EDT",
            "2025-03-16T06:00:00Z/2025-03-16T09:00:00Z | 2025-03-16 02:00 EDT → 2025-03-16 05:00 EDT",
        ]
    );
    assert_eq!(
        listed(&w, "2025-10-25T00:00Z", "2025-11-10T00:00Z"),
        [
            "2025-10-26T06:00:00Z/2025-10-26T09:00:00Z | 2025-10-26 02:00 EDT → 2025-10-26 05:00 EDT",
            // 02:00 on the fall-back Sunday exists once (01:00–01:59 repeats): EST.
            "2025-11-02T07:00:00Z/2025-11-02T10:00:00Z | 2025-11-02 02:00 EST → 2025-11-02 05:00 EST",
            "2025-11-09T07:00:00Z/2025-11-09T10:00:00Z | 2025-11-09 02:00 EST → 2025-11-09 05:00 EST",
        ]
    );
    let cases = [
        // (instant, open) — the spring-forward Sunday
        ("2025-03-09T06:59:59Z", false), // 01:59:59 EST
        ("2025-03-09T07:00:00Z", true),  // 03:00 EDT
        ("2025-03-09T09:59:59Z", true),
        ("2025-03-09T10:00:00Z", false), // 06:00 EDT
    ];
    for (instant, open) in cases {
        assert_eq!(w.active_at(at(instant)).is_some(), open, "at {instant}");
    }
    assert_eq!(w.next_after(at("2025-03-02T07:00Z")).map(|o| o.start), Some(at("2025-03-09T07:00Z")));
}

#[test]
fn local_starts_in_a_gap_move_forward_and_in_a_repeated_hour_take_the_first() {
    let cases = [
        // (zone, daily local start, first day, the three windows' UTC starts)
        ("Europe/Paris", "2025-03-29T02:30", ["2025-03-29T01:30:00Z", "2025-03-30T01:30:00Z", "2025-03-31T00:30:00Z"]),
        ("Europe/Paris", "2025-10-25T02:30", ["2025-10-25T00:30:00Z", "2025-10-26T00:30:00Z", "2025-10-27T01:30:00Z"]),
        (
            "America/New_York",
            "2025-03-08T02:30",
            ["2025-03-08T07:30:00Z", "2025-03-09T07:30:00Z", "2025-03-10T06:30:00Z"],
        ),
        (
            "America/New_York",
            "2025-11-01T01:30",
            ["2025-11-01T05:30:00Z", "2025-11-02T05:30:00Z", "2025-11-03T06:30:00Z"],
        ),
    ];
    for (zone, start, expected) in cases {
        let w = window(start, hours(1), zone, Some("FREQ=DAILY;COUNT=3"));
        let starts: Vec<String> = w
            .occurrences(at("2025-01-01T00:00Z"), at("2026-01-01T00:00Z"))
            .iter()
            .map(|o| o.start.to_string())
            .collect();
        assert_eq!(starts, expected, "{zone} daily at {start}");
    }
    let walls = [
        // (one-off local start, its wall-clock opening)
        ("2025-03-30T02:30", "2025-03-30 03:30 CEST"),
        ("2025-10-26T02:30", "2025-10-26 02:30 CEST"),
    ];
    for (start, expected) in walls {
        let w = window(start, hours(1), "Europe/Paris", None);
        let opening = w.occurrences(at("2025-01-01T00:00Z"), at("2026-01-01T00:00Z"))[0].start;
        assert_eq!(opening.to_zoned(w.zone.clone()).strftime("%F %H:%M %Z").to_string(), expected, "{start}");
    }
}
