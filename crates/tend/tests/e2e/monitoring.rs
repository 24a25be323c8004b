//! The monitoring engine end to end: reports through the agent endpoint become alerts; alerts
//! become webhook notifications received by a real HTTP listener; a maintenance window keeps
//! them from people but not from the history; a flapping check makes one alert, not a storm.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tend_proto::REPORT_SCHEMA_VERSION;

use crate::harness::{Api, Server, each_backend, eventually, now};

/// A real HTTP listener that keeps what is posted to it.
async fn webhook_receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

/// The events (`firing`, `resolved`, …) of every notification received so far.
fn events(received: &Mutex<Vec<Value>>) -> Vec<String> {
    received
        .lock()
        .unwrap()
        .iter()
        .flat_map(|batch| batch["notifications"].as_array().cloned().unwrap_or_default())
        .map(|n| format!("{}:{}", n["event"].as_str().unwrap_or("?"), n["check"].as_str().unwrap_or("?")))
        .collect()
}

/// A report whose root filesystem is `percent` full.
fn disk_report(seq: u64, percent: f64) -> Value {
    let labels = json!({ "mountpoint": "/", "device": "/dev/sda1", "fstype": "ext4" });
    json!({ "reports": [{
        "seq": seq, "collected_at_ms": now().as_millisecond(), "schema_version": REPORT_SCHEMA_VERSION,
        "sections": { "metrics": [
            { "name": "fs_used_bytes", "labels": labels, "value": percent },
            { "name": "fs_avail_bytes", "labels": labels, "value": 100.0 - percent },
            { "name": "fs_total_bytes", "labels": labels, "value": 100.0 },
        ]}
    }]})
}

#[tokio::test]
async fn problems_notify_once_resolve_and_respect_maintenance_and_flapping() {
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let (hook, received) = webhook_receiver().await;
        let (client_id, token) = server.client_with_token("acme", 1).await;
        let credential = "tnd_a_monitoring-test";
        let hash = tend_server::auth::hash_secret(&token);
        let enrolled = server
            .store
            .enroll_agent(&hash, "db1", None, &tend_server::auth::hash_secret(credential), now())
            .await
            .unwrap();
        let agent = Api::anonymous(&server.url).with_token(credential);
        let channel = json!({ "client_id": client_id, "kind": "webhook", "target": hook });
        let _: Value = server.admin.post_ok("/api/v1/notification-channels", &channel).await;
        // No waiting before firing, so the test need not sleep through the default five minutes.
        let fast = json!({ "layer": "client", "settings": { "pending_for_secs": 0 } });
        let path = format!("/api/v1/hosts/{}/checks/disk_usage", enrolled.host_id);
        let explained = server.admin.request(reqwest::Method::PUT, &path, Some(fast.to_string().into_bytes())).await;
        assert_eq!(explained.status, 200, "{}", explained.body);
        assert!(explained.body["explanation"].as_str().unwrap().contains("client"), "{}", explained.body);

        let mut seq = 0;
        let mut report = |percent: f64| {
            seq += 1;
            let agent = agent.clone();
            let body = disk_report(seq, percent);
            async move { assert_eq!(agent.post("/api/agent/v1/report", &body).await.status, 200) }
        };

        report(50.0).await;
        report(97.0).await;
        eventually(Duration::from_secs(10), "a firing notification", || async {
            (events(&received) == ["firing:disk_usage"]).then_some(())
        })
        .await;
        let open: Vec<Value> = server.admin.get_ok("/api/v1/alerts").await;
        assert_eq!(open.len(), 1);
        assert_eq!((open[0]["state"].as_str(), open[0]["severity"].as_str()), (Some("firing"), Some("critical")));
        let alert_id = open[0]["id"].as_i64().unwrap();

        let ack = json!({ "comment": "cleaning up logs", "until": "2h" });
        let acked: Value = server.admin.post_ok(&format!("/api/v1/alerts/{alert_id}/ack"), &ack).await;
        assert_eq!(acked["acknowledgement"], "cleaning up logs");

        report(97.0).await;
        report(40.0).await;
        eventually(Duration::from_secs(10), "a resolved notification", || async {
            (events(&received) == ["firing:disk_usage", "resolved:disk_usage"]).then_some(())
        })
        .await;
        let open: Vec<Value> = server.admin.get_ok("/api/v1/alerts").await;
        assert!(open.is_empty(), "{open:?}");

        // Planned work: the problem is recorded, nobody is woken.
        let window = json!({
            "client_id": client_id, "title": "disk replacement", "start": now().to_zoned(jiff::tz::TimeZone::UTC).datetime().to_string(),
            "time_zone": "UTC", "duration_minutes": 60,
        });
        let created: Value = server.admin.post_ok("/api/v1/maintenance", &window).await;
        assert_eq!(created["active"], true, "{created}");
        report(98.0).await;
        let firing = eventually(Duration::from_secs(10), "the alert recorded", || async {
            let open: Vec<Value> = server.admin.get_ok("/api/v1/alerts").await;
            open.into_iter().find(|a| a["state"] == "firing")
        })
        .await;
        let detail: Value = server.admin.get_ok(&format!("/api/v1/alerts/{}", firing["id"])).await;
        let history = detail["history"].as_array().unwrap();
        let last = history.last().unwrap();
        assert_eq!((last["event"].as_str(), last["notified"].as_bool()), (Some("firing"), Some(false)), "{detail}");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(events(&received).len(), 2, "nothing sent during maintenance");
        let end = server.admin.post(&format!("/api/v1/maintenance/{}/end", created["id"]), &()).await;
        assert_eq!(end.status, 204);

        // A check that toggles every report: one flapping notice, not a storm.
        report(40.0).await;
        for _ in 0..5 {
            report(97.0).await;
            report(40.0).await;
        }
        eventually(Duration::from_secs(10), "a flapping notification", || async {
            events(&received).iter().any(|e| e == "flapping_started:disk_usage").then_some(())
        })
        .await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let all = events(&received);
        let firing = all.iter().filter(|e| e.starts_with("firing")).count();
        assert!(firing <= 3, "a flapping check must not page on every change: {all:?}");
        assert_eq!(all.iter().filter(|e| e.starts_with("flapping_started")).count(), 1, "{all:?}");
        server.stop().await;
        db
    })
    .await;
}
