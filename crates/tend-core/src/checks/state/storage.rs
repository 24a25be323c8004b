//! Verdicts on disks and RAID: SMART health, growing bad sectors, NVMe wear and critical
//! warnings, software RAID arrays and hardware RAID controllers.

use serde_json::json;
use tend_proto::inventory as inv;

use super::{Finding, Inventory, Level, Readings};
use crate::checks::catalogue::RESYNC_STUCK_MINUTES;

/// The NVMe critical warning bits, lowest first (NVMe base specification, SMART / Health log).
const CRITICAL_WARNING_BITS: [&str; 6] = [
    "available spare below threshold",
    "temperature out of range",
    "reliability degraded by media or internal errors",
    "media read-only",
    "volatile memory backup failed",
    "persistent memory region read-only",
];

/// Words of a controller tool's status that mean a failure.
const FAILING_WORDS: [&str; 5] = ["fail", "degrad", "offline", "missing", "critical"];
/// How controller tools say all is well: `Optimal`, `OK`, `Okay (OKY)`, `None` (no operation).
const FINE_PREFIXES: [&str; 3] = ["optimal", "ok", "none"];

fn disks(inventory: &Inventory) -> impl Iterator<Item = &inv::Disk> {
    inventory.disks.iter().flatten()
}

/// A disk's name for people and alerts. Disks behind a RAID controller share its device
/// (`/dev/bus/0`) and differ in their type (`megaraid,3`), so the type is part of the name.
fn disk_target(disk: &inv::Disk) -> String {
    match &disk.device_type {
        Some(kind) if kind.contains(',') => format!("{} {kind}", disk.device),
        _ => disk.device.clone(),
    }
}

/// The same disk in an earlier inventory. Device names move between boots and a replaced disk
/// takes its predecessor's, so a disk with a serial number is found by it alone.
fn same_disk<'a>(earlier: &'a Inventory, disk: &inv::Disk) -> Option<&'a inv::Disk> {
    match &disk.serial {
        Some(serial) => disks(earlier).find(|before| before.serial.as_ref() == Some(serial)),
        None => disks(earlier).find(|before| disk_target(before) == disk_target(disk)),
    }
}

pub(super) fn smart_failed(r: &Readings<'_>) -> Vec<Finding> {
    disks(r.current)
        .filter_map(|disk| {
            let passed = disk.smart_passed?;
            let (problem, summary) = if passed {
                (None, "SMART overall health passed".to_owned())
            } else {
                let serial = disk.serial.as_deref().unwrap_or("unknown");
                (Some(Level::Critical), format!("SMART overall health failed: replace the disk (serial {serial})"))
            };
            let evidence = json!({ "model": disk.model, "serial": disk.serial, "smart_passed": passed });
            Some(r.finding(&disk_target(disk), problem, summary, evidence))
        })
        .collect()
}

pub(super) fn disk_sectors_growing(r: &Readings<'_>) -> Vec<Finding> {
    disks(r.current)
        .filter(|disk| disk.reallocated_sectors.is_some() || disk.pending_sectors.is_some())
        .map(|disk| {
            let before = r.previous.and_then(|previous| same_disk(previous, disk));
            let counts = |disk: Option<&inv::Disk>| {
                (disk.and_then(|d| d.reallocated_sectors), disk.and_then(|d| d.pending_sectors))
            };
            let (reallocated, pending) = counts(Some(disk));
            let (reallocated_before, pending_before) = counts(before);
            let grown = growth(reallocated_before, reallocated) + growth(pending_before, pending);
            let summary = match before {
                None => format!("first reading: {} reallocated, {} pending sectors", show(reallocated), show(pending)),
                Some(_) if grown == 0 => {
                    format!("no new bad sectors ({} reallocated, {} pending)", show(reallocated), show(pending))
                }
                Some(_) => format!(
                    "{grown} new bad sectors: reallocated {} → {}, pending {} → {}",
                    show(reallocated_before),
                    show(reallocated),
                    show(pending_before),
                    show(pending)
                ),
            };
            let problem = if grown == 0 { None } else { r.settings.level_at_least(grown as f64) };
            let evidence = json!({
                "serial": disk.serial,
                "reallocated_sectors": [reallocated_before, reallocated],
                "pending_sectors": [pending_before, pending],
            });
            r.finding(&disk_target(disk), problem, summary, evidence)
        })
        .collect()
}

/// Sectors added between two counts; a count that fell (pending sectors rewritten) adds none.
fn growth(before: Option<u64>, now: Option<u64>) -> u64 {
    before.zip(now).map_or(0, |(before, now)| now.saturating_sub(before))
}

fn show(count: Option<u64>) -> String {
    count.map_or_else(|| "?".to_owned(), |count| count.to_string())
}

pub(super) fn nvme_wear(r: &Readings<'_>) -> Vec<Finding> {
    disks(r.current)
        .filter_map(|disk| {
            let used = disk.percentage_used?;
            let summary = format!("{used} % of the rated endurance used");
            let evidence = json!({ "percentage_used": used, "available_spare_percent": disk.available_spare_percent });
            Some(r.finding(&disk_target(disk), r.settings.level_at_least(used as f64), summary, evidence))
        })
        .collect()
}

