//! OSV records (<https://ossf.github.io/osv-schema/>) as advisories.
//!
//! - Ecosystems: `Debian:<number>` (the number mapped to the code name the tracker and hosts
//!   use, `Debian:12` → bookworm), `Ubuntu:<version>`, `Ubuntu:<version>:LTS` and Ubuntu Pro's
//!   `Ubuntu:Pro:<version>[:LTS]` (fixes from the Pro archive, listed under the same release;
//!   `advisory::match_host` sorts out a release listed twice), `AlmaLinux:<major>`,
//!   `Rocky Linux:<major>`. Other ecosystems (language packages, Ubuntu's FIPS and realtime
//!   streams, Red Hat's product streams) are not host packages tend can match and are left out;
//!   a record with nothing else is counted as irrelevant.
//! - Ranges of type `ECOSYSTEM`: each `introduced` (`0` meaning "since always") up to the next
//!   `fixed` is a fixed entry; a range left open, or closed by `last_affected` (vulnerable up to
//!   that version, no fix known), is an unfixed entry, which may over-report versions above
//!   `last_affected` but never hides one below. `limit` events, and `SEMVER` and `GIT` ranges,
//!   are ignored.
//! - Severity: the distribution's own word when the record has one (a severity of type `Ubuntu`,
//!   `database_specific.severity`, an affected entry's `ecosystem_specific` or
//!   `database_specific` `severity` or `urgency`), the highest of them; else the base score of a
//!   `CVSS_V3` vector; else unknown.
//! - Aliases: `aliases` and `upstream` (where Debian's and Ubuntu's records name the CVE).
//! - A record with `withdrawn` set is not imported; its id is listed as withdrawn.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

use super::{Imported, MAX_AFFECTED, MAX_ALIASES, check_size, checked, cvss, summary};
use crate::Error;
use crate::patching::advisory::{Advisory, AffectedPackage, FixStatus, Severity, debian_codename};
use crate::patching::validate_token;

