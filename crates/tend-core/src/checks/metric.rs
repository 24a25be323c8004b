//! The values of the metric checks, per target, from one report's samples: percentages and
//! ratios computed from the raw series the agent sends (bytes, counts, load).
//!
//! This module owns which series make which value; comparing the value with the thresholds
//! and how long it must last are the alerting's (`CheckSettings::level_at_least`).

use std::collections::BTreeMap;

use tend_proto::agent::Sample;

use super::catalogue::{CPU_USAGE, DISK_USAGE, INODE_USAGE, LOAD_PER_CORE, MEMORY_USAGE, SWAP_USAGE};

/// The value of the metric check `check` for each of its targets, in target order: a
/// filesystem's mountpoint, or `cpu`, `memory`, `swap`, `load` for host-wide checks. A target
/// whose series are missing, or whose total is zero (a host without swap), has no value. Other
/// checks have no values.
pub fn metric_value(check: &str, samples: &[Sample], cpu_cores: u32) -> Vec<(String, f64)> {
    match check {
        CPU_USAGE => host_wide("cpu", latest(samples, "cpu_percent", None)),
        MEMORY_USAGE => percent_of(samples, "memory", "memory_used_bytes", "memory_total_bytes"),
        SWAP_USAGE => percent_of(samples, "swap", "swap_used_bytes", "swap_total_bytes"),
        LOAD_PER_CORE => load_per_core(samples, cpu_cores),
        DISK_USAGE => disk_usage(samples),
        INODE_USAGE => per_mountpoint(samples, "fs_inodes_used", "fs_inodes_total"),
        _ => Vec::new(),
    }
}

/// The last value of each series `name` by the value of `label` (or under `""` without one):
/// a later sample of the same series supersedes an earlier one.
fn latest(samples: &[Sample], name: &str, label: Option<&str>) -> BTreeMap<String, f64> {
    samples
        .iter()
        .filter(|sample| sample.name == name && sample.value.is_finite())
        .filter_map(|sample| {
            let target = match label {
                Some(label) => sample.labels.get(label)?.clone(),
                None => String::new(),
            };
            Some((target, sample.value))
        })
        .collect()
}

fn host_wide(target: &str, values: BTreeMap<String, f64>) -> Vec<(String, f64)> {
    values.into_values().map(|value| (target.to_owned(), value)).collect()
}

fn percent(part: f64, whole: f64) -> Option<f64> {
    (whole > 0.0).then(|| part / whole * 100.0)
}

fn percent_of(samples: &[Sample], target: &str, used: &str, total: &str) -> Vec<(String, f64)> {
    let used = latest(samples, used, None);
    let total = latest(samples, total, None);
    let value = used.get("").zip(total.get("")).and_then(|(used, total)| percent(*used, *total));
    value.map(|value| (target.to_owned(), value)).into_iter().collect()
}

fn load_per_core(samples: &[Sample], cpu_cores: u32) -> Vec<(String, f64)> {
    if cpu_cores == 0 {
        return Vec::new();
    }
    let load = latest(samples, "load5", None);
    host_wide("load", load).into_iter().map(|(target, load)| (target, load / f64::from(cpu_cores))).collect()
}

fn per_mountpoint(samples: &[Sample], used: &str, total: &str) -> Vec<(String, f64)> {
    let totals = latest(samples, total, Some("mountpoint"));
    latest(samples, used, Some("mountpoint"))
        .into_iter()
        .filter_map(|(mountpoint, used)| Some((mountpoint.clone(), percent(used, *totals.get(&mountpoint)?)?)))
        .collect()
}

