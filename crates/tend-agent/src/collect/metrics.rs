//! How a host is doing: CPU, load, memory, filesystems and network counters, sampled every cycle.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use tend_proto::agent::Sample;

use super::meminfo::{MEMINFO_PATH, parse_meminfo};
use super::source::{ParseError, numbered_lines, parse_file, parse_number};
use crate::Error;

const STAT_PATH: &str = "/proc/stat";
const LOADAVG_PATH: &str = "/proc/loadavg";
const MOUNTS_PATH: &str = "/proc/self/mounts";
const NET_DEV_PATH: &str = "/proc/net/dev";

/// Filesystems that hold no data of their own: measuring them says nothing about disk space.
const PSEUDO_FILESYSTEMS: &[&str] = &[
    "proc",
    "sysfs",
    "cgroup",
    "cgroup2",
    "devpts",
    "devtmpfs",
    "tmpfs",
    "securityfs",
    "pstore",
    "bpf",
    "tracefs",
    "debugfs",
    "configfs",
    "fusectl",
    "mqueue",
    "hugetlbfs",
    "autofs",
    "binfmt_misc",
    "rpc_pipefs",
    "nsfs",
    "ramfs",
    "squashfs",
    "efivarfs",
    "selinuxfs",
];

/// statvfs on a network filesystem whose server is gone can block for minutes and stall the whole
/// cycle, so they are never measured. FUSE clients of the same filesystems appear as `fuse.<name>`.
const NETWORK_FILESYSTEMS: &[&str] =
    &["nfs", "nfs4", "cifs", "smb3", "fuse.sshfs", "ceph", "fuse.ceph-fuse", "glusterfs", "fuse.glusterfs"];

/// Samples the host's metrics, one call per collection cycle.
///
/// Held by the caller across cycles because CPU usage is a rate: it needs the counters of the
/// previous cycle. A source that cannot be read or parsed only costs its own samples; the reason
/// is logged when the problem appears and when it goes away, not every cycle.
#[derive(Debug, Default)]
pub struct MetricsCollector {
    previous_cpu: Option<CpuTimes>,
    problems: ProblemLog,
}

impl MetricsCollector {
    pub fn new() -> Self {
        Self::default()
    }

    /// This cycle's samples. The first call has no `cpu_percent`: there is nothing to compare with.
    pub fn collect(&mut self) -> Vec<Sample> {
        let mut results = vec![self.cpu_samples(), load_samples(), memory_samples(), network_samples()];
        results.extend(filesystem_results());
        let mut samples = Vec::new();
        let mut problems = BTreeSet::new();
        for result in results {
            match result {
                Ok(more) => samples.extend(more),
                Err(error) => {
                    problems.insert(error.to_string());
                }
            }
        }
        let changes = self.problems.update(problems);
        for problem in &changes.appeared {
            tracing::warn!(%problem, "omitting metrics until the source recovers");
        }
        for problem in &changes.resolved {
            tracing::info!(%problem, "metric source recovered");
        }
        samples
    }

    fn cpu_samples(&mut self) -> Result<Vec<Sample>, Error> {
        let current = parse_file(Path::new(STAT_PATH), parse_cpu_times)?;
        let previous = self.previous_cpu.replace(current);
        let percent = previous.and_then(|previous| cpu_percent(previous, current));
        Ok(percent.map(|percent| Sample::new("cpu_percent", percent)).into_iter().collect())
    }
}

impl super::Collector for MetricsCollector {
    fn name(&self) -> &'static str {
        "metrics"
    }

    fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(10)
    }

    fn collect(&mut self) -> Result<super::Section, Error> {
        Ok(super::Section::Metrics(MetricsCollector::collect(self)))
    }
}

/// Problems currently open, so that each is logged once rather than every cycle.
#[derive(Debug, Default)]
struct ProblemLog {
    open: BTreeSet<String>,
}

#[derive(Debug, PartialEq, Eq)]
struct ProblemChanges {
    appeared: Vec<String>,
    resolved: Vec<String>,
}

