//! The shared store suite: every test runs on SQLite, and on PostgreSQL when
//! `TEND_TEST_DATABASE_URL` is set.

mod alerts;
mod backups;
mod contacts;
mod enrollment;
mod ingest;
mod jobs;
mod patch_policies;
mod patch_summaries;
mod patching;
mod pings;
mod probes;
mod rollouts;
mod schema;
mod self_backup;
mod tenancy;
mod tickets;
mod users;
mod vault;

use jiff::Timestamp;
use tend_core::tenancy::Scope;
use tend_store::testing::TestDatabase;
use tend_store::{Enrolled, NewEnrollmentToken, Store};

/// Runs `test` once per backend on a fresh database.
async fn each_backend<F, Fut>(test: F)
where
    F: Fn(Store, TestDatabase) -> Fut,
    Fut: std::future::Future<Output = TestDatabase>,
{
    for db in TestDatabase::all().await {
        let store = db.open().await;
        let backend = db.backend;
        eprintln!("backend: {backend:?}");
        let db = test(store.clone(), db).await;
        store.close().await;
        db.remove().await;
    }
}

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

/// A client with one enrolled host; returns (client id, enrollment).
async fn client_with_host(store: &Store, name: &str) -> (i64, Enrolled) {
    let client = store.create_client(name, at(0)).await.unwrap();
    let token_hash = format!("token-of-{name}");
    let token = NewEnrollmentToken {
        client_id: client.id,
        site_id: None,
        token_hash: &token_hash,
        created_by: None,
        expires_at: at(3600),
        uses: 1,
    };
    store.create_enrollment_token(Scope::AllClients, token, at(0)).await.unwrap();
    let enrolled =
        store.enroll_agent(&token_hash, &format!("{name}-srv1"), None, &format!("cred-{name}"), at(1)).await.unwrap();
    (client.id, enrolled)
}
