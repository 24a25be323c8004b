//! Typed jobs: what a technician asks an agent to do to its host, how the agent receives a job
//! and reports its result, and the standing authorizations of a client's contract that may
//! allow one.
//!
//! Agents run only these kinds, never a command chosen by the server: the command of each kind
//! is the agent's own configuration. `script`, the one free-form kind, runs only where the
//! agent's configuration enables it. Public API times are RFC 3339 strings; the agent protocol
//! speaks integer milliseconds, like reports.

use serde::{Deserialize, Serialize};

/// Longest output a job result carries, in bytes; the agent keeps the start of a longer one.
pub const MAX_OUTPUT_BYTES: usize = 64 * 1024;

/// Longest script a `script` job may carry, in bytes.
pub const MAX_SCRIPT_BYTES: usize = 64 * 1024;

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// A clean restart through the operating system.
    Reboot,
    /// Stop the host and leave it off.
    Shutdown,
    /// A hard reset, without the operating system's consent.
    PowerCycle,
    /// A free-form shell script (`params.script`); refused by agents that do not enable
    /// scripts.
    Script,
    /// Install pending package updates through the host's package manager
    /// ([`ApplyUpdatesParams`]).
    ApplyUpdates,
    /// Restore files or a whole snapshot of a backup plan into a directory
    /// ([`RestoreParams`]).
    Restore,
}

impl JobKind {
    pub const ALL: [JobKind; 6] = [
        JobKind::Reboot,
        JobKind::Shutdown,
        JobKind::PowerCycle,
        JobKind::Script,
        JobKind::ApplyUpdates,
        JobKind::Restore,
    ];

    /// The name stored and sent on the wire, as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Reboot => "reboot",
            JobKind::Shutdown => "shutdown",
            JobKind::PowerCycle => "power_cycle",
            JobKind::Script => "script",
            JobKind::ApplyUpdates => "apply_updates",
            JobKind::Restore => "restore",
        }
    }

    /// The kind named `name`, as [`JobKind::as_str`] writes it.
    pub fn from_name(name: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// Whether the job takes the host down, so that the agent may not live to see it end.
    pub fn takes_host_down(self) -> bool {
        matches!(self, JobKind::Reboot | JobKind::Shutdown | JobKind::PowerCycle)
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Authorized and waiting for the host's agent.
    Queued,
    /// Handed to the agent, which has not reported yet.
    Running,
    Succeeded,
    Failed,
    /// Not run: the agent's configuration forbids it, or the authorization had lapsed when the
    /// agent came for it. The result's output says why.
    Refused,
}

impl JobStatus {
    pub const ALL: [JobStatus; 5] =
        [JobStatus::Queued, JobStatus::Running, JobStatus::Succeeded, JobStatus::Failed, JobStatus::Refused];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Refused => "refused",
        }
    }

    pub fn from_name(name: &str) -> Option<JobStatus> {
        JobStatus::ALL.into_iter().find(|status| status.as_str() == name)
    }

    pub fn is_finished(self) -> bool {
        matches!(self, JobStatus::Succeeded | JobStatus::Failed | JobStatus::Refused)
    }
}

/// A job as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Job {
    pub id: i64,
    pub client_id: i64,
    pub host_id: i64,
    pub kind: JobKind,
    /// The kind's parameters: `{}` for power actions, `{"script": "…"}` for scripts,
    /// [`ApplyUpdatesParams`] and [`RestoreParams`] for theirs.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub params: serde_json::Value,
    pub status: JobStatus,
    /// The ticket the job belongs to: the one named when it was requested, or the one whose
    /// authorization allowed it. None: a standing authorization allowed it.
    pub ticket_id: Option<i64>,
    /// The user who asked for it.
    pub requested_by: Option<i64>,
    pub created_at: String,
    pub claimed_at: Option<String>,
    pub finished_at: Option<String>,
    pub result: Option<JobResult>,
}

/// `POST /api/v1/hosts/{id}/jobs`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewJob {
    pub kind: JobKind,
    /// The ticket the work is for. Its authorization is tried first and the job is recorded on
    /// it; without one, any open ticket of the host or a standing authorization may allow it.
    #[serde(default)]
    pub ticket_id: Option<i64>,
    /// The kind's parameters; none for power actions, `{"script": "…"}` for scripts,
    /// [`ApplyUpdatesParams`] and [`RestoreParams`] for theirs.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub params: serde_json::Value,
}

/// `GET /api/agent/v1/jobs/next`: a job handed to the agent, now `running`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentJob {
    pub id: i64,
    pub kind: JobKind,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub params: serde_json::Value,
    pub requested_at_ms: i64,
}

