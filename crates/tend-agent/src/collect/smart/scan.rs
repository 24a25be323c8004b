//! `smartctl --scan-open`: the devices smartctl finds on the host and how to address each one.
//!
//! A line is `DEVICE -d TYPE # INFO, PROTOCOL device`; disks behind a RAID controller share the
//! controller's device and differ in their type (`/dev/bus/0 -d megaraid,3`). smartctl comments
//! out the line of a device it could not open and appends the reason; other comments (a failed
//! scan, `# scan_smart_devices: …`) name no device.

use serde::Serialize;

use crate::collect::source::{ParseError, numbered_lines};

/// What smartctl appends to the comment of a device it could not open, before the reason.
const OPEN_FAILED: &str = " device open failed:";

/// How smartctl comments on a scan that failed as a whole; it still exits with status 0.
const SCAN_FAILED: &str = "# scan_smart_devices:";

/// One device as `smartctl --scan-open` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScannedDevice {
    /// e.g. `/dev/sda`, or `/dev/bus/0` for every disk behind a MegaRAID controller.
    pub device: String,
    /// The `-d` type to read it with, e.g. `sat`, `nvme`, `megaraid,3`.
    pub device_type: String,
    /// `ATA`, `SCSI` or `NVMe`, from smartctl's comment.
    pub protocol: Option<String>,
    /// Why smartctl could not open the device, e.g. `Permission denied`.
    pub open_error: Option<String>,
}

/// Parses the output of `smartctl --scan-open` (or `--scan`, which has the same lines without
/// ever failing to open).
pub fn parse_scan_open(text: &str) -> Result<Vec<ScannedDevice>, ParseError> {
    let mut devices = Vec::new();
    for (number, line) in numbered_lines(text) {
        let line = line.trim();
        match line.strip_prefix('#') {
            Some(comment) if comment.contains(OPEN_FAILED) => devices.push(parse_device(number, comment.trim())?),
            Some(_) => {}
            None if line.is_empty() => {}
            None => devices.push(parse_device(number, line)?),
        }
    }
    Ok(devices)
}

/// smartctl's reason when the scan as a whole failed, e.g. an unknown `-d` type.
pub(super) fn scan_failure(text: &str) -> Option<&str> {
    text.lines().find_map(|line| line.trim().strip_prefix(SCAN_FAILED)).map(str::trim)
}

fn parse_device(number: usize, line: &str) -> Result<ScannedDevice, ParseError> {
    let (address, comment) = match line.split_once(" # ") {
        Some((address, comment)) => (address, Some(comment)),
        // With smartd directives after `--`, smartctl prints them instead of the comment.
        None => (line, None),
    };
    let Some((device, after_option)) = address.split_once(" -d ") else {
        return Err(ParseError::line(number, format!("expected \"DEVICE -d TYPE\", got {line:?}")));
    };
    let device = device.trim();
    let Some(device_type) = after_option.split_whitespace().next().filter(|_| !device.is_empty()) else {
        return Err(ParseError::line(number, format!("expected \"DEVICE -d TYPE\", got {line:?}")));
    };
    let (protocol, open_error) = comment.map(read_comment).unwrap_or_default();
    Ok(ScannedDevice { device: device.to_owned(), device_type: device_type.to_owned(), protocol, open_error })
}

