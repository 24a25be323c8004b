//! The public API's bodies for backups: plans as staff set and read them (the password goes in,
//! never out), a host's events, and the overview across hosts.

use serde::{Deserialize, Serialize};

use crate::backups::{BackupEvent, BackupPlan, BackupRun, Retention, Secret};

/// A plan's settings: everything of a [`BackupPlan`] but its name (the path names it) and its
/// password (written only, see [`SetBackupPlan`]). Defaults are the plan's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BackupPlanSettings {
    /// A restic repository: a local path, `sftp:…`, `rest:…`, `s3:…`.
    pub repository: String,
    /// Absolute paths to back up.
    pub paths: Vec<String>,
    #[serde(default)]
    pub excludes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_hook: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_hook: Option<String>,
    /// Daily at this local time of the host, "HH:MM"; default "02:00".
    #[serde(default = "crate::backups::default_schedule")]
    pub schedule: String,
    #[serde(default)]
    pub retention: Retention,
    #[serde(default = "crate::backups::seven")]
    pub check_every_days: u32,
    #[serde(default = "crate::backups::default_read_data_subset")]
    pub read_data_subset: String,
    #[serde(default = "crate::backups::seven")]
    pub restore_test_every_days: u32,
    #[serde(default = "crate::backups::twenty")]
    pub restore_test_files: u32,
}

impl BackupPlanSettings {
    /// These paths into this repository, with every other setting at its default.
    pub fn new(repository: String, paths: Vec<String>) -> BackupPlanSettings {
        BackupPlanSettings::of(BackupPlan::new("", &repository, Secret::default(), paths))
    }

    /// The plan these settings make with a name and a password.
    pub fn into_plan(self, name: String, password: Secret) -> BackupPlan {
        BackupPlan {
            name,
            repository: self.repository,
            password,
            paths: self.paths,
            excludes: self.excludes,
            pre_hook: self.pre_hook,
            post_hook: self.post_hook,
            schedule: self.schedule,
            retention: self.retention,
            check_every_days: self.check_every_days,
            read_data_subset: self.read_data_subset,
            restore_test_every_days: self.restore_test_every_days,
            restore_test_files: self.restore_test_files,
        }
    }

    /// A plan's settings, leaving its name and password behind.
    pub fn of(plan: BackupPlan) -> BackupPlanSettings {
        BackupPlanSettings {
            repository: plan.repository,
            paths: plan.paths,
            excludes: plan.excludes,
            pre_hook: plan.pre_hook,
            post_hook: plan.post_hook,
            schedule: plan.schedule,
            retention: plan.retention,
            check_every_days: plan.check_every_days,
            read_data_subset: plan.read_data_subset,
            restore_test_every_days: plan.restore_test_every_days,
            restore_test_files: plan.restore_test_files,
        }
    }
}

/// `PUT /api/v1/hosts/{id}/backup-plans/{name}`: the whole plan; the password is required when
/// the plan is created and kept when left out of a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetBackupPlan {
    #[serde(flatten)]
    pub settings: BackupPlanSettings,
    /// The repository's password; never returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
}

/// A stored plan as the API shows it: its password only as `has_password`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BackupPlanEntry {
    pub id: i64,
    pub host_id: i64,
    pub name: String,
    #[serde(flatten)]
    pub settings: BackupPlanSettings,
    pub has_password: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// One event a host's agent reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BackupEventEntry {
    pub id: i64,
    pub host_id: i64,
    /// When the work started, RFC 3339.
    pub started_at: String,
    pub event: BackupEvent,
}

/// The last run of something (a check, a restore test, a backup): when and whether it passed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LastRun {
    pub at: String,
    pub ok: bool,
}

/// One plan of one host in `GET /api/v1/backups/overview`; a host without plans appears once
/// with `plan` absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BackupOverviewEntry {
    pub client_id: i64,
    pub client: String,
    pub host_id: i64,
    pub hostname: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// Start of the newest successful backup, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_good_backup_at: Option<String>,
    /// Seconds since the newest successful backup started, at the time of the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_good_backup_age_secs: Option<i64>,
    /// The newest successful backup: snapshot, files, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_good_backup: Option<BackupRun>,
    /// The newest backup, successful or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_backup: Option<LastRun>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_restore_test: Option<LastRun>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_check: Option<LastRun>,
    /// What is wrong now, as the backup checks' alerts say it: this plan's findings and the
    /// host's 3-2-1 posture findings (target `3-2-1 posture`, on each of the host's rows).
    /// Empty when all is well, and for a host without plans.
    #[serde(default)]
    pub findings: Vec<BackupFindingEntry>,
}

/// One problem with a host's backups: the check that raises its alert, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BackupFindingEntry {
    /// The check, e.g. `backup_stale`, `restore_test_failed`, `no_off_site_copy`.
    pub kind: String,
    /// `warning` or `critical`.
    pub level: String,
    /// The plan's name, or `3-2-1 posture`.
    pub target: String,
    pub summary: String,
}
