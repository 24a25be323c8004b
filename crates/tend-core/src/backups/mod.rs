//! What a host's backups say: verdicts on one plan's reported runs (failed, stale, unchecked,
//! untested, unpruned, oddly sized), the host's 3-2-1 posture over all its plans, and the
//! one-line summary the fleet overview and the monthly report show.
//!
//! Pure like the rest of the crate: the server passes the plans it stores, the
//! [`BackupEvent`]s the agent reported (in any order, other plans' events included: each plan
//! only reads its own) and `now`.
//!
//! Only problems are returned. A kind absent from the result is healthy, so the server resolves
//! the alerts of every other [`FindingKind::ALL`] for that target.
//!
//! Every age is measured from a run's `started_at_ms`: that is the time restic gives the
//! snapshot, so "the newest backup is 30 h old" means the newest restorable state is.
//! Instants are UTC; the plan's local schedule time does not enter any rule (plans run daily,
//! and a day is 24 h of elapsed time whatever the host's clock change), so DST cannot shift a
//! verdict.

use std::collections::BTreeSet;
use std::net::IpAddr;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tend_proto::backups::{BackupEvent, BackupPlan, BackupRun, CheckRun, ForgetRun, RestoreTestRun};

use crate::Error;
use crate::checks::Level;

/// Plans run daily: the interval a backup is expected within before the grace.
const BACKUP_INTERVAL: SignedDuration = SignedDuration::from_hours(24);

/// A plan as the server stores it, without its password (no rule needs it and core must not
/// carry it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupPlanFacts {
    pub name: String,
    /// The restic repository; its location decides the 3-2-1 posture, see [`location`].
    pub repository: String,
    /// Daily "HH:MM" host-local time. Only reported in the evidence: staleness counts elapsed
    /// time since the last good backup, not since the scheduled time.
    pub schedule: String,
    pub check_every_days: u32,
    pub restore_test_every_days: u32,
    /// When the plan was made: a plan that never succeeded is stale counted from here.
    pub created_at: Timestamp,
}

impl BackupPlanFacts {
    /// The facts of a plan the server sends to the agent, stored at `created_at`.
    pub fn from_plan(plan: &BackupPlan, created_at: Timestamp) -> Self {
        BackupPlanFacts {
            name: plan.name.clone(),
            repository: plan.repository.clone(),
            schedule: plan.schedule.clone(),
            check_every_days: plan.check_every_days,
            restore_test_every_days: plan.restore_test_every_days,
            created_at,
        }
    }
}

/// The thresholds of the rules. The defaults are what an MSP wants without thinking; a tenant
/// may tune them, hence [`BackupPolicy::validate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupPolicy {
    /// Hours past the daily interval before the newest good backup is stale (warning): a run
    /// that started late or ran long is not a problem yet.
    pub stale_grace_hours: u32,
    /// Age in hours of the newest good backup from which staleness is critical.
    pub stale_critical_hours: u32,
    /// Failed backups in a row (the newest ones) that make the failure critical: one failure
    /// is often passing (a locked file, a network blip), two mean nobody has a fresh copy.
    pub failures_for_critical: u32,
    /// Good backups since the last good `forget` from which retention counts as not applied:
    /// one backup ahead of the forget that follows it is normal.
    pub retention_backups: u32,
    /// A backup's size is an anomaly beyond this factor of the median, either way.
    pub size_factor: f64,
    /// The median is of at most this many good backups before the newest one.
    pub size_window: u32,
    /// Fewer earlier good backups than this and sizes are not judged: no baseline yet.
    pub size_min_samples: u32,
    /// Sizes below this count as this: on a quiet host data added swings between a few KB and
    /// a few MB every day, ratios of which mean nothing.
    pub size_floor_bytes: u64,
    /// Hours past `check_every_days` before the newest check is overdue.
    pub check_grace_hours: u32,
    /// Hours past `restore_test_every_days` before the newest restore test is overdue.
    pub restore_test_grace_hours: u32,
    /// Days after the first snapshot by which the first restore test is due, whatever the
    /// plan's interval: a new plan is the likeliest to back up the wrong thing.
    pub first_restore_test_days: u32,
    /// 3-2-1: copies of the data wanted, the live data included.
    pub min_copies: u32,
    /// 3-2-1: distinct repositories, at as many distinct locations, wanted.
    pub min_repositories: u32,
    /// 3-2-1: a current copy off the site is wanted.
    pub require_off_site: bool,
}

impl Default for BackupPolicy {
    fn default() -> Self {
        BackupPolicy {
            stale_grace_hours: 6,
            stale_critical_hours: 48,
            failures_for_critical: 2,
            retention_backups: 2,
            size_factor: 3.0,
            size_window: 14,
            size_min_samples: 5,
            size_floor_bytes: 64 << 20,
            check_grace_hours: 24,
            restore_test_grace_hours: 24,
            first_restore_test_days: 8,
            min_copies: 3,
            min_repositories: 2,
            require_off_site: true,
        }
    }
}

