//! Backup plans and events against the real server, with the agents' side played through the
//! agent API: the password goes in sealed and comes out only to the host's own agent; reported
//! events show in the host's list and in the overview, once however often a report is replayed;
//! another client's users see nothing of it; missing, failed and unrestorable backups raise
//! their alerts and recover.

use std::time::Duration;

use jiff::SignedDuration;
use serde_json::{Value, json};
use tend_proto::backups::{BackupEvent, BackupRun, RestoreTestRun};
use tend_server::Config;
use tend_store::{BackupPlanRow, Scope};

use crate::harness::{ADMIN_PASSWORD, Answer, Api, Server, each_backend, eventually, now, run, tend, text};
use crate::rollouts::host;

const PASSWORD: &str = "a-long-enough-password";
const REPOSITORY_PASSWORD: &str = "correct horse battery staple";

async fn put(api: &Api, path: &str, body: &Value) -> Answer {
    api.request(reqwest::Method::PUT, path, Some(serde_json::to_vec(body).unwrap())).await
}

/// The agent's plan fetch with `If-None-Match`: (status, ETag).
async fn fetch_plans_since(server: &Server, credential: &str, etag: &str) -> (u16, String) {
    let answer = reqwest::Client::new()
        .get(format!("{}/api/agent/v1/backup-plans", server.url))
        .bearer_auth(credential)
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    let etag = answer.headers().get("etag").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (answer.status().as_u16(), etag)
}

/// Plays the agent: one report carrying `backups`; returns the acknowledgement.
async fn report_backups(agent: &Api, seq: i64, backups: Value) -> Value {
    let report = json!({ "reports": [{ "seq": seq, "collected_at_ms": now().as_millisecond(),
        "schema_version": tend_proto::REPORT_SCHEMA_VERSION, "sections": { "backups": backups } }] });
    let answer = agent.post("/api/agent/v1/report", &report).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body
}

