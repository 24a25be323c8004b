//! Verdicts on the running system: temperatures, systemd units, listening ports, pending
//! reboots, antivirus signatures, time synchronisation, certificates and OS support.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde_json::json;
use tend_proto::inventory as inv;

use super::{Finding, Level, Readings, days_between, from_millis};
use crate::checks::catalogue::{IGNORED_UNITS, PORTS};

pub(super) fn temperature(r: &Readings<'_>) -> Vec<Finding> {
    let sensors = r.current.sensors.iter().flatten().filter(|sensor| sensor.kind == "temperature");
    let mut named = BTreeMap::<String, usize>::new();
    let mut findings = Vec::new();
    for sensor in sensors {
        // Chips of one kind share a name (every NVMe drive is `nvme`, `Composite`): the second
        // and later of a name are numbered, in the agent's stable order of the chips.
        let name = format!("{} {}", sensor.chip, sensor.label);
        let seen = named.entry(name.clone()).or_default();
        *seen += 1;
        let target = if *seen == 1 { name } else { format!("{name} #{seen}") };
        findings.extend(temperature_finding(r, sensor, &target));
    }
    findings
}

/// A sensor is judged against its own limits and the check's thresholds; one with neither
/// (nor an alarm flag) has nothing to be judged against.
fn temperature_finding(r: &Readings<'_>, sensor: &inv::Sensor, target: &str) -> Option<Finding> {
    let value = sensor.value?;
    // A limit at or below freezing is a chip's placeholder, not one a server runs into.
    let limit = |limit: Option<f64>| limit.filter(|limit| *limit > 0.0);
    let (max, crit) = (limit(sensor.max), limit(sensor.crit));
    let configured = r.settings.warning.is_some() || r.settings.critical.is_some();
    if max.is_none() && crit.is_none() && sensor.alarm.is_none() && !configured {
        return None;
    }
    let own = if crit.is_some_and(|crit| value >= crit) {
        Some(Level::Critical)
    } else if max.is_some_and(|max| value >= max) || sensor.alarm == Some(true) {
        Some(Level::Warning)
    } else {
        None
    };
    let problem = own.max(r.settings.level_at_least(value));
    let limits: Vec<String> = [("max", max), ("crit", crit)]
        .into_iter()
        .filter_map(|(name, limit)| Some(format!("{name} {} °C", limit?)))
        .collect();
    let limits = if limits.is_empty() { String::new() } else { format!(" ({})", limits.join(", ")) };
    let alarm = if sensor.alarm == Some(true) { ", alarm raised" } else { "" };
    let summary = format!("{}{value} °C{limits}{alarm}", if problem.is_some() { "too hot: " } else { "" });
    let evidence = json!({
        "source": sensor.source, "value": value, "max": sensor.max, "crit": sensor.crit, "alarm": sensor.alarm,
    });
    Some(r.finding(target, problem, summary, evidence))
}

pub(super) fn service_failed(r: &Readings<'_>) -> Vec<Finding> {
    let Some(services) = &r.current.services else { return Vec::new() };
    let ignored = r.settings.list(IGNORED_UNITS);
    let units = services.units.iter().filter(|unit| !ignored.contains(&unit.name));
    units
        .map(|unit| {
            let state = if unit.load_state == "not-found" {
                "not found".to_owned()
            } else {
                format!("{} ({})", unit.active_state, unit.sub_state)
            };
            let restarts =
                unit.restarts.filter(|n| *n > 0).map(|n| format!(", restarted {n} times")).unwrap_or_default();
            let watched = if unit.watched { ", watched" } else { "" };
            let evidence = json!({
                "load_state": unit.load_state, "active_state": unit.active_state, "sub_state": unit.sub_state,
                "restarts": unit.restarts, "watched": unit.watched,
            });
            r.finding(&unit.name, unit_problem(unit), format!("{state}{restarts}{watched}"), evidence)
        })
        .collect()
}

/// A failed unit is worth a warning; a watched one (the agent was told it matters) is critical
/// when failed or down, and a warning while starting or stopping, which the pending time tells
/// from a hang.
fn unit_problem(unit: &inv::ServiceUnit) -> Option<Level> {
    match (unit.active_state.as_str(), unit.watched) {
        ("failed", true) => Some(Level::Critical),
        ("failed", false) => Some(Level::Warning),
        (_, false) | ("active" | "reloading", true) => None,
        ("activating" | "deactivating", true) => Some(Level::Warning),
        (_, true) => Some(Level::Critical),
    }
}

