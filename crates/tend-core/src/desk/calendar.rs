//! Business hours: when the desk's promises count. Either around the clock, or opening hours per
//! weekday in the customer's time zone, closed on public holidays.
//!
//! Owns the mapping of opening hours to real instants and the two questions SLA clocks ask: how
//! much working time lies between two instants, and when a given amount of working time will
//! have passed.
//!
//! Daylight saving time: an opening is the wall-clock interval of its day, mapped to instants as
//! maintenance windows are (a time in a gap moves forward by the gap, one in a repeated hour takes
//! the first), and working time is the real time elapsed inside it. So an opening 00:00–24:00
//! lasts 23 hours on the spring-forward day and 25 on the fall-back day, 01:00–04:00 lasts 2 and
//! 4: the hour the clocks skip is worked by nobody, the hour they repeat is worked twice.
//!
//! Must not read the clock. Both questions walk the calendar day by day, never minute by minute,
//! and a search for future working time gives up after [`MAX_SEARCH_YEARS`].

use std::collections::BTreeSet;
use std::fmt;

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp};
use serde::de::{self, Deserializer};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

use crate::Error;

/// How far ahead [`BusinessCalendar::add_working_time`] looks for working time.
pub const MAX_SEARCH_YEARS: i16 = 10;

/// One opening of a day, from `start` to `end` in local time. An `end` of 00:00 is the midnight
/// that ends the day, written "24:00": `["00:00", "24:00"]` is the whole day.
///
/// Written as a pair of strings, `["08:00", "18:00"]`; seconds are allowed ("08:00:30").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opening {
    pub start: Time,
    pub end: Time,
}

impl Opening {
    fn ends_at_midnight(&self) -> bool {
        self.end == Time::midnight()
    }
}

impl Serialize for Opening {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let end = if self.ends_at_midnight() { "24:00".to_owned() } else { wall_clock(self.end) };
        (wall_clock(self.start), end).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Opening {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (start, end) = <(String, String)>::deserialize(deserializer)?;
        let end = if matches!(end.as_str(), "24:00" | "24:00:00") { "00:00" } else { end.as_str() };
        let parse = |text: &str| {
            text.parse::<Time>().map_err(|_| de::Error::custom(format!("'{text}' is not a time of day (HH:MM)")))
        };
        Ok(Opening { start: parse(&start)?, end: parse(end)? })
    }
}

/// "08:00", or with seconds when it has any.
fn wall_clock(time: Time) -> String {
    if time.second() == 0 && time.subsec_nanosecond() == 0 {
        format!("{:02}:{:02}", time.hour(), time.minute())
    } else {
        time.to_string()
    }
}

/// Opening hours per weekday; a day left out is closed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WeekHours {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mon: Vec<Opening>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tue: Vec<Opening>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub wed: Vec<Opening>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub thu: Vec<Opening>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fri: Vec<Opening>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sat: Vec<Opening>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sun: Vec<Opening>,
}

impl WeekHours {
    /// The same openings Monday to Friday, closed at the weekend: the usual office week.
    pub fn monday_to_friday(openings: Vec<Opening>) -> WeekHours {
        WeekHours {
            mon: openings.clone(),
            tue: openings.clone(),
            wed: openings.clone(),
            thu: openings.clone(),
            fri: openings,
            ..WeekHours::default()
        }
    }

    fn on(&self, weekday: Weekday) -> &[Opening] {
        match weekday {
            Weekday::Monday => &self.mon,
            Weekday::Tuesday => &self.tue,
            Weekday::Wednesday => &self.wed,
            Weekday::Thursday => &self.thu,
            Weekday::Friday => &self.fri,
            Weekday::Saturday => &self.sat,
            Weekday::Sunday => &self.sun,
        }
    }

