//! Patch rollouts through rings against the real server, with the agents' side played through
//! the agent API (so that this does not depend on how the agent applies updates): the test
//! ring's host gets its job, production's follows only after the soak; a failure on the test
//! ring halts the rollout, opens a ticket and production never gets a job; promotion without
//! soak needs a reason and is audited.

use std::time::Duration;

use serde_json::{Value, json};
use tend_store::Scope;

use crate::harness::{Api, Server, each_backend_at_once, eventually, now};

/// Long enough for two passes of the rollout timer (every 10 s) and a short soak.
const PASSES: Duration = Duration::from_secs(60);

/// Enrolls a host through the store; returns its id and its agent's API.
pub(crate) async fn host(server: &Server, token: &str, hostname: &str) -> (i64, Api) {
    let hash = tend_server::auth::hash_secret(token);
    let credential = format!("cred-{hostname}");
    let stored = tend_server::auth::hash_secret(&credential);
    let enrolled = server.store.enroll_agent(&hash, hostname, None, &stored, now()).await.unwrap();
    (enrolled.host_id, Api::anonymous(&server.url).with_token(&credential))
}

pub(crate) async fn set_ring(server: &Server, host_id: i64, ring: &str) {
    let body = serde_json::to_vec(&json!({ "ring": ring })).unwrap();
    let answer = server.admin.request(reqwest::Method::PUT, &format!("/api/v1/hosts/{host_id}/ring"), Some(body)).await;
    assert_eq!((answer.status, &answer.body["ring"]), (200, &json!(ring)), "{}", answer.body);
}

pub(crate) async fn jobs(server: &Server, host_id: i64) -> Vec<Value> {
    let body: Value = server.admin.get_ok(&format!("/api/v1/hosts/{host_id}/jobs")).await;
    body.as_array().cloned().unwrap_or_default()
}

/// Plays the agent: takes the host's next job and reports it; after a success, sends its
/// inventory again, as the agent does, which the post-update health gate waits for.
pub(crate) async fn run_job(agent: &Api, ok: bool, output: &str) -> Value {
    let job = take_job(agent, "apply_updates").await;
    let result = json!({ "ok": ok, "exit_code": if ok { 0 } else { 100 }, "output": output });
    let reported = agent.post(&format!("/api/agent/v1/jobs/{}/result", job["id"]), &result).await;
    assert_eq!(reported.status, 204, "{}", reported.body);
    if ok {
        report_inventory(agent, false, None).await;
    }
    job
}

/// Plays the agent: takes the host's next job, which must be of `kind`.
pub(crate) async fn take_job(agent: &Api, kind: &str) -> Value {
    let answer = agent.get("/api/agent/v1/jobs/next?wait=25").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["kind"], kind, "{}", answer.body);
    answer.body
}