/// Space used as `df` counts it: blocks reserved for root are not available to the services
/// that fill a disk, so a filesystem is full for them at used = used + available, which is
/// what the technician sees on the host. Without the available bytes, of the total.
fn disk_usage(samples: &[Sample]) -> Vec<(String, f64)> {
    let available = latest(samples, "fs_avail_bytes", Some("mountpoint"));
    let totals = latest(samples, "fs_total_bytes", Some("mountpoint"));
    latest(samples, "fs_used_bytes", Some("mountpoint"))
        .into_iter()
        .filter_map(|(mountpoint, used)| {
            let whole = match available.get(&mountpoint) {
                Some(available) => used + available,
                None => *totals.get(&mountpoint)?,
            };
            Some((mountpoint, percent(used, whole)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{CheckKind, default_checks};

    fn fs(name: &str, mountpoint: &str, value: f64) -> Sample {
        Sample::new(name, value).with_label("mountpoint", mountpoint).with_label("device", "/dev/sda1")
    }

    fn host_samples() -> Vec<Sample> {
        vec![
            Sample::new("cpu_percent", 37.5),
            Sample::new("load1", 9.0),
            Sample::new("load5", 6.0),
            Sample::new("memory_total_bytes", 8e9),
            Sample::new("memory_used_bytes", 6e9),
            Sample::new("swap_total_bytes", 0.0),
            Sample::new("swap_used_bytes", 0.0),
            // /: 5 % reserved for root, 90 used, 5 available: full to services at 94.7 %.
            fs("fs_total_bytes", "/", 100.0),
            fs("fs_used_bytes", "/", 90.0),
            fs("fs_avail_bytes", "/", 5.0),
            fs("fs_inodes_total", "/", 1000.0),
            fs("fs_inodes_used", "/", 250.0),
            // /boot: no available bytes reported, so of the total; no inode limit (btrfs-like).
            fs("fs_total_bytes", "/boot", 200.0),
            fs("fs_used_bytes", "/boot", 50.0),
            // /srv: used without a total: no value.
            fs("fs_used_bytes", "/srv", 50.0),
        ]
    }

    fn rounded(values: Vec<(String, f64)>) -> Vec<(String, f64)> {
        values.into_iter().map(|(target, value)| (target, (value * 100.0).round() / 100.0)).collect()
    }

    /// A check's values per target, as a table row writes them.
    type Values = &'static [(&'static str, f64)];

    #[test]
    fn values_per_check() {
        let cases: [(&str, u32, Values); 9] = [
            // (check, cpu cores, values)
            ("cpu_usage", 4, &[("cpu", 37.5)]),
            ("memory_usage", 4, &[("memory", 75.0)]),
            ("swap_usage", 4, &[]),
            ("load_per_core", 4, &[("load", 1.5)]),
            ("load_per_core", 0, &[]),
            ("disk_usage", 4, &[("/", 94.74), ("/boot", 25.0)]),
            ("inode_usage", 4, &[("/", 25.0)]),
            ("smart_failed", 4, &[]),
            ("no_such_check", 4, &[]),
        ];
        for (check, cores, expected) in cases {
            let expected: Vec<(String, f64)> = expected.iter().map(|(t, v)| ((*t).to_owned(), *v)).collect();
            assert_eq!(rounded(metric_value(check, &host_samples(), cores)), expected, "{check} on {cores} cores");
        }
    }

    #[test]
    fn every_metric_check_of_the_catalogue_has_values() {
        let mut samples = host_samples();
        samples.extend([Sample::new("swap_total_bytes", 4e9), Sample::new("swap_used_bytes", 1e9)]);
        let metric_checks = default_checks().into_iter().filter(|check| matches!(check.kind, CheckKind::Metric { .. }));
        for check in metric_checks {
            assert!(!metric_value(check.name, &samples, 4).is_empty(), "{}", check.name);
        }
    }

    #[test]
    fn swap_in_use_is_a_percentage_of_the_swap() {
        let samples = [Sample::new("swap_total_bytes", 4e9), Sample::new("swap_used_bytes", 1e9)];
        assert_eq!(metric_value("swap_usage", &samples, 1), [("swap".to_owned(), 25.0)]);
    }

    #[test]
    fn the_later_sample_of_a_series_wins_and_non_finite_ones_are_ignored() {
        let samples =
            [Sample::new("cpu_percent", 10.0), Sample::new("cpu_percent", 20.0), Sample::new("cpu_percent", f64::NAN)];
        assert_eq!(metric_value("cpu_usage", &samples, 1), [("cpu".to_owned(), 20.0)]);
    }

    #[test]
    fn a_filesystem_without_a_mountpoint_label_has_no_target() {
        let samples = [Sample::new("fs_used_bytes", 1.0), Sample::new("fs_total_bytes", 2.0)];
        assert_eq!(metric_value("disk_usage", &samples, 1), []);
    }

    #[test]
    fn no_samples_no_values() {
        for check in ["cpu_usage", "memory_usage", "swap_usage", "load_per_core", "disk_usage", "inode_usage"] {
            assert_eq!(metric_value(check, &[], 4), [], "{check}");
        }
    }
}
