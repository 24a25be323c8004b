//! Expansion of a [`Recurrence`] into the local calendar days on which its windows start.
//!
//! Owns the RFC 5545 expansion rules for the supported subset: periods of the frequency
//! stepped by INTERVAL, BYxxx parts filtering the days of each period, defaults taken from the
//! series' first day, BYSETPOS picking within a period. Works on civil dates only: no time of
//! day, no time zone, no COUNT or UNTIL (those need the real start instants; see `schedule`).

use jiff::Span;
use jiff::civil::Date;

use super::rrule::{ByDay, Frequency, Recurrence};

/// The local days of a series, in order, from its first day on, looking at no period that
/// begins after `limit`. Ends early rather than fails at the edge of the calendar.
pub(super) struct Days<'a> {
    rule: &'a Recurrence,
    first_day: Date,
    /// First day of the period that contains `first_day`: period n begins n × INTERVAL
    /// periods after it.
    anchor: Date,
    next_period: i64,
    limit: Date,
    /// Days selected in the current period, in reverse so `pop` yields the earliest.
    pending: Vec<Date>,
}

impl<'a> Days<'a> {
    /// Days of the series starting on `first_day`, skipping every period that ends before `from`
    /// (callers pass a day early enough to cover windows still running; days before `from`
    /// in its own period are still yielded).
    pub(super) fn new(rule: &'a Recurrence, first_day: Date, from: Date, limit: Date) -> Self {
        let anchor = period_start(rule, first_day);
        let skipped = periods_between(rule.frequency, anchor, period_start(rule, from));
        let next_period = skipped.div_euclid(i64::from(rule.interval)).max(0);
        Days { rule, first_day, anchor, next_period, limit, pending: Vec::new() }
    }

    /// The first day of period `n` of the series, `None` beyond the calendar's end.
    fn period(&self, n: i64) -> Option<Date> {
        let steps = n.checked_mul(i64::from(self.rule.interval))?;
        let span = match self.rule.frequency {
            Frequency::Daily => Span::new().try_days(steps),
            Frequency::Weekly => Span::new().try_weeks(steps),
            Frequency::Monthly => Span::new().try_months(steps),
            Frequency::Yearly => Span::new().try_years(steps),
        };
        self.anchor.checked_add(span.ok()?).ok()
    }
}

impl Iterator for Days<'_> {
    type Item = Date;

    fn next(&mut self) -> Option<Date> {
        loop {
            if let Some(day) = self.pending.pop() {
                return Some(day);
            }
            let first = self.period(self.next_period).filter(|first| *first <= self.limit)?;
            self.next_period += 1;
            let mut selected = select(self.rule, self.first_day, first);
            selected.retain(|day| *day >= self.first_day);
            selected.reverse();
            self.pending = selected;
        }
    }
}

/// The first day of the period containing `day`; weeks begin on WKST.
fn period_start(rule: &Recurrence, day: Date) -> Date {
    match rule.frequency {
        Frequency::Daily => day,
        Frequency::Weekly => {
            let back = (day.weekday().to_monday_zero_offset() - rule.week_start.to_monday_zero_offset()).rem_euclid(7);
            day.checked_sub(Span::new().days(back)).unwrap_or(day)
        }
        Frequency::Monthly => day.first_of_month(),
        Frequency::Yearly => day.first_of_year(),
    }
}

/// How many periods lie between two period starts (negative when `to` is earlier).
fn periods_between(frequency: Frequency, from: Date, to: Date) -> i64 {
    let days = || from.duration_until(to).as_secs().div_euclid(86_400);
    let months = |d: Date| i64::from(d.year()) * 12 + i64::from(d.month());
    match frequency {
        Frequency::Daily => days(),
        Frequency::Weekly => days().div_euclid(7),
        Frequency::Monthly => months(to) - months(from),
        Frequency::Yearly => i64::from(to.year()) - i64::from(from.year()),
    }
}

