use super::*;

pub(super) fn array(name: &str) -> inv::RaidArray {
    let member = |name: &str| inv::RaidMember { name: name.into(), role: "active".into() };
    inv::RaidArray {
        name: name.into(),
        level: Some("raid1".into()),
        state: "active".into(),
        disks_total: Some(2),
        disks_active: Some(2),
        members: vec![member("sda1"), member("sdb1")],
        sync_action: "none".into(),
        ..Default::default()
    }
}

fn with_raid(arrays: Vec<inv::RaidArray>, controllers: Vec<inv::RaidController>, collected_at: Timestamp) -> Inventory {
    Inventory { collected_at, raid: Some(inv::Raid { arrays, controllers }), ..Default::default() }
}

#[test]
fn smart_failed_judges_each_disk_with_a_verdict() {
    let disks = vec![
        inv::Disk { smart_passed: Some(true), ..disk("/dev/sda") },
        inv::Disk { smart_passed: Some(false), ..disk("/dev/sdb") },
        // No verdict (smartctl could not tell): nothing to judge.
        inv::Disk { smart_passed: None, ..disk("/dev/sdc") },
        inv::Disk { smart_passed: Some(false), device_type: Some("megaraid,3".into()), ..disk("/dev/bus/0") },
    ];
    let findings = evaluate("smart_failed", None, &with_disks(disks));
    assert_eq!(
        verdicts(&findings),
        [("/dev/sda", None), ("/dev/sdb", Some(Level::Critical)), ("/dev/bus/0 megaraid,3", Some(Level::Critical))]
    );
    assert_eq!(findings[1].summary, "SMART overall health failed: replace the disk (serial SERIAL-/dev/sdb)");
    assert_eq!(findings[1].evidence["smart_passed"], false);
}

#[test]
fn sectors_growing_between_inventories() {
    let sectors = |reallocated: Option<u64>, pending: Option<u64>| inv::Disk {
        reallocated_sectors: reallocated,
        pending_sectors: pending,
        ..disk("/dev/sda")
    };
    let cases = [
        // ((reallocated, pending) before, (reallocated, pending) now, level, summary)
        ((Some(0), Some(0)), (Some(0), Some(0)), None, "no new bad sectors (0 reallocated, 0 pending)"),
        (
            (Some(0), Some(0)),
            (Some(8), Some(0)),
            Some(Level::Warning),
            "8 new bad sectors: reallocated 0 → 8, pending 0 → 0",
        ),
        (
            (Some(8), Some(2)),
            (Some(9), Some(1)),
            Some(Level::Warning),
            "1 new bad sectors: reallocated 8 → 9, pending 2 → 1",
        ),
        (
            (Some(0), Some(0)),
            (Some(30), Some(20)),
            Some(Level::Critical),
            "50 new bad sectors: reallocated 0 → 30, pending 0 → 20",
        ),
        // A count that fell (pending sectors rewritten fine) is no growth.
        ((Some(8), Some(4)), (Some(8), Some(0)), None, "no new bad sectors (8 reallocated, 0 pending)"),
        // A count the drive does not give cannot grow.
        ((None, Some(0)), (Some(5), Some(0)), None, "no new bad sectors (5 reallocated, 0 pending)"),
    ];
    for ((realloc_before, pending_before), (realloc, pending), level, summary) in cases {
        let previous = with_disks(vec![sectors(realloc_before, pending_before)]);
        let finding =
            only(evaluate("disk_sectors_growing", Some(&previous), &with_disks(vec![sectors(realloc, pending)])));
        assert_eq!((finding.problem, finding.summary.as_str()), (level, summary));
    }
}

#[test]
fn sectors_are_compared_with_the_same_disk() {
    let sda = inv::Disk { reallocated_sectors: Some(8), pending_sectors: Some(0), ..disk("/dev/sda") };
    let first = only(evaluate("disk_sectors_growing", None, &with_disks(vec![sda.clone()])));
    assert_eq!((first.problem, first.summary.as_str()), (None, "first reading: 8 reallocated, 0 pending sectors"));
    // The same serial under another name after a reboot: compared, 8 → 8.
    let renamed = inv::Disk { device: "/dev/sdb".into(), ..sda.clone() };
    let earlier = with_disks(vec![inv::Disk { reallocated_sectors: Some(0), ..renamed.clone() }]);
    let finding = only(evaluate("disk_sectors_growing", Some(&earlier), &with_disks(vec![sda.clone()])));
    assert_eq!((finding.target.as_str(), finding.problem), ("/dev/sda", Some(Level::Warning)));
    assert_eq!(finding.evidence["reallocated_sectors"], serde_json::json!([0, 8]));
    // A replacement disk under the old name is a first reading, not a comparison.
    let replaced = inv::Disk { serial: Some("NEW".into()), reallocated_sectors: Some(0), ..sda.clone() };
    let previous = with_disks(vec![sda]);
    let finding = only(evaluate("disk_sectors_growing", Some(&previous), &with_disks(vec![replaced])));
    assert!(finding.summary.starts_with("first reading"), "{}", finding.summary);
}

