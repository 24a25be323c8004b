//! `smartctl --json -a DEV` (smartmontools 7+): one disk's identity and health as an [`inv::Disk`].
//!
//! smartctl prints different members for ATA, SCSI and NVMe devices and adds members between
//! releases, so every member is optional and unknown ones are ignored. A member of the wrong type
//! is left out and named in the disk's `error`, so that one odd value never costs the others.

use serde_json::Value;
use tend_proto::inventory as inv;

use super::reader::{Node, Reader};
use crate::collect::source::ParseError;

/// ATA attributes whose raw values count damage, by id (smartctl's usual name in the comment).
/// Vendors name them differently (Intel calls 199 `CRC_Error_Count`); the id is what is fixed.
const REALLOCATED_SECTORS: u64 = 5; // Reallocated_Sector_Ct
const PENDING_SECTORS: u64 = 197; // Current_Pending_Sector
const OFFLINE_UNCORRECTABLE: u64 = 198; // Offline_Uncorrectable
const UDMA_CRC_ERRORS: u64 = 199; // UDMA_CRC_Error_Count

/// smartctl's exit status is a bit mask. Bit 0 (command line refused, which includes "unable to
/// detect device type") and bit 1 (device could not be opened) mean the disk was not read; the
/// higher bits are findings about a disk that was read (failing, errors logged), which the
/// values themselves carry.
const NOT_READ_BITS: u64 = 0b11;

const NVME_HEALTH_LOG: &str = "nvme_smart_health_information_log";

/// smartctl options that take their value as the next argument, so that the value is not taken
/// for the device (see [`device_from_argv`]).
#[rustfmt::skip]
const OPTIONS_WITH_VALUE: &[&str] = &[
    "-q", "-d", "-T", "-b", "-r", "-s", "-o", "-S", "-l", "-v", "-P", "-t", "-F", "-n", "-B", "-f", "-g",
    "--quietmode", "--device", "--tolerance", "--badsum", "--report", "--smart", "--offlineauto", "--saveauto",
    "--log", "--vendorattribute", "--presets", "--test", "--firmwarebug", "--nocheck", "--drivedb", "--format",
    "--get", "--set",
];

/// Parses the JSON smartctl prints for one device.
///
/// Text that is not JSON (garbled or cut short) is an error naming the line. Valid JSON always
/// gives a disk: when smartctl could not read the device (exit status bits 0–1) its `error` is
/// smartctl's own error messages, and members of the wrong type are listed there too.
pub fn parse_smartctl(json: &str) -> Result<inv::Disk, ParseError> {
    let document: Value = serde_json::from_str(json).map_err(json_error)?;
    Ok(disk_from(&document))
}

fn json_error(error: serde_json::Error) -> ParseError {
    // serde_json ends its message with the position, which ParseError carries on its own.
    let message = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    let reason = message.strip_suffix(&position).unwrap_or(&message);
    ParseError::line(error.line().max(1), format!("invalid JSON at column {}: {reason}", error.column()))
}

fn disk_from(document: &Value) -> inv::Disk {
    let root = Node { value: document, at: "" };
    let mut read = Reader::default();
    let ata = ata_counters(&mut read, root);
    let nvme = |read: &mut Reader, member: &str| read.count(root, &[NVME_HEALTH_LOG, member]);
    let mut disk = inv::Disk {
        device: read.text(root, &["device", "name"]).or_else(|| device_from_argv(&mut read, root)).unwrap_or_default(),
        device_type: read.text(root, &["device", "type"]),
        protocol: read.text(root, &["device", "protocol"]),
        model: model(&mut read, root),
        serial: read.text(root, &["serial_number"]),
        firmware: read.text(root, &["firmware_version"]).or_else(|| read.text(root, &["scsi_revision"])),
        // An NVMe controller with several namespaces (or none) has no single user capacity;
        // its total NVM capacity is then the drive's size.
        capacity_bytes: read
            .count(root, &["user_capacity", "bytes"])
            .or_else(|| read.count(root, &["nvme_total_capacity"])),
        smart_passed: read.flag(root, &["smart_status", "passed"]),
        temperature_celsius: read.number(root, &["temperature", "current"]),
        power_on_hours: read.count(root, &["power_on_time", "hours"]),
        // SCSI disks keep no attribute table; the grown defect list is their count of
        // reallocated blocks.
        reallocated_sectors: ata.reallocated.or_else(|| read.count(root, &["scsi_grown_defect_list"])),
        pending_sectors: ata.pending,
        offline_uncorrectable: ata.offline_uncorrectable,
        udma_crc_errors: ata.udma_crc,
        percentage_used: nvme(&mut read, "percentage_used"),
        available_spare_percent: nvme(&mut read, "available_spare"),
        media_errors: nvme(&mut read, "media_errors"),
        critical_warning: nvme(&mut read, "critical_warning"),
        error: None,
    };
    let not_read = not_read_reason(&mut read, root);
    if disk.device.is_empty() {
        read.note("device.name: missing".to_owned());
    }
    let reasons: Vec<String> = not_read.into_iter().chain(read.problems).collect();
    disk.error = (!reasons.is_empty()).then(|| reasons.join("; "));
    disk
}

