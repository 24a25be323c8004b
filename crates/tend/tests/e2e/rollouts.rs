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
async fn host(server: &Server, token: &str, hostname: &str) -> (i64, Api) {
    let hash = tend_server::auth::hash_secret(token);
    let credential = format!("cred-{hostname}");
    let stored = tend_server::auth::hash_secret(&credential);
    let enrolled = server.store.enroll_agent(&hash, hostname, None, &stored, now()).await.unwrap();
    (enrolled.host_id, Api::anonymous(&server.url).with_token(&credential))
}

async fn set_ring(server: &Server, host_id: i64, ring: &str) {
    let body = serde_json::to_vec(&json!({ "ring": ring })).unwrap();
    let answer = server.admin.request(reqwest::Method::PUT, &format!("/api/v1/hosts/{host_id}/ring"), Some(body)).await;
    assert_eq!((answer.status, &answer.body["ring"]), (200, &json!(ring)), "{}", answer.body);
}

async fn jobs(server: &Server, host_id: i64) -> Vec<Value> {
    let body: Value = server.admin.get_ok(&format!("/api/v1/hosts/{host_id}/jobs")).await;
    body.as_array().cloned().unwrap_or_default()
}

/// Plays the agent: takes the host's next job and reports it.
async fn run_job(agent: &Api, ok: bool, output: &str) -> Value {
    let answer = agent.get("/api/agent/v1/jobs/next?wait=25").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let job = answer.body;
    assert_eq!(job["kind"], "apply_updates", "{job}");
    let result = json!({ "ok": ok, "exit_code": if ok { 0 } else { 100 }, "output": output });
    let reported = agent.post(&format!("/api/agent/v1/jobs/{}/result", job["id"]), &result).await;
    assert_eq!(reported.status, 204, "{}", reported.body);
    job
}

async fn rollout(server: &Server, id: i64) -> Value {
    server.admin.get_ok(&format!("/api/v1/rollouts/{id}")).await
}

/// Waits until the rollout satisfies `done`.
async fn rollout_when(server: &Server, id: i64, what: &str, done: impl Fn(&Value) -> bool) -> Value {
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