#[tokio::test]
async fn plans_reach_their_hosts_agent_only_and_reported_events_show_once_in_the_overview() {
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let (acme, token) = server.client_with_token("acme", 2).await;
        let (db1, db1_agent) = host(&server, &token, "acme-db1").await;
        let (_db2, db2_agent) = host(&server, &token, "acme-db2").await;
        let (globex, globex_token) = server.client_with_token("globex", 1).await;
        let (globex_host, _) = host(&server, &globex_token, "globex-web1").await;
        let user =
            json!({ "username": "globex-user", "password": PASSWORD, "role": "client_user", "client_id": globex });
        let _: Value = server.admin.post_ok("/api/v1/users", &user).await;
        let spy = Api::login(&server.url, "globex-user", PASSWORD).await;

        // A new plan needs its password; a bad plan is refused before anything is written.
        let path = format!("/api/v1/hosts/{db1}/backup-plans/daily");
        let mut plan = json!({ "repository": "sftp:backup@nas:/srv/restic", "paths": ["/etc", "/srv"] });
        let refused = put(&server.admin, &path, &plan).await;
        assert_eq!((refused.status, refused.problem().field.as_deref()), (422, Some("password")), "{}", refused.body);
        plan["password"] = json!(REPOSITORY_PASSWORD);
        let mut bad = plan.clone();
        bad["paths"] = json!(["etc"]);
        let bad = put(&server.admin, &path, &bad).await;
        assert_eq!(bad.status, 422, "{}", bad.body);
        let created = put(&server.admin, &path, &plan).await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!((&created.body["has_password"], &created.body["schedule"]), (&json!(true), &json!("02:00")));
        assert!(!created.body.to_string().contains(REPOSITORY_PASSWORD), "{}", created.body);
        // A change without the password keeps it.
        let mut change = plan.clone();
        change.as_object_mut().unwrap().remove("password");
        change["schedule"] = json!("03:30");
        let changed = put(&server.admin, &path, &change).await;
        assert_eq!((changed.status, &changed.body["schedule"]), (200, &json!("03:30")), "{}", changed.body);
        let listed: Value = server.admin.get_ok(&format!("/api/v1/hosts/{db1}/backup-plans")).await;
        assert_eq!((&listed[0]["name"], &listed[0]["has_password"]), (&json!("daily"), &json!(true)), "{listed}");
        assert!(!listed.to_string().contains(REPOSITORY_PASSWORD));
        // Customers cannot set plans.
        assert_eq!(put(&spy, &format!("/api/v1/hosts/{globex_host}/backup-plans/x"), &plan).await.status, 403);

        // The host's agent gets its plan with the password; another host's agent gets nothing.
        let plans: Vec<tend_proto::backups::BackupPlan> = db1_agent.get_ok("/api/agent/v1/backup-plans").await;
        assert_eq!(plans.len(), 1);
        assert_eq!((plans[0].name.as_str(), plans[0].password.expose()), ("daily", REPOSITORY_PASSWORD));
        assert_eq!((plans[0].schedule.as_str(), plans[0].paths.len()), ("03:30", 2));
        let none: Vec<tend_proto::backups::BackupPlan> = db2_agent.get_ok("/api/agent/v1/backup-plans").await;
        assert!(none.is_empty());
        let db1_credential = db1_agent.token.clone().unwrap();
        let (status, etag) = fetch_plans_since(&server, &db1_credential, "\"none\"").await;
        assert_eq!(status, 200);
        assert_eq!(fetch_plans_since(&server, &db1_credential, &etag).await, (304, etag.clone()));

        // A report with a good backup three hours ago and a failed check; replayed, stored once.
        let started = now().as_millisecond() - 3 * 3600 * 1000;
        let events = json!([
            { "kind": "backup", "plan": "daily", "started_at_ms": started, "duration_ms": 42_000, "exit_code": 0,
              "ok": true, "snapshot_id": "4f3c2a1b", "files_new": 3, "files_changed": 1, "files_unmodified": 100,
              "data_added_bytes": 2048, "total_bytes_processed": 1_000_000, "errors": [] },
            { "kind": "check", "plan": "daily", "started_at_ms": started + 60_000, "duration_ms": 5_000, "ok": false,
              "read_data_subset": "5%", "errors": ["pack 1234 damaged"] },
        ]);
        let seq = now().as_millisecond();
        report_backups(&db1_agent, seq, events.clone()).await;
        let replay = report_backups(&db1_agent, seq, events).await;
        assert_eq!(replay["duplicates"], 1, "{replay}");
        let stored: Value = server.admin.get_ok(&format!("/api/v1/hosts/{db1}/backup-events")).await;
        let kinds: Vec<&str> =
            stored.as_array().unwrap().iter().map(|e| e["event"]["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["check", "backup"], "{stored}");

        let overview: Vec<Value> = server.admin.get_ok(&format!("/api/v1/backups/overview?client={acme}")).await;
        assert_eq!(overview.len(), 2, "{overview:?}");
        let daily = overview.iter().find(|e| e["host_id"] == db1).unwrap();
        let age = daily["last_good_backup_age_secs"].as_i64().unwrap();
        assert!((3 * 3600..3 * 3600 + 120).contains(&age), "{daily}");
        assert_eq!(daily["last_good_backup"]["snapshot_id"], "4f3c2a1b", "{daily}");
        assert_eq!((&daily["last_backup"]["ok"], &daily["last_check"]["ok"]), (&json!(true), &json!(false)));
        assert!(daily.get("last_restore_test").is_none(), "{daily}");
        let without = overview.iter().find(|e| e["host_id"] != db1).unwrap();
        assert!(without.get("plan").is_none(), "{without}");

        // Another client's user: not found, and an overview of their own hosts only.
        for path in [format!("/api/v1/hosts/{db1}/backup-plans"), format!("/api/v1/hosts/{db1}/backup-events")] {
            let answer = spy.get(&path).await;
            assert_eq!((answer.status, answer.problem().status), (404, 404), "{path}");
        }
        let theirs: Vec<Value> = spy.get_ok("/api/v1/backups/overview").await;
        assert_eq!(theirs.iter().map(|e| e["host_id"].as_i64().unwrap()).collect::<Vec<_>>(), [globex_host]);

        // Deleting the plan changes what the agent gets.
        let deleted = server.admin.request(reqwest::Method::DELETE, &path, None).await;
        assert_eq!(deleted.status, 204, "{}", deleted.body);
        assert_eq!(fetch_plans_since(&server, &db1_credential, &etag).await.0, 200);
        server.stop().await;
        db
    })
    .await;
}

