//! Inventories built from the proto types, healthy and failing, for every state check.

mod storage;
mod system;

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};
use tend_proto::agent::Sections;
use tend_proto::inventory as inv;

use super::*;
use crate::checks::{CheckKind, default_checks};

/// A fixed "now" and the times around it, in days.
fn at(days: f64) -> Timestamp {
    Timestamp::from_second(1_800_000_000).unwrap().checked_add(SignedDuration::from_secs_f64(days * 86_400.0)).unwrap()
}

fn now() -> Timestamp {
    at(0.0)
}

fn ms(days: f64) -> i64 {
    at(days).as_millisecond()
}

fn defaults(check: &str) -> CheckSettings {
    default_checks().into_iter().find(|definition| definition.name == check).unwrap().defaults
}

/// The findings of one check with the catalogue's defaults.
fn evaluate(check: &str, previous: Option<&Inventory>, current: &Inventory) -> Vec<Finding> {
    evaluate_with(check, defaults(check), previous, current)
}

fn evaluate_with(
    check: &str,
    settings: CheckSettings,
    previous: Option<&Inventory>,
    current: &Inventory,
) -> Vec<Finding> {
    let settings = |name: &str| if name == check { settings.clone() } else { defaults(name) };
    evaluate_inventory(previous, current, &settings, now())
        .into_iter()
        .filter(|finding| finding.check == check)
        .collect()
}

/// Target and level of each finding, the shape most tables compare.
fn verdicts(findings: &[Finding]) -> Vec<(&str, Option<Level>)> {
    findings.iter().map(|finding| (finding.target.as_str(), finding.problem)).collect()
}

/// The one finding of a check that judges one target.
fn only(findings: Vec<Finding>) -> Finding {
    assert_eq!(findings.len(), 1, "{findings:#?}");
    findings.into_iter().next().unwrap()
}

fn disk(device: &str) -> inv::Disk {
    inv::Disk { device: device.into(), serial: Some(format!("SERIAL-{device}")), ..Default::default() }
}

fn with_disks(disks: Vec<inv::Disk>) -> Inventory {
    Inventory { collected_at: now(), disks: Some(disks), ..Default::default() }
}

/// A host where every state check has something healthy to look at.
fn healthy_host() -> Inventory {
    let sections = Sections {
        disks: Some(vec![inv::Disk {
            smart_passed: Some(true),
            reallocated_sectors: Some(0),
            pending_sectors: Some(0),
            percentage_used: Some(3),
            critical_warning: Some(0),
            ..disk("/dev/nvme0")
        }]),
        raid: Some(inv::Raid { arrays: vec![storage::array("md0")], controllers: vec![] }),
        sensors: Some(vec![system::sensor(45.0, Some(80.0), Some(100.0), None)]),
        services: Some(system::services(vec![system::unit("nginx.service", "active", true)])),
        packages: Some(inv::Packages { reboot_required: Some(false), ..Default::default() }),
        os: Some(system::os(Some("2028-06-30"), Some(false))),
        antivirus: Some(system::clamav(&[("daily", Some(-0.5))])),
        time: Some(inv::TimeSync { synchronized: true, offset_seconds: Some(0.002), ..Default::default() }),
        certificates: Some(vec![system::certificate(Some(90.0))]),
        ..Sections::default()
    };
    Inventory::from_sections(&sections, now())
}

#[test]
fn a_healthy_host_has_a_healthy_finding_from_every_state_check_in_catalogue_order() {
    let findings = evaluate_inventory(None, &healthy_host(), &defaults, now());
    let unhealthy: Vec<&Finding> = findings.iter().filter(|finding| finding.problem.is_some()).collect();
    assert!(unhealthy.is_empty(), "{unhealthy:#?}");
    let checks: Vec<&str> = findings.iter().map(|finding| finding.check.as_str()).collect();
    let mut seen: Vec<&str> = checks.clone();
    seen.dedup();
    // listening_port_missing has no ports to watch by default, so no finding.
    let mut expected = evaluated_checks(&healthy_host());
    expected.retain(|check| *check != "listening_port_missing");
    assert_eq!(seen, expected);
}

#[test]
fn state_checks_are_exactly_the_catalogue_state_checks() {
    let table: BTreeSet<&str> = STATE_CHECKS.iter().map(|check| check.name).collect();
    let catalogue: BTreeSet<&str> =
        default_checks().iter().filter(|check| check.kind == CheckKind::State).map(|check| check.name).collect();
    assert_eq!(table, catalogue);
    assert_eq!(table.len(), STATE_CHECKS.len());
}

#[test]
fn a_missing_section_is_not_evaluated() {
    let only_time = Inventory { time: healthy_host().time, ..Default::default() };
    assert_eq!(evaluated_checks(&only_time), ["clock_unsynchronised"]);
    let findings = evaluate_inventory(None, &only_time, &defaults, now());
    assert_eq!(verdicts(&findings), [("clock", None)]);
    assert_eq!(evaluated_checks(&Inventory::default()), [] as [&str; 0]);
}

#[test]
fn a_disabled_check_says_nothing_but_still_counts_as_evaluated() {
    let mut off = defaults("clock_unsynchronised");
    off.enabled = false;
    let unsynchronised = Inventory { time: Some(inv::TimeSync::default()), ..Default::default() };
    assert_eq!(evaluate_with("clock_unsynchronised", off, None, &unsynchronised), []);
    assert_eq!(evaluated_checks(&unsynchronised), ["clock_unsynchronised"]);
}

#[test]
fn from_sections_takes_the_inventory_sections() {
    let sections = Sections { time: healthy_host().time, disks: Some(vec![disk("/dev/sda")]), ..Sections::default() };
    let inventory = Inventory::from_sections(&sections, at(1.0));
    assert_eq!(inventory.collected_at, at(1.0));
    assert_eq!((inventory.time, inventory.disks), (sections.time, sections.disks));
    assert_eq!(inventory.raid, None);
}

#[test]
fn findings_serialize_for_the_alerting() {
    let finding = only(evaluate("clock_unsynchronised", None, &healthy_host()));
    let json = serde_json::to_value(&finding).unwrap();
    assert_eq!(json["check"], "clock_unsynchronised");
    assert_eq!(json["problem"], serde_json::Value::Null);
    assert_eq!(json["evidence"]["offset_seconds"], 0.002);
    let critical = Finding { problem: Some(Level::Critical), ..finding };
    assert_eq!(serde_json::to_value(&critical).unwrap()["problem"], "critical");
}
