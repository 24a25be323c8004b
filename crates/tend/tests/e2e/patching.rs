//! Patch management end to end: agents report Debian 12 hosts' packages, the Debian security
//! tracker's export is imported through the API, and each host's exposures and the security
//! promise come out of the API and `tend patch`, with backported fixes not reported.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tend_proto::patching::{AdvisoryView, HostExposures, ImportSummary, Mitigation, PatchStatus};

use crate::harness::{Server, admin_cli, each_backend, now, run, text};

const TRACKER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tend-core/testdata/patching/debian-tracker.json");

/// An enrolled host of the client whose token is `token`; returns (host id, agent API).
async fn enrolled(server: &Server, token: &str, hostname: &str) -> (i64, crate::harness::Api) {
    let credential = format!("cred-{hostname}");
    let hash = tend_server::auth::hash_secret(token);
    let enrolled = server
        .store
        .enroll_agent(&hash, hostname, None, &tend_server::auth::hash_secret(&credential), now())
        .await
        .unwrap();
    (enrolled.host_id, crate::harness::Api::anonymous(&server.url).with_token(&credential))
}

/// A Debian 12 report with openssl (and libssl3, built from it) at `openssl`, and bash.
pub(crate) fn bookworm_report(openssl: &str, update: Option<&str>) -> Value {
    let package = |name: &str, version: &str, source: Option<&str>| json!({ "name": name, "version": version, "architecture": "amd64", "source": source });
    let updates: Vec<Value> = update
        .into_iter()
        .flat_map(|new| {
            ["openssl", "libssl3"].map(|name| {
                json!({ "name": name, "current_version": openssl, "new_version": new, "architecture": "amd64",
                    "origin": "Debian-Security:12/stable-security", "security": true })
            })
        })
        .collect();
    json!({ "reports": [{
        "seq": 1, "collected_at_ms": now().as_millisecond(), "schema_version": tend_proto::REPORT_SCHEMA_VERSION,
        "sections": {
            "os": { "id": "debian", "version_id": "12", "pretty_name": "Debian GNU/Linux 12 (bookworm)",
                "kernel": "6.1.0-21-amd64", "eol_date": "2028-06-30", "eol": false, "days_until_eol": 1000 },
            "packages": {
                "manager": "dpkg",
                "installed": [
                    package("openssl", openssl, None),
                    package("libssl3", openssl, Some("openssl")),
                    package("bash", "5.2.15-2", None),
                ],
                "updates": updates,
                "reboot_required": false,
                "reboot_required_packages": [],
            }
        }
    }]})
}

/// (advisory, package) → state, for a compact comparison.
fn states(found: &HostExposures) -> Vec<(String, String, String)> {
    found.exposures.iter().map(|e| (e.advisory_id.clone(), e.package.clone(), e.state.clone())).collect()
}

fn row(advisory: &str, package: &str, state: &str) -> (String, String, String) {
    (advisory.to_owned(), package.to_owned(), state.to_owned())
}

pub(crate) async fn import(server: &Server) -> ImportSummary {
    let bytes = std::fs::read(TRACKER).unwrap();
    let answer = server
        .admin
        .request(reqwest::Method::POST, "/api/v1/advisories/import?format=debian_tracker", Some(bytes))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    serde_json::from_value(answer.body).unwrap()
}

