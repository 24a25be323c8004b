//! Backups: the plan the server gives an agent (what to back up with restic, where, how long to
//! keep it, how often to prove it) and the events the agent reports about each run.
//!
//! A plan names hooks, it never carries commands: the command behind a hook name is the agent's
//! own configuration, as with jobs. The repository password travels in the plan, so it is a
//! [`Secret`], hidden from `Debug`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Most error lines an event carries; the agent keeps the first ones and says how many more.
pub const MAX_EVENT_ERRORS: usize = 20;
/// Longest error line an event carries, in bytes.
pub const MAX_ERROR_BYTES: usize = 1024;
/// Most files a restore test may sample: each is restored and read twice.
pub const MAX_RESTORE_TEST_FILES: u32 = 1000;
/// Longest interval in days between checks or restore tests a plan may ask for.
const MAX_EVERY_DAYS: u32 = 366;
/// Most snapshots one keep rule may ask for (restic accepts more; more than ten years of daily
/// snapshots is a mistake, not a policy).
const MAX_KEEP: u32 = 5000;

/// A string that must not appear in logs: `Debug` prints `***`. Serialized as the plain string,
/// since the agent needs it.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that hands it on.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// One backup of one host: paths into one restic repository, daily.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BackupPlan {
    /// Lower-case letters, digits, `-` and `_`: it names the plan's snapshots (tag `tend:NAME`).
    pub name: String,
    /// A restic repository: a local path, `sftp:…`, `rest:…`, `s3:…`.
    pub repository: String,
    /// The repository's password.
    pub password: Secret,
    /// Absolute paths to back up.
    pub paths: Vec<String>,
    /// restic `--exclude` patterns.
    #[serde(default)]
    pub excludes: Vec<String>,
    /// Name of a hook in the agent's `[backup.hooks]` run before restic (e.g. a database dump);
    /// when it fails, restic does not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_hook: Option<String>,
    /// Name of a hook run after restic, whatever restic did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_hook: Option<String>,
    /// Daily at this local time, "HH:MM".
    #[serde(default = "default_schedule")]
    pub schedule: String,
    #[serde(default)]
    pub retention: Retention,
    /// Days between `restic check` runs.
    #[serde(default = "seven")]
    pub check_every_days: u32,
    /// What a check reads of the data packs (`--read-data-subset`): "5%", "1/7", "500M".
    #[serde(default = "default_read_data_subset")]
    pub read_data_subset: String,
    /// Days between restore tests.
    #[serde(default = "seven")]
    pub restore_test_every_days: u32,
    /// Files a restore test samples from the latest snapshot.
    #[serde(default = "twenty")]
    pub restore_test_files: u32,
}

pub(crate) fn default_schedule() -> String {
    "02:00".into()
}
pub(crate) fn seven() -> u32 {
    7
}
pub(crate) fn twenty() -> u32 {
    20
}
pub(crate) fn default_read_data_subset() -> String {
    "5%".into()
}

/// Which snapshots `forget` keeps; zero turns a rule off. restic keeps a snapshot any rule
/// wants.
///
/// The default keeps about three months as grandfather-father-son: the last 7 days, then 5
/// weeks, then 3 months. Rather than `keep_within_days = 90` (every daily snapshot for 90
/// days) because what is restored from an old backup is a state from before some damage
/// (ransomware, a deletion noticed weeks later), for which weekly and monthly points are
/// enough, while 15 snapshots instead of 90 keep `forget`, `check` and listings fast on slow
/// remote repositories. restic counts only periods that have a snapshot, so a host that was off
/// for a while does not lose its old backups early.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Retention {
    pub keep_daily: u32,
    pub keep_weekly: u32,
    pub keep_monthly: u32,
    /// Keep every snapshot younger than this many days (counted from the latest snapshot).
    pub keep_within_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention { keep_daily: 7, keep_weekly: 5, keep_monthly: 3, keep_within_days: 0 }
    }
}

impl BackupPlan {
    /// A plan of `paths` into `repository` with every other setting at its default: daily at
    /// 02:00, the default retention, weekly checks and restore tests.
    pub fn new(name: &str, repository: &str, password: Secret, paths: Vec<String>) -> BackupPlan {
        BackupPlan {
            name: name.to_owned(),
            repository: repository.to_owned(),
            password,
            paths,
            excludes: Vec::new(),
            pre_hook: None,
            post_hook: None,
            schedule: default_schedule(),
            retention: Retention::default(),
            check_every_days: seven(),
            read_data_subset: default_read_data_subset(),
            restore_test_every_days: seven(),
            restore_test_files: twenty(),
        }
    }