    /// Each day's openings with the field that names it in messages.
    fn days_mut(&mut self) -> [(&'static str, &mut Vec<Opening>); 7] {
        [
            ("hours.mon", &mut self.mon),
            ("hours.tue", &mut self.tue),
            ("hours.wed", &mut self.wed),
            ("hours.thu", &mut self.thu),
            ("hours.fri", &mut self.fri),
            ("hours.sat", &mut self.sat),
            ("hours.sun", &mut self.sun),
        ]
    }
}

/// When SLA time counts. Built only through [`BusinessCalendar::always_open`],
/// [`BusinessCalendar::business_hours`] or deserialization, which validates the same way, so its
/// zone is known and its hours make sense.
///
/// Written with a `kind`: `{"kind": "always_open"}`, or
/// `{"kind": "business_hours", "time_zone": "Europe/Paris", "hours": {"mon": [["08:00", "18:00"]],
/// …}, "holidays": ["2026-12-25"]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "CalendarSpec", into = "CalendarSpec")]
pub struct BusinessCalendar(Kind);

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// 24×7: every instant is working time, holidays included.
    AlwaysOpen,
    // Boxed: the hours are large, and an always-open calendar need not carry their room.
    BusinessHours(Box<Hours>),
}

/// Opening hours resolved in their zone.
#[derive(Clone, PartialEq)]
struct Hours {
    time_zone: String,
    zone: TimeZone,
    week: WeekHours,
    holidays: BTreeSet<Date>,
}

/// The written form of a calendar.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum CalendarSpec {
    // A struct variant, so that fields of business hours given with it are refused.
    AlwaysOpen {},
    BusinessHours {
        time_zone: String,
        #[serde(default)]
        hours: Box<WeekHours>,
        #[serde(default)]
        holidays: Vec<Date>,
    },
}

impl TryFrom<CalendarSpec> for BusinessCalendar {
    type Error = Error;

    fn try_from(spec: CalendarSpec) -> Result<Self, Error> {
        match spec {
            CalendarSpec::AlwaysOpen {} => Ok(BusinessCalendar::always_open()),
            CalendarSpec::BusinessHours { time_zone, hours, holidays } => {
                BusinessCalendar::business_hours(&time_zone, *hours, holidays)
            }
        }
    }
}

impl From<BusinessCalendar> for CalendarSpec {
    fn from(calendar: BusinessCalendar) -> Self {
        match calendar.0 {
            Kind::AlwaysOpen => CalendarSpec::AlwaysOpen {},
            Kind::BusinessHours(hours) => {
                let Hours { time_zone, week, holidays, .. } = *hours;
                CalendarSpec::BusinessHours {
                    time_zone,
                    hours: Box::new(week),
                    holidays: holidays.into_iter().collect(),
                }
            }
        }
    }
}

impl fmt::Debug for Hours {
    /// Without the resolved zone's rules, which would drown the rest.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hours")
            .field("time_zone", &self.time_zone)
            .field("week", &self.week)
            .field("holidays", &self.holidays)
            .finish()
    }
}

impl BusinessCalendar {
    /// 24×7: every instant counts.
    pub fn always_open() -> Self {
        BusinessCalendar(Kind::AlwaysOpen)
    }

    /// Opening hours per weekday (`week`) in the IANA zone `time_zone`, closed on `holidays`
    /// (local dates).
    ///
    /// Each opening must end after it starts (or at midnight, "24:00"), a day's openings must not
    /// overlap, and at least one day must have some: a calendar without working time would stop
    /// every SLA clock for good. Openings are kept in order of start.
    pub fn business_hours(time_zone: &str, mut week: WeekHours, holidays: Vec<Date>) -> Result<Self, Error> {
        let zone = TimeZone::get(time_zone).map_err(|_| Error::Invalid {
            field: "time_zone",
            reason: format!("'{time_zone}' is not a known IANA time zone"),
        })?;
        let mut open_some_day = false;
        for (field, openings) in week.days_mut() {
            openings.sort_by_key(|opening| opening.start);
            check_day(field, openings)?;
            open_some_day |= !openings.is_empty();
        }
        if !open_some_day {
            return Err(Error::Invalid { field: "hours", reason: "no day has opening hours".to_owned() });
        }
        let holidays = holidays.into_iter().collect();
        let hours = Hours { time_zone: time_zone.to_owned(), zone, week, holidays };
        Ok(BusinessCalendar(Kind::BusinessHours(Box::new(hours))))
    }

    /// The working time in `[from, to)`; zero when `to` is not after `from`. Walks the local days
    /// of the range, so the cost grows with its length in days.
    pub fn working_time_between(&self, from: Timestamp, to: Timestamp) -> SignedDuration {
        if to <= from {
            return SignedDuration::ZERO;
        }
        match &self.0 {
            Kind::AlwaysOpen => to.duration_since(from),
            Kind::BusinessHours(hours) => hours.working_time_between(from, to),
        }
    }

