//! The operating system and how long its release gets security updates, as the report's `os`
//! section: os-release(5) (read with [`facts::parse_os_release`](super::facts::parse_os_release)),
//! the running kernel, and the agent's release table, `data/os-eol.toml`.
//!
//! This module owns the release table and looking a release up in it. The table is compiled in:
//! the agent must not fetch dates from the network, and a host must not be able to change what
//! its own end of life is said to be. Nor does it judge: how close to the end is too close is
//! the server's call.

use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::Duration;

use jiff::civil::Date;
use tend_proto::inventory as inv;

use super::facts::{OsRelease, parse_os_release};
use super::source::{ParseError, numbered_lines};
use super::{Collector, Section};
use crate::Error;

/// The release table, see the file's header for its format.
const RELEASE_TABLE: &str = include_str!("../../data/os-eol.toml");
const RELEASE_TABLE_NAME: &str = "data/os-eol.toml";
/// A release and a kernel change with an upgrade and a reboot; the date it is checked against
/// changes daily.
const PERIOD: Duration = Duration::from_secs(3600);

static RELEASES: LazyLock<Result<ReleaseTable, ParseError>> = LazyLock::new(|| ReleaseTable::parse(RELEASE_TABLE));

/// End of security support by os-release ID and VERSION_ID (or its leading part).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReleaseTable {
    ends: BTreeMap<String, Vec<(String, Date)>>,
}

impl ReleaseTable {
    /// Reads the subset of TOML the table uses: `[id]` sections of `"version" = YYYY-MM-DD`
    /// lines, `#` comments. A key or section given twice is an error, as in TOML.
    pub fn parse(text: &str) -> Result<ReleaseTable, ParseError> {
        let mut ends: BTreeMap<String, Vec<(String, Date)>> = BTreeMap::new();
        let mut section: Option<String> = None;
        for (number, line) in numbered_lines(text) {
            let line = without_comment(line).trim();
            if line.is_empty() {
                continue;
            }
            let fail = |reason: String| ParseError::line(number, reason);
            if let Some(header) = line.strip_prefix('[') {
                let name = header.strip_suffix(']').ok_or_else(|| fail("unterminated [section]".into()))?.trim();
                let name = bare_key(name).ok_or_else(|| fail(format!("not an os-release ID: {name:?}")))?;
                if ends.insert(name.to_owned(), Vec::new()).is_some() {
                    return Err(fail(format!("[{name}] given twice")));
                }
                section = Some(name.to_owned());
                continue;
            }
            let Some(entries) = section.as_ref().and_then(|name| ends.get_mut(name)) else {
                return Err(fail("an entry before any [section]".into()));
            };
            let (key, value) =
                line.split_once('=').ok_or_else(|| fail(format!("expected \"version\" = date, got {line:?}")))?;
            let version = key_text(key.trim()).ok_or_else(|| fail(format!("not a version key: {:?}", key.trim())))?;
            let date = date(value.trim())
                .ok_or_else(|| fail(format!("expected a YYYY-MM-DD date, got {:?}", value.trim())))?;
            if entries.iter().any(|(known, _)| known == version) {
                return Err(fail(format!("\"{version}\" given twice")));
            }
            entries.push((version.to_owned(), date));
        }
        Ok(ReleaseTable { ends })
    }

    /// The end of support of `release`: the entry for its VERSION_ID, or else for the longest
    /// leading part of it (`9` for `9.4`, never `3.2` for `3.20`). Rolling releases, which have no
    /// VERSION_ID, and releases the table does not list have none.
    pub fn end_of_support(&self, release: &OsRelease) -> Option<Date> {
        // CentOS Stream shares ID and VERSION_ID with CentOS Linux; only its name tells them apart.
        let id = if release.id == "centos" && release.pretty_name.starts_with("CentOS Stream") {
            "centos-stream"
        } else {
            release.id.as_str()
        };
        let version = release.version_id.as_str();
        let covers = |key: &str| version == key || version.strip_prefix(key).is_some_and(|rest| rest.starts_with('.'));
        let entries = self.ends.get(id)?;
        entries.iter().filter(|(key, _)| covers(key)).max_by_key(|(key, _)| key.len()).map(|(_, date)| *date)
    }
}

/// The line up to a `#` that is not inside a quoted key.
fn without_comment(line: &str) -> &str {
    let mut quoted = false;
    for (index, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '#' if !quoted => return &line[..index],
            _ => {}
        }
    }
    line
}

