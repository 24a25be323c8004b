//! When a plan's work is due: a pure function of the plan, the host's time zone, the plan's
//! last runs and the time, so every rule is tested without waiting for a clock.
//!
//! - **Backup**: daily at the plan's local time. A slot that passed without a backup (the host
//!   was off at 02:00, the plan is new) is due at once, not a day later. On a day whose clocks
//!   jump forward over the time (02:30 in Europe/Paris on the last Sunday of March) it runs at
//!   the same offset after the jump (03:30), on a day they fall back over it, at the first of
//!   the two; jiff's "compatible" disambiguation does both.
//! - **Retention** after each backup that made a snapshot.
//! - **Check** and **restore test** after a backup that made a snapshot, on the day (local)
//!   `check_every_days` / `restore_test_every_days` after the last one, or at once if there was
//!   none.
//!
//! "Made a snapshot" rather than "succeeded": restic exits 3 when a single file could not be
//! read, which on some hosts happens every night (a file that vanishes while it is read); the
//! snapshot still exists, so retention must still thin the snapshots out and checks and
//! restore tests must still prove the repository.
//!
//! A due backup goes before the work that follows the previous one, so that a host coming back
//! after days off checks and tests today's snapshot, not an old one.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use serde::{Deserialize, Serialize};
use tend_proto::backups::BackupPlan;

/// One piece of a plan's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    Backup,
    Retention,
    Check,
    RestoreTest,
}

/// When a plan's work last ran (started), in Unix milliseconds. A run counts whether it
/// succeeded or not: a failure is reported and tried again at the next occasion, not in a loop.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LastRuns {
    pub backup_ms: Option<i64>,
    /// The last backup that made a snapshot.
    pub snapshot_ms: Option<i64>,
    pub retention_ms: Option<i64>,
    pub check_ms: Option<i64>,
    pub restore_test_ms: Option<i64>,
}

impl LastRuns {
    /// Records that `work` started at `at_ms`; `made_snapshot` counts for a backup only.
    pub fn record(&mut self, work: Work, at_ms: i64, made_snapshot: bool) {
        match work {
            Work::Backup => {
                self.backup_ms = Some(at_ms);
                if made_snapshot {
                    self.snapshot_ms = Some(at_ms);
                }
            }
            Work::Retention => self.retention_ms = Some(at_ms),
            Work::Check => self.check_ms = Some(at_ms),
            Work::RestoreTest => self.restore_test_ms = Some(at_ms),
        }
    }
}

/// The plan's next work and when it is (or was) due: at or before `now` means run it now.
/// `None` for a schedule that is not "HH:MM" (the server validates plans; this one is skipped).
pub fn next(plan: &BackupPlan, tz: &TimeZone, last: &LastRuns, now: Timestamp) -> Option<(Work, Timestamp)> {
    let (hour, minute) = plan.daily_at()?;
    let today = now.to_zoned(tz.clone()).date();
    let slot = |date: Date| date.at(hour as i8, minute as i8, 0, 0).to_zoned(tz.clone()).ok().map(|z| z.timestamp());
    let today_slot = slot(today)?;
    let latest_slot = if today_slot <= now { today_slot } else { slot(today.yesterday().ok()?)? };
    if last.backup_ms.is_none_or(|ms| ms < latest_slot.as_millisecond()) {
        return Some((Work::Backup, latest_slot));
    }
    if let Some(snapshot_ms) = last.snapshot_ms {
        let snapshot = Timestamp::from_millisecond(snapshot_ms).ok()?;
        if last.retention_ms.is_none_or(|ms| ms < snapshot_ms) {
            return Some((Work::Retention, snapshot));
        }
        let snapshot_day = snapshot.to_zoned(tz.clone()).date();
        let days_since = |ms: Option<i64>| -> Option<i64> {
            let Some(ms) = ms else { return Some(i64::MAX) };
            let day = Timestamp::from_millisecond(ms).ok()?.to_zoned(tz.clone()).date();
            Some(i64::from(snapshot_day.since(day).ok()?.get_days()))
        };
        if days_since(last.check_ms)? >= i64::from(plan.check_every_days) {
            return Some((Work::Check, snapshot));
        }
        if days_since(last.restore_test_ms)? >= i64::from(plan.restore_test_every_days) {
            return Some((Work::RestoreTest, snapshot));
        }
    }
    let next_slot = if today_slot > now { today_slot } else { slot(today.tomorrow().ok()?)? };
    Some((Work::Backup, next_slot))
}