/// `/dev/sda [SAT], ATA device` or `/dev/sda, SCSI device open failed: Permission denied`.
fn read_comment(comment: &str) -> (Option<String>, Option<String>) {
    let (description, open_error) = match comment.split_once(OPEN_FAILED) {
        Some((description, reason)) => {
            let reason = reason.trim();
            (description, Some(if reason.is_empty() { "no reason given" } else { reason }.to_owned()))
        }
        None => (comment.trim_end().strip_suffix(" device").unwrap_or(comment), None),
    };
    let protocol = description.rsplit_once(", ").map(|(_, protocol)| protocol.trim()).filter(|p| !p.is_empty());
    (protocol.map(str::to_owned), open_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = include_str!("../../../testdata/smartctl/local-scan-open-empty.txt");
    const INVALID_TYPE: &str = include_str!("../../../testdata/smartctl/local-scan-open-invalid-type.txt");
    const OPEN_FAILED_SDA: &str = include_str!("../../../testdata/smartctl/local-scan-open-sda-open-failed.txt");
    const SCAN_SDA: &str = include_str!("../../../testdata/smartctl/local-scan-sda.txt");
    const MEGARAID: &str = include_str!("../../../testdata/smartctl/glouton-proxmox1-scan.txt");
    const WITH_NVME: &str = include_str!("../../../testdata/smartctl/glouton-home1-scan.txt");

    fn device(device: &str, device_type: &str, protocol: &str) -> ScannedDevice {
        ScannedDevice {
            device: device.into(),
            device_type: device_type.into(),
            protocol: Some(protocol.into()),
            open_error: None,
        }
    }

    fn line_error(result: Result<Vec<ScannedDevice>, ParseError>) -> (usize, String) {
        match result {
            Err(ParseError::Line { line, reason }) => (line, reason),
            other => panic!("expected a line error, got {other:?}"),
        }
    }

    #[test]
    fn a_host_without_disks_smartctl_knows_lists_none() {
        assert_eq!(parse_scan_open(EMPTY), Ok(vec![]));
    }

    #[test]
    fn a_device_smartctl_could_not_open_keeps_the_reason() {
        let devices = parse_scan_open(OPEN_FAILED_SDA).unwrap();
        let expected =
            ScannedDevice { open_error: Some("Operation not permitted".into()), ..device("/dev/sda", "scsi", "SCSI") };
        assert_eq!(devices, vec![expected]);
    }

    #[test]
    fn the_same_device_as_plain_scan_lists_it() {
        assert_eq!(parse_scan_open(SCAN_SDA), Ok(vec![device("/dev/sda", "scsi", "SCSI")]));
    }

    #[test]
    fn disks_behind_a_megaraid_controller_share_its_device() {
        let devices = parse_scan_open(MEGARAID).unwrap();
        assert_eq!(devices.len(), 15);
        assert_eq!(devices[0], device("/dev/sda", "scsi", "SCSI"));
        assert_eq!(devices[1], device("/dev/bus/0", "megaraid,0", "SCSI"));
        assert_eq!(devices[14], device("/dev/bus/0", "megaraid,13", "SCSI"));
    }

    #[test]
    fn nvme_and_sat_devices() {
        let devices = parse_scan_open(WITH_NVME).unwrap();
        assert_eq!(devices[2], device("/dev/nvme0", "nvme", "NVMe"));
        // Hand-written in smartctl's format for a SATA disk, the commonest line of all.
        let sat = parse_scan_open("/dev/sdb -d sat # /dev/sdb [SAT], ATA device\n").unwrap();
        assert_eq!(sat, vec![device("/dev/sdb", "sat", "ATA")]);
    }

    #[test]
    fn a_failed_scan_lists_nothing_and_says_why() {
        assert_eq!(parse_scan_open(INVALID_TYPE), Ok(vec![]));
        assert_eq!(
            scan_failure(INVALID_TYPE),
            Some("Invalid type 'megaraid', valid arguments are: by-id, ata, scsi, sat, nvme")
        );
        assert_eq!(scan_failure(MEGARAID), None);
    }

    #[test]
    fn lines_with_directives_instead_of_a_comment() {
        // Hand-written: `smartctl --scan-open -- -a` prints the directives after the type.
        let devices = parse_scan_open("/dev/sda -d sat -a -o on\n").unwrap();
        assert_eq!(devices, vec![ScannedDevice { protocol: None, ..device("/dev/sda", "sat", "") }]);
    }

    #[test]
    fn garbled_or_truncated_lines_are_errors_naming_the_line() {
        let (line, reason) = line_error(parse_scan_open("/dev/sda -d sat # /dev/sda [SAT], ATA device\n/dev/sdb -"));
        assert_eq!(line, 2);
        assert!(reason.contains("DEVICE -d TYPE"), "{reason}");
        assert_eq!(line_error(parse_scan_open("/dev/sda -d \n")).0, 1);
        assert_eq!(line_error(parse_scan_open(" -d sat # nothing\n")).0, 1);
        assert_eq!(line_error(parse_scan_open("\u{0}\u{fffd}garbage")).0, 1);
    }
}