/// The days of one period that the rule selects, in order: every day of the period that
/// passes the BYxxx filters, then BYSETPOS.
fn select(rule: &Recurrence, first_day: Date, period: Date) -> Vec<Date> {
    let length = match rule.frequency {
        Frequency::Daily => 1,
        Frequency::Weekly => 7,
        Frequency::Monthly => usize::try_from(period.days_in_month()).unwrap_or(0),
        Frequency::Yearly => usize::try_from(period.days_in_year()).unwrap_or(0),
    };
    let days = std::iter::successors(Some(period), |day| day.tomorrow().ok()).take(length);
    let candidates: Vec<Date> = days
        .filter(|day| month_matches(rule, first_day, *day))
        .filter(|day| month_day_matches(rule, first_day, *day))
        .filter(|day| weekday_matches(rule, first_day, *day))
        .collect();
    pick_positions(&rule.by_set_pos, candidates)
}

/// BYMONTH, or for a yearly rule with no other BY part the first day's month (an anniversary).
fn month_matches(rule: &Recurrence, first_day: Date, day: Date) -> bool {
    if !rule.by_month.is_empty() {
        return rule.by_month.contains(&day.month());
    }
    let anniversary = rule.frequency == Frequency::Yearly && rule.by_month_day.is_empty() && rule.by_day.is_empty();
    !anniversary || day.month() == first_day.month()
}

/// BYMONTHDAY (negative counts from the month's end), or for monthly and yearly rules without
/// BYDAY the first day's day of month: a series started on the 31st skips shorter months, as
/// RFC 5545 requires, rather than moving to their last day.
fn month_day_matches(rule: &Recurrence, first_day: Date, day: Date) -> bool {
    if !rule.by_month_day.is_empty() {
        let last = day.days_in_month();
        return rule.by_month_day.iter().any(|&n| if n > 0 { n == day.day() } else { last + 1 + n == day.day() });
    }
    let by_calendar = matches!(rule.frequency, Frequency::Monthly | Frequency::Yearly);
    !by_calendar || !rule.by_day.is_empty() || day.day() == first_day.day()
}

/// BYDAY, or for a weekly rule the first day's weekday.
fn weekday_matches(rule: &Recurrence, first_day: Date, day: Date) -> bool {
    if !rule.by_day.is_empty() {
        return rule.by_day.iter().any(|by_day| by_day_matches(rule, *by_day, day));
    }
    rule.frequency != Frequency::Weekly || day.weekday() == first_day.weekday()
}

/// Whether `day` is the weekday, and if an ordinal is given, the nth such weekday of its month,
/// or of its year for a yearly rule without BYMONTH.
fn by_day_matches(rule: &Recurrence, by_day: ByDay, day: Date) -> bool {
    if day.weekday() != by_day.weekday {
        return false;
    }
    let Some(nth) = by_day.nth else { return true };
    let in_year = rule.frequency == Frequency::Yearly && rule.by_month.is_empty();
    let (position, length) = if in_year {
        (day.day_of_year(), day.days_in_year())
    } else {
        (i16::from(day.day()), i16::from(day.days_in_month()))
    };
    // The same weekday recurs every 7 days, so its rank is the number of whole weeks before it.
    let rank = if nth > 0 { (position - 1) / 7 + 1 } else { -((length - position) / 7 + 1) };
    rank == i16::from(nth)
}

/// BYSETPOS: the given positions (1-based, negative from the end) of the period's candidates,
/// in calendar order; all candidates when there is no BYSETPOS.
fn pick_positions(positions: &[i16], candidates: Vec<Date>) -> Vec<Date> {
    if positions.is_empty() {
        return candidates;
    }
    let count = i64::try_from(candidates.len()).unwrap_or(i64::MAX);
    let mut picked: Vec<Date> = positions
        .iter()
        .map(|&p| if p > 0 { i64::from(p) - 1 } else { count + i64::from(p) })
        .filter_map(|index| usize::try_from(index).ok())
        .filter_map(|index| candidates.get(index).copied())
        .collect();
    picked.sort();
    picked.dedup();
    picked
}

#[cfg(test)]
mod tests;
