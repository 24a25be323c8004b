//! The built-in catalogue: every check a new host gets, with the defaults an MSP would choose
//! before knowing anything about the host. Names are stable identifiers: overrides and alerts
//! refer to them, so a name is never reused for another meaning.

use std::collections::BTreeMap;

use super::{CheckDefinition, CheckKind, CheckSettings};
use crate::backups::FindingKind;

pub(super) const CPU_USAGE: &str = "cpu_usage";
pub(super) const MEMORY_USAGE: &str = "memory_usage";
pub(super) const DISK_USAGE: &str = "disk_usage";
pub(super) const INODE_USAGE: &str = "inode_usage";
pub(super) const LOAD_PER_CORE: &str = "load_per_core";
pub(super) const SWAP_USAGE: &str = "swap_usage";
pub(super) const HEARTBEAT: &str = "heartbeat";
pub(super) const SMART_FAILED: &str = "smart_failed";
pub(super) const DISK_SECTORS_GROWING: &str = "disk_sectors_growing";
pub(super) const NVME_WEAR: &str = "nvme_wear";
pub(super) const NVME_CRITICAL_WARNING: &str = "nvme_critical_warning";
pub(super) const RAID_DEGRADED: &str = "raid_degraded";
pub(super) const TEMPERATURE: &str = "temperature";
pub(super) const SERVICE_FAILED: &str = "service_failed";
pub(super) const LISTENING_PORT_MISSING: &str = "listening_port_missing";
pub(super) const REBOOT_REQUIRED: &str = "reboot_required";
pub(super) const ANTIVIRUS_SIGNATURES_OLD: &str = "antivirus_signatures_old";
pub(super) const CLOCK_UNSYNCHRONISED: &str = "clock_unsynchronised";
pub(super) const CERTIFICATE_EXPIRING: &str = "certificate_expiring";
pub(super) const OS_END_OF_LIFE: &str = "os_end_of_life";
pub(super) const DISK_FULL_FORECAST: &str = "disk_full_forecast";

/// `raid_degraded`: how long a resync may stand still before it counts as stuck.
pub(super) const RESYNC_STUCK_MINUTES: &str = "resync_stuck_minutes";
/// `service_failed`: units whose failure nobody needs to hear about.
pub(super) const IGNORED_UNITS: &str = "ignored_units";
/// `listening_port_missing`: the ports that must be listening, `443`, `tcp/443` or `udp/53`.
pub(super) const PORTS: &str = "ports";
/// `disk_full_forecast`: how far back the trend looks.
pub(super) const HISTORY_HOURS: &str = "history_hours";

const MINUTE: u64 = 60;

/// The checks every host gets, in the order they are listed to people.
pub fn default_checks() -> Vec<CheckDefinition> {
    let mut checks = resource_checks();
    checks.extend(hardware_checks());
    checks.extend(system_checks());
    checks.extend(backup_checks());
    checks
}

fn resource_checks() -> Vec<CheckDefinition> {
    vec![
        define(
            CPU_USAGE,
            "CPU busy, percent of all cores, at or above the thresholds for the pending time.",
            metric("cpu_percent", &[]),
            thresholds(Some(90.0), None, 15 * MINUTE),
        ),
        define(
            MEMORY_USAGE,
            "Memory in use (not available to programs), percent, at or above the thresholds.",
            metric("memory_used_percent", &[]),
            thresholds(Some(90.0), Some(95.0), 10 * MINUTE),
        ),
        define(
            DISK_USAGE,
            "Filesystem space used as df counts it (used / (used + available)), percent, per mountpoint.",
            metric("fs_used_percent", &["mountpoint"]),
            thresholds(Some(90.0), Some(95.0), 5 * MINUTE),
        ),
        define(
            INODE_USAGE,
            "Filesystem inodes used, percent, per mountpoint: a full inode table stops writes too.",
            metric("fs_inodes_used_percent", &["mountpoint"]),
            thresholds(Some(90.0), Some(95.0), 5 * MINUTE),
        ),
        define(
            LOAD_PER_CORE,
            "Five-minute load average divided by the CPU cores, at or above the thresholds.",
            metric("load5_per_core", &[]),
            thresholds(Some(2.0), Some(4.0), 15 * MINUTE),
        ),
        define(
            SWAP_USAGE,
            "Swap space used, percent; hosts without swap have nothing to check.",
            metric("swap_used_percent", &[]),
            thresholds(Some(80.0), Some(95.0), 15 * MINUTE),
        ),
        define(
            HEARTBEAT,
            "The agent reports on time: critical when two intervals and a grace period pass without a report.",
            CheckKind::Heartbeat,
            thresholds(None, None, 0),
        ),
    ]
}