/// A TOML bare key: letters, digits, `_` and `-`. A dot would make it a dotted key in TOML, so a
/// version with dots must be quoted.
fn bare_key(key: &str) -> Option<&str> {
    (!key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')).then_some(key)
}

fn key_text(key: &str) -> Option<&str> {
    match key.strip_prefix('"') {
        Some(quoted) => quoted.strip_suffix('"').filter(|inner| !inner.is_empty() && !inner.contains(['"', '\\'])),
        None => bare_key(key),
    }
}

/// A TOML local date: exactly `YYYY-MM-DD`, and a day that exists.
fn date(text: &str) -> Option<Date> {
    let shaped = text.len() == 10
        && text.char_indices().all(|(i, c)| if i == 4 || i == 7 { c == '-' } else { c.is_ascii_digit() });
    shaped.then(|| text.parse().ok()).flatten()
}

/// The OS section for `release` running `kernel`, judged against the agent's release table on
/// `today`. Past its end of life is strictly after the last day of support.
pub fn os_support(release: &OsRelease, kernel: &str, today: Date) -> inv::OsSupport {
    support(RELEASES.as_ref().ok(), release, kernel, today)
}

fn support(table: Option<&ReleaseTable>, release: &OsRelease, kernel: &str, today: Date) -> inv::OsSupport {
    let end = table.and_then(|table| table.end_of_support(release));
    inv::OsSupport {
        id: release.id.clone(),
        version_id: release.version_id.clone(),
        pretty_name: release.pretty_name.clone(),
        kernel: kernel.to_owned(),
        eol_date: end.map(|end| end.to_string()),
        eol: end.map(|end| today > end),
        days_until_eol: end.and_then(|end| today.until(end).ok()).map(|span| i64::from(span.get_days())),
    }
}

/// `tend agent parse os-release`: the section an os-release file gives today, with no kernel.
pub fn parse_os_support(text: &str) -> Result<inv::OsSupport, ParseError> {
    let release = parse_os_release(text)?;
    let table = release_table().map_err(|reason| ParseError::line(0, reason))?;
    Ok(support(Some(table), &release, "", today()))
}

/// The compiled-in table, or why it is unreadable (which its unit test rules out).
fn release_table() -> Result<&'static ReleaseTable, String> {
    RELEASES.as_ref().map_err(|error| format!("the agent's {RELEASE_TABLE_NAME} is broken: {error:?}"))
}

/// Today in UTC: the table's dates are calendar days, and UTC needs no time zone database.
fn today() -> Date {
    jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date()
}

/// Reports the OS release, the kernel and the release's end of support.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsCollector;

impl Collector for OsCollector {
    fn name(&self) -> &'static str {
        "os"
    }

    fn period(&self) -> Duration {
        PERIOD
    }

    fn collect(&mut self) -> Result<Section, Error> {
        let table = release_table().map_err(Error::Failed)?;
        let release = super::facts::read_os_release()?;
        let kernel = rustix::system::uname().release().to_string_lossy().into_owned();
        Ok(Section::Os(support(Some(table), &release, &kernel, today())))
    }
}

