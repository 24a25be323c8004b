use super::controllers;
use super::*;
use crate::collect::compliance;

const NODE_EXPORTER: &str = include_str!("../../../testdata/raid/node_exporter-mdstat");
const NODE_EXPORTER_TABS: &str = include_str!("../../../testdata/raid/node_exporter-mdstat-tabs");
const NODE_EXPORTER_INVALID: &str = include_str!("../../../testdata/raid/node_exporter-mdstat_invalid");
const PYMDSTAT_RECOVERY: &str = include_str!("../../../testdata/raid/pymdstat-mdstat.05");
const PYMDSTAT_FAILED: &str = include_str!("../../../testdata/raid/pymdstat-mdstat.07");
const PYMDSTAT_INACTIVE: &str = include_str!("../../../testdata/raid/pymdstat-mdstat.09");
const PYMDSTAT_RESHAPE: &str = include_str!("../../../testdata/raid/pymdstat-mdstat.13");
const PYMDSTAT_NAMED: &str = include_str!("../../../testdata/raid/pymdstat-mdstat.02");
const PYMDSTAT_NO_TRAILER: &str = include_str!("../../../testdata/raid/pymdstat-mdstat.16");
const PYMDSTAT_INACTIVE_MIXED: &str = include_str!("../../../testdata/raid/pymdstat-mdstat.11");
const TELEGRAF_CHECK: &str = include_str!("../../../testdata/raid/telegraf-mdstat-check");
const TELEGRAF_FAILED_DISK: &str = include_str!("../../../testdata/raid/telegraf-mdstat-failed-disk");
const TELEGRAF_EMPTY: &str = include_str!("../../../testdata/raid/telegraf-mdstat-empty");
const JC_RECOVERING: &str = include_str!("../../../testdata/raid/jc-mdadm-query-raid1-faulty-with-spare.out");
const JC_SYNCING: &str = include_str!("../../../testdata/raid/jc-mdadm-query-raid1-syncing.out");
const JC_REMOVED: &str = include_str!("../../../testdata/raid/jc-mdadm-query-raid1-faulty-and-removed.out");
const JC_RAID0: &str = include_str!("../../../testdata/raid/jc-mdadm-query-raid0-ok.out");
const JC_FLAGS: &str = include_str!("../../../testdata/raid/jc-mdadm-query-raid1-failed-and-flags.out");
const JC_CLEAN: &str = include_str!("../../../testdata/raid/jc-mdadm-query-detail.out");
const IRONIC_INACTIVE: &str = include_str!("../../../testdata/raid/ironic-mdadm-detail-broken-raid0");

fn array<'a>(arrays: &'a [inv::RaidArray], name: &str) -> &'a inv::RaidArray {
    arrays.iter().find(|array| array.name == name).unwrap_or_else(|| panic!("no {name} in {arrays:?}"))
}

fn members(array: &inv::RaidArray) -> Vec<(&str, &str)> {
    array.members.iter().map(|member| (member.name.as_str(), member.role.as_str())).collect()
}

#[test]
fn node_exporter_capture_every_array() {
    let arrays = parse_mdstat(NODE_EXPORTER).unwrap();
    let names: Vec<&str> = arrays.iter().map(|array| array.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "md3", "md127", "md0", "md4", "md6", "md8", "md7", "md9", "md10", "md11", "md12", "md126", "md219", "md00",
            "md120", "md101"
        ]
    );
    assert!(arrays.iter().all(|array| array.error.is_none()), "{arrays:#?}");
}

#[test]
fn raid6_with_spares() {
    let arrays = parse_mdstat(NODE_EXPORTER).unwrap();
    let md3 = array(&arrays, "md3");
    assert_eq!((md3.level.as_deref(), md3.state.as_str()), (Some("raid6"), "active"));
    assert_eq!((md3.disks_total, md3.disks_active, md3.disks_spare, md3.disks_failed), (Some(8), Some(8), 2, 0));
    assert!(!md3.degraded);
    assert_eq!(md3.members.len(), 10);
    assert_eq!(md3.members[8], inv::RaidMember { name: "sdd1".into(), role: "spare".into() });
}

