//! API conventions: problem documents, limits, pagination, health, metrics, OpenAPI.

use serde_json::json;
use tend_proto::REPORT_SCHEMA_VERSION;
use tend_proto::api::{Client, Page};

use crate::harness::{Api, Server, each_backend, now};

/// An enrolled agent's API handle, made through the store.
async fn agent(server: &Server) -> (Api, i64) {
    let (_, token) = server.client_with_token("acme", 1).await;
    let hash = tend_server::auth::hash_secret(&token);
    let credential = "tnd_a_test-credential";
    let enrolled = server
        .store
        .enroll_agent(&hash, "srv", None, &tend_server::auth::hash_secret(credential), now())
        .await
        .unwrap();
    (Api::anonymous(&server.url).with_token(credential), enrolled.host_id)
}

fn report(seq: u64) -> serde_json::Value {
    json!({ "reports": [{
        "seq": seq, "collected_at_ms": now().as_millisecond(), "schema_version": REPORT_SCHEMA_VERSION,
        "sections": { "metrics": [{ "name": "load1", "value": 0.5 }] }
    }]})
}

#[tokio::test]
async fn bad_reports_are_refused_with_problems_and_write_nothing() {
    each_backend(|db| async move {
        let server = Server::start_with(&db, |c| c.http.max_report_bytes = 64 * 1024).await;
        let (agent, host_id) = agent(&server).await;

        let garbled = agent.request(reqwest::Method::POST, "/api/agent/v1/report", Some(b"{\"reports\": [".to_vec())).await;
        assert_eq!(garbled.status, 400);
        assert!(garbled.problem().detail.contains("JSON"), "{}", garbled.body);

        let huge = vec![b' '; 65 * 1024];
        let oversized = agent.request(reqwest::Method::POST, "/api/agent/v1/report", Some(huge)).await;
        assert_eq!(oversized.status, 413);
        oversized.problem();

        let mut future = report(1);
        future["reports"][0]["schema_version"] = json!(REPORT_SCHEMA_VERSION + 1);
        let answer = agent.post("/api/agent/v1/report", &future).await;
        assert_eq!((answer.status, answer.problem().field.as_deref()), (422, Some("schema_version")));

        // Half good, half bad: nothing of it is stored.
        let mut mixed = report(1);
        let bad = json!({ "seq": 2, "collected_at_ms": 0, "schema_version": 1, "sections": { "metrics": [{ "name": "", "value": 1 }] } });
        mixed["reports"].as_array_mut().unwrap().push(bad);
        assert_eq!(agent.post("/api/agent/v1/report", &mixed).await.status, 422);

        let host: serde_json::Value = server.admin.get_ok(&format!("/api/v1/hosts/{host_id}")).await;
        assert_eq!(host["status"], "pending", "nothing was stored: {host}");
        assert_eq!(host["latest"], json!([]));

        let unknown = Api::anonymous(&server.url).with_token("tnd_a_unknown");
        assert_eq!(unknown.post("/api/agent/v1/report", &report(1)).await.problem().status, 401);

        let ack = agent.post("/api/agent/v1/report", &report(1)).await;
        assert_eq!((ack.status, ack.body["acknowledged_seq"].as_u64()), (200, Some(1)));
        let replay = agent.post("/api/agent/v1/report", &report(1)).await;
        assert_eq!((replay.body["acknowledged_seq"].as_u64(), replay.body["duplicates"].as_u64()), (Some(1), Some(1)));
        server.stop().await;
        db
    })
    .await;
}

#[tokio::test]
async fn errors_are_problem_documents_and_lists_paginate() {
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let anonymous = Api::anonymous(&server.url);
        assert_eq!(anonymous.get("/api/v1/hosts").await.problem().status, 401);
        assert_eq!(anonymous.get("/api/v1/nowhere").await.problem().status, 404);
        let wrong = json!({ "username": "admin", "password": "wrong" });
        assert_eq!(anonymous.post("/api/v1/auth/login", &wrong).await.problem().status, 401);
        assert_eq!(server.admin.get("/api/v1/hosts/not-a-number").await.problem().status, 404);
        assert_eq!(server.admin.get("/api/v1/hosts?limit=0").await.problem().field.as_deref(), Some("limit"));
        let blank = server.admin.post("/api/v1/clients", &json!({ "name": "  " })).await;
        assert_eq!((blank.status, blank.problem().field.as_deref()), (422, Some("name")));
        let missing = server.admin.post("/api/v1/clients", &json!({ "nom": "x" })).await;
        assert_eq!(missing.problem().status, 422);

        for name in ["a", "b", "c"] {
            let _: Client = server.admin.post_ok("/api/v1/clients", &json!({ "name": name })).await;
        }
        assert_eq!(server.admin.post("/api/v1/clients", &json!({ "name": "a" })).await.problem().status, 409);
        let first: Page<Client> = server.admin.get_ok("/api/v1/clients?limit=2").await;
        assert_eq!(first.items.len(), 2);
        let next = first.next_cursor.expect("a second page");
        let second: Page<Client> = server.admin.get_ok(&format!("/api/v1/clients?limit=2&after={next}")).await;
        assert_eq!((second.items.len(), second.next_cursor), (1, None));
        assert_eq!(second.items[0].name, "c");

        let revoked = server.admin.post("/api/v1/auth/logout", &()).await;
        assert_eq!(revoked.status, 204);
        assert_eq!(server.admin.get("/api/v1/me").await.status, 401, "a revoked token is dead");
        server.stop().await;
        db
    })
    .await;
}

#[tokio::test]
async fn health_metrics_and_an_openapi_document_that_matches_the_routes() {
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let health = server.admin.get("/healthz").await;
        assert_eq!((health.status, health.body["status"].as_str()), (200, Some("ok")));
        let (agent, _) = agent(&server).await;
        assert_eq!(agent.post("/api/agent/v1/report", &report(1)).await.status, 200);
        let metrics = reqwest::get(format!("{}/metrics", server.url)).await.unwrap().text().await.unwrap();
        assert!(metrics.contains("tend_reports_ingested_total 1"), "{metrics}");
        assert!(metrics.contains("tend_db_seconds_count{operation=\"ingest\"} 1"), "{metrics}");

        let doc = server.admin.get("/api/v1/openapi.json").await.body;
        let paths = doc["paths"].as_object().expect("paths");
        assert!(paths.len() >= 15, "{}", paths.len());
        for (path, operations) in paths {
            for method in operations.as_object().unwrap().keys() {
                let concrete = path.replace("{id}", "1");
                let method: reqwest::Method = method.to_uppercase().parse().unwrap();
                let answer = server.admin.request(method.clone(), &concrete, Some(b"{}".to_vec())).await;
                let unrouted = answer.status == 405
                    || (answer.status == 404
                        && answer.body["detail"].as_str().is_some_and(|d| d.starts_with("no such resource")));
                assert!(!unrouted, "{method} {path} is documented but not routed: {}", answer.body);
                assert!(answer.status < 500, "{method} {path}: {}", answer.body);
            }
        }
        let committed = include_str!("../../../../docs/openapi.json");
        let generated = serde_json::to_string_pretty(&tend_server::openapi()).unwrap() + "\n";
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json"), &generated).unwrap();
        } else {
            assert!(committed == generated, "docs/openapi.json is stale: run the tests with UPDATE_SNAPSHOTS=1");
        }
        server.stop().await;
        db
    })
    .await;
}
