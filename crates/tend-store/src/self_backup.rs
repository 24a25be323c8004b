//! The control plane's own backup and restore: a consistent copy of tend's database, made while
//! the server runs, and putting one back while it does not.
//!
//! SQLite: `VACUUM INTO` a temporary name beside the target (a snapshot taken inside one read
//! transaction, so concurrent writers and the WAL are no concern), checked with
//! `integrity_check`, then renamed. PostgreSQL: `pg_dump --format=custom`, put back with
//! `pg_restore`. Next to every backup `FILE.json` records when it was made, so that monitoring
//! can ask whether the newest one is fresh without opening it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::str::FromStr;
use std::time::Duration;

use jiff::Timestamp;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection, Row};

use crate::{Backend, Store};

/// How long `pg_restore` waits for a table lock before giving up: a server still using the
/// database would otherwise make it wait forever.
const RESTORE_LOCK_TIMEOUT: &str = "-c lock_timeout=10s";

const SCHEMA_VERSION: &str = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";

#[derive(Debug, thiserror::Error)]
pub enum SelfBackupError {
    #[error("{0} exists already")]
    Exists(PathBuf),
    #[error("{path} is not a tend database backup: {reason}")]
    NotTend { path: PathBuf, reason: String },
    #[error("{0} is in use: stop the tend server before restoring")]
    InUse(String),
    #[error("{path}: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },
    #[error("{tool} failed: {message}")]
    Tool { tool: &'static str, message: String },
    #[error("{path} has no readable backup record ({path}.json): {reason}")]
    NoRecord { path: PathBuf, reason: String },
    #[error(transparent)]
    Store(#[from] crate::Error),
}

impl From<sqlx::Error> for SelfBackupError {
    fn from(cause: sqlx::Error) -> Self {
        SelfBackupError::Store(cause.into())
    }
}

type Result<T, E = SelfBackupError> = std::result::Result<T, E>;

/// What `FILE.json` says of a backup.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupRecord {
    pub made_at: Timestamp,
    pub size: u64,
    pub schema_version: i64,
    pub backend: Backend,
}

impl BackupRecord {
    /// The record written next to `backup` when it was made.
    pub fn read(backup: &Path) -> Result<BackupRecord> {
        let no_record = |reason: String| SelfBackupError::NoRecord { path: backup.to_owned(), reason };
        let text = std::fs::read_to_string(BackupRecord::path(backup)).map_err(|e| no_record(e.to_string()))?;
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| no_record(e.to_string()))?;
        let made_at = json["made_at"].as_str().and_then(|s| s.parse().ok());
        let backend = match json["backend"].as_str() {
            Some("sqlite") => Some(Backend::Sqlite),
            Some("postgres") => Some(Backend::Postgres),
            _ => None,
        };
        match (made_at, json["size"].as_u64(), json["schema_version"].as_i64(), backend) {
            (Some(made_at), Some(size), Some(schema_version), Some(backend)) => {
                Ok(BackupRecord { made_at, size, schema_version, backend })
            }
            _ => Err(no_record("expected made_at, size, schema_version and backend".into())),
        }
    }

    /// Where the record of `backup` is: `FILE.json`.
    pub fn path(backup: &Path) -> PathBuf {
        with_suffix(backup, ".json")
    }

    fn write(&self, backup: &Path) -> Result<()> {
        let json = serde_json::json!({
            "made_at": self.made_at.to_string(),
            "size": self.size,
            "schema_version": self.schema_version,
            "backend": self.backend.name(),
        });
        let path = BackupRecord::path(backup);
        std::fs::write(&path, format!("{json:#}\n")).map_err(|cause| SelfBackupError::Io { path, cause })
    }
}

/// What a restore put in place.
#[derive(Debug, Clone, PartialEq)]
pub struct Restored {
    /// The schema version of the restored database, after this build's pending migrations.
    pub schema_version: i64,
    /// SQLite: where the database that was replaced is kept.
    pub previous: Option<PathBuf>,
}

impl Store {
    /// Writes a consistent copy of the whole database to `file` while the server keeps running,
    /// and the record `FILE.json` beside it. An existing `file` is replaced only if `overwrite`.
    pub async fn self_backup(&self, file: &Path, overwrite: bool) -> Result<BackupRecord> {
        if !overwrite && file.exists() {
            return Err(SelfBackupError::Exists(file.to_owned()));
        }
        // Written under another name and renamed, so `file` is never a half-written backup.
        let partial = with_suffix(file, ".partial");
        remove_if_exists(&partial)?;
        let made_at = Timestamp::now();
        let made = match self.backend {
            Backend::Sqlite => self.sqlite_backup(&partial).await,
            Backend::Postgres => self.postgres_backup(&partial).await,
        };
        let schema_version = or_discard(made, &partial)?;
        std::fs::rename(&partial, file).map_err(|cause| io(file, cause))?;
        let size = std::fs::metadata(file).map_err(|cause| io(file, cause))?.len();
        let record = BackupRecord { made_at, size, schema_version, backend: self.backend };
        record.write(file)?;
        Ok(record)
    }

