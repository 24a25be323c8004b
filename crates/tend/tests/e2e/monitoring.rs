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
        // Still failing when the window ends: now people hear of it.
        eventually(Duration::from_secs(15), "the problem announced after the window", || async {
            (events(&received).len() == 3).then_some(())
        })
        .await;
        assert_eq!(events(&received)[2], "firing:disk_usage");

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

/// A real SMTP server (Debian's aiosmtpd) writing what it receives into a Maildir.
pub struct SmtpSink {
    child: std::process::Child,
    pub port: u16,
    maildir: tempfile::TempDir,
}

impl SmtpSink {
    pub fn start() -> Option<SmtpSink> {
        let python = "/usr/bin/python3";
        let available = std::process::Command::new(python).args(["-c", "import aiosmtpd"]).status();
        if !available.is_ok_and(|s| s.success()) {
            eprintln!("SKIP e-mail half: python3-aiosmtpd is not installed");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let maildir = tempfile::tempdir().unwrap();
        let child = std::process::Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("inbox"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        Some(SmtpSink { child, port, maildir })
    }

    /// The text of every message received.
    pub fn messages(&self) -> Vec<String> {
        let mut found = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.maildir.path().join("inbox").join(sub)) else { continue };
            found.extend(entries.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok()));
        }
        found
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A web site the test can stop and start again on the same address.
async fn start_site(listener: std::net::TcpListener) -> tokio::task::JoinHandle<()> {
    listener.set_nonblocking(true).unwrap();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "shop is open" }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() })
}

#[tokio::test]
async fn a_web_site_that_stops_pages_once_by_mail_and_webhook_and_recovers() {
    each_backend(|db| async move {
        let smtp = SmtpSink::start();
        let smtp_port = smtp.as_ref().map_or(0, |s| s.port);
        let server = Server::start_with(&db, |config| {
            config.notifications.smtp_host = "127.0.0.1".into();
            config.notifications.smtp_port = smtp_port;
            config.notifications.smtp_starttls = false;
            config.notifications.from = "tend <tend@provider.test>".into();
        })
        .await;
        let (hook, received) = webhook_receiver().await;
        let client: Value = server.admin.post_ok("/api/v1/clients", &json!({ "name": "shop" })).await;
        let client_id = client["id"].as_i64().unwrap();
        let _: Value = server
            .admin
            .post_ok(
                "/api/v1/notification-channels",
                &json!({ "client_id": client_id, "kind": "webhook", "target": hook }),
            )
            .await;
        if smtp.is_some() {
            let mail = json!({ "client_id": client_id, "kind": "email", "target": "oncall@provider.test" });
            let _: Value = server.admin.post_ok("/api/v1/notification-channels", &mail).await;
        }

        let site = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = site.local_addr().unwrap();
        let running = start_site(site).await;
        let spec = json!({ "kind": "http", "url": format!("http://{address}/"), "body_contains": "open" });
        let probe = json!({ "client_id": client_id, "name": "shop front", "spec": spec, "interval_secs": 10,
                            "timeout_secs": 5, "pending_for_secs": 5 });
        let created: Value = server.admin.post_ok("/api/v1/probes", &probe).await;
        eventually(Duration::from_secs(10), "the first run passing", || async {
            let probes: Vec<Value> = server.admin.get_ok("/api/v1/probes").await;
            (probes[0]["last_outcome"]["ok"] == true).then_some(())
        })
        .await;

        running.abort();
        let _ = running.await;
        let pending = eventually(Duration::from_secs(15), "the alert pending", || async {
            let open: Vec<Value> = server.admin.get_ok("/api/v1/alerts").await;
            open.into_iter().find(|a| a["check"] == "probe" && a["state"] == "pending")
        })
        .await;
        assert_eq!(pending["target"], "shop front");
        eventually(Duration::from_secs(15), "one firing notification", || async {
            (events(&received) == ["firing:probe"]).then_some(())
        })
        .await;

        let site = std::net::TcpListener::bind(address).unwrap();
        let _running = start_site(site).await;
        eventually(Duration::from_secs(30), "the resolved notification", || async {
            (events(&received) == ["firing:probe", "resolved:probe"]).then_some(())
        })
        .await;
        if let Some(smtp) = &smtp {
            let mails = eventually(Duration::from_secs(10), "two e-mails", || async {
                let mails = smtp.messages();
                (mails.len() == 2).then_some(mails)
            })
            .await;
            assert!(mails.iter().any(|m| m.contains("FIRING") && m.contains("shop front")), "{mails:?}");
            assert!(mails.iter().any(|m| m.contains("RESOLVED")), "{mails:?}");
            assert!(mails.iter().all(|m| m.contains("oncall@provider.test")));
        }
        let probes: Vec<Value> = server.admin.get_ok("/api/v1/probes").await;
        assert_eq!(probes[0]["id"], created["id"]);
        server.stop().await;
        db
    })
    .await;
}