impl ProblemLog {
    /// Records this cycle's problems. A problem that goes away and comes back is new again.
    fn update(&mut self, current: BTreeSet<String>) -> ProblemChanges {
        let appeared = current.difference(&self.open).cloned().collect();
        let resolved = self.open.difference(&current).cloned().collect();
        self.open = current;
        ProblemChanges { appeared, resolved }
    }
}

/// Cumulative CPU time of all processors since boot, in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CpuTimes {
    /// Everything but idle and iowait: waiting for a disk leaves the CPU free for other work.
    pub busy: u64,
    pub total: u64,
}

/// Parses the aggregate `cpu` line of `/proc/stat`; the other lines are not looked at.
pub fn parse_cpu_times(stat: &str) -> Result<CpuTimes, ParseError> {
    for (number, line) in numbered_lines(stat) {
        let mut words = line.split_whitespace();
        if words.next() != Some("cpu") {
            continue;
        }
        let ticks = words.map(|word| parse_number::<u64>(number, "cpu", word)).collect::<Result<Vec<_>, _>>()?;
        return cpu_times_from_ticks(number, &ticks);
    }
    Err(ParseError::Missing { field: "cpu" })
}

fn cpu_times_from_ticks(number: usize, ticks: &[u64]) -> Result<CpuTimes, ParseError> {
    // guest and guest_nice, when present after steal, are already counted in user and nice.
    let [user, nice, system, idle, iowait, irq, softirq, steal, ..] = *ticks else {
        let reason = format!("cpu: expected at least 8 counters, got {}", ticks.len());
        return Err(ParseError::line(number, reason));
    };
    let total = [user, nice, system, idle, iowait, irq, softirq, steal].into_iter().fold(0, u64::saturating_add);
    Ok(CpuTimes { busy: total.saturating_sub(idle).saturating_sub(iowait), total })
}

/// Share of CPU time spent busy between two readings, 0–100; `None` when no time passed.
pub fn cpu_percent(previous: CpuTimes, current: CpuTimes) -> Option<f64> {
    let total = current.total.checked_sub(previous.total).filter(|ticks| *ticks > 0)?;
    // The kernel documents iowait as unreliable, and it can run backwards; busy is derived from
    // it, so it is clamped instead of trusted to only grow.
    let busy = current.busy.saturating_sub(previous.busy);
    Some((busy as f64 / total as f64 * 100.0).min(100.0))
}

/// The three load averages of `/proc/loadavg`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct LoadAverage {
    pub one: f64,
    pub five: f64,
    pub fifteen: f64,
}

pub fn parse_loadavg(text: &str) -> Result<LoadAverage, ParseError> {
    let (number, line) = numbered_lines(text).next().ok_or(ParseError::Missing { field: "load averages" })?;
    let mut words = line.split_whitespace();
    let mut next = |what: &str| -> Result<f64, ParseError> {
        let word = words.next().ok_or_else(|| ParseError::line(number, format!("missing the {what} average")))?;
        let load: f64 = parse_number(number, what, word)?;
        // "inf" and "NaN" parse as f64 but are no load the kernel ever reports.
        if load.is_finite() && load >= 0.0 {
            Ok(load)
        } else {
            Err(ParseError::line(number, format!("{what}: {word:?} is no load average")))
        }
    };
    Ok(LoadAverage { one: next("1-minute")?, five: next("5-minute")?, fifteen: next("15-minute")? })
}

/// One line of `/proc/self/mounts`, with its octal escapes decoded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Mount {
    pub device: String,
    pub mountpoint: String,
    pub fstype: String,
}

pub fn parse_mounts(text: &str) -> Result<Vec<Mount>, ParseError> {
    numbered_lines(text)
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(number, line)| parse_mount_line(number, line))
        .collect()
}

