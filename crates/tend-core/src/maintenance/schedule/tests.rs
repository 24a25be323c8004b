//! Windows walked through time: one-off and recurring, range edges, COUNT and UNTIL, notices.
//! The DST cases live in `dst`.

use super::*;
use crate::maintenance::parse_rrule;

mod dst;

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn hours(n: i64) -> SignedDuration {
    SignedDuration::from_hours(n)
}

fn window(start: &str, duration: SignedDuration, zone: &str, rule: Option<&str>) -> WindowSchedule {
    let rule = rule.map(|text| parse_rrule(text).unwrap());
    WindowSchedule::new(start.parse().unwrap(), duration, zone, rule).unwrap()
}

/// An occurrence in ISO 8601 interval notation, UTC: `start/end`.
fn utc(occurrence: &Occurrence) -> String {
    format!("{}/{}", occurrence.start, occurrence.end)
}

fn utcs(occurrences: &[Occurrence]) -> Vec<String> {
    occurrences.iter().map(utc).collect()
}

#[test]
fn a_one_off_window_overlaps_ranges_by_its_half_open_interval() {
    let w = window("2025-06-01T22:00", hours(4), "UTC", None);
    let once = ["2025-06-01T22:00:00Z/2025-06-02T02:00:00Z"];
    let cases: [(&str, &str, &[&str]); 7] = [
        // (from, to, occurrences overlapping [from, to))
        ("2025-06-01T00:00Z", "2025-06-01T22:00Z", &[]),
        ("2025-06-01T00:00Z", "2025-06-01T22:00:00.000000001Z", &once),
        ("2025-06-01T23:00Z", "2025-06-01T23:30Z", &once),
        ("2025-06-02T01:59:59.999999999Z", "2025-06-03T00:00Z", &once),
        ("2025-06-02T02:00Z", "2025-06-03T00:00Z", &[]),
        ("2025-06-01T00:00Z", "2025-06-30T00:00Z", &once),
        // An empty or reversed range holds nothing.
        ("2025-06-01T23:00Z", "2025-06-01T23:00Z", &[]),
    ];
    for (from, to, expected) in cases {
        assert_eq!(utcs(&w.occurrences(at(from), at(to))), expected, "[{from}, {to})");
    }
    assert_eq!(w.occurrences(at("2025-06-02T00:00Z"), at("2025-06-01T00:00Z")), []);
}

#[test]
fn active_at_includes_the_start_and_excludes_the_end() {
    // Every day 23:00–01:00 UTC: each window spans midnight.
    let w = window("2025-01-01T23:00", hours(2), "UTC", Some("FREQ=DAILY"));
    let jan_1 = "2025-01-01T23:00:00Z/2025-01-02T01:00:00Z";
    let jan_2 = "2025-01-02T23:00:00Z/2025-01-03T01:00:00Z";
    let cases = [
        // (instant, open window)
        ("2024-12-31T23:30Z", None), // before the series began
        ("2025-01-01T22:59:59.999999999Z", None),
        ("2025-01-01T23:00Z", Some(jan_1)),
        ("2025-01-01T23:59:59Z", Some(jan_1)),
        ("2025-01-02T00:00Z", Some(jan_1)), // after midnight, still the window of the 1st
        ("2025-01-02T00:59:59.999999999Z", Some(jan_1)),
        ("2025-01-02T01:00Z", None),
        ("2025-01-02T12:00Z", None),
        ("2025-01-02T23:00Z", Some(jan_2)),
        ("2025-01-03T00:30Z", Some(jan_2)),
    ];
    for (instant, expected) in cases {
        assert_eq!(w.active_at(at(instant)).as_ref().map(utc).as_deref(), expected, "at {instant}");
        assert_eq!(w.active_at(at(instant)).is_some_and(|o| o.contains(at(instant))), expected.is_some());
    }
}

#[test]
fn a_window_spanning_midnight_is_found_from_the_next_day() {
    let w = window("2025-01-01T23:00", hours(2), "UTC", Some("FREQ=DAILY"));
    let got = w.occurrences(at("2025-01-05T00:00Z"), at("2025-01-05T00:30Z"));
    assert_eq!(utcs(&got), ["2025-01-04T23:00:00Z/2025-01-05T01:00:00Z"]);
    let day = w.occurrences(at("2025-01-05T00:00Z"), at("2025-01-06T00:00Z"));
    assert_eq!(utcs(&day), ["2025-01-04T23:00:00Z/2025-01-05T01:00:00Z", "2025-01-05T23:00:00Z/2025-01-06T01:00:00Z"]);
}