/// `tend` logged in as the admin, with `args`.
async fn cli(server: &Server, args: &[&str]) -> std::process::Output {
    let mut command = tend(server.dir.path());
    command.args(args);
    run(command).await
}

#[tokio::test]
async fn the_cli_sets_plans_from_a_password_file_and_status_fails_on_a_critical_finding() {
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let (_, token) = server.client_with_token("acme", 1).await;
        let (db1, agent) = host(&server, &token, "acme-db1").await;
        let password_file = server.dir.path().join("restic.pass");
        std::fs::write(&password_file, format!("{REPOSITORY_PASSWORD}\n")).unwrap();
        crate::harness::cli_login(server.dir.path(), &server.url, "admin", ADMIN_PASSWORD).await;

        let set = cli(
            &server,
            &[
                "backup",
                "plan",
                "set",
                "acme-db1",
                "daily",
                "--repository",
                "/srv/restic",
                "--password-file",
                password_file.to_str().unwrap(),
                "--path",
                "/etc",
                "--keep-daily",
                "14",
            ],
        )
        .await;
        assert!(set.status.success(), "{}", text(&set.stderr));
        let listed = cli(&server, &["backup", "plan", "list", "acme-db1", "--json"]).await;
        let plans: Value = serde_json::from_slice(&listed.stdout).unwrap();
        assert_eq!((&plans[0]["has_password"], &plans[0]["retention"]["keep_daily"]), (&json!(true), &json!(14)));
        let plans: Vec<tend_proto::backups::BackupPlan> = agent.get_ok("/api/agent/v1/backup-plans").await;
        assert_eq!(plans[0].password.expose(), REPOSITORY_PASSWORD, "the file's line break is not the password's");

        // A repository check failed: a critical finding, so status exits 1 and names it.
        let started = now().as_millisecond() - 3600 * 1000;
        let check = |ok: bool, at: i64| {
            json!({ "kind": "check", "plan": "daily", "started_at_ms": at, "duration_ms": 1000, "ok": ok,
                "read_data_subset": "5%", "errors": if ok { json!([]) } else { json!(["pack 1a2b: damaged"]) } })
        };
        report_backups(&agent, now().as_millisecond(), json!([check(false, started - 1000)])).await;
        let failing = cli(&server, &["backup", "status"]).await;
        assert_eq!(failing.status.code(), Some(1), "{}", text(&failing.stdout));
        assert!(text(&failing.stderr).contains("acme-db1: check_failed (daily)"), "{}", text(&failing.stderr));

        let backup = json!({ "kind": "backup", "plan": "daily", "started_at_ms": started, "duration_ms": 1000,
            "exit_code": 0, "ok": true, "snapshot_id": "abc", "files_new": 1, "files_changed": 0,
            "files_unmodified": 0, "data_added_bytes": 1, "total_bytes_processed": 1, "errors": [] });
        report_backups(&agent, now().as_millisecond(), json!([backup, check(true, started + 2000)])).await;
        let fresh = cli(&server, &["backup", "status"]).await;
        assert!(fresh.status.success(), "{}", text(&fresh.stderr));
        let table = text(&fresh.stdout);
        assert!(table.contains("acme-db1") && table.contains("daily") && table.contains("1h"), "{table}");
        // One repository on the host itself is a weak posture: the worst finding says so.
        assert!(table.contains("warning too_few_copies (3-2-1 posture)"), "{table}");
        let events = cli(&server, &["backup", "events", &db1.to_string()]).await;
        assert!(text(&events.stdout).contains("snapshot abc"), "{}", text(&events.stdout));

        let deleted = cli(&server, &["backup", "plan", "delete", "acme-db1", "daily"]).await;
        assert!(deleted.status.success(), "{}", text(&deleted.stderr));
        server.stop().await;
        db
    })
    .await;
}

/// The shortest policy there is: a plan is stale a day after its last good backup (or its
/// creation), with no grace.
fn short_policy(config: &mut Config) {
    config.backups.stale_grace_hours = 0;
}

/// The state and severity of the host's alert of `check`, if it has one.
async fn alert(server: &Server, host_id: i64, check: &str) -> Option<(String, Option<String>)> {
    let alerts: Vec<tend_proto::api::Alert> = server.admin.get_ok("/api/v1/alerts?state=all").await;
    alerts.into_iter().find(|a| a.host_id == Some(host_id) && a.check == check).map(|a| (a.state, a.severity))
}