/// The earliest work of all `plans` as (index of the plan, work, due time); among work due at
/// the same time, the plan listed first. One at a time: plans may share a repository, whose
/// lock restic would refuse to a second run.
pub fn earliest(
    plans: &[BackupPlan],
    runs: &BTreeMap<String, LastRuns>,
    tz: &TimeZone,
    now: Timestamp,
) -> Option<(usize, Work, Timestamp)> {
    let never = LastRuns::default();
    plans
        .iter()
        .enumerate()
        .filter_map(|(i, plan)| next(plan, tz, runs.get(&plan.name).unwrap_or(&never), now).map(|(w, at)| (i, w, at)))
        .min_by_key(|&(i, _, at)| (at, i))
}

/// The local time of `at` in `tz`, for log lines.
pub fn local(at: Timestamp, tz: &TimeZone) -> Zoned {
    at.to_zoned(tz.clone())
}

#[cfg(test)]
mod tests {
    use tend_proto::backups::Secret;

    use super::*;

    fn plan(schedule: &str) -> BackupPlan {
        BackupPlan {
            schedule: schedule.into(),
            restore_test_every_days: 3,
            ..BackupPlan::new("nightly", "/srv/repo", Secret::new("pw"), vec!["/etc".into()])
        }
    }

    fn paris() -> TimeZone {
        TimeZone::get("Europe/Paris").unwrap()
    }

    /// A Paris local time as a timestamp.
    fn at(local: &str) -> Timestamp {
        local.parse::<jiff::civil::DateTime>().unwrap().to_zoned(paris()).unwrap().timestamp()
    }

    fn ms(local: &str) -> Option<i64> {
        Some(at(local).as_millisecond())
    }

    /// A plan whose every piece of work ran after a backup at 03:00 on `day`.
    fn all_done(day: &str) -> LastRuns {
        LastRuns {
            backup_ms: ms(&format!("{day}T03:00")),
            snapshot_ms: ms(&format!("{day}T03:00")),
            retention_ms: ms(&format!("{day}T03:05")),
            check_ms: ms(&format!("{day}T03:06")),
            restore_test_ms: ms(&format!("{day}T03:07")),
        }
    }

    #[test]
    fn a_done_day_waits_for_the_next_slot() {
        let last = all_done("2026-06-10");
        assert_eq!(
            next(&plan("02:00"), &paris(), &last, at("2026-06-10T15:00")),
            Some((Work::Backup, at("2026-06-11T02:00")))
        );
        // Before today's slot, today's slot is next.
        let last = all_done("2026-06-09");
        assert_eq!(
            next(&plan("02:00"), &paris(), &last, at("2026-06-10T01:59")),
            Some((Work::Backup, at("2026-06-10T02:00")))
        );
        // At the slot it is due.
        assert_eq!(
            next(&plan("02:00"), &paris(), &last, at("2026-06-10T02:00")),
            Some((Work::Backup, at("2026-06-10T02:00")))
        );
    }

    #[test]
    fn a_missed_slot_is_due_at_once_and_only_the_latest() {
        // Off from the 8th to the 10th at noon: one backup now, for the 10th's slot.
        let last = all_done("2026-06-07");
        let now = at("2026-06-10T12:00");
        assert_eq!(next(&plan("02:00"), &paris(), &last, now), Some((Work::Backup, at("2026-06-10T02:00"))));
        // Started before today's slot: yesterday's slot was missed.
        let now = at("2026-06-10T01:00");
        assert_eq!(next(&plan("02:00"), &paris(), &last, now), Some((Work::Backup, at("2026-06-09T02:00"))));
        // A plan that never ran backs up at once.
        assert_eq!(
            next(&plan("23:30"), &paris(), &LastRuns::default(), at("2026-06-10T12:00")),
            Some((Work::Backup, at("2026-06-09T23:30")))
        );
    }

    #[test]
    fn the_work_after_a_backup_follows_in_order() {
        let tz = paris();
        let plan = plan("02:00");
        let now = at("2026-06-10T02:00");
        let mut last = LastRuns::default();
        let mut order = Vec::new();
        while let Some((work, due)) = next(&plan, &tz, &last, now).filter(|(_, due)| *due <= now) {
            order.push(work);
            last.record(work, now.as_millisecond(), true);
            assert!(order.len() < 10, "{order:?} due {due}");
        }
        assert_eq!(order, [Work::Backup, Work::Retention, Work::Check, Work::RestoreTest]);
    }

    #[test]
    fn a_backup_without_snapshot_is_followed_by_nothing() {
        let mut last = all_done("2026-06-01");
        last.record(Work::Backup, at("2026-06-10T02:00").as_millisecond(), false);
        assert_eq!(
            next(&plan("02:00"), &paris(), &last, at("2026-06-10T02:01")),
            Some((Work::Backup, at("2026-06-11T02:00")))
        );
    }