/// A client with one host reporting through the agent endpoint; returns (client id, host id,
/// the agent's API).
async fn reporting_host(server: &Server, client: &str, host: &str) -> (i64, i64, Api) {
    let (client_id, token) = server.client_with_token(client, 1).await;
    let credential = format!("tnd_a_{host}-credential");
    let hash = tend_server::auth::hash_secret(&token);
    let enrolled = server
        .store
        .enroll_agent(&hash, host, None, &tend_server::auth::hash_secret(&credential), now())
        .await
        .unwrap();
    (client_id, enrolled.host_id, Api::anonymous(&server.url).with_token(&credential))
}

#[tokio::test]
async fn an_unacknowledged_alert_escalates_to_the_next_support_level_and_respects_sites() {
    each_backend(|db| async move {
        let server = Server::start_with(&db, |config| {
            config.notifications.escalate_after = "2s".into();
            config.notifications.repeat_every = "0s".into();
        })
        .await;
        let (client_id, host_id, agent) = reporting_host(&server, "acme", "db1").await;
        let site: Value =
            server.admin.post_ok(&format!("/api/v1/clients/{client_id}/sites"), &json!({ "name": "lyon" })).await;
        let (l1, l1_heard) = webhook_receiver().await;
        let (l2, l2_heard) = webhook_receiver().await;
        let (lyon, lyon_heard) = webhook_receiver().await;
        for channel in [
            json!({ "client_id": client_id, "kind": "webhook", "target": l1, "support_level": "L1" }),
            json!({ "client_id": client_id, "kind": "webhook", "target": l2, "support_level": "L2" }),
            json!({ "client_id": client_id, "site_id": site["id"], "kind": "webhook", "target": lyon }),
        ] {
            let _: Value = server.admin.post_ok("/api/v1/notification-channels", &channel).await;
        }
        let foreign = json!({ "client_id": client_id + 1000, "site_id": site["id"], "kind": "webhook", "target": l1 });
        assert_eq!(server.admin.post("/api/v1/notification-channels", &foreign).await.status, 404);
        let fast = json!({ "layer": "host", "settings": { "pending_for_secs": 0 } });
        let path = format!("/api/v1/hosts/{host_id}/checks/disk_usage");
        assert_eq!(
            server.admin.request(reqwest::Method::PUT, &path, Some(fast.to_string().into_bytes())).await.status,
            200
        );

        assert_eq!(agent.post("/api/agent/v1/report", &disk_report(1, 97.0)).await.status, 200);
        eventually(Duration::from_secs(10), "L1 told", || async {
            (events(&l1_heard) == ["firing:disk_usage"]).then_some(())
        })
        .await;
        // Nobody acknowledges: after two seconds (and the next pass) L2 is brought in, once.
        eventually(Duration::from_secs(20), "L2 told", || async {
            (events(&l2_heard) == ["escalated_to_l2:disk_usage"]).then_some(())
        })
        .await;
        let open: Vec<Value> = server.admin.get_ok("/api/v1/alerts").await;
        assert_eq!(open[0]["escalated_to"], "L2", "{open:?}");
        tokio::time::sleep(Duration::from_secs(11)).await;
        assert_eq!(events(&l1_heard), ["firing:disk_usage"], "no reminders when they are off");
        assert_eq!(events(&l2_heard).len(), 1, "escalation happens once");
        assert!(events(&lyon_heard).is_empty(), "the Lyon site's channel hears only Lyon's hosts");

        // Resolution reaches everyone on the alert, L2 included.
        assert_eq!(agent.post("/api/agent/v1/report", &disk_report(2, 40.0)).await.status, 200);
        eventually(Duration::from_secs(10), "L2 told of the resolution", || async {
            events(&l2_heard).iter().any(|e| e == "resolved:disk_usage").then_some(())
        })
        .await;
        server.stop().await;
        db
    })
    .await;
}

