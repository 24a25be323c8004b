use jiff::civil::{Weekday, date};

use super::*;

fn by_day(nth: Option<i8>, weekday: Weekday) -> ByDay {
    ByDay { nth, weekday }
}

fn rule(frequency: Frequency) -> Recurrence {
    Recurrence {
        frequency,
        interval: 1,
        count: None,
        until: None,
        by_day: Vec::new(),
        by_month_day: Vec::new(),
        by_month: Vec::new(),
        by_set_pos: Vec::new(),
        week_start: Weekday::Monday,
    }
}

#[test]
fn parses_the_supported_parts() {
    let utc = |y, m, d, h| date(y, m, d).at(h, 0, 0, 0).to_zoned(jiff::tz::TimeZone::UTC).unwrap().timestamp();
    let cases = [
        // (text, parsed)
        ("FREQ=DAILY", rule(Frequency::Daily)),
        ("RRULE:FREQ=DAILY", rule(Frequency::Daily)),
        ("freq=daily", rule(Frequency::Daily)),
        ("  FREQ=DAILY  ", rule(Frequency::Daily)),
        ("FREQ=DAILY;INTERVAL=3", Recurrence { interval: 3, ..rule(Frequency::Daily) }),
        ("FREQ=DAILY;COUNT=10", Recurrence { count: Some(10), ..rule(Frequency::Daily) }),
        (
            "FREQ=DAILY;UNTIL=20250301T060000Z",
            Recurrence { until: Some(Until::Instant(utc(2025, 3, 1, 6))), ..rule(Frequency::Daily) },
        ),
        (
            "FREQ=DAILY;UNTIL=20250301T060000",
            Recurrence { until: Some(Until::Local(date(2025, 3, 1).at(6, 0, 0, 0))), ..rule(Frequency::Daily) },
        ),
        (
            "FREQ=DAILY;UNTIL=20250301",
            Recurrence { until: Some(Until::Date(date(2025, 3, 1))), ..rule(Frequency::Daily) },
        ),
        (
            "FREQ=WEEKLY;BYDAY=SU,SA",
            Recurrence {
                by_day: vec![by_day(None, Weekday::Sunday), by_day(None, Weekday::Saturday)],
                ..rule(Frequency::Weekly)
            },
        ),
        ("FREQ=WEEKLY;WKST=SU", Recurrence { week_start: Weekday::Sunday, ..rule(Frequency::Weekly) }),
        (
            "FREQ=MONTHLY;BYDAY=2TU",
            Recurrence { by_day: vec![by_day(Some(2), Weekday::Tuesday)], ..rule(Frequency::Monthly) },
        ),
        (
            "FREQ=MONTHLY;BYDAY=+1MO,-1SU",
            Recurrence {
                by_day: vec![by_day(Some(1), Weekday::Monday), by_day(Some(-1), Weekday::Sunday)],
                ..rule(Frequency::Monthly)
            },
        ),
        ("FREQ=MONTHLY;BYMONTHDAY=31,-1", Recurrence { by_month_day: vec![31, -1], ..rule(Frequency::Monthly) }),
        (
            "FREQ=YEARLY;BYMONTH=3,10;BYDAY=-1SU",
            Recurrence {
                by_month: vec![3, 10],
                by_day: vec![by_day(Some(-1), Weekday::Sunday)],
                ..rule(Frequency::Yearly)
            },
        ),
        (
            "FREQ=YEARLY;BYDAY=20MO",
            Recurrence { by_day: vec![by_day(Some(20), Weekday::Monday)], ..rule(Frequency::Yearly) },
        ),
        (
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            Recurrence {
                by_day: [Weekday::Monday, Weekday::Tuesday, Weekday::Wednesday, Weekday::Thursday, Weekday::Friday]
                    .map(|d| by_day(None, d))
                    .to_vec(),
                by_set_pos: vec![-1],
                ..rule(Frequency::Monthly)
            },
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(parse_rrule(text), Ok(expected), "{text}");
    }
}

#[test]
fn display_is_canonical_and_reads_back() {
    let cases = [
        // (input, canonical text)
        ("FREQ=DAILY", "FREQ=DAILY"),
        ("freq=daily;interval=1", "FREQ=DAILY"),
        ("BYDAY=2TU;FREQ=MONTHLY", "FREQ=MONTHLY;BYDAY=2TU"),
        ("FREQ=MONTHLY;BYDAY=+1MO,-1SU", "FREQ=MONTHLY;BYDAY=1MO,-1SU"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=SU", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=SU"),
        ("FREQ=WEEKLY;WKST=MO", "FREQ=WEEKLY"),
        ("FREQ=DAILY;COUNT=5", "FREQ=DAILY;COUNT=5"),
        ("FREQ=DAILY;UNTIL=20250301T060000Z", "FREQ=DAILY;UNTIL=20250301T060000Z"),
        ("FREQ=DAILY;UNTIL=20250301T060000", "FREQ=DAILY;UNTIL=20250301T060000"),
        ("FREQ=DAILY;UNTIL=20250301", "FREQ=DAILY;UNTIL=20250301"),
        (
            "FREQ=YEARLY;BYSETPOS=1,-1;BYMONTHDAY=1,15,-1;BYMONTH=2",
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=1,15,-1;BYSETPOS=1,-1",
        ),
    ];
    for (input, canonical) in cases {
        let parsed = parse_rrule(input).unwrap();
        assert_eq!(parsed.to_string(), canonical, "{input}");
        assert_eq!(parse_rrule(canonical), Ok(parsed), "{canonical} reads back");
    }
}

#[test]
fn refuses_what_it_does_not_support_naming_the_part() {
    let cases = [
        // (text, words the error must contain)
        ("", "FREQ is required"),
        ("RRULE:", "FREQ is required"),
        ("INTERVAL=2", "FREQ is required"),
        ("FREQ=HOURLY", "FREQ=HOURLY is not supported"),
        ("FREQ=MINUTELY", "FREQ=MINUTELY is not supported"),
        ("FREQ=FORTNIGHTLY", "FREQ=FORTNIGHTLY is not a frequency"),
        ("FREQ=DAILY;BYHOUR=22", "BYHOUR is not supported"),
        ("FREQ=DAILY;BYMINUTE=30", "BYMINUTE is not supported"),
        ("FREQ=DAILY;BYSECOND=0", "BYSECOND is not supported"),
        ("FREQ=YEARLY;BYYEARDAY=100", "BYYEARDAY is not supported"),
        ("FREQ=YEARLY;BYWEEKNO=20", "BYWEEKNO is not supported"),
        ("FREQ=DAILY;X-NAME=1", "unknown part X-NAME"),
        ("FREQ=DAILY;", "part '' is not of the form NAME=VALUE"),
        ("FREQ=DAILY;COUNT", "part 'COUNT' is not of the form NAME=VALUE"),
        ("FREQ=DAILY;COUNT=", "COUNT has no value"),
        ("FREQ=DAILY;FREQ=WEEKLY", "FREQ appears more than once"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL=0 must be a positive whole number"),
        ("FREQ=DAILY;INTERVAL=-1", "INTERVAL=-1 must be"),
        ("FREQ=DAILY;INTERVAL=+2", "INTERVAL=+2 must be"),
        ("FREQ=DAILY;COUNT=0", "COUNT=0 must be"),
        ("FREQ=DAILY;COUNT=many", "COUNT=MANY must be"),
        ("FREQ=DAILY;COUNT=2;UNTIL=20250101", "COUNT and UNTIL exclude each other"),
        ("FREQ=DAILY;UNTIL=2025-01-01", "UNTIL=2025-01-01 is not"),
        ("FREQ=DAILY;UNTIL=20250230", "UNTIL=20250230 is not"),
        ("FREQ=DAILY;UNTIL=20250101T2500Z", "UNTIL=20250101T2500Z is not"),
        ("FREQ=DAILY;UNTIL=20250101T250000Z", "UNTIL=20250101T250000Z is not"),
        ("FREQ=DAILY;UNTIL=20250101Z", "UNTIL=20250101Z is not"),
        ("FREQ=DAILY;UNTIL=20250101X120000", "UNTIL=20250101X120000 is not"),
        ("FREQ=WEEKLY;BYDAY=XX", "BYDAY value 'XX' is not a weekday"),
        ("FREQ=WEEKLY;BYDAY=TU,", "BYDAY value '' is not a weekday"),
        ("FREQ=WEEKLY;BYDAY=2TU", "an ordinal needs FREQ=MONTHLY or FREQ=YEARLY"),
        ("FREQ=DAILY;BYDAY=-1FR", "an ordinal needs FREQ=MONTHLY"),
        ("FREQ=MONTHLY;BYDAY=6TU", "BYDAY value '6TU': the ordinal must be 1 to 5"),
        ("FREQ=MONTHLY;BYDAY=0TU", "BYDAY value '0TU'"),
        ("FREQ=MONTHLY;BYDAY=XTU", "BYDAY value 'XTU'"),
        ("FREQ=YEARLY;BYDAY=54MO", "the ordinal must be 1 to 53"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY value '0' must be 1 to 31"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY value '32'"),
        ("FREQ=MONTHLY;BYMONTHDAY=-32", "BYMONTHDAY value '-32'"),
        ("FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY cannot be used with FREQ=WEEKLY"),
        ("FREQ=YEARLY;BYMONTH=13", "BYMONTH value '13' must be 1 to 12"),
        ("FREQ=YEARLY;BYMONTH=0", "BYMONTH value '0'"),
        ("FREQ=YEARLY;BYMONTH=-1", "BYMONTH value '-1'"),
        ("FREQ=MONTHLY;BYSETPOS=1", "BYSETPOS needs BYDAY, BYMONTHDAY or BYMONTH"),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0", "BYSETPOS value '0' must be 1 to 366"),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=367", "BYSETPOS value '367'"),
        ("FREQ=WEEKLY;WKST=SUN", "WKST value 'SUN' is not a weekday"),
    ];
    for (text, words) in cases {
        match parse_rrule(text) {
            Err(Error::Invalid { field: "rrule", reason }) => assert!(reason.contains(words), "{text}: {reason}"),
            other => panic!("{text}: expected an rrule error containing '{words}', got {other:?}"),
        }
    }
}
