//! Patch policies end to end: a client's, a site's and a host's policy give each host the right
//! policy in force; invalid ones are refused and store nothing; a hold changes compliance; the
//! client's users may read but not change them; `tend patch policy` round-trips; the patch
//! status shows each host's ring and when it was last patched.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tend_core::tenancy::Scope;
use tend_proto::patching::{EffectivePatchPolicy, PatchPolicyEntry, PatchStatus};
use tend_store::{JobRow, Queued};

use crate::harness::{Api, Server, admin_cli, each_backend, now, run, text};

const TRACKER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tend-core/testdata/patching/debian-tracker.json");

/// A host enrolled with `token`; returns (host id, agent API).
async fn enrolled(server: &Server, token: &str, hostname: &str) -> (i64, Api) {
    let credential = format!("cred-{hostname}");
    let hash = tend_server::auth::hash_secret(token);
    let credential_hash = tend_server::auth::hash_secret(&credential);
    let enrolled = server.store.enroll_agent(&hash, hostname, None, &credential_hash, now()).await.unwrap();
    (enrolled.host_id, Api::anonymous(&server.url).with_token(&credential))
}

/// A Debian 12 report with openssl at a version the tracker's CVE-2024-99901 fixes later.
fn vulnerable_openssl() -> Value {
    json!({ "reports": [{
        "seq": 1, "collected_at_ms": now().as_millisecond(), "schema_version": tend_proto::REPORT_SCHEMA_VERSION,
        "sections": {
            "os": { "id": "debian", "version_id": "12", "pretty_name": "Debian GNU/Linux 12 (bookworm)",
                "kernel": "6.1.0-21-amd64", "eol_date": "2028-06-30", "eol": false, "days_until_eol": 1000 },
            "packages": {
                "manager": "dpkg",
                "installed": [{ "name": "openssl", "version": "3.0.11-1~deb12u2", "architecture": "amd64" }],
                "updates": [{ "name": "openssl", "current_version": "3.0.11-1~deb12u2",
                    "new_version": "3.0.15-1~deb12u1", "architecture": "amd64",
                    "origin": "Debian-Security:12/stable-security", "security": true }],
                "reboot_required": false,
                "reboot_required_packages": [],
            }
        }
    }]})
}

