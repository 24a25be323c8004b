//! Disk health from SMART: which disks smartctl finds (`smartctl --scan-open`), and what each one
//! says about itself (`smartctl --json -a`), as the report's `disks` section.
//!
//! This module owns running smartctl and reading its output. It only reads: it must not start
//! self-tests, switch SMART or any drive setting on or off, or pass smartctl anything but
//! reporting options. Nor does it judge a value (how many reallocated sectors are too many is
//! the server's call); it reports what the drive says, a value the drive does not give as absent.

mod reader;
mod scan;
mod smartctl;

use std::path::Path;
use std::time::{Duration, Instant};

use tend_proto::inventory as inv;

pub use scan::{ScannedDevice, parse_scan_open};
pub use smartctl::parse_smartctl;

use super::{Collector, Section, tool};
use crate::Error;

/// Longest run of the whole collector: the scan plus every disk.
const TIMEOUT: Duration = Duration::from_secs(60);
/// SMART values change slowly, and reading them costs each disk a few commands.
const PERIOD: Duration = Duration::from_secs(600);
/// The scan opens every device it finds, so it gets a share of its own.
const SCAN_TIMEOUT: Duration = Duration::from_secs(20);
/// One disk that does not answer (a dying drive can take minutes per command) must leave time
/// for the others.
const DEVICE_TIMEOUT: Duration = Duration::from_secs(15);
/// Disks are read only while this much of the collector's time is left, so that it returns its
/// section before the runner gives up on it.
const TIME_RESERVE: Duration = Duration::from_secs(2);

/// Reads every disk smartctl finds, one after the other: controllers often serialise
/// pass-through commands anyway, and a busy array is spared a burst of them.
#[derive(Debug, Clone)]
pub struct SmartCollector {
    program: String,
    device_timeout: Duration,
}

impl SmartCollector {
    pub fn new() -> Self {
        Self::default()
    }

    fn scan(&self) -> Result<Vec<ScannedDevice>, Error> {
        let output = tool::run(&self.program, &["--scan-open"], SCAN_TIMEOUT)?;
        if let Some(reason) = scan::scan_failure(&output.stdout) {
            return Err(Error::Failed(format!("smartctl --scan-open: {reason}")));
        }
        if !output.status.success() {
            let said = first_line(&output.stderr).or_else(|| first_line(&output.stdout)).unwrap_or("no message");
            return Err(Error::Failed(format!("smartctl --scan-open failed ({}): {said}", output.status)));
        }
        parse_scan_open(&output.stdout).map_err(|error| error.at(Path::new("smartctl --scan-open")))
    }

    /// The disk, or what is known of it from the scan and why it could not be read.
    fn read_disk(&self, scanned: &ScannedDevice, deadline: Instant) -> inv::Disk {
        if let Some(reason) = &scanned.open_error {
            return unread(scanned, format!("smartctl could not open it: {reason}"));
        }
        let Some(timeout) = time_for_a_disk(deadline, Instant::now(), self.device_timeout) else {
            return unread(scanned, format!("not read: the disks before it used up the {} s", TIMEOUT.as_secs()));
        };
        let args = ["--json", "-a", "-d", &scanned.device_type, &scanned.device];
        let output = match tool::run(&self.program, &args, timeout) {
            Ok(output) => output,
            Err(error) => return unread(scanned, error.to_string()),
        };
        if output.stdout.trim().is_empty() {
            let said = first_line(&output.stderr).unwrap_or("no message");
            return unread(scanned, format!("smartctl printed nothing ({}): {said}", output.status));
        }
        match parse_smartctl(&output.stdout) {
            Ok(disk) => as_scanned(disk, scanned),
            Err(error) => unread(scanned, error.at(Path::new("smartctl --json -a")).to_string()),
        }
    }
}

impl Default for SmartCollector {
    fn default() -> Self {
        SmartCollector { program: "smartctl".to_owned(), device_timeout: DEVICE_TIMEOUT }
    }
}