/// Plays the agent: a report with the package inventory (whether a reboot is required) and,
/// when given, facts with the host name and boot time.
pub(crate) async fn report_inventory(agent: &Api, reboot_required: bool, booted: Option<(&str, jiff::Timestamp)>) {
    let at = now();
    let mut sections = json!({ "packages": { "manager": "dpkg", "installed": [], "updates": [],
        "reboot_required": reboot_required, "reboot_required_packages": [] } });
    if let Some((hostname, booted_at)) = booted {
        sections["facts"] = json!({ "hostname": hostname, "os_name": "Debian GNU/Linux 12 (bookworm)",
            "os_id": "debian", "os_version": "12", "kernel": "6.1.0-21-amd64", "architecture": "x86_64",
            "cpu_model": "test", "cpu_cores": 2, "memory_total_bytes": 1u64 << 30,
            "boot_time_ms": booted_at.as_millisecond(), "ip_addresses": [] });
    }
    // Milliseconds make a sequence that grows from one report to the next, as the agent's does.
    let report = json!({ "reports": [{ "seq": at.as_millisecond(), "collected_at_ms": at.as_millisecond(),
        "schema_version": tend_proto::REPORT_SCHEMA_VERSION, "sections": sections }] });
    let answer = agent.post("/api/agent/v1/report", &report).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

pub(crate) async fn rollout(server: &Server, id: i64) -> Value {
    server.admin.get_ok(&format!("/api/v1/rollouts/{id}")).await
}

/// Waits until the rollout satisfies `done`.
pub(crate) async fn rollout_when(server: &Server, id: i64, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    eventually(PASSES, what, || async {
        let seen = rollout(server, id).await;
        done(&seen).then_some(seen)
    })
    .await
}

#[tokio::test]
async fn a_rollout_reaches_production_only_after_the_test_ring_applied_and_soaked() {
    each_backend_at_once(|db| async move {
        let server = Server::start(&db).await;
        let (client_id, token) = server.client_with_token("acme", 2).await;
        let (test_host, test_agent) = host(&server, &token, "acme-test").await;
        let (prod_host, prod_agent) = host(&server, &token, "acme-prod").await;
        set_ring(&server, test_host, "test").await;
        set_ring(&server, prod_host, "production").await;

        let new = json!({ "client_id": client_id, "name": "openssl DSA-5678-1", "packages": ["openssl", "libssl3"],
            "urgency": "emergency", "soak_secs": 2 });
        let created: Value = server.admin.post_ok("/api/v1/rollouts", &new).await;
        let id = created["id"].as_i64().unwrap();
        assert_eq!((created["status"].as_str(), created["urgency"].as_str()), (Some("running"), Some("emergency")));
        let rings: Vec<&str> =
            created["rings"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
        assert_eq!(rings, ["test", "production"]);
        assert_eq!(created["rings"][0]["hosts"][0]["state"], "queued", "{created}");
        assert_eq!(created["rings"][1]["hosts"][0]["state"], "pending", "{created}");

        // The test host's job is queued at once; production has none.
        let queued = jobs(&server, test_host).await;
        assert_eq!((queued.len(), &queued[0]["status"]), (1, &json!("queued")), "{queued:?}");
        assert_eq!(queued[0]["params"]["packages"], json!(["openssl", "libssl3"]));
        assert!(jobs(&server, prod_host).await.is_empty());

        run_job(&test_agent, true, "openssl upgraded").await;
        let promoted = eventually(PASSES, "production's job", || async {
            let found = jobs(&server, prod_host).await;
            (!found.is_empty()).then_some(found)
        })
        .await;
        assert_eq!(promoted[0]["kind"], "apply_updates");
        let seen = rollout(&server, id).await;
        assert_eq!(seen["rings"][0]["hosts"][0]["state"], "applied", "{seen}");
        assert!(seen["rings"][0]["soak_until"].is_string(), "{seen}");
        assert!(seen["rings"][1]["promoted_at"].is_string() && seen["rings"][1]["promoted_without_soak"].is_null());

        run_job(&prod_agent, true, "openssl upgraded").await;
        rollout_when(&server, id, "the rollout done", |r| r["status"] == "done").await;
        let listed: Vec<Value> = server.admin.get_ok(&format!("/api/v1/rollouts?client={client_id}")).await;
        assert_eq!(listed.iter().map(|r| r["id"].as_i64().unwrap()).collect::<Vec<_>>(), [id]);
        server.stop().await;
        db
    })
    .await;
}

#[tokio::test]
async fn a_failure_on_the_test_ring_halts_the_rollout_and_promotion_without_soak_needs_a_reason() {
    each_backend_at_once(|db| async move {
        let server = Server::start(&db).await;
        let (client_id, token) = server.client_with_token("acme", 2).await;
        let (test_host, test_agent) = host(&server, &token, "acme-test").await;
        let (prod_host, _) = host(&server, &token, "acme-prod").await;
        set_ring(&server, test_host, "test").await;
        set_ring(&server, prod_host, "production").await;

        // A regular rollout waits for the hosts' maintenance window.
        let new = json!({ "client_id": client_id, "name": "kernel", "packages": ["linux-image-amd64"] });
        let failing: Value = server.admin.post_ok("/api/v1/rollouts", &new).await;
        let failing_id = failing["id"].as_i64().unwrap();
        assert_eq!(failing["rings"][0]["soak_secs"], 86_400, "a regular rollout soaks a day");
        tokio::time::sleep(std::time::Duration::from_secs(11)).await;
        assert!(jobs(&server, test_host).await.is_empty(), "no patching outside a maintenance window");
        let start = crate::harness::now().to_zoned(jiff::tz::TimeZone::UTC).datetime().to_string();
        let window = json!({ "client_id": client_id, "title": "patch night", "start": start, "time_zone": "UTC",
                             "duration_minutes": 120, "notice_days": 0 });
        let _: Value = server.admin.post_ok("/api/v1/maintenance", &window).await;

        // The update fails on the test host: halted, one ticket, production untouched.
        run_job(&test_agent, false, "E: dpkg was interrupted").await;
        let halted = rollout_when(&server, failing_id, "the rollout halted", |r| r["status"] == "halted").await;
        let reason = halted["halt_reason"].as_str().unwrap();
        assert!(reason.contains(&format!("failed on host {test_host}")) && reason.contains("dpkg"), "{reason}");
        assert_eq!(halted["rings"][0]["hosts"][0]["state"], "failed", "{halted}");
        let ticket_id = halted["ticket_id"].as_i64().expect("a ticket is opened");
        let tickets: Vec<Value> = server.admin.get_ok("/api/v1/tickets").await;
        let ticket = tickets.iter().find(|t| t["id"] == ticket_id).expect("the ticket is listed");
        assert_eq!(ticket["kind"], "incident", "{ticket}");
        assert!(ticket["subject"].as_str().unwrap().contains("Rollout kernel halted"), "{ticket}");
        assert!(jobs(&server, prod_host).await.is_empty(), "production never gets a job");
        // A halted rollout is not resumed by a promotion.
        let refused =
            server.admin.post(&format!("/api/v1/rollouts/{failing_id}/promote"), &json!({"reason": "go"})).await;
        assert_eq!(refused.status, 422, "{}", refused.body);

        // A soaking ring is cut short only with a reason, which is audited.
        let new = json!({ "client_id": client_id, "name": "curl", "packages": ["curl"], "soak_secs": 3600 });
        let soaking: Value = server.admin.post_ok("/api/v1/rollouts", &new).await;
        let id = soaking["id"].as_i64().unwrap();
        run_job(&test_agent, true, "curl upgraded").await;
        rollout_when(&server, id, "the test ring soaking", |r| r["next"].as_str().unwrap().contains("soaks until"))
            .await;
        let path = format!("/api/v1/rollouts/{id}/promote");
        for body in [json!({}), json!({ "reason": "  " })] {
            let answer = server.admin.post(&path, &body).await;
            assert_eq!((answer.status, answer.problem().field.as_deref()), (422, Some("reason")), "{}", answer.body);
        }
        assert!(jobs(&server, prod_host).await.is_empty());
        let why = "the customer asked for it tonight; tested by hand";
        let promoted: Value = server.admin.post_ok(&path, &json!({ "reason": why })).await;
        assert_eq!(promoted["rings"][1]["promoted_without_soak"], why, "{promoted}");
        assert_eq!(promoted["rings"][1]["hosts"][0]["state"], "queued", "{promoted}");
        assert_eq!(jobs(&server, prod_host).await.len(), 1);
        let audit = server.store.audit_entries(Scope::System, None, 100).await.unwrap();
        let entry = audit.iter().find(|e| e.action == "rollout.promote_without_soak").expect("audited");
        assert_eq!((entry.outcome.as_str(), entry.client_id), ("allowed", Some(client_id)));
        assert!(entry.detail.contains(why), "{}", entry.detail);
        server.stop().await;
        db
    })
    .await;
}

/// A message as the SMTP server received it, its quoted-printable body decoded (soft line
/// breaks joined, `=XX` bytes back to UTF-8), so that the test reads what the contact reads.
fn decoded(mail: &str) -> String {
    let joined = mail.replace("=\r\n", "").replace("=\n", "");
    let mut bytes = Vec::with_capacity(joined.len());
    let mut rest = joined.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        let hex = tail.get(..2).and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match (byte, hex) {
            (b'=', Some(value)) => {
                bytes.push(value);
                rest = &tail[2..];
            }
            _ => {
                bytes.push(byte);
                rest = tail;
            }
        }
    }
    String::from_utf8_lossy(&bytes).replace("\r\n", "\n")
}

/// Plays the agent: takes the host's next update job and reports it done with `changes`.
async fn apply_with_changes(agent: &Api, changes: Value) {
    let job = take_job(agent, "apply_updates").await;
    let result = json!({ "ok": true, "exit_code": 0, "output": "upgraded", "changes": changes });
    let reported = agent.post(&format!("/api/agent/v1/jobs/{}/result", job["id"]), &result).await;
    assert_eq!(reported.status, 204, "{}", reported.body);
    report_inventory(agent, false, None).await;
}

#[tokio::test]
async fn the_clients_contacts_are_told_what_changed_on_which_host_after_each_ring() {
    let Some(smtp) = crate::monitoring::SmtpSink::start() else { return };
    let smtp = &smtp;
    each_backend_at_once(|db| async move {
        let server = Server::start_with(&db, |config| {
            config.notifications.smtp_host = "127.0.0.1".into();
            config.notifications.smtp_port = smtp.port;
            config.notifications.smtp_starttls = false;
        })
        .await;
        let (client_id, token) = server.client_with_token("acme", 2).await;
        let (other_id, _) = server.client_with_token("globex", 1).await;
        // Both backends share the SMTP server: each has its own contact.
        let email = format!("ada-{:?}@acme.test", db.backend).to_lowercase();
        let contact = json!({ "name": "Ada Lovelace", "email": email });
        let _: Value = server.admin.post_ok(&format!("/api/v1/clients/{client_id}/contacts"), &contact).await;
        let quiet = json!({ "name": "Quiet", "email": "quiet@acme.test", "maintenance_notices": false });
        let _: Value = server.admin.post_ok(&format!("/api/v1/clients/{client_id}/contacts"), &quiet).await;
        let (test_host, test_agent) = host(&server, &token, "acme-test").await;
        let (prod_host, prod_agent) = host(&server, &token, "acme-prod").await;
        set_ring(&server, test_host, "test").await;
        set_ring(&server, prod_host, "production").await;

        let new = json!({ "client_id": client_id, "name": "pkg 2.0", "packages": ["pkg"], "urgency": "emergency",
            "soak_secs": 1 });
        let created: Value = server.admin.post_ok("/api/v1/rollouts", &new).await;
        let id = created["id"].as_i64().unwrap();
        let changes = json!([{ "package": "pkg", "from": "1.0", "to": "2.0" }]);
        apply_with_changes(&test_agent, changes).await;
        let mail_about = |ring: &'static str| {
            let email = email.clone();
            async move {
                eventually(PASSES, &format!("the summary of ring {ring}"), || async {
                    let mails = smtp.messages().into_iter().map(|m| decoded(&m));
                    mails
                        .filter(|m| m.contains(&email))
                        .find(|m| m.contains(&format!("Updates applied to ring {ring}")))
                })
                .await
            }
        };
        let first = mail_about("test").await;
        assert!(first.contains("Hello Ada Lovelace,"), "{first}");
        assert!(first.contains("acme-test (") && first.contains("pkg 1.0 → 2.0"), "{first}");
        assert!(first.contains("emergency") && first.contains(" UTC"), "{first}");
        assert!(!first.contains("acme-prod"), "production is not patched yet: {first}");

        eventually(PASSES, "production's job", || async { (!jobs(&server, prod_host).await.is_empty()).then_some(()) })
            .await;
        apply_with_changes(&prod_agent, json!([])).await;
        let second = mail_about("production").await;
        assert!(second.contains("acme-prod (") && second.contains("already up to date"), "{second}");
        assert!(!second.contains("acme-test"), "{second}");

        let path = format!("/api/v1/rollouts/{id}/summaries");
        let summaries: Vec<Value> = eventually(PASSES, "both summaries recorded as sent", || async {
            let summaries: Vec<Value> = server.admin.get_ok(&path).await;
            summaries.iter().all(|s| s["status"] == "sent").then_some(summaries)
        })
        .await;
        let told: Vec<(&str, &str)> =
            summaries.iter().map(|s| (s["ring"].as_str().unwrap(), s["contact_email"].as_str().unwrap())).collect();
        assert_eq!(told, [("test", email.as_str()), ("production", email.as_str())], "only who takes maintenance mail");
        assert!(summaries[0]["body"].as_str().unwrap().contains("pkg 1.0 → 2.0"), "{summaries:?}");
        assert_eq!(summaries[0]["attempts"], 1);

        // The client's own users read them; another client's users do not learn they exist.
        let customer = |name: &'static str, client: i64| {
            let server = &server;
            async move {
                let user = json!({ "username": name, "password": crate::harness::ADMIN_PASSWORD,
                    "role": "client_user", "client_id": client });
                let _: Value = server.admin.post_ok("/api/v1/users", &user).await;
                Api::login(&server.url, name, crate::harness::ADMIN_PASSWORD).await
            }
        };
        let theirs: Vec<Value> = customer("acme-it", client_id).await.get_ok(&path).await;
        assert_eq!(theirs.len(), 2);
        assert_eq!(customer("globex-it", other_id).await.get(&path).await.status, 404);
        server.stop().await;
        db
    })
    .await;
}