/// Waits until the host's alert of `check` is `state` (with `severity`, when firing).
async fn alert_becomes(server: &Server, host_id: i64, check: &str, state: &str, severity: Option<&str>) {
    let wanted = (state.to_owned(), severity.map(str::to_owned));
    eventually(Duration::from_secs(10), &format!("{check} {state}"), || async {
        (alert(server, host_id, check).await == Some(wanted.clone())).then_some(())
    })
    .await;
}

fn backup(started_at_ms: i64, ok: bool) -> BackupEvent {
    BackupEvent::Backup(BackupRun {
        plan: "daily".into(),
        started_at_ms,
        duration_ms: 1000,
        exit_code: Some(if ok { 0 } else { 1 }),
        ok,
        snapshot_id: ok.then(|| "4f3c2a1b".into()),
        data_added_bytes: 2048,
        total_bytes_processed: 1_000_000,
        errors: if ok { vec![] } else { vec!["Fatal: unable to open repository".into()] },
        ..BackupRun::default()
    })
}

#[tokio::test]
async fn missing_failed_and_unrestorable_backups_raise_alerts_and_recover() {
    each_backend(|db| async move {
        let server = Server::start_with(&db, short_policy).await;
        let (_, token) = server.client_with_token("acme", 1).await;
        let (db1, _) = host(&server, &token, "acme-db1").await;
        let plan = json!({ "repository": "b2:acme-backups:db1", "paths": ["/srv"], "password": REPOSITORY_PASSWORD });
        let created = put(&server.admin, &format!("/api/v1/hosts/{db1}/backup-plans/daily"), &plan).await;
        assert_eq!(created.status, 201, "{}", created.body);
        // Judged when it was set: a new plan is within its bound, only its posture is weak.
        alert_becomes(&server, db1, "too_few_copies", "firing", Some("warning")).await;
        assert_eq!(alert(&server, db1, "never_backed_up").await, None);

        // (a) The plan was made a day and a minute ago and never backed up: the scheduler's pass
        // of a server (re)started on this database finds it past the bound.
        let row = server.store.delete_backup_plan(Scope::System, db1, "daily").await.unwrap();
        let created_at = now() - SignedDuration::from_mins(24 * 60 + 1);
        server.store.set_backup_plan(Scope::System, &BackupPlanRow { created_at, ..row }).await.unwrap();
        server.stop().await;
        let server = Server::start_with(&db, short_policy).await;
        alert_becomes(&server, db1, "never_backed_up", "firing", Some("warning")).await;
        let agent = Api::anonymous(&server.url).with_token("cred-acme-db1");

        // (b) A failed backup fires at once; a good one resolves it, and the plan is backed up.
        let failed_at = now().as_millisecond() - 120_000;
        report_backups(&agent, 1, serde_json::to_value([backup(failed_at, false)]).unwrap()).await;
        alert_becomes(&server, db1, "backup_failed", "firing", Some("warning")).await;
        report_backups(&agent, 2, serde_json::to_value([backup(failed_at + 60_000, true)]).unwrap()).await;
        alert_becomes(&server, db1, "backup_failed", "ok", None).await;
        alert_becomes(&server, db1, "never_backed_up", "ok", None).await;

        // (c) A restore test that could not verify its files is critical.
        let test = BackupEvent::RestoreTest(RestoreTestRun {
            plan: "daily".into(),
            started_at_ms: now().as_millisecond(),
            snapshot_id: Some("4f3c2a1b".into()),
            files_sampled: 20,
            files_verified: 17,
            mismatches: vec!["/srv/data/orders.db: sha256 differs".into()],
            ..RestoreTestRun::default()
        });
        report_backups(&agent, 3, serde_json::to_value([test]).unwrap()).await;
        alert_becomes(&server, db1, "restore_test_failed", "firing", Some("critical")).await;
        let overview: Vec<tend_proto::backup_api::BackupOverviewEntry> =
            server.admin.get_ok("/api/v1/backups/overview").await;
        let kinds: Vec<&str> = overview[0].findings.iter().map(|f| f.kind.as_str()).collect();
        assert!(kinds.contains(&"restore_test_failed") && !kinds.contains(&"backup_failed"), "{overview:?}");
        server.stop().await;
        db
    })
    .await;
}