    /// Refuses what restic would misread or what is surely a mistake. Hook names and excludes
    /// reach a command line, so they are checked here, on both sides of the wire.
    pub fn validate(&self) -> Result<(), String> {
        if !is_name(&self.name) {
            return Err(format!("plan name {:?}: use 1 to 64 of a-z, 0-9, '-' and '_'", self.name));
        }
        if self.repository.trim().is_empty() || self.repository.starts_with('-') {
            return Err("repository: a restic repository (a path, sftp:, rest:, s3:, …) is required".into());
        }
        if self.password.expose().is_empty() {
            return Err("password: the repository password is required".into());
        }
        if self.paths.is_empty() {
            return Err("paths: name at least one path to back up".into());
        }
        if let Some(bad) = self.paths.iter().find(|p| !p.starts_with('/') || p.contains('\0')) {
            return Err(format!("paths: {bad:?} is not an absolute path"));
        }
        if let Some(bad) = self.excludes.iter().find(|e| e.is_empty() || e.contains('\0')) {
            return Err(format!("excludes: {bad:?} is not a pattern"));
        }
        for hook in [&self.pre_hook, &self.post_hook].into_iter().flatten() {
            if !is_name(hook) {
                return Err(format!("hook {hook:?}: a hook is named by 1 to 64 of a-z, 0-9, '-' and '_'"));
            }
        }
        if self.daily_at().is_none() {
            return Err(format!("schedule {:?}: a daily time \"HH:MM\" is expected", self.schedule));
        }
        let r = &self.retention;
        let rules = [r.keep_daily, r.keep_weekly, r.keep_monthly, r.keep_within_days];
        if rules.iter().all(|&n| n == 0) {
            return Err("retention: at least one keep rule is needed, or forget would keep nothing".into());
        }
        if rules.iter().any(|&n| n > MAX_KEEP) {
            return Err(format!("retention: at most {MAX_KEEP} per rule"));
        }
        for (what, days) in
            [("check_every_days", self.check_every_days), ("restore_test_every_days", self.restore_test_every_days)]
        {
            if !(1..=MAX_EVERY_DAYS).contains(&days) {
                return Err(format!("{what}: between 1 and {MAX_EVERY_DAYS} days, not {days}"));
            }
        }
        if !is_data_subset(&self.read_data_subset) {
            return Err(format!(
                "read_data_subset {:?}: a percentage (\"5%\"), a part (\"1/7\") or a size (\"500M\")",
                self.read_data_subset
            ));
        }
        if !(1..=MAX_RESTORE_TEST_FILES).contains(&self.restore_test_files) {
            return Err(format!("restore_test_files: between 1 and {MAX_RESTORE_TEST_FILES}"));
        }
        Ok(())
    }

    /// The schedule's local time as (hour, minute), when it is a valid "HH:MM".
    pub fn daily_at(&self) -> Option<(u8, u8)> {
        let (hour, minute) = self.schedule.split_once(':')?;
        let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
        if !two_digits(hour) || !two_digits(minute) {
            return None;
        }
        let (hour, minute) = (hour.parse::<u8>().ok()?, minute.parse::<u8>().ok()?);
        (hour < 24 && minute < 60).then_some((hour, minute))
    }
}

/// A plan or hook name: 1 to 64 of a-z, 0-9, `-` and `_`.
pub fn is_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// What restic's `--read-data-subset` accepts: "x%" or "x.y%" (up to 100), "n/t", or a size
/// with an optional K/M/G/T suffix.
fn is_data_subset(text: &str) -> bool {
    if let Some(percent) = text.strip_suffix('%') {
        let digits_and_dot = !percent.is_empty() && percent.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        return digits_and_dot && percent.parse::<f64>().is_ok_and(|p| p > 0.0 && p <= 100.0);
    }
    if let Some((n, t)) = text.split_once('/') {
        return matches!((n.parse::<u32>(), t.parse::<u32>()), (Ok(n), Ok(t)) if n >= 1 && n <= t);
    }
    let number = text.trim_end_matches(['k', 'K', 'm', 'M', 'g', 'G', 't', 'T']);
    text.len() - number.len() <= 1 && number.parse::<u64>().is_ok_and(|n| n > 0)
}

