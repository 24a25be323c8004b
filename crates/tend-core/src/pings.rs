//! Heartbeat pings: what the pings of a cron job or backup tool say about it.
//!
//! A job pings when it starts, when it succeeds and when it fails (or with its exit status).
//! Its check expects a success every `period`, and tolerates `grace` of lateness; a start with
//! no end after `grace` is a job that hangs. Time is an argument: nothing here reads the clock.

use jiff::{SignedDuration, Timestamp};

use crate::alerting::Severity;

/// The last pings of a check, one per kind (`log` pings say nothing about the job's state).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LastPings {
    pub start: Option<Timestamp>,
    pub success: Option<Timestamp>,
    /// The last failure, with its exit status when the job sent one.
    pub failure: Option<(Timestamp, Option<i64>)>,
}

/// What a check expects: a success every `period`, tolerating `grace` of lateness; a run may
/// last up to `grace` after its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub period: SignedDuration,
    pub grace: SignedDuration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Never pinged: nothing is known, so nothing is late yet.
    New,
    Up,
    /// Started, within its run time.
    Started,
    /// No success within period + grace, or a run that outlasted its grace.
    Late,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Up => "up",
            Status::Started => "started",
            Status::Late => "late",
            Status::Failed => "failed",
        }
    }

    /// How bad the status is for alerting: a job that reported its failure is down for sure
    /// (critical); a silent one may only be slow (warning).
    pub fn problem(self) -> Option<Severity> {
        match self {
            Status::Late => Some(Severity::Warning),
            Status::Failed => Some(Severity::Critical),
            Status::New | Status::Up | Status::Started => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    pub summary: String,
}

/// The status of a check at `now`.
pub fn status(schedule: Schedule, last: LastPings, now: Timestamp) -> Verdict {
    let failure = last.failure.map(|(at, _)| at);
    // The latest end of a run decides between up and failed; a start after it is a running job.
    let ended = success_or_failure_last(last.success, failure);
    if let Some(start) = last.start
        && ended.is_none_or(|(end, _)| start > end)
    {
        let deadline = after(start, schedule.grace);
        return if now > deadline {
            verdict(Status::Late, format!("started at {start} and not finished by {deadline}"))
        } else {
            verdict(Status::Started, format!("running since {start}"))
        };
    }
    match ended {
        None => verdict(Status::New, "never pinged".to_owned()),
        Some((at, false)) => {
            let exit = match last.failure.and_then(|(_, exit)| exit) {
                Some(code) => format!(" with exit status {code}"),
                None => String::new(),
            };
            verdict(Status::Failed, format!("failed at {at}{exit}"))
        }
        Some((at, true)) => {
            let deadline = after(at, schedule.period.saturating_add(schedule.grace));
            if now > deadline {
                verdict(Status::Late, format!("no success since {at}: expected by {deadline}"))
            } else {
                verdict(Status::Up, format!("succeeded at {at}"))
            }
        }
    }
}

/// The later of the last success and the last failure, and whether it was the success. A
/// failure and a success at the same instant count as a success: the job retried and made it.
fn success_or_failure_last(success: Option<Timestamp>, failure: Option<Timestamp>) -> Option<(Timestamp, bool)> {
    match (success, failure) {
        (Some(s), Some(f)) if f > s => Some((f, false)),
        (Some(s), _) => Some((s, true)),
        (None, Some(f)) => Some((f, false)),
        (None, None) => None,
    }
}

fn verdict(status: Status, summary: String) -> Verdict {
    Verdict { status, summary }
}

/// `at` plus `span`, saturating at the end of time: stored data must not make the timer panic.
fn after(at: Timestamp, span: SignedDuration) -> Timestamp {
    at.checked_add(span).unwrap_or(Timestamp::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(T0 + secs).unwrap()
    }

    /// A daily job with an hour of grace.
    fn daily() -> Schedule {
        Schedule { period: SignedDuration::from_hours(24), grace: SignedDuration::from_hours(1) }
    }

    fn check(last: LastPings, now: i64) -> Status {
        status(daily(), last, at(now)).status
    }

    const DAY: i64 = 86_400;
    const HOUR: i64 = 3_600;

    #[test]
    fn a_check_never_pinged_is_new_however_long_ago_it_was_made() {
        assert_eq!(check(LastPings::default(), 10 * DAY), Status::New);
    }

    #[test]
    fn a_success_is_up_until_period_plus_grace_and_late_one_second_after() {
        let last = LastPings { success: Some(at(0)), ..LastPings::default() };
        assert_eq!(check(last, 0), Status::Up);
        assert_eq!(check(last, DAY + HOUR), Status::Up);
        assert_eq!(check(last, DAY + HOUR + 1), Status::Late);
        let late = status(daily(), last, at(DAY + HOUR + 1));
        assert!(late.summary.starts_with("no success since"), "{}", late.summary);
    }

    #[test]
    fn a_start_runs_for_grace_then_is_late() {
        let last = LastPings { start: Some(at(0)), ..LastPings::default() };
        assert_eq!(check(last, HOUR), Status::Started);
        assert_eq!(check(last, HOUR + 1), Status::Late);
        let last = LastPings { start: Some(at(DAY)), success: Some(at(0)), failure: None };
        assert_eq!(check(last, DAY + HOUR), Status::Started, "running, though the success is old");
        assert_eq!(check(last, DAY + HOUR + 1), Status::Late);
    }

    #[test]
    fn an_end_after_the_start_finishes_the_run() {
        let last = LastPings { start: Some(at(0)), success: Some(at(10)), failure: None };
        assert_eq!(check(last, 20), Status::Up);
        let last = LastPings { start: Some(at(0)), success: None, failure: Some((at(10), Some(2))) };
        assert_eq!(check(last, 20), Status::Failed);
        // An end at the start's very instant ends it too.
        let last = LastPings { start: Some(at(0)), success: Some(at(0)), failure: None };
        assert_eq!(check(last, 2 * HOUR), Status::Up);
    }

    #[test]
    fn the_latest_end_decides_between_failed_and_up() {
        let failed = LastPings { start: None, success: Some(at(0)), failure: Some((at(1), Some(1))) };
        let verdict = status(daily(), failed, at(2));
        assert_eq!(verdict.status, Status::Failed);
        assert!(verdict.summary.ends_with("with exit status 1"), "{}", verdict.summary);
        let recovered = LastPings { start: None, success: Some(at(2)), failure: Some((at(1), None)) };
        assert_eq!(check(recovered, 3), Status::Up);
        let same_instant = LastPings { start: None, success: Some(at(1)), failure: Some((at(1), None)) };
        assert_eq!(check(same_instant, 3), Status::Up);
    }

    #[test]
    fn a_failure_stays_failed_without_turning_late() {
        let last = LastPings { start: None, success: None, failure: Some((at(0), None)) };
        let verdict = status(daily(), last, at(10 * DAY));
        assert_eq!(verdict.status, Status::Failed);
        assert_eq!(verdict.summary, format!("failed at {}", at(0)));
    }

    #[test]
    fn a_new_start_after_a_failure_is_a_running_retry() {
        let last = LastPings { start: Some(at(5)), success: None, failure: Some((at(0), Some(1))) };
        assert_eq!(check(last, 6), Status::Started);
    }

    #[test]
    fn late_warns_failed_is_critical_the_rest_is_fine() {
        assert_eq!(Status::Late.problem(), Some(Severity::Warning));
        assert_eq!(Status::Failed.problem(), Some(Severity::Critical));
        for fine in [Status::New, Status::Up, Status::Started] {
            assert_eq!(fine.problem(), None, "{}", fine.as_str());
        }
    }

    #[test]
    fn a_deadline_past_the_end_of_time_saturates_instead_of_panicking() {
        let huge = Schedule { period: SignedDuration::MAX, grace: SignedDuration::MAX };
        let last = LastPings { start: None, success: Some(Timestamp::MAX), failure: None };
        assert_eq!(status(huge, last, Timestamp::MAX).status, Status::Up);
        let running = LastPings { start: Some(Timestamp::MAX), success: None, failure: None };
        assert_eq!(status(huge, running, Timestamp::MAX).status, Status::Started);
    }
}