fn hardware_checks() -> Vec<CheckDefinition> {
    vec![
        define(
            SMART_FAILED,
            "The disk's own SMART health verdict is failed: critical, replace the disk.",
            CheckKind::State,
            thresholds(None, None, 0),
        ),
        define(
            DISK_SECTORS_GROWING,
            "Reallocated plus pending sectors grew since the previous inventory, by at least the thresholds.",
            CheckKind::State,
            thresholds(Some(1.0), Some(50.0), 0),
        ),
        define(
            NVME_WEAR,
            "NVMe rated endurance used, percent, at or above the thresholds.",
            CheckKind::State,
            thresholds(Some(90.0), Some(100.0), 0),
        ),
        define(
            NVME_CRITICAL_WARNING,
            "The NVMe controller raises a critical warning (spare, temperature, reliability, read-only): critical.",
            CheckKind::State,
            thresholds(None, None, 0),
        ),
        define(
            RAID_DEGRADED,
            "A software RAID array is degraded, inactive, has a failed member or a resync stands still; a \
             hardware RAID controller reports a state other than optimal.",
            CheckKind::State,
            thresholds(None, None, 0).with_param(RESYNC_STUCK_MINUTES, 60.0),
        ),
        define(
            TEMPERATURE,
            "A temperature sensor reaches its own max (warning) or crit (critical) limit, or the thresholds, \
             in degrees Celsius, when set.",
            CheckKind::State,
            thresholds(None, None, 5 * MINUTE),
        ),
    ]
}

fn system_checks() -> Vec<CheckDefinition> {
    vec![
        define(
            SERVICE_FAILED,
            "A systemd unit failed (warning; critical for a watched unit), or a watched unit is not active.",
            CheckKind::State,
            thresholds(None, None, 2 * MINUTE).with_list(IGNORED_UNITS, &[]),
        ),
        define(
            LISTENING_PORT_MISSING,
            "A port in the `ports` list (443, tcp/443, udp/53) has nothing listening: critical.",
            CheckKind::State,
            thresholds(None, None, 2 * MINUTE).with_list(PORTS, &[]),
        ),
        define(
            REBOOT_REQUIRED,
            "Updates wait for a reboot since at least the thresholds, in days.",
            CheckKind::State,
            thresholds(Some(7.0), Some(30.0), 0),
        ),
        define(
            ANTIVIRUS_SIGNATURES_OLD,
            "The newest antivirus signature database was built at least the thresholds ago, in days.",
            CheckKind::State,
            thresholds(Some(3.0), Some(7.0), 0),
        ),
        define(
            CLOCK_UNSYNCHRONISED,
            "The clock is not synchronised (warning) or off by at least the thresholds, in seconds.",
            CheckKind::State,
            thresholds(Some(1.0), Some(60.0), 10 * MINUTE),
        ),
        define(
            CERTIFICATE_EXPIRING,
            "A configured certificate expires within the thresholds, in days; expired is critical.",
            CheckKind::State,
            thresholds(Some(21.0), Some(7.0), 0),
        ),
        define(
            OS_END_OF_LIFE,
            "The operating system's support ends within the thresholds, in days; 0 days left: support ended.",
            CheckKind::State,
            thresholds(Some(90.0), Some(0.0), 0),
        ),
        define(
            DISK_FULL_FORECAST,
            "At the trend of the last `history_hours`, a filesystem is full within the thresholds, in days.",
            CheckKind::Forecast,
            thresholds(Some(14.0), Some(3.0), 0).with_param(HISTORY_HOURS, 48.0),
        ),
    ]
}

