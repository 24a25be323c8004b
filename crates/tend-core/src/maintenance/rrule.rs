//! The recurrence rules of maintenance windows: the subset of RFC 5545 RRULE that tend accepts,
//! parsed into a [`Recurrence`] and written back as canonical text for storage.
//!
//! Owns only syntax and the rule's internal consistency; it must not expand dates (that is
//! `calendar`) nor know time zones. Anything outside the subset is refused with an error that
//! names the part, so a customer's calendar export never half-works silently.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Weekday};

use crate::Error;

/// How often the rule repeats. Sub-daily frequencies are refused: a maintenance window that
/// recurs hourly is an outage, not maintenance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Frequency {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

/// One BYDAY entry: a weekday, optionally the nth (from the end when negative) within the
/// month, or the year for a yearly rule without BYMONTH: `2TU`, `-1SU`, `FR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ByDay {
    pub(super) nth: Option<i8>,
    pub(super) weekday: Weekday,
}

/// The inclusive end of a series (UNTIL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Until {
    /// `20250101T120000Z`: compared with each window's real start.
    Instant(Timestamp),
    /// `20250101T120000`: compared with each window's local start.
    Local(DateTime),
    /// `20250101`: windows starting on that local day are still included.
    Date(Date),
}

/// A parsed, consistent recurrence rule. Built only by [`parse_rrule`], so every value obeys
/// the rule's constraints (interval ≥ 1, COUNT xor UNTIL, ordinals only where they mean
/// something) and expansion need not check them again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence {
    pub(super) frequency: Frequency,
    pub(super) interval: u32,
    pub(super) count: Option<u32>,
    pub(super) until: Option<Until>,
    pub(super) by_day: Vec<ByDay>,
    pub(super) by_month_day: Vec<i8>,
    pub(super) by_month: Vec<i8>,
    pub(super) by_set_pos: Vec<i16>,
    pub(super) week_start: Weekday,
}

fn invalid(reason: String) -> Error {
    Error::Invalid { field: "rrule", reason }
}

/// Parses an RRULE value such as `FREQ=MONTHLY;BYDAY=2TU`, with or without the `RRULE:` prefix.
/// Part names and values are case-insensitive, as RFC 5545 says.
pub fn parse_rrule(text: &str) -> Result<Recurrence, Error> {
    let upper = text.trim().to_ascii_uppercase();
    let body = upper.strip_prefix("RRULE:").unwrap_or(&upper);
    if body.is_empty() {
        return Err(invalid("the rule is empty; FREQ is required".into()));
    }
    let mut parts = Parts::default();
    for part in body.split(';') {
        let (name, value) =
            part.split_once('=').ok_or_else(|| invalid(format!("part '{part}' is not of the form NAME=VALUE")))?;
        if value.is_empty() {
            return Err(invalid(format!("{name} has no value")));
        }
        parts.set(name, value)?;
    }
    parts.into_recurrence()
}

/// The raw text of each part, collected before interpretation so that constraints between
/// parts (BYDAY ordinals depend on FREQ) can be checked whatever their order.
#[derive(Default)]
struct Parts<'a> {
    freq: Option<&'a str>,
    interval: Option<&'a str>,
    count: Option<&'a str>,
    until: Option<&'a str>,
    by_day: Option<&'a str>,
    by_month_day: Option<&'a str>,
    by_month: Option<&'a str>,
    by_set_pos: Option<&'a str>,
    week_start: Option<&'a str>,
}

impl<'a> Parts<'a> {
    fn set(&mut self, name: &str, value: &'a str) -> Result<(), Error> {
        let slot = match name {
            "FREQ" => &mut self.freq,
            "INTERVAL" => &mut self.interval,
            "COUNT" => &mut self.count,
            "UNTIL" => &mut self.until,
            "BYDAY" => &mut self.by_day,
            "BYMONTHDAY" => &mut self.by_month_day,
            "BYMONTH" => &mut self.by_month,
            "BYSETPOS" => &mut self.by_set_pos,
            "WKST" => &mut self.week_start,
            "BYSECOND" | "BYMINUTE" | "BYHOUR" | "BYYEARDAY" | "BYWEEKNO" => {
                return Err(invalid(format!(
                    "{name} is not supported: a window starts at its start's local time, on whole days"
                )));
            }
            _ => return Err(invalid(format!("unknown part {name}"))),
        };
        if slot.replace(value).is_some() {
            return Err(invalid(format!("{name} appears more than once")));
        }
        Ok(())
    }

