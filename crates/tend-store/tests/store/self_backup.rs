use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use jiff::Timestamp;
use tend_store::testing::{POSTGRES_URL_VAR, TestDatabase};
use tend_store::{Backend, BackupRecord, Scope, SelfBackupError, Store, restore};

async fn client_names(store: &Store) -> Vec<String> {
    store.list_clients(Scope::AllClients, 0, 10_000).await.unwrap().into_iter().map(|c| c.name).collect()
}

/// The clients in a SQLite file, read without migrating or otherwise touching it.
async fn client_names_in(file: &Path) -> Vec<String> {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=ro", file.display());
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let names = sqlx::query_scalar("SELECT name FROM clients ORDER BY id").fetch_all(&pool).await.unwrap();
    pool.close().await;
    names
}

#[tokio::test]
async fn a_sqlite_backup_taken_under_writes_is_whole_and_holds_what_was_committed_before() {
    let db = TestDatabase::sqlite();
    let store = db.open().await;
    for i in 0..20 {
        store.create_client(&format!("before-{i}"), Timestamp::now()).await.unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn({
        let (store, stop) = (store.clone(), stop.clone());
        async move {
            let mut written = 0;
            while !stop.load(Ordering::Relaxed) {
                store.create_client(&format!("during-{written}"), Timestamp::now()).await.unwrap();
                written += 1;
            }
            written
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let committed = client_names(&store).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tend-backup.db");
    let record = store.self_backup(&file, false).await.unwrap();
    stop.store(true, Ordering::Relaxed);
    assert!(writer.await.unwrap() > 0, "the writer wrote during the test");

    assert_eq!(record.backend, Backend::Sqlite);
    assert_eq!(record.size, std::fs::metadata(&file).unwrap().len());
    assert!(record.schema_version > 0);
    assert_eq!(BackupRecord::read(&file).unwrap(), record);
    let copied = client_names_in(&file).await;
    assert!(committed.iter().all(|name| copied.contains(name)), "{committed:?} not all in {copied:?}");
    let pool = sqlx::AnyPool::connect(&format!("sqlite://{}?mode=ro", file.display())).await.unwrap();
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&pool).await.unwrap();
    assert_eq!(integrity, "ok");
    pool.close().await;

    match store.self_backup(&file, false).await {
        Err(SelfBackupError::Exists(path)) => assert_eq!(path, file),
        other => panic!("expected Exists, got {other:?}"),
    }
    store.self_backup(&file, true).await.expect("replacing when asked");
    store.close().await;
}

#[tokio::test]
async fn a_sqlite_restore_puts_the_rows_back_keeps_the_old_file_and_refuses_a_running_database() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.db");
    let source = TestDatabase::sqlite();
    let store = source.open().await;
    store.create_client("acme", Timestamp::now()).await.unwrap();
    store.self_backup(&file, false).await.unwrap();
    store.close().await;

    let target = TestDatabase::sqlite();
    let running = target.open().await;
    running.create_client("written-after-the-backup", Timestamp::now()).await.unwrap();
    match restore(&target.url, &file).await {
        Err(SelfBackupError::InUse(_)) => {}
        other => panic!("expected InUse while the database is open, got {other:?}"),
    }
    running.close().await;

    let restored = restore(&target.url, &file).await.unwrap();
    assert!(restored.schema_version > 0);
    let previous = restored.previous.expect("the replaced database is kept");
    assert!(previous.to_string_lossy().ends_with("tend.db.before-restore"), "{}", previous.display());
    assert_eq!(client_names_in(&previous).await, ["written-after-the-backup"]);
    let store = target.open().await;
    assert_eq!(client_names(&store).await, ["acme"]);
    store.close().await;
}

#[tokio::test]
async fn a_file_that_is_not_a_tend_database_is_refused() {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a database at all, but long enough to have a header of sorts").unwrap();
    let empty = dir.path().join("other.db");
    let pool = sqlx::AnyPool::connect(&format!("sqlite://{}?mode=rwc", empty.display())).await.unwrap();
    sqlx::query("CREATE TABLE things (id INTEGER)").execute(&pool).await.unwrap();
    pool.close().await;

    let target = TestDatabase::sqlite();
    target.open().await.close().await;
    for file in [&text, &empty, &dir.path().join("missing.db")] {
        match restore(&target.url, file).await {
            Err(e @ SelfBackupError::NotTend { .. }) => assert!(e.to_string().contains("not a tend database"), "{e}"),
            other => panic!("expected NotTend for {}, got {other:?}", file.display()),
        }
    }
    assert!(!Path::new(&format!("{}.before-restore", target.url.trim_start_matches("sqlite://"))).exists());
}

#[tokio::test]
async fn a_postgres_dump_restores_into_a_fresh_database() {
    let Ok(admin_url) = std::env::var(POSTGRES_URL_VAR) else {
        eprintln!("skipped: {POSTGRES_URL_VAR} is not set");
        return;
    };
    if std::process::Command::new("pg_dump").arg("--version").output().is_err() {
        eprintln!("skipped: pg_dump is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tend.dump");
    let source = TestDatabase::postgres(&admin_url).await;
    let store = source.open().await;
    store.create_client("acme", Timestamp::now()).await.unwrap();
    store.create_client("globex", Timestamp::now()).await.unwrap();
    let record = store.self_backup(&file, false).await.unwrap();
    assert_eq!(record.backend, Backend::Postgres);
    store.close().await;
    source.remove().await;

    let fresh = TestDatabase::postgres(&admin_url).await;
    let not_a_dump = dir.path().join("tend.dump.json");
    assert!(matches!(restore(&fresh.url, &not_a_dump).await, Err(SelfBackupError::NotTend { .. })));
    let restored = restore(&fresh.url, &file).await.unwrap();
    assert_eq!(restored.schema_version, record.schema_version);
    let store = fresh.open().await;
    assert_eq!(client_names(&store).await, ["acme", "globex"]);
    store.close().await;
    fresh.remove().await;
}
