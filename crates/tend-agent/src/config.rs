//! The agent's configuration: `/etc/tend/agent.toml`, overridden by flags and `TEND_*`
//! variables in the binary.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::collect::CollectorConfig;

/// Shortest reporting interval the agent accepts.
pub const MIN_INTERVAL: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AgentConfig {
    /// Identity, sequence counter and spool.
    pub state_dir: PathBuf,
    /// Seconds between reports; default: what the server asks for (60).
    pub interval_secs: Option<u64>,
    /// Most disk space the spool of unsent reports may take.
    pub spool_max_bytes: u64,
    pub collectors: CollectorConfig,
    pub jobs: JobsConfig,
    pub backup: BackupConfig,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            state_dir: PathBuf::from("/var/lib/tend-agent"),
            interval_secs: None,
            spool_max_bytes: 64 << 20,
            collectors: CollectorConfig::default(),
            jobs: JobsConfig::default(),
            backup: BackupConfig::default(),
        }
    }
}

impl AgentConfig {
    pub fn interval_override(&self) -> Option<Duration> {
        self.interval_secs.map(|secs| Duration::from_secs(secs).max(MIN_INTERVAL))
    }
}

/// `[jobs]`: what the agent does when the server hands it a job. The server chooses only the
/// kind; the command that carries it out is chosen here, on the host.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// Ask the server for jobs at all.
    pub enabled: bool,
    /// Program and arguments of a `reboot` job.
    pub reboot_command: Vec<String>,
    /// Program and arguments of a `shutdown` job.
    pub shutdown_command: Vec<String>,
    /// Program and arguments of a `power_cycle` job. From inside the host nothing cuts the
    /// power, so by default it reboots; `["systemctl", "reboot", "--force", "--force"]` resets
    /// at once, without stopping services.
    pub power_cycle_command: Vec<String>,
    /// Seconds a power command may take to return before it counts as failed and is killed.
    pub power_command_timeout_secs: u64,
    /// Run free-form `script` jobs (with `/bin/sh -c`). Off unless this host's own
    /// configuration turns it on: the server alone can never enable them.
    pub allow_scripts: bool,
    /// Seconds a script may run before it is killed.
    pub script_timeout_secs: u64,
    /// Seconds an `apply_updates` job may take, package list refresh included, before the
    /// package manager is killed and the job failed.
    pub apply_updates_timeout_secs: u64,
    /// apt-get, for `apply_updates` on Debian-family hosts.
    pub apt_get: String,
    /// dpkg-query, which lists the installed versions before and after an update.
    pub dpkg_query: String,
    /// dnf, for `apply_updates` on hosts without apt-get.
    pub dnf: String,
    /// Extra arguments given to every apt-get of an `apply_updates` job, before the command:
    /// e.g. `["-o", "Acquire::http::Proxy=http://proxy:3128"]`.
    pub apt_options: Vec<String>,
}

impl Default for JobsConfig {
    fn default() -> Self {
        let command = |words: &[&str]| words.iter().map(|w| (*w).to_owned()).collect();
        JobsConfig {
            enabled: true,
            reboot_command: command(&["systemctl", "reboot"]),
            shutdown_command: command(&["systemctl", "poweroff"]),
            power_cycle_command: command(&["systemctl", "reboot"]),
            power_command_timeout_secs: 60,
            allow_scripts: false,
            script_timeout_secs: 600,
            apply_updates_timeout_secs: 1800,
            apt_get: "apt-get".into(),
            dpkg_query: "dpkg-query".into(),
            dnf: "dnf".into(),
            apt_options: Vec::new(),
        }
    }
}

/// `[backup]`: how this host runs the backups the server plans. The server names hooks; the
/// commands behind the names are chosen here, on the host, like job commands.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct BackupConfig {
    /// Run the backup plans the server gives this host at all.
    pub enabled: bool,
    /// Seconds between asks for changed plans (a conditional GET: cheap when nothing changed).
    pub plans_refresh_secs: u64,
    /// The restic program.
    pub restic: String,
    /// Hooks a plan may name as `pre_hook` or `post_hook`: name = program and arguments, e.g.
    /// `dump-db = ["/usr/local/bin/dump-db", "--all"]`.
    pub hooks: BTreeMap<String, Vec<String>>,
    /// Seconds a hook may run before it is killed and the backup failed.
    pub hook_timeout_secs: u64,
    /// Seconds one `restic backup` may run before it is killed.
    pub backup_timeout_secs: u64,
    /// Seconds one `restic forget --prune` may run.
    pub forget_timeout_secs: u64,
    /// Seconds one `restic check` may run.
    pub check_timeout_secs: u64,
    /// Seconds a whole restore test may take (listing, restoring, reading back).
    pub restore_test_timeout_secs: u64,
    /// Seconds the short restic commands may take (version, snapshots, init, unlock).
    pub command_timeout_secs: u64,
    /// Run `restore` jobs whose target is `/`, which put files back over the live ones. Off
    /// unless this host's own configuration turns it on: the server alone can never overwrite
    /// a customer's live files. Restores into another directory need no permission here.
    pub allow_restore_in_place: bool,
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig {
            enabled: true,
            plans_refresh_secs: 300,
            restic: "restic".into(),
            hooks: BTreeMap::new(),
            hook_timeout_secs: 1800,
            backup_timeout_secs: 6 * 3600,
            forget_timeout_secs: 3 * 3600,
            check_timeout_secs: 6 * 3600,
            restore_test_timeout_secs: 3600,
            command_timeout_secs: 600,
            allow_restore_in_place: false,
        }
    }
}
