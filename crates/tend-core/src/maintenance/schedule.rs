//! When a maintenance window is open: a window's schedule (one-off or recurring, in the
//! customer's time zone) and the real instants of its occurrences.
//!
//! Owns the mapping of local times to instants: a local start that falls into a DST gap moves
//! forward by the gap (02:30 on the spring-forward day starts at 03:30), one that falls into a
//! repeated hour takes the first of the two (jiff's "compatible" disambiguation, as RFC 5545
//! and most calendars do). A window's duration is elapsed time: a 4-hour window across a DST
//! change lasts 4 real hours, although the wall clock shows 3 or 5.
//!
//! Must not read the clock: every question takes the instant it is about. The time zone rules
//! come from jiff's time zone database, resolved once in [`WindowSchedule::new`].

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp};

use super::calendar::Days;
use super::rrule::{Recurrence, Until};
use crate::Error;

/// Longest window: anything longer is not maintenance but an unmonitored server.
pub const MAX_DURATION: SignedDuration = SignedDuration::from_hours(7 * 24);

/// How far past the instant asked about a search for the next window looks. Bounds the work
/// for rules that rarely or never match (`FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30`).
pub const HORIZON_YEARS: i16 = 100;

/// One opening of a window: from `start` (inclusive) to `end` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Occurrence {
    pub fn contains(&self, at: Timestamp) -> bool {
        self.start <= at && at < self.end
    }
}

/// When a window is open. Built only by [`WindowSchedule::new`], so its zone is known and its
/// duration sensible.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowSchedule {
    start: DateTime,
    duration: SignedDuration,
    time_zone: String,
    rrule: Option<Recurrence>,
    zone: TimeZone,
}

impl WindowSchedule {
    /// A window opening at local `start` in the IANA zone `time_zone` for `duration` (elapsed
    /// time, more than zero and at most [`MAX_DURATION`]), once or as `rrule` repeats it.
    ///
    /// `start` anchors the series: it gives every occurrence its local time of day and the
    /// rule its defaults (weekday, day of month) and phase (INTERVAL). It is itself an
    /// occurrence only if the rule selects it, so a start that disagrees with the rule never
    /// opens a window the customer did not ask for. A rule that opens no window within
    /// [`HORIZON_YEARS`] of the start is refused.
    pub fn new(
        start: DateTime,
        duration: SignedDuration,
        time_zone: &str,
        rrule: Option<Recurrence>,
    ) -> Result<Self, Error> {
        let zone = TimeZone::get(time_zone).map_err(|_| Error::Invalid {
            field: "time_zone",
            reason: format!("'{time_zone}' is not a known IANA time zone"),
        })?;
        if duration <= SignedDuration::ZERO || duration > MAX_DURATION {
            return Err(Error::Invalid {
                field: "duration",
                reason: format!("{duration:#} must be more than zero and at most 7 days"),
            });
        }
        let schedule = WindowSchedule { start, duration, time_zone: time_zone.to_owned(), rrule, zone };
        if schedule.occurrence(start).is_none() {
            return Err(Error::Invalid { field: "start", reason: format!("{start} lies outside the supported range") });
        }
        let horizon = start.date().saturating_add(Span::new().years(HORIZON_YEARS));
        if schedule.rrule.is_some() && schedule.running_from(Timestamp::MIN, horizon).next().is_none() {
            return Err(Error::Invalid {
                field: "rrule",
                reason: format!("the rule opens no window within {HORIZON_YEARS} years of {start}"),
            });
        }
        Ok(schedule)
    }

    pub fn start(&self) -> DateTime {
        self.start
    }

    pub fn duration(&self) -> SignedDuration {
        self.duration
    }

    pub fn time_zone(&self) -> &str {
        &self.time_zone
    }

    pub fn rrule(&self) -> Option<&Recurrence> {
        self.rrule.as_ref()
    }

    /// The occurrences overlapping `[from, to)`, in order, including one already open at `from`.
    pub fn occurrences(&self, from: Timestamp, to: Timestamp) -> Vec<Occurrence> {
        if to <= from {
            return Vec::new();
        }
        self.running_from(from, self.local_day_after(to)).take_while(|o| o.start < to).collect()
    }

