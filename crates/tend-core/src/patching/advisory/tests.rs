//! Matching walked through a bookworm host: backported fixes, fixes for other releases, source
//! packages, unfixed flaws with and without mitigations, the distribution's deferrals, ranges;
//! then an Ubuntu host whose release is listed twice (standard and Pro archives).

use jiff::{SignedDuration, Timestamp};

use super::*;

use FixStatus::{Fixed, Ignored, NoDsa, NotAffected, Postponed, Unfixed, Unimportant};

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn now() -> Timestamp {
    at("2025-06-02T12:00:00Z")
}

fn learned() -> Timestamp {
    at("2025-06-01T08:00:00Z")
}

fn installed(name: &str, source: Option<&str>, version: &str) -> InstalledPackage {
    InstalledPackage {
        name: name.into(),
        version: version.into(),
        architecture: Some("amd64".into()),
        source: source.map(Into::into),
    }
}

fn pending(name: &str, arch: &str, version: &str) -> PendingUpdate {
    PendingUpdate {
        name: name.into(),
        current_version: None,
        new_version: version.into(),
        architecture: Some(arch.into()),
        origin: None,
        security: true,
    }
}

/// A Debian entry; the fixed version is set for [`Fixed`] only.
fn entry(release: &str, package: &str, status: FixStatus, version: Option<&str>) -> AffectedPackage {
    AffectedPackage {
        distribution: "debian".into(),
        release: release.into(),
        package: package.into(),
        introduced: None,
        fixed: version.map(Into::into),
        status,
        learned_at: learned(),
    }
}

fn fixed(release: &str, package: &str, version: &str) -> AffectedPackage {
    entry(release, package, Fixed, Some(version))
}

fn advisory(id: &str, severity: Severity, affected: Vec<AffectedPackage>) -> Advisory {
    Advisory {
        id: id.into(),
        aliases: vec!["DSA-5999-1".into()],
        severity,
        summary: "a flaw".into(),
        learned_at: learned(),
        affected,
    }
}

const HOST: i64 = 7;
const CLIENT: i64 = 3;

fn mitigation(scope: MitigationScope, advisory_id: &str, review_at: &str) -> Mitigation {
    Mitigation {
        advisory_id: advisory_id.into(),
        scope,
        kind: MitigationKind::ServiceStopped,
        description: "sshd stopped, console access only".into(),
        owner: "Jeanne (L2)".into(),
        review_at: at(review_at),
    }
}

fn bookworm_packages() -> Vec<InstalledPackage> {
    vec![
        installed("openssl", None, "3.0.11-1~deb12u2"),
        installed("libssl3", Some("openssl"), "3.0.11-1~deb12u2"),
        installed("bash", None, "5.2.15-2+b2"),
        installed("login", Some("shadow"), "1:4.13+dfsg1-1"),
        installed("libc6", Some("glibc"), "2.36-9+deb12u4"),
    ]
}

/// "CVE-2024-1000 libssl3 3.0.11-1~deb12u2 vulnerable+update fixed 3.0.13-1~deb12u1"
fn summary(exposure: &Exposure) -> String {
    let status = match &exposure.status {
        ExposureStatus::Vulnerable { update_available: true } => "vulnerable+update".to_owned(),
        ExposureStatus::Vulnerable { update_available: false } => "vulnerable".to_owned(),
        ExposureStatus::Exposed => "exposed".to_owned(),
        ExposureStatus::Mitigated { owner, .. } => format!("mitigated by {owner}"),
        ExposureStatus::MitigationReviewDue { owner, .. } => format!("review due by {owner}"),
        ExposureStatus::Deferred { reason } => format!("deferred {reason:?}"),
    };
    let mut text = format!("{} {} {} {status}", exposure.advisory_id, exposure.package, exposure.installed);
    if let Some(fixed) = &exposure.fixed {
        text += &format!(" fixed {fixed}");
    }
    text
}

struct Case {
    name: &'static str,
    affected: Vec<AffectedPackage>,
    mitigations: Vec<Mitigation>,
    pending: Vec<PendingUpdate>,
    expected: &'static [&'static str],
}