impl Collector for SmartCollector {
    fn name(&self) -> &'static str {
        "smart"
    }

    fn timeout(&self) -> Duration {
        TIMEOUT
    }

    fn period(&self) -> Duration {
        PERIOD
    }

    fn collect(&mut self) -> Result<Section, Error> {
        let deadline = Instant::now() + TIMEOUT - TIME_RESERVE;
        let devices = self.scan()?;
        Ok(Section::Disks(devices.iter().map(|device| self.read_disk(device, deadline)).collect()))
    }
}

/// How long the next disk may take: its own limit, or what is left before `deadline` when that
/// is less, and nothing when too little is left for smartctl to start and answer.
fn time_for_a_disk(deadline: Instant, now: Instant, limit: Duration) -> Option<Duration> {
    let left = deadline.checked_duration_since(now)?;
    (left >= Duration::from_secs(1)).then(|| left.min(limit))
}

/// The disk under the name the scan gave it, which is how the next run addresses it again.
/// smartctl's own type wins when it has one: it can be more precise (`sat+megaraid,0` for a
/// scanned `megaraid,0`).
fn as_scanned(mut disk: inv::Disk, scanned: &ScannedDevice) -> inv::Disk {
    disk.device.clone_from(&scanned.device);
    disk.device_type = disk.device_type.or_else(|| Some(scanned.device_type.clone()));
    disk.protocol = disk.protocol.or_else(|| scanned.protocol.clone());
    disk
}

fn unread(scanned: &ScannedDevice, error: String) -> inv::Disk {
    inv::Disk {
        device: scanned.device.clone(),
        device_type: Some(scanned.device_type.clone()),
        protocol: scanned.protocol.clone(),
        error: Some(error),
        ..inv::Disk::default()
    }
}