/// How a job ended, as the agent reports it (`POST /api/agent/v1/jobs/{id}/result`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobResult {
    pub ok: bool,
    /// The command's exit code; none when it did not exit by itself (killed at its deadline,
    /// still running when the host went down) or never started.
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// What the command printed (standard output, then standard error), at most
    /// [`MAX_OUTPUT_BYTES`]; or why the job was not run.
    #[serde(default)]
    pub output: String,
    #[serde(default)]
    pub duration_ms: u64,
    /// The job was not run because the agent's configuration forbids it; `ok` is false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refused: bool,
    /// `apply_updates` only: the packages whose installed version changed, from a comparison
    /// of the package database before and after (at most [`MAX_PACKAGES`]). None for other kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<PackageChange>>,
}

/// One package an `apply_updates` job changed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PackageChange {
    pub package: String,
    /// The version before; none: newly installed (a new dependency).
    pub from: Option<String>,
    /// The version after; none: removed.
    pub to: Option<String>,
}

/// Most package names an `apply_updates` job may name.
pub const MAX_PACKAGES: usize = 10_000;

/// The parameters of an `apply_updates` job:
///
/// ```json
/// {"packages": ["openssl", "libssl3"], "security_only": false, "refresh": true}
/// ```
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ApplyUpdatesParams {
    /// The packages to bring up to date (only those already installed are upgraded); empty:
    /// every pending update.
    pub packages: Vec<String>,
    /// Only updates from the distribution's security archive. With apt this upgrades every
    /// installed package with a newer version in a suite whose name ends in `-security` (or
    /// `/updates`); with dnf it is `--security`.
    pub security_only: bool,
    /// Refresh the package lists (`apt-get update`) first. On by default.
    #[serde(default = "yes")]
    pub refresh: bool,
}

fn yes() -> bool {
    true
}

impl ApplyUpdatesParams {
    /// Reads and checks `params` as a job carries them (`null` is `{}`).
    pub fn from_value(params: &serde_json::Value) -> Result<ApplyUpdatesParams, String> {
        let read: ApplyUpdatesParams = match params {
            serde_json::Value::Null => ApplyUpdatesParams { refresh: true, ..ApplyUpdatesParams::default() },
            other => serde_json::from_value(other.clone()).map_err(|e| e.to_string())?,
        };
        read.validate()?;
        Ok(read)
    }

    /// Package names must be Debian package names (which rpm names of the same shape also
    /// are): they reach the package manager's command line, so nothing else may pass.
    pub fn validate(&self) -> Result<(), String> {
        if self.packages.len() > MAX_PACKAGES {
            return Err(format!("at most {MAX_PACKAGES} packages may be named, not {}", self.packages.len()));
        }
        match self.packages.iter().find(|name| !is_package_name(name)) {
            Some(bad) => Err(format!(
                "{bad:?} is not a package name: lower-case letters, digits, '+', '-' and '.', at least two, \
                 starting with a letter or digit"
            )),
            None => Ok(()),
        }
    }
}

/// Debian Policy 5.6.1: at least two characters, lower-case letters, digits, `+`, `-` and `.`,
/// starting with a letter or digit. Never an option (`-…`) to the package manager.
pub fn is_package_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() >= 2
        && bytes.len() <= 255
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes.iter().all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.'))
}

/// Most paths a `restore` job may name.
pub const MAX_RESTORE_PATHS: usize = 1000;
/// Longest path (or target) a `restore` job may name, in bytes (Linux's `PATH_MAX`).
pub const MAX_RESTORE_PATH_BYTES: usize = 4096;

/// The parameters of a `restore` job:
///
/// ```json
/// {"plan": "nightly", "snapshot": "latest", "paths": ["/etc/hosts"], "target": "/var/tmp/restore"}
/// ```
///
/// restic restores a path `P` of the snapshot as `TARGET/P`, so a target of `/` puts the files
/// back in their original place, over the live ones ([`RestoreParams::restores_in_place`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RestoreParams {
    /// The backup plan whose repository holds the snapshot.
    pub plan: String,
    /// `latest` (the plan's newest snapshot of this host) or a snapshot id.
    #[serde(default = "latest")]
    pub snapshot: String,
    /// Absolute paths in the snapshot to restore; empty: the whole snapshot.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Absolute directory to restore into, created (0700) if missing; `/`: in place.
    pub target: String,
}

fn latest() -> String {
    "latest".into()
}

impl RestoreParams {
    /// Reads and checks `params` as a job carries them.
    pub fn from_value(params: &serde_json::Value) -> Result<RestoreParams, String> {
        let read: RestoreParams = serde_json::from_value(params.clone()).map_err(|e| e.to_string())?;
        read.validate()?;
        Ok(read)
    }