pub(super) fn listening_port_missing(r: &Readings<'_>) -> Vec<Finding> {
    let Some(services) = &r.current.services else { return Vec::new() };
    let mut seen = BTreeSet::new();
    let mut findings = Vec::new();
    for entry in r.settings.list(PORTS) {
        let Some((protocol, port)) = parse_port(entry) else {
            // A typo in the list must show, not silently watch nothing.
            let summary = format!("{entry:?} is no port: write 443, tcp/443 or udp/53");
            findings.push(r.finding(entry, Some(Level::Warning), summary, json!({ "entry": entry })));
            continue;
        };
        if !seen.insert((protocol, port)) {
            continue;
        }
        let listening: Vec<&inv::ListeningPort> =
            services.listening.iter().filter(|socket| socket.protocol == protocol && socket.port == port).collect();
        let (problem, summary) = match listening.first() {
            None => (Some(Level::Critical), format!("nothing listens on {protocol}/{port}")),
            Some(socket) => {
                let process = socket.process.as_deref().unwrap_or("a process");
                (None, format!("{process} listens on {}:{port}", socket.address))
            }
        };
        let sockets: Vec<_> =
            listening.iter().map(|socket| json!({ "address": socket.address, "process": socket.process })).collect();
        findings.push(r.finding(&format!("{protocol}/{port}"), problem, summary, json!({ "listening": sockets })));
    }
    findings
}

/// `443` (TCP), `tcp/443` or `udp/53`.
fn parse_port(entry: &str) -> Option<(&'static str, u16)> {
    let (protocol, port) = entry.trim().split_once('/').unwrap_or(("tcp", entry.trim()));
    let protocol = match protocol.trim().to_ascii_lowercase().as_str() {
        "tcp" => "tcp",
        "udp" => "udp",
        _ => return None,
    };
    port.trim().parse::<u16>().ok().filter(|port| *port > 0).map(|port| (protocol, port))
}

/// What a check says of a value it cannot read: a warning if the check warns at all, since
/// silence would look like health.
fn unknown(r: &Readings<'_>) -> Option<Level> {
    r.settings.warning.map(|_| Level::Warning)
}

pub(super) fn reboot_required(r: &Readings<'_>) -> Vec<Finding> {
    let Some(packages) = &r.current.packages else { return Vec::new() };
    let Some(required) = packages.reboot_required else { return Vec::new() };
    let since = packages.reboot_required_since_ms.and_then(from_millis);
    let asked_by = match packages.reboot_required_packages.as_slice() {
        [] => String::new(),
        names => format!(" (asked by {})", names.join(", ")),
    };
    let (problem, summary) = match (required, since) {
        (false, _) => (None, "no reboot required".to_owned()),
        (true, Some(since)) => {
            let days = days_between(since, r.now);
            (
                r.settings.level_at_least(days),
                format!("reboot required{asked_by} for {} days, since {since}", days.floor()),
            )
        }
        // Hosts that cannot tell since when would otherwise never be told.
        (true, None) => (unknown(r), format!("reboot required{asked_by}, since an unknown time")),
    };
    let evidence = json!({ "packages": packages.reboot_required_packages, "since": since });
    vec![r.finding("reboot", problem, summary, evidence)]
}

/// Only the newest database counts: ClamAV updates `daily` several times a day and `main` and
/// `bytecode` rarely, so an old `main` beside a fresh `daily` is current.
pub(super) fn antivirus_signatures_old(r: &Readings<'_>) -> Vec<Finding> {
    let Some(antivirus) = &r.current.antivirus else { return Vec::new() };
    let built = antivirus.databases.iter().filter_map(|db| Some((db.built_at_ms.and_then(from_millis)?, db)));
    let (problem, summary) = match built.max_by_key(|(at, _)| *at) {
        None => {
            let why = antivirus.error.as_deref().unwrap_or("no database with a build time");
            (unknown(r), format!("signature age unknown: {why}"))
        }
        Some((at, newest)) => {
            let days = days_between(at, r.now);
            (r.settings.level_at_least(days), format!("newest signatures ({}) built {days:.1} days ago", newest.name))
        }
    };
    let databases: Vec<_> = antivirus
        .databases
        .iter()
        .map(|db| json!({ "name": db.name, "version": db.version, "built_at": db.built_at_ms.and_then(from_millis) }))
        .collect();
    let evidence = json!({ "databases": databases, "freshclam_active": antivirus.freshclam_active });
    vec![r.finding(&antivirus.engine, problem, summary, evidence)]
}