#[test]
fn recovering_mirror_with_failed_and_spare_members() {
    let arrays = parse_mdstat(NODE_EXPORTER).unwrap();
    let md6 = array(&arrays, "md6");
    assert_eq!(members(md6), [("sdb2", "failed"), ("sdc", "spare"), ("sda2", "active")]);
    assert_eq!((md6.disks_total, md6.disks_active, md6.disks_failed, md6.disks_spare), (Some(2), Some(1), 1, 1));
    assert!(md6.degraded);
    assert_eq!(md6.sync_action, "recovery");
    assert_eq!(md6.sync_percent, Some(8.5));
    assert_eq!(md6.sync_eta_seconds, Some(1020));
    assert_eq!(md6.sync_waiting, None);
}

#[test]
fn resync_delayed_and_pending() {
    let arrays = parse_mdstat(NODE_EXPORTER).unwrap();
    let md8 = array(&arrays, "md8");
    assert_eq!((md8.sync_action.as_str(), md8.sync_percent, md8.sync_eta_seconds), ("resync", Some(8.5), Some(1020)));
    let md9 = array(&arrays, "md9");
    assert_eq!(
        (md9.sync_action.as_str(), md9.sync_waiting.as_deref(), md9.sync_percent),
        ("resync", Some("delayed"), None)
    );
    assert_eq!((md9.disks_failed, md9.disks_spare), (2, 1));
    let md11 = array(&arrays, "md11");
    assert_eq!((md11.state.as_str(), md11.sync_waiting.as_deref()), ("auto-read-only", Some("pending")));
    assert_eq!((md11.disks_failed, md11.disks_spare), (1, 2));
}

#[test]
fn degraded_raid6_with_bitmap() {
    let arrays = parse_mdstat(NODE_EXPORTER).unwrap();
    let md7 = array(&arrays, "md7");
    assert!(md7.degraded);
    assert_eq!((md7.disks_total, md7.disks_active, md7.disks_failed), (Some(4), Some(3), 1));
    assert_eq!(md7.sync_action, "none");
}

#[test]
fn raid0_linear_read_only_and_inactive() {
    let arrays = parse_mdstat(NODE_EXPORTER).unwrap();
    let md10 = array(&arrays, "md10");
    assert_eq!((md10.level.as_deref(), md10.disks_total, md10.disks_active), (Some("raid0"), None, None));
    assert!(!md10.degraded);
    assert_eq!(array(&arrays, "md120").level.as_deref(), Some("linear"));
    let md101 = array(&arrays, "md101");
    assert_eq!((md101.state.as_str(), md101.members.len()), ("read-only", 3));
    let md4 = array(&arrays, "md4");
    assert_eq!((md4.state.as_str(), md4.level.as_deref()), ("inactive", Some("raid1")));
    assert_eq!(members(md4), [("sda3", "failed"), ("sdb3", "spare")]);
    let md219 = array(&arrays, "md219");
    assert_eq!((md219.state.as_str(), md219.level.as_deref(), md219.disks_spare), ("inactive", None, 3));
}

#[test]
fn tab_indented_capture() {
    let arrays = parse_mdstat(NODE_EXPORTER_TABS).unwrap();
    assert_eq!(arrays.len(), 12);
    let md8 = array(&arrays, "md8");
    assert_eq!((md8.disks_total, md8.sync_action.as_str(), md8.sync_percent), (Some(2), "resync", Some(8.5)));
    assert_eq!(array(&arrays, "md9").sync_waiting.as_deref(), Some("delayed"));
    assert_eq!(array(&arrays, "md11").sync_waiting.as_deref(), Some("pending"));
}

