//! The security promise walked through a day: a fix learned at 08:00 UTC on 1 June 2025 is due
//! by 08:00 the next day; holds with and without an end; what counts against the promise.

use super::*;
use crate::patching::advisory::{Deferral, MitigationKind};

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn hours(n: i64) -> SignedDuration {
    SignedDuration::from_hours(n)
}

fn hold(package: &str, until: Option<&str>, reason: &str) -> Hold {
    Hold { package: package.into(), until: until.map(at), reason: reason.into() }
}

#[test]
fn the_deadline() {
    let learned = at("2025-06-01T08:00:00Z");
    assert_eq!(security_deadline(learned, DEFAULT_SECURITY_PROMISE), at("2025-06-02T08:00:00Z"));
    assert_eq!(security_deadline(learned, hours(4)), at("2025-06-01T12:00:00Z"));
    assert_eq!(security_deadline(Timestamp::MAX, hours(4)), Timestamp::MAX, "saturates");
}

#[test]
fn wildcards() {
    let cases = [
        ("bash", "bash", true),
        ("bash", "bash2", false),
        ("bash", "bas", false),
        ("postgresql-*", "postgresql-15", true),
        ("postgresql-*", "postgresql-client-15", true),
        ("postgresql-*", "postgresql", false),
        ("linux-image-*-amd64", "linux-image-6.1.0-21-amd64", true),
        ("linux-image-*-amd64", "linux-image-6.1.0-21-arm64", false),
        ("?ash", "bash", true),
        ("?ash", "ash", false),
        ("*", "anything", true),
        ("*", "", true),
        ("a*", "", false),
        ("*a*b*c*", "xxaxxbxxcxx", true),
        ("*a*b*c*", "xxaxxcxxbxx", false),
        ("**", "x", true),
        ("*ssl*", "libssl3", true),
    ];
    for (pattern, name, expected) in cases {
        assert_eq!(wildcard_match(pattern.as_bytes(), name.as_bytes()), expected, "{pattern} ~ {name}");
    }
    // Many stars against a long near-miss: quadratic at worst, not exponential.
    let pattern = "*a".repeat(50) + "b";
    assert!(!wildcard_match(pattern.as_bytes(), "a".repeat(5_000).as_bytes()));
}

#[test]
fn holds_end_by_themselves() {
    let until = hold("postgresql-*", Some("2025-07-01T00:00:00Z"), "pinned until the application is certified");
    assert!(until.holds("postgresql-15", at("2025-06-30T23:59:59Z")));
    assert!(!until.holds("postgresql-15", at("2025-07-01T00:00:00Z")));
    assert!(!until.holds("mariadb-server", at("2025-06-01T00:00:00Z")));
    let forever = hold("linux-image-*", None, "vendor kernel module");
    assert!(forever.holds("linux-image-6.1.0-21-amd64", Timestamp::MAX));
}

#[test]
fn holds_are_validated() {
    assert_eq!(hold("linux-image-*", None, "vendor module").validate(), Ok(()));
    assert_eq!(hold("libstdc++6:amd64", None, "pinned").validate(), Ok(()));
    let cases = [
        (hold("", None, "why"), "hold.package"),
        (hold("bash bash", None, "why"), "hold.package"),
        (hold("bash[12]", None, "why"), "hold.package"),
        (hold(&"x".repeat(201), None, "why"), "hold.package"),
        (hold("bash", None, "  "), "hold.reason"),
    ];
    for (bad, field) in cases {
        assert!(matches!(bad.validate(), Err(Error::Invalid { field: f, .. }) if f == field), "{bad:?}");
    }
}

