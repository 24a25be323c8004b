//! `mdadm --detail /dev/mdX`: what mdadm says of one array, and how it completes what
//! `/proc/mdstat` said.
//!
//! The output is `Key : Value` lines under a `/dev/md0:` header, then a member table whose
//! rows end in the device (`0  8  17  0  active sync  /dev/sdb1`). mdadm writes the same keys
//! from 3.x to 4.x; keys not used here are not looked at.

use tend_proto::inventory as inv;

use crate::collect::source::{ParseError, numbered_lines, parse_number};

/// The words of the State line that name a running sync, and the sync action mdstat calls it.
const SYNC_STATES: [(&str, &str); 4] =
    [("resyncing", "resync"), ("recovering", "recovery"), ("checking", "check"), ("reshaping", "reshape")];

/// Parses `mdadm --detail` output into the array it describes.
///
/// `state` is `inactive` or `active` (mdadm's `clean`, `active` and their variants), and
/// `degraded` follows the State line's `degraded` or `FAILED`. Member roles follow the table:
/// `faulty` is `failed`, `spare` (also a spare being rebuilt into a slot) is `spare`, anything
/// else `active`; `removed` slots have no device and are not members.
pub fn parse_mdadm_detail(text: &str) -> Result<inv::RaidArray, ParseError> {
    let mut lines = numbered_lines(text).filter(|(_, line)| !line.trim().is_empty());
    let (number, header) = lines.next().ok_or(ParseError::Missing { field: "array header" })?;
    let mut array = inv::RaidArray {
        name: array_name(number, header)?,
        state: "active".to_owned(),
        sync_action: "none".to_owned(),
        ..Default::default()
    };
    let mut in_table = false;
    for (number, line) in lines {
        if in_table {
            read_member_row(&mut array, number, line)?;
        } else if line.trim_start().starts_with("Number ") {
            in_table = true;
        } else if let Some((key, value)) = line.split_once(" : ") {
            read_field(&mut array, number, key.trim(), value.trim())?;
        }
    }
    Ok(array)
}

/// `/dev/md0:` or `/dev/md/data:`, named as in `/proc/mdstat` where the device is `mdX`.
fn array_name(number: usize, header: &str) -> Result<String, ParseError> {
    header
        .trim()
        .strip_suffix(':')
        .and_then(|device| device.strip_prefix("/dev/"))
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| ParseError::line(number, format!("expected a header like \"/dev/md0:\", got {header:?}")))
}

fn read_field(array: &mut inv::RaidArray, number: usize, key: &str, value: &str) -> Result<(), ParseError> {
    match key {
        "Raid Level" => array.level = Some(value.to_owned()),
        "Raid Devices" => array.disks_total = Some(parse_number(number, key, value)?),
        "Active Devices" => array.disks_active = Some(parse_number(number, key, value)?),
        "Failed Devices" => array.disks_failed = parse_number(number, key, value)?,
        "Spare Devices" => array.disks_spare = parse_number(number, key, value)?,
        "State" => read_state(array, value),
        "Rebuild Status" | "Resync Status" | "Reshape Status" | "Check Status" => {
            let percent = value.split_once('%').map_or(value, |(percent, _)| percent);
            let percent: f64 = parse_number(number, key, percent)?;
            if !(0.0..=100.0).contains(&percent) {
                return Err(ParseError::line(number, format!("{key}: {percent}% is no progress")));
            }
            array.sync_percent = Some(percent);
        }
        _ => {}
    }
    Ok(())
}

/// `clean, degraded, recovering` or `active, resyncing (DELAYED)`.
fn read_state(array: &mut inv::RaidArray, value: &str) {
    let words: Vec<&str> = value.split([',', ' ']).filter(|word| !word.is_empty()).collect();
    if words.contains(&"inactive") {
        array.state = "inactive".to_owned();
    }
    array.degraded = words.iter().any(|word| word.eq_ignore_ascii_case("degraded") || *word == "FAILED");
    if let Some((_, action)) = SYNC_STATES.iter().find(|(word, _)| words.contains(word)) {
        array.sync_action = (*action).to_owned();
    }
    if words.contains(&"(DELAYED)") {
        array.sync_waiting = Some("delayed".to_owned());
    } else if words.contains(&"(PENDING)") {
        array.sync_waiting = Some("pending".to_owned());
    }
}

/// `3  254  4  1  spare rebuilding  /dev/vda4`; `-  0  0  1  removed` has no device.
fn read_member_row(array: &mut inv::RaidArray, number: usize, line: &str) -> Result<(), ParseError> {
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.contains(&"removed") {
        return Ok(());
    }
    let [_number, _major, _minor, _slot, states @ .., device] = words.as_slice() else {
        return Err(ParseError::line(number, format!("expected a member row ending in its device, got {line:?}")));
    };
    let name = device
        .strip_prefix("/dev/")
        .ok_or_else(|| ParseError::line(number, format!("expected a device like /dev/sda1, got {device:?}")))?;
    let role = if states.contains(&"faulty") {
        "failed"
    } else if states.contains(&"spare") {
        "spare"
    } else {
        "active"
    };
    array.members.push(inv::RaidMember { name: name.to_owned(), role: role.to_owned() });
    Ok(())
}

/// Completes an array read from `/proc/mdstat` with what mdadm said of it.
///
/// mdstat is what the kernel says right now and stays authoritative: mdadm only fills what
/// mdstat leaves out (the level and disk counts of raid0 and linear arrays, the members of an
/// array mdstat lists none for, a sync mdstat shows no progress for) and can only add bad news
/// (degraded, more failed disks), never take it away.
pub fn complete_from_detail(array: &mut inv::RaidArray, detail: inv::RaidArray) {
    array.level = array.level.take().or(detail.level);
    array.disks_total = array.disks_total.or(detail.disks_total);
    array.disks_active = array.disks_active.or(detail.disks_active);
    array.disks_failed = array.disks_failed.max(detail.disks_failed);
    array.degraded |= detail.degraded;
    if array.members.is_empty() {
        array.members = detail.members;
    }
    if array.sync_action == "none" && detail.sync_action != "none" {
        array.sync_action = detail.sync_action;
        array.sync_percent = detail.sync_percent;
        array.sync_waiting = detail.sync_waiting;
    }
}