fn parse_mount_line(number: usize, line: &str) -> Result<Mount, ParseError> {
    let mut fields = line.split_whitespace();
    let (Some(device), Some(mountpoint), Some(fstype)) = (fields.next(), fields.next(), fields.next()) else {
        return Err(ParseError::line(number, "expected a device, a mount point and a filesystem type"));
    };
    Ok(Mount {
        device: decode_octal_escapes(number, device)?,
        mountpoint: decode_octal_escapes(number, mountpoint)?,
        fstype: decode_octal_escapes(number, fstype)?,
    })
}

/// The kernel writes space, tab, newline and backslash in mount fields as `\ooo` (space is
/// `\040`) so that fields stay separated by whitespace.
fn decode_octal_escapes(number: usize, field: &str) -> Result<String, ParseError> {
    let mut decoded = Vec::with_capacity(field.len());
    let mut rest = field.as_bytes();
    while let Some((&byte, after)) = rest.split_first() {
        if byte != b'\\' {
            decoded.push(byte);
            rest = after;
            continue;
        }
        let escape = after.split_first_chunk::<3>().and_then(|(digits, after)| Some((octal_byte(digits)?, after)));
        let Some((value, after)) = escape else {
            return Err(ParseError::line(number, format!("bad escape in {field:?}: expected \\ and 3 octal digits")));
        };
        decoded.push(value);
        rest = after;
    }
    Ok(String::from_utf8_lossy(&decoded).into_owned())
}

fn octal_byte(digits: &[u8; 3]) -> Option<u8> {
    let value = digits.iter().try_fold(0u16, |value, &digit| {
        let digit = digit.checked_sub(b'0').filter(|digit| *digit < 8)?;
        Some(value * 8 + u16::from(digit))
    })?;
    u8::try_from(value).ok()
}

/// The mounts whose space is worth reporting: no pseudo or network filesystems, and each device
/// once, at its first mount point, because bind mounts show the same space again elsewhere.
fn mounts_to_measure(mounts: Vec<Mount>) -> Vec<Mount> {
    let mut seen_devices = HashSet::new();
    mounts
        .into_iter()
        .filter(|mount| {
            let fstype = mount.fstype.as_str();
            !PSEUDO_FILESYSTEMS.contains(&fstype) && !NETWORK_FILESYSTEMS.contains(&fstype)
        })
        .filter(|mount| seen_devices.insert(mount.device.clone()))
        .collect()
}

/// What statvfs(3) says about a filesystem, in the units df uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FilesystemUsage {
    fragment_size: u64,
    blocks: u64,
    free_blocks: u64,
    /// Free blocks an unprivileged user may take; root also has the reserved ones.
    available_blocks: u64,
    inodes: u64,
    free_inodes: u64,
}

impl From<rustix::fs::StatVfs> for FilesystemUsage {
    fn from(stat: rustix::fs::StatVfs) -> Self {
        FilesystemUsage {
            fragment_size: stat.f_frsize,
            blocks: stat.f_blocks,
            free_blocks: stat.f_bfree,
            available_blocks: stat.f_bavail,
            inodes: stat.f_files,
            free_inodes: stat.f_ffree,
        }
    }
}

fn filesystem_results() -> Vec<Result<Vec<Sample>, Error>> {
    match parse_file(Path::new(MOUNTS_PATH), parse_mounts) {
        Ok(mounts) => mounts_to_measure(mounts).iter().map(measure_filesystem).collect(),
        Err(error) => vec![Err(error)],
    }
}

fn measure_filesystem(mount: &Mount) -> Result<Vec<Sample>, Error> {
    let stat = rustix::fs::statvfs(mount.mountpoint.as_str())
        .map_err(|errno| Error::FilesystemUsage { mountpoint: mount.mountpoint.clone(), source: errno.into() })?;
    Ok(filesystem_samples(mount, &FilesystemUsage::from(stat)))
}