    /// `VACUUM INTO` on a read connection: a snapshot that never holds up the writer.
    async fn sqlite_backup(&self, partial: &Path) -> Result<i64> {
        let target = partial.to_str().ok_or_else(|| io(partial, std::io::Error::other("not a UTF-8 path")))?;
        sqlx::query("VACUUM INTO $1").bind(target).execute(&self.read).await?;
        inspect_sqlite(partial).await
    }

    async fn postgres_backup(&self, partial: &Path) -> Result<i64> {
        let schema_version = schema_version(self).await?;
        let url = self.write.connect_options().database_url.to_string();
        let mut dump = pg_command("pg_dump", &url)?;
        dump.arg("--format=custom").arg("--file").arg(partial);
        run_tool("pg_dump", dump).await?;
        inspect_dump(partial).await?;
        Ok(schema_version)
    }
}

/// Puts the backup `file` in place of the database at `url`. The server must be stopped: a
/// database in use is refused. On SQLite the replaced file is kept as `<db>.before-restore`.
pub async fn restore(url: &str, file: &Path) -> Result<Restored> {
    sqlx::any::install_default_drivers();
    match Backend::from_url(url) {
        Some(Backend::Sqlite) => restore_sqlite(url, file).await,
        Some(Backend::Postgres) => restore_postgres(url, file).await,
        None => Err(crate::Error::Open {
            target: crate::db::redact(url),
            cause: sqlx::Error::Configuration("expected a sqlite: or postgres:// URL".into()),
        }
        .into()),
    }
}

async fn restore_sqlite(url: &str, file: &Path) -> Result<Restored> {
    inspect_sqlite(file).await?;
    let options = SqliteConnectOptions::from_str(url)?;
    let database = options.get_filename().to_owned();
    let staged = with_suffix(&database, ".restoring");
    let checked = async {
        std::fs::copy(file, &staged).map_err(|cause| io(&staged, cause))?;
        // Opening the copy as the server would refuses a schema newer than this build and
        // applies this build's pending migrations, before anything is replaced.
        let store = Store::open(&format!("sqlite://{}", staged.display())).await?;
        let version = schema_version(&store).await;
        store.close().await;
        if database.exists() {
            ensure_unused(&database).await?;
        }
        version
    };
    let schema_version = or_discard(checked.await, &staged)?;
    let previous = with_suffix(&database, ".before-restore");
    let previous = match std::fs::rename(&database, &previous) {
        Ok(()) => Some(previous),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(cause) => return Err(io(&database, cause)),
    };
    std::fs::rename(&staged, &database).map_err(|cause| io(&database, cause))?;
    Ok(Restored { schema_version, previous })
}

/// Refuses a database another connection has open. Leaving WAL mode needs the only connection
/// (`BEGIN EXCLUSIVE` alone would not notice an idle server in WAL mode), and it folds the WAL
/// into the file, so the file kept as `.before-restore` is complete on its own.
async fn ensure_unused(database: &Path) -> Result<()> {
    let in_use = || SelfBackupError::InUse(database.display().to_string());
    // SQLITE_BUSY and SQLITE_LOCKED, with their extended codes (the low byte is the primary).
    let busy_or = |e: sqlx::Error| match &e {
        sqlx::Error::Database(db)
            if db.code().and_then(|c| c.parse::<i32>().ok()).is_some_and(|c| matches!(c & 0xff, 5 | 6)) =>
        {
            in_use()
        }
        _ => e.into(),
    };
    let options = SqliteConnectOptions::new().filename(database).busy_timeout(Duration::ZERO);
    let mut conn = SqliteConnection::connect_with(&options).await?;
    let mode: String = sqlx::query("PRAGMA journal_mode = DELETE").fetch_one(&mut conn).await.map_err(busy_or)?.get(0);
    if mode != "delete" {
        return Err(in_use());
    }
    sqlx::raw_sql("BEGIN EXCLUSIVE; COMMIT").execute(&mut conn).await.map_err(busy_or)?;
    conn.close().await?;
    Ok(())
}

async fn restore_postgres(url: &str, file: &Path) -> Result<Restored> {
    inspect_dump(file).await?;
    // Any other session is most likely a running server, which would lose its tables under it.
    let mut conn = sqlx::AnyConnection::connect(url)
        .await
        .map_err(|cause| crate::Error::Open { target: crate::db::redact(url), cause })?;
    let others: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() \
         AND backend_type = 'client backend'",
    )
    .fetch_one(&mut conn)
    .await?
    .try_get("n")?;
    conn.close().await?;
    if others > 0 {
        return Err(SelfBackupError::InUse(crate::db::redact(url)));
    }
    let mut pg_restore = pg_command("pg_restore", url)?;
    pg_restore
        .args(["--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error"])
        .env("PGOPTIONS", RESTORE_LOCK_TIMEOUT)
        .arg(file);
    run_tool("pg_restore", pg_restore).await?;
    // The restored schema through the usual door: too new is refused, older is migrated.
    let store = Store::open(url).await?;
    let schema_version = schema_version(&store).await;
    store.close().await;
    Ok(Restored { schema_version: schema_version?, previous: None })
}

