//! The scheduled backup of the server's own database (`[self_backup]`): every `every_hours` a
//! `tend-YYYYMMDDTHHMMSSZ.db` (`.dump` on PostgreSQL) in `dir`, keeping the newest `keep`.
//!
//! When a backup is due is read from the newest backup's record, not kept in memory, so a
//! restarted server neither backs up again at once nor forgets one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tend_store::{Backend, BackupRecord, SelfBackupError};
use tokio::sync::watch;

use crate::AppState;

/// How often the timer looks whether a backup is due: backups run at most this late.
const CHECK_EVERY: Duration = Duration::from_secs(300);
const PREFIX: &str = "tend-";
const TIME_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// Runs until `stop` turns true; returns at once when no `dir` is configured.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let config = &state.config.self_backup;
    if config.dir.as_os_str().is_empty() {
        return;
    }
    let mut check = tokio::time::interval(CHECK_EVERY);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = check.tick() => {
                if let Err(e) = backup_if_due(&state, Timestamp::now()).await {
                    state.telemetry.self_backup_failures.inc();
                    tracing::error!(error = %e, dir = %config.dir.display(), "self-backup failed");
                }
            }
            _ = stop.changed() => break,
        }
    }
}

async fn backup_if_due(state: &AppState, now: Timestamp) -> Result<(), SelfBackupError> {
    let config = &state.config.self_backup;
    let io = |cause| SelfBackupError::Io { path: config.dir.clone(), cause };
    std::fs::create_dir_all(&config.dir).map_err(io)?;
    let mut backups = backups_in(&config.dir).map_err(io)?;
    let every = SignedDuration::from_hours(i64::from(config.every_hours));
    // A newest backup without a readable record is no proof of a backup: make one.
    let last = backups.last().and_then(|newest| BackupRecord::read(newest).ok());
    if last.is_some_and(|record| now.duration_since(record.made_at) < every) {
        return Ok(());
    }
    let file = config.dir.join(file_name(state.store.backend(), now));
    let record = state.store.self_backup(&file, false).await?;
    tracing::info!(file = %file.display(), size = record.size, schema_version = record.schema_version, "self-backup made");
    backups.push(file);
    let surplus = backups.len().saturating_sub(usize::try_from(config.keep).unwrap_or(usize::MAX));
    for old in &backups[..surplus] {
        let record = BackupRecord::path(old);
        for path in [old, &record] {
            if let Err(cause) = std::fs::remove_file(path)
                && cause.kind() != std::io::ErrorKind::NotFound
            {
                return Err(SelfBackupError::Io { path: path.clone(), cause });
            }
        }
        tracing::info!(file = %old.display(), "old self-backup removed");
    }
    Ok(())
}

fn file_name(backend: Backend, at: Timestamp) -> String {
    let extension = match backend {
        Backend::Sqlite => "db",
        Backend::Postgres => "dump",
    };
    format!("{PREFIX}{}.{extension}", at.strftime(TIME_FORMAT))
}

/// The scheduled backups in `dir`, oldest first (their names sort by time). Only names this
/// timer writes count: other files in `dir` are never removed.
fn backups_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut backups = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let time = name.strip_prefix(PREFIX).and_then(|n| n.strip_suffix(".db").or_else(|| n.strip_suffix(".dump")));
        if time.is_some_and(|t| jiff::civil::DateTime::strptime(TIME_FORMAT, t).is_ok()) {
            backups.push(path);
        }
    }
    backups.sort();
    Ok(backups)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_timers_own_files_are_backups() {
        let dir = tempfile::tempdir().unwrap();
        let at = Timestamp::from_second(1_800_000_000).unwrap();
        let name = file_name(Backend::Sqlite, at);
        assert_eq!(name, "tend-20270115T080000Z.db");
        let older = file_name(Backend::Postgres, at - SignedDuration::from_hours(24));
        for file in [name.as_str(), older.as_str(), "tend-20270115T080000Z.db.json", "tend-notes.db", "other.db"] {
            std::fs::write(dir.path().join(file), "").unwrap();
        }
        assert_eq!(backups_in(dir.path()).unwrap(), [dir.path().join(older), dir.path().join(name)]);
    }

    #[tokio::test]
    async fn a_backup_is_made_when_due_and_only_the_newest_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            tend_store::Store::open(&format!("sqlite://{}", dir.path().join("tend.db").display())).await.unwrap();
        let backups = dir.path().join("backups");
        let mut config = crate::Config::default();
        config.self_backup = crate::config::SelfBackupConfig { dir: backups.clone(), every_hours: 24, keep: 2 };
        let state = AppState::new(store.clone(), config);
        let start = Timestamp::now();
        for hours in [0, 1, 25, 50] {
            backup_if_due(&state, start + SignedDuration::from_hours(hours)).await.unwrap();
        }
        let kept =
            [25, 50].map(|hours| backups.join(file_name(Backend::Sqlite, start + SignedDuration::from_hours(hours))));
        assert_eq!(backups_in(&backups).unwrap(), kept);
        assert!(kept.iter().all(|backup| BackupRecord::read(backup).is_ok()));
        assert_eq!(std::fs::read_dir(&backups).unwrap().count(), 4, "two backups, two records");
        store.close().await;
    }
}