    /// Paths reach restic's command line and the target is created by the agent: only
    /// absolute paths without `..` (which would climb out of the target) pass, and a snapshot
    /// is `latest` or hexadecimal, never an option.
    pub fn validate(&self) -> Result<(), String> {
        if !crate::backups::is_name(&self.plan) {
            return Err(format!("plan {:?}: a plan is named by 1 to 64 of a-z, 0-9, '-' and '_'", self.plan));
        }
        let hex = (8..=64).contains(&self.snapshot.len()) && self.snapshot.bytes().all(|b| b.is_ascii_hexdigit());
        if self.snapshot != "latest" && !hex {
            return Err(format!(
                "snapshot {:?}: \"latest\" or a snapshot id (8 to 64 hexadecimal digits)",
                self.snapshot
            ));
        }
        if self.paths.len() > MAX_RESTORE_PATHS {
            return Err(format!("at most {MAX_RESTORE_PATHS} paths may be named, not {}", self.paths.len()));
        }
        for (what, path) in self.paths.iter().map(|p| ("path", p)).chain([("target", &self.target)]) {
            let climbs = path.split('/').any(|part| part == "..");
            if !path.starts_with('/') || climbs || path.contains('\0') || path.len() > MAX_RESTORE_PATH_BYTES {
                return Err(format!(
                    "{what} {path:?}: an absolute path without '..', at most {MAX_RESTORE_PATH_BYTES} bytes"
                ));
            }
        }
        Ok(())
    }

    /// Whether the restore writes over the live files: restic puts `P` at `TARGET/P`, so a
    /// target of `/` (however spelled: `//`, `/./`) is the original place.
    pub fn restores_in_place(&self) -> bool {
        std::path::Path::new(&self.target)
            .components()
            .all(|part| matches!(part, std::path::Component::RootDir | std::path::Component::CurDir))
    }
}

impl JobResult {
    /// The status a job ends in with this result.
    pub fn status(&self) -> JobStatus {
        if self.refused {
            JobStatus::Refused
        } else if self.ok {
            JobStatus::Succeeded
        } else {
            JobStatus::Failed
        }
    }
}

/// Keeps at most [`MAX_OUTPUT_BYTES`] of `text`, cut at a character boundary, with a note of
/// what was left out.
pub fn bounded_output(mut text: String) -> String {
    if text.len() <= MAX_OUTPUT_BYTES {
        return text;
    }
    let note = "\n[output cut at 64 KiB]";
    let mut cut = MAX_OUTPUT_BYTES - note.len();
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text.push_str(note);
    text
}

/// An action the customer may authorize once and for all in the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AuthorizedAction {
    Reboot,
    /// Also permits reboots.
    PowerCycle,
    Shutdown,
    /// Jobs that may destroy data, free-form scripts included.
    DestructiveJob,
}

/// One standing authorization of a client's contract; the contract's
/// `standing_authorizations` column is a JSON array of them:
///
/// ```json
/// [{"host_id": 12, "actions": ["reboot"],
///   "window": {"start": "2026-01-06T22:00", "time_zone": "Europe/Paris",
///              "duration_minutes": 120, "rrule": "FREQ=WEEKLY;BYDAY=TU"}}]
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StandingAuthorization {
    /// The host it covers; none: every host of the client.
    #[serde(default)]
    pub host_id: Option<i64>,
    pub actions: Vec<AuthorizedAction>,
    /// When it holds; none: at any time.
    #[serde(default)]
    pub window: Option<RecurringWindow>,
}