#[tokio::test]
async fn patch_exposures_follow_the_tracker_and_the_promise_is_checked() {
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let (client_id, token) = server.client_with_token("acme", 2).await;
        // web1 runs the release's vulnerable openssl, with the security update offered; web2
        // the backported fix (3.0.14-1~deb12u2 is at or above the release's fixed
        // 3.0.14-1~deb12u1, though below upstream's 3.2.2 fix).
        let (web1, agent1) = enrolled(&server, &token, "web1").await;
        let (web2, agent2) = enrolled(&server, &token, "web2").await;
        let report1 = bookworm_report("3.0.11-1~deb12u2", Some("3.0.15-1~deb12u1"));
        assert_eq!(agent1.post("/api/agent/v1/report", &report1).await.status, 200);
        let report2 = bookworm_report("3.0.14-1~deb12u2", None);
        assert_eq!(agent2.post("/api/agent/v1/report", &report2).await.status, 200);

        let before: HostExposures = server.admin.get_ok(&format!("/api/v1/hosts/{web1}/exposures")).await;
        assert!(before.exposures.is_empty() && before.not_matched.is_none(), "{before:?}");

        let summary = import(&server).await;
        assert_eq!(summary.format, "debian_tracker");
        assert!(summary.added >= 4 && summary.updated == 0 && summary.unchanged == 0, "{summary:?}");

        let found: HostExposures = server.admin.get_ok(&format!("/api/v1/hosts/{web1}/exposures")).await;
        assert_eq!((found.distribution.as_deref(), found.release.as_deref()), (Some("debian"), Some("bookworm")));
        assert_eq!(
            states(&found),
            [
                row("CVE-2024-99901", "libssl3", "vulnerable"),
                row("CVE-2024-99901", "openssl", "vulnerable"),
                row("CVE-2024-99903", "bash", "exposed"),
                row("CVE-2024-99902", "libssl3", "deferred"),
                row("CVE-2024-99902", "openssl", "deferred"),
                row("TEMP-0000000-A1B2C3", "libssl3", "deferred"),
                row("TEMP-0000000-A1B2C3", "openssl", "deferred"),
            ]
        );
        let fix = &found.exposures[1];
        assert_eq!(fix.fixed.as_deref(), Some("3.0.14-1~deb12u1"));
        assert_eq!((fix.severity.as_str(), fix.update_available), ("high", Some(true)));
        assert_eq!(found.exposures[3].deferral.as_deref(), Some("postponed"));

        // The backported fix is not reported; the unfixed bash flaw is.
        let backported: HostExposures = server.admin.get_ok(&format!("/api/v1/hosts/{web2}/exposures")).await;
        assert!(!states(&backported).iter().any(|(id, _, _)| id == "CVE-2024-99901"), "{backported:?}");
        assert!(states(&backported).contains(&row("CVE-2024-99903", "bash", "exposed")));

        // Within the promise: the fix was learned of just now.
        let status: PatchStatus = server.admin.get_ok(&format!("/api/v1/patch/status?client={client_id}")).await;
        assert_eq!(status.security_promise, "24h");
        let host1 = status.hosts.iter().find(|h| h.host_id == web1).unwrap();
        assert_eq!((host1.pending_updates, host1.pending_security_updates), (2, 2));
        assert_eq!(host1.pending_security.len(), 1);
        assert_eq!((host1.open_cves, host1.exposed, host1.deferred), (2, 1, 2));
        assert_eq!(host1.within_promise, Some(true));
        assert_eq!(host1.os_eol_date.as_deref(), Some("2028-06-30"));
        let host2 = status.hosts.iter().find(|h| h.host_id == web2).unwrap();
        assert_eq!((host2.pending_security.len(), host2.open_cves, host2.within_promise), (0, 1, Some(true)));
        assert_eq!(status.clients.len(), 1);
        assert!(status.clients[0].within_promise);

        let kept = run(admin_cli(&server, &["patch", "status", "--client", "acme"])).await;
        assert!(kept.status.success(), "{}", text(&kept.stderr));
        let table = text(&kept.stdout);
        assert!(table.contains("web1") && table.contains("kept") && table.contains("2028-06-30"), "{table}");

        let shown = run(admin_cli(&server, &["patch", "exposures", "web1"])).await;
        assert!(shown.status.success(), "{}", text(&shown.stderr));
        let table = text(&shown.stdout);
        assert!(table.contains("CVE-2024-99901") && table.contains("update available"), "{table}");

        // A mitigation for the unfixed flaw on web1: mitigated there, still exposed on web2.
        let review_at = (now() + SignedDuration::from_hours(24 * 30)).to_string();
        let new = json!({ "host_id": web1, "advisory_id": "CVE-2024-99903", "kind": "service_stopped",
            "description": "no untrusted scripts run; the cgi service is stopped", "owner": "alice",
            "review_at": review_at });
        let mitigation: Mitigation = server.admin.post_ok("/api/v1/mitigations", &new).await;
        assert_eq!((mitigation.client_id, mitigation.host_id), (client_id, Some(web1)));
        let without_owner = json!({ "host_id": web1, "advisory_id": "CVE-2024-99903", "kind": "other",
            "description": "x", "owner": " ", "review_at": review_at });
        assert_eq!(server.admin.post("/api/v1/mitigations", &without_owner).await.status, 422);
        let listed: Vec<Mitigation> = server.admin.get_ok(&format!("/api/v1/mitigations?client={client_id}")).await;
        assert_eq!(listed, [mitigation]);

        let found: HostExposures = server.admin.get_ok(&format!("/api/v1/hosts/{web1}/exposures")).await;
        let bash = found.exposures.iter().find(|e| e.advisory_id == "CVE-2024-99903").unwrap();
        assert_eq!(bash.state, "mitigated");
        assert_eq!(bash.mitigation.as_ref().map(|m| m.owner.as_str()), Some("alice"));
        let backported: HostExposures = server.admin.get_ok(&format!("/api/v1/hosts/{web2}/exposures")).await;
        assert!(states(&backported).contains(&row("CVE-2024-99903", "bash", "exposed")));

        // Importing the same file again changes nothing and keeps when tend learned of it.
        let search = "/api/v1/advisories?q=cve-2024-99901";
        let first: Vec<AdvisoryView> = server.admin.get_ok(search).await;
        assert_eq!(first.len(), 1, "{first:?}");
        let again = import(&server).await;
        assert_eq!((again.added, again.updated, again.unchanged), (0, 0, summary.added), "{again:?}");
        let second: Vec<AdvisoryView> = server.admin.get_ok(search).await;
        assert_eq!(second[0].learned_at, first[0].learned_at);

        // Tend learned of the fix two days ago: web1 is outside the promise, `tend patch status`
        // says so and exits 1; a fresh reading of the tracker keeps the old date.
        let mut stored = server.store.advisories_by_id(&["CVE-2024-99901".into()]).await.unwrap().remove(0);
        let two_days_ago = now() - SignedDuration::from_hours(48);
        let mut body: Value = serde_json::from_str(&stored.body).unwrap();
        body["learned_at"] = json!(two_days_ago.to_string());
        for entry in body["affected"].as_array_mut().unwrap() {
            entry["learned_at"] = json!(two_days_ago.to_string());
        }
        stored.body = body.to_string();
        stored.learned_at = two_days_ago;
        server.store.upsert_advisories(&[stored], &[], now()).await.unwrap();
        let again = import(&server).await;
        assert_eq!(again.unchanged, summary.added, "{again:?}");
        let [advisory]: [AdvisoryView; 1] = server.admin.get_ok(search).await;
        assert_eq!(advisory.learned_at.parse::<Timestamp>().unwrap(), two_days_ago);

        let status: PatchStatus = server.admin.get_ok("/api/v1/patch/status").await;
        let host1 = status.hosts.iter().find(|h| h.host_id == web1).unwrap();
        assert_eq!(host1.within_promise, Some(false));
        assert!(host1.pending_security[0].overdue && host1.pending_security[0].age_hours >= 47, "{host1:?}");
        assert!(!status.clients[0].within_promise);
        let broken = run(admin_cli(&server, &["patch", "status"])).await;
        assert_eq!(broken.status.code(), Some(1), "{}", text(&broken.stderr));
        assert!(text(&broken.stdout).contains("BROKEN"), "{}", text(&broken.stdout));
        assert!(text(&broken.stderr).contains("outside the 24h security promise: web1"), "{}", text(&broken.stderr));

        server.stop().await;
        db
    })
    .await;
}