/// Longest grace or threshold a policy may set, in hours: a year. Longer is a mistake and
/// would only risk overflow in the arithmetic.
const MAX_HOURS: u32 = 366 * 24;

impl BackupPolicy {
    /// Refuses thresholds that would make a rule fire never, always, or in the wrong order.
    pub fn validate(&self) -> Result<(), Error> {
        let invalid = |field: &'static str, reason: String| Err(Error::Invalid { field, reason });
        for (field, hours) in [
            ("stale_grace_hours", self.stale_grace_hours),
            ("stale_critical_hours", self.stale_critical_hours),
            ("check_grace_hours", self.check_grace_hours),
            ("restore_test_grace_hours", self.restore_test_grace_hours),
        ] {
            if hours > MAX_HOURS {
                return invalid(field, format!("at most {MAX_HOURS} hours"));
            }
        }
        if self.stale_critical_hours < 24 + self.stale_grace_hours {
            return invalid(
                "stale_critical_hours",
                format!(
                    "at least 24 h plus the grace ({} h), or warning would come after critical",
                    self.stale_grace_hours
                ),
            );
        }
        if !(1..=366).contains(&self.first_restore_test_days) {
            return invalid("first_restore_test_days", "between 1 and 366".into());
        }
        if self.failures_for_critical == 0 {
            return invalid("failures_for_critical", "at least 1".into());
        }
        if self.retention_backups == 0 {
            return invalid("retention_backups", "at least 1, or every backup would be an alert".into());
        }
        if !(self.size_factor.is_finite() && self.size_factor > 1.0) {
            return invalid("size_factor", format!("a factor above 1, not {}", self.size_factor));
        }
        if !(1..=1000).contains(&self.size_window) {
            return invalid("size_window", "between 1 and 1000 backups".into());
        }
        if !(1..=self.size_window).contains(&self.size_min_samples) {
            return invalid("size_min_samples", format!("between 1 and size_window ({})", self.size_window));
        }
        if !(1..=10).contains(&self.min_copies) {
            return invalid("min_copies", "between 1 and 10".into());
        }
        if self.min_repositories > 10 {
            return invalid("min_repositories", "at most 10".into());
        }
        Ok(())
    }

    fn stale_after(&self) -> SignedDuration {
        BACKUP_INTERVAL + hours(self.stale_grace_hours)
    }
}

fn hours(hours: u32) -> SignedDuration {
    SignedDuration::from_hours(i64::from(hours))
}

fn days(days: u32) -> SignedDuration {
    SignedDuration::from_hours(i64::from(days) * 24)
}

/// What a finding is about. Stable: alerts are keyed by it, and it is serialized snake_case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// The plan has had no good backup since it was made, past the staleness bound.
    NeverBackedUp,
    /// The newest good backup is older than the staleness bound.
    BackupStale,
    /// The newest backup failed (exit 3 included: its snapshot is incomplete).
    BackupFailed,
    /// The newest check found the repository damaged.
    CheckFailed,
    /// No check within the plan's interval plus grace.
    CheckOverdue,
    /// Good backups pile up without a good `forget`.
    RetentionNotApplied,
    /// The newest good backup's size is far from the recent median.
    SizeAnomaly,
    /// The newest restore test failed: the backup may not restore.
    RestoreTestFailed,
    /// No restore test within the plan's interval plus grace.
    RestoreTestOverdue,
    /// 3-2-1: fewer current copies than the policy wants.
    TooFewCopies,
    /// 3-2-1: fewer repositories, or locations, than the policy wants.
    TooFewRepositories,
    /// 3-2-1: no current copy off the site.
    NoOffSiteCopy,
}

impl FindingKind {
    /// Every kind, for resolving the alerts of kinds no longer found.
    pub const ALL: [FindingKind; 12] = [
        FindingKind::NeverBackedUp,
        FindingKind::BackupStale,
        FindingKind::BackupFailed,
        FindingKind::CheckFailed,
        FindingKind::CheckOverdue,
        FindingKind::RetentionNotApplied,
        FindingKind::SizeAnomaly,
        FindingKind::RestoreTestFailed,
        FindingKind::RestoreTestOverdue,
        FindingKind::TooFewCopies,
        FindingKind::TooFewRepositories,
        FindingKind::NoOffSiteCopy,
    ];