fn first_line(text: &str) -> Option<&str> {
    text.lines().map(str::trim).find(|line| !line.is_empty())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::collect::compliance;

    const SCAN: &str = include_str!("../../../testdata/smartctl/glouton-home1-scan.txt");
    const SAS: &str = include_str!("../../../testdata/smartctl/HITACHI_H109060SESUN600G_9.json");
    const NVME: &str = include_str!("../../../testdata/smartctl/INTEL_SSDPE2KX080T8_1.json");
    const OPEN_FAILED: &str = include_str!("../../../testdata/smartctl/local-scan-open-sda-open-failed.txt");
    const INVALID_TYPE: &str = include_str!("../../../testdata/smartctl/local-scan-open-invalid-type.txt");

    /// A stand-in for smartctl that replays captured outputs: `scan` for `--scan-open`, `<name>`
    /// for `-d TYPE /dev/<name>`, and hangs for a device it has no capture of.
    fn fake_smartctl(dir: &Path, scan: &str, disks: &[(&str, &str)]) -> SmartCollector {
        std::fs::write(dir.join("scan"), scan).unwrap();
        for (name, json) in disks {
            std::fs::write(dir.join(name), json).unwrap();
        }
        let script = format!(
            "#!/bin/sh\n\
             dir='{}'\n\
             if [ \"$1\" = --scan-open ]; then cat \"$dir/scan\"; exit 0; fi\n\
             for last; do :; done\n\
             name=$(basename \"$last\")\n\
             if [ -f \"$dir/$name\" ]; then cat \"$dir/$name\"; exit 0; fi\n\
             exec sleep 10\n",
            dir.display()
        );
        let program = dir.join("smartctl");
        std::fs::write(&program, script).unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        // A process forked meanwhile by another test may still hold the file open for writing,
        // which makes running it fail with ETXTBSY for a moment.
        for _ in 0..100 {
            match std::process::Command::new(&program).arg("--scan-open").output() {
                Err(error) if error.raw_os_error() == Some(26) => std::thread::sleep(Duration::from_millis(10)),
                _ => break,
            }
        }
        SmartCollector { program: program.display().to_string(), device_timeout: Duration::from_millis(300) }
    }

    #[test]
    fn meets_the_collector_contract_on_this_machine() {
        match compliance::check(&mut SmartCollector::new()) {
            // Without smartctl; or with it, whatever disks this machine has (none, on a VM
            // whose virtio disk smartctl does not list).
            Err(Error::Unavailable(_)) => {}
            Ok(Section::Disks(disks)) => assert!(disks.iter().all(|disk| !disk.device.is_empty()), "{disks:?}"),
            other => panic!("expected disks or unavailable, got {other:?}"),
        }
    }

    #[test]
    fn without_smartctl_the_collector_is_unavailable() {
        let mut collector = SmartCollector { program: "tend-no-such-smartctl".into(), ..SmartCollector::new() };
        let error = collector.collect().unwrap_err();
        assert!(matches!(error, Error::Unavailable(_)), "{error}");
    }

    #[test]
    fn every_scanned_disk_is_read_and_one_that_hangs_costs_only_itself() {
        let dir = tempfile::tempdir().unwrap();
        let mut collector = fake_smartctl(dir.path(), SCAN, &[("sda", SAS), ("nvme0", NVME)]);
        let started = Instant::now();
        let Ok(Section::Disks(disks)) = collector.collect() else { panic!("no disks") };
        assert!(started.elapsed() < Duration::from_secs(5));
        let devices: Vec<&str> = disks.iter().map(|disk| disk.device.as_str()).collect();
        assert_eq!(devices, ["/dev/sda", "/dev/sdb", "/dev/nvme0"]);
        assert_eq!(disks[0].model.as_deref(), Some("HITACHI H109060SESUN600G"));
        assert_eq!((disks[0].temperature_celsius, disks[0].error.as_deref()), (Some(27.0), None));
        assert_eq!(disks[1].device_type.as_deref(), Some("scsi"));
        let error = disks[1].error.as_deref().unwrap_or_default();
        assert!(error.contains("did not finish"), "{error}");
        assert_eq!((disks[2].percentage_used, disks[2].error.as_deref()), (Some(0), None));
    }

    #[test]
    fn a_disk_the_scan_could_not_open_is_reported_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let mut collector = fake_smartctl(dir.path(), OPEN_FAILED, &[]);
        let Ok(Section::Disks(disks)) = collector.collect() else { panic!("no disks") };
        assert_eq!(disks.len(), 1);
        assert_eq!((disks[0].device.as_str(), disks[0].protocol.as_deref()), ("/dev/sda", Some("SCSI")));
        assert_eq!(disks[0].error.as_deref(), Some("smartctl could not open it: Operation not permitted"));
    }

    #[test]
    fn a_failed_scan_fails_the_collector_with_smartctls_reason() {
        let dir = tempfile::tempdir().unwrap();
        let error = fake_smartctl(dir.path(), INVALID_TYPE, &[]).collect().unwrap_err();
        assert_eq!(error.collector_outcome(), "failed");
        assert!(error.to_string().contains("Invalid type 'megaraid'"), "{error}");
    }

    #[test]
    fn output_that_is_not_json_costs_only_its_disk() {
        let dir = tempfile::tempdir().unwrap();
        let mut collector = fake_smartctl(dir.path(), SCAN, &[("sda", "{\"device\": "), ("sdb", SAS), ("nvme0", NVME)]);
        let Ok(Section::Disks(disks)) = collector.collect() else { panic!("no disks") };
        let error = disks[0].error.as_deref().unwrap_or_default();
        assert!(error.starts_with("smartctl --json -a:1: invalid JSON"), "{error}");
        assert_eq!((disks[1].error.as_deref(), disks[2].error.as_deref()), (None, None));
    }

    #[test]
    fn each_disk_gets_its_own_limit_or_what_is_left() {
        let now = Instant::now();
        let limit = Duration::from_secs(15);
        assert_eq!(time_for_a_disk(now + Duration::from_secs(40), now, limit), Some(limit));
        assert_eq!(time_for_a_disk(now + Duration::from_secs(5), now, limit), Some(Duration::from_secs(5)));
        assert_eq!(time_for_a_disk(now + Duration::from_millis(500), now, limit), None);
        assert_eq!(time_for_a_disk(now, now + Duration::from_secs(1), limit), None);
    }
}
