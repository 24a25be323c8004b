//! Fresh databases for tests: SQLite always, PostgreSQL when `TEND_TEST_DATABASE_URL` names a
//! server (any database on it; each test database is created beside it and dropped after).

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;

use crate::{Backend, Store};

/// The environment variable that turns on the PostgreSQL half of every test.
pub const POSTGRES_URL_VAR: &str = "TEND_TEST_DATABASE_URL";

/// A database that exists for one test.
pub struct TestDatabase {
    pub url: String,
    pub backend: Backend,
    /// Removed with `self`.
    _directory: Option<tempfile::TempDir>,
    /// (admin URL, database name) of a PostgreSQL test database, dropped by `remove`.
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// One fresh database per configured backend.
    pub async fn all() -> Vec<TestDatabase> {
        let mut databases = vec![TestDatabase::sqlite()];
        if let Ok(admin_url) = std::env::var(POSTGRES_URL_VAR) {
            databases.push(TestDatabase::postgres(&admin_url).await);
        }
        databases
    }

    pub fn sqlite() -> TestDatabase {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("tend.db").display());
        TestDatabase { url, backend: Backend::Sqlite, _directory: Some(dir), postgres: None }
    }

    pub async fn postgres(admin_url: &str) -> TestDatabase {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "tend_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            jiff::Timestamp::now().as_millisecond() % 1_000_000
        );
        sqlx::any::install_default_drivers();
        let mut admin = sqlx::AnyConnection::connect(admin_url).await.expect("connect to the test PostgreSQL");
        sqlx::raw_sql(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create database");
        let url = with_database(admin_url, &name);
        TestDatabase { url, backend: Backend::Postgres, _directory: None, postgres: Some((admin_url.to_owned(), name)) }
    }

    pub async fn open(&self) -> Store {
        Store::open(&self.url).await.expect("open test store")
    }

    /// Drops a PostgreSQL test database; SQLite's directory goes with `self`.
    pub async fn remove(self) {
        if let Some((admin_url, name)) = &self.postgres
            && let Ok(mut admin) = sqlx::AnyConnection::connect(admin_url).await
        {
            let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await;
        }
    }
}

/// `postgres://u@h:5432/postgres?x=y` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let base = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_is_replaced() {
        use super::with_database;
        assert_eq!(with_database("postgres://u@h:5432/postgres", "t1"), "postgres://u@h:5432/t1");
        assert_eq!(with_database("postgres://u@h", "t1"), "postgres://u@h/t1");
        assert_eq!(with_database("postgres://h/db?sslmode=disable", "t"), "postgres://h/t?sslmode=disable");
    }
}