    /// The occurrence open at `at` (start inclusive, end exclusive). Where occurrences overlap
    /// (a daily window longer than a day), the earliest.
    pub fn active_at(&self, at: Timestamp) -> Option<Occurrence> {
        self.running_from(at, self.local_day_after(at)).next().filter(|o| o.start <= at)
    }

    /// The first occurrence starting strictly after `at`, looking [`HORIZON_YEARS`] ahead.
    pub fn next_after(&self, at: Timestamp) -> Option<Occurrence> {
        let horizon = self.local_day_after(at).saturating_add(Span::new().years(HORIZON_YEARS));
        self.running_from(at, horizon).find(|o| o.start > at)
    }

    /// Occurrences not yet over at `from` (end after it), in order of start, looking at no
    /// local day after `limit`.
    fn running_from(&self, from: Timestamp, limit: Date) -> Box<dyn Iterator<Item = Occurrence> + '_> {
        let Some(rule) = &self.rrule else {
            return Box::new(self.occurrence(self.start).into_iter().filter(move |o| o.end > from));
        };
        let first_day = self.start.date();
        // COUNT counts from the series' start, so only a series without it may skip ahead.
        // A day of margin covers the zone's offset and a fold.
        let from_day = match rule.count {
            Some(_) => first_day,
            None => self
                .local_day(from.checked_sub(self.duration).unwrap_or(Timestamp::MIN))
                .saturating_sub(Span::new().days(1)),
        };
        let count = rule.count.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
        let occurrences = Days::new(rule, first_day, from_day, limit)
            .map(|day| day.to_datetime(self.start.time()))
            .map_while(|local| Some((local, self.occurrence(local)?)))
            .take(count)
            .take_while(|(local, occurrence)| within_until(rule.until, *local, occurrence.start))
            .map(|(_, occurrence)| occurrence)
            .filter(move |o| o.end > from);
        Box::new(occurrences)
    }

    /// The occurrence starting at a local time: the compatible instant, and `duration` later.
    fn occurrence(&self, local: DateTime) -> Option<Occurrence> {
        let start = self.zone.to_ambiguous_timestamp(local).compatible().ok()?;
        let end = start.checked_add(self.duration).ok()?;
        Some(Occurrence { start, end })
    }

    fn local_day(&self, at: Timestamp) -> Date {
        self.zone.to_datetime(at).date()
    }

    /// The local day after the one of `at`: no window starting later can start before `at`.
    fn local_day_after(&self, at: Timestamp) -> Date {
        self.local_day(at).saturating_add(Span::new().days(1))
    }
}

/// Whether an occurrence starting at `local` (the instant `start`) is before UNTIL, inclusive.
fn within_until(until: Option<Until>, local: DateTime, start: Timestamp) -> bool {
    match until {
        None => true,
        Some(Until::Instant(until)) => start <= until,
        Some(Until::Local(until)) => local <= until,
        Some(Until::Date(until)) => local.date() <= until,
    }
}

/// The occurrence of which the customer should be told now, if any: the earliest one whose
/// notice time (`notice_before` its start) has come, that is not over yet and that starts after
/// `last_noticed_start`. Call again after recording it: several can be due at once when the
/// notice period is longer than the gap between windows. A window already open but never
/// announced (the server was down at notice time, an emergency window) is still announced late;
/// a window that has ended never is. A negative `notice_before` counts as zero.
pub fn notices_due(
    schedule: &WindowSchedule,
    notice_before: SignedDuration,
    last_noticed_start: Option<Timestamp>,
    now: Timestamp,
) -> Option<Occurrence> {
    let notice_before = notice_before.max(SignedDuration::ZERO);
    let latest_start = now.checked_add(notice_before).unwrap_or(Timestamp::MAX);
    schedule
        .running_from(now, schedule.local_day_after(latest_start))
        .take_while(|o| o.start <= latest_start)
        .find(|o| last_noticed_start.is_none_or(|last| o.start > last))
}

#[cfg(test)]
mod tests;