/// Imports the tracker's export, then makes tend have learned of its fixes two days ago, so a
/// vulnerable host is past a 24-hour promise.
async fn import_two_days_old(server: &Server) {
    let bytes = std::fs::read(TRACKER).unwrap();
    let path = "/api/v1/advisories/import?format=debian_tracker";
    let answer = server.admin.request(reqwest::Method::POST, path, Some(bytes)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
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
}

async fn put_policy(server: &Server, client_id: i64, body: &Value) -> crate::harness::Answer {
    let bytes = serde_json::to_vec(body).unwrap();
    let path = format!("/api/v1/clients/{client_id}/patch-policy");
    server.admin.request(reqwest::Method::PUT, &path, Some(bytes)).await
}

async fn effective(api: &Api, host_id: i64) -> (String, i64) {
    let found: EffectivePatchPolicy = api.get_ok(&format!("/api/v1/hosts/{host_id}/patch-policy")).await;
    (found.source, found.policy.security_promise_secs)
}

#[tokio::test]
async fn policies_are_inherited_validated_and_change_compliance_and_the_status_shows_ring_and_last_patch() {
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let (client_id, token) = server.client_with_token("acme", 1).await;
        let site: tend_proto::api::Site =
            server.admin.post_ok(&format!("/api/v1/clients/{client_id}/sites"), &json!({ "name": "berlin" })).await;
        let site_token: tend_proto::api::EnrollmentToken = server
            .admin
            .post_ok("/api/v1/enrollment-tokens", &json!({ "client_id": client_id, "site_id": site.id, "uses": 2 }))
            .await;
        let site_token = site_token.token.unwrap();
        let (web1, agent1) = enrolled(&server, &site_token, "web1").await;
        let (web2, _) = enrolled(&server, &site_token, "web2").await;
        let (web3, _) = enrolled(&server, &token, "web3").await;

        assert_eq!(effective(&server.admin, web1).await, ("default".to_owned(), 86400));
        let client = put_policy(&server, client_id, &json!({ "policy": { "security_promise_secs": 43200 } })).await;
        assert_eq!(client.status, 200, "{}", client.body);
        let site_policy = json!({ "site_id": site.id, "policy": { "security_promise_secs": 21600 } });
        assert_eq!(put_policy(&server, client_id, &site_policy).await.status, 200);
        let host_policy = json!({ "host_id": web1, "policy": { "security_promise_secs": 7200, "reboot": "never" } });
        let host: PatchPolicyEntry =
            serde_json::from_value(put_policy(&server, client_id, &host_policy).await.body).unwrap();
        assert_eq!(
            (host.host_id, host.policy.reboot.as_str(), host.policy.health_gate_secs),
            (Some(web1), "never", 1800)
        );

        assert_eq!(effective(&server.admin, web1).await, ("host".to_owned(), 7200));
        assert_eq!(effective(&server.admin, web2).await, ("site".to_owned(), 21600));
        assert_eq!(effective(&server.admin, web3).await, ("client".to_owned(), 43200));
        let listed: Vec<PatchPolicyEntry> =
            server.admin.get_ok(&format!("/api/v1/clients/{client_id}/patch-policies")).await;
        let targets: Vec<(Option<i64>, Option<i64>)> = listed.iter().map(|p| (p.site_id, p.host_id)).collect();
        assert_eq!(targets, [(None, None), (Some(site.id), None), (None, Some(web1))]);

        // Invalid policies are problems naming the field, and nothing changes.
        let negative_gate = json!({ "host_id": web1, "policy": { "health_gate_secs": -60 } });
        let bad_pattern = json!({ "policy": { "holds": [{ "package": "open ssl!", "reason": "x" }] } });
        let both = json!({ "site_id": site.id, "host_id": web1, "policy": {} });
        for (body, field) in [(negative_gate, "health_gate"), (bad_pattern, "hold.package"), (both, "host_id")] {
            let refused = put_policy(&server, client_id, &body).await;
            assert_eq!(refused.status, 422, "{}", refused.body);
            assert_eq!(refused.problem().field.as_deref(), Some(field), "{}", refused.body);
        }
        let unchanged: Vec<PatchPolicyEntry> =
            server.admin.get_ok(&format!("/api/v1/clients/{client_id}/patch-policies")).await;
        assert_eq!(unchanged, listed);

        // web1 is past its 2-hour promise on openssl until the customer holds openssl back.
        assert_eq!(agent1.post("/api/agent/v1/report", &vulnerable_openssl()).await.status, 200);
        import_two_days_old(&server).await;
        let status: PatchStatus = server.admin.get_ok(&format!("/api/v1/patch/status?client={client_id}")).await;
        let of_web1 = status.hosts.iter().find(|h| h.host_id == web1).unwrap();
        assert_eq!(of_web1.within_promise, Some(false), "{of_web1:?}");
        let held = json!({ "host_id": web1, "policy": { "security_promise_secs": 7200,
            "holds": [{ "package": "openssl*", "reason": "waiting for the vendor's certification" }] } });
        assert_eq!(put_policy(&server, client_id, &held).await.status, 200);
        let status: PatchStatus = server.admin.get_ok(&format!("/api/v1/patch/status?client={client_id}")).await;
        let of_web1 = status.hosts.iter().find(|h| h.host_id == web1).unwrap();
        assert_eq!(of_web1.within_promise, Some(true), "{of_web1:?}");

        // The status shows the ring and the last successful apply_updates job.
        let ring = json!({ "ring": "test" });
        let answer = server
            .admin
            .request(reqwest::Method::PUT, &format!("/api/v1/hosts/{web1}/ring"), Some(ring.to_string().into()))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let job = JobRow {
            id: 0,
            client_id,
            host_id: web1,
            ticket_id: None,
            kind: "apply_updates".into(),
            params: json!({ "packages": ["openssl"] }).to_string(),
            status: String::new(),
            requested_by: None,
            created_at: now(),
            claimed_at: None,
            finished_at: None,
            result: None,
        };
        let job = server.store.queue_job(Scope::System, &job, &Queued { audit: None, rollout_id: None }).await.unwrap();
        server.store.claim_job(web1, now()).await.unwrap().unwrap();
        let finished = server.store.finish_job(web1, job.id, "succeeded", "{}", now()).await.unwrap();
        let status: PatchStatus = server.admin.get_ok(&format!("/api/v1/patch/status?client={client_id}")).await;
        let of_web1 = status.hosts.iter().find(|h| h.host_id == web1).unwrap();
        let patched_at = of_web1.last_patched_at.as_deref().map(|at| at.parse::<Timestamp>().unwrap());
        assert_eq!((of_web1.ring.as_deref(), patched_at), (Some("test"), finished.finished_at));
        let of_web3 = status.hosts.iter().find(|h| h.host_id == web3).unwrap();
        assert_eq!((of_web3.ring.as_deref(), of_web3.last_patched_at.as_deref()), (None, None));

        // Clearing the host's policy hands web1 to its site's; both changes are audited.
        let path = format!("/api/v1/patch-policies/{}", host.id);
        assert_eq!(server.admin.request(reqwest::Method::DELETE, &path, None).await.status, 204);
        assert_eq!(effective(&server.admin, web1).await, ("site".to_owned(), 21600));
        let audit = server.store.audit_entries(Scope::System, Some(web1), 10).await.unwrap();
        let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
        assert!(actions.starts_with(&["patch_policy.clear"]) && actions.contains(&"patch_policy.set"), "{actions:?}");
        assert!(audit.iter().any(|e| e.detail.contains("holds [openssl*]")), "{audit:?}");

        server.stop().await;
        db
    })
    .await;
}

