//! Restores as jobs, with a real server and a real agent: after the agent's first backup,
//! `tend backup restore` brings one file back into a directory (the client's contract includes
//! backups), while a restore over the live files is refused by the gate without an
//! authorization; both are audited as `job.restore`. Skipped, saying so, where restic is not
//! installed.

use std::fs;
use std::time::Duration;

use serde_json::{Value, json};
use tend_proto::jobs::{Job, JobStatus};
use tend_store::Scope;

use crate::backup_agent::{BackedUpHost, restic_missing};
use crate::harness::{ADMIN_PASSWORD, Server, each_backend, eventually, run, tend, text};

#[tokio::test]
async fn a_file_is_restored_aside_and_a_restore_in_place_needs_an_authorization() {
    if restic_missing() {
        return;
    }
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let dir = tempfile::tempdir().unwrap();
        let files = [("hosts", "127.0.0.1 localhost\n"), ("other", "not asked for\n")];
        let host = BackedUpHost::start(&server, dir.path(), &files).await;
        let (client_id, host_id, src) = (host.client_id, host.host_id, host.src.clone());
        let agent_log = || host.log();

        let events_path = format!("/api/v1/hosts/{host_id}/backup-events");
        eventually(Duration::from_secs(50), "the first backup", || async {
            let events: Vec<Value> = server.admin.get_ok(&events_path).await;
            events.iter().any(|e| e["event"]["kind"] == "backup" && e["event"]["ok"] == json!(true)).then_some(())
        })
        .await;

        crate::harness::cli_login(server.dir.path(), &server.url, "admin", ADMIN_PASSWORD).await;

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