#[test]
fn check_reshape_and_raid10() {
    let check = parse_mdstat(TELEGRAF_CHECK).unwrap();
    let md2 = array(&check, "md2");
    assert_eq!((md2.level.as_deref(), md2.disks_total, md2.members.len()), (Some("raid10"), Some(12), 12));
    assert_eq!((md2.sync_action.as_str(), md2.sync_percent, md2.sync_eta_seconds), ("check", Some(94.3), Some(6096)));
    assert!(!md2.degraded);

    let reshape = parse_mdstat(PYMDSTAT_RESHAPE).unwrap();
    assert_eq!(reshape.len(), 1);
    let md127 = &reshape[0];
    assert_eq!((md127.level.as_deref(), md127.sync_action.as_str()), (Some("raid4"), "reshape"));
    assert_eq!((md127.sync_percent, md127.sync_eta_seconds, md127.degraded), (Some(2.1), Some(222), true));
}

#[test]
fn raid5_recovery_and_failed_mirror() {
    let recovery = parse_mdstat(PYMDSTAT_RECOVERY).unwrap();
    assert_eq!((recovery[0].disks_total, recovery[0].disks_active), (Some(6), Some(5)));
    assert_eq!((recovery[0].sync_percent, recovery[0].sync_eta_seconds), (Some(12.6), Some(7650)));

    let failed = parse_mdstat(PYMDSTAT_FAILED).unwrap();
    assert_eq!((failed[0].disks_total, failed[0].disks_active, failed[0].disks_failed), (Some(6), Some(4), 1));
    assert!(failed[0].degraded);

    let telegraf = parse_mdstat(TELEGRAF_FAILED_DISK).unwrap();
    assert_eq!(
        (telegraf[0].level.as_deref(), telegraf[0].disks_active, telegraf[0].degraded),
        (Some("raid5"), Some(3), true)
    );
}

#[test]
fn other_shapes_of_the_file() {
    let inactive = parse_mdstat(PYMDSTAT_INACTIVE).unwrap();
    assert_eq!(inactive.len(), 3);
    assert_eq!((inactive[2].state.as_str(), inactive[2].disks_spare, inactive[2].disks_total), ("inactive", 4, None));
    let mixed = parse_mdstat(PYMDSTAT_INACTIVE_MIXED).unwrap();
    assert_eq!(members(&mixed[0]), [("sda", "active"), ("sdb", "active"), ("sdc", "spare")]);
    assert_eq!(parse_mdstat(PYMDSTAT_NAMED).unwrap()[0].name, "md_d0");
    let untrailed = parse_mdstat(PYMDSTAT_NO_TRAILER).unwrap();
    assert_eq!((untrailed[0].disks_total, untrailed[0].members.len()), (Some(8), 8));
    assert_eq!(parse_mdstat(TELEGRAF_EMPTY).unwrap(), []);
    assert_eq!(parse_mdstat("").unwrap(), []);
}

#[test]
fn an_unknown_array_state_is_an_error_with_its_line() {
    assert_eq!(parse_mdstat(NODE_EXPORTER_INVALID), Err(ParseError::line(2, "md3: unknown state \"invalid\"")));
}

#[test]
fn garbled_files_hand_written() {
    for (text, line) in [
        ("Personalities : [raid1]\n      123 blocks [2/2] [UU]\n", 2),
        ("md0 active raid1 sda[0]\n", 1),
        ("Personalities : [raid1]\nsomething else\n", 2),
        ("md0 : active (sideways) raid1 sda[0]\n", 1),
        (" : active raid1\n", 1),
        ("md0 : \n", 1),
    ] {
        assert!(matches!(parse_mdstat(text), Err(ParseError::Line { line: l, .. }) if l == line), "{text:?}");
    }
}

