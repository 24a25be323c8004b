//! Business hours walked through weeks, holidays and daylight saving changes.
//!
//! Europe/Paris 2025: summer time from Sunday 30 March 02:00 CET (→ 03:00 CEST) to Sunday
//! 26 October 03:00 CEST (→ 02:00 CET). 2 June 2025 is a Monday; 25 December a Thursday.

use jiff::civil::{DateTime, date, time};

use super::*;

fn hours(n: i64) -> SignedDuration {
    SignedDuration::from_hours(n)
}

fn mins(n: i64) -> SignedDuration {
    SignedDuration::from_mins(n)
}

fn opening(start: &str, end: &str) -> Opening {
    serde_json::from_value(serde_json::json!([start, end])).unwrap()
}

/// Paris wall-clock time, "2025-06-02 08:00", as an instant.
fn paris(local: &str) -> Timestamp {
    let local: DateTime = local.parse().unwrap();
    local.to_zoned(TimeZone::get("Europe/Paris").unwrap()).unwrap().timestamp()
}

fn show(at: Timestamp) -> String {
    at.to_zoned(TimeZone::get("Europe/Paris").unwrap()).strftime("%F %H:%M %Z").to_string()
}

/// Monday to Friday 08:00–18:00 in Paris, closed on Christmas Day and New Year's Day.
fn office() -> BusinessCalendar {
    let week = WeekHours::monday_to_friday(vec![opening("08:00", "18:00")]);
    BusinessCalendar::business_hours("Europe/Paris", week, vec![date(2025, 12, 25), date(2026, 1, 1)]).unwrap()
}

/// Monday to Friday 09:00–12:00 and 14:00–17:00, Saturday morning 09:00–12:00.
fn shop() -> BusinessCalendar {
    let mut week = WeekHours::monday_to_friday(vec![opening("14:00", "17:00"), opening("09:00", "12:00")]);
    week.sat = vec![opening("09:00", "12:00")];
    BusinessCalendar::business_hours("Europe/Paris", week, vec![]).unwrap()
}

/// Every day, all day, in Paris: 24×7 on the wall clock, with the zone's DST days.
fn every_day(start: &str, end: &str) -> BusinessCalendar {
    let day = vec![opening(start, end)];
    let week = WeekHours {
        mon: day.clone(),
        tue: day.clone(),
        wed: day.clone(),
        thu: day.clone(),
        fri: day.clone(),
        sat: day.clone(),
        sun: day,
    };
    BusinessCalendar::business_hours("Europe/Paris", week, vec![]).unwrap()
}

#[test]
fn working_time_in_an_office_week() {
    let office = office();
    let cases = [
        // (from, to, working time)
        ("2025-06-02 09:00", "2025-06-02 10:30", mins(90)),
        ("2025-06-02 06:00", "2025-06-02 09:00", hours(1)), // before opening
        ("2025-06-02 17:00", "2025-06-02 23:00", hours(1)), // after closing
        ("2025-06-02 18:00", "2025-06-03 08:00", hours(0)), // the night
        ("2025-06-02 08:00", "2025-06-03 08:00", hours(10)),
        ("2025-06-02 00:00", "2025-06-09 00:00", hours(50)), // a whole week
        ("2025-06-06 17:00", "2025-06-09 09:00", hours(2)),  // Friday evening to Monday morning
        ("2025-06-07 10:00", "2025-06-08 16:00", hours(0)),  // the weekend
        ("2025-06-02 00:00", "2025-07-02 00:00", hours(220)), // June: 22 working days to the 1st
        // Christmas Day (Thursday) is a holiday; Friday the 26th is not.
        ("2025-12-24 17:00", "2025-12-26 09:00", hours(2)),
        ("2025-12-25 08:00", "2025-12-25 18:00", hours(0)),
        // Reversed or empty ranges hold no time.
        ("2025-06-02 10:00", "2025-06-02 10:00", hours(0)),
        ("2025-06-02 12:00", "2025-06-02 10:00", hours(0)),
    ];
    for (from, to, expected) in cases {
        assert_eq!(office.working_time_between(paris(from), paris(to)), expected, "[{from}, {to})");
    }
}