#[test]
fn next_after_is_strictly_after() {
    let daily = window("2025-01-01T23:00", hours(2), "UTC", Some("FREQ=DAILY"));
    let once = window("2025-01-01T23:00", hours(2), "UTC", None);
    let cases = [
        // (schedule, instant, next start)
        (&daily, "2024-06-01T00:00Z", Some("2025-01-01T23:00:00Z")),
        (&daily, "2025-01-01T22:59:59Z", Some("2025-01-01T23:00:00Z")),
        (&daily, "2025-01-01T23:00Z", Some("2025-01-02T23:00:00Z")),
        (&daily, "2025-01-02T00:30Z", Some("2025-01-02T23:00:00Z")),
        (&daily, "2030-07-15T12:00Z", Some("2030-07-15T23:00:00Z")),
        (&once, "2024-06-01T00:00Z", Some("2025-01-01T23:00:00Z")),
        (&once, "2025-01-01T23:00Z", None),
    ];
    for (schedule, instant, expected) in cases {
        let next = schedule.next_after(at(instant)).map(|o| o.start.to_string());
        assert_eq!(next.as_deref(), expected, "after {instant}");
    }
}

#[test]
fn count_and_until_end_the_series() {
    // Every evening 22:00 Paris (20:00 UTC in June), 4 hours, from Sunday 1 June 2025.
    let cases = [
        // (rule, starts of its windows in June and July)
        ("FREQ=DAILY;COUNT=3", &["06-01", "06-02", "06-03"][..]),
        ("FREQ=DAILY;INTERVAL=2;COUNT=3", &["06-01", "06-03", "06-05"]),
        ("FREQ=WEEKLY;COUNT=2", &["06-01", "06-08"]),
        // COUNT counts windows, not days tried: the start (a Sunday) is no Saturday.
        ("FREQ=WEEKLY;BYDAY=SA;COUNT=2", &["06-07", "06-14"]),
        // UNTIL is inclusive, in whichever form: the instant, the local time, the local day.
        ("FREQ=DAILY;UNTIL=20250603T200000Z", &["06-01", "06-02", "06-03"]),
        ("FREQ=DAILY;UNTIL=20250603T195959Z", &["06-01", "06-02"]),
        ("FREQ=DAILY;UNTIL=20250603T220000", &["06-01", "06-02", "06-03"]),
        ("FREQ=DAILY;UNTIL=20250603T215959", &["06-01", "06-02"]),
        ("FREQ=DAILY;UNTIL=20250603", &["06-01", "06-02", "06-03"]),
        ("FREQ=DAILY;UNTIL=20250602", &["06-01", "06-02"]),
        ("FREQ=DAILY;UNTIL=20250601", &["06-01"]),
    ];
    for (rule, expected) in cases {
        let w = window("2025-06-01T22:00", hours(4), "Europe/Paris", Some(rule));
        let got: Vec<String> = w
            .occurrences(at("2025-05-01T00:00Z"), at("2025-08-01T00:00Z"))
            .iter()
            .map(|o| o.start.to_zoned(TimeZone::UTC).strftime("%m-%d").to_string())
            .collect();
        assert_eq!(got, expected, "{rule}");
        let last = w.occurrences(at("2025-05-01T00:00Z"), at("2025-08-01T00:00Z")).last().map(|o| o.start);
        assert_eq!(last.and_then(|last| w.next_after(last)), None, "{rule}: nothing after the last");
    }
}

#[test]
fn a_counted_series_is_counted_from_its_start_whatever_the_range() {
    let w = window("2025-06-01T22:00", hours(1), "UTC", Some("FREQ=DAILY;COUNT=3"));
    let cases: [(&str, &str, &[&str]); 4] = [
        // (from, to, windows)
        ("2025-06-03T00:00Z", "2025-06-10T00:00Z", &["2025-06-03T22:00:00Z/2025-06-03T23:00:00Z"]),
        ("2025-06-03T22:30Z", "2025-06-03T22:31Z", &["2025-06-03T22:00:00Z/2025-06-03T23:00:00Z"]),
        ("2025-06-04T00:00Z", "2030-01-01T00:00Z", &[]),
        ("2025-06-02T22:59Z", "2025-06-03T22:00Z", &["2025-06-02T22:00:00Z/2025-06-02T23:00:00Z"]),
    ];
    for (from, to, expected) in cases {
        assert_eq!(utcs(&w.occurrences(at(from), at(to))), expected, "[{from}, {to})");
    }
    assert_eq!(w.next_after(at("2025-06-03T22:00Z")), None);
    assert_eq!(w.active_at(at("2025-06-04T22:30Z")), None);
}