fn case(name: &'static str, affected: Vec<AffectedPackage>, expected: &'static [&'static str]) -> Case {
    Case { name, affected, mitigations: vec![], pending: vec![], expected }
}

#[test]
fn a_bookworm_host() {
    let os = HostOs { distribution: "debian".into(), release: "bookworm".into() };
    let packages = bookworm_packages();
    let bash_unfixed = || vec![entry("bookworm", "bash", Unfixed, None)];
    let host_mitigation = |review_at| mitigation(MitigationScope::Host(HOST), "CVE-2024-1000", review_at);
    let cases = vec![
        Case {
            pending: vec![
                pending("libssl3", "amd64", "3.0.13-1~deb12u1"),
                pending("openssl", "i386", "3.0.13-1~deb12u1"),
            ],
            ..case(
                "below the release's fix: both binaries of the source, an update offered for one",
                vec![
                    fixed("bookworm", "openssl", "3.0.13-1~deb12u1"),
                    fixed("bullseye", "openssl", "1.1.1w-0+deb11u2"),
                ],
                &[
                    "CVE-2024-1000 libssl3 3.0.11-1~deb12u2 vulnerable+update fixed 3.0.13-1~deb12u1",
                    "CVE-2024-1000 openssl 3.0.11-1~deb12u2 vulnerable fixed 3.0.13-1~deb12u1",
                ],
            )
        },
        Case {
            pending: vec![pending("libssl3", "amd64", "3.0.12-1~deb12u1")],
            ..case(
                "an update below the fix is no fix",
                vec![fixed("bookworm", "openssl", "3.0.13-1~deb12u1")],
                &[
                    "CVE-2024-1000 libssl3 3.0.11-1~deb12u2 vulnerable fixed 3.0.13-1~deb12u1",
                    "CVE-2024-1000 openssl 3.0.11-1~deb12u2 vulnerable fixed 3.0.13-1~deb12u1",
                ],
            )
        },
        // Upstream fixed it in 3.0.12; Debian backported the fix into the version installed.
        case("a backported fix is installed", vec![fixed("bookworm", "openssl", "3.0.11-1~deb12u2")], &[]),
        case("fixed in another release only", vec![fixed("bullseye", "openssl", "3.0.99-1")], &[]),
        case(
            "the same release of another distribution",
            vec![AffectedPackage { distribution: "ubuntu".into(), ..fixed("bookworm", "openssl", "3.0.99-1") }],
            &[],
        ),
        case(
            "matched through the source package, epoch included",
            vec![fixed("bookworm", "shadow", "1:4.13+dfsg1-1+deb12u1")],
            &["CVE-2024-1000 login 1:4.13+dfsg1-1 vulnerable fixed 1:4.13+dfsg1-1+deb12u1"],
        ),
        case(
            "matched through the binary package's own name",
            vec![fixed("bookworm", "libc6", "2.36-9+deb12u7")],
            &["CVE-2024-1000 libc6 2.36-9+deb12u4 vulnerable fixed 2.36-9+deb12u7"],
        ),
        case("a binNMU above the fixed source version", vec![fixed("bookworm", "bash", "5.2.15-2")], &[]),
        case("not affected", vec![entry("bookworm", "glibc", NotAffected, None)], &[]),
        case("unfixed", bash_unfixed(), &["CVE-2024-1000 bash 5.2.15-2+b2 exposed"]),
        Case {
            mitigations: vec![host_mitigation("2025-07-01T00:00:00Z")],
            ..case("unfixed, mitigated", bash_unfixed(), &["CVE-2024-1000 bash 5.2.15-2+b2 mitigated by Jeanne (L2)"])
        },
        Case {
            mitigations: vec![host_mitigation("2025-06-02T12:00:00Z")],
            ..case(
                "unfixed, the mitigation reached its review date",
                bash_unfixed(),
                &["CVE-2024-1000 bash 5.2.15-2+b2 review due by Jeanne (L2)"],
            )
        },
        Case {
            mitigations: vec![
                host_mitigation("2025-05-01T00:00:00Z"),
                Mitigation {
                    owner: "Customer IT".into(),
                    ..mitigation(MitigationScope::Client(CLIENT), "CVE-2024-1000", "2025-09-01T00:00:00Z")
                },
            ],
            ..case(
                "a client's mitigation in force beats the host's due one",
                bash_unfixed(),
                &["CVE-2024-1000 bash 5.2.15-2+b2 mitigated by Customer IT"],
            )
        },
        Case {
            mitigations: vec![
                mitigation(MitigationScope::Client(CLIENT), "CVE-2024-1000", "2025-09-01T00:00:00Z"),
                Mitigation { owner: "Host owner".into(), ..host_mitigation("2025-08-01T00:00:00Z") },
            ],
            ..case(
                "the host's own mitigation before its client's",
                bash_unfixed(),
                &["CVE-2024-1000 bash 5.2.15-2+b2 mitigated by Host owner"],
            )
        },
        Case {
            mitigations: vec![mitigation(MitigationScope::Host(HOST), "DSA-5999-1", "2025-07-01T00:00:00Z")],
            ..case(
                "a mitigation naming an alias",
                bash_unfixed(),
                &["CVE-2024-1000 bash 5.2.15-2+b2 mitigated by Jeanne (L2)"],
            )
        },
        Case {
            mitigations: vec![
                mitigation(MitigationScope::Host(8), "CVE-2024-1000", "2025-07-01T00:00:00Z"),
                mitigation(MitigationScope::Client(4), "CVE-2024-1000", "2025-07-01T00:00:00Z"),
                mitigation(MitigationScope::Host(HOST), "CVE-2024-9999", "2025-07-01T00:00:00Z"),
            ],
            ..case(
                "mitigations elsewhere or for another advisory",
                bash_unfixed(),
                &["CVE-2024-1000 bash 5.2.15-2+b2 exposed"],
            )
        },
        Case {
            mitigations: vec![host_mitigation("2025-07-01T00:00:00Z")],
            ..case(
                "a mitigation does not stand in for an available fix",
                vec![fixed("bookworm", "bash", "5.2.15-2+deb12u1")],
                &["CVE-2024-1000 bash 5.2.15-2+b2 vulnerable fixed 5.2.15-2+deb12u1"],
            )
        },
        case(
            "no-dsa",
            vec![entry("bookworm", "bash", NoDsa, None)],
            &["CVE-2024-1000 bash 5.2.15-2+b2 deferred NoDsa"],
        ),
        case(
            "ignored",
            vec![entry("bookworm", "bash", Ignored, None)],
            &["CVE-2024-1000 bash 5.2.15-2+b2 deferred Ignored"],
        ),
        case(
            "postponed",
            vec![entry("bookworm", "bash", Postponed, None)],
            &["CVE-2024-1000 bash 5.2.15-2+b2 deferred Postponed"],
        ),
        case(
            "unimportant",
            vec![entry("bookworm", "bash", Unimportant, None)],
            &["CVE-2024-1000 bash 5.2.15-2+b2 deferred Unimportant"],
        ),
        case(
            "introduced after the installed version",
            vec![AffectedPackage { introduced: Some("3.1.0-1".into()), ..fixed("bookworm", "openssl", "3.1.5-1") }],
            &[],
        ),
        case(
            "introduced at the installed version",
            vec![AffectedPackage {
                introduced: Some("5.2.15-2+b2".into()),
                ..entry("bookworm", "bash", Unfixed, None)
            }],
            &["CVE-2024-1000 bash 5.2.15-2+b2 exposed"],
        ),
        case(
            "two ranges: above the first fix, inside the second range",
            vec![
                fixed("bookworm", "bash", "5.1-1"),
                AffectedPackage { introduced: Some("5.2~rc1".into()), ..fixed("bookworm", "bash", "5.2.15-2+deb12u1") },
            ],
            &["CVE-2024-1000 bash 5.2.15-2+b2 vulnerable fixed 5.2.15-2+deb12u1"],
        ),
        case(
            "two ranges: above the first fix, inside the second, unfixed range",
            vec![
                fixed("bookworm", "bash", "5.1-1"),
                AffectedPackage { introduced: Some("5.2~rc1".into()), ..entry("bookworm", "bash", Unfixed, None) },
            ],
            &["CVE-2024-1000 bash 5.2.15-2+b2 exposed"],
        ),
        case(
            "below two fixes: the highest one counts",
            vec![fixed("bookworm", "bash", "5.2.15-2+deb12u1"), fixed("bookworm", "bash", "5.2.15-2+deb12u2")],
            &["CVE-2024-1000 bash 5.2.15-2+b2 vulnerable fixed 5.2.15-2+deb12u2"],
        ),
        case(
            "a fix beats a deferral and a deferral no-one's concern once fixed",
            vec![entry("bookworm", "bash", NoDsa, None), fixed("bookworm", "bash", "5.2.15-2+b1")],
            &[],
        ),
        case(
            "unfixed before deferred",
            vec![entry("bookworm", "bash", Postponed, None), entry("bookworm", "bash", Unfixed, None)],
            &["CVE-2024-1000 bash 5.2.15-2+b2 exposed"],
        ),
    ];
    for case in cases {
        let host =
            HostPackages { host_id: HOST, client_id: CLIENT, os: &os, installed: &packages, pending: &case.pending };
        let advisories = [advisory("CVE-2024-1000", Severity::High, case.affected)];
        let matched = match_host(&host, &advisories, &case.mitigations, now()).unwrap();
        let got: Vec<String> = matched.exposures.iter().map(summary).collect();
        assert_eq!(got, case.expected, "{}", case.name);
        assert_eq!(matched.unjudged, [], "{}", case.name);
    }
}

#[test]
fn exposures_carry_the_advisory_and_the_entry() {
    let os = HostOs { distribution: "debian".into(), release: "bookworm".into() };
    let packages = bookworm_packages();
    let fix_learned = at("2025-06-02T09:30:00Z");
    let advisories = [
        advisory("CVE-2024-0002", Severity::Low, vec![entry("bookworm", "bash", Unfixed, None)]),
        advisory(
            "CVE-2024-0001",
            Severity::Critical,
            vec![AffectedPackage { learned_at: fix_learned, ..fixed("bookworm", "glibc", "2.36-9+deb12u7") }],
        ),
        advisory("CVE-2024-0003", Severity::Unknown, vec![entry("bookworm", "shadow", NoDsa, None)]),
    ];
    let host = HostPackages { host_id: HOST, client_id: CLIENT, os: &os, installed: &packages, pending: &[] };
    let matched = match_host(&host, &advisories, &[], now()).unwrap();
    let order: Vec<(&str, Severity)> = matched.exposures.iter().map(|e| (e.advisory_id.as_str(), e.severity)).collect();
    assert_eq!(
        order,
        [("CVE-2024-0001", Severity::Critical), ("CVE-2024-0002", Severity::Low), ("CVE-2024-0003", Severity::Unknown)],
        "most severe first"
    );
    assert_eq!(
        matched.exposures[0],
        Exposure {
            advisory_id: "CVE-2024-0001".into(),
            severity: Severity::Critical,
            package: "libc6".into(),
            source_package: "glibc".into(),
            arch: Some("amd64".into()),
            installed: "2.36-9+deb12u4".into(),
            fixed: Some("2.36-9+deb12u7".into()),
            status: ExposureStatus::Vulnerable { update_available: false },
            learned_at: fix_learned,
        }
    );
}

#[test]
fn versions_no_one_can_order_are_reported_not_guessed() {
    let os = HostOs { distribution: "debian".into(), release: "bookworm".into() };
    let mut packages = bookworm_packages();
    packages.push(installed("broken", None, "1.0 beta"));
    let advisories = [advisory(
        "CVE-2024-1000",
        Severity::High,
        vec![
            fixed("bookworm", "openssl", "3.0 13"),
            fixed("bookworm", "broken", "1.1"),
            entry("bookworm", "bash", Fixed, None),
            fixed("bookworm", "shadow", "1:4.13+dfsg1-1+deb12u1"),
        ],
    )];
    let host = HostPackages { host_id: HOST, client_id: CLIENT, os: &os, installed: &packages, pending: &[] };
    let matched = match_host(&host, &advisories, &[], now()).unwrap();
    let unjudged: Vec<&str> = matched.unjudged.iter().map(|u| u.package.as_str()).collect();
    assert_eq!(unjudged, ["openssl", "libssl3", "bash", "broken"]);
    assert!(matched.unjudged[2].reason.contains("without its fixed version"));
    let judged: Vec<String> = matched.exposures.iter().map(summary).collect();
    assert_eq!(
        judged,
        ["CVE-2024-1000 login 1:4.13+dfsg1-1 vulnerable fixed 1:4.13+dfsg1-1+deb12u1"],
        "the rest still judged"
    );
}

/// Ubuntu lists a release twice, once per archive: the standard one (no fix here) and Pro's
/// (`Ubuntu:Pro:22.04:LTS`, fixed). Both map to release 22.04.
#[test]
fn a_release_listed_twice() {
    let os = HostOs { distribution: "ubuntu".into(), release: "22.04".into() };
    let ubuntu = |status, fixed: Option<&str>| AffectedPackage {
        distribution: "ubuntu".into(),
        ..entry("22.04", "vips", status, fixed)
    };
    let advisories = [advisory(
        "UBUNTU-CVE-2024-1000",
        Severity::Medium,
        vec![ubuntu(Unfixed, None), ubuntu(Fixed, Some("8.12.1-1ubuntu0.1~esm1"))],
    )];
    let cases = [
        ("8.12.1-1", "UBUNTU-CVE-2024-1000 libvips42 8.12.1-1 vulnerable fixed 8.12.1-1ubuntu0.1~esm1"),
        ("8.12.1-1ubuntu0.1~esm1", ""),
        ("8.12.1-1ubuntu0.2", ""),
    ];
    for (version, expected) in cases {
        let packages = [installed("libvips42", Some("vips"), version)];
        let host = HostPackages { host_id: HOST, client_id: CLIENT, os: &os, installed: &packages, pending: &[] };
        let matched = match_host(&host, &advisories, &[], now()).unwrap();
        let got: Vec<String> = matched.exposures.iter().map(summary).collect();
        let expected: Vec<&str> = [expected].into_iter().filter(|e| !e.is_empty()).collect();
        assert_eq!(got, expected, "{version}");
    }
}

#[test]
fn rpm_hosts_use_rpm_order() {
    let os = HostOs { distribution: "almalinux".into(), release: "9".into() };
    let packages = [installed("openssl-libs", Some("openssl"), "1:3.0.7-25.el9_3")];
    let alma = AffectedPackage { distribution: "almalinux".into(), ..fixed("9", "openssl", "1:3.0.7-27.el9") };
    let advisories = [advisory("ALSA-2024:1000", Severity::High, vec![alma])];
    let updates = [pending("openssl-libs", "amd64", "1:3.0.7-27.el9")];
    let host = HostPackages { host_id: HOST, client_id: CLIENT, os: &os, installed: &packages, pending: &updates };
    let matched = match_host(&host, &advisories, &[], now()).unwrap();
    let got: Vec<String> = matched.exposures.iter().map(summary).collect();
    assert_eq!(got, ["ALSA-2024:1000 openssl-libs 1:3.0.7-25.el9_3 vulnerable+update fixed 1:3.0.7-27.el9"]);
}

#[test]
fn a_distribution_without_a_version_order_is_refused() {
    let os = HostOs { distribution: "gentoo".into(), release: "2.15".into() };
    let host = HostPackages { host_id: HOST, client_id: CLIENT, os: &os, installed: &[], pending: &[] };
    assert!(matches!(match_host(&host, &[], &[], now()), Err(Error::Invalid { field: "os.distribution", .. })));
}

#[test]
fn host_os_from_os_release() {
    let cases = [
        ("debian", "12", Some("bookworm")),
        ("debian", "11", Some("bullseye")),
        ("debian", "10", Some("buster")),
        ("debian", "13", Some("trixie")),
        ("debian", "9", None),
        ("debian", "", None),
        ("ubuntu", "22.04", Some("22.04")),
        ("ubuntu", "24.10", Some("24.10")),
        ("ubuntu", "22.04.3", None),
        ("ubuntu", "jammy", None),
        ("almalinux", "9.4", Some("9")),
        ("rocky", "8.10", Some("8")),
        ("rocky", "", None),
        ("gentoo", "2.15", None),
    ];
    for (id, version_id, expected) in cases {
        let got = HostOs::from_os_release(id, version_id).ok();
        assert_eq!(got.as_ref().map(|os| os.release.as_str()), expected, "{id} {version_id}");
        if let Some(os) = got {
            assert_eq!(os.distribution, id);
        }
    }
}

#[test]
fn refreshing_keeps_when_tend_learned() {
    let first = at("2025-05-01T00:00:00Z");
    let later = at("2025-06-01T00:00:00Z");
    let old = Advisory {
        learned_at: first,
        affected: vec![
            AffectedPackage { learned_at: first, ..entry("bookworm", "bash", Unfixed, None) },
            AffectedPackage { learned_at: first, ..fixed("bullseye", "bash", "5.1-2+deb11u1") },
            AffectedPackage { learned_at: first, ..fixed("trixie", "bash", "5.2.21-1") },
        ],
        ..advisory("CVE-2024-1000", Severity::Medium, vec![])
    };
    let newer = Advisory {
        learned_at: later,
        severity: Severity::High,
        affected: vec![
            // The fix appeared: its clock starts now.
            AffectedPackage { learned_at: later, ..fixed("bookworm", "bash", "5.2.15-2+deb12u1") },
            // Unchanged: known since the first reading.
            AffectedPackage { learned_at: later, ..fixed("bullseye", "bash", "5.1-2+deb11u1") },
            // A newer fix: a new entry.
            AffectedPackage { learned_at: later, ..fixed("trixie", "bash", "5.2.21-2") },
        ],
        ..advisory("CVE-2024-1000", Severity::Medium, vec![])
    };
    let refreshed = old.refreshed(newer).unwrap();
    assert_eq!(refreshed.learned_at, first);
    assert_eq!(refreshed.severity, Severity::High, "what the source says now");
    let dates: Vec<Timestamp> = refreshed.affected.iter().map(|e| e.learned_at).collect();
    assert_eq!(dates, [later, first, later]);
    assert!(old.refreshed(advisory("CVE-2024-9999", Severity::Low, vec![])).is_err());
}

#[test]
fn mitigations_are_validated() {
    let good = mitigation(MitigationScope::Host(HOST), "CVE-2024-1000", "2025-06-09T00:00:00Z");
    assert_eq!(good.validate(now()), Ok(()));
    let cases = [
        (Mitigation { advisory_id: "".into(), ..good.clone() }, "advisory_id"),
        (Mitigation { advisory_id: "CVE 2024".into(), ..good.clone() }, "advisory_id"),
        (Mitigation { description: " \n ".into(), ..good.clone() }, "description"),
        (Mitigation { owner: "".into(), ..good.clone() }, "owner"),
        (Mitigation { owner: "x".repeat(201), ..good.clone() }, "owner"),
        (Mitigation { review_at: now(), ..good.clone() }, "review_at"),
        (Mitigation { review_at: now() - SignedDuration::from_hours(1), ..good.clone() }, "review_at"),
    ];
    for (bad, expected) in cases {
        assert!(matches!(bad.validate(now()), Err(Error::Invalid { field, .. }) if field == expected), "{bad:?}");
    }
}

#[test]
fn severity_words() {
    let cases = [
        ("low", Some(Severity::Low)),
        ("unimportant", Some(Severity::Low)),
        ("Negligible", Some(Severity::Low)),
        ("medium", Some(Severity::Medium)),
        ("MODERATE", Some(Severity::Medium)),
        ("high", Some(Severity::High)),
        ("Important", Some(Severity::High)),
        ("high**", Some(Severity::High)),
        ("critical", Some(Severity::Critical)),
        ("not yet assigned", None),
        ("end-of-life", None),
        ("", None),
    ];
    for (word, expected) in cases {
        assert_eq!(Severity::from_word(word), expected, "{word:?}");
    }
    assert!(Severity::Unknown < Severity::Low && Severity::High < Severity::Critical);
}