#[test]
fn working_time_with_split_days_and_saturday_mornings() {
    let shop = shop();
    let cases = [
        ("2025-06-02 11:00", "2025-06-02 15:00", hours(2)), // lunch does not count
        ("2025-06-02 12:00", "2025-06-02 14:00", hours(0)),
        ("2025-06-06 16:00", "2025-06-09 10:00", hours(5)), // Fri 1 h, Sat 3 h, Mon 1 h
        ("2025-06-02 00:00", "2025-06-09 00:00", hours(33)),
    ];
    for (from, to, expected) in cases {
        assert_eq!(shop.working_time_between(paris(from), paris(to)), expected, "[{from}, {to})");
    }
}

#[test]
fn adding_working_time_lands_inside_opening_hours() {
    let office = office();
    let cases = [
        // (from, working time, instant it has passed)
        ("2025-06-02 09:00", hours(1), "2025-06-02 10:00 CEST"),
        // Filed at night: the clock starts at the next opening.
        ("2025-06-02 22:00", hours(1), "2025-06-03 09:00 CEST"),
        ("2025-06-02 06:00", mins(30), "2025-06-02 08:30 CEST"),
        // Exactly to closing time is due at closing time, not the next morning.
        ("2025-06-02 14:00", hours(4), "2025-06-02 18:00 CEST"),
        ("2025-06-02 14:00", hours(4) + SignedDuration::from_nanos(1), "2025-06-03 08:00 CEST"),
        // Over the weekend.
        ("2025-06-06 16:00", hours(4), "2025-06-09 10:00 CEST"),
        ("2025-06-07 11:00", hours(1), "2025-06-09 09:00 CEST"),
        // Over Christmas: Wednesday 24th, Friday 26th, then Monday 29th.
        ("2025-12-24 16:00", hours(8), "2025-12-26 14:00 CET"),
        ("2025-12-24 16:00", hours(14), "2025-12-29 10:00 CET"),
        // Filed on the holiday itself.
        ("2025-12-25 10:00", hours(1), "2025-12-26 09:00 CET"),
        // Nothing to add.
        ("2025-06-07 11:00", hours(0), "2025-06-07 11:00 CEST"),
        ("2025-06-07 11:00", hours(-3), "2025-06-07 11:00 CEST"),
    ];
    for (from, add, expected) in cases {
        let due = office.add_working_time(paris(from), add).unwrap();
        assert_eq!(show(due), expected, "{from} + {add:#}");
    }
}

#[test]
fn adding_then_measuring_gives_the_same_working_time() {
    let calendars = [office(), shop(), every_day("01:00", "04:00"), BusinessCalendar::always_open()];
    let froms = ["2025-03-28 17:30", "2025-03-30 01:30", "2025-10-24 12:00", "2025-10-26 02:30", "2025-12-24 07:00"];
    let durations = [mins(1), hours(1), hours(3), hours(10), hours(49), hours(500)];
    for calendar in &calendars {
        for from in froms {
            for duration in durations {
                let due = calendar.add_working_time(paris(from), duration).unwrap();
                assert_eq!(
                    calendar.working_time_between(paris(from), due),
                    duration,
                    "{calendar:?} {from} {duration:#}"
                );
            }
        }
    }
}

#[test]
fn a_whole_day_lasts_23_or_25_hours_when_the_clocks_change() {
    let always = every_day("00:00", "24:00");
    let cases = [
        // (local day, real working time)
        ("2025-03-29", hours(24)),
        ("2025-03-30", hours(23)), // spring forward
        ("2025-03-31", hours(24)),
        ("2025-10-26", hours(25)), // fall back
        ("2025-10-27", hours(24)),
    ];
    for (day, expected) in cases {
        let from = paris(&format!("{day} 00:00"));
        let to = paris(&format!("{day} 00:00")).to_zoned(TimeZone::get("Europe/Paris").unwrap()).tomorrow().unwrap();
        assert_eq!(always.working_time_between(from, to.timestamp()), expected, "{day}");
    }
    // Over the whole spring-forward week, exactly the real time elapsed.
    let (from, to) = (paris("2025-03-27 00:00"), paris("2025-04-03 00:00"));
    assert_eq!(always.working_time_between(from, to), to.duration_since(from));
    assert_eq!(always.working_time_between(from, to), hours(7 * 24 - 1));
    // A day later than 24 real hours on the fall-back day.
    let due = always.add_working_time(paris("2025-10-25 12:00"), hours(24)).unwrap();
    assert_eq!(show(due), "2025-10-26 11:00 CET");
}

