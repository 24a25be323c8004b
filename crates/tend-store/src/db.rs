//! Opening the database: backend choice, connection settings, pools, migrations.

use std::time::{Duration, Instant};

use sqlx::AnyConnection;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

use crate::{Error, Result, migrate};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The handle every part of the server shares. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) backend: Backend,
    /// Reads. On PostgreSQL the same pool as `write`.
    pub(crate) read: AnyPool,
    /// Writes. On SQLite a single connection, which serializes writers in the pool's queue
    /// rather than in SQLite's busy handler.
    pub(crate) write: AnyPool,
}

impl Store {
    /// Opens (creating it for SQLite) the database at `url`, then applies pending migrations.
    ///
    /// `url` is `sqlite:///path/to/tend.db` or `postgres://user@host/db`.
    pub async fn open(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let target = redact(url);
        let backend = Backend::from_url(url).ok_or_else(|| Error::Open {
            target: target.clone(),
            cause: sqlx::Error::Configuration("expected a sqlite: or postgres:// URL".into()),
        })?;
        let open_err = |cause| Error::Open { target: target.clone(), cause };
        let store = match backend {
            Backend::Sqlite => {
                let url = sqlite_url(url);
                let write = sqlite_pool(1).connect(&url).await.map_err(open_err)?;
                let read = sqlite_pool(4).connect(&url).await.map_err(open_err)?;
                Store { backend, read, write }
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await
                    .map_err(open_err)?;
                Store { backend, read: pool.clone(), write: pool }
            }
        };
        migrate::run(&store).await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Round trip to the database; the time it took.
    pub async fn ping(&self) -> Result<Duration> {
        let started = Instant::now();
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(started.elapsed())
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

/// Creates the file when missing; keeps the journal in WAL mode so readers never block the
/// writer.
fn sqlite_url(url: &str) -> String {
    if url.contains('?') { url.to_owned() } else { format!("{url}?mode=rwc") }
}

fn sqlite_pool(connections: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(|conn, _| Box::pin(async move { sqlite_pragmas(conn).await }))
}

/// WAL for concurrent readers; `synchronous = FULL` because an acknowledged report must survive
/// a power cut, not only a crash; a busy timeout for the rare writer outside the write pool
/// (migrations, backups).
async fn sqlite_pragmas(conn: &mut AnyConnection) -> sqlx::Result<()> {
    for pragma in [
        "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = FULL",
        "PRAGMA foreign_keys = ON",
        "PRAGMA busy_timeout = 10000",
    ] {
        conn.execute(pragma).await?;
    }
    Ok(())
}

/// The URL without its password, for messages and logs.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redact("postgres://tend:s3cret@db/tend"), "postgres://tend:***@db/tend");
        assert_eq!(redact("postgres://db/tend"), "postgres://db/tend");
        assert_eq!(redact("sqlite:///var/lib/tend/tend.db"), "sqlite:///var/lib/tend/tend.db");
    }

    #[test]
    fn backends_by_scheme() {
        assert_eq!(Backend::from_url("sqlite:///x.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("postgresql://h/db"), Some(Backend::Postgres));
        assert_eq!(Backend::from_url("mysql://h/db"), None);
    }
}