#[test]
fn monthly_on_the_31st_skips_short_months_and_minus_one_is_the_last_day() {
    let on_31st = window("2025-01-31T23:00", hours(2), "UTC", Some("FREQ=MONTHLY;BYMONTHDAY=31"));
    let last_day = window("2025-01-31T23:00", hours(2), "UTC", Some("FREQ=MONTHLY;BYMONTHDAY=-1"));
    let plain = window("2025-01-31T23:00", hours(2), "UTC", Some("FREQ=MONTHLY"));
    let starts = |w: &WindowSchedule| -> Vec<String> {
        let year = w.occurrences(at("2025-01-01T00:00Z"), at("2026-01-01T00:00Z"));
        year.iter().map(|o| o.start.to_zoned(TimeZone::UTC).strftime("%m-%d").to_string()).collect()
    };
    let the_31sts = ["01-31", "03-31", "05-31", "07-31", "08-31", "10-31", "12-31"];
    assert_eq!(starts(&on_31st), the_31sts);
    assert_eq!(starts(&plain), the_31sts, "the start's day of month, skipping short months");
    let last_days = ["01-31", "02-28", "03-31", "04-30", "05-31", "06-30", "07-31", "08-31", "09-30", "10-31", "11-30"];
    assert_eq!(starts(&last_day)[..11], last_days);
    // The window of the 28th of February runs into March.
    assert_eq!(last_day.active_at(at("2025-03-01T00:30Z")).map(|o| o.start), Some(at("2025-02-28T23:00Z")));
    assert_eq!(on_31st.next_after(at("2025-01-31T23:00Z")).map(|o| o.start), Some(at("2025-03-31T23:00Z")));
}

#[test]
fn overlapping_occurrences_answer_the_earliest() {
    // Daily, 30 hours: each window is still open when the next one starts.
    let w = window("2025-06-01T00:00", hours(30), "UTC", Some("FREQ=DAILY"));
    assert_eq!(w.active_at(at("2025-06-02T03:00Z")).map(|o| o.start), Some(at("2025-06-01T00:00Z")));
    assert_eq!(w.active_at(at("2025-06-02T06:00Z")).map(|o| o.start), Some(at("2025-06-02T00:00Z")));
    assert_eq!(w.occurrences(at("2025-06-02T03:00Z"), at("2025-06-02T04:00Z")).len(), 2);
}

#[test]
fn new_refuses_unknown_zones_bad_durations_and_rules_that_never_open() {
    let start = "2025-06-01T22:00";
    let cases = [
        // (zone, duration, rule, refused field, words of the reason)
        ("Europe/Pari", hours(4), None, "time_zone", "'Europe/Pari' is not a known IANA time zone"),
        ("", hours(4), None, "time_zone", "'' is not a known"),
        ("Mars/Olympus_Mons", hours(4), None, "time_zone", "'Mars/Olympus_Mons'"),
        ("UTC", SignedDuration::ZERO, None, "duration", "must be more than zero and at most 7 days"),
        ("UTC", hours(-1), None, "duration", "must be more than zero"),
        ("UTC", hours(7 * 24) + SignedDuration::from_secs(1), None, "duration", "at most 7 days"),
        ("UTC", hours(4), Some("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"), "rrule", "opens no window within 100 years"),
        ("UTC", hours(4), Some("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"), "rrule", "opens no window"),
        ("UTC", hours(4), Some("FREQ=DAILY;UNTIL=20240101"), "rrule", "opens no window"),
        ("UTC", hours(4), Some("FREQ=DAILY;UNTIL=20250601T215959"), "rrule", "opens no window"),
    ];
    for (zone, duration, rule, field, words) in cases {
        let rule = rule.map(|text| parse_rrule(text).unwrap());
        match WindowSchedule::new(start.parse().unwrap(), duration, zone, rule) {
            Err(Error::Invalid { field: got, reason }) => {
                assert_eq!(got, field, "{zone} {duration:?}: {reason}");
                assert!(reason.contains(words), "{zone} {duration:?}: {reason}");
            }
            other => panic!("{zone} {duration:?}: expected a refused {field}, got {other:?}"),
        }
    }
}

