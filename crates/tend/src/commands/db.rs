//! `tend db`: the control plane's own database: backup, freshness check, restore.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, bail};
use clap::error::ErrorKind;
use jiff::{SignedDuration, Timestamp};
use tend_store::{Backend, BackupRecord, SelfBackupError, Store};

use crate::cli::{DbBackupArgs, DbCommand, DbRestoreArgs};
use crate::output;

pub async fn run(command: DbCommand) -> anyhow::Result<()> {
    match command {
        DbCommand::Backup(args) if args.check => check(&args.file, args.max_age, args.output.json),
        DbCommand::Backup(args) => backup(args).await,
        DbCommand::Restore(args) => restore(args).await,
    }
}

async fn backup(args: DbBackupArgs) -> anyhow::Result<()> {
    let config = super::server::config(&args.server)?;
    let url = config.database_url();
    // Read-write but never create: a mistyped path must fail, not back up a new empty database.
    let url = if Backend::from_url(&url) == Some(Backend::Sqlite) && !url.contains('?') {
        format!("{url}?mode=rw")
    } else {
        url
    };
    let store = Store::open(&url).await?;
    let made = store.self_backup(&args.file, args.force).await;
    store.close().await;
    let record = match made {
        Err(e @ SelfBackupError::Exists(_)) => bail!("{e}; --force replaces it"),
        made => made.with_context(|| format!("backing up to {}", args.file.display()))?,
    };
    if args.output.json {
        return output::json(&record_json(&args.file, &record));
    }
    println!(
        "backed up to {} ({} bytes, {} schema version {}); record in {}",
        args.file.display(),
        record.size,
        record.backend.name(),
        record.schema_version,
        BackupRecord::path(&args.file).display()
    );
    Ok(())
}

/// Fresh means: the record reads, the file is there with the recorded size, and it was made
/// within `max_age`. Anything else fails, so a monitoring check never takes silence for success.
fn check(file: &Path, max_age: SignedDuration, json: bool) -> anyhow::Result<()> {
    let record = BackupRecord::read(file)?;
    let size = std::fs::metadata(file).with_context(|| format!("{}", file.display()))?.len();
    if size != record.size {
        bail!("{} has {size} bytes, its record says {}: not the backup that was made", file.display(), record.size);
    }
    let age = Timestamp::now().duration_since(record.made_at);
    if age > max_age {
        bail!("{} is stale: made {:#} ago ({}), more than {max_age:#}", file.display(), round(age), record.made_at);
    }
    if json {
        return output::json(&record_json(file, &record));
    }
    println!("fresh: {} made {:#} ago ({})", file.display(), round(age), record.made_at);
    Ok(())
}

async fn restore(args: DbRestoreArgs) -> anyhow::Result<()> {
    let config = super::server::config(&args.server)?;
    let url = config.database_url();
    if !args.yes && !confirmed(&args.file)? {
        bail!("not restored");
    }
    let restored =
        tend_store::restore(&url, &args.file).await.with_context(|| format!("restoring {}", args.file.display()))?;
    println!("restored {} (schema version {})", args.file.display(), restored.schema_version);
    if let Some(previous) = restored.previous {
        println!("the replaced database is kept as {}", previous.display());
    }
    println!("start the server again");
    Ok(())
}

/// Asks on the terminal; without one `--yes` is required, a usage error (exit 2) like clap's.
fn confirmed(file: &Path) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        clap::Error::raw(ErrorKind::MissingRequiredArgument, "without a terminal to ask on, pass --yes\n").exit();
    }
    print!("Replace the server's database with {}? Stop the server first. [y/N] ", file.display());
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

fn record_json(file: &Path, record: &BackupRecord) -> serde_json::Value {
    serde_json::json!({
        "file": file,
        "made_at": record.made_at,
        "size": record.size,
        "schema_version": record.schema_version,
        "backend": record.backend.name(),
    })
}

/// Ages to the second: "1h 2m 3s", not nanoseconds.
fn round(age: SignedDuration) -> SignedDuration {
    SignedDuration::from_secs(age.as_secs())
}
