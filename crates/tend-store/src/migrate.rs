//! Embedded, append-only schema migrations, one list per backend.
//!
//! Never edit a released migration: add the next one to both lists.

use sqlx::{Acquire, Row};

use crate::{Backend, Error, Result, Store};

const SQLITE: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../migrations/sqlite/0002_inventory.sql")),
    (3, include_str!("../migrations/sqlite/0003_monitoring.sql")),
    (4, include_str!("../migrations/sqlite/0004_probes.sql")),
    (5, include_str!("../migrations/sqlite/0005_routing.sql")),
    (6, include_str!("../migrations/sqlite/0006_service_desk.sql")),
    (7, include_str!("../migrations/sqlite/0007_patching.sql")),
    (8, include_str!("../migrations/sqlite/0008_rollouts.sql")),
    (9, include_str!("../migrations/sqlite/0009_patch_policies.sql")),
    (10, include_str!("../migrations/sqlite/0010_backups.sql")),
    (11, include_str!("../migrations/sqlite/0011_pings.sql")),
];
const POSTGRES: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_init.sql")),
    (2, include_str!("../migrations/postgres/0002_inventory.sql")),
    (3, include_str!("../migrations/postgres/0003_monitoring.sql")),
    (4, include_str!("../migrations/postgres/0004_probes.sql")),
    (5, include_str!("../migrations/postgres/0005_routing.sql")),
    (6, include_str!("../migrations/postgres/0006_service_desk.sql")),
    (7, include_str!("../migrations/postgres/0007_patching.sql")),
    (8, include_str!("../migrations/postgres/0008_rollouts.sql")),
    (9, include_str!("../migrations/postgres/0009_patch_policies.sql")),
    (10, include_str!("../migrations/postgres/0010_backups.sql")),
    (11, include_str!("../migrations/postgres/0011_pings.sql")),
];

/// Key of the PostgreSQL advisory lock that serializes migrations of concurrently starting
/// instances.
const MIGRATION_LOCK: i64 = 0x7465_6e64_6d69_6772; // "tendmigr"

pub(crate) async fn run(store: &Store) -> Result<()> {
    let migrations = match store.backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    let mut conn = store.write.acquire().await?;
    if store.backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_lock($1)").bind(MIGRATION_LOCK).execute(&mut *conn).await?;
    }
    let outcome = apply(&mut conn, migrations).await;
    if store.backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_unlock($1)").bind(MIGRATION_LOCK).execute(&mut *conn).await?;
    }
    outcome
}

async fn apply(conn: &mut sqlx::AnyConnection, migrations: &[(i64, &str)]) -> Result<()> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .execute(&mut *conn)
    .await?;
    let current: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
        .fetch_one(&mut *conn)
        .await?
        .try_get("v")?;
    let known = migrations.last().map_or(0, |m| m.0);
    if current > known {
        return Err(Error::SchemaTooNew { found: current, known });
    }
    for &(version, sql) in migrations.iter().filter(|m| m.0 > current) {
        let failed = |cause| Error::Migration { version, cause };
        let mut tx = conn.begin().await.map_err(failed)?;
        sqlx::raw_sql(sql).execute(&mut *tx).await.map_err(failed)?;
        sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
            .bind(version)
            .bind(jiff::Timestamp::now().as_millisecond())
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        tx.commit().await.map_err(failed)?;
        tracing::info!(version, "applied schema migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_know_the_same_versions_in_order() {
        let versions = |list: &[(i64, &str)]| list.iter().map(|m| m.0).collect::<Vec<_>>();
        assert_eq!(versions(SQLITE), versions(POSTGRES));
        assert!(versions(SQLITE).windows(2).all(|w| w[1] == w[0] + 1));
    }
}