/// What the agent reports after each piece of backup work, in the report's `backups` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BackupEvent {
    Backup(BackupRun),
    Forget(ForgetRun),
    Check(CheckRun),
    RestoreTest(RestoreTestRun),
}

impl BackupEvent {
    /// Whether the work succeeded.
    pub fn ok(&self) -> bool {
        match self {
            BackupEvent::Backup(run) => run.ok,
            BackupEvent::Forget(run) => run.ok,
            BackupEvent::Check(run) => run.ok,
            BackupEvent::RestoreTest(run) => run.ok,
        }
    }

    /// The `kind` tag the event is serialized with.
    pub fn kind(&self) -> &'static str {
        match self {
            BackupEvent::Backup(_) => "backup",
            BackupEvent::Forget(_) => "forget",
            BackupEvent::Check(_) => "check",
            BackupEvent::RestoreTest(_) => "restore_test",
        }
    }

    /// What every kind of work has: (plan, started at in ms, duration in ms).
    pub fn run(&self) -> (&str, i64, u64) {
        match self {
            BackupEvent::Backup(r) => (&r.plan, r.started_at_ms, r.duration_ms),
            BackupEvent::Forget(r) => (&r.plan, r.started_at_ms, r.duration_ms),
            BackupEvent::Check(r) => (&r.plan, r.started_at_ms, r.duration_ms),
            BackupEvent::RestoreTest(r) => (&r.plan, r.started_at_ms, r.duration_ms),
        }
    }
}

/// One `restic backup`. Exit code 3 (some files could not be read) is `ok: false` with a
/// snapshot: the snapshot exists but is incomplete.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BackupRun {
    pub plan: String,
    pub started_at_ms: i64,
    pub duration_ms: u64,
    /// restic's exit code; none when it was not run (a hook failed) or was killed.
    pub exit_code: Option<i32>,
    pub ok: bool,
    pub snapshot_id: Option<String>,
    pub files_new: u64,
    pub files_changed: u64,
    pub files_unmodified: u64,
    pub data_added_bytes: u64,
    pub total_bytes_processed: u64,
    /// What went wrong, at most [`MAX_EVENT_ERRORS`] lines.
    pub errors: Vec<String>,
}

/// One `restic forget --prune` by the plan's retention.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForgetRun {
    pub plan: String,
    pub started_at_ms: i64,
    pub duration_ms: u64,
    pub removed_snapshots: u64,
    pub kept_snapshots: u64,
    /// Unreferenced data was deleted (restic prunes only when a snapshot was removed).
    pub pruned: bool,
    pub ok: bool,
    pub error: Option<String>,
}

/// One `restic check --read-data-subset`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckRun {
    pub plan: String,
    pub started_at_ms: i64,
    pub duration_ms: u64,
    pub ok: bool,
    pub read_data_subset: String,
    pub errors: Vec<String>,
}

/// One restore test: a sample of the latest snapshot's files restored and compared with what
/// the repository streams and, where unchanged since, with the live files.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RestoreTestRun {
    pub plan: String,
    pub started_at_ms: i64,
    pub duration_ms: u64,
    pub snapshot_id: Option<String>,
    pub files_sampled: u64,
    /// Restored with the size and SHA-256 the repository holds.
    pub files_verified: u64,
    /// Also equal to the live file, which had the snapshot's size and modification time.
    pub files_compared_live: u64,
    /// One line per file that differs, at most [`MAX_EVENT_ERRORS`].
    pub mismatches: Vec<String>,
    pub ok: bool,
    pub error: Option<String>,
}