#[derive(Deserialize)]
struct Record {
    id: String,
    #[serde(default)]
    aliases: Option<Vec<String>>,
    #[serde(default)]
    upstream: Option<Vec<String>>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    severity: Option<Vec<RecordSeverity>>,
    #[serde(default)]
    affected: Option<Vec<Affected>>,
    #[serde(default)]
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct RecordSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize)]
struct Affected {
    #[serde(default)]
    package: Option<Package>,
    #[serde(default)]
    ranges: Option<Vec<Range>>,
    #[serde(default)]
    ecosystem_specific: Option<Value>,
    #[serde(default)]
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct Package {
    ecosystem: String,
    name: String,
}

#[derive(Deserialize)]
struct Range {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<Event>,
}

#[derive(Deserialize)]
struct Event {
    introduced: Option<String>,
    fixed: Option<String>,
    last_affected: Option<String>,
}

/// Advisories from OSV JSON: one record, an array of records, or records one after another
/// (JSON lines). `learned_at` is now, for the server: when tend learned of what it reads.
pub fn parse_osv(bytes: &[u8], learned_at: Timestamp) -> Result<Imported, Error> {
    check_size("osv", bytes)?;
    let not_json = |e: serde_json::Error| Error::Invalid { field: "osv", reason: format!("not OSV JSON: {e}") };
    let mut imported = Imported::default();
    let starts_array = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    if starts_array {
        let records: Vec<Value> = serde_json::from_slice(bytes).map_err(not_json)?;
        for (index, record) in records.into_iter().enumerate() {
            read(&mut imported, index, record, learned_at);
        }
    } else {
        for (index, record) in serde_json::Deserializer::from_slice(bytes).into_iter::<Value>().enumerate() {
            read(&mut imported, index, record.map_err(not_json)?, learned_at);
        }
    }
    imported.advisories.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(imported)
}

fn read(imported: &mut Imported, index: usize, record: Value, learned_at: Timestamp) {
    let place = record.get("id").and_then(Value::as_str).map_or_else(|| format!("record {}", index + 1), str::to_owned);
    let record: Record = match serde_json::from_value(record) {
        Ok(record) => record,
        Err(e) => return imported.skip(place, format!("not an OSV record: {e}")),
    };
    if let Err(e) = validate_token("id", &record.id) {
        return imported.skip(place, e.to_string());
    }
    if record.withdrawn.is_some() {
        imported.withdrawn.push(record.id);
        return;
    }
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    for affected in record.affected.iter().flatten() {
        let Some(package) = &affected.package else { continue };
        let Some((distribution, release)) = release_of(&package.ecosystem) else { continue };
        for range in affected.ranges.iter().flatten().filter(|range| range.kind == "ECOSYSTEM") {
            for (introduced, fixed) in spans(&range.events) {
                let entry = AffectedPackage {
                    distribution: distribution.to_owned(),
                    release: release.clone(),
                    package: package.name.clone(),
                    introduced,
                    status: if fixed.is_some() { FixStatus::Fixed } else { FixStatus::Unfixed },
                    fixed,
                    learned_at,
                };
                match checked(entry) {
                    Ok(entry) => entries.push(entry),
                    Err(reason) => problems.push(reason),
                }
            }
        }
    }
    for reason in problems {
        imported.skip(&record.id, reason);
    }
    if entries.is_empty() {
        imported.irrelevant += 1;
        return;
    }
    if entries.len() > MAX_AFFECTED {
        return imported
            .skip(&record.id, format!("{} entries is more than the {MAX_AFFECTED} tend keeps", entries.len()));
    }
    let aliases: BTreeSet<String> = record
        .aliases
        .iter()
        .chain(&record.upstream)
        .flatten()
        .filter(|alias| **alias != record.id && validate_token("alias", alias).is_ok())
        .take(MAX_ALIASES)
        .cloned()
        .collect();
    imported.advisories.push(Advisory {
        severity: severity(&record),
        summary: summary(record.summary.as_deref().or(record.details.as_deref()).unwrap_or_default()),
        id: record.id,
        aliases: aliases.into_iter().collect(),
        learned_at,
        affected: entries,
    });
}

/// The distribution and release of an OSV ecosystem tend matches hosts against.
fn release_of(ecosystem: &str) -> Option<(&'static str, String)> {
    let is_number = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = ecosystem.split(':').collect();
    match parts.as_slice() {
        ["Debian", number] => Some(("debian", debian_codename(number)?.to_owned())),
        ["Ubuntu", rest @ ..] => {
            let rest = rest.strip_prefix(&["Pro"]).unwrap_or(rest);
            let version = match rest {
                [version] | [version, "LTS"] => version,
                _ => return None,
            };
            let (year, month) = version.split_once('.')?;
            (is_number(year) && is_number(month)).then(|| ("ubuntu", (*version).to_owned()))
        }
        ["AlmaLinux", major] if is_number(major) => Some(("almalinux", (*major).to_owned())),
        ["Rocky Linux", major] if is_number(major) => Some(("rocky", (*major).to_owned())),
        _ => None,
    }
}

/// A range's events as (introduced, fixed) spans; `None` introduced for "0", `None` fixed for a
/// span left open or closed by `last_affected`.
fn spans(events: &[Event]) -> Vec<(Option<String>, Option<String>)> {
    let since = |version: &str| (version != "0").then(|| version.to_owned());
    let mut spans = Vec::new();
    let mut open: Option<Option<String>> = None;
    for event in events {
        if let Some(introduced) = &event.introduced
            && let Some(previous) = open.replace(since(introduced))
        {
            spans.push((previous, None));
        }
        if let Some(fixed) = &event.fixed {
            spans.push((open.take().flatten(), Some(fixed.clone())));
        }
        if event.last_affected.is_some() {
            spans.push((open.take().flatten(), None));
        }
    }
    if let Some(introduced) = open {
        spans.push((introduced, None));
    }
    spans
}

fn severity(record: &Record) -> Severity {
    let word =
        |value: Option<&Value>, key: &str| value.and_then(|v| v.get(key)).and_then(Value::as_str).map(str::to_owned);
    let mut words: Vec<String> = Vec::new();
    for entry in record.severity.iter().flatten().filter(|s| s.kind == "Ubuntu") {
        words.push(entry.score.clone());
    }
    words.extend(word(record.database_specific.as_ref(), "severity"));
    for affected in record.affected.iter().flatten() {
        for specific in [&affected.ecosystem_specific, &affected.database_specific] {
            words.extend(word(specific.as_ref(), "severity"));
            words.extend(word(specific.as_ref(), "urgency"));
        }
    }
    if let Some(judged) = words.iter().filter_map(|w| Severity::from_word(w)).max() {
        return judged;
    }
    record
        .severity
        .iter()
        .flatten()
        .filter(|s| s.kind == "CVSS_V3")
        .filter_map(|s| cvss::base_score(&s.score))
        .map(cvss::severity)
        .max()
        .unwrap_or(Severity::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecosystems() {
        let cases = [
            ("Debian:12", Some(("debian", "bookworm"))),
            ("Debian:11", Some(("debian", "bullseye"))),
            ("Debian:13", Some(("debian", "trixie"))),
            ("Debian:9", None),
            ("Debian", None),
            ("Debian:12:extra", None),
            ("Ubuntu:22.04:LTS", Some(("ubuntu", "22.04"))),
            ("Ubuntu:24.10", Some(("ubuntu", "24.10"))),
            ("Ubuntu:Pro:18.04:LTS", Some(("ubuntu", "18.04"))),
            ("Ubuntu:Pro:16.04", Some(("ubuntu", "16.04"))),
            ("Ubuntu:Pro:FIPS-updates:22.04:LTS", None),
            ("Ubuntu:Pro:22.04:LTS:Realtime:Kernel", None),
            ("Ubuntu:jammy", None),
            ("AlmaLinux:9", Some(("almalinux", "9"))),
            ("AlmaLinux:9.4", None),
            ("Rocky Linux:8", Some(("rocky", "8"))),
            ("Red Hat:enterprise_linux:9::appstream", None),
            ("PyPI", None),
            ("", None),
        ];
        for (ecosystem, expected) in cases {
            let got = release_of(ecosystem);
            assert_eq!(got.as_ref().map(|(d, r)| (*d, r.as_str())), expected, "{ecosystem:?}");
        }
    }

    fn event(kind: &str, version: &str) -> Event {
        let v = || Some(version.to_owned());
        match kind {
            "introduced" => Event { introduced: v(), fixed: None, last_affected: None },
            "fixed" => Event { introduced: None, fixed: v(), last_affected: None },
            _ => Event { introduced: None, fixed: None, last_affected: v() },
        }
    }

    #[test]
    fn ranges_into_spans() {
        type Spans = Vec<(Option<&'static str>, Option<&'static str>)>;
        let cases: [(&str, Vec<Event>, Spans); 7] = [
            (
                "since always, fixed",
                vec![event("introduced", "0"), event("fixed", "1.2-1")],
                vec![(None, Some("1.2-1"))],
            ),
            ("since always, no fix", vec![event("introduced", "0")], vec![(None, None)]),
            (
                "introduced later",
                vec![event("introduced", "1.1"), event("fixed", "1.2")],
                vec![(Some("1.1"), Some("1.2"))],
            ),
            (
                "two ranges in one",
                vec![
                    event("introduced", "0"),
                    event("fixed", "1.2"),
                    event("introduced", "1.5"),
                    event("fixed", "1.6"),
                ],
                vec![(None, Some("1.2")), (Some("1.5"), Some("1.6"))],
            ),
            (
                "a fixed range, then one still open",
                vec![event("introduced", "0"), event("fixed", "1.2"), event("introduced", "1.5")],
                vec![(None, Some("1.2")), (Some("1.5"), None)],
            ),
            (
                "last affected: no fix known",
                vec![event("introduced", "0"), event("last_affected", "1.4")],
                vec![(None, None)],
            ),
            ("a fix without an introduction", vec![event("fixed", "1.2")], vec![(None, Some("1.2"))]),
        ];
        for (name, events, expected) in cases {
            let got = spans(&events);
            let got: Vec<(Option<&str>, Option<&str>)> =
                got.iter().map(|(i, f)| (i.as_deref(), f.as_deref())).collect();
            assert_eq!(got, expected, "{name}");
        }
    }
}
