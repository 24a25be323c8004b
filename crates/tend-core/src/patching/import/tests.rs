//! The importers on the hand-written samples of `testdata/patching/` (see its README), then on
//! what must not be trusted: garbage, absurd nesting and sizes, records that make no sense. Last,
//! the whole path: a tracker export matched against a bookworm host.

use jiff::Timestamp;
use tend_proto::inventory::InstalledPackage;

use super::*;
use crate::patching::advisory::{ExposureStatus, HostOs, HostPackages, Severity, match_host};

const TRACKER: &str = include_str!("../../../testdata/patching/debian-tracker.json");
const OSV_DSA: &str = include_str!("../../../testdata/patching/osv-dsa.json");
const OSV_UBUNTU: &str = include_str!("../../../testdata/patching/osv-ubuntu.jsonl");

fn now() -> Timestamp {
    "2025-06-02T12:00:00Z".parse().unwrap()
}

/// "debian bookworm openssl Fixed 3.0.14-1~deb12u1", with "since 1.5" for a later introduction.
fn entries(advisory: &Advisory) -> Vec<String> {
    advisory
        .affected
        .iter()
        .map(|e| {
            let mut text = format!("{} {} {} {:?}", e.distribution, e.release, e.package, e.status);
            if let Some(introduced) = &e.introduced {
                text += &format!(" since {introduced}");
            }
            if let Some(fixed) = &e.fixed {
                text += &format!(" {fixed}");
            }
            text
        })
        .collect()
}

fn find<'a>(imported: &'a Imported, id: &str) -> &'a Advisory {
    imported.advisories.iter().find(|a| a.id == id).unwrap_or_else(|| panic!("{id} missing"))
}

#[test]
fn the_tracker_sample() {
    let imported = parse_debian_tracker(TRACKER.as_bytes(), now()).unwrap();
    let ids: Vec<&str> = imported.advisories.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["CVE-2024-99901", "CVE-2024-99902", "CVE-2024-99903", "TEMP-0000000-A1B2C3"]);
    assert_eq!((imported.skipped.len(), imported.irrelevant, imported.withdrawn.len()), (0, 0, 0));

    let cases = [
        (
            "CVE-2024-99901",
            Severity::High,
            vec![
                "debian bookworm edk2 Ignored",
                "debian bookworm openssl Fixed 3.0.14-1~deb12u1",
                "debian bullseye openssl NoDsa",
                "debian sid openssl Fixed 3.2.2-1",
                "debian trixie openssl Fixed 3.2.2-1",
            ],
        ),
        (
            "CVE-2024-99902",
            Severity::Low,
            vec![
                "debian bookworm openssl Postponed",
                "debian bullseye openssl Ignored",
                "debian sid openssl Fixed 3.3.1-1",
            ],
        ),
        (
            "CVE-2024-99903",
            Severity::Medium,
            vec![
                "debian bookworm bash Unfixed",
                "debian bullseye bash NotAffected",
                "debian sid bash Fixed 5.2.37-2",
                "debian trixie bash Unfixed",
            ],
        ),
        ("TEMP-0000000-A1B2C3", Severity::Low, vec!["debian bookworm openssl Unimportant"]),
    ];
    for (id, severity, expected) in cases {
        let advisory = find(&imported, id);
        assert_eq!(advisory.severity, severity, "{id}");
        assert_eq!(entries(advisory), expected, "{id}");
        assert!(advisory.affected.iter().all(|e| e.learned_at == now()) && advisory.learned_at == now());
    }
    assert_eq!(
        find(&imported, "CVE-2024-99903").summary,
        "Heap overflow in bash's parameter expansion when a crafted script is run."
    );
    assert_eq!(find(&imported, "TEMP-0000000-A1B2C3").summary, "", "no description");
}

