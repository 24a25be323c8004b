//! The state checks: verdicts on what the agent's inventory says (disks, RAID, sensors,
//! services, packages, OS support, antivirus, time, certificates), one finding per target,
//! healthy or not.
//!
//! This module owns what each inventory value means. It must not remember anything between
//! two evaluations: what a check compares with (sector counts, resync progress) comes in as
//! the `previous` inventory, and the time as `now`.

mod storage;
mod system;

use jiff::Timestamp;
use serde_json::Value;
use tend_proto::agent::Sections;
use tend_proto::inventory as inv;

use super::catalogue::{
    ANTIVIRUS_SIGNATURES_OLD, CERTIFICATE_EXPIRING, CLOCK_UNSYNCHRONISED, DISK_SECTORS_GROWING, LISTENING_PORT_MISSING,
    NVME_CRITICAL_WARNING, NVME_WEAR, OS_END_OF_LIFE, RAID_DEGRADED, REBOOT_REQUIRED, SERVICE_FAILED, SMART_FAILED,
    TEMPERATURE,
};
use super::{CheckSettings, Finding, Level};

/// The inventory sections the state checks read. A section the agent did not send is `None`:
/// its checks are not evaluated, which is not the same as healthy.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Inventory {
    /// When the agent collected it: resync progress is judged over the time between two.
    pub collected_at: Timestamp,
    pub disks: Option<Vec<inv::Disk>>,
    pub raid: Option<inv::Raid>,
    pub sensors: Option<Vec<inv::Sensor>>,
    pub services: Option<inv::Services>,
    pub packages: Option<inv::Packages>,
    pub os: Option<inv::OsSupport>,
    pub antivirus: Option<inv::Antivirus>,
    pub time: Option<inv::TimeSync>,
    pub certificates: Option<Vec<inv::Certificate>>,
}

impl Inventory {
    /// The inventory sections of one report.
    pub fn from_sections(sections: &Sections, collected_at: Timestamp) -> Self {
        Inventory {
            collected_at,
            disks: sections.disks.clone(),
            raid: sections.raid.clone(),
            sensors: sections.sensors.clone(),
            services: sections.services.clone(),
            packages: sections.packages.clone(),
            os: sections.os.clone(),
            antivirus: sections.antivirus.clone(),
            time: sections.time.clone(),
            certificates: sections.certificates.clone(),
        }
    }
}

/// What one check's evaluation sees.
struct Readings<'a> {
    check: &'static str,
    previous: Option<&'a Inventory>,
    current: &'a Inventory,
    settings: CheckSettings,
    now: Timestamp,
}

impl Readings<'_> {
    fn finding(&self, target: &str, problem: Option<Level>, summary: String, evidence: Value) -> Finding {
        Finding { check: self.check.to_owned(), target: target.to_owned(), problem, summary, evidence }
    }
}

/// A state check: the section it needs and its verdicts.
struct StateCheck {
    name: &'static str,
    reads: fn(&Inventory) -> bool,
    evaluate: fn(&Readings<'_>) -> Vec<Finding>,
}

const STATE_CHECKS: [StateCheck; 13] = [
    StateCheck { name: SMART_FAILED, reads: |i| i.disks.is_some(), evaluate: storage::smart_failed },
    StateCheck { name: DISK_SECTORS_GROWING, reads: |i| i.disks.is_some(), evaluate: storage::disk_sectors_growing },
    StateCheck { name: NVME_WEAR, reads: |i| i.disks.is_some(), evaluate: storage::nvme_wear },
    StateCheck { name: NVME_CRITICAL_WARNING, reads: |i| i.disks.is_some(), evaluate: storage::nvme_critical_warning },
    StateCheck { name: RAID_DEGRADED, reads: |i| i.raid.is_some(), evaluate: storage::raid_degraded },
    StateCheck { name: TEMPERATURE, reads: |i| i.sensors.is_some(), evaluate: system::temperature },
    StateCheck { name: SERVICE_FAILED, reads: |i| i.services.is_some(), evaluate: system::service_failed },
    StateCheck {
        name: LISTENING_PORT_MISSING,
        reads: |i| i.services.is_some(),
        evaluate: system::listening_port_missing,
    },
    StateCheck { name: REBOOT_REQUIRED, reads: |i| i.packages.is_some(), evaluate: system::reboot_required },
    StateCheck {
        name: ANTIVIRUS_SIGNATURES_OLD,
        reads: |i| i.antivirus.is_some(),
        evaluate: system::antivirus_signatures_old,
    },
    StateCheck { name: CLOCK_UNSYNCHRONISED, reads: |i| i.time.is_some(), evaluate: system::clock_unsynchronised },
    StateCheck {
        name: CERTIFICATE_EXPIRING,
        reads: |i| i.certificates.is_some(),
        evaluate: system::certificate_expiring,
    },
    StateCheck { name: OS_END_OF_LIFE, reads: |i| i.os.is_some(), evaluate: system::os_end_of_life },
];

/// The verdicts of every enabled state check whose section `current` holds, one per target it
/// could judge, healthy or not, in catalogue order. `settings` gives a check's effective
/// settings by name. `previous` is an earlier inventory of the same host: sector counts and
/// resync progress are compared with it, so a server that keeps it as a baseline (replaced once
/// it is older than `resync_stuck_minutes`, or when a problem was acknowledged) keeps a growth
/// visible until then.
pub fn evaluate_inventory(
    previous: Option<&Inventory>,
    current: &Inventory,
    settings: &impl Fn(&str) -> CheckSettings,
    now: Timestamp,
) -> Vec<Finding> {
    STATE_CHECKS
        .iter()
        .filter(|check| (check.reads)(current))
        .flat_map(|check| {
            let settings = settings(check.name);
            if !settings.enabled {
                return Vec::new();
            }
            (check.evaluate)(&Readings { check: check.name, previous, current, settings, now })
        })
        .collect()
}

/// The state checks whose section `current` holds, enabled or not. A target that vanished
/// cannot report itself healthy (a unit that recovered leaves the list of failed units, a disk
/// is removed): an open alert of one of these checks on a target without a finding now is over.
pub fn evaluated_checks(current: &Inventory) -> Vec<&'static str> {
    STATE_CHECKS.iter().filter(|check| (check.reads)(current)).map(|check| check.name).collect()
}

/// Days from `from` to `to`, fractional, negative when `to` is earlier.
fn days_between(from: Timestamp, to: Timestamp) -> f64 {
    to.duration_since(from).as_secs_f64() / 86_400.0
}

fn from_millis(ms: i64) -> Option<Timestamp> {
    Timestamp::from_millisecond(ms).ok()
}

#[cfg(test)]
mod tests;