    /// The stable name, as serialized: an alert's check name.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::NeverBackedUp => "never_backed_up",
            FindingKind::BackupStale => "backup_stale",
            FindingKind::BackupFailed => "backup_failed",
            FindingKind::CheckFailed => "check_failed",
            FindingKind::CheckOverdue => "check_overdue",
            FindingKind::RetentionNotApplied => "retention_not_applied",
            FindingKind::SizeAnomaly => "size_anomaly",
            FindingKind::RestoreTestFailed => "restore_test_failed",
            FindingKind::RestoreTestOverdue => "restore_test_overdue",
            FindingKind::TooFewCopies => "too_few_copies",
            FindingKind::TooFewRepositories => "too_few_repositories",
            FindingKind::NoOffSiteCopy => "no_off_site_copy",
        }
    }
}

/// The target of the host-wide posture findings. Plan findings target the plan's name, which
/// has no space, so the two never collide.
pub const POSTURE_TARGET: &str = "3-2-1 posture";

/// One problem with a host's backups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupFinding {
    pub kind: FindingKind,
    pub level: Level,
    /// The plan's name, or [`POSTURE_TARGET`].
    pub target: String,
    /// One line for people: what is wrong, with the numbers, and for posture what to do.
    pub summary: String,
    /// The readings the verdict rests on, for the alert's detail.
    pub evidence: Value,
}

/// When a run started and whether it succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastRun {
    pub at: Timestamp,
    pub ok: bool,
}

/// What one plan's events add up to, for the plan's page and the rules.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PlanStatus {
    /// The newest backup, whatever its outcome.
    pub last_backup: Option<LastRun>,
    /// Start of the newest good backup: the newest complete restorable state.
    pub last_good_backup_at: Option<Timestamp>,
    /// The newest backups that failed, in a row.
    pub failures_in_a_row: u32,
    /// Start of the first backup that left a snapshot, complete (ok) or not (exit 3): from then
    /// on the repository holds something to check and to restore.
    pub first_snapshot_at: Option<Timestamp>,
    /// Start of the newest good `forget`.
    pub last_good_forget_at: Option<Timestamp>,
    pub last_check: Option<LastRun>,
    pub last_restore_test: Option<LastRun>,
}

impl PlanStatus {
    /// The status of plan `plan` from events in any order; other plans' events are ignored.
    pub fn of(plan: &str, events: &[BackupEvent]) -> Self {
        Timeline::of(plan, events).status()
    }
}