#[test]
fn the_osv_samples() {
    let dsa = parse_osv(OSV_DSA.as_bytes(), now()).unwrap();
    assert_eq!(dsa.advisories.len(), 1);
    let advisory = &dsa.advisories[0];
    assert_eq!((advisory.id.as_str(), advisory.aliases.as_slice()), ("DSA-9901-1", &["CVE-2024-99901".to_owned()][..]));
    assert_eq!(advisory.summary, "openssl - security update");
    assert_eq!(advisory.severity, Severity::Unknown);
    assert_eq!(entries(advisory), ["debian bookworm openssl Fixed 3.0.14-1~deb12u1"]);

    let ubuntu = parse_osv(OSV_UBUNTU.as_bytes(), now()).unwrap();
    assert_eq!(ubuntu.advisories.len(), 1);
    assert_eq!((ubuntu.irrelevant, ubuntu.skipped.len()), (1, 0), "the PyPI record; the FIPS stream left out quietly");
    let advisory = &ubuntu.advisories[0];
    assert_eq!(advisory.id, "UBUNTU-CVE-2024-99904");
    assert_eq!(advisory.aliases, ["CVE-2024-99904"]);
    assert_eq!(advisory.severity, Severity::Medium);
    assert_eq!(
        entries(advisory),
        [
            "ubuntu 22.04 vips Unfixed",
            "ubuntu 22.04 vips Fixed 8.12.1-1ubuntu0.1~esm1",
            "ubuntu 24.04 vips Fixed 8.15.1-1.1ubuntu0.1",
        ]
    );
}

#[test]
fn osv_containers() {
    let record = |id: &str| {
        format!(
            r#"{{"id": "{id}", "affected": [{{"package": {{"ecosystem": "Debian:12", "name": "curl"}},
               "ranges": [{{"type": "ECOSYSTEM", "events": [{{"introduced": "0"}}, {{"fixed": "7.88.1-10+deb12u8"}}]}}]}}]}}"#
        )
    };
    let cases = [
        ("one record", record("DSA-1")),
        ("one record, surrounded by whitespace", format!("\n  {}\n\n", record("DSA-1"))),
        ("an array", format!("[{}, {}]", record("DSA-2"), record("DSA-1"))),
        ("JSON lines", format!("{}\n{}\n", record("DSA-2"), record("DSA-1"))),
        ("records one after another, pretty-printed", format!("{}\n\n{}", record("DSA-1"), record("DSA-2"))),
        ("an empty array", "[]".to_owned()),
    ];
    for (name, input) in cases {
        let imported = parse_osv(input.as_bytes(), now()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let ids: Vec<&str> = imported.advisories.iter().map(|a| a.id.as_str()).collect();
        let expected = match name {
            "an empty array" => vec![],
            _ if input.contains("DSA-2") => vec!["DSA-1", "DSA-2"],
            _ => vec!["DSA-1"],
        };
        assert_eq!(ids, expected, "{name}");
    }
}