/// As the facts collector reads it: a host without either file gets os-release(5)'s defaults.
#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;
    use crate::collect::compliance;

    /// This machine, and os-release files from grype's test fixtures (see the README).
    const DEBIAN_12: &str = include_str!("../../testdata/os/debian-12");
    const DEBIAN_SID: &str = include_str!("../../testdata/os/debian-sid");
    const ALMA_8_4: &str = include_str!("../../testdata/os/almalinux-8.4");
    const SLES_15_2: &str = include_str!("../../testdata/os/sles-15.2");
    const FEDORA_31: &str = include_str!("../../testdata/os/fedora-31");

    fn release(id: &str, version_id: &str, pretty_name: &str) -> OsRelease {
        OsRelease { id: id.into(), version_id: version_id.into(), pretty_name: pretty_name.into() }
    }

    fn end(id: &str, version_id: &str) -> Option<String> {
        release_table().unwrap().end_of_support(&release(id, version_id, "")).map(|d| d.to_string())
    }

    #[test]
    fn the_bundled_table_parses_and_covers_the_promised_releases() {
        let table = release_table().unwrap();
        let expected = [
            ("debian", &["9", "10", "11", "12", "13"][..]),
            ("ubuntu", &["16.04", "18.04", "20.04", "22.04", "24.04"]),
            ("rhel", &["7", "8", "9"]),
            ("rocky", &["8", "9"]),
            ("almalinux", &["8", "9"]),
            ("centos", &["7", "8"]),
            ("centos-stream", &["8", "9"]),
            ("fedora", &["41", "42", "43"]),
            ("sles", &["12.5", "15.5", "15.6", "15.7"]),
            ("alpine", &["3.20", "3.21", "3.22"]),
        ];
        for (id, versions) in expected {
            for version in versions {
                assert!(table.end_of_support(&release(id, version, "")).is_some(), "{id} {version}");
            }
        }
    }

    #[test]
    fn versions_match_exactly_or_by_their_leading_part() {
        assert_eq!(end("rhel", "9.4").as_deref(), Some("2032-05-31"));
        assert_eq!(end("alpine", "3.20.3").as_deref(), Some("2026-04-01"));
        assert_eq!(end("alpine", "3.2.1"), None, "3.20 does not cover 3.2");
        assert_eq!(end("sles", "15.5").as_deref(), Some("2024-12-31"), "the service pack, not 15 GA");
        assert_eq!(end("sles", "15").as_deref(), Some("2019-12-31"));
        assert_eq!(end("ubuntu", "23.10"), None, "not an LTS");
        assert_eq!(end("debian", ""), None, "testing and sid have no VERSION_ID");
        assert_eq!(end("arch", "rolling"), None);
        let table = release_table().unwrap();
        let stream = release("centos", "8", "CentOS Stream 8");
        assert_eq!(table.end_of_support(&stream).map(|d| d.to_string()).as_deref(), Some("2024-05-31"));
        let linux = release("centos", "8", "CentOS Linux 8");
        assert_eq!(table.end_of_support(&linux).map(|d| d.to_string()).as_deref(), Some("2021-12-31"));
    }

    #[test]
    fn support_of_captured_releases() {
        let today = date(2026, 11, 22);
        let debian = os_support(&parse_os_release(DEBIAN_12).unwrap(), "6.1.0-28-amd64", today);
        assert_eq!(
            debian,
            inv::OsSupport {
                id: "debian".into(),
                version_id: "12".into(),
                pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
                kernel: "6.1.0-28-amd64".into(),
                eol_date: Some("2028-06-30".into()),
                eol: Some(false),
                days_until_eol: Some(586),
            }
        );
        let alma = os_support(&parse_os_release(ALMA_8_4).unwrap(), "", today);
        assert_eq!((alma.eol_date.as_deref(), alma.eol), (Some("2029-03-01"), Some(false)));
        let sles = os_support(&parse_os_release(SLES_15_2).unwrap(), "", today);
        assert_eq!(
            (sles.eol_date.as_deref(), sles.eol, sles.days_until_eol),
            (Some("2021-12-31"), Some(true), Some(-1787))
        );
        for unlisted in [DEBIAN_SID, FEDORA_31] {
            let os = os_support(&parse_os_release(unlisted).unwrap(), "", today);
            assert_eq!((os.eol_date, os.eol, os.days_until_eol), (None, None, None), "{}", os.pretty_name);
        }
    }

    #[test]
    fn the_last_day_of_support_is_not_past_it() {
        let ubuntu = release("ubuntu", "20.04", "Ubuntu 20.04.6 LTS");
        let on = |today| {
            let os = os_support(&ubuntu, "", today);
            (os.eol, os.days_until_eol)
        };
        assert_eq!(on(date(2025, 5, 28)), (Some(false), Some(1)));
        assert_eq!(on(date(2025, 5, 29)), (Some(false), Some(0)));
        assert_eq!(on(date(2025, 5, 30)), (Some(true), Some(-1)));
    }

    #[test]
    fn table_format() {
        let text =
            "# header\n\n[debian]\n\"12\" = 2028-06-30 # bookworm\n13 = 2030-06-30\n[my-os]\n\"1.0\"=2020-01-01\n";
        let table = ReleaseTable::parse(text).unwrap();
        assert_eq!(table.end_of_support(&release("debian", "13", "")), Some(date(2030, 6, 30)));
        assert_eq!(table.end_of_support(&release("my-os", "1.0.2", "")), Some(date(2020, 1, 1)));
        assert_eq!(ReleaseTable::parse("").unwrap(), ReleaseTable::default());
    }

    #[test]
    fn malformed_tables_name_the_line() {
        let cases = [
            "[debian\n",
            "[deb ian]\n",
            "[debian]\n[debian]\n",
            "\"12\" = 2028-06-30\n",
            "[debian]\n\"12\" 2028-06-30\n",
            "[debian]\n12.1 = 2028-06-30\n",
            "[debian]\n\"12 = 2028-06-30\n",
            "[debian]\n\"\" = 2028-06-30\n",
            "[debian]\n\"12\" = 2028-6-30\n",
            "[debian]\n\"12\" = 2028-02-30\n",
            "[debian]\n\"12\" = \"2028-06-30\"\n",
            "[debian]\n\"12\" = 2028-06-30\n\"12\" = 2029-06-30\n",
        ];
        for text in cases {
            let line = text.lines().count();
            match ReleaseTable::parse(text) {
                Err(ParseError::Line { line: l, .. }) if l == line => {}
                other => panic!("{text:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn parse_kind_gives_todays_support_without_a_kernel() {
        let os = parse_os_support(DEBIAN_12).unwrap();
        assert_eq!((os.kernel.as_str(), os.eol_date.as_deref()), ("", Some("2028-06-30")));
        assert!(parse_os_support("PRETTY_NAME=\"unterminated\n").is_err());
    }

    #[test]
    fn meets_the_collector_contract_on_this_machine() {
        let Ok(Section::Os(os)) = compliance::check(&mut OsCollector) else { panic!("no os section") };
        assert!(!os.id.is_empty() && !os.kernel.is_empty());
        assert_eq!(os.eol.is_some(), os.eol_date.is_some());
    }
}