    #[test]
    fn checks_and_restore_tests_keep_their_cadence() {
        let tz = paris();
        let plan = plan("02:00");
        let mut last = all_done("2026-06-01");
        let mut checks = Vec::new();
        let mut restore_tests = Vec::new();
        let mut now = at("2026-06-02T02:00");
        let end = at("2026-06-20T00:00");
        while now < end {
            match next(&plan, &tz, &last, now) {
                Some((work, due)) if due <= now => {
                    let day = local(now, &tz).date().day();
                    match work {
                        Work::Check => checks.push(day),
                        Work::RestoreTest => restore_tests.push(day),
                        Work::Backup | Work::Retention => {}
                    }
                    last.record(work, now.as_millisecond(), true);
                    now = now.checked_add(jiff::SignedDuration::from_mins(1)).unwrap();
                }
                Some((_, due)) => now = due,
                None => panic!("nothing due"),
            }
        }
        assert_eq!(checks, [8, 15]);
        assert_eq!(restore_tests, [4, 7, 10, 13, 16, 19]);
    }

    #[test]
    fn a_check_waits_for_the_days_backup() {
        // The check is a day overdue, but today's backup comes first, then its follow-ups.
        let last = all_done("2026-06-01");
        let now = at("2026-06-09T09:00");
        assert_eq!(next(&plan("02:00"), &paris(), &last, now), Some((Work::Backup, at("2026-06-09T02:00"))));
    }

    #[test]
    fn spring_forward_runs_after_the_jump() {
        // 2026-03-29 in Paris: 02:00 jumps to 03:00; 02:30 does not exist that day.
        let tz = paris();
        let last = all_done("2026-03-28");
        let (work, due) = next(&plan("02:30"), &tz, &last, at("2026-03-28T12:00")).unwrap();
        assert_eq!(work, Work::Backup);
        assert_eq!(local(due, &tz).to_string(), "2026-03-29T03:30:00+02:00[Europe/Paris]");
        // An hour later in wall time, but the same instant a day after the day before's slot.
        assert_eq!(due.duration_since(at("2026-03-28T02:30")).as_hours(), 24);
        // Done at 03:30: next is the 30th at 02:30, which exists again.
        let last = all_done("2026-03-28");
        let mut last = LastRuns { backup_ms: Some(due.as_millisecond()), ..last };
        last.snapshot_ms = last.backup_ms;
        last.retention_ms = last.backup_ms;
        let (_, due) = next(&plan("02:30"), &tz, &last, at("2026-03-29T04:00")).unwrap();
        assert_eq!(local(due, &tz).to_string(), "2026-03-30T02:30:00+02:00[Europe/Paris]");
    }

    #[test]
    fn fall_back_runs_once_at_the_first_of_the_two() {
        // 2026-10-25 in Paris: 03:00 falls back to 02:00; 02:30 happens twice.
        let tz = paris();
        let last = all_done("2026-10-24");
        let (_, due) = next(&plan("02:30"), &tz, &last, at("2026-10-24T12:00")).unwrap();
        assert_eq!(local(due, &tz).to_string(), "2026-10-25T02:30:00+02:00[Europe/Paris]");
        let done = LastRuns { backup_ms: Some(due.as_millisecond()), ..all_done("2026-10-24") };
        // An hour later it is 02:30 again (+01:00): not due again.
        let second = due.checked_add(jiff::SignedDuration::from_hours(1)).unwrap();
        assert_eq!(next(&plan("02:30"), &tz, &done, second).map(|(w, _)| w), Some(Work::Backup));
        assert!(next(&plan("02:30"), &tz, &done, second).unwrap().1 > second);
    }

    #[test]
    fn plans_take_turns_earliest_first() {
        let tz = paris();
        let now = at("2026-06-10T12:00");
        assert_eq!(earliest(&[], &BTreeMap::new(), &tz, now), None);
        let plans =
            [BackupPlan { name: "b".into(), ..plan("03:00") }, BackupPlan { name: "a".into(), ..plan("01:00") }];
        let mut runs = BTreeMap::new();
        // Both missed today: the earlier slot first.
        assert_eq!(earliest(&plans, &runs, &tz, now), Some((1, Work::Backup, at("2026-06-10T01:00"))));
        runs.insert("a".to_owned(), all_done("2026-06-10"));
        assert_eq!(earliest(&plans, &runs, &tz, now), Some((0, Work::Backup, at("2026-06-10T03:00"))));
        runs.insert("b".to_owned(), all_done("2026-06-10"));
        assert_eq!(earliest(&plans, &runs, &tz, now), Some((1, Work::Backup, at("2026-06-11T01:00"))));
        // Same time: the plan listed first.
        let same = [plan("02:00"), BackupPlan { name: "other".into(), ..plan("02:00") }];
        assert_eq!(earliest(&same, &BTreeMap::new(), &tz, now).map(|(i, ..)| i), Some(0));
    }

    #[test]
    fn a_bad_schedule_is_never_due() {
        assert_eq!(next(&plan("2am"), &paris(), &LastRuns::default(), at("2026-06-10T12:00")), None);
    }
}
