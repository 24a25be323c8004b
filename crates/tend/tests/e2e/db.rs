//! `tend db`: backing up the running server's own database, checking a backup's freshness, and
//! the scheduled self-backup of a running server.

use std::time::Duration;

use tend_store::Backend;

use crate::harness::{Server, each_backend, run, tend, text};

#[tokio::test]
async fn the_running_servers_database_is_backed_up_and_its_freshness_checked() {
    each_backend(|db| async move {
        let backups = tempfile::tempdir().unwrap();
        let scheduled = backups.path().join("scheduled");
        let server = Server::start_with(&db, |config| config.self_backup.dir = scheduled.clone()).await;
        let file = backups.path().join("tend.backup");
        let file_arg = file.to_str().unwrap();
        let db_cmd = |args: &[&str]| {
            let mut command = tend(server.dir.path());
            command.args(["db"]).args(args).args(["--database-url", &db.url]);
            command
        };

        let made = run(db_cmd(&["backup", file_arg, "--json"])).await;
        assert_eq!(made.status.code(), Some(0), "{}", text(&made.stderr));
        let record: serde_json::Value = serde_json::from_slice(&made.stdout).unwrap();
        let backend = if db.backend == Backend::Sqlite { "sqlite" } else { "postgres" };
        assert_eq!(record["backend"], backend);
        assert_eq!(record["size"], std::fs::metadata(&file).unwrap().len());
        assert!(record["schema_version"].as_i64().unwrap() > 0, "{record}");

        let again = run(db_cmd(&["backup", file_arg])).await;
        assert_eq!(again.status.code(), Some(1));
        assert!(text(&again.stderr).contains("--force"), "{}", text(&again.stderr));
        let forced = run(db_cmd(&["backup", file_arg, "--force"])).await;
        assert_eq!(forced.status.code(), Some(0), "{}", text(&forced.stderr));

        let fresh = run(db_cmd(&["backup", "--check", file_arg, "--max-age", "1h"])).await;
        assert_eq!(fresh.status.code(), Some(0), "{}", text(&fresh.stderr));
        assert!(text(&fresh.stdout).starts_with("fresh:"), "{}", text(&fresh.stdout));
        let stale = run(db_cmd(&["backup", "--check", file_arg, "--max-age", "0s"])).await;
        assert_eq!(stale.status.code(), Some(1));
        assert!(text(&stale.stderr).contains("stale"), "{}", text(&stale.stderr));
        let missing = backups.path().join("never-made");
        let none = run(db_cmd(&["backup", "--check", missing.to_str().unwrap()])).await;
        assert_eq!(none.status.code(), Some(1), "{}", text(&none.stderr));
        let usage = run(db_cmd(&["backup", "--check", file_arg, "--force"])).await;
        assert_eq!(usage.status.code(), Some(2));

        // The server made its first scheduled backup at start.
        let mut made_by_server = None;
        for _ in 0..100 {
            made_by_server = std::fs::read_dir(&scheduled).ok().and_then(|mut entries| {
                entries.find_map(|e| Some(e.ok()?.path()).filter(|p| !p.to_string_lossy().ends_with(".json")))
            });
            if made_by_server.as_ref().is_some_and(|p| tend_store::BackupRecord::read(p).is_ok()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let made_by_server = made_by_server.expect("a scheduled backup");
        let name = made_by_server.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("tend-") && (name.ends_with(".db") || name.ends_with(".dump")), "{name}");
        let checked = run(db_cmd(&["backup", "--check", made_by_server.to_str().unwrap(), "--max-age", "1h"])).await;
        assert_eq!(checked.status.code(), Some(0), "{}", text(&checked.stderr));
        server.stop().await;
        db
    })
    .await;
}