#[test]
fn policies_are_validated_and_read() {
    assert_eq!(PatchPolicy::default().validate(), Ok(()));
    for promise in [SignedDuration::ZERO, hours(-1), MAX_SECURITY_PROMISE + SignedDuration::from_secs(1)] {
        let policy = PatchPolicy { security_promise: promise, ..PatchPolicy::default() };
        assert!(matches!(policy.validate(), Err(Error::Invalid { field: "security_promise", .. })), "{promise:#}");
    }
    let bad_hold = PatchPolicy { holds: vec![hold("", None, "x")], ..PatchPolicy::default() };
    assert!(bad_hold.validate().is_err());

    let read: PatchPolicy = serde_json::from_str("{}").unwrap();
    assert_eq!(read, PatchPolicy::default());
    let read: PatchPolicy = serde_json::from_value(serde_json::json!({
        "security_promise": "4h",
        "holds": [{"package": "postgresql-*", "until": null, "reason": "certified version"}],
    }))
    .unwrap();
    assert_eq!(read.security_promise, hours(4));
    assert_eq!(read.holds, [hold("postgresql-*", None, "certified version")]);
    assert!(serde_json::from_str::<PatchPolicy>(r#"{"promise": "4h"}"#).is_err(), "unknown keys refused");
}

fn update(name: &str) -> PendingUpdate {
    PendingUpdate { name: name.into(), new_version: "2".into(), security: true, ..PendingUpdate::default() }
}

#[test]
fn holds_keep_updates_out_of_patch_sets() {
    let policy = PatchPolicy {
        holds: vec![
            hold("postgresql-*", None, "certified version"),
            hold("linux-image-*", Some("2025-06-01T00:00:00Z"), "until the vendor's module is rebuilt"),
        ],
        ..PatchPolicy::default()
    };
    let updates = [update("openssl"), update("postgresql-15"), update("linux-image-amd64"), update("libpq5")];
    let cases = [
        ("2025-05-31T12:00:00Z", vec!["openssl", "libpq5"], vec!["postgresql-15", "linux-image-amd64"]),
        ("2025-06-01T00:00:00Z", vec!["openssl", "linux-image-amd64", "libpq5"], vec!["postgresql-15"]),
    ];
    for (now, apply, held) in cases {
        let selection = select_updates(&updates, &policy, at(now));
        let names = |list: &[&PendingUpdate]| list.iter().map(|u| u.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&selection.apply), apply, "{now}");
        let held_names: Vec<&str> = selection.held.iter().map(|(u, _)| u.name.as_str()).collect();
        assert_eq!(held_names, held, "{now}");
    }
}

fn exposure(advisory_id: &str, package: &str, status: ExposureStatus, learned_at: &str) -> Exposure {
    Exposure {
        advisory_id: advisory_id.into(),
        severity: Severity::High,
        package: package.into(),
        source_package: package.into(),
        arch: None,
        installed: "1".into(),
        fixed: Some("2".into()),
        status,
        learned_at: at(learned_at),
    }
}

fn vulnerable(advisory_id: &str, package: &str, update_available: bool) -> Exposure {
    exposure(advisory_id, package, ExposureStatus::Vulnerable { update_available }, "2025-06-01T08:00:00Z")
}

/// "CVE-1 [libssl3 openssl] 12h due 2025-06-02T08:00:00Z overdue update held(reason)"
fn summary(pending: &PendingSecurity) -> String {
    let mut text =
        format!("{} [{}] {:#} due {}", pending.advisory_id, pending.packages.join(" "), pending.age, pending.deadline);
    if pending.overdue {
        text += " overdue";
    }
    if pending.update_available {
        text += " update";
    }
    if let Some(reason) = &pending.held {
        text += &format!(" held({reason})");
    }
    text
}

struct Case {
    name: &'static str,
    exposures: Vec<Exposure>,
    holds: Vec<Hold>,
    now: &'static str,
    pending: &'static [&'static str],
    within_promise: bool,
    next_deadline: Option<&'static str>,
}

