//! `/proc/mdstat`: the kernel's one-page summary of its software RAID arrays.
//!
//! Each array is a header line (`md0 : active raid1 sda1[0] sdb1[1](F)`) followed by indented
//! lines: the size line that ends in `[2/1] [U_]` for redundant levels, an optional progress line
//! (`recovery =  8.5% (…) finish=17.0min …` or `resync=DELAYED`) and an optional bitmap line.
//! The format is the one `md_seq_show` in the kernel's `drivers/md/md.c` prints.

use tend_proto::inventory as inv;

use crate::collect::source::{ParseError, numbered_lines};

/// The sync action the kernel names in a progress line (`status_resync` in `md.c`).
const SYNC_ACTIONS: [&str; 4] = ["resync", "recovery", "check", "reshape"];

/// Parses `/proc/mdstat` into one [`inv::RaidArray`] per array, in the kernel's order.
///
/// A line that belongs to no array, or a top-level line that is neither an array nor one of the
/// file's framing lines, fails the whole parse: the file is not what it should be. A line inside
/// an array that cannot be read only costs that array: its `error` names the line, and the
/// fields read so far are kept.
pub fn parse_mdstat(text: &str) -> Result<Vec<inv::RaidArray>, ParseError> {
    let mut arrays: Vec<inv::RaidArray> = Vec::new();
    for (number, line) in numbered_lines(text) {
        if line.trim().is_empty() || is_framing(line) {
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            let array =
                arrays.last_mut().ok_or_else(|| ParseError::line(number, "an indented line before any array"))?;
            if let Err(reason) = read_body_line(array, line) {
                array.error.get_or_insert(format!("line {number}: {reason}"));
            }
        } else {
            arrays.push(read_header(number, line)?);
        }
    }
    Ok(arrays)
}

/// Lines that frame the array list rather than describe an array.
fn is_framing(line: &str) -> bool {
    ["Personalities", "unused devices", "read_ahead"].iter().any(|prefix| line.starts_with(prefix))
}

/// `md0 : active (auto-read-only) raid1 sdb2[0] sdc2[1](F)`. Only an unnamed or unreadable
/// header fails the parse; a bad member or level costs its array alone.
fn read_header(number: usize, line: &str) -> Result<inv::RaidArray, ParseError> {
    let (name, rest) = line
        .split_once(" : ")
        .map(|(name, rest)| (name.trim(), rest))
        .filter(|(name, _)| name.starts_with("md") && !name.contains(char::is_whitespace))
        .ok_or_else(|| {
            ParseError::line(number, format!("expected an array line like \"md0 : active …\", got {line:?}"))
        })?;
    let mut words = rest.split_whitespace().peekable();
    let state = match words.next() {
        Some("inactive") => "inactive",
        Some("active") => match words.next_if(|word| word.starts_with('(')) {
            None => "active",
            Some("(read-only)") => "read-only",
            Some("(auto-read-only)") => "auto-read-only",
            Some(other) => return Err(ParseError::line(number, format!("{name}: unknown flag {other:?}"))),
        },
        other => return Err(ParseError::line(number, format!("{name}: unknown state {:?}", other.unwrap_or("")))),
    };
    let mut array = inv::RaidArray {
        name: name.to_owned(),
        state: state.to_owned(),
        sync_action: "none".to_owned(),
        ..Default::default()
    };
    // Inactive arrays have no personality, so the level is missing rather than misplaced.
    array.level = words.next_if(|word| !word.contains('[')).map(str::to_owned);
    for word in words {
        match parse_member(word) {
            Some(member) => array.members.push(member),
            None => {
                array.error.get_or_insert(format!("line {number}: expected a member like sda1[0], got {word:?}"));
            }
        }
    }
    array.disks_failed = count_role(&array.members, "failed");
    array.disks_spare = count_role(&array.members, "spare");
    Ok(array)
}

/// `sda1[0]`, `sdb1[2](F)`, `sdc[1](S)`, `sdd1[3](W)`: the kernel marks a faulty member `(F)`
/// and one that holds no slot `(S)`; other marks (write-mostly, journal, replacement) keep it
/// an active member.
fn parse_member(word: &str) -> Option<inv::RaidMember> {
    let (name, rest) = word.split_once('[')?;
    let (slot, flags) = rest.split_once(']')?;
    if name.is_empty() || slot.is_empty() || !slot.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let role = if flags.contains("(F)") {
        "failed"
    } else if flags.contains("(S)") {
        "spare"
    } else {
        "active"
    };
    Some(inv::RaidMember { name: name.to_owned(), role: role.to_owned() })
}