    /// The instant at which `duration` of working time will have passed since `from`: the end
    /// of that working time, so a target reached exactly at closing time is due at closing time,
    /// not at the next opening. `from` itself when `duration` is not positive. `None` when that
    /// lies more than [`MAX_SEARCH_YEARS`] ahead (nothing but holidays left) or beyond jiff's
    /// range.
    pub fn add_working_time(&self, from: Timestamp, duration: SignedDuration) -> Option<Timestamp> {
        if duration <= SignedDuration::ZERO {
            return Some(from);
        }
        match &self.0 {
            Kind::AlwaysOpen => from.checked_add(duration).ok(),
            Kind::BusinessHours(hours) => hours.add_working_time(from, duration),
        }
    }
}

impl Hours {
    fn working_time_between(&self, from: Timestamp, to: Timestamp) -> SignedDuration {
        self.openings_from(from, self.local_day(to))
            .map(|(start, end)| end.min(to).duration_since(start.max(from)).max(SignedDuration::ZERO))
            .sum()
    }

    fn add_working_time(&self, from: Timestamp, duration: SignedDuration) -> Option<Timestamp> {
        let last_day = self.local_day(from).saturating_add(Span::new().years(MAX_SEARCH_YEARS));
        let mut left = duration;
        for (start, end) in self.openings_from(from, last_day) {
            let start = start.max(from);
            let open = end.duration_since(start);
            if open <= SignedDuration::ZERO {
                continue;
            }
            if left <= open {
                return start.checked_add(left).ok();
            }
            left -= open;
        }
        None
    }

    fn local_day(&self, at: Timestamp) -> Date {
        self.zone.to_datetime(at).date()
    }

    /// The openings of the local days from `from`'s to `last_day`, in order. Starts a day early:
    /// a day's openings end by its midnight, but a repeated hour around midnight can put `from`
    /// on the next day's date already. Openings may end before `from`; callers clip.
    fn openings_from(&self, from: Timestamp, last_day: Date) -> impl Iterator<Item = (Timestamp, Timestamp)> + '_ {
        let first = self.local_day(from);
        std::iter::successors(Some(first.yesterday().unwrap_or(first)), |day| day.tomorrow().ok())
            .take_while(move |day| *day <= last_day)
            .flat_map(|day| self.openings_on(day))
    }

    /// A day's openings as instants, in order and never overlapping; none on a holiday.
    fn openings_on(&self, day: Date) -> Vec<(Timestamp, Timestamp)> {
        if self.holidays.contains(&day) {
            return Vec::new();
        }
        let instant =
            |date: Date, time: Time| self.zone.to_ambiguous_timestamp(date.to_datetime(time)).compatible().ok();
        // An end in the hour the clocks skip moves forward past the next opening's start
        // (01:00–02:30 and 03:00–04:00 on the spring-forward day): start no earlier than the
        // previous end, or that half hour would count twice.
        let mut previous_end = Timestamp::MIN;
        let mut instants = Vec::new();
        for opening in self.week.on(day.weekday()) {
            let end = if opening.ends_at_midnight() {
                day.tomorrow().ok().and_then(|next| instant(next, Time::midnight()))
            } else {
                instant(day, opening.end)
            };
            let (Some(start), Some(end)) = (instant(day, opening.start), end) else { continue };
            let start = start.max(previous_end);
            if start < end {
                instants.push((start, end));
                previous_end = end;
            }
        }
        instants
    }
}

/// A day's openings, sorted by start: each ends after it starts and before the next starts.
fn check_day(field: &'static str, openings: &[Opening]) -> Result<(), Error> {
    let mut previous: Option<&Opening> = None;
    for opening in openings {
        let reason = if !opening.ends_at_midnight() && opening.end <= opening.start {
            format!("{} must end after it starts", show(opening))
        } else if let Some(previous) = previous.filter(|p| p.ends_at_midnight() || p.end > opening.start) {
            format!("{} overlaps {}", show(opening), show(previous))
        } else {
            previous = Some(opening);
            continue;
        };
        return Err(Error::Invalid { field, reason });
    }
    Ok(())
}

fn show(opening: &Opening) -> String {
    let end = if opening.ends_at_midnight() { "24:00".to_owned() } else { wall_clock(opening.end) };
    format!("{}–{end}", wall_clock(opening.start))
}

#[cfg(test)]
mod tests;