#[test]
fn a_garbled_array_costs_only_itself_hand_written() {
    let text = "md0 : active raid1 sda1[0] sdb1[x]\n      10 blocks [2/2] [UU]\n\n\
                md1 : active raid1 sdc1[0] sdd1[1]\n      10 blocks [two/2] [UU]\n\
                \x20     [=>...]  recovery = 8.5% (1/2) finish=soon speed=1K/sec\n\n\
                md2 : active raid1 sde1[0] sdf1[1]\n      10 blocks [2/1] [U_]\n\
                \x20     [=>...]  recovery = 250.0% (1/2) finish=1.0min speed=1K/sec\n\
                md3 : active raid1 sdg1[0] sdh1[1]\n      10 blocks [2/2] [UU]\n\tresync=SOMEDAY\n\
                md4 : active raid1 sdi1[0] sdj1[1]\n      10 blocks [2/2] [UU]\n";
    let arrays = parse_mdstat(text).unwrap();
    assert_eq!(arrays.len(), 5);
    assert_eq!(arrays[0].error.as_deref(), Some("line 1: expected a member like sda1[0], got \"sdb1[x]\""));
    assert_eq!(arrays[0].members.len(), 1);
    assert_eq!(arrays[1].error.as_deref(), Some("line 5: disk count: expected a number, got \"two\""));
    assert_eq!(arrays[1].sync_percent, Some(8.5), "the progress line after the bad one is still read");
    assert_eq!(arrays[1].sync_eta_seconds, None);
    assert!(arrays[2].error.as_deref().is_some_and(|error| error.starts_with("line 10: recovery:")), "{:?}", arrays[2]);
    assert!(arrays[2].degraded);
    assert_eq!(arrays[3].error.as_deref(), Some("line 13: resync: unknown wait \"SOMEDAY\""));
    assert_eq!(arrays[4].error, None);
}

#[test]
fn truncated_captures_keep_what_was_read_hand_written() {
    for cut in 0..NODE_EXPORTER.len() {
        if let Some(prefix) = NODE_EXPORTER.get(..cut) {
            let _ = parse_mdstat(prefix);
        }
    }
    let arrays =
        parse_mdstat("md6 : active raid1 sdb2[2](F) sdc[1](S) sda2[0]\n      195310144 blocks [2/1] [U_]\n      [=>..")
            .unwrap();
    assert_eq!((arrays[0].degraded, arrays[0].sync_action.as_str()), (true, "none"));
}

#[test]
fn mdadm_detail_of_a_recovering_mirror() {
    let detail = parse_mdadm_detail(JC_RECOVERING).unwrap();
    assert_eq!(
        (detail.name.as_str(), detail.level.as_deref(), detail.state.as_str()),
        ("md127", Some("raid1"), "active")
    );
    assert_eq!(
        (detail.disks_total, detail.disks_active, detail.disks_failed, detail.disks_spare),
        (Some(2), Some(1), 1, 1)
    );
    assert!(detail.degraded);
    assert_eq!((detail.sync_action.as_str(), detail.sync_percent), ("recovery", Some(24.0)));
    assert_eq!(members(&detail), [("vda1", "active"), ("vda4", "spare"), ("vda2", "failed")]);
}

#[test]
fn mdadm_detail_other_captures() {
    let syncing = parse_mdadm_detail(JC_SYNCING).unwrap();
    assert_eq!((syncing.sync_action.as_str(), syncing.sync_percent, syncing.degraded), ("resync", Some(4.0), false));
    let removed = parse_mdadm_detail(JC_REMOVED).unwrap();
    assert_eq!((members(&removed), removed.degraded), (vec![("vda1", "active")], true));
    let raid0 = parse_mdadm_detail(JC_RAID0).unwrap();
    assert_eq!((raid0.name.as_str(), raid0.disks_total, raid0.disks_active), ("md0", Some(2), Some(2)));
    let flags = parse_mdadm_detail(JC_FLAGS).unwrap();
    assert_eq!(members(&flags), [("vda1", "active"), ("vda2", "active"), ("vda4", "failed")]);
    assert_eq!((flags.disks_failed, flags.degraded), (1, false));
    let clean = parse_mdadm_detail(JC_CLEAN).unwrap();
    assert_eq!((members(&clean), clean.sync_action.as_str()), (vec![("sdb1", "active"), ("sdc1", "active")], "none"));
    let inactive = parse_mdadm_detail(IRONIC_INACTIVE).unwrap();
    assert_eq!((inactive.name.as_str(), inactive.state.as_str(), inactive.disks_total), ("md126", "inactive", None));
    assert_eq!(members(&inactive), [("sda2", "active")]);
}