#[test]
fn garbage_is_refused_whole() {
    let deep_array = "[".repeat(100_000);
    let deep_object = r#"{"a":"#.repeat(100_000);
    let deep_in_a_record =
        format!(r#"{{"id": "X-1", "database_specific": {}1{}}}"#, "[".repeat(10_000), "]".repeat(10_000));
    let cases: [(&str, &[u8]); 9] = [
        ("empty", b""),
        ("blank", b" \n\t "),
        ("not JSON", b"<html>503 Service Unavailable</html>"),
        ("cut short", br#"{"id": "DSA-1", "affected": ["#),
        ("not UTF-8", b"{\"id\": \"\xff\xfe\"}"),
        ("nested too deep", deep_array.as_bytes()),
        ("nested too deep in objects", deep_object.as_bytes()),
        ("nested too deep inside a record", deep_in_a_record.as_bytes()),
        ("JSON lines with a broken line", b"{\"id\": \"DSA-1\"}\n{\"id\": \n"),
    ];
    for (name, input) in cases {
        let osv = parse_osv(input, now());
        let tracker = parse_debian_tracker(input, now());
        assert!(matches!(osv, Err(Error::Invalid { field: "osv", .. })), "{name}: {osv:?}");
        assert!(matches!(tracker, Err(Error::Invalid { field: "debian_tracker", .. })), "{name}: {tracker:?}");
    }
    // serde_json skips a field nobody reads without recursing, so depth there costs nothing.
    let deep_where_unread =
        format!(r#"{{"bash": {{"CVE-1": {{"debianbug": {}1{}}}}}}}"#, "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(parse_debian_tracker(deep_where_unread.as_bytes(), now()).map(|i| i.irrelevant), Ok(1));
    let wrong_shape = [&b"[]"[..], br#"{"bash": []}"#, br#"{"bash": {"CVE-1": {"releases": {"bookworm": {}}}}}"#];
    for input in wrong_shape {
        assert!(parse_debian_tracker(input, now()).is_err(), "{}", String::from_utf8_lossy(input));
    }
}

#[test]
fn absurd_sizes_are_refused_before_reading() {
    let input = br#"{"id": "DSA-1"}"#;
    assert!(check_size_within("osv", input, input.len()).is_ok());
    let refused = check_size_within("osv", input, input.len() - 1).unwrap_err();
    assert!(refused.to_string().contains("is more than the 14 tend reads"), "{refused}");
}

#[test]
fn bad_osv_records_cost_nothing_else() {
    let fixed = |name: &str, version: &str| {
        format!(
            r#"{{"package": {{"ecosystem": "Debian:12", "name": "{name}"}},
               "ranges": [{{"type": "ECOSYSTEM", "events": [{{"introduced": "0"}}, {{"fixed": "{version}"}}]}}]}}"#
        )
    };
    let input = format!(
        r#"[
        42,
        {{"summary": "no id"}},
        {{"id": "has space", "affected": [{}]}},
        {{"id": "DSA-3", "affected": "not a list"}},
        {{"id": "DSA-4", "withdrawn": "2024-07-01T00:00:00Z", "affected": [{}]}},
        {{"id": "DSA-5", "affected": [{}, {}]}},
        {{"id": "DSA-6", "affected": [{}]}},
        {{"id": "DSA-7", "affected": [{{"package": {{"ecosystem": "Debian:12", "name": "curl"}},
            "ranges": [{{"type": "GIT", "events": [{{"introduced": "0"}}, {{"fixed": "a1b2c3"}}]}}]}}]}},
        {{"id": "DSA-8", "aliases": ["CVE-2024-1", "DSA-8", "bad alias", "CVE-2024-1"], "affected": [{}]}}
    ]"#,
        fixed("curl", "1"),
        fixed("curl", "1"),
        fixed("curl", "7.88.1-10+deb12u8"),
        fixed("libcurl", "7.88 .1"),
        fixed("bad name", "1"),
        fixed("curl", "2"),
    );
    let imported = parse_osv(input.as_bytes(), now()).unwrap();
    let ids: Vec<&str> = imported.advisories.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["DSA-5", "DSA-8"]);
    assert_eq!(
        entries(&imported.advisories[0]),
        ["debian bookworm curl Fixed 7.88.1-10+deb12u8"],
        "the bad entry left out"
    );
    assert_eq!(imported.advisories[1].aliases, ["CVE-2024-1"], "deduplicated, without itself or invalid ones");
    assert_eq!(imported.withdrawn, ["DSA-4"]);
    let skipped: Vec<&str> = imported.skipped.iter().map(|s| s.record.as_str()).collect();
    assert_eq!(skipped, ["record 1", "record 2", "has space", "DSA-3", "DSA-5", "DSA-6"]);
    assert!(imported.skipped[4].reason.contains("libcurl bookworm"), "{:?}", imported.skipped[4]);
    assert_eq!(imported.irrelevant, 2, "DSA-6 with nothing valid left, DSA-7 with no ecosystem range");
}