/// One plan's runs per kind, oldest first, each with its start.
struct Timeline<'a> {
    backups: Vec<(Timestamp, &'a BackupRun)>,
    forgets: Vec<(Timestamp, &'a ForgetRun)>,
    checks: Vec<(Timestamp, &'a CheckRun)>,
    restore_tests: Vec<(Timestamp, &'a RestoreTestRun)>,
}

/// Start of a run. An instant jiff cannot represent is not a real report; such a run is left
/// out rather than taken for 1970 or the end of time.
fn started(ms: i64) -> Option<Timestamp> {
    Timestamp::from_millisecond(ms).ok()
}

impl<'a> Timeline<'a> {
    fn of(plan: &str, events: &'a [BackupEvent]) -> Self {
        let mut timeline = Timeline { backups: vec![], forgets: vec![], checks: vec![], restore_tests: vec![] };
        for event in events {
            match event {
                BackupEvent::Backup(run) if run.plan == plan => {
                    timeline.backups.extend(started(run.started_at_ms).map(|at| (at, run)));
                }
                BackupEvent::Forget(run) if run.plan == plan => {
                    timeline.forgets.extend(started(run.started_at_ms).map(|at| (at, run)));
                }
                BackupEvent::Check(run) if run.plan == plan => {
                    timeline.checks.extend(started(run.started_at_ms).map(|at| (at, run)));
                }
                BackupEvent::RestoreTest(run) if run.plan == plan => {
                    timeline.restore_tests.extend(started(run.started_at_ms).map(|at| (at, run)));
                }
                _ => {}
            }
        }
        // Two runs of a kind starting in the same millisecond: the good one counts as the
        // newer, so the verdict does not depend on the order the events came in.
        timeline.backups.sort_by_key(|(at, run)| (*at, run.ok));
        timeline.forgets.sort_by_key(|(at, run)| (*at, run.ok));
        timeline.checks.sort_by_key(|(at, run)| (*at, run.ok));
        timeline.restore_tests.sort_by_key(|(at, run)| (*at, run.ok));
        timeline
    }

    fn good_backups(&self) -> impl DoubleEndedIterator<Item = (Timestamp, &'a BackupRun)> + '_ {
        self.backups.iter().copied().filter(|(_, run)| run.ok)
    }

    fn status(&self) -> PlanStatus {
        let last = |at: Timestamp, ok: bool| LastRun { at, ok };
        PlanStatus {
            last_backup: self.backups.last().map(|(at, run)| last(*at, run.ok)),
            last_good_backup_at: self.good_backups().next_back().map(|(at, _)| at),
            failures_in_a_row: self.backups.iter().rev().take_while(|(_, run)| !run.ok).count() as u32,
            first_snapshot_at: self
                .backups
                .iter()
                .find(|(_, run)| run.ok || run.snapshot_id.is_some())
                .map(|(at, _)| *at),
            last_good_forget_at: self.forgets.iter().rev().find(|(_, run)| run.ok).map(|(at, _)| *at),
            last_check: self.checks.last().map(|(at, run)| last(*at, run.ok)),
            last_restore_test: self.restore_tests.last().map(|(at, run)| last(*at, run.ok)),
        }
    }
}

/// Every problem of one plan, in the order of [`FindingKind::ALL`]. Events may come in any
/// order and may include other plans' events.
///
/// The rules, each at most one finding ("older than" is strict: exactly at a bound is fine):
/// - `never_backed_up` / `backup_stale`: the newest good backup (or, when there is none, the
///   plan's creation) is older than 24 h + `stale_grace_hours` → warning, older than
///   `stale_critical_hours` → critical. A backup that exited 3 left an incomplete snapshot and
///   is not good.
/// - `backup_failed`: the newest backup failed → warning; the newest `failures_for_critical`
///   all failed → critical.
/// - `check_failed`: the newest check failed → critical: the repository is damaged.
/// - `check_overdue`: the newest check, whatever its outcome, is older than
///   `check_every_days` + `check_grace_hours`; with no check yet, counted from the first
///   snapshot (before it there is nothing to check) → warning.
/// - `retention_not_applied`: `retention_backups` good backups started after the newest good
///   forget (or ever, when there is none) → warning: the repository only grows.
/// - `size_anomaly`: data added or total processed of the newest good backup above
///   `size_factor` × or below ÷ `size_factor` the median of the up to `size_window` good
///   backups before it, given at least `size_min_samples` of them; sizes under
///   `size_floor_bytes` count as that floor → warning. A jump is ransomware or a runaway dump;
///   a drop, a path no longer mounted.
/// - `restore_test_failed`: the newest restore test failed → critical.
/// - `restore_test_overdue`: the newest restore test is older than `restore_test_every_days` +
///   `restore_test_grace_hours`; with none yet, the first snapshot is older than
///   `first_restore_test_days` → warning.
pub fn evaluate_plan(
    plan: &BackupPlanFacts,
    events: &[BackupEvent],
    now: Timestamp,
    policy: &BackupPolicy,
) -> Vec<BackupFinding> {
    let timeline = Timeline::of(&plan.name, events);
    let status = timeline.status();
    let rules = Rules { plan, timeline: &timeline, status: &status, now, policy };
    [
        rules.staleness(),
        rules.failure(),
        rules.check_failed(),
        rules.check_overdue(),
        rules.retention(),
        rules.size_anomaly(),
        rules.restore_test_failed(),
        rules.restore_test_overdue(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// What every rule of one plan reads.
struct Rules<'a> {
    plan: &'a BackupPlanFacts,
    timeline: &'a Timeline<'a>,
    status: &'a PlanStatus,
    now: Timestamp,
    policy: &'a BackupPolicy,
}

impl Rules<'_> {
    fn finding(&self, kind: FindingKind, level: Level, summary: String, evidence: Value) -> Option<BackupFinding> {
        Some(BackupFinding { kind, level, target: self.plan.name.clone(), summary, evidence })
    }

    fn staleness(&self) -> Option<BackupFinding> {
        let policy = self.policy;
        let (kind, since) = match self.status.last_good_backup_at {
            Some(at) => (FindingKind::BackupStale, at),
            None => (FindingKind::NeverBackedUp, self.plan.created_at),
        };
        let age = self.now.duration_since(since);
        let level = if age > hours(policy.stale_critical_hours) {
            Level::Critical
        } else if age > policy.stale_after() {
            Level::Warning
        } else {
            return None;
        };
        let incomplete = self.timeline.backups.iter().filter(|(_, run)| !run.ok && run.snapshot_id.is_some()).count();
        let summary = match kind {
            FindingKind::BackupStale => format!("the last good backup is {} old", age_text(age)),
            _ if incomplete > 0 => format!(
                "no complete backup in the {} since the plan was made ({incomplete} incomplete snapshots)",
                age_text(age)
            ),
            _ => format!("no backup in the {} since the plan was made", age_text(age)),
        };
        let evidence = json!({
            "last_good_backup_at": self.status.last_good_backup_at,
            "created_at": self.plan.created_at,
            "age_seconds": age.as_secs(),
            "stale_after_seconds": policy.stale_after().as_secs(),
            "critical_after_seconds": hours(policy.stale_critical_hours).as_secs(),
            "incomplete_snapshots": incomplete,
            "schedule": self.plan.schedule,
        });
        self.finding(kind, level, summary, evidence)
    }

    fn failure(&self) -> Option<BackupFinding> {
        let (at, run) = self.timeline.backups.last().filter(|(_, run)| !run.ok)?;
        let in_a_row = self.status.failures_in_a_row;
        let level = if in_a_row >= self.policy.failures_for_critical { Level::Critical } else { Level::Warning };
        let first_error = run.errors.first().map_or("no error reported", String::as_str);
        let summary = match &run.snapshot_id {
            // Exit 3: restic made the snapshot but could not read some files.
            Some(snapshot) => format!(
                "the last backup made snapshot {snapshot} but it is incomplete ({} errors): {first_error}",
                run.errors.len()
            ),
            None => format!("the last backup failed: {first_error}"),
        };
        let summary = if in_a_row > 1 { format!("{summary} ({in_a_row} failed backups in a row)") } else { summary };
        let evidence = json!({
            "started_at": at,
            "exit_code": run.exit_code,
            "snapshot_id": run.snapshot_id,
            "errors": run.errors,
            "failures_in_a_row": in_a_row,
            "last_good_backup_at": self.status.last_good_backup_at,
        });
        self.finding(FindingKind::BackupFailed, level, summary, evidence)
    }

    fn check_failed(&self) -> Option<BackupFinding> {
        let (at, run) = self.timeline.checks.last().filter(|(_, run)| !run.ok)?;
        let first_error = run.errors.first().map_or("no error reported", String::as_str);
        let summary = format!("the last repository check failed: {first_error}");
        let evidence = json!({
            "started_at": at,
            "read_data_subset": run.read_data_subset,
            "errors": run.errors,
            "repository": self.plan.repository,
        });
        self.finding(FindingKind::CheckFailed, Level::Critical, summary, evidence)
    }

    fn check_overdue(&self) -> Option<BackupFinding> {
        let every = days(self.plan.check_every_days) + hours(self.policy.check_grace_hours);
        let last = self.status.last_check.map(|run| run.at);
        let since = last.or(self.status.first_snapshot_at)?;
        let age = self.now.duration_since(since);
        if age <= every {
            return None;
        }
        let summary = match last {
            Some(_) => format!("the repository was last checked {} ago", age_text(age)),
            None => format!("the repository was never checked, {} after the first snapshot", age_text(age)),
        };
        let evidence = json!({
            "last_check_at": last,
            "first_snapshot_at": self.status.first_snapshot_at,
            "check_every_days": self.plan.check_every_days,
            "overdue_after_seconds": every.as_secs(),
            "age_seconds": age.as_secs(),
        });
        self.finding(FindingKind::CheckOverdue, Level::Warning, summary, evidence)
    }

    fn retention(&self) -> Option<BackupFinding> {
        let since = self.status.last_good_forget_at;
        let backups_since =
            self.timeline.good_backups().filter(|(at, _)| since.is_none_or(|forget| *at > forget)).count();
        if backups_since < self.policy.retention_backups as usize {
            return None;
        }
        let last_forget = self.timeline.forgets.last();
        let failed_forget_error = last_forget.filter(|(_, run)| !run.ok).map(|(_, run)| run.error.clone());
        let summary = match (since, &failed_forget_error) {
            (_, Some(error)) => format!(
                "retention was not applied: {backups_since} good backups since, the last forget failed: {}",
                error.as_deref().unwrap_or("no error reported")
            ),
            (Some(_), None) => format!("retention was not applied: {backups_since} good backups since the last forget"),
            (None, None) => format!("retention was never applied: {backups_since} good backups and no forget"),
        };
        let evidence = json!({
            "last_good_forget_at": since,
            "good_backups_since": backups_since,
            "last_forget_at": last_forget.map(|(at, _)| at),
            "last_forget_error": failed_forget_error.flatten(),
        });
        self.finding(FindingKind::RetentionNotApplied, Level::Warning, summary, evidence)
    }

    fn size_anomaly(&self) -> Option<BackupFinding> {
        let policy = self.policy;
        let good: Vec<&BackupRun> = self.timeline.good_backups().map(|(_, run)| run).collect();
        let (latest, earlier) = good.split_last()?;
        let window = &earlier[earlier.len().saturating_sub(policy.size_window as usize)..];
        if window.len() < policy.size_min_samples as usize {
            return None;
        }
        let floor = policy.size_floor_bytes as f64;
        let metrics: [(&str, SizeOf); 2] =
            [("data added", |run| run.data_added_bytes), ("total processed", |run| run.total_bytes_processed)];
        let mut odd = Vec::new();
        let mut evidence = serde_json::Map::new();
        for (name, read) in metrics {
            let value = read(latest);
            let median = median(window.iter().map(|run| read(run)));
            let (seen, usual) = ((value as f64).max(floor), median.max(floor));
            let change = if seen > usual * policy.size_factor {
                "grew"
            } else if seen * policy.size_factor < usual {
                "shrank"
            } else {
                continue;
            };
            odd.push(format!(
                "{name} {change} to {} against a median of {}",
                bytes_text(value as f64),
                bytes_text(median)
            ));
            evidence
                .insert(name.replace(' ', "_"), json!({ "bytes": value, "median_bytes": median, "change": change }));
        }
        if odd.is_empty() {
            return None;
        }
        evidence.insert("samples".into(), json!(window.len()));
        evidence.insert("factor".into(), json!(policy.size_factor));
        evidence.insert("snapshot_id".into(), json!(latest.snapshot_id));
        let summary = format!("the last backup's size is unusual: {}", odd.join("; "));
        self.finding(FindingKind::SizeAnomaly, Level::Warning, summary, Value::Object(evidence))
    }

    fn restore_test_failed(&self) -> Option<BackupFinding> {
        let (at, run) = self.timeline.restore_tests.last().filter(|(_, run)| !run.ok)?;
        let why = match (&run.error, run.mismatches.first()) {
            (Some(error), _) => error.clone(),
            (None, Some(mismatch)) => {
                format!("{} of {} files differ: {mismatch}", run.mismatches.len(), run.files_sampled)
            }
            (None, None) => format!("{} of {} files verified", run.files_verified, run.files_sampled),
        };
        let summary = format!("the last restore test failed: {why}");
        let evidence = json!({
            "started_at": at,
            "snapshot_id": run.snapshot_id,
            "files_sampled": run.files_sampled,
            "files_verified": run.files_verified,
            "mismatches": run.mismatches,
            "error": run.error,
        });
        self.finding(FindingKind::RestoreTestFailed, Level::Critical, summary, evidence)
    }

    fn restore_test_overdue(&self) -> Option<BackupFinding> {
        let last = self.status.last_restore_test.map(|run| run.at);
        let (since, due) = match last {
            Some(at) => (at, days(self.plan.restore_test_every_days) + hours(self.policy.restore_test_grace_hours)),
            None => (self.status.first_snapshot_at?, days(self.policy.first_restore_test_days)),
        };
        let age = self.now.duration_since(since);
        if age <= due {
            return None;
        }
        let summary = match last {
            Some(_) => format!("the last restore test was {} ago", age_text(age)),
            None => format!("no restore test yet, {} after the first snapshot", age_text(age)),
        };
        let evidence = json!({
            "last_restore_test_at": last,
            "first_snapshot_at": self.status.first_snapshot_at,
            "restore_test_every_days": self.plan.restore_test_every_days,
            "overdue_after_seconds": due.as_secs(),
            "age_seconds": age.as_secs(),
        });
        self.finding(FindingKind::RestoreTestOverdue, Level::Warning, summary, evidence)
    }
}

/// Reads one size of a backup run.
type SizeOf = fn(&BackupRun) -> u64;

/// The median; of an even count, the mean of the middle two. Callers pass at least one value.
fn median(values: impl Iterator<Item = u64>) -> f64 {
    let mut values: Vec<u64> = values.collect();
    values.sort_unstable();
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle] as f64
    } else {
        (values[middle - 1] as f64 + values[middle] as f64) / 2.0
    }
}

/// "30 h" under two days, whole days above: what people read in a summary.
fn age_text(age: SignedDuration) -> String {
    let hours = age.as_hours();
    if hours < 48 { format!("{hours} h") } else { format!("{} days", hours / 24) }
}

fn bytes_text(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{value:.0} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

/// Where a repository is, as far as its address tells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// "this host", a host name or address, or a storage provider.
    pub name: String,
    /// Survives the loss of the host's site. Only a provider or a host by a public name or
    /// address counts: a LAN address or a single-label name is most likely in the same
    /// building, and saying "off-site" wrongly is worse than asking to confirm.
    pub off_site: bool,
}

/// The location of a restic repository from its address. Credentials in the address (`rest:`
/// user and password, an `sftp:` user) never reach the name.
///
/// - a path, `local:` path, or a host that is the loopback → "this host", not off-site;
/// - `sftp:user@host:/path`, `sftp://user@host:port/path`, `rest:https://user:pw@host:port/`,
///   `s3:endpoint/bucket`, `s3:https://endpoint/bucket` → the host; off-site unless a private
///   address (RFC 1918, ULA, link-local) or a name without a dot or under `.local`, `.lan`,
///   `.internal`, `.home.arpa`;
/// - `b2:`, `azure:`, `gs:`, `swift:` → the provider, off-site; `rclone:remote:…` → the rclone
///   remote, off-site (rclone exists to reach cloud storage).
pub fn location(repository: &str) -> Location {
    const THIS_HOST: &str = "this host";
    let this_host = || Location { name: THIS_HOST.into(), off_site: false };
    let provider = |name: &str| Location { name: name.into(), off_site: true };
    let repository = repository.trim();
    let Some((scheme, rest)) = repository.split_once(':') else { return this_host() };
    match scheme {
        "sftp" | "rest" | "s3" => {
            let host = host_of(rest);
            if host.is_empty() || is_loopback(&host) {
                this_host()
            } else {
                let off_site = !is_on_site(&host);
                Location { name: host, off_site }
            }
        }
        "b2" => provider("Backblaze B2"),
        "azure" => provider("Azure Blob Storage"),
        "gs" => provider("Google Cloud Storage"),
        "swift" => provider("OpenStack Swift"),
        "rclone" => provider(&format!("rclone remote {}", rest.split(':').next().unwrap_or(rest))),
        // `local:` and anything restic reads as a path.
        _ => this_host(),
    }
}

/// The host of `[scheme://][user[:password]@]host[:port][/path]` or sftp's
/// `[user@]host:path`, lower-case, without brackets around an IPv6 address.
fn host_of(address: &str) -> String {
    let address =
        ["https://", "http://", "//"].iter().find_map(|prefix| address.strip_prefix(prefix)).unwrap_or(address);
    let authority = address.split('/').next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = match host_port.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    host.to_ascii_lowercase()
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn is_on_site(host: &str) -> bool {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_private() || ip.is_link_local(),
        // Unique local fc00::/7 and link-local fe80::/10.
        Ok(IpAddr::V6(ip)) => ip.segments()[0] & 0xfe00 == 0xfc00 || ip.segments()[0] & 0xffc0 == 0xfe80,
        Err(_) => {
            !host.contains('.') || [".local", ".lan", ".internal", ".home.arpa"].iter().any(|lan| host.ends_with(lan))
        }
    }
}

/// A repository as written, minus spacing and a trailing slash, so that two plans naming it
/// slightly differently still count once.
fn repository_key(repository: &str) -> &str {
    let trimmed = repository.trim();
    let without_slash = trimmed.trim_end_matches('/');
    if without_slash.is_empty() { trimmed } else { without_slash }
}

/// A host's 3-2-1 posture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Posture {
    /// The live data plus each distinct repository with a good backup within the staleness
    /// bound: a copy that stopped being made protects less every day.
    pub copies: u32,
    /// Distinct repositories the plans name, current or not: the configuration.
    pub repositories: u32,
    /// Distinct locations of those repositories.
    pub locations: u32,
    /// Some repository off the site holds a current copy.
    pub off_site: bool,
    /// Where the posture is below the policy, each saying what to do.
    pub findings: Vec<BackupFinding>,
}

/// The 3-2-1 posture of a host from its plans and their events.
///
/// Copies and the off-site flag count only current copies; repositories and locations
/// describe the configuration. So "add a repository" (the configuration falls short) is told
/// apart from "repair that plan" (the configuration is fine but a copy is no longer made).
/// Every posture finding is a warning targeted at [`POSTURE_TARGET`]: a weak posture is a risk,
/// not an outage, and each stale plan has its own finding already.
pub fn posture(plans: &[BackupPlanFacts], events: &[BackupEvent], now: Timestamp, policy: &BackupPolicy) -> Posture {
    // Per repository: its location and whether one of its plans has a current good backup.
    let mut repositories: Vec<(&str, Location, bool)> = Vec::new();
    let mut stale_plans: BTreeSet<&str> = BTreeSet::new();
    for plan in plans {
        let current = PlanStatus::of(&plan.name, events)
            .last_good_backup_at
            .is_some_and(|at| now.duration_since(at) <= policy.stale_after());
        if !current {
            stale_plans.insert(&plan.name);
        }
        let key = repository_key(&plan.repository);
        match repositories.iter_mut().find(|(known, _, _)| *known == key) {
            Some((_, _, known_current)) => *known_current |= current,
            None => repositories.push((key, location(key), current)),
        }
    }
    let current: Vec<&(&str, Location, bool)> = repositories.iter().filter(|(_, _, current)| *current).collect();
    let locations: BTreeSet<&str> = repositories.iter().map(|(_, location, _)| location.name.as_str()).collect();
    let copies = 1 + current.len() as u32;
    let off_site = current.iter().any(|(_, location, _)| location.off_site);
    let stale_list = stale_plans.iter().copied().collect::<Vec<_>>().join(", ");
    let evidence = json!({
        "copies": copies,
        "repositories": repositories.iter().map(|(key, location, current)| json!({
            "location": location.name, "off_site": location.off_site, "current": current,
            // The address may carry credentials (rest: user and password); only its place shows.
            "scheme": key.split_once(':').map_or("local", |(scheme, _)| scheme),
        })).collect::<Vec<_>>(),
        "plans_without_current_backup": stale_plans,
        "policy": { "min_copies": policy.min_copies, "min_repositories": policy.min_repositories,
                    "require_off_site": policy.require_off_site },
    });
    let finding = |kind: FindingKind, summary: String| BackupFinding {
        kind,
        level: Level::Warning,
        target: POSTURE_TARGET.into(),
        summary,
        evidence: evidence.clone(),
    };

    let mut findings = Vec::new();
    let (repository_count, location_count) = (repositories.len() as u32, locations.len() as u32);
    if copies < policy.min_copies {
        let fix = if repository_count + 1 >= policy.min_copies {
            format!("make plans {stale_list} succeed again")
        } else {
            add_repository_fix(repository_count)
        };
        findings.push(finding(
            FindingKind::TooFewCopies,
            format!("{copies} current copies of the data, the live data included, {} wanted: {fix}", policy.min_copies),
        ));
    }
    if repository_count < policy.min_repositories {
        findings.push(finding(
            FindingKind::TooFewRepositories,
            format!(
                "{repository_count} backup repositories, {} wanted: {}",
                policy.min_repositories,
                add_repository_fix(repository_count)
            ),
        ));
    } else if location_count < policy.min_repositories {
        let names = locations.iter().copied().collect::<Vec<_>>().join(", ");
        findings.push(finding(
            FindingKind::TooFewRepositories,
            format!(
                "{repository_count} repositories but only at {names}: move one to another location \
                 (another machine, site or storage provider)"
            ),
        ));
    }
    if policy.require_off_site && !off_site {
        let configured_off_site = repositories.iter().any(|(_, location, _)| location.off_site);
        let fix = if configured_off_site {
            format!("the off-site repository has no current backup: make plans {stale_list} succeed again")
        } else {
            "add a repository off the site (a storage provider such as b2:, s3:, or sftp: to a machine elsewhere)"
                .to_owned()
        };
        findings.push(finding(FindingKind::NoOffSiteCopy, format!("no current copy off the site: {fix}")));
    }
    Posture { copies, repositories: repository_count, locations: location_count, off_site, findings }
}

fn add_repository_fix(repositories: u32) -> String {
    match repositories {
        0 => "add a backup plan, and a second repository at another location".to_owned(),
        1 => "add a second repository at another location".to_owned(),
        _ => "add a repository at another location".to_owned(),
    }
}

/// A host's backups in one line, for the fleet overview and the monthly report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostBackupSummary {
    /// The host is backed up at least as recently as this: the oldest of its plans' newest
    /// good backups, so a plan left behind is not hidden by another. `None` when a plan never
    /// had a good backup, or there are no plans.
    pub last_good_backup_at: Option<Timestamp>,
    /// `now` minus `last_good_backup_at`.
    pub age: Option<SignedDuration>,
    /// The oldest of the plans' newest restore tests, so likewise; `None` when a plan has
    /// never been tested, or there are no plans.
    pub last_restore_test_at: Option<Timestamp>,
    /// Whether every plan's newest restore test passed; `None` when no plan has been tested.
    /// A plan never tested is not a failure here: `restore_test_overdue` says that.
    pub last_restore_test_ok: Option<bool>,
    /// The worst level of all plan and posture findings; `None` when all is well.
    pub worst_level: Option<Level>,
}

/// The summary of a host's backups: its plans, their events (any order), `now`.
pub fn summary(
    plans: &[BackupPlanFacts],
    events: &[BackupEvent],
    now: Timestamp,
    policy: &BackupPolicy,
) -> HostBackupSummary {
    let statuses: Vec<PlanStatus> = plans.iter().map(|plan| PlanStatus::of(&plan.name, events)).collect();
    // The oldest of one value per plan; `None` as soon as one plan has none.
    let oldest = |read: fn(&PlanStatus) -> Option<Timestamp>| -> Option<Timestamp> {
        statuses.iter().map(read).collect::<Option<Vec<_>>>()?.into_iter().min()
    };
    let last_good_backup_at = oldest(|status| status.last_good_backup_at);
    let tests: Vec<LastRun> = statuses.iter().filter_map(|status| status.last_restore_test).collect();
    let worst_level = plans
        .iter()
        .flat_map(|plan| evaluate_plan(plan, events, now, policy))
        .chain(posture(plans, events, now, policy).findings)
        .map(|finding| finding.level)
        .max();
    HostBackupSummary {
        last_good_backup_at,
        age: last_good_backup_at.map(|at| now.duration_since(at)),
        last_restore_test_at: oldest(|status| status.last_restore_test.map(|run| run.at)),
        last_restore_test_ok: (!tests.is_empty()).then(|| tests.iter().all(|run| run.ok)),
        worst_level,
    }
}

#[cfg(test)]
mod tests;