#[test]
fn compliance_through_a_day() {
    let openssl = || vec![vulnerable("CVE-1", "openssl", false), vulnerable("CVE-1", "libssl3", true)];
    let case = |name, exposures, now, pending, within_promise, next_deadline| Case {
        name,
        exposures,
        holds: vec![],
        now,
        pending,
        within_promise,
        next_deadline,
    };
    let cases = [
        case("nothing pending", vec![], "2025-06-01T20:00:00Z", &[], true, None),
        case(
            "twelve hours in",
            openssl(),
            "2025-06-01T20:00:00Z",
            &["CVE-1 [libssl3 openssl] 12h due 2025-06-02T08:00:00Z"],
            true,
            Some("2025-06-02T08:00:00Z"),
        ),
        case(
            "the deadline itself is still within the promise",
            openssl(),
            "2025-06-02T08:00:00Z",
            &["CVE-1 [libssl3 openssl] 24h due 2025-06-02T08:00:00Z"],
            true,
            Some("2025-06-02T08:00:00Z"),
        ),
        case(
            "a second later, overdue",
            openssl(),
            "2025-06-02T08:00:01Z",
            &["CVE-1 [libssl3 openssl] 24h 1s due 2025-06-02T08:00:00Z overdue"],
            false,
            None,
        ),
        case(
            "the update is offered for every package",
            vec![vulnerable("CVE-1", "libssl3", true)],
            "2025-06-01T09:00:00Z",
            &["CVE-1 [libssl3] 1h due 2025-06-02T08:00:00Z update"],
            true,
            Some("2025-06-02T08:00:00Z"),
        ),
        case(
            "learned of ahead of now: no negative age",
            vec![exposure(
                "CVE-2",
                "bash",
                ExposureStatus::Vulnerable { update_available: false },
                "2025-06-01T10:00:00Z",
            )],
            "2025-06-01T09:00:00Z",
            &["CVE-2 [bash] 0s due 2025-06-02T10:00:00Z"],
            true,
            Some("2025-06-02T10:00:00Z"),
        ),
        case(
            "oldest first; the earliest deadline ahead",
            vec![
                exposure(
                    "CVE-3",
                    "curl",
                    ExposureStatus::Vulnerable { update_available: false },
                    "2025-06-02T06:00:00Z",
                ),
                vulnerable("CVE-1", "openssl", false),
            ],
            "2025-06-02T09:00:00Z",
            &["CVE-1 [openssl] 25h due 2025-06-02T08:00:00Z overdue", "CVE-3 [curl] 3h due 2025-06-03T06:00:00Z"],
            false,
            Some("2025-06-03T06:00:00Z"),
        ),
        Case {
            holds: vec![hold("openssl", None, "customer's appliance"), hold("libssl*", None, "customer's appliance")],
            ..case(
                "overdue but every package held",
                openssl(),
                "2025-06-03T08:00:00Z",
                &["CVE-1 [libssl3 openssl] 48h due 2025-06-02T08:00:00Z overdue held(customer's appliance)"],
                true,
                None,
            )
        },
        Case {
            holds: vec![hold("openssl", None, "customer's appliance")],
            ..case(
                "one package of two held",
                openssl(),
                "2025-06-03T08:00:00Z",
                &["CVE-1 [libssl3 openssl] 48h due 2025-06-02T08:00:00Z overdue"],
                false,
                None,
            )
        },
        Case {
            holds: vec![hold("*ssl*", Some("2025-06-02T00:00:00Z"), "until the weekend")],
            ..case(
                "a hold that ended",
                openssl(),
                "2025-06-03T08:00:00Z",
                &["CVE-1 [libssl3 openssl] 48h due 2025-06-02T08:00:00Z overdue"],
                false,
                None,
            )
        },
    ];
    for case in cases {
        let policy = PatchPolicy { holds: case.holds, ..PatchPolicy::default() };
        let compliance = compliance(&case.exposures, &policy, at(case.now));
        let got: Vec<String> = compliance.pending_security.iter().map(summary).collect();
        assert_eq!(got, case.pending, "{}", case.name);
        assert_eq!(compliance.within_promise, case.within_promise, "{}", case.name);
        assert_eq!(compliance.next_deadline, case.next_deadline.map(at), "{}", case.name);
    }
}

#[test]
fn advisories_without_a_fix_are_counted_once() {
    let review_at = at("2025-07-01T00:00:00Z");
    let mitigated = || ExposureStatus::Mitigated { kind: MitigationKind::FirewallRule, owner: "L2".into(), review_at };
    let due = ExposureStatus::MitigationReviewDue { kind: MitigationKind::Other, owner: "L2".into(), review_at };
    let learned = "2025-06-01T08:00:00Z";
    let exposures = [
        exposure("CVE-1", "bash", ExposureStatus::Exposed, learned),
        exposure("CVE-2", "openssl", mitigated(), learned),
        exposure("CVE-2", "libssl3", mitigated(), learned),
        exposure("CVE-3", "curl", due, learned),
        exposure("CVE-4", "login", ExposureStatus::Deferred { reason: Deferral::NoDsa }, learned),
        exposure("CVE-5", "passwd", ExposureStatus::Deferred { reason: Deferral::Ignored }, learned),
    ];
    let compliance = compliance(&exposures, &PatchPolicy::default(), at("2025-06-10T00:00:00Z"));
    assert_eq!(
        (compliance.exposed, compliance.mitigated, compliance.mitigation_review_due, compliance.deferred),
        (1, 1, 1, 2)
    );
    assert!(compliance.pending_security.is_empty());
    assert!(compliance.within_promise, "nothing to apply, nothing overdue");
}