#[test]
fn osv_severity() {
    let record = |severity: &str, specific: &str| {
        format!(
            r#"{{"id": "X-1", "severity": [{severity}], "database_specific": {specific},
               "affected": [{{"package": {{"ecosystem": "Ubuntu:22.04:LTS", "name": "vips"}},
               "ranges": [{{"type": "ECOSYSTEM", "events": [{{"introduced": "0"}}]}}],
               "ecosystem_specific": {{"urgency": "{}"}}}}]}}"#,
            if specific.contains("urgency") { "high" } else { "not yet assigned" }
        )
    };
    let critical = r#"{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}"#;
    let cases = [
        (
            "the distribution's word beats the score",
            format!(r#"{critical}, {{"type": "Ubuntu", "score": "low"}}"#),
            "{}",
            Severity::Low,
        ),
        ("only a score", critical.to_owned(), "{}", Severity::Critical),
        ("a database's word", String::new(), r#"{"severity": "MODERATE"}"#, Severity::Medium),
        ("an entry's urgency", String::new(), r#"{"urgency": 1}"#, Severity::High),
        (
            "a CVSS v4 vector alone",
            r#"{"type": "CVSS_V4", "score": "CVSS:4.0/AV:N"}"#.to_owned(),
            "null",
            Severity::Unknown,
        ),
        ("nothing", String::new(), "null", Severity::Unknown),
    ];
    for (name, severity, specific, expected) in cases {
        let imported = parse_osv(record(&severity, specific).as_bytes(), now()).unwrap();
        assert_eq!(imported.advisories[0].severity, expected, "{name}");
    }
}

#[test]
fn bad_tracker_entries_cost_nothing_else() {
    let input = br#"{
        "bash": {
            "CVE-2024-1": {"releases": {
                "bookworm": {"status": "resolved", "fixed_version": "5.2.15 -2"},
                "bullseye": {"status": "fixed-ish"},
                "Trixie Beta": {"status": "open"},
                "sid": {"status": "resolved", "fixed_version": "5.2.37-2"}
            }},
            "CVE-2024-2": {"description": "no releases"},
            "bad id": {"releases": {"sid": {"status": "open"}}}
        }
    }"#;
    let imported = parse_debian_tracker(input, now()).unwrap();
    assert_eq!(imported.advisories.len(), 1);
    assert_eq!(entries(&imported.advisories[0]), ["debian sid bash Fixed 5.2.37-2"]);
    let skipped: Vec<(&str, bool)> =
        imported.skipped.iter().map(|s| (s.record.as_str(), s.reason.is_empty())).collect();
    assert_eq!(
        skipped,
        [("CVE-2024-1", false), ("CVE-2024-1", false), ("CVE-2024-1", false), ("bash \"bad id\"", false)]
    );
    // Releases in byte order: "Trixie Beta", bookworm, bullseye.
    assert!(imported.skipped[0].reason.contains("whitespace"), "{:?}", imported.skipped[0]);
    assert!(imported.skipped[1].reason.contains("bash bookworm"), "{:?}", imported.skipped[1]);
    assert!(imported.skipped[2].reason.contains("unknown status \"fixed-ish\""), "{:?}", imported.skipped[2]);
    assert_eq!(imported.irrelevant, 1, "CVE-2024-2 says nothing about any release");
}

#[test]
fn summaries_are_cut_and_cleaned() {
    assert_eq!(summary("  heap\toverflow\n\n in  bash\u{7} "), "heap overflow in bash");
    let long = summary(&"é".repeat(MAX_SUMMARY_CHARS + 10));
    assert_eq!(long.chars().count(), MAX_SUMMARY_CHARS);
    assert!(long.ends_with('…'));
    let exact = "a".repeat(MAX_SUMMARY_CHARS);
    assert_eq!(summary(&exact), exact);
}

/// The tracker's sample against a bookworm host with openssl 3.0.11-1~deb12u2 (below the
/// bookworm fix), bash (unfixed in bookworm) and edk2's firmware (ignored by Debian).
#[test]
fn from_the_tracker_to_a_host() {
    let imported = parse_debian_tracker(TRACKER.as_bytes(), now()).unwrap();
    let os = HostOs::from_os_release("debian", "12").unwrap();
    let package = |name: &str, source: Option<&str>, version: &str| InstalledPackage {
        name: name.into(),
        version: version.into(),
        architecture: Some("amd64".into()),
        source: source.map(Into::into),
    };
    let installed = [
        package("libssl3", Some("openssl"), "3.0.11-1~deb12u2"),
        package("bash", None, "5.2.15-2+b7"),
        package("ovmf", Some("edk2"), "2022.11-6+deb12u1"),
    ];
    let host = HostPackages { host_id: 1, client_id: 1, os: &os, installed: &installed, pending: &[] };
    let matched = match_host(&host, &imported.advisories, &[], now()).unwrap();
    let got: Vec<(&str, &str, &ExposureStatus)> =
        matched.exposures.iter().map(|e| (e.advisory_id.as_str(), e.package.as_str(), &e.status)).collect();
    use crate::patching::advisory::Deferral;
    assert_eq!(
        got,
        [
            ("CVE-2024-99901", "libssl3", &ExposureStatus::Vulnerable { update_available: false }),
            ("CVE-2024-99901", "ovmf", &ExposureStatus::Deferred { reason: Deferral::Ignored }),
            ("CVE-2024-99903", "bash", &ExposureStatus::Exposed),
            ("CVE-2024-99902", "libssl3", &ExposureStatus::Deferred { reason: Deferral::Postponed }),
            ("TEMP-0000000-A1B2C3", "libssl3", &ExposureStatus::Deferred { reason: Deferral::Unimportant }),
        ]
    );
}