    fn into_recurrence(self) -> Result<Recurrence, Error> {
        let frequency = parse_frequency(self.freq.ok_or_else(|| invalid("FREQ is required".into()))?)?;
        if self.count.is_some() && self.until.is_some() {
            return Err(invalid("COUNT and UNTIL exclude each other".into()));
        }
        let rule = Recurrence {
            frequency,
            interval: self.interval.map(|v| positive("INTERVAL", v)).transpose()?.unwrap_or(1),
            count: self.count.map(|v| positive("COUNT", v)).transpose()?,
            until: self.until.map(parse_until).transpose()?,
            by_day: list(self.by_day, |v| parse_by_day(v, frequency))?,
            by_month_day: list(self.by_month_day, |v| bounded("BYMONTHDAY", v, 31))?,
            by_month: list(self.by_month, parse_month)?,
            by_set_pos: list(self.by_set_pos, |v| bounded("BYSETPOS", v, 366))?,
            week_start: self.week_start.map(|v| parse_weekday("WKST", v)).transpose()?.unwrap_or(Weekday::Monday),
        };
        check_combinations(&rule)?;
        Ok(rule)
    }
}

/// The constraints RFC 5545 puts between parts that the per-part parsers cannot see.
fn check_combinations(rule: &Recurrence) -> Result<(), Error> {
    if rule.frequency == Frequency::Weekly && !rule.by_month_day.is_empty() {
        return Err(invalid("BYMONTHDAY cannot be used with FREQ=WEEKLY".into()));
    }
    let has_other_by = !(rule.by_day.is_empty() && rule.by_month_day.is_empty() && rule.by_month.is_empty());
    if !rule.by_set_pos.is_empty() && !has_other_by {
        return Err(invalid("BYSETPOS needs BYDAY, BYMONTHDAY or BYMONTH to select from".into()));
    }
    Ok(())
}

fn parse_frequency(value: &str) -> Result<Frequency, Error> {
    match value {
        "DAILY" => Ok(Frequency::Daily),
        "WEEKLY" => Ok(Frequency::Weekly),
        "MONTHLY" => Ok(Frequency::Monthly),
        "YEARLY" => Ok(Frequency::Yearly),
        "HOURLY" | "MINUTELY" | "SECONDLY" => Err(invalid(format!("FREQ={value} is not supported; at most daily"))),
        _ => Err(invalid(format!("FREQ={value} is not a frequency"))),
    }
}

/// Parses a comma-separated list, each element with `one`.
fn list<T>(value: Option<&str>, one: impl Fn(&str) -> Result<T, Error>) -> Result<Vec<T>, Error> {
    value.map_or(Ok(Vec::new()), |v| v.split(',').map(one).collect())
}

fn positive(name: &str, value: &str) -> Result<u32, Error> {
    match value.parse::<u32>() {
        Ok(n) if n >= 1 && value.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(invalid(format!("{name}={value} must be a positive whole number"))),
    }
}

/// A signed number in `-max..=max` without zero, the shape of BYMONTHDAY and BYSETPOS.
fn bounded<T: TryFrom<i16>>(name: &str, value: &str, max: i16) -> Result<T, Error> {
    let err = || invalid(format!("{name} value '{value}' must be 1 to {max} or -{max} to -1"));
    let n: i16 = value.strip_prefix('+').unwrap_or(value).parse().map_err(|_| err())?;
    if n == 0 || n.abs() > max {
        return Err(err());
    }
    T::try_from(n).map_err(|_| err())
}

fn parse_month(value: &str) -> Result<i8, Error> {
    match value.parse::<i8>() {
        Ok(m @ 1..=12) if value.bytes().all(|b| b.is_ascii_digit()) => Ok(m),
        _ => Err(invalid(format!("BYMONTH value '{value}' must be 1 to 12"))),
    }
}

fn parse_weekday(name: &str, value: &str) -> Result<Weekday, Error> {
    match value {
        "MO" => Ok(Weekday::Monday),
        "TU" => Ok(Weekday::Tuesday),
        "WE" => Ok(Weekday::Wednesday),
        "TH" => Ok(Weekday::Thursday),
        "FR" => Ok(Weekday::Friday),
        "SA" => Ok(Weekday::Saturday),
        "SU" => Ok(Weekday::Sunday),
        _ => Err(invalid(format!("{name} value '{value}' is not a weekday (MO, TU, WE, TH, FR, SA, SU)"))),
    }
}

/// `TU`, `2TU`, `+2TU`, `-1SU`. An ordinal means "nth in the month" (or year), which has no
/// meaning for daily and weekly rules; RFC 5545 forbids it there, and so do we.
fn parse_by_day(value: &str, frequency: Frequency) -> Result<ByDay, Error> {
    let split = value.len().saturating_sub(2);
    let (ordinal, code) = value.split_at_checked(split).unwrap_or(("", value));
    let weekday = parse_weekday("BYDAY", code)?;
    if ordinal.is_empty() {
        return Ok(ByDay { nth: None, weekday });
    }
    let max = match frequency {
        Frequency::Monthly => 5,
        Frequency::Yearly => 53,
        Frequency::Daily | Frequency::Weekly => {
            return Err(invalid(format!("BYDAY value '{value}': an ordinal needs FREQ=MONTHLY or FREQ=YEARLY")));
        }
    };
    let nth = bounded("BYDAY ordinal", ordinal, max)
        .map_err(|_| invalid(format!("BYDAY value '{value}': the ordinal must be 1 to {max} or -{max} to -1")))?;
    Ok(ByDay { nth: Some(nth), weekday })
}

