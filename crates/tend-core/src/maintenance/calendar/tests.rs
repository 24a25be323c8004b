use jiff::civil::Date;

use super::*;
use crate::maintenance::parse_rrule;

fn day(text: &str) -> Date {
    text.parse().unwrap()
}

/// The first `n` days of the series of `rule` starting on `first`.
fn first_days(rule: &str, first: &str, n: usize) -> Vec<String> {
    let rule = parse_rrule(rule).unwrap();
    Days::new(&rule, day(first), day(first), day("2100-01-01")).take(n).map(|d| d.to_string()).collect()
}

#[test]
fn expansion_table() {
    // (rule, first day of the series, its first days)
    let cases = [
        ("FREQ=DAILY", "2025-01-30", "2025-01-30 2025-01-31 2025-02-01"),
        ("FREQ=DAILY;INTERVAL=10", "2025-01-01", "2025-01-01 2025-01-11 2025-01-21 2025-01-31 2025-02-10"),
        ("FREQ=DAILY;BYMONTH=1", "2025-01-30", "2025-01-30 2025-01-31 2026-01-01 2026-01-02"),
        ("FREQ=DAILY;BYDAY=MO,FR", "2025-06-02", "2025-06-02 2025-06-06 2025-06-09"),
        ("FREQ=DAILY;BYMONTHDAY=-1", "2025-01-15", "2025-01-31 2025-02-28 2025-03-31"),
        ("FREQ=WEEKLY", "2025-06-04", "2025-06-04 2025-06-11 2025-06-18"),
        ("FREQ=WEEKLY;BYDAY=SA,SU", "2025-06-04", "2025-06-07 2025-06-08 2025-06-14 2025-06-15"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=MO", "1997-08-05", "1997-08-05 1997-08-10 1997-08-19 1997-08-24"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=SU", "1997-08-05", "1997-08-05 1997-08-17 1997-08-19 1997-08-31"),
        ("FREQ=WEEKLY;BYMONTH=2", "2025-01-29", "2025-02-05 2025-02-12 2025-02-19 2025-02-26 2026-02-04"),
        ("FREQ=MONTHLY", "2025-01-31", "2025-01-31 2025-03-31 2025-05-31 2025-07-31 2025-08-31 2025-10-31 2025-12-31"),
        (
            "FREQ=MONTHLY;BYMONTHDAY=31",
            "2025-01-31",
            "2025-01-31 2025-03-31 2025-05-31 2025-07-31 2025-08-31 2025-10-31 2025-12-31",
        ),
        ("FREQ=MONTHLY;BYMONTHDAY=-1", "2024-01-31", "2024-01-31 2024-02-29 2024-03-31 2024-04-30 2024-05-31"),
        ("FREQ=MONTHLY;BYMONTHDAY=1,-1", "2025-01-01", "2025-01-01 2025-01-31 2025-02-01 2025-02-28"),
        (
            "FREQ=MONTHLY;BYDAY=2TU",
            "2025-01-14",
            "2025-01-14 2025-02-11 2025-03-11 2025-04-08 2025-05-13 2025-06-10 2025-07-08 2025-08-12 2025-09-09",
        ),
        ("FREQ=MONTHLY;BYDAY=-1SU", "2025-01-01", "2025-01-26 2025-02-23 2025-03-30 2025-04-27"),
        ("FREQ=MONTHLY;BYDAY=5FR", "2025-01-01", "2025-01-31 2025-05-30 2025-08-29 2025-10-31"),
        ("FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13", "2025-01-01", "2025-06-13 2026-02-13 2026-03-13 2026-11-13"),
        (
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            "2025-01-01",
            "2025-01-31 2025-02-28 2025-03-31 2025-04-30 2025-05-30",
        ),
        ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1,2", "2025-03-01", "2025-03-03 2025-03-04 2025-04-01 2025-04-02"),
        ("FREQ=MONTHLY;INTERVAL=3;BYDAY=1MO", "2025-01-06", "2025-01-06 2025-04-07 2025-07-07 2025-10-06"),
        ("FREQ=MONTHLY;BYMONTH=3,10;BYDAY=-1SU", "2025-01-01", "2025-03-30 2025-10-26 2026-03-29 2026-10-25"),
        ("FREQ=MONTHLY;BYMONTH=6", "2025-01-15", "2025-06-15 2026-06-15"),
        ("FREQ=YEARLY", "2024-02-29", "2024-02-29 2028-02-29 2032-02-29"),
        ("FREQ=YEARLY;BYMONTH=3,10;BYDAY=-1SU", "2025-01-01", "2025-03-30 2025-10-26 2026-03-29 2026-10-25"),
        ("FREQ=YEARLY;BYDAY=20MO", "1997-05-19", "1997-05-19 1998-05-18 1999-05-17"),
        ("FREQ=YEARLY;BYMONTH=1;BYDAY=-1FR", "2025-01-01", "2025-01-31 2026-01-30"),
        ("FREQ=YEARLY;BYMONTHDAY=1", "2025-11-01", "2025-11-01 2025-12-01 2026-01-01"),
        ("FREQ=YEARLY;BYMONTH=6", "2025-01-15", "2025-06-15 2026-06-15"),
        ("FREQ=YEARLY;BYDAY=-1SU", "2025-01-01", "2025-12-28 2026-12-27"),
        ("FREQ=YEARLY;INTERVAL=2;BYMONTH=1;BYMONTHDAY=1", "2025-01-01", "2025-01-01 2027-01-01 2029-01-01"),
    ];
    for (rule, first, expected) in cases {
        let expected: Vec<&str> = expected.split(' ').collect();
        assert_eq!(first_days(rule, first, expected.len()), expected, "{rule} from {first}");
    }
}