#[test]
fn nvme_wear_by_percentage_used() {
    let cases = [
        (0, None),
        (89, None),
        (90, Some(Level::Warning)),
        (99, Some(Level::Warning)),
        (100, Some(Level::Critical)),
        (180, Some(Level::Critical)),
    ];
    for (used, level) in cases {
        let nvme = inv::Disk { percentage_used: Some(used), ..disk("/dev/nvme0") };
        let finding = only(evaluate("nvme_wear", None, &with_disks(vec![nvme, disk("/dev/sda")])));
        assert_eq!((finding.target.as_str(), finding.problem), ("/dev/nvme0", level), "{used} %");
        assert_eq!(finding.summary, format!("{used} % of the rated endurance used"));
    }
}

#[test]
fn nvme_critical_warning_names_its_bits() {
    let cases = [
        (0, None, "no critical warning"),
        (0b1, Some(Level::Critical), "critical warning: available spare below threshold"),
        (
            0b1100,
            Some(Level::Critical),
            "critical warning: reliability degraded by media or internal errors; media read-only",
        ),
        (0b1000_0000, Some(Level::Critical), "critical warning: bit 7"),
    ];
    for (bits, level, summary) in cases {
        let nvme = inv::Disk { critical_warning: Some(bits), ..disk("/dev/nvme0") };
        let finding = only(evaluate("nvme_critical_warning", None, &with_disks(vec![nvme, disk("/dev/sda")])));
        assert_eq!((finding.problem, finding.summary.as_str()), (level, summary), "{bits:#b}");
    }
}

#[test]
fn raid_arrays() {
    let failed_member = inv::RaidArray {
        degraded: true,
        disks_active: Some(1),
        disks_failed: 1,
        members: vec![
            inv::RaidMember { name: "sda1".into(), role: "active".into() },
            inv::RaidMember { name: "sdb1".into(), role: "failed".into() },
        ],
        ..array("md1")
    };
    let cases = [
        // (array, level, summary)
        (array("md0"), None, "raid1 active, healthy"),
        (failed_member, Some(Level::Critical), "degraded, 1 of 2 disks active; failed member sdb1"),
        (inv::RaidArray { disks_failed: 1, ..array("md2") }, Some(Level::Critical), "failed disks: 1"),
        (inv::RaidArray { state: "inactive".into(), ..array("md3") }, Some(Level::Critical), "inactive"),
    ];
    for (array, level, summary) in cases {
        let name = array.name.clone();
        let finding = only(evaluate("raid_degraded", None, &with_raid(vec![array], vec![], now())));
        assert_eq!(
            (finding.target.as_str(), finding.problem, finding.summary.as_str()),
            (name.as_str(), level, summary)
        );
    }
}

#[test]
fn a_resync_that_stands_still_for_an_hour_is_stuck() {
    let syncing =
        |percent: f64| inv::RaidArray { sync_action: "resync".into(), sync_percent: Some(percent), ..array("md0") };
    let minutes = |m: i64| now().checked_sub(SignedDuration::from_mins(m)).unwrap();
    let cases = [
        // (action and percent before, minutes before, percent now, level)
        (("resync", 42.0), 90, 42.0, Some(Level::Warning)),
        (("resync", 42.0), 60, 42.0, Some(Level::Warning)),
        (("resync", 42.0), 59, 42.0, None),
        (("resync", 42.0), 90, 42.1, None),
        // Another action before (a check finished, a resync began): no comparison.
        (("check", 42.0), 90, 42.0, None),
    ];
    for ((action, before), ago, percent, level) in cases {
        let earlier = inv::RaidArray { sync_action: action.into(), ..syncing(before) };
        let previous = with_raid(vec![earlier], vec![], minutes(ago));
        let finding =
            only(evaluate("raid_degraded", Some(&previous), &with_raid(vec![syncing(percent)], vec![], now())));
        assert_eq!(finding.problem, level, "{action} {before} {ago} min ago, now {percent}: {}", finding.summary);
    }
    let previous = with_raid(vec![syncing(42.0)], vec![], minutes(90));
    let finding = only(evaluate("raid_degraded", Some(&previous), &with_raid(vec![syncing(42.0)], vec![], now())));
    assert_eq!(finding.summary, "resync stuck at 42 % for 90 minutes");
}

#[test]
fn raid_controllers_by_their_tools_status() {
    let cases = [
        ("Controller Status: Optimal", None),
        ("Controller Status: OK; Cache Status: OK; Battery/Capacitor Status: OK", None),
        ("Volume state: Okay (OKY); Current operation: None", None),
        ("NotOpt: 0", None),
        ("NotOpt: 1", Some(Level::Critical)),
        ("Controller Status: OK; Battery/Capacitor Status: Failed", Some(Level::Critical)),
        ("Volume state: Degraded (DGD)", Some(Level::Critical)),
        ("Controller Status: Needs Attention", Some(Level::Warning)),
        ("Volume state: Okay (OKY); Current operation: Synchronize", Some(Level::Warning)),
    ];
    for (status, level) in cases {
        let controller =
            inv::RaidController { driver: "megaraid_sas".into(), status: Some(status.into()), ..Default::default() };
        let finding = only(evaluate("raid_degraded", None, &with_raid(vec![], vec![controller], now())));
        assert_eq!(
            (finding.target.as_str(), finding.problem, finding.summary.as_str()),
            ("megaraid_sas", level, status)
        );
    }
    let without_tool = inv::RaidController { driver: "hpsa".into(), tool_present: false, ..Default::default() };
    assert_eq!(evaluate("raid_degraded", None, &with_raid(vec![], vec![without_tool], now())), []);
}
