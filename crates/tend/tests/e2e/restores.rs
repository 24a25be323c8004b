//! Restores as jobs, with a real server and a real agent: after the agent's first backup,
//! `tend backup restore` brings one file back into a directory (the client's contract includes
//! backups), while a restore over the live files is refused by the gate without an
//! authorization; both are audited as `job.restore`. Skipped, saying so, where restic is not
//! installed.

use std::fs::{self, File};
use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use jiff::tz::TimeZone;
use serde_json::{Value, json};
use tend_proto::jobs::{Job, JobStatus};
use tend_store::Scope;

use crate::backup_agent::Running;
use crate::harness::{ADMIN_PASSWORD, Server, each_backend, enroll_agent, eventually, now, run, tend, text};

#[tokio::test]
async fn a_file_is_restored_aside_and_a_restore_in_place_needs_an_authorization() {
    if std::process::Command::new("restic").arg("version").output().is_err() {
        eprintln!("SKIPPED: restic is not on PATH");
        return;
    }
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let (client_id, token) = server.client_with_token("acme", 1).await;
        let dir = tempfile::tempdir().unwrap();
        let (state_dir, host_id) = enroll_agent(&server, &token, dir.path()).await;
        let src = dir.path().join("src");
        fs::create_dir_all(&src).unwrap();
        fs::write(src.join("hosts"), "127.0.0.1 localhost\n").unwrap();
        fs::write(src.join("other"), "not asked for\n").unwrap();

        // Due this very minute, in the agent's (this machine's) time zone.
        let minute = now().to_zoned(TimeZone::system()).strftime("%H:%M").to_string();
        let plan = json!({
            "repository": dir.path().join("repo"),
            "password": "correct horse battery staple",
            "paths": [src],
            "schedule": minute,
        });
        let path = format!("/api/v1/hosts/{host_id}/backup-plans/nightly");
        let answer = server.admin.request(reqwest::Method::PUT, &path, Some(plan.to_string().into_bytes())).await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        let config = dir.path().join("agent.toml");
        writeln!(File::create(&config).unwrap(), "[backup]\nplans_refresh_secs = 10").unwrap();
        let log = state_dir.join("agent.log");
        let mut command = tend(server.dir.path());
        command.args(["agent", "run", "--interval", "60", "--config"]).arg(&config).arg("--state-dir").arg(&state_dir);
        command.stdout(Stdio::null()).stderr(File::create(&log).unwrap());
        let _agent = Running(command.spawn().expect("agent starts"));
        let agent_log = || fs::read_to_string(&log).unwrap_or_default();

        let events_path = format!("/api/v1/hosts/{host_id}/backup-events");
        eventually(Duration::from_secs(50), "the first backup", || async {
            let events: Vec<Value> = server.admin.get_ok(&events_path).await;
            events.iter().any(|e| e["event"]["kind"] == "backup" && e["event"]["ok"] == json!(true)).then_some(())
        })
        .await;

        let login_input = server.dir.path().join("login.pass");
        fs::write(&login_input, format!("{ADMIN_PASSWORD}\n")).unwrap();
        let mut login = tend(server.dir.path());
        login.args(["login", "--server", &server.url, "--user", "admin", "--password-stdin"]);
        login.stdin(File::open(&login_input).unwrap());
        let logged_in = run(login).await;
        assert!(logged_in.status.success(), "{}", text(&logged_in.stderr));

        // One file, into a directory that does not exist yet; the command waits for the result.
        let wanted = src.join("hosts").to_string_lossy().into_owned();
        let target = dir.path().join("restored");
        let mut cli = tend(server.dir.path());
        cli.args(["backup", "restore", "--host", &host_id.to_string(), "--plan", "nightly", "--path", &wanted]);
        cli.arg("--target").arg(&target).arg("--json");
        let restored = run(cli).await;
        assert!(restored.status.success(), "{}\n{}\n{}", text(&restored.stdout), text(&restored.stderr), agent_log());
        let job: Job = serde_json::from_slice(&restored.stdout).unwrap();
        assert_eq!(job.status, JobStatus::Succeeded);
        let output = job.result.unwrap().output;
        assert!(output.starts_with("restored and verified 1 files, 20 bytes, of snapshot "), "{output}");
        let file = target.join(wanted.trim_start_matches('/'));
        assert_eq!(fs::read_to_string(&file).unwrap(), "127.0.0.1 localhost\n");
        assert!(!file.with_file_name("other").exists(), "only the path asked for");

        // Over the live files: a destructive job, which nothing authorizes on this host.
        let jobs = format!("/api/v1/hosts/{host_id}/jobs");
        let in_place = json!({"kind": "restore", "params": {"plan": "nightly", "paths": [wanted], "target": "/"}});
        let refused = server.admin.post(&jobs, &in_place).await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        let detail = refused.problem().detail;
        assert!(detail.starts_with("nothing authorizes a destructive job of this host"), "{detail}");
        let mut cli = tend(server.dir.path());
        cli.args(["backup", "restore", "--host", &host_id.to_string(), "--plan", "nightly", "--path", &wanted]);
        cli.args(["--target", "/"]);
        let refused = run(cli).await;
        assert_eq!(refused.status.code(), Some(3), "{}", text(&refused.stderr));
        assert!(text(&refused.stderr).contains("nothing authorizes a destructive job"), "{}", text(&refused.stderr));

        let trail = server.store.audit_entries(Scope::AllClients, Some(host_id), 100).await.unwrap();
        let restores: Vec<(&str, &str)> = trail
            .iter()
            .filter(|e| e.action == "job.restore")
            .map(|e| (e.outcome.as_str(), e.detail.as_str()))
            .collect();
        let has = |outcome: &str, says: &str| restores.iter().any(|(o, d)| *o == outcome && d.contains(says));
        assert!(has("allowed", "the client's contract (backups)"), "{restores:?}");
        assert!(has("succeeded", "restored and verified"), "{restores:?}");
        assert_eq!(restores.iter().filter(|(o, _)| *o == "refused").count(), 2, "{restores:?}");
        assert!(trail.iter().all(|e| e.action != "job.restore" || e.client_id == Some(client_id)));
        server.stop().await;
        db
    })
    .await;
}