pub(super) fn clock_unsynchronised(r: &Readings<'_>) -> Vec<Finding> {
    let Some(time) = &r.current.time else { return Vec::new() };
    let offset = time.offset_seconds.map(f64::abs);
    let unsynchronised = (!time.synchronized).then_some(Level::Warning);
    let problem = unsynchronised.max(offset.and_then(|offset| r.settings.level_at_least(offset)));
    let state = if time.synchronized { "synchronised" } else { "not synchronised" };
    let off = time.offset_seconds.map(|offset| format!(", off by {offset} s")).unwrap_or_default();
    let server = time.server.as_deref().map(|server| format!(", server {server}")).unwrap_or_default();
    let evidence = json!({
        "source": time.source, "synchronized": time.synchronized, "ntp_enabled": time.ntp_enabled,
        "offset_seconds": time.offset_seconds, "server": time.server,
    });
    vec![r.finding("clock", problem, format!("{state}{off}{server}"), evidence)]
}

pub(super) fn certificate_expiring(r: &Readings<'_>) -> Vec<Finding> {
    let certificates = r.current.certificates.iter().flatten();
    certificates.map(|certificate| certificate_finding(r, certificate)).collect()
}

/// Days left are counted from `now`, not from collection time, and in whole days, as the agent
/// counts them: 23 hours left is 0 days.
fn certificate_finding(r: &Readings<'_>, certificate: &inv::Certificate) -> Finding {
    let not_after = certificate.not_after_ms.and_then(from_millis);
    let days = not_after.map(|at| days_between(r.now, at).floor()).or(certificate.days_left.map(|days| days as f64));
    let (problem, summary) = match days {
        // A configured certificate that cannot be read is one nobody would notice expiring.
        None => {
            let why = certificate.error.as_deref().unwrap_or("no expiry date");
            (unknown(r), format!("cannot tell when it expires: {why}"))
        }
        Some(days) if days < 0.0 => (Some(Level::Critical), format!("expired {} days ago", -days)),
        Some(days) => (r.settings.level_at_most(days), format!("expires in {days} days")),
    };
    let evidence = json!({ "subject": certificate.subject, "issuer": certificate.issuer, "not_after": not_after });
    r.finding(&certificate.path, problem, summary, evidence)
}

pub(super) fn os_end_of_life(r: &Readings<'_>) -> Vec<Finding> {
    let Some(os) = &r.current.os else { return Vec::new() };
    let left = support_days_left(os, r.now);
    if left.is_none() && os.eol.is_none() {
        // A release missing from the agent's table: nothing known to judge.
        return Vec::new();
    }
    let ended = os.eol == Some(true) || left.is_some_and(|left| left <= 0);
    let problem =
        if ended { Some(Level::Critical) } else { left.and_then(|left| r.settings.level_at_most(left as f64)) };
    let until = os.eol_date.as_deref().unwrap_or("an unknown date");
    let summary = match left {
        _ if ended => format!("{} is out of support: support ended {until}", os.pretty_name),
        Some(left) => format!("{} is supported until {until}, {left} days left", os.pretty_name),
        None => format!("{} is supported", os.pretty_name),
    };
    let evidence = json!({ "id": os.id, "version_id": os.version_id, "eol_date": os.eol_date, "days_left": left });
    vec![r.finding("os", problem, summary, evidence)]
}

/// Days until the first day without support: 1 on the last supported day, 0 the day after, as
/// the agent's `eol` flag has it. From the date when there is one, so that the count moves on
/// with `now`.
fn support_days_left(os: &inv::OsSupport, now: Timestamp) -> Option<i64> {
    match os.eol_date.as_deref().and_then(|date| date.parse::<Date>().ok()) {
        Some(end) => {
            let today = now.to_zoned(TimeZone::UTC).date();
            Some(i64::from(end.since(today).ok()?.get_days()) + 1)
        }
        None => os.days_until_eol.map(|days| days + 1),
    }
}
