//! After the update, against the real server with the agents' side played through the agent
//! API (a reboot cannot happen on the test machine, so the agent's report after it is played
//! too): the post-update health gate halts a rollout whose host stays silent and opens a ticket;
//! a host that needs a reboot is rebooted where an authorization allows it and must come back
//! with a later boot time before production starts; under the `ask` policy a ticket asks the
//! customer instead and the host is not rebooted.

use serde_json::{Value, json};
use tend_store::Scope;

use crate::harness::{Server, each_backend_at_once, now};
use crate::rollouts::{host, jobs, report_inventory, rollout, rollout_when, set_ring, take_job};

/// Stores a patch policy of the client, or of one of its hosts.
async fn set_policy(server: &Server, client_id: i64, host_id: Option<i64>, policy: Value) {
    let body = json!({ "host_id": host_id, "policy": policy });
    let path = format!("/api/v1/clients/{client_id}/patch-policy");
    let answer = server.admin.request(reqwest::Method::PUT, &path, Some(body.to_string().into_bytes())).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

/// A client with a test and a production host in their rings.
async fn two_rings(server: &Server) -> (i64, (i64, crate::harness::Api), (i64, crate::harness::Api)) {
    let (client_id, token) = server.client_with_token("acme", 2).await;
    let test = host(server, &token, "acme-test").await;
    let prod = host(server, &token, "acme-prod").await;
    set_ring(server, test.0, "test").await;
    set_ring(server, prod.0, "production").await;
    (client_id, test, prod)
}

async fn emergency(server: &Server, client_id: i64, name: &str) -> i64 {
    let new = json!({ "client_id": client_id, "name": name, "packages": ["openssl"], "urgency": "emergency",
        "soak_secs": 1 });
    let created: Value = server.admin.post_ok("/api/v1/rollouts", &new).await;
    created["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_host_silent_after_its_update_fails_the_health_gate_which_halts_the_rollout() {
    each_backend_at_once(|db| async move {
        let server = Server::start(&db).await;
        let (client_id, (test_host, test_agent), (prod_host, _)) = two_rings(&server).await;
        set_policy(&server, client_id, None, json!({ "health_gate_secs": 3 })).await;
        let id = emergency(&server, client_id, "openssl DSA-5678-1").await;

        // The update succeeds, but the host never reports again.
        let job = take_job(&test_agent, "apply_updates").await;
        let result = json!({ "ok": true, "exit_code": 0, "output": "openssl upgraded" });
        let reported = test_agent.post(&format!("/api/agent/v1/jobs/{}/result", job["id"]), &result).await;
        assert_eq!(reported.status, 204, "{}", reported.body);
        assert_eq!(rollout(&server, id).await["rings"][0]["hosts"][0]["state"], "verifying");

        let halted = rollout_when(&server, id, "the rollout halted", |r| r["status"] == "halted").await;
        let reason = halted["halt_reason"].as_str().unwrap();
        assert!(reason.contains("post-update health gate closed after 3s"), "{reason}");
        assert!(reason.contains("has not reported since"), "{reason}");
        assert_eq!(halted["rings"][0]["hosts"][0]["state"], "failed", "{halted}");
        let ticket_id = halted["ticket_id"].as_i64().expect("a ticket is opened");
        let ticket: Value = server.admin.get_ok(&format!("/api/v1/tickets/{ticket_id}")).await;
        assert!(ticket.to_string().contains("health gate"), "{ticket}");
        assert!(jobs(&server, prod_host).await.is_empty(), "production never gets a job");
        assert_eq!(jobs(&server, test_host).await.len(), 1);
        server.stop().await;
        db
    })
    .await;
}

#[tokio::test]
async fn a_reboot_runs_where_authorized_and_the_host_must_come_back_else_a_ticket_asks() {
    each_backend_at_once(|db| async move {
        let server = Server::start(&db).await;
        let (client_id, (test_host, test_agent), (prod_host, prod_agent)) = two_rings(&server).await;
        set_policy(&server, client_id, None, json!({ "health_gate_secs": 120 })).await;
        set_policy(&server, client_id, Some(prod_host), json!({ "reboot": "ask" })).await;
        // The contract allows reboots of the test host at any time.
        let path = format!("/api/v1/clients/{client_id}/contract");
        let mut contract: Value = server.admin.get_ok(&path).await;
        contract["standing_authorizations"] = json!([{ "host_id": test_host, "actions": ["reboot"] }]);
        let answer = server.admin.request(reqwest::Method::PUT, &path, Some(contract.to_string().into_bytes())).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let id = emergency(&server, client_id, "linux DSA-5700-1").await;

        // The update asks for a reboot: the server queues it, the host must come back after it.
        let booted_before = now() - jiff::SignedDuration::from_hours(240);
        let job = take_job(&test_agent, "apply_updates").await;
        let result = json!({ "ok": true, "exit_code": 0, "output": "linux-image upgraded" });
        let reported = test_agent.post(&format!("/api/agent/v1/jobs/{}/result", job["id"]), &result).await;
        assert_eq!(reported.status, 204, "{}", reported.body);
        report_inventory(&test_agent, true, Some(("acme-test", booted_before))).await;
        let reboot = take_job(&test_agent, "reboot").await;
        let seen = rollout(&server, id).await;
        assert_eq!(seen["rings"][0]["hosts"][0]["state"], "rebooting", "{seen}");
        let done = json!({ "ok": true, "exit_code": 0, "output": "rebooting" });
        let reported = test_agent.post(&format!("/api/agent/v1/jobs/{}/result", reboot["id"]), &done).await;
        assert_eq!(reported.status, 204, "{}", reported.body);
        // Back, but with the old boot time: not yet.
        report_inventory(&test_agent, false, Some(("acme-test", booted_before))).await;
        tokio::time::sleep(std::time::Duration::from_secs(11)).await;
        assert_eq!(rollout(&server, id).await["rings"][0]["hosts"][0]["state"], "verifying");
        assert!(jobs(&server, prod_host).await.is_empty(), "production waits for the test host to come back");
        report_inventory(&test_agent, false, Some(("acme-test", now()))).await;
        rollout_when(&server, id, "production started", |r| r["rings"][1]["hosts"][0]["state"] != "pending").await;
        let audit = server.store.audit_entries(Scope::System, None, 200).await.unwrap();
        let queued =
            audit.iter().find(|e| e.action == "job.reboot" && e.outcome == "allowed").expect("the reboot is audited");
        assert_eq!(queued.host_id, Some(test_host));
        assert!(queued.detail.contains("reboot after its updates, allowed by"), "{}", queued.detail);

        // Production asks: a ticket, no reboot, and the rollout completes.
        let job = take_job(&prod_agent, "apply_updates").await;
        let reported = prod_agent.post(&format!("/api/agent/v1/jobs/{}/result", job["id"]), &result).await;
        assert_eq!(reported.status, 204, "{}", reported.body);
        report_inventory(&prod_agent, true, Some(("acme-prod", booted_before))).await;
        let finished = rollout_when(&server, id, "the rollout done", |r| r["status"] == "done").await;
        let ticket_id = finished["reboot_ticket_id"].as_i64().expect("a ticket asks for the reboot");
        let ticket: Value = server.admin.get_ok(&format!("/api/v1/tickets/{ticket_id}")).await;
        assert!(ticket.to_string().contains("Reboot needed after updates"), "{ticket}");
        assert_eq!(ticket["ticket"]["host_ids"], json!([prod_host]), "{ticket}");
        let prod_jobs = jobs(&server, prod_host).await;
        assert!(prod_jobs.iter().all(|job| job["kind"] == "apply_updates"), "{prod_jobs:?}");
        server.stop().await;
        db
    })
    .await;
}
