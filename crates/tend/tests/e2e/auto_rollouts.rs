//! Automatic security rollouts against the real server: a client whose patch policy has
//! `auto_security_rollouts` gets an emergency rollout of the vulnerable packages as soon as the
//! advisory is imported, once however often it is imported, audited; a client without the flag
//! gets none.

use serde_json::json;
use tend_proto::api::AuditEntry;
use tend_proto::rollouts::Rollout;

use crate::harness::{Server, each_backend};
use crate::patching::{bookworm_report, import};
use crate::rollouts::{host, jobs, set_ring};

/// A client with one Debian 12 host in the test ring, running the vulnerable openssl with the
/// security update offered, and its policy's flag as given; returns (client id, host id).
async fn vulnerable_client(server: &Server, name: &str, auto: bool) -> (i64, i64) {
    let (client_id, token) = server.client_with_token(name, 1).await;
    let (host_id, agent) = host(server, &token, &format!("{name}-web1")).await;
    let report = bookworm_report("3.0.11-1~deb12u2", Some("3.0.15-1~deb12u1"));
    assert_eq!(agent.post("/api/agent/v1/report", &report).await.status, 200);
    set_ring(server, host_id, "test").await;
    let policy = serde_json::to_vec(&json!({ "policy": { "auto_security_rollouts": auto } })).unwrap();
    let path = format!("/api/v1/clients/{client_id}/patch-policy");
    let answer = server.admin.request(reqwest::Method::PUT, &path, Some(policy)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    (client_id, host_id)
}

async fn rollouts_of(server: &Server, client_id: i64) -> Vec<Rollout> {
    server.admin.get_ok(&format!("/api/v1/rollouts?client={client_id}")).await
}

#[tokio::test]
async fn an_advisory_import_starts_one_emergency_rollout_for_a_client_with_automatic_security_rollouts() {
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let (acme, web1) = vulnerable_client(&server, "acme", true).await;
        let (globex, _) = vulnerable_client(&server, "globex", false).await;

        import(&server).await;
        let [started]: [Rollout; 1] = rollouts_of(&server, acme).await.try_into().unwrap();
        assert_eq!(
            (started.name.as_str(), started.urgency.as_str(), started.status.as_str(), started.created_by),
            ("Security: CVE-2024-99901", "emergency", "running", None)
        );
        assert_eq!(started.packages, ["libssl3", "openssl"]);
        let queued = jobs(&server, web1).await;
        assert_eq!(queued.len(), 1, "{queued:?}");
        assert_eq!((&queued[0]["kind"], &queued[0]["status"]), (&json!("apply_updates"), &json!("queued")));
        assert_eq!(queued[0]["params"]["packages"], json!(["libssl3", "openssl"]));
        // The flag is off for globex: its fix waits for a person.
        assert!(rollouts_of(&server, globex).await.is_empty());

        // The running rollout covers the fix: importing again starts no other.
        import(&server).await;
        assert_eq!(rollouts_of(&server, acme).await.len(), 1);
        assert_eq!(jobs(&server, web1).await.len(), 1);

        let audit: Vec<AuditEntry> = server.admin.get_ok("/api/v1/audit?limit=1000").await;
        let created: Vec<&AuditEntry> = audit.iter().filter(|e| e.action == "rollout.auto_created").collect();
        assert_eq!(created.len(), 1, "{audit:?}");
        let entry = created[0];
        assert_eq!((entry.client_id, entry.actor_id, entry.outcome.as_str()), (Some(acme), None, "allowed"));
        let expected = format!(
            "emergency rollout {} started by the patch policy for advisories CVE-2024-99901: packages libssl3, openssl",
            started.id
        );
        assert_eq!(entry.detail, expected);

        server.stop().await;
        db
    })
    .await;
}