#[test]
fn a_night_window_across_the_change_counts_the_real_hours() {
    // 01:00–04:00 every night: 2 real hours when 02:00 becomes 03:00, 4 when 03:00 becomes 02:00.
    let night = every_day("01:00", "04:00");
    let cases = [
        ("2025-03-29 00:00", "2025-03-29 12:00", hours(3)),
        ("2025-03-30 00:00", "2025-03-30 12:00", hours(2)),
        ("2025-10-26 00:00", "2025-10-26 12:00", hours(4)),
        // Half an hour after opening on the spring day: 01:30 CET, and 03:00 CEST follows 01:59.
        ("2025-03-30 01:30", "2025-03-30 12:00", mins(90)),
    ];
    for (from, to, expected) in cases {
        assert_eq!(night.working_time_between(paris(from), paris(to)), expected, "[{from}, {to})");
    }
    let cases = [
        ("2025-03-30 00:00", mins(90), "2025-03-30 03:30 CEST"),
        ("2025-03-30 00:00", hours(2), "2025-03-30 04:00 CEST"),
        ("2025-03-30 00:00", hours(3), "2025-03-31 02:00 CEST"),
        // The repeated hour counts twice: 02:30 CEST, then 02:00–03:00 CET, then 03:00 CET.
        ("2025-10-26 01:00", mins(90), "2025-10-26 02:30 CEST"),
        ("2025-10-26 01:00", mins(150), "2025-10-26 02:30 CET"),
        ("2025-10-26 01:00", hours(4), "2025-10-26 04:00 CET"),
    ];
    for (from, add, expected) in cases {
        assert_eq!(show(night.add_working_time(paris(from), add).unwrap()), expected, "{from} + {add:#}");
    }
}

#[test]
fn an_opening_ending_in_the_skipped_hour_does_not_count_twice() {
    // 01:00–02:30 and 03:00–04:00: 02:30 does not exist on 30 March and maps to 03:30 CEST,
    // past the second opening's start. On the wall: 01:00–02:00 CET, then 03:00–04:00 CEST.
    let day = vec![opening("01:00", "02:30"), opening("03:00", "04:00")];
    let week = WeekHours { sun: day, ..WeekHours::default() };
    let calendar = BusinessCalendar::business_hours("Europe/Paris", week, vec![]).unwrap();
    let (from, to) = (paris("2025-03-30 00:00"), paris("2025-03-30 12:00"));
    assert_eq!(calendar.working_time_between(from, to), hours(2));
    assert_eq!(calendar.working_time_between(paris("2025-03-23 00:00"), paris("2025-03-23 12:00")), mins(150));
}

#[test]
fn always_open_counts_every_instant() {
    let always = BusinessCalendar::always_open();
    let (from, to) = (paris("2025-12-24 22:00"), paris("2025-12-26 03:00"));
    assert_eq!(always.working_time_between(from, to), hours(29));
    assert_eq!(always.working_time_between(to, from), hours(0));
    assert_eq!(always.add_working_time(from, hours(29)), Some(to));
    assert_eq!(always.add_working_time(Timestamp::MAX, hours(1)), None);
}

#[test]
fn no_working_time_left_within_the_search_horizon() {
    // Open on Mondays only, and every Monday for eleven years is a holiday.
    let week = WeekHours { mon: vec![opening("08:00", "18:00")], ..WeekHours::default() };
    let mondays = std::iter::successors(Some(date(2025, 6, 2)), |d| Some(d.saturating_add(Span::new().weeks(1))))
        .take_while(|d| d.year() < 2036)
        .collect();
    let calendar = BusinessCalendar::business_hours("Europe/Paris", week, mondays).unwrap();
    assert_eq!(calendar.add_working_time(paris("2025-06-01 00:00"), hours(1)), None);
    assert_eq!(calendar.working_time_between(paris("2025-06-01 00:00"), paris("2035-12-31 00:00")), hours(0));
    let due = calendar.add_working_time(paris("2030-01-01 00:00"), hours(1)).unwrap();
    assert_eq!(show(due), "2036-01-07 09:00 CET");
}

