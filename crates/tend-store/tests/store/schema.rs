use tend_store::{Error, Store};

use crate::each_backend;

#[tokio::test]
async fn reopening_applies_nothing_twice_and_a_newer_schema_is_refused() {
    each_backend(|store, db| async move {
        store.ping().await.unwrap();
        store.close().await;
        let again = Store::open(&db.url).await.expect("reopen");
        sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)")
            .execute(&sqlx::AnyPool::connect(&db.url).await.unwrap())
            .await
            .unwrap();
        again.close().await;
        match Store::open(&db.url).await {
            Err(Error::SchemaTooNew { found: 999, known }) => assert!(known < 999),
            other => panic!("expected SchemaTooNew, got {other:?}"),
        }
        db
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_database_is_a_clear_error() {
    let err = Store::open("postgres://tend:secret@127.0.0.1:1/tend").await.unwrap_err();
    let message = err.to_string();
    assert!(message.starts_with("cannot open the database postgres://tend:***@127.0.0.1:1/tend"), "{message}");
    assert!(!message.contains("secret"), "{message}");
}