#[test]
fn garbled_mdadm_detail_hand_written() {
    assert_eq!(parse_mdadm_detail(""), Err(ParseError::Missing { field: "array header" }));
    assert!(matches!(parse_mdadm_detail("mdadm: cannot open /dev/md0\n"), Err(ParseError::Line { line: 1, .. })));
    let bad_count = "/dev/md0:\n  Raid Devices : two\n";
    assert!(matches!(parse_mdadm_detail(bad_count), Err(ParseError::Line { line: 2, .. })));
    let bad_row = "/dev/md0:\n    Number   Major   Minor   RaidDevice State\n       0     8\n";
    assert!(matches!(parse_mdadm_detail(bad_row), Err(ParseError::Line { line: 3, .. })));
    let bad_percent = "/dev/md0:\n    Rebuild Status : 140% complete\n";
    assert!(matches!(parse_mdadm_detail(bad_percent), Err(ParseError::Line { line: 2, .. })));
    for cut in 0..JC_RECOVERING.len() {
        if let Some(prefix) = JC_RECOVERING.get(..cut) {
            let _ = parse_mdadm_detail(prefix);
        }
    }
}

#[test]
fn mdadm_completes_what_mdstat_leaves_out() {
    let mut raid0 = parse_mdstat(NODE_EXPORTER).unwrap().into_iter().find(|array| array.name == "md0").unwrap();
    raid0.level = None;
    raid0.disks_total = None;
    complete_from_detail(&mut raid0, parse_mdadm_detail(JC_RAID0).unwrap());
    assert_eq!((raid0.level.as_deref(), raid0.disks_total), (Some("raid0"), Some(2)));

    let mut mirror =
        parse_mdstat("md127 : active raid1 vda1[0] vda4[3]\n      101376 blocks [2/2] [UU]\n").unwrap().remove(0);
    complete_from_detail(&mut mirror, parse_mdadm_detail(JC_RECOVERING).unwrap());
    assert!(mirror.degraded, "mdadm's bad news is kept");
    assert_eq!(
        (mirror.disks_active, mirror.disks_failed, mirror.disks_spare),
        (Some(2), 1, 0),
        "mdstat's counts stand"
    );
    assert_eq!((mirror.sync_action.as_str(), mirror.sync_percent), ("recovery", Some(24.0)));
    assert_eq!(mirror.members.len(), 2);

    let mut clean = parse_mdstat(NODE_EXPORTER).unwrap().remove(0);
    let before = clean.clone();
    complete_from_detail(&mut clean, parse_mdadm_detail(JC_CLEAN).unwrap());
    assert_eq!(clean, before, "a healthy detail changes nothing mdstat said");
}

#[test]
fn vendor_tool_summaries_hand_written() {
    let ssacli = "\nSmart Array P420i in Slot 0 (Embedded)\n   Controller Status: OK\n   Cache Status: OK\n   \
                  Battery/Capacitor Status: Failed (Replace Batteries)\n";
    let smart_array = vendor_tools("hpsa")[0];
    assert_eq!(
        summarize(smart_array.summary, ssacli).as_deref(),
        Some("Controller Status: OK; Cache Status: OK; Battery/Capacitor Status: Failed (Replace Batteries)")
    );
    let storcli = "Status :\n======\nController Status = Needs Attention\nMemory Correctable Errors = 0\n";
    assert_eq!(
        summarize(vendor_tools("megaraid_sas")[0].summary, storcli).as_deref(),
        Some("Controller Status: Needs Attention")
    );
    let tw_cli = "\nCtl   Model        (V)Ports  Drives   Units   NotOpt  RRate   VRate  BBU\n\
                  ------------------------------------------------------------------------\n\
                  c0    9650SE-2LP   2         2        1       1       1       1      -\n";
    assert_eq!(summarize(vendor_tools("3w-9xxx")[0].summary, tw_cli).as_deref(), Some("c0: NotOpt 1"));
    assert_eq!(summarize(vendor_tools("aacraid")[0].summary, "Command completed successfully.\n"), None);
    assert_eq!(
        vendor_tools("smartpqi").iter().map(|tool| tool.program).collect::<Vec<_>>(),
        ["arcconf", "ssacli", "hpssacli", "hpacucli"]
    );
    assert!(vendor_tools("e1000e").is_empty());
}

