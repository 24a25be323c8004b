//! `tend agent parse KIND FILE`: every parser of the agent by the name of what it reads.
//!
//! The same functions the collectors use, so a customer's odd tool output can be examined, and
//! fuzzed (`fuzz/`), exactly as the agent reads it.

use std::path::Path;

use serde::Serialize;

use super::services::SocketProtocol;
use super::source::read_text;
use super::{
    ParseError, antivirus, certificates, facts, meminfo, metrics, os, packages, raid, sensors, services, smart, time,
};
use crate::Error;

/// (kind, what the input is). Kinds read from text unless said otherwise.
pub const KINDS: &[(&str, &str)] = &[
    ("smartctl", "output of `smartctl --json -a DEVICE`"),
    ("smartctl-scan", "output of `smartctl --scan-open`"),
    ("mdstat", "/proc/mdstat"),
    ("mdadm-detail", "output of `mdadm --detail /dev/mdN`"),
    ("hwmon", "a directory laid out like /sys/class/hwmon"),
    ("ipmitool-sdr", "output of `ipmitool sdr` or `ipmitool sdr elist full`"),
    ("systemctl-units", "output of `systemctl list-units --all --type=service --output=json`"),
    ("proc-net-tcp", "/proc/net/tcp or /proc/net/tcp6"),
    ("proc-net-udp", "/proc/net/udp or /proc/net/udp6"),
    ("dpkg-status", "/var/lib/dpkg/status"),
    ("apt-upgradable", "output of `apt list --upgradable`"),
    ("apt-simulate", "output of `apt-get -s dist-upgrade`"),
    ("rpm-qa", "output of `rpm -qa` (plain or with tend's query format)"),
    ("dnf-updateinfo", "output of `dnf updateinfo list`"),
    ("os-release", "/etc/os-release (support status as of today)"),
    ("clamav-db", "a ClamAV database directory (.cvd/.cld headers)"),
    ("clamscan-log", "a clamscan log with SCAN SUMMARY blocks"),
    ("timedatectl", "output of `timedatectl show`"),
    ("chronyc-tracking", "output of `chronyc tracking`"),
    ("certificate", "a PEM certificate file"),
    ("meminfo", "/proc/meminfo"),
    ("cpuinfo", "/proc/cpuinfo"),
    ("loadavg", "/proc/loadavg"),
    ("mounts", "/proc/self/mounts"),
    ("net-dev", "/proc/net/dev"),
    ("proc-stat", "/proc/stat (CPU times)"),
];

/// Parses `path` as `kind` into the JSON the agent would report.
pub fn parse(kind: &str, path: &Path) -> Result<serde_json::Value, Error> {
    match kind {
        "hwmon" => json_of(sensors::read_hwmon(path)?),
        "clamav-db" => json_of(antivirus::read_clamav_dir(path)?),
        "certificate" => json_of(certificates::read_certificate(path, jiff::Timestamp::now().as_millisecond())),
        _ if known(kind) => parse_text(kind, &read_text(path)?).map_err(|error| error.at(path)),
        other => Err(Error::Failed(format!(
            "unknown kind '{other}'; known: {}",
            KINDS.iter().map(|k| k.0).collect::<Vec<_>>().join(", ")
        ))),
    }
}

fn known(kind: &str) -> bool {
    KINDS.iter().any(|k| k.0 == kind)
}

/// Parses text of a text kind; the entry point of the fuzz targets. Never panics.
pub fn parse_text(kind: &str, text: &str) -> Result<serde_json::Value, ParseError> {
    match kind {
        "smartctl" => json(smart::parse_smartctl(text)),
        "smartctl-scan" => json(smart::parse_scan_open(text)),
        "mdstat" => json(raid::parse_mdstat(text)),
        "mdadm-detail" => json(raid::parse_mdadm_detail(text)),
        "ipmitool-sdr" => json(sensors::parse_ipmitool_sdr(text)),
        "systemctl-units" => json(services::parse_systemctl_units(text, &[])),
        "proc-net-tcp" => json(services::parse_proc_net(text, SocketProtocol::Tcp)),
        "proc-net-udp" => json(services::parse_proc_net(text, SocketProtocol::Udp)),
        "dpkg-status" => json(packages::parse_dpkg_status(text)),
        "apt-upgradable" => json(packages::parse_apt_upgradable(text)),
        "apt-simulate" => json(packages::parse_apt_simulate(text)),
        "rpm-qa" => json(packages::parse_rpm_qa(text)),
        "dnf-updateinfo" => json(packages::parse_dnf_updateinfo(text)),
        "os-release" => json(os::parse_os_support(text)),
        "clamscan-log" => json(antivirus::parse_scan_log(text)),
        "timedatectl" => json(time::parse_timedatectl_show(text)),
        "chronyc-tracking" => json(time::parse_chronyc_tracking(text)),
        "meminfo" => json(meminfo::parse_meminfo(text)),
        "cpuinfo" => json(facts::parse_cpuinfo(text)),
        "loadavg" => json(metrics::parse_loadavg(text)),
        "mounts" => json(metrics::parse_mounts(text)),
        "net-dev" => json(metrics::parse_net_dev(text)),
        "proc-stat" => json(metrics::parse_cpu_times(text)),
        other => Err(ParseError::Line { line: 0, reason: format!("'{other}' is not a text kind") }),
    }
}

fn json<T: Serialize>(parsed: Result<T, ParseError>) -> Result<serde_json::Value, ParseError> {
    parsed.and_then(|value| {
        serde_json::to_value(value).map_err(|e| ParseError::Line { line: 0, reason: format!("not serializable: {e}") })
    })
}

fn json_of<T: Serialize>(value: T) -> Result<serde_json::Value, Error> {
    serde_json::to_value(value).map_err(|e| Error::Failed(format!("not serializable: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");

    #[test]
    fn every_kind_is_served() {
        for (kind, _) in KINDS {
            let dispatched = match *kind {
                "hwmon" | "clamav-db" | "certificate" => true,
                text_kind => !matches!(parse_text(text_kind, ""), Err(ParseError::Line { line: 0, .. })),
            };
            assert!(dispatched, "{kind} is listed but not parsed");
        }
    }

    #[test]
    fn unknown_kinds_and_files_are_errors_not_panics() {
        assert!(parse("nonsense", Path::new("/proc/meminfo")).unwrap_err().to_string().contains("unknown kind"));
        assert!(parse("mdstat", Path::new("/nonexistent/mdstat")).is_err());
        let garbled = parse("smartctl", Path::new(&format!("{TESTDATA}/proc/meminfo"))).unwrap_err();
        assert!(garbled.to_string().contains("meminfo"), "names the file: {garbled}");
    }

    #[test]
    fn garbage_never_panics_any_parser() {
        let garbage = ["", "\0\0\0", "{", "[]", "}}}", "md0 : active raid1 [", "Inst (", "\u{feff}x: y\n:::\n"];
        for (kind, _) in KINDS {
            for text in garbage {
                let _ = parse_text(kind, text);
            }
        }
    }
}
