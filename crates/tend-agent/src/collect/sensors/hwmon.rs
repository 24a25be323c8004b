//! The kernel's hardware monitoring class (`/sys/class/hwmon`, Documentation/hwmon/sysfs-interface).
//!
//! Each `hwmonN` is one chip; `tempN_input` is in millidegrees Celsius, `inN_input` in
//! millivolts and `fanN_input` in RPM, with `_label`, `_min`, `_max`, `_crit` and alarm files
//! beside them when the chip has them. Older drivers keep these files in the chip's `device`
//! directory instead, with only a `device` link in `hwmonN`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tend_proto::inventory as inv;

use crate::Error;

/// The sensor kinds tend reports, their file prefix, and the factor from sysfs units to the
/// reported ones (°C, RPM, V).
const KINDS: [(&str, &str, f64); 3] = [("temp", "temperature", 1000.0), ("fan", "fan", 1.0), ("in", "voltage", 1000.0)];

/// Reads every temperature, fan and voltage sensor under a `/sys/class/hwmon`-like directory.
///
/// Only an unreadable `dir` is an error. A chip that cannot be listed is skipped; a missing
/// file is a value the chip does not have (`None`); an input that cannot be read or is not a
/// number leaves that sensor's value `None` (sysfs answers EIO for a disconnected probe).
pub fn read_hwmon(dir: &Path) -> Result<Vec<inv::Sensor>, Error> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Read { path: dir.to_owned(), source })?;
    let mut chips: Vec<(u64, String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let number = name.strip_prefix("hwmon")?.parse().ok()?;
            Some((number, name, entry.path()))
        })
        .collect();
    // hwmon10 after hwmon9, as the kernel numbers them.
    chips.sort();
    Ok(chips.into_iter().flat_map(|(_, name, path)| read_chip(&name, &path)).collect())
}

/// The sensors of one chip. Attribute files in `hwmonN` win over the same file in
/// `hwmonN/device`, which only older drivers use.
fn read_chip(entry_name: &str, path: &Path) -> Vec<inv::Sensor> {
    let dirs = [path.to_path_buf(), path.join("device")];
    let chip = dirs.iter().find_map(|dir| read_value(&dir.join("name"))).unwrap_or_else(|| entry_name.to_owned());
    let mut inputs: BTreeMap<(usize, u32), PathBuf> = BTreeMap::new();
    for dir in dirs.iter().rev() {
        for file in list_files(dir) {
            if let Some(key) = input_key(&file) {
                inputs.insert(key, dir.clone());
            }
        }
    }
    inputs.into_iter().map(|((kind, index), dir)| read_sensor(&chip, KINDS[kind], index, &dir)).collect()
}

fn list_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries.filter_map(Result::ok).map(|entry| entry.file_name().to_string_lossy().into_owned()).collect()
}

/// `temp1_input` → (index of `temp` in [`KINDS`], 1).
fn input_key(file: &str) -> Option<(usize, u32)> {
    let stem = file.strip_suffix("_input")?;
    KINDS.iter().enumerate().find_map(|(kind, (prefix, _, _))| {
        let number = stem.strip_prefix(prefix)?;
        (!number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()))
            .then(|| number.parse().ok())
            .flatten()
            .map(|n| (kind, n))
    })
}

fn read_sensor(chip: &str, (prefix, kind, scale): (&str, &str, f64), index: u32, dir: &Path) -> inv::Sensor {
    let file = |suffix: &str| dir.join(format!("{prefix}{index}_{suffix}"));
    let scaled = |suffix: &str| read_value(&file(suffix)).and_then(|text| parse_reading(&text)).map(|raw| raw / scale);
    inv::Sensor {
        source: "hwmon".to_owned(),
        chip: chip.to_owned(),
        label: read_value(&file("label")).unwrap_or_else(|| format!("{prefix}{index}")),
        kind: kind.to_owned(),
        value: scaled("input"),
        max: scaled("max"),
        crit: scaled("crit"),
        min: scaled("min"),
        alarm: read_alarm(&file),
    }
}

/// Whether any of the sensor's alarm flags is raised; `None` when the chip has none. Chips
/// name them after the limit crossed (`temp1_crit_alarm`) or not at all (`in1_alarm`).
fn read_alarm(file: &dyn Fn(&str) -> PathBuf) -> Option<bool> {
    let flags: Vec<bool> = ["alarm", "min_alarm", "max_alarm", "crit_alarm"]
        .into_iter()
        .filter_map(|suffix| read_value(&file(suffix)).and_then(|text| parse_alarm(&text)))
        .collect();
    (!flags.is_empty()).then(|| flags.contains(&true))
}

/// The trimmed content of a one-value sysfs file; `None` when absent, unreadable or empty.
fn read_value(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    let text = String::from_utf8_lossy(&bytes).trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// sysfs readings are integers; a float or garbage is not a reading.
fn parse_reading(text: &str) -> Option<f64> {
    text.parse::<i64>().ok().map(|raw| raw as f64)
}

fn parse_alarm(text: &str) -> Option<bool> {
    match text {
        "0" => Some(false),
        "1" => Some(true),
        _ => None,
    }
}