/// One check per backup finding kind, named as the kind, the 3-2-1 posture's three included:
/// alerts are keyed by check and target, and the posture findings share one target, so one
/// check per kind lets each problem fire and resolve on its own. The thresholds are the
/// server's `[backups]` policy; a finding is a problem at once, since the rules already wait
/// out their graces.
fn backup_checks() -> Vec<CheckDefinition> {
    FindingKind::ALL
        .into_iter()
        .map(|kind| define(kind.as_str(), backup_description(kind), CheckKind::Backup, thresholds(None, None, 0)))
        .collect()
}

fn backup_description(kind: FindingKind) -> &'static str {
    match kind {
        FindingKind::NeverBackedUp => {
            "A backup plan has had no complete backup since it was made, for longer than a day plus the \
             policy's grace (warning) or its critical age: the data has no copy at all."
        }
        FindingKind::BackupStale => {
            "A plan's newest good backup is older than a day plus the policy's grace (warning) or its critical \
             age: look at the plan's last runs (`tend backup events`)."
        }
        FindingKind::BackupFailed => {
            "A plan's newest backup failed, or made an incomplete snapshot because files could not be read \
             (warning); several failures in a row are critical."
        }
        FindingKind::CheckFailed => {
            "The newest `restic check` of a plan's repository found damage: critical, the backups may not \
             restore; repair the repository."
        }
        FindingKind::CheckOverdue => {
            "A plan's repository was not checked within the plan's `check_every_days` plus the policy's grace \
             (warning): is the agent running its schedule?"
        }
        FindingKind::RetentionNotApplied => {
            "Good backups pile up without a successful `restic forget`: the repository only grows (warning)."
        }
        FindingKind::SizeAnomaly => {
            "A plan's newest backup added or read far more or far less than its recent median (warning): \
             ransomware or a runaway dump when it grows, a missing mount when it shrinks."
        }
        FindingKind::RestoreTestFailed => {
            "A plan's newest restore test failed to restore or verify the sampled files: critical, the \
             backups may not restore."
        }
        FindingKind::RestoreTestOverdue => {
            "No restore test within the plan's `restore_test_every_days` plus the policy's grace, or none yet \
             some days after the first snapshot (warning)."
        }
        FindingKind::TooFewCopies => {
            "3-2-1: fewer current copies of the host's data, the live data included, than the policy wants \
             (warning); the summary says what to fix."
        }
        FindingKind::TooFewRepositories => {
            "3-2-1: fewer backup repositories, or repositories at fewer distinct locations, than the policy \
             wants (warning)."
        }
        FindingKind::NoOffSiteCopy => {
            "3-2-1: no repository off the site holds a current backup (warning): a fire or theft takes the \
             backups with the host."
        }
    }
}

fn define(name: &'static str, description: &'static str, kind: CheckKind, defaults: CheckSettings) -> CheckDefinition {
    CheckDefinition { name, description, kind, defaults }
}

fn metric(metric: &str, labels_of_target: &[&str]) -> CheckKind {
    CheckKind::Metric {
        metric: metric.to_owned(),
        labels_of_target: labels_of_target.iter().map(|label| (*label).to_owned()).collect(),
    }
}

fn thresholds(warning: Option<f64>, critical: Option<f64>, pending_for_secs: u64) -> CheckSettings {
    CheckSettings {
        enabled: true,
        warning,
        critical,
        pending_for_secs,
        params: BTreeMap::new(),
        lists: BTreeMap::new(),
    }
}

impl CheckSettings {
    fn with_param(mut self, name: &str, value: f64) -> Self {
        self.params.insert(name.to_owned(), value);
        self
    }