#[tokio::test]
async fn advisory_import_is_for_staff_and_refuses_what_is_not_an_advisory_file() {
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let not_json = server
            .admin
            .request(reqwest::Method::POST, "/api/v1/advisories/import?format=osv", Some(b"not json".to_vec()))
            .await;
        assert_eq!(not_json.status, 422, "{}", not_json.body);
        let bad_format = server
            .admin
            .request(reqwest::Method::POST, "/api/v1/advisories/import?format=csv", Some(b"{}".to_vec()))
            .await;
        assert_eq!(bad_format.status, 422);
        assert_eq!(bad_format.problem().field.as_deref(), Some("format"));

        // The CLI detects the format; a customer's user may not import.
        let imported = run(admin_cli(&server, &["advisory", "import", TRACKER, "--json"])).await;
        assert!(imported.status.success(), "{}", text(&imported.stderr));
        let summary: ImportSummary = serde_json::from_slice(&imported.stdout).unwrap();
        assert_eq!(summary.format, "debian_tracker");
        let (client_id, _) = server.client_with_token("acme", 1).await;
        let body = json!({ "username": "acme-it", "password": "a long enough customer password",
            "role": "client_user", "client_id": client_id });
        let _: tend_proto::api::User = server.admin.post_ok("/api/v1/users", &body).await;
        let customer = crate::harness::Api::login(&server.url, "acme-it", "a long enough customer password").await;
        let refused =
            customer.request(reqwest::Method::POST, "/api/v1/advisories/import", Some(std::fs::read(TRACKER).unwrap()));
        assert_eq!(refused.await.status, 403);
        assert_eq!(customer.get("/api/v1/mitigations").await.status, 403);
        server.stop().await;
        db
    })
    .await;
}