/// A window in the customer's local time, once or repeated by an RFC 5545 rule, as maintenance
/// windows are written.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RecurringWindow {
    /// Local start, `YYYY-MM-DDTHH:MM`, in `time_zone`; the first occurrence if the rule
    /// selects it, and the time of day of every occurrence.
    pub start: String,
    /// IANA time zone, e.g. `Europe/Paris`.
    pub time_zone: String,
    pub duration_minutes: i64,
    /// e.g. `FREQ=WEEKLY;BYDAY=SA`; none: once.
    #[serde(default)]
    pub rrule: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde() {
        for kind in JobKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
            assert_eq!(JobKind::from_name(kind.as_str()), Some(kind));
        }
        for status in JobStatus::ALL {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
            assert_eq!(JobStatus::from_name(status.as_str()), Some(status));
        }
        assert_eq!(JobKind::from_name("rm -rf"), None);
    }

    #[test]
    fn a_result_says_how_the_job_ended() {
        let ok = JobResult { ok: true, exit_code: Some(0), ..JobResult::default() };
        assert_eq!(ok.status(), JobStatus::Succeeded);
        assert_eq!(JobResult::default().status(), JobStatus::Failed);
        let refused = JobResult { refused: true, ..JobResult::default() };
        assert_eq!(refused.status(), JobStatus::Refused);
        assert!(!serde_json::to_string(&ok).unwrap().contains("refused"), "written only when true");
        let read: JobResult = serde_json::from_str(r#"{"ok": false}"#).unwrap();
        assert_eq!(read, JobResult::default());
    }

    #[test]
    fn restore_params_are_absolute_bounded_and_know_in_place() {
        let read =
            RestoreParams::from_value(&serde_json::json!({"plan": "nightly", "target": "/var/tmp/drill"})).unwrap();
        assert_eq!((read.snapshot.as_str(), read.paths.len()), ("latest", 0), "the whole latest snapshot by default");
        assert!(!read.restores_in_place());
        for target in ["/", "//", "/./"] {
            let params = serde_json::json!({"plan": "p", "paths": ["/etc/hosts"], "target": target});
            assert!(RestoreParams::from_value(&params).unwrap().restores_in_place(), "{target}");
        }
        for bad in [
            serde_json::json!({"plan": "p", "target": "tmp"}),
            serde_json::json!({"plan": "p", "target": "/tmp/../etc"}),
            serde_json::json!({"plan": "p", "target": "/tmp", "paths": ["etc/hosts"]}),
            serde_json::json!({"plan": "p", "target": "/tmp", "paths": ["/etc/../root"]}),
            serde_json::json!({"plan": "p", "target": "/tmp", "snapshot": "--help"}),
            serde_json::json!({"plan": "P Q", "target": "/tmp"}),
            serde_json::json!({"plan": "p", "target": "/tmp", "path": ["/etc"]}),
            serde_json::json!({"plan": "p", "target": "/tmp", "paths": vec!["/a"; MAX_RESTORE_PATHS + 1]}),
        ] {
            assert!(RestoreParams::from_value(&bad).is_err(), "{bad} accepted");
        }
        let id = serde_json::json!({"plan": "p", "target": "/tmp", "snapshot": "4fa3b2c1"});
        assert!(RestoreParams::from_value(&id).is_ok());
    }

    #[test]
    fn apply_updates_params_name_only_debian_packages() {
        let read =
            ApplyUpdatesParams::from_value(&serde_json::json!({"packages": ["openssl", "libstdc++6", "g++-12"]}))
                .unwrap();
        assert_eq!(read.packages.len(), 3);
        assert!(read.refresh && !read.security_only, "refresh by default");
        assert_eq!(ApplyUpdatesParams::from_value(&serde_json::Value::Null).unwrap().packages, Vec::<String>::new());
        assert!(ApplyUpdatesParams::from_value(&serde_json::Value::Null).unwrap().refresh);
        for bad in ["-oDebug=1", "OpenSSL", "a", "foo bar", "pkg;rm", "", ".hidden", "foo_bar", "x/y"] {
            let params = serde_json::json!({ "packages": [bad] });
            assert!(ApplyUpdatesParams::from_value(&params).is_err(), "{bad:?} accepted");
        }
        let many = serde_json::json!({ "packages": vec!["aa"; MAX_PACKAGES + 1] });
        assert!(ApplyUpdatesParams::from_value(&many).unwrap_err().contains("at most 10000"));
        assert!(ApplyUpdatesParams::from_value(&serde_json::json!({"package": ["aa"]})).is_err(), "a typo is refused");
        assert!(ApplyUpdatesParams::from_value(&serde_json::json!({"packages": "aa"})).is_err());
    }

    #[test]
    fn output_is_bounded_at_a_character_boundary() {
        assert_eq!(bounded_output("short".into()), "short");
        let long = "é".repeat(MAX_OUTPUT_BYTES);
        let cut = bounded_output(long);
        assert!(cut.len() <= MAX_OUTPUT_BYTES && cut.ends_with("[output cut at 64 KiB]"), "{}", cut.len());
    }

    #[test]
    fn standing_authorizations_read_as_documented() {
        let json = r#"[{"host_id": 12, "actions": ["reboot", "power_cycle"],
            "window": {"start": "2026-01-06T22:00", "time_zone": "Europe/Paris", "duration_minutes": 120,
                       "rrule": "FREQ=WEEKLY;BYDAY=TU"}},
            {"actions": ["shutdown"]}]"#;
        let read: Vec<StandingAuthorization> = serde_json::from_str(json).unwrap();
        assert_eq!(read[0].host_id, Some(12));
        assert_eq!(read[0].actions, vec![AuthorizedAction::Reboot, AuthorizedAction::PowerCycle]);
        assert_eq!(read[0].window.as_ref().unwrap().rrule.as_deref(), Some("FREQ=WEEKLY;BYDAY=TU"));
        assert_eq!(
            read[1],
            StandingAuthorization { host_id: None, actions: vec![AuthorizedAction::Shutdown], window: None }
        );
        let typo = r#"[{"actions": ["reboot"], "windows": null}]"#;
        assert!(serde_json::from_str::<Vec<StandingAuthorization>>(typo).is_err(), "a misspelt key is refused");
    }
}