async fn customer(server: &Server, client_id: i64, username: &str) -> Api {
    let password = "a long enough customer password";
    let body = json!({ "username": username, "password": password, "role": "client_user", "client_id": client_id });
    let _: tend_proto::api::User = server.admin.post_ok("/api/v1/users", &body).await;
    Api::login(&server.url, username, password).await
}

#[tokio::test]
async fn customers_read_their_own_policies_only_and_the_cli_sets_shows_and_clears_them() {
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let (acme, token) = server.client_with_token("acme", 1).await;
        let (globex, _) = server.client_with_token("globex", 1).await;
        let (web1, _) = enrolled(&server, &token, "web1").await;

        let set = run(admin_cli(
            &server,
            &[
                "patch",
                "policy",
                "set",
                "--client",
                "acme",
                "--promise",
                "12h",
                "--reboot",
                "ask",
                "--health-gate",
                "10m",
                "--auto-security-rollouts",
                "--hold",
                "postgresql-*=vendor certification",
                "--hold-until",
                "2027-01-01T00:00:00Z",
                "--json",
            ],
        ))
        .await;
        assert!(set.status.success(), "{}", text(&set.stderr));
        let stored: PatchPolicyEntry = serde_json::from_slice(&set.stdout).unwrap();
        assert_eq!((stored.client_id, stored.site_id, stored.host_id), (acme, None, None));
        let policy = &stored.policy;
        assert_eq!(
            (policy.security_promise_secs, policy.health_gate_secs, policy.reboot.as_str()),
            (43200, 600, "ask")
        );
        assert!(policy.auto_security_rollouts);
        assert_eq!(policy.holds[0].package, "postgresql-*");
        assert_eq!(policy.holds[0].until.as_deref(), Some("2027-01-01T00:00:00Z"));

        let shown = run(admin_cli(&server, &["patch", "policy", "show", "--client", "acme", "--json"])).await;
        assert!(shown.status.success(), "{}", text(&shown.stderr));
        assert_eq!(
            serde_json::from_slice::<Vec<PatchPolicyEntry>>(&shown.stdout).unwrap(),
            std::slice::from_ref(&stored)
        );
        let of_host =
            run(admin_cli(&server, &["patch", "policy", "show", "--client", "acme", "--host", "web1", "--json"])).await;
        assert!(of_host.status.success(), "{}", text(&of_host.stderr));
        let of_host: EffectivePatchPolicy = serde_json::from_slice(&of_host.stdout).unwrap();
        assert_eq!((of_host.source.as_str(), of_host.policy_id, &of_host.policy), ("client", Some(stored.id), policy));
        let table = run(admin_cli(&server, &["patch", "policy", "show", "--client", "acme"])).await;
        assert!(text(&table.stdout).contains("postgresql-* until 2027-01-01T00:00:00Z"), "{}", text(&table.stdout));

        // The client's users read their own client's policies; changing them is the provider's.
        let acme_user = customer(&server, acme, "acme-it").await;
        let listed: Vec<PatchPolicyEntry> = acme_user.get_ok(&format!("/api/v1/clients/{acme}/patch-policies")).await;
        assert_eq!(listed, std::slice::from_ref(&stored));
        assert_eq!(effective(&acme_user, web1).await, ("client".to_owned(), 43200));
        let put = acme_user
            .request(reqwest::Method::PUT, &format!("/api/v1/clients/{acme}/patch-policy"), Some(b"{}".to_vec()))
            .await;
        assert_eq!(put.status, 403, "{}", put.body);
        let path = format!("/api/v1/patch-policies/{}", stored.id);
        assert_eq!(acme_user.request(reqwest::Method::DELETE, &path, None).await.status, 403);
        let globex_user = customer(&server, globex, "globex-it").await;
        assert_eq!(globex_user.get(&format!("/api/v1/clients/{acme}/patch-policies")).await.status, 404);
        assert_eq!(globex_user.get(&format!("/api/v1/hosts/{web1}/patch-policy")).await.status, 404);

        let cleared = run(admin_cli(&server, &["patch", "policy", "clear", &stored.id.to_string()])).await;
        assert!(cleared.status.success(), "{}", text(&cleared.stderr));
        let shown = run(admin_cli(&server, &["patch", "policy", "show", "--client", "acme", "--json"])).await;
        assert!(serde_json::from_slice::<Vec<PatchPolicyEntry>>(&shown.stdout).unwrap().is_empty());
        let again = run(admin_cli(&server, &["patch", "policy", "clear", &stored.id.to_string()])).await;
        assert_eq!(again.status.code(), Some(4), "{}", text(&again.stderr));

        server.stop().await;
        db
    })
    .await;
}