async fn schema_version(store: &Store) -> Result<i64> {
    Ok(sqlx::query(SCHEMA_VERSION).fetch_one(&store.read).await?.try_get(0)?)
}

/// A SQLite file that is a whole tend database: it passes `integrity_check` and has applied
/// migrations. Its schema version.
async fn inspect_sqlite(path: &Path) -> Result<i64> {
    let not_tend = |reason: String| SelfBackupError::NotTend { path: path.to_owned(), reason };
    if !path.is_file() {
        return Err(not_tend("no such file".into()));
    }
    let options = SqliteConnectOptions::new().filename(path).read_only(true);
    let mut conn = SqliteConnection::connect_with(&options).await.map_err(|e| not_tend(e.to_string()))?;
    let checked = async {
        let integrity: String = sqlx::query("PRAGMA integrity_check").fetch_one(&mut conn).await?.get(0);
        if integrity != "ok" {
            return Ok(Err(format!("integrity check failed: {integrity}")));
        }
        let has_migrations: i64 =
            sqlx::query("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
                .fetch_one(&mut conn)
                .await?
                .get(0);
        if has_migrations == 0 {
            return Ok(Err("it has no schema_migrations table".to_owned()));
        }
        let version: i64 = sqlx::query(SCHEMA_VERSION).fetch_one(&mut conn).await?.get(0);
        Ok::<_, sqlx::Error>(if version > 0 { Ok(version) } else { Err("no migration was applied".to_owned()) })
    };
    // "file is not a database" and its kin are answers about the file, not database failures.
    let outcome = checked.await.map_err(|e| not_tend(e.to_string()))?;
    conn.close().await?;
    outcome.map_err(not_tend)
}

/// A `pg_dump --format=custom` archive holding tend's migrations table.
async fn inspect_dump(path: &Path) -> Result<()> {
    let not_tend = |reason: &str| SelfBackupError::NotTend { path: path.to_owned(), reason: reason.to_owned() };
    let mut list = tokio::process::Command::new("pg_restore");
    list.arg("--list").arg(path);
    let listing = run_tool("pg_restore", list).await.map_err(|_| not_tend("not a pg_dump custom-format archive"))?;
    if listing.lines().any(|line| line.contains(" TABLE public schema_migrations ")) {
        Ok(())
    } else {
        Err(not_tend("it has no schema_migrations table"))
    }
}

/// `tool` pointed at `url`, the password handed over in `PGPASSWORD` so that it shows neither
/// in the process list nor in any message.
fn pg_command(tool: &'static str, url: &str) -> Result<tokio::process::Command> {
    let mut url = sqlx::any::AnyConnectOptions::from_str(url)?.database_url;
    let mut command = tokio::process::Command::new(tool);
    if let Some(password) = url.password().map(percent_decode) {
        command.env("PGPASSWORD", password);
        // Only fails for URLs that cannot have a password, and this one has one.
        let _ = url.set_password(None);
    }
    command.arg("--dbname").arg(url.as_str());
    Ok(command)
}

/// Runs `command` to the end; its standard output, or its standard error as the failure.
async fn run_tool(tool: &'static str, mut command: tokio::process::Command) -> Result<String> {
    let output = command.stdin(Stdio::null()).output().await.map_err(|e| SelfBackupError::Tool {
        tool,
        message: if e.kind() == std::io::ErrorKind::NotFound {
            format!("{tool} is not installed (PostgreSQL client tools, same major version as the server)")
        } else {
            e.to_string()
        },
    })?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        let message = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        Err(SelfBackupError::Tool { tool, message: format!("{} ({})", message, output.status) })
    }
}

/// `%40` back to `@`: a URL's password is percent-encoded, libpq wants it as typed.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                i += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// `result`, the temporary file at `path` removed when it is an error.
fn or_discard<T>(result: Result<T>, path: &Path) -> Result<T> {
    if result.is_err() {
        let _ = std::fs::remove_file(path);
    }
    result
}

fn remove_if_exists(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(path, e)),
        _ => Ok(()),
    }
}

fn io(path: &Path, cause: std::io::Error) -> SelfBackupError {
    SelfBackupError::Io { path: path.to_owned(), cause }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_decoded_for_libpq() {
        assert_eq!(percent_decode("p%40ss%2Fw%3Ard"), "p@ss/w:rd");
        assert_eq!(percent_decode("100%"), "100%");
    }

    #[test]
    fn the_password_leaves_the_command_line() {
        let command = pg_command("pg_dump", "postgres://tend:s%40cret@db:5432/tend").unwrap();
        let command = command.as_std();
        let args: Vec<_> = command.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(args, ["--dbname", "postgres://tend@db:5432/tend"]);
        let password = command.get_envs().find(|(k, _)| *k == "PGPASSWORD").and_then(|(_, v)| v);
        assert_eq!(password.map(|v| v.to_string_lossy().into_owned()), Some("s@cret".to_owned()));
    }
}