/// `YYYYMMDD`, `YYYYMMDDTHHMMSS` (local) or `YYYYMMDDTHHMMSSZ` (UTC).
fn parse_until(value: &str) -> Result<Until, Error> {
    let err = || invalid(format!("UNTIL={value} is not YYYYMMDD, YYYYMMDDTHHMMSS or YYYYMMDDTHHMMSSZ"));
    let (local, utc) = match value.strip_suffix('Z') {
        Some(local) => (local, true),
        None => (value, false),
    };
    let date = parse_date(local.get(..8).ok_or_else(err)?).ok_or_else(err)?;
    match (local.get(8..), utc) {
        (Some(""), false) => Ok(Until::Date(date)),
        (Some(rest), _) => {
            let time = rest.strip_prefix('T').and_then(parse_time).ok_or_else(err)?;
            let local = date.to_datetime(time);
            if !utc {
                return Ok(Until::Local(local));
            }
            let instant = local.to_zoned(jiff::tz::TimeZone::UTC).map_err(|_| err())?.timestamp();
            Ok(Until::Instant(instant))
        }
        (None, _) => Err(err()),
    }
}

fn digits(text: &str) -> Option<i16> {
    text.bytes().all(|b| b.is_ascii_digit()).then(|| text.parse().ok()).flatten()
}

fn parse_date(text: &str) -> Option<Date> {
    let year = digits(text.get(..4)?)?;
    let month = i8::try_from(digits(text.get(4..6)?)?).ok()?;
    let day = i8::try_from(digits(text.get(6..8)?)?).ok()?;
    Date::new(year, month, day).ok()
}

fn parse_time(text: &str) -> Option<jiff::civil::Time> {
    if text.len() != 6 {
        return None;
    }
    let part = |range: std::ops::Range<usize>| text.get(range).and_then(digits).and_then(|n| i8::try_from(n).ok());
    jiff::civil::Time::new(part(0..2)?, part(2..4)?, part(4..6)?, 0).ok()
}

fn weekday_code(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Monday => "MO",
        Weekday::Tuesday => "TU",
        Weekday::Wednesday => "WE",
        Weekday::Thursday => "TH",
        Weekday::Friday => "FR",
        Weekday::Saturday => "SA",
        Weekday::Sunday => "SU",
    }
}

/// Writes one `;NAME=a,b,c` part, nothing for an empty list.
fn write_list<T>(f: &mut fmt::Formatter<'_>, name: &str, items: &[T], one: impl Fn(&T) -> String) -> fmt::Result {
    if items.is_empty() {
        return Ok(());
    }
    let values: Vec<String> = items.iter().map(one).collect();
    write!(f, ";{name}={}", values.join(","))
}

/// The canonical text of the rule (fixed part order, defaults omitted), which
/// [`parse_rrule`] reads back to an equal value: what the server stores.
impl fmt::Display for Recurrence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let frequency = match self.frequency {
            Frequency::Daily => "DAILY",
            Frequency::Weekly => "WEEKLY",
            Frequency::Monthly => "MONTHLY",
            Frequency::Yearly => "YEARLY",
        };
        write!(f, "FREQ={frequency}")?;
        if self.interval != 1 {
            write!(f, ";INTERVAL={}", self.interval)?;
        }
        if let Some(count) = self.count {
            write!(f, ";COUNT={count}")?;
        }
        match self.until {
            Some(Until::Instant(at)) => write!(f, ";UNTIL={}", at.strftime("%Y%m%dT%H%M%SZ"))?,
            Some(Until::Local(at)) => write!(f, ";UNTIL={}", at.strftime("%Y%m%dT%H%M%S"))?,
            Some(Until::Date(day)) => write!(f, ";UNTIL={}", day.strftime("%Y%m%d"))?,
            None => {}
        }
        write_list(f, "BYMONTH", &self.by_month, i8::to_string)?;
        write_list(f, "BYMONTHDAY", &self.by_month_day, i8::to_string)?;
        write_list(f, "BYDAY", &self.by_day, |d| {
            format!("{}{}", d.nth.map(|n| n.to_string()).unwrap_or_default(), weekday_code(d.weekday))
        })?;
        write_list(f, "BYSETPOS", &self.by_set_pos, i16::to_string)?;
        if self.week_start != Weekday::Monday {
            write!(f, ";WKST={}", weekday_code(self.week_start))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