pub(super) fn nvme_critical_warning(r: &Readings<'_>) -> Vec<Finding> {
    disks(r.current)
        .filter_map(|disk| {
            let bits = disk.critical_warning?;
            let (problem, summary) = match bits {
                0 => (None, "no critical warning".to_owned()),
                _ => (Some(Level::Critical), format!("critical warning: {}", critical_warnings(bits).join("; "))),
            };
            Some(r.finding(&disk_target(disk), problem, summary, json!({ "critical_warning": bits })))
        })
        .collect()
}

fn critical_warnings(bits: u64) -> Vec<String> {
    (0..u64::BITS)
        .filter(|bit| bits & (1 << bit) != 0)
        .map(|bit| match CRITICAL_WARNING_BITS.get(bit as usize) {
            Some(meaning) => (*meaning).to_owned(),
            None => format!("bit {bit}"),
        })
        .collect()
}

pub(super) fn raid_degraded(r: &Readings<'_>) -> Vec<Finding> {
    let Some(raid) = &r.current.raid else { return Vec::new() };
    let arrays = raid.arrays.iter().map(|array| array_finding(r, array));
    arrays.chain(raid.controllers.iter().filter_map(|controller| controller_finding(r, controller))).collect()
}

fn array_finding(r: &Readings<'_>, array: &inv::RaidArray) -> Finding {
    let mut problems = Vec::new();
    if array.state == "inactive" {
        problems.push((Level::Critical, "inactive".to_owned()));
    }
    if array.degraded {
        let count = |count: Option<u32>| count.map_or_else(|| "?".to_owned(), |count| count.to_string());
        let active = format!("{} of {} disks active", count(array.disks_active), count(array.disks_total));
        problems.push((Level::Critical, format!("degraded, {active}")));
    }
    let failed: Vec<&str> =
        array.members.iter().filter(|member| member.role == "failed").map(|member| member.name.as_str()).collect();
    if !failed.is_empty() {
        problems.push((Level::Critical, format!("failed member {}", failed.join(", "))));
    } else if array.disks_failed > 0 {
        problems.push((Level::Critical, format!("failed disks: {}", array.disks_failed)));
    }
    if let Some(stuck) = resync_stuck(r, array) {
        problems.push((Level::Warning, stuck));
    }
    let problem = problems.iter().map(|(level, _)| *level).max();
    let summary = if problems.is_empty() {
        format!("{} {}, healthy", array.level.as_deref().unwrap_or("array"), array.state)
    } else {
        problems.into_iter().map(|(_, text)| text).collect::<Vec<_>>().join("; ")
    };
    let evidence = json!({
        "level": array.level, "state": array.state, "disks_total": array.disks_total,
        "disks_active": array.disks_active, "disks_failed": array.disks_failed, "failed_members": failed,
        "sync_action": array.sync_action, "sync_percent": array.sync_percent, "error": array.error,
    });
    r.finding(&array.name, problem, summary, evidence)
}

/// A resync (or recovery, reshape, check) that made no progress since the previous inventory,
/// at least `resync_stuck_minutes` ago. Closer inventories cannot tell slow from stuck.
fn resync_stuck(r: &Readings<'_>, array: &inv::RaidArray) -> Option<String> {
    let minutes = r.settings.param(RESYNC_STUCK_MINUTES)?;
    let percent = array.sync_percent.filter(|_| !matches!(array.sync_action.as_str(), "none" | ""))?;
    let previous = r.previous?;
    let before = previous.raid.as_ref()?.arrays.iter().find(|before| before.name == array.name)?;
    let before_percent = before.sync_percent.filter(|_| before.sync_action == array.sync_action)?;
    let elapsed = r.current.collected_at.duration_since(previous.collected_at);
    let stuck = percent <= before_percent && elapsed.as_secs_f64() >= minutes * 60.0;
    stuck.then(|| format!("{} stuck at {percent} % for {} minutes", array.sync_action, elapsed.as_mins()))
}

/// A controller whose tool stated its status; without a tool there is nothing to judge.
fn controller_finding(r: &Readings<'_>, controller: &inv::RaidController) -> Option<Finding> {
    let status = controller.status.as_deref()?;
    let problem = status.split("; ").map(status_level).max().flatten();
    let evidence = json!({ "tool": controller.tool, "status": status });
    Some(r.finding(&controller.driver, problem, status.to_owned(), evidence))
}

/// The level of one `Key: Value` of a controller tool's status. A number counts units that are
/// not optimal (tw_cli's `NotOpt`); words that are neither fine nor failing (`Needs
/// Attention`, `Rebuild`) are worth a look.
fn status_level(part: &str) -> Option<Level> {
    let value = part.split_once(':').map_or(part, |(_, value)| value).trim().to_ascii_lowercase();
    if FAILING_WORDS.iter().any(|word| value.contains(word)) {
        Some(Level::Critical)
    } else if let Ok(count) = value.parse::<u64>() {
        (count > 0).then_some(Level::Critical)
    } else if FINE_PREFIXES.iter().any(|prefix| value.starts_with(prefix)) {
        None
    } else {
        Some(Level::Warning)
    }
}
