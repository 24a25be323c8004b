//! A real agent runs the backup plan set over the API: it fetches the plan, backs up into a
//! local restic repository, and its events reach the host's list through its reports. Skipped,
//! saying so, where restic is not installed.

use std::fs::{self, File};
use std::io::Write;
use std::process::{Child, Stdio};
use std::time::Duration;

use jiff::tz::TimeZone;
use serde_json::{Value, json};

use crate::harness::{Server, each_backend, enroll_agent, eventually, now, signal, tend, wait_exit};

/// The agent process, killed when the test ends however it ends.
pub(crate) struct Running(pub(crate) Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether restic is missing here, saying so: the tests that need it are then skipped.
pub(crate) fn restic_missing() -> bool {
    let missing = std::process::Command::new("restic").arg("version").output().is_err();
    if missing {
        eprintln!("SKIPPED: restic is not on PATH");
    }
    missing
}

/// A host of a new client whose real agent runs plan `nightly`, due this very minute, backing
/// up `dir/src` (with `files` in it) into `dir/repo`.
pub(crate) struct BackedUpHost {
    pub client_id: i64,
    pub host_id: i64,
    pub src: std::path::PathBuf,
    pub log: std::path::PathBuf,
    pub agent: Running,
}

impl BackedUpHost {
    pub(crate) async fn start(server: &Server, dir: &std::path::Path, files: &[(&str, &str)]) -> BackedUpHost {
        let (client_id, token) = server.client_with_token("acme", 1).await;
        let (state_dir, host_id) = enroll_agent(server, &token, dir).await;
        let src = dir.join("src");
        fs::create_dir_all(&src).unwrap();
        for (name, content) in files {
            fs::write(src.join(name), content).unwrap();
        }
        // Due this very minute, in the agent's (this machine's) time zone.
        let minute = now().to_zoned(TimeZone::system()).strftime("%H:%M").to_string();
        let plan = json!({
            "repository": dir.join("repo"),
            "password": "correct horse battery staple",
            "paths": [src],
            "schedule": minute,
            "read_data_subset": "100%",
        });
        let path = format!("/api/v1/hosts/{host_id}/backup-plans/nightly");
        let answer = server.admin.request(reqwest::Method::PUT, &path, Some(plan.to_string().into_bytes())).await;
        assert_eq!(answer.status, 201, "{}", answer.body);

        let config = dir.join("agent.toml");
        writeln!(File::create(&config).unwrap(), "[backup]\nplans_refresh_secs = 10").unwrap();
        let log = state_dir.join("agent.log");
        let mut command = tend(server.dir.path());
        command.args(["agent", "run", "--interval", "60", "--config"]).arg(&config).arg("--state-dir").arg(&state_dir);
        command.stdout(Stdio::null()).stderr(File::create(&log).unwrap());
        let agent = Running(command.spawn().expect("agent starts"));
        BackedUpHost { client_id, host_id, src, log, agent }
    }

    pub(crate) fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

#[tokio::test]
async fn a_plan_set_over_the_api_is_backed_up_by_the_agent_and_its_events_are_listed() {
    if restic_missing() {
        return;
    }
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let dir = tempfile::tempdir().unwrap();
        let host = BackedUpHost::start(&server, dir.path(), &[("hosts", "127.0.0.1 localhost\n")]).await;
        let (host_id, log) = (host.host_id, host.log.clone());
        let BackedUpHost { mut agent, .. } = host;

        // Backup, retention, check and restore test, each reported within seconds of its end,
        // not at the next 60 s report.
        let events_path = format!("/api/v1/hosts/{host_id}/backup-events");
        let events: Vec<Value> = eventually(Duration::from_secs(50), "the four backup events", || async {
            let events: Vec<Value> = server.admin.get_ok(&events_path).await;
            (events.len() >= 4).then_some(events)
        })
        .await;
        let mut kinds: Vec<(&str, bool)> =
            events.iter().map(|e| (e["event"]["kind"].as_str().unwrap(), e["event"]["ok"] == json!(true))).collect();
        kinds.sort_unstable();
        let agent_log = fs::read_to_string(&log).unwrap_or_default();
        assert_eq!(
            kinds,
            [("backup", true), ("check", true), ("forget", true), ("restore_test", true)],
            "{events:#?}\n{agent_log}"
        );
        let backup = events.iter().find(|e| e["event"]["kind"] == "backup").unwrap();
        assert_eq!(backup["event"]["plan"], "nightly");
        assert!(backup["event"]["snapshot_id"].is_string(), "{backup}");

        signal(&agent.0, "TERM");
        let status = wait_exit(&mut agent.0, Duration::from_secs(15)).await;
        assert!(status.success(), "agent exit {status:?}: {}", fs::read_to_string(&log).unwrap_or_default());
        // Every event went out once.
        let after: Vec<Value> = server.admin.get_ok(&events_path).await;
        assert_eq!(after.len(), 4, "{after:#?}");
        server.stop().await;
        db
    })
    .await;
}