#[test]
fn new_accepts_the_limits_and_reads_back_what_the_server_stores() {
    let rule = parse_rrule("FREQ=MONTHLY;BYDAY=2TU").unwrap();
    let longest =
        WindowSchedule::new("2025-01-14T22:00".parse().unwrap(), MAX_DURATION, "America/New_York", Some(rule));
    let longest = longest.unwrap();
    let stored =
        (longest.start(), longest.duration(), longest.time_zone().to_owned(), longest.rrule().map(|r| r.to_string()));
    assert_eq!(stored.3.as_deref(), Some("FREQ=MONTHLY;BYDAY=2TU"));
    let rule = stored.3.as_deref().map(|text| parse_rrule(text).unwrap());
    assert_eq!(WindowSchedule::new(stored.0, stored.1, &stored.2, rule), Ok(longest));
    let shortest = WindowSchedule::new("2025-01-14T22:00".parse().unwrap(), SignedDuration::from_nanos(1), "UTC", None);
    assert!(shortest.is_ok());
}

#[test]
fn notices_come_due_once_each_and_never_for_ended_windows() {
    // Tuesdays 22:00–24:00 UTC from 3 June 2025; customers are told 48 hours ahead.
    let w = window("2025-06-03T22:00", hours(2), "UTC", Some("FREQ=WEEKLY"));
    let two_days = hours(48);
    let cases = [
        // (now, last noticed start, notice due)
        ("2025-06-01T21:59:59Z", None, None),
        ("2025-06-01T22:00Z", None, Some("2025-06-03T22:00:00Z")),
        ("2025-06-01T22:00Z", Some("2025-06-03T22:00Z"), None),
        ("2025-06-03T21:59Z", Some("2025-06-03T22:00Z"), None),
        // Open but never announced (the server was down): announced late.
        ("2025-06-03T23:00Z", None, Some("2025-06-03T22:00:00Z")),
        ("2025-06-03T23:00Z", Some("2025-06-03T22:00Z"), None),
        // Over: never announced; the next one's notice time has not come.
        ("2025-06-04T00:00Z", None, None),
        ("2025-06-08T21:59Z", Some("2025-06-03T22:00Z"), None),
        ("2025-06-08T22:00Z", Some("2025-06-03T22:00Z"), Some("2025-06-10T22:00:00Z")),
        ("2025-06-08T22:00Z", None, Some("2025-06-10T22:00:00Z")),
        ("2025-06-09T12:00Z", Some("2025-06-10T22:00Z"), None),
    ];
    for (now, last, expected) in cases {
        let due = notices_due(&w, two_days, last.map(at), at(now)).map(|o| o.start.to_string());
        assert_eq!(due.as_deref(), expected, "now {now}, last noticed {last:?}");
    }
}

#[test]
fn a_notice_period_longer_than_the_gap_makes_several_due_in_turn() {
    let w = window("2025-06-03T22:00", hours(2), "UTC", Some("FREQ=WEEKLY"));
    let now = at("2025-06-01T00:00Z");
    let fifteen_days = hours(15 * 24);
    let cases = [
        // (last noticed start, notice due)
        (None, Some("2025-06-03T22:00:00Z")),
        (Some("2025-06-03T22:00Z"), Some("2025-06-10T22:00:00Z")),
        // The 17th's notice time (2 June, 22:00) has not come on 1 June.
        (Some("2025-06-10T22:00Z"), None),
    ];
    for (last, expected) in cases {
        let due = notices_due(&w, fifteen_days, last.map(at), now).map(|o| o.start.to_string());
        assert_eq!(due.as_deref(), expected, "last noticed {last:?}");
    }
}

#[test]
fn a_negative_notice_period_counts_as_none() {
    let w = window("2025-06-03T22:00", hours(2), "UTC", None);
    assert_eq!(notices_due(&w, hours(-1), None, at("2025-06-03T21:59Z")), None);
    assert_eq!(
        notices_due(&w, hours(-1), None, at("2025-06-03T22:00Z")).map(|o| o.start),
        Some(at("2025-06-03T22:00Z"))
    );
}