#[test]
fn long_ranges_are_walked_by_days() {
    let office = office();
    let started = std::time::Instant::now();
    let due = office.add_working_time(paris("2025-01-01 00:00"), hours(10 * 250 * 9)).unwrap();
    assert!(due < paris("2035-01-01 00:00"));
    let worked = office.working_time_between(paris("2025-01-01 00:00"), paris("2030-01-01 00:00"));
    assert!(worked > hours(5 * 250 * 10) && worked < hours(5 * 262 * 10), "{worked:#}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
}

#[test]
fn written_as_json() {
    let json = serde_json::json!({
        "kind": "business_hours",
        "time_zone": "Europe/Paris",
        "hours": {"mon": [["08:00", "18:00"]], "tue": [["13:00", "18:00"], ["08:00", "12:00"]], "sun": [["22:00", "24:00"]]},
        "holidays": ["2026-12-25", "2026-01-01"],
    });
    let calendar: BusinessCalendar = serde_json::from_value(json).unwrap();
    // Written back with openings and holidays in order.
    assert_eq!(
        serde_json::to_value(&calendar).unwrap(),
        serde_json::json!({
            "kind": "business_hours",
            "time_zone": "Europe/Paris",
            "hours": {"mon": [["08:00", "18:00"]], "tue": [["08:00", "12:00"], ["13:00", "18:00"]], "sun": [["22:00", "24:00"]]},
            "holidays": ["2026-01-01", "2026-12-25"],
        })
    );
    let always: BusinessCalendar = serde_json::from_str(r#"{"kind": "always_open"}"#).unwrap();
    assert_eq!(always, BusinessCalendar::always_open());
    assert_eq!(serde_json::to_string(&always).unwrap(), r#"{"kind":"always_open"}"#);
    let seconds = opening("08:00:30", "17:59:59");
    assert_eq!((seconds.start, seconds.end), (time(8, 0, 30, 0), time(17, 59, 59, 0)));
    assert_eq!(serde_json::to_value(seconds).unwrap(), serde_json::json!(["08:00:30", "17:59:59"]));
}

#[test]
fn invalid_calendars_are_refused_naming_the_field() {
    let cases = [
        // (JSON, message)
        (
            r#"{"kind": "business_hours", "time_zone": "Europe/Pariss", "hours": {"mon": [["08:00", "18:00"]]}}"#,
            "invalid time_zone: 'Europe/Pariss' is not a known IANA time zone",
        ),
        (
            r#"{"kind": "business_hours", "time_zone": "UTC", "hours": {"mon": [["18:00", "08:00"]]}}"#,
            "invalid hours.mon: 18:00–08:00 must end after it starts",
        ),
        (
            r#"{"kind": "business_hours", "time_zone": "UTC", "hours": {"fri": [["08:00", "12:00"], ["11:00", "18:00"]]}}"#,
            "invalid hours.fri: 11:00–18:00 overlaps 08:00–12:00",
        ),
        (
            r#"{"kind": "business_hours", "time_zone": "UTC", "hours": {"sat": [["20:00", "24:00"], ["22:00", "23:00"]]}}"#,
            "invalid hours.sat: 22:00–23:00 overlaps 20:00–24:00",
        ),
        (
            r#"{"kind": "business_hours", "time_zone": "UTC", "hours": {"sun": [["08:00", "08:00"]]}}"#,
            "invalid hours.sun: 08:00–08:00 must end after it starts",
        ),
        (r#"{"kind": "business_hours", "time_zone": "UTC", "hours": {}}"#, "invalid hours: no day has opening hours"),
        (r#"{"kind": "business_hours", "time_zone": "UTC"}"#, "invalid hours: no day has opening hours"),
        (
            r#"{"kind": "business_hours", "time_zone": "UTC", "hours": {"monday": [["08:00", "18:00"]]}}"#,
            "unknown field `monday`",
        ),
        (
            r#"{"kind": "business_hours", "time_zone": "UTC", "hours": {"mon": [["8h", "18:00"]]}}"#,
            "'8h' is not a time of day (HH:MM)",
        ),
        (
            r#"{"kind": "business_hours", "time_zone": "UTC", "hours": {"mon": [["08:00", "25:00"]]}}"#,
            "'25:00' is not a time of day (HH:MM)",
        ),
        (r#"{"time_zone": "UTC", "hours": {"mon": [["08:00", "18:00"]]}}"#, "missing field `kind`"),
        (r#"{"kind": "always_open", "time_zone": "UTC"}"#, "unknown field `time_zone`"),
    ];
    for (json, message) in cases {
        let err = serde_json::from_str::<BusinessCalendar>(json).unwrap_err().to_string();
        assert!(err.starts_with(message), "{json}: {err}");
    }
    // The whole day, and touching openings, are fine.
    for hours in [vec![opening("00:00", "24:00")], vec![opening("08:00", "12:00"), opening("12:00", "18:00")]] {
        let week = WeekHours { wed: hours, ..WeekHours::default() };
        assert!(BusinessCalendar::business_hours("UTC", week, vec![]).is_ok());
    }
}