#[test]
fn bound_controllers_and_their_tools() {
    let sys = tempfile::tempdir().unwrap();
    let drivers = sys.path();
    for (driver, entries) in [
        ("megaraid_sas", &["0000:03:00.0", "bind", "module"][..]),
        ("mpt3sas", &["bind", "new_id"][..]),
        ("hpsa", &["0000:41:00.0"][..]),
    ] {
        std::fs::create_dir_all(drivers.join(driver)).unwrap();
        for entry in entries {
            std::fs::write(drivers.join(driver).join(entry), "").unwrap();
        }
    }
    assert!(controllers::has_bound_device(drivers, "megaraid_sas").unwrap());
    assert!(!controllers::has_bound_device(drivers, "mpt3sas").unwrap(), "a loaded driver without devices");
    assert!(!controllers::has_bound_device(drivers, "aacraid").unwrap(), "a driver that is not loaded");

    let tools = sys.path().join("bin");
    std::fs::create_dir_all(&tools).unwrap();
    std::fs::write(tools.join("perccli64"), "").unwrap();
    let found = controllers::find_tool(&vendor_tools("megaraid_sas"), std::slice::from_ref(&tools));
    assert_eq!(found.map(|(tool, path)| (tool.program, path)), Some(("perccli64", Some(tools.join("perccli64")))));
    let absent = controllers::find_tool(&vendor_tools("hpsa"), &[tools]);
    assert_eq!(absent.map(|(tool, path)| (tool.program, path)), Some(("ssacli", None)));

    let entries = read_controllers(drivers, &Budget::new(Duration::from_secs(5)));
    let seen: Vec<(&str, bool)> = entries.iter().map(|entry| (entry.driver.as_str(), entry.tool_present)).collect();
    assert_eq!(seen.iter().map(|(driver, _)| *driver).collect::<Vec<_>>(), ["megaraid_sas", "hpsa"]);
    let hpsa = &entries[1];
    if !hpsa.tool_present {
        assert_eq!((hpsa.tool.as_deref(), &hpsa.status, &hpsa.error), (Some("ssacli"), &None, &None));
    }
}

#[test]
fn a_spent_budget_runs_nothing() {
    let budget = Budget::new(Duration::ZERO);
    let error = budget.run("sh", &["-c", "exit 0"], Duration::from_secs(1)).unwrap_err();
    assert!(error.to_string().contains("time for tools is spent"), "{error}");
}

#[test]
fn the_collector_reports_an_absent_mdstat_as_no_arrays() {
    let dir = tempfile::tempdir().unwrap();
    let mut collector = RaidCollector { mdstat: dir.path().join("mdstat"), pci_drivers: dir.path().join("drivers") };
    assert_eq!(collector.collect().unwrap(), Section::Raid(inv::Raid::default()));
}

#[test]
fn the_collector_reads_a_captured_mdstat() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mdstat"), TELEGRAF_CHECK).unwrap();
    let mut collector = RaidCollector { mdstat: dir.path().join("mdstat"), pci_drivers: dir.path().join("drivers") };
    let Section::Raid(raid) = collector.collect().unwrap() else { panic!("not a raid section") };
    assert_eq!(raid.arrays.len(), 3);
    // mdadm, when installed here, cannot open these arrays: each says so rather than failing all.
    assert!(raid.arrays.iter().all(|array| array.error.as_deref().is_none_or(|error| error.contains("mdadm"))));
    std::fs::write(dir.path().join("mdstat"), NODE_EXPORTER_INVALID).unwrap();
    let error = collector.collect().unwrap_err();
    assert!(error.to_string().contains("mdstat:2: md3: unknown state"), "{error}");
}

#[test]
fn compliance_on_this_machine() {
    let mut collector = RaidCollector::new();
    match compliance::check(&mut collector) {
        Ok(Section::Raid(raid)) => assert!(raid.arrays.iter().all(|array| !array.name.is_empty())),
        Ok(other) => panic!("raid collector produced {other:?}"),
        Err(error) => panic!("raid collector failed on this machine: {error}"),
    }
}