    fn with_list(mut self, name: &str, values: &[&str]) -> Self {
        self.lists.insert(name.to_owned(), values.iter().map(|value| (*value).to_owned()).collect());
        self
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn names_are_unique_snake_case() {
        let checks = default_checks();
        let names: BTreeSet<&str> = checks.iter().map(|check| check.name).collect();
        assert_eq!(names.len(), checks.len(), "duplicate names");
        for name in names {
            let snake = name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            assert!(snake && !name.starts_with('_') && !name.ends_with('_'), "{name}");
        }
    }

    #[test]
    fn every_check_of_the_brief_exists_enabled() {
        let expected = [
            CPU_USAGE,
            MEMORY_USAGE,
            DISK_USAGE,
            INODE_USAGE,
            LOAD_PER_CORE,
            SWAP_USAGE,
            HEARTBEAT,
            SMART_FAILED,
            DISK_SECTORS_GROWING,
            NVME_WEAR,
            NVME_CRITICAL_WARNING,
            RAID_DEGRADED,
            TEMPERATURE,
            SERVICE_FAILED,
            LISTENING_PORT_MISSING,
            REBOOT_REQUIRED,
            ANTIVIRUS_SIGNATURES_OLD,
            CLOCK_UNSYNCHRONISED,
            CERTIFICATE_EXPIRING,
            OS_END_OF_LIFE,
            DISK_FULL_FORECAST,
        ];
        let backups = FindingKind::ALL.map(FindingKind::as_str);
        let checks = default_checks();
        let names: Vec<&str> = checks.iter().map(|check| check.name).collect();
        assert_eq!(names, [&expected[..], &backups[..]].concat());
        assert!(checks.iter().all(|check| check.defaults.enabled && !check.description.is_empty()));
    }

    #[test]
    fn disk_usage_warns_at_90_percent_for_five_minutes_and_is_critical_at_95() {
        let checks = default_checks();
        let disk = checks.iter().find(|check| check.name == DISK_USAGE).unwrap();
        assert_eq!(
            (disk.defaults.warning, disk.defaults.critical, disk.defaults.pending_for_secs),
            (Some(90.0), Some(95.0), 300)
        );
        assert_eq!(disk.kind, metric("fs_used_percent", &["mountpoint"]));
    }

    #[test]
    fn critical_is_past_warning_in_the_check_direction() {
        // Days-left checks are worse when lower; every other threshold is worse when higher.
        let lower_is_worse = [CERTIFICATE_EXPIRING, OS_END_OF_LIFE, DISK_FULL_FORECAST];
        for check in default_checks() {
            let (Some(warning), Some(critical)) = (check.defaults.warning, check.defaults.critical) else { continue };
            let ordered = if lower_is_worse.contains(&check.name) { critical < warning } else { critical > warning };
            assert!(ordered, "{}: warning {warning}, critical {critical}", check.name);
        }
    }

    #[test]
    fn backup_checks_are_problems_at_once_without_thresholds() {
        let backups: Vec<CheckDefinition> =
            default_checks().into_iter().filter(|check| check.kind == CheckKind::Backup).collect();
        assert_eq!(backups.len(), FindingKind::ALL.len());
        for check in backups {
            let defaults = &check.defaults;
            assert_eq!(
                (defaults.warning, defaults.critical, defaults.pending_for_secs),
                (None, None, 0),
                "{}",
                check.name
            );
        }
    }

    #[test]
    fn settings_serialize_for_the_api() {
        let checks = default_checks();
        let ports = checks.iter().find(|check| check.name == LISTENING_PORT_MISSING).unwrap();
        let json = serde_json::to_value(ports).unwrap();
        assert_eq!(json["kind"], serde_json::json!({"kind": "state"}));
        assert_eq!(json["defaults"]["lists"], serde_json::json!({"ports": []}));
        let usage = serde_json::to_value(&checks[2].kind).unwrap();
        assert_eq!(
            usage,
            serde_json::json!({"kind": "metric", "metric": "fs_used_percent", "labels_of_target": ["mountpoint"]})
        );
    }
}