/// Keeps at most [`MAX_EVENT_ERRORS`] lines of at most [`MAX_ERROR_BYTES`] each, saying how
/// many were left out.
pub fn bounded_errors(mut errors: Vec<String>) -> Vec<String> {
    if errors.len() > MAX_EVENT_ERRORS {
        let left_out = errors.len() - (MAX_EVENT_ERRORS - 1);
        errors.truncate(MAX_EVENT_ERRORS - 1);
        errors.push(format!("… and {left_out} more"));
    }
    for error in &mut errors {
        if error.len() > MAX_ERROR_BYTES {
            let mut cut = MAX_ERROR_BYTES - 3;
            while !error.is_char_boundary(cut) {
                cut -= 1;
            }
            error.truncate(cut);
            error.push('…');
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> BackupPlan {
        serde_json::from_value(serde_json::json!({
            "name": "daily", "repository": "sftp:backup@nas:/srv/restic", "password": "hunter22",
            "paths": ["/etc", "/srv/data"],
        }))
        .unwrap()
    }

    #[test]
    fn defaults_are_daily_at_two_keeping_three_months_and_proving_weekly() {
        let plan = plan();
        assert_eq!(plan.validate(), Ok(()));
        assert_eq!(plan.daily_at(), Some((2, 0)));
        assert_eq!(plan.retention, Retention { keep_daily: 7, keep_weekly: 5, keep_monthly: 3, keep_within_days: 0 });
        assert_eq!((plan.check_every_days, plan.read_data_subset.as_str()), (7, "5%"));
        assert_eq!((plan.restore_test_every_days, plan.restore_test_files), (7, 20));
    }

    #[test]
    fn the_password_never_shows_in_debug_but_travels() {
        let plan = plan();
        assert!(!format!("{plan:?}").contains("hunter22"));
        assert!(serde_json::to_string(&plan).unwrap().contains("\"password\":\"hunter22\""));
    }

    #[test]
    fn bad_plans_are_refused_with_the_field_named() {
        type Spoil = fn(&mut BackupPlan);
        let cases: [(&str, Spoil); 13] = [
            ("paths", |p| p.paths.clear()),
            ("paths", |p| p.paths = vec!["etc".into()]),
            ("schedule", |p| p.schedule = "2am".into()),
            ("schedule", |p| p.schedule = "24:00".into()),
            ("schedule", |p| p.schedule = "2:00".into()),
            ("hook", |p| p.pre_hook = Some("dump; rm -rf /".into())),
            ("hook", |p| p.post_hook = Some("Restart".into())),
            ("retention", |p| {
                p.retention = Retention { keep_daily: 0, keep_weekly: 0, keep_monthly: 0, keep_within_days: 0 }
            }),
            ("retention", |p| p.retention.keep_daily = 1_000_000),
            ("check_every_days", |p| p.check_every_days = 0),
            ("read_data_subset", |p| p.read_data_subset = "500%".into()),
            ("restore_test_files", |p| p.restore_test_files = 1_000_000),
            ("plan name", |p| p.name = "Daily Backup".into()),
        ];
        for (field, spoil) in cases {
            let mut plan = plan();
            spoil(&mut plan);
            let error = plan.validate().unwrap_err();
            assert!(error.starts_with(field), "{field}: {error}");
        }
    }

    #[test]
    fn data_subsets_are_what_restic_accepts() {
        for good in ["5%", "2.5%", "100%", "1/7", "7/7", "500M", "2G", "1048576"] {
            assert!(is_data_subset(good), "{good}");
        }
        for bad in ["", "0%", "101%", "%", "8/7", "0/7", "5MB", "-1", "x"] {
            assert!(!is_data_subset(bad), "{bad}");
        }
    }

    #[test]
    fn events_are_tagged_by_kind() {
        let event = BackupEvent::Check(CheckRun { plan: "daily".into(), ok: true, ..CheckRun::default() });
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!((json["kind"].as_str(), json["plan"].as_str()), (Some("check"), Some("daily")));
        assert_eq!((event.kind(), event.run()), ("check", ("daily", 0, 0)));
        assert_eq!(serde_json::from_value::<BackupEvent>(json).unwrap(), event);
        assert!(event.ok());
    }

    #[test]
    fn errors_are_bounded() {
        let many = (0..100).map(|i| format!("error {i}")).collect();
        let kept = bounded_errors(many);
        assert_eq!(kept.len(), MAX_EVENT_ERRORS);
        assert_eq!(kept.last().unwrap(), "… and 81 more");
        let long = bounded_errors(vec!["é".repeat(MAX_ERROR_BYTES)]);
        assert!(long[0].len() <= MAX_ERROR_BYTES && long[0].ends_with('…'));
    }
}