fn filesystem_samples(mount: &Mount, usage: &FilesystemUsage) -> Vec<Sample> {
    // A filesystem without blocks is a pseudo filesystem the list above misses: no space to watch.
    if usage.blocks == 0 {
        return Vec::new();
    }
    let bytes = |blocks: u64| blocks.saturating_mul(usage.fragment_size) as f64;
    let mut values = vec![
        ("fs_total_bytes", bytes(usage.blocks)),
        ("fs_used_bytes", bytes(usage.blocks.saturating_sub(usage.free_blocks))),
        ("fs_avail_bytes", bytes(usage.available_blocks)),
    ];
    // btrfs and others allocate inodes on demand and report 0: there is no inode limit to watch.
    if usage.inodes > 0 {
        values.push(("fs_inodes_total", usage.inodes as f64));
        values.push(("fs_inodes_used", usage.inodes.saturating_sub(usage.free_inodes) as f64));
    }
    values
        .into_iter()
        .map(|(name, value)| {
            Sample::new(name, value)
                .with_label("mountpoint", &mount.mountpoint)
                .with_label("device", &mount.device)
                .with_label("fstype", &mount.fstype)
        })
        .collect()
}

fn load_samples() -> Result<Vec<Sample>, Error> {
    let load = parse_file(Path::new(LOADAVG_PATH), parse_loadavg)?;
    Ok(vec![Sample::new("load1", load.one), Sample::new("load5", load.five), Sample::new("load15", load.fifteen)])
}

fn memory_samples() -> Result<Vec<Sample>, Error> {
    let memory = parse_file(Path::new(MEMINFO_PATH), parse_meminfo)?;
    Ok([
        ("memory_total_bytes", memory.total_bytes),
        ("memory_used_bytes", memory.used_bytes()),
        ("memory_available_bytes", memory.available_bytes),
        ("swap_total_bytes", memory.swap_total_bytes),
        ("swap_used_bytes", memory.swap_used_bytes()),
    ]
    .into_iter()
    .map(|(name, bytes)| Sample::new(name, bytes as f64))
    .collect())
}

/// Byte counters of one interface since it came up, as `/proc/net/dev` has them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InterfaceCounters {
    pub interface: String,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

/// Parses `/proc/net/dev`: two header lines, then `name: 8 receive and 8 transmit counters`.
pub fn parse_net_dev(text: &str) -> Result<Vec<InterfaceCounters>, ParseError> {
    numbered_lines(text).skip(2).map(|(number, line)| parse_interface_line(number, line)).collect()
}

fn parse_interface_line(number: usize, line: &str) -> Result<InterfaceCounters, ParseError> {
    let Some((interface, counters)) = line.split_once(':') else {
        return Err(ParseError::line(number, "expected \"<interface>: <counters>\""));
    };
    let counters = counters.split_whitespace().collect::<Vec<_>>();
    let [rx_bytes, _, _, _, _, _, _, _, tx_bytes, _, _, _, _, _, _, _] = counters[..] else {
        return Err(ParseError::line(number, format!("expected 16 counters, got {}", counters.len())));
    };
    Ok(InterfaceCounters {
        interface: interface.trim().to_owned(),
        rx_bytes: parse_number(number, "receive bytes", rx_bytes)?,
        tx_bytes: parse_number(number, "transmit bytes", tx_bytes)?,
    })
}