#[tokio::test]
async fn a_planned_window_is_announced_to_the_clients_contacts_days_before() {
    let Some(smtp) = SmtpSink::start() else { return };
    let smtp = &smtp;
    each_backend(|db| {
        let port = smtp.port;
        async move {
            let server = Server::start_with(&db, |config| {
                config.notifications.smtp_host = "127.0.0.1".into();
                config.notifications.smtp_port = port;
                config.notifications.smtp_starttls = false;
            })
            .await;
            let (client_id, _) = server.client_with_token(&format!("acme-{:?}", db.backend), 1).await;
            let contact = json!({ "name": "Ada Lovelace", "email": format!("ada-{port}-{:?}@acme.test", db.backend) });
            let added: Value = server.admin.post_ok(&format!("/api/v1/clients/{client_id}/contacts"), &contact).await;
            assert_eq!(added["maintenance_notices"], true);
            let bad = json!({ "name": "Bob", "email": "not an address" });
            let refused = server.admin.post(&format!("/api/v1/clients/{client_id}/contacts"), &bad).await;
            assert_eq!((refused.status, refused.problem().field.as_deref()), (422, Some("email")));

            let start = (now() + jiff::SignedDuration::from_hours(48))
                .to_zoned(jiff::tz::TimeZone::get("Europe/Paris").unwrap());
            let window = json!({
                "client_id": client_id, "title": "Kernel updates", "description": "Servers reboot one after the other.",
                "start": start.datetime().round(jiff::Unit::Minute).unwrap().to_string(), "time_zone": "Europe/Paris",
                "duration_minutes": 120, "notice_days": 3,
            });
            let created: Value = server.admin.post_ok("/api/v1/maintenance", &window).await;
            let notices = format!("/api/v1/maintenance/{}/notices", created["id"]);
            let sent = eventually(Duration::from_secs(40), "the notice sent", || async {
                let notices: Vec<Value> = server.admin.get_ok(&notices).await;
                notices.into_iter().find(|n| n["status"] == "sent")
            })
            .await;
            assert_eq!(sent["contact"], "Ada Lovelace");
            let email = added["email"].as_str().unwrap().to_owned();
            let mail = eventually(Duration::from_secs(10), "the notice received", || async {
                smtp.messages().into_iter().find(|m| m.contains(&email))
            })
            .await;
            // Quoted-printable folds long lines with a trailing '='.
            let mail = mail.replace("=\r\n", "").replace("=\n", "");
            assert!(mail.contains("Planned maintenance: Kernel updates"), "{mail}");
            assert!(mail.contains("Servers reboot one after the other.") && mail.contains("Europe/Paris"), "{mail}");
            tokio::time::sleep(Duration::from_secs(1)).await;
            let notices: Vec<Value> = server.admin.get_ok(&notices).await;
            assert_eq!(notices.len(), 1, "one notice per occurrence and contact: {notices:?}");
            server.stop().await;
            db
        }
    })
    .await;
}
