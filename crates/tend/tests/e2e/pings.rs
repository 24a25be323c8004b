//! Heartbeat pings end to end: a check's secret URL pinged as a cron job would (start, success
//! with its log, an exit status), the alerts a failure and silence raise, and who may see it.

use std::time::Duration;

use serde_json::json;
use tend_proto::api::Alert;
use tend_proto::pings::{Ping, PingCheck};

use crate::harness::{Api, Server, each_backend_at_once, eventually};

/// The open `ping` alert of the check named `name`, if any, as (state, severity).
async fn ping_alert(admin: &Api, name: &str) -> Option<(String, Option<String>)> {
    let alerts: Vec<Alert> = admin.get_ok("/api/v1/alerts").await;
    alerts.into_iter().find(|a| a.check == "ping" && a.target == name).map(|a| (a.state, a.severity))
}

#[tokio::test]
async fn pings_fire_on_failure_resolve_on_success_and_warn_when_late() {
    each_backend_at_once(|db| async move {
        let server = Server::start(&db).await;
        let (client_id, _) = server.client_with_token("acme", 1).await;
        let body = json!({ "client_id": client_id, "name": "nightly", "period_secs": 2, "grace_secs": 1 });
        let check: PingCheck = server.admin.post_ok("/api/v1/ping-checks", &body).await;
        let url = check.ping_url.clone().expect("the URL is shown on creation");
        let token = url.rsplit('/').next().unwrap().to_owned();
        assert_eq!(check.status, "new");

        // Only the secret's hash is stored: the token itself finds nothing.
        assert!(server.store.ping_check_by_token(&token).await.unwrap().is_none());
        let by_hash = server.store.ping_check_by_token(&tend_server::auth::hash_secret(&token)).await.unwrap();
        assert_eq!(by_hash.map(|c| c.id), Some(check.id));
        let listed: Vec<PingCheck> = server.admin.get_ok(&format!("/api/v1/ping-checks?client={client_id}")).await;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].ping_url, None, "the URL is shown once");

        let http = reqwest::Client::new();
        let start = http.get(format!("{url}/start")).send().await.unwrap();
        assert_eq!(start.status(), 200);
        let success = http.post(&url).body("dumped 3 databases").send().await.unwrap();
        assert_eq!(success.status(), 200);
        let failed = http.post(format!("{url}/1")).body("pg_dump: connection refused").send().await.unwrap();
        assert_eq!(failed.status(), 200);
        assert_eq!(
            ping_alert(&server.admin, "nightly").await,
            Some(("firing".into(), Some("critical".into()))),
            "a non-zero exit status is critical at once"
        );
        let pings: Vec<Ping> = server.admin.get_ok(&format!("/api/v1/ping-checks/{}/pings", check.id)).await;
        let kinds: Vec<_> = pings.iter().map(|p| (p.kind.as_str(), p.exit_status)).collect();
        assert_eq!(kinds, [("fail", Some(1)), ("success", None), ("start", None)]);
        assert_eq!(pings[1].body, "dumped 3 databases");

        assert_eq!(http.get(format!("{url}/0")).send().await.unwrap().status(), 200);
        assert_eq!(ping_alert(&server.admin, "nightly").await, None, "a success resolves it");

        // Silence past period + grace: the scheduler's pass (every 30 s) finds it late.
        eventually(Duration::from_secs(45), "a late warning", || async {
            (ping_alert(&server.admin, "nightly").await == Some(("firing".into(), Some("warning".into()))))
                .then_some(())
        })
        .await;

        let too_big = http.post(&url).body(vec![b'x'; 10 * 1024 + 1]).send().await.unwrap();
        assert_eq!(too_big.status(), 413);
        let unknown = Api::anonymous(&server.url).post("/ping/tnd_p_unknown", &json!({})).await;
        assert_eq!(unknown.status, 404);
        assert_eq!(unknown.problem().status, 404);
        let bad_kind = http.post(format!("{url}/sideways")).send().await.unwrap();
        assert_eq!(bad_kind.status(), 404);

        // Another client's user sees nothing of it.
        let (globex, _) = server.client_with_token("globex", 1).await;
        let spy = json!({ "username": "spy", "password": "a-long-enough-password", "role": "client_user",
            "client_id": globex });
        let _: serde_json::Value = server.admin.post_ok("/api/v1/users", &spy).await;
        let spy = Api::login(&server.url, "spy", "a-long-enough-password").await;
        let seen: Vec<PingCheck> = spy.get_ok("/api/v1/ping-checks").await;
        assert!(seen.is_empty());
        assert_eq!(spy.get(&format!("/api/v1/ping-checks/{}/pings", check.id)).await.status, 404);
        let refused = spy
            .post(
                "/api/v1/ping-checks",
                &json!({ "client_id": globex, "name": "x",
            "period_secs": 60, "grace_secs": 60 }),
            )
            .await;
        assert_eq!(refused.status, 403);

        let path = format!("/api/v1/ping-checks/{}", check.id);
        assert_eq!(server.admin.request(reqwest::Method::DELETE, &path, None).await.status, 204);
        assert_eq!(ping_alert(&server.admin, "nightly").await, None, "a deleted check's alert resolves");
        assert_eq!(http.post(&url).send().await.unwrap().status(), 404);
        server.stop().await;
        db
    })
    .await;
}