/// SCSI disks have no `model_name`; smartctl 7.3+ gives `scsi_model_name`, and vendor plus
/// product is what it is made of.
fn model(read: &mut Reader, root: Node) -> Option<String> {
    if let Some(model) = read.text(root, &["model_name"]).or_else(|| read.text(root, &["scsi_model_name"])) {
        return Some(model);
    }
    let parts: Vec<String> =
        [read.text(root, &["scsi_vendor"]), read.text(root, &["scsi_product"])].into_iter().flatten().collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The raw values of the ATA attributes tend reports.
#[derive(Debug, Default)]
struct AtaCounters {
    reallocated: Option<u64>,
    pending: Option<u64>,
    offline_uncorrectable: Option<u64>,
    udma_crc: Option<u64>,
}

fn ata_counters(read: &mut Reader, root: Node) -> AtaCounters {
    let mut counters = AtaCounters::default();
    let path = ["ata_smart_attributes", "table"];
    for (index, row) in read.array(root, &path).iter().enumerate() {
        let at = format!("ata_smart_attributes.table[{index}]");
        let row = Node { value: row, at: &at };
        let slot = match read.count(row, &["id"]) {
            Some(REALLOCATED_SECTORS) => &mut counters.reallocated,
            Some(PENDING_SECTORS) => &mut counters.pending,
            Some(OFFLINE_UNCORRECTABLE) => &mut counters.offline_uncorrectable,
            Some(UDMA_CRC_ERRORS) => &mut counters.udma_crc,
            _ => continue,
        };
        *slot = read.count(row, &["raw", "value"]);
    }
    counters
}

/// Why smartctl could not read the device, when its exit status says it could not: its own
/// error messages, which name the cause ("No such device", "Permission denied").
fn not_read_reason(read: &mut Reader, root: Node) -> Option<String> {
    let status = read.count(root, &["smartctl", "exit_status"])?;
    if status & NOT_READ_BITS == 0 {
        return None;
    }
    let mut errors = Vec::new();
    for (index, message) in read.array(root, &["smartctl", "messages"]).iter().enumerate() {
        let at = format!("smartctl.messages[{index}]");
        let message = Node { value: message, at: &at };
        if read.text(message, &["severity"]).as_deref() == Some("error") {
            errors.extend(read.text(message, &["string"]));
        }
    }
    if errors.is_empty() {
        return Some(format!("smartctl could not read the device (exit status {status})"));
    }
    Some(errors.join("; "))
}

/// The device named on smartctl's command line. smartctl prints no `device` member when it could
/// not open the device, and its name is then only in `smartctl.argv`, not necessarily last
/// (getopt lets options follow it).
fn device_from_argv(read: &mut Reader, root: Node) -> Option<String> {
    let argv = read.array(root, &["smartctl", "argv"]);
    let mut previous: Option<&str> = None;
    let mut device = None;
    for argument in argv.iter().skip(1).filter_map(Value::as_str) {
        let is_option_value = previous.is_some_and(|option| OPTIONS_WITH_VALUE.contains(&option));
        if !argument.starts_with('-') && !is_option_value {
            device = Some(argument.to_owned());
        }
        previous = Some(argument);
    }
    device
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const ATA_HDD: &str = include_str!("../../../testdata/smartctl/HGST_HUS724020ALE640_28.json");
    const SATA_SSD: &str =
        include_str!("../../../testdata/smartctl/sat-Intel_S3520_Series_SSDs-INTEL_SSDSC2BB016T7-sdc.json");
    const SATA_SSD_FEW_ATTRIBUTES: &str = include_str!("../../../testdata/smartctl/SAMSUNG_MZ7WD240HAFV-00003_21.json");
    const SCSI_HDD: &str = include_str!("../../../testdata/smartctl/SEAGATE_ST373453LC_26.json");
    const SAS_BEHIND_MEGARAID: &str =
        include_str!("../../../testdata/smartctl/megaraid,0-null-TOSHIBA_AL15SEB24EQY-0_megaraid_0.json");
    const SATA_BEHIND_MEGARAID: &str =
        include_str!("../../../testdata/smartctl/sat+megaraid,0-null-MZ7KH480HAHQ0D3-0.json");
    const NVME: &str = include_str!("../../../testdata/smartctl/SAMSUNG_MZVL21T0HCLR-00B00_23.json");
    const NVME_WITHOUT_USER_CAPACITY: &str = include_str!("../../../testdata/smartctl/INTEL_SSDPE2KX080T8_1.json");
    const VIRTIO_UNKNOWN_TYPE: &str = include_str!("../../../testdata/smartctl/local-vda-unknown-type.json");
    const NO_SUCH_DEVICE: &str = include_str!("../../../testdata/smartctl/local-sdz-no-such-device.json");
    const VIRTIO_AS_SCSI: &str = include_str!("../../../testdata/smartctl/local-sda-virtio-scsi-open-failed.json");
    const DEVICE_MID_ARGV: &str = include_str!("../../../testdata/smartctl/nonexistent-device.json");

    fn parsed(json: &str) -> inv::Disk {
        parse_smartctl(json).unwrap()
    }

    fn line_error(result: Result<inv::Disk, ParseError>) -> (usize, String) {
        match result {
            Err(ParseError::Line { line, reason }) => (line, reason),
            other => panic!("expected a line error, got {other:?}"),
        }
    }

    #[test]
    fn every_captured_output_parses() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/smartctl");
        let mut parsed_files = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|extension| extension != "json") {
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let disk = parse_smartctl(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|error| panic!("{name}: {error:?}"));
            assert!(disk.device.starts_with("/dev/"), "{name}: {disk:?}");
            // The captures of devices smartctl could not read are named for it; all others
            // were read whole.
            let unread = name.starts_with("local-") || name.starts_with("nonexistent");
            assert_eq!(disk.error.is_some(), unread, "{name}: {:?}", disk.error);
            parsed_files += 1;
        }
        // 14 shared fixtures, 3 more from smartctl_exporter and 3 captured on the test VM.
        assert_eq!(parsed_files, 20, "captures found in {}", dir.display());
    }

    #[test]
    fn every_shared_fixture_is_among_the_captures() {
        let shared = Path::new("/work/shared/fixtures/smartctl");
        let Ok(entries) = std::fs::read_dir(shared) else { return };
        let ours = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/smartctl");
        for entry in entries {
            let name = entry.unwrap().file_name();
            assert!(ours.join(&name).exists(), "{name:?} is not copied into testdata/smartctl");
        }
    }

    #[test]
    fn an_ata_hdd() {
        assert_eq!(
            parsed(ATA_HDD),
            inv::Disk {
                device: "/dev/sdb".into(),
                device_type: Some("sat".into()),
                protocol: Some("ATA".into()),
                model: Some("HGST HUS724020ALE640".into()),
                serial: Some("REDACTED".into()),
                firmware: Some("REDACTED".into()),
                capacity_bytes: Some(2_000_398_934_016),
                smart_passed: Some(true),
                temperature_celsius: Some(26.0),
                power_on_hours: Some(83_425),
                reallocated_sectors: Some(0),
                pending_sectors: Some(0),
                offline_uncorrectable: Some(0),
                udma_crc_errors: Some(12),
                percentage_used: None,
                available_spare_percent: None,
                media_errors: None,
                critical_warning: None,
                // Exit status 64 (errors in the drive's error log) is a finding, not a failure.
                error: None,
            }
        );
    }

    #[test]
    fn a_sata_ssd_with_vendor_names_for_the_attributes() {
        let disk = parsed(SATA_SSD);
        assert_eq!(disk.model.as_deref(), Some("INTEL SSDSC2BB016T7"));
        assert_eq!((disk.temperature_celsius, disk.power_on_hours), (Some(26.0), Some(43_494)));
        assert_eq!(disk.capacity_bytes, Some(1_600_321_314_816));
        // 197 is Pending_Sector_Count and 199 CRC_Error_Count on Intel; 198 is not kept at all.
        let counters =
            (disk.reallocated_sectors, disk.pending_sectors, disk.offline_uncorrectable, disk.udma_crc_errors);
        assert_eq!(counters, (Some(1), Some(0), None, Some(0)));
        assert_eq!(disk.percentage_used, None);
    }

    #[test]
    fn attributes_a_drive_does_not_keep_are_absent_not_zero() {
        let disk = parsed(SATA_SSD_FEW_ATTRIBUTES);
        let counters =
            (disk.reallocated_sectors, disk.pending_sectors, disk.offline_uncorrectable, disk.udma_crc_errors);
        assert_eq!(counters, (Some(0), None, None, Some(0)));
        assert_eq!((disk.temperature_celsius, disk.power_on_hours), (Some(27.0), Some(84_619)));
    }

    #[test]
    fn a_scsi_disk_reports_its_grown_defect_list_as_reallocated() {
        let disk = parsed(SCSI_HDD);
        assert_eq!((disk.device.as_str(), disk.device_type.as_deref()), ("/dev/sdb", Some("scsi")));
        assert_eq!(disk.protocol.as_deref(), Some("SCSI"));
        assert_eq!(disk.model.as_deref(), Some("SEAGATE ST373453LC"));
        assert_eq!(disk.firmware.as_deref(), Some("DX10"));
        assert_eq!(disk.capacity_bytes, Some(73_407_820_800));
        assert_eq!((disk.temperature_celsius, disk.power_on_hours), (Some(33.0), Some(102_880)));
        assert_eq!(disk.reallocated_sectors, Some(260));
        assert_eq!((disk.pending_sectors, disk.udma_crc_errors, disk.media_errors), (None, None, None));
        assert_eq!(disk.smart_passed, Some(true));
    }

    #[test]
    fn a_sas_disk_behind_a_megaraid_controller() {
        let disk = parsed(SAS_BEHIND_MEGARAID);
        assert_eq!((disk.device.as_str(), disk.device_type.as_deref()), ("/dev/bus/0", Some("megaraid,0")));
        assert_eq!(disk.model.as_deref(), Some("TOSHIBA AL15SEB24EQY"));
        assert_eq!(disk.firmware.as_deref(), Some("EF06"));
        assert_eq!((disk.temperature_celsius, disk.power_on_hours), (Some(32.0), Some(12_437)));
        assert_eq!((disk.reallocated_sectors, disk.capacity_bytes), (Some(0), Some(2_400_476_553_216)));
    }

    #[test]
    fn a_sata_disk_behind_a_megaraid_controller_with_a_failed_command() {
        // Exit status 4: a SMART command failed and the verdict rests on the attributes alone.
        let disk = parsed(SATA_BEHIND_MEGARAID);
        assert_eq!(disk.device_type.as_deref(), Some("sat+megaraid,0"));
        assert_eq!((disk.smart_passed, disk.error), (Some(true), None));
        let counters =
            (disk.reallocated_sectors, disk.pending_sectors, disk.offline_uncorrectable, disk.udma_crc_errors);
        assert_eq!(counters, (Some(0), None, Some(0), Some(0)));
    }

    #[test]
    fn an_nvme_drive() {
        let disk = parsed(NVME);
        assert_eq!((disk.device.as_str(), disk.protocol.as_deref()), ("/dev/nvme0", Some("NVMe")));
        assert_eq!(disk.model.as_deref(), Some("SAMSUNG MZVL21T0HCLR-00B00"));
        assert_eq!(disk.capacity_bytes, Some(1_024_209_543_168));
        assert_eq!((disk.temperature_celsius, disk.power_on_hours), (Some(29.0), Some(10_423)));
        assert_eq!(disk.percentage_used, Some(16));
        assert_eq!(disk.available_spare_percent, Some(100));
        assert_eq!((disk.media_errors, disk.critical_warning), (Some(0), Some(0)));
        assert_eq!((disk.reallocated_sectors, disk.udma_crc_errors), (None, None));
    }

    #[test]
    fn an_nvme_drive_without_a_single_namespace_capacity_reports_its_total() {
        let disk = parsed(NVME_WITHOUT_USER_CAPACITY);
        assert_eq!(disk.capacity_bytes, Some(8_001_563_222_016));
        assert_eq!((disk.percentage_used, disk.power_on_hours), (Some(0), Some(12_164)));
    }

    #[test]
    fn a_virtio_disk_smartctl_cannot_type_carries_its_message() {
        let disk = parsed(VIRTIO_UNKNOWN_TYPE);
        assert_eq!(disk.device, "/dev/vda");
        assert_eq!(disk.error.as_deref(), Some("/dev/vda: Unable to detect device type"));
        assert_eq!((disk.smart_passed, disk.model, disk.device_type), (None, None, None));
    }

    #[test]
    fn a_device_that_cannot_be_opened_carries_the_reason() {
        let disk = parsed(NO_SUCH_DEVICE);
        assert_eq!(disk.device, "/dev/sdz");
        assert_eq!(disk.error.as_deref(), Some("Smartctl open device: /dev/sdz failed: No such device"));
        let disk = parsed(VIRTIO_AS_SCSI);
        assert_eq!(disk.error.as_deref(), Some("Smartctl open device: /dev/sda failed: Operation not permitted"));
    }

    #[test]
    fn the_device_is_found_in_argv_wherever_it_stands() {
        let disk = parsed(DEVICE_MID_ARGV);
        assert_eq!(disk.device, "/dev/nonexistent");
        assert_eq!(disk.error.as_deref(), Some("/dev/nonexistent: Unable to detect device type"));
        // Hand-written: the device type must not be taken for the device.
        let json = r#"{"smartctl": {"argv": ["smartctl", "/dev/sdq", "-d", "sat", "--json"], "exit_status": 2}}"#;
        let disk = parsed(json);
        assert_eq!(disk.device, "/dev/sdq");
        assert_eq!(disk.error.as_deref(), Some("smartctl could not read the device (exit status 2)"));
    }

    #[test]
    fn garbled_json_is_an_error_naming_the_line() {
        let (line, reason) = line_error(parse_smartctl("{\n  \"device\": {\n    \"name\" /dev/sda\n"));
        assert_eq!(line, 3);
        assert!(reason.starts_with("invalid JSON at column"), "{reason}");
        assert!(!reason.contains(" at line "), "{reason}");
        assert_eq!(line_error(parse_smartctl("smartctl: command not found")).0, 1);
        assert_eq!(line_error(parse_smartctl("")).0, 1);
    }

    #[test]
    fn truncated_json_is_an_error() {
        let cut = &NVME[..NVME.len() / 2];
        let (line, reason) = line_error(parse_smartctl(cut));
        assert_eq!(line, cut.lines().count());
        assert!(reason.contains("EOF"), "{reason}");
    }

    #[test]
    fn no_prefix_of_a_capture_panics() {
        for end in (0..SAS_BEHIND_MEGARAID.len()).filter(|end| SAS_BEHIND_MEGARAID.is_char_boundary(*end)) {
            assert!(parse_smartctl(&SAS_BEHIND_MEGARAID[..end]).is_err(), "a prefix of {end} bytes parsed");
        }
    }

    #[test]
    fn json_of_another_shape_gives_a_disk_with_what_could_be_read() {
        // Hand-written: the right members with the wrong types.
        let json = r#"{
            "device": {"name": "/dev/sda", "type": 3, "protocol": "ATA"},
            "temperature": {"current": "hot"},
            "power_on_time": {"hours": 1234},
            "user_capacity": {"bytes": -1},
            "smart_status": "PASSED",
            "ata_smart_attributes": {"table": [{"id": 5, "raw": {"value": 8}}, {"id": 197, "raw": 2}, "x"]},
            "smartctl": {"exit_status": "0"}
        }"#;
        let disk = parsed(json);
        assert_eq!((disk.device.as_str(), disk.protocol.as_deref()), ("/dev/sda", Some("ATA")));
        assert_eq!((disk.power_on_hours, disk.reallocated_sectors), (Some(1234), Some(8)));
        assert_eq!((disk.device_type, disk.temperature_celsius, disk.capacity_bytes), (None, None, None));
        assert_eq!((disk.smart_passed, disk.pending_sectors), (None, None));
        assert_eq!(
            disk.error.as_deref(),
            Some(
                "ata_smart_attributes.table[1].raw: expected an object, got 2; \
                 ata_smart_attributes.table[2]: expected an object, got a string; \
                 device.type: expected a string, got 3; \
                 user_capacity.bytes: expected a whole number of at least 0, got -1; \
                 smart_status: expected an object, got a string; \
                 temperature.current: expected a number, got a string; \
                 smartctl.exit_status: expected a whole number of at least 0, got a string"
            )
        );
    }

    #[test]
    fn json_that_is_not_an_object_gives_an_empty_disk_saying_so() {
        let disk = parsed("[1, 2]");
        assert_eq!(disk.device, "");
        assert_eq!(disk.error.as_deref(), Some("the document: expected an object, got an array; device.name: missing"));
        assert_eq!(parsed("{}").error.as_deref(), Some("device.name: missing"));
    }
}