#[test]
fn a_rule_that_never_matches_ends_at_the_limit() {
    let rule = parse_rrule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30").unwrap();
    assert_eq!(Days::new(&rule, day("2025-01-01"), day("2025-01-01"), day("2125-01-01")).next(), None);
    let daily = parse_rrule("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30").unwrap();
    assert_eq!(Days::new(&daily, day("2025-01-01"), day("2025-01-01"), day("2125-01-01")).next(), None);
}

#[test]
fn the_limit_is_the_last_period_looked_at() {
    let rule = parse_rrule("FREQ=MONTHLY;BYMONTHDAY=15").unwrap();
    let days: Vec<String> =
        Days::new(&rule, day("2025-01-15"), day("2025-01-15"), day("2025-03-01")).map(|d| d.to_string()).collect();
    // March's period begins on the limit, so the 15th of March is still found.
    assert_eq!(days, ["2025-01-15", "2025-02-15", "2025-03-15"]);
}

#[test]
fn the_calendar_edge_ends_the_series() {
    let rule = parse_rrule("FREQ=YEARLY").unwrap();
    let days: Vec<Date> = Days::new(&rule, day("9997-06-01"), day("9997-06-01"), Date::MAX).collect();
    assert_eq!(days, [day("9997-06-01"), day("9998-06-01"), day("9999-06-01")]);
}

/// Skipping ahead to the period of `from` must keep the phase of INTERVAL and of WKST: the
/// days from there on are exactly the series' days from there on.
#[test]
fn skipping_ahead_keeps_the_phase() {
    let rules = [
        ("FREQ=DAILY;INTERVAL=10", "2025-01-01"),
        ("FREQ=DAILY;INTERVAL=7;BYMONTH=2,3", "2024-12-30"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=SU", "1997-08-05"),
        ("FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,FR", "2025-01-01"),
        ("FREQ=MONTHLY;INTERVAL=3;BYDAY=1MO", "2025-01-06"),
        ("FREQ=MONTHLY;INTERVAL=5;BYMONTHDAY=31", "2025-01-31"),
        ("FREQ=YEARLY;INTERVAL=3", "2024-02-29"),
        ("FREQ=YEARLY;INTERVAL=2;BYMONTH=3,10;BYDAY=-1SU", "2025-01-01"),
    ];
    let froms = ["2024-01-01", "2025-01-01", "2025-02-28", "2025-03-01", "2025-07-15", "2026-12-31", "2031-06-30"];
    for (text, first) in rules {
        let rule = parse_rrule(text).unwrap();
        let limit = day("2040-01-01");
        let all: Vec<Date> = Days::new(&rule, day(first), day(first), limit).collect();
        for from in froms.map(day) {
            let skipped: Vec<Date> = Days::new(&rule, day(first), from, limit).skip_while(|d| *d < from).collect();
            let expected: Vec<Date> = all.iter().copied().filter(|d| *d >= from).collect();
            assert_eq!(skipped, expected, "{text} from {first}, skipping to {from}");
        }
    }
}