fn network_samples() -> Result<Vec<Sample>, Error> {
    let interfaces = parse_file(Path::new(NET_DEV_PATH), parse_net_dev)?;
    Ok(interfaces
        .iter()
        // Loopback traffic never leaves the host.
        .filter(|counters| counters.interface != "lo")
        .flat_map(|counters| {
            [("net_rx_bytes", counters.rx_bytes), ("net_tx_bytes", counters.tx_bytes)]
                .map(|(name, bytes)| Sample::new(name, bytes as f64).with_label("interface", &counters.interface))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPTURED_STAT: &str = include_str!("../../testdata/proc/stat");
    const CAPTURED_LOADAVG: &str = include_str!("../../testdata/proc/loadavg");
    const CAPTURED_MOUNTS: &str = include_str!("../../testdata/proc/self/mounts");
    const CAPTURED_NET_DEV: &str = include_str!("../../testdata/proc/net/dev");

    fn mount(device: &str, mountpoint: &str, fstype: &str) -> Mount {
        Mount { device: device.into(), mountpoint: mountpoint.into(), fstype: fstype.into() }
    }

    fn line_error<T: std::fmt::Debug>(result: Result<T, ParseError>) -> usize {
        match result {
            Err(ParseError::Line { line, .. }) => line,
            other => panic!("expected a line error, got {other:?}"),
        }
    }

    #[test]
    fn parses_the_captured_cpu_line() {
        // cpu  23520 0 6556 71645 610 0 101 438 0 0
        let total = 23_520 + 6_556 + 71_645 + 610 + 101 + 438;
        assert_eq!(parse_cpu_times(CAPTURED_STAT), Ok(CpuTimes { busy: total - 71_645 - 610, total }));
    }

    #[test]
    fn cpu_percent_from_two_snapshots() {
        // 400 ticks pass: 100 busy (60 user, 20 system, 10 irq, 10 steal), 300 idle or iowait.
        let before = "cpu  1000 0 500 8000 100 0 0 0 0 0\ncpu0 1000 0 500 8000 100 0 0 0 0 0\n";
        let after = "cpu  1060 0 520 8250 150 10 0 10 30 0\ncpu0 1060 0 520 8250 150 10 0 10 30 0\n";
        let percent = cpu_percent(parse_cpu_times(before).unwrap(), parse_cpu_times(after).unwrap());
        assert_eq!(percent, Some(25.0));
    }

    #[test]
    fn cpu_percent_edge_cases() {
        let at = |busy, total| CpuTimes { busy, total };
        assert_eq!(cpu_percent(at(10, 100), at(10, 100)), None, "no time passed");
        assert_eq!(cpu_percent(at(10, 100), at(5, 50)), None, "counters reset");
        assert_eq!(cpu_percent(at(10, 100), at(110, 200)), Some(100.0));
        assert_eq!(cpu_percent(at(10, 100), at(10, 200)), Some(0.0));
        // iowait running backwards must not push the share below 0 or above 100.
        assert_eq!(cpu_percent(at(50, 100), at(40, 200)), Some(0.0));
        assert_eq!(cpu_percent(at(0, 100), at(500, 200)), Some(100.0));
    }

    #[test]
    fn the_first_cycle_has_no_cpu_percent() {
        let mut collector = MetricsCollector::new();
        assert!(collector.cpu_samples().unwrap().is_empty());
        assert!(collector.previous_cpu.is_some());
    }

    #[test]
    fn malformed_cpu_lines() {
        assert_eq!(parse_cpu_times("cpu0 1 2 3 4 5 6 7 8\n"), Err(ParseError::Missing { field: "cpu" }));
        assert_eq!(line_error(parse_cpu_times("intr 1\ncpu  1 2 3 4 5 6 7\n")), 2);
        assert_eq!(line_error(parse_cpu_times("cpu  1 2 3 4 5 6 7 x 9 10\n")), 1);
        assert_eq!(line_error(parse_cpu_times("cpu  1 2 3 4 5 6 7 -8\n")), 1);
    }

    #[test]
    fn parses_the_captured_loadavg() {
        let load = parse_loadavg(CAPTURED_LOADAVG).unwrap();
        assert_eq!(load, LoadAverage { one: 0.69, five: 0.72, fifteen: 0.36 });
    }

    #[test]
    fn malformed_loadavg() {
        assert_eq!(parse_loadavg(""), Err(ParseError::Missing { field: "load averages" }));
        for text in ["0.69 0.72\n", "0.69 zero 0.36 1/136 10602\n", "0.69 0.72 inf 1/1 1\n", "NaN 1 1\n", "-1 1 1\n"] {
            assert_eq!(line_error(parse_loadavg(text)), 1, "{text:?}");
        }
    }

    #[test]
    fn parses_the_captured_mounts() {
        let mounts = parse_mounts(CAPTURED_MOUNTS).unwrap();
        assert_eq!(mounts.len(), 19);
        assert_eq!(mounts[0], mount("proc", "/proc", "proc"));
        assert_eq!(mounts[5], mount("/dev/vda", "/", "ext4"));
        assert_eq!(mounts_to_measure(mounts), [mount("/dev/vda", "/", "ext4")]);
    }

    #[test]
    fn mount_escapes_are_decoded() {
        let text = "/dev/sdb1 /mnt/My\\040Disk ext4 rw 0 0\n\
                    /dev/sdc1 /mnt/tab\\011back\\134slash xfs rw 0 0\n\
                    /dev/sdd1 /mnt/caf\\303\\251 ext4 rw 0 0\n";
        assert_eq!(
            parse_mounts(text).unwrap(),
            [
                mount("/dev/sdb1", "/mnt/My Disk", "ext4"),
                mount("/dev/sdc1", "/mnt/tab\tback\\slash", "xfs"),
                mount("/dev/sdd1", "/mnt/café", "ext4"),
            ]
        );
    }

    #[test]
    fn malformed_mount_lines() {
        assert_eq!(parse_mounts("").unwrap(), []);
        for text in [
            "/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /mnt\n",
            "/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /mnt/a\\04 ext4 rw 0 0\n",
            "/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /mnt/a\\048 ext4 rw 0 0\n",
            "/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /mnt/a\\777 ext4 rw 0 0\n",
            "/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /mnt/a\\ ext4 rw 0 0\n",
            "/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /mnt/ü\\ ext4 rw 0 0\n",
        ] {
            assert_eq!(line_error(parse_mounts(text)), 2, "{text:?}");
        }
    }

    #[test]
    fn pseudo_network_and_repeated_filesystems_are_not_measured() {
        let mounts = vec![
            mount("/dev/sda1", "/", "ext4"),
            mount("proc", "/proc", "proc"),
            mount("tmpfs", "/run", "tmpfs"),
            mount("server:/export", "/mnt/nfs", "nfs4"),
            mount("sshfs#me@host:", "/mnt/ssh", "fuse.sshfs"),
            mount("/dev/sda1", "/var/lib/bind", "ext4"),
            mount("/dev/sdb1", "/srv/My Disk", "xfs"),
            mount("overlay", "/var/lib/docker/overlay2/x/merged", "overlay"),
        ];
        assert_eq!(
            mounts_to_measure(mounts),
            [
                mount("/dev/sda1", "/", "ext4"),
                mount("/dev/sdb1", "/srv/My Disk", "xfs"),
                mount("overlay", "/var/lib/docker/overlay2/x/merged", "overlay"),
            ]
        );
    }

    #[test]
    fn filesystem_samples_count_like_df() {
        let usage = FilesystemUsage {
            fragment_size: 4096,
            blocks: 1000,
            free_blocks: 300,
            available_blocks: 250,
            inodes: 500,
            free_inodes: 120,
        };
        let samples = filesystem_samples(&mount("/dev/sda1", "/", "ext4"), &usage);
        let values: Vec<(&str, f64)> = samples.iter().map(|s| (s.name.as_str(), s.value)).collect();
        assert_eq!(
            values,
            [
                ("fs_total_bytes", 4_096_000.0),
                ("fs_used_bytes", 2_867_200.0),
                ("fs_avail_bytes", 1_024_000.0),
                ("fs_inodes_total", 500.0),
                ("fs_inodes_used", 380.0),
            ]
        );
        let labels = &samples[0].labels;
        assert_eq!(labels["mountpoint"], "/");
        assert_eq!(labels["device"], "/dev/sda1");
        assert_eq!(labels["fstype"], "ext4");
    }

    #[test]
    fn empty_filesystems_and_missing_inode_counts() {
        let empty = FilesystemUsage {
            fragment_size: 4096,
            blocks: 0,
            free_blocks: 0,
            available_blocks: 0,
            inodes: 0,
            free_inodes: 0,
        };
        let btrfs = mount("/dev/sda2", "/home", "btrfs");
        assert!(filesystem_samples(&btrfs, &empty).is_empty());
        let no_inodes = FilesystemUsage { blocks: 10, ..empty };
        let names: Vec<String> = filesystem_samples(&btrfs, &no_inodes).into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["fs_total_bytes", "fs_used_bytes", "fs_avail_bytes"]);
    }

    #[test]
    fn parses_the_captured_net_dev() {
        let interfaces = parse_net_dev(CAPTURED_NET_DEV).unwrap();
        let counters =
            |interface: &str, rx_bytes, tx_bytes| InterfaceCounters { interface: interface.into(), rx_bytes, tx_bytes };
        assert_eq!(
            interfaces,
            [
                counters("lo", 52_380, 52_380),
                counters("ifb0", 0, 0),
                counters("ifb1", 0, 0),
                counters("eth0", 208_064_258, 515_198),
            ]
        );
    }

    #[test]
    fn malformed_net_dev_lines() {
        let header = "Inter-|   Receive\n face |bytes    packets\n";
        assert_eq!(parse_net_dev(header).unwrap(), []);
        // Kernels before 2.6 wrote no space after the colon; the counters still split apart.
        let old = format!("{header}eth0:1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n");
        assert_eq!(parse_net_dev(&old).unwrap()[0].rx_bytes, 1);
        for line in [
            "eth0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
            "eth0: 1 2 3 4 5 6 7 8 9",
            "eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17",
            "eth0: x 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
            "eth0: 1 2 3 4 5 6 7 8 -9 10 11 12 13 14 15 16",
        ] {
            assert_eq!(line_error(parse_net_dev(&format!("{header}{line}\n"))), 3, "{line:?}");
        }
    }

    #[test]
    fn problems_are_reported_when_they_appear_and_when_they_go() {
        let mut log = ProblemLog::default();
        let set = |problems: &[&str]| problems.iter().map(|p| p.to_string()).collect::<BTreeSet<_>>();
        let changes = |appeared: &[&str], resolved: &[&str]| ProblemChanges {
            appeared: appeared.iter().map(|p| p.to_string()).collect(),
            resolved: resolved.iter().map(|p| p.to_string()).collect(),
        };
        assert_eq!(log.update(set(&["a", "b"])), changes(&["a", "b"], &[]));
        assert_eq!(log.update(set(&["a", "b"])), changes(&[], &[]));
        assert_eq!(log.update(set(&["b"])), changes(&[], &["a"]));
        assert_eq!(log.update(set(&["a", "b"])), changes(&["a"], &[]));
    }

    #[test]
    fn metrics_of_this_machine_are_sane() {
        let mut collector = MetricsCollector::new();
        let first = collector.collect();
        assert!(!first.iter().any(|sample| sample.name == "cpu_percent"));
        let value = |name: &str| first.iter().find(|sample| sample.name == name).map(|sample| sample.value);
        assert!(value("memory_total_bytes").is_some_and(|bytes| bytes > 0.0));
        assert!(value("load1").is_some_and(|load| load >= 0.0));
        let root = first.iter().find(|s| s.name == "fs_total_bytes" && s.labels["mountpoint"] == "/");
        assert!(root.is_some_and(|sample| sample.value > 0.0), "no filesystem sample for /");
        assert!(!first.iter().any(|sample| { sample.labels.get("interface").is_some_and(|name| name == "lo") }));

        std::thread::sleep(std::time::Duration::from_millis(100));
        let second = collector.collect();
        let cpu = second.iter().find(|sample| sample.name == "cpu_percent").map(|sample| sample.value);
        assert!(cpu.is_some_and(|percent| (0.0..=100.0).contains(&percent)), "{cpu:?}");
    }
}