fn count_role(members: &[inv::RaidMember], role: &str) -> u32 {
    u32::try_from(members.iter().filter(|member| member.role == role).count()).unwrap_or(u32::MAX)
}

/// Reads the indented lines the kernel prints under an array; others (bitmap, future fields)
/// are not looked at.
fn read_body_line(array: &mut inv::RaidArray, line: &str) -> Result<(), String> {
    let line = line.trim();
    if line.contains(" blocks") {
        read_size_line(array, line)
    } else if line.contains('%') {
        read_progress(array, line)
    } else if let Some((action, waiting)) = line.split_once('=').filter(|(action, _)| SYNC_ACTIONS.contains(action)) {
        read_waiting(array, action, waiting)
    } else {
        Ok(())
    }
}

/// `195310144 blocks super 1.2 [2/1] [U_]`: disk counts and which slots are up.
fn read_size_line(array: &mut inv::RaidArray, line: &str) -> Result<(), String> {
    for word in line.split_whitespace() {
        let Some(inner) = word.strip_prefix('[').and_then(|w| w.strip_suffix(']')) else { continue };
        if let Some((total, active)) = inner.split_once('/') {
            let total: u32 = total.parse().map_err(|_| format!("disk count: expected a number, got {total:?}"))?;
            let active: u32 = active.parse().map_err(|_| format!("active disks: expected a number, got {active:?}"))?;
            array.disks_total = Some(total);
            array.disks_active = Some(active);
            array.degraded |= active < total;
        } else if !inner.is_empty() && inner.bytes().all(|b| b == b'U' || b == b'_') {
            array.degraded |= inner.contains('_');
        }
    }
    Ok(())
}

/// `resync=DELAYED` or `resync=PENDING`: a sync that waits for another array or for the first
/// write to an auto-read-only array.
fn read_waiting(array: &mut inv::RaidArray, action: &str, waiting: &str) -> Result<(), String> {
    let waiting = match waiting.trim() {
        "DELAYED" => "delayed",
        "PENDING" => "pending",
        other => return Err(format!("{action}: unknown wait {other:?}")),
    };
    array.sync_action = action.to_owned();
    array.sync_waiting = Some(waiting.to_owned());
    Ok(())
}

/// `[=>....]  recovery =  8.5% (16775552/195310144) finish=17.0min speed=259783K/sec`.
fn read_progress(array: &mut inv::RaidArray, line: &str) -> Result<(), String> {
    // The bar before the action is made of `[`, `=`, `>`, `.` and `]`; the action follows it.
    let after_bar = line.rsplit_once(']').map_or(line, |(_, after)| after);
    let (action, rest) = after_bar.split_once('=').ok_or_else(|| format!("expected \"action = N%\", got {line:?}"))?;
    let action = action.trim();
    if !SYNC_ACTIONS.contains(&action) {
        return Err(format!("unknown sync action {action:?}"));
    }
    let mut words = rest.split_whitespace();
    let percent =
        words.next().and_then(|word| word.strip_suffix('%')).ok_or_else(|| format!("{action}: no percentage"))?;
    let percent: f64 = percent
        .parse()
        .ok()
        .filter(|percent| (0.0..=100.0).contains(percent))
        .ok_or_else(|| format!("{action}: {percent:?} is no percentage"))?;
    array.sync_action = action.to_owned();
    array.sync_percent = Some(percent);
    array.sync_eta_seconds = words.find_map(|word| word.strip_prefix("finish=")).map(eta_seconds).transpose()?;
    Ok(())
}

/// `17.0min`, the only unit the kernel uses for the estimate, in whole seconds.
fn eta_seconds(finish: &str) -> Result<u64, String> {
    let minutes = finish.strip_suffix("min").ok_or_else(|| format!("finish: expected minutes, got {finish:?}"))?;
    let minutes: f64 = minutes.parse().map_err(|_| format!("finish: {minutes:?} is no number of minutes"))?;
    if !(0.0..=1e12).contains(&minutes) {
        return Err(format!("finish: {finish:?} is no duration"));
    }
    // Bounded above, so the conversion cannot saturate into a made-up value.
    Ok((minutes * 60.0).round() as u64)
}
