//! `tend backup plan set|list|delete`, `tend backup status` and `tend backup events`.
//!
//! The repository password comes from a file, never the command line (visible to every user of
//! the machine and kept in shell history), and is never printed.

use anyhow::{Context, bail};
use tend_proto::backup_api::{
    BackupEventEntry, BackupOverviewEntry, BackupPlanEntry, BackupPlanSettings, SetBackupPlan,
};
use tend_proto::backups::{BackupEvent, Retention, Secret};

use super::hosts::resolve_host;
use crate::cli::{BackupCommand, BackupPlanCommand, BackupPlanSetArgs};
use crate::client::Api;
use crate::output::{Table, json, or_dash};

/// A plan whose last good backup is older than this fails `tend backup status`.
const STALE_AFTER_SECS: i64 = 2 * 86_400;

pub async fn run(command: BackupCommand) -> anyhow::Result<()> {
    let api = Api::logged_in()?;
    match command {
        BackupCommand::Plan(command) => plan(&api, command).await,
        BackupCommand::Status { client, output } => {
            let query = client.map(|c| format!("?client={c}")).unwrap_or_default();
            let overview: Vec<BackupOverviewEntry> = api.get(&format!("/api/v1/backups/overview{query}")).await?;
            if output.json {
                json(&overview)?;
            } else {
                print_overview(&overview);
            }
            let stale: Vec<String> = overview
                .iter()
                .filter(|e| e.plan.is_some() && e.last_good_backup_age_secs.is_none_or(|age| age > STALE_AFTER_SECS))
                .map(|e| format!("{}/{}", e.hostname, e.plan.as_deref().unwrap_or_default()))
                .collect();
            if !stale.is_empty() {
                bail!("no good backup within 2 days: {}", stale.join(", "));
            }
            Ok(())
        }
        BackupCommand::Events { host, limit, output } => {
            let id = resolve_host(&api, &host).await?;
            let events: Vec<BackupEventEntry> =
                api.get(&format!("/api/v1/hosts/{id}/backup-events?limit={limit}")).await?;
            if output.json {
                return json(&events);
            }
            let mut table = Table::new(&["STARTED", "PLAN", "KIND", "OK", "SECS", "WHAT"]);
            for e in &events {
                let (plan, _, duration_ms) = e.event.run();
                table.row(vec![
                    e.started_at.clone(),
                    plan.to_owned(),
                    e.event.kind().to_owned(),
                    yes_no(e.event.ok()),
                    (duration_ms / 1000).to_string(),
                    what(&e.event),
                ]);
            }
            print!("{}", table.render());
            Ok(())
        }
    }
}

async fn plan(api: &Api, command: BackupPlanCommand) -> anyhow::Result<()> {
    match command {
        BackupPlanCommand::Set(args) => {
            let BackupPlanSetArgs {
                host,
                name,
                repository,
                password_file,
                paths,
                excludes,
                schedule,
                keep_daily,
                keep_weekly,
                keep_monthly,
                pre_hook,
                post_hook,
                output,
            } = *args;
            let id = resolve_host(api, &host).await?;
            let defaults = Retention::default();
            let retention = Retention {
                keep_daily: keep_daily.unwrap_or(defaults.keep_daily),
                keep_weekly: keep_weekly.unwrap_or(defaults.keep_weekly),
                keep_monthly: keep_monthly.unwrap_or(defaults.keep_monthly),
                keep_within_days: defaults.keep_within_days,
            };
            let settings = BackupPlanSettings {
                excludes,
                pre_hook,
                post_hook,
                schedule,
                retention,
                ..BackupPlanSettings::new(repository, paths)
            };
            let password = password_file.map(|path| read_password(&path)).transpose()?;
            let body = SetBackupPlan { settings, password };
            let stored: BackupPlanEntry = api.put(&format!("/api/v1/hosts/{id}/backup-plans/{name}"), &body).await?;
            if output.json {
                return json(&stored);
            }
            println!("Backup plan '{}' of host {id} set: daily at {}.", stored.name, stored.settings.schedule);
        }
        BackupPlanCommand::List { host, output } => {
            let id = resolve_host(api, &host).await?;
            let plans: Vec<BackupPlanEntry> = api.get(&format!("/api/v1/hosts/{id}/backup-plans")).await?;
            if output.json {
                return json(&plans);
            }
            let mut table = Table::new(&["NAME", "REPOSITORY", "PATHS", "DAILY AT", "KEEP D/W/M", "UPDATED"]);
            for p in &plans {
                let r = &p.settings.retention;
                table.row(vec![
                    p.name.clone(),
                    p.settings.repository.clone(),
                    p.settings.paths.join(" "),
                    p.settings.schedule.clone(),
                    format!("{}/{}/{}", r.keep_daily, r.keep_weekly, r.keep_monthly),
                    p.updated_at.clone(),
                ]);
            }
            print!("{}", table.render());
        }
        BackupPlanCommand::Delete { host, name } => {
            let id = resolve_host(api, &host).await?;
            api.delete(&format!("/api/v1/hosts/{id}/backup-plans/{name}")).await?;
            println!("Backup plan '{name}' of host {id} deleted.");
        }
    }
    Ok(())
}

/// The password file's content; one trailing line break is the editor's, not the password's.
fn read_password(path: &std::path::Path) -> anyhow::Result<Secret> {
    let mut text =
        std::fs::read_to_string(path).with_context(|| format!("reading the password file {}", path.display()))?;
    text.truncate(text.trim_end_matches(['\r', '\n']).len());
    Ok(Secret::new(text))
}

fn print_overview(overview: &[BackupOverviewEntry]) {
    let mut table =
        Table::new(&["CLIENT", "HOST", "PLAN", "LAST GOOD BACKUP", "AGE", "LAST RUN", "RESTORE TEST", "CHECK"]);
    for e in overview {
        let run = |last: &Option<tend_proto::backup_api::LastRun>| {
            or_dash(last.as_ref().map(|l| format!("{} {}", if l.ok { "ok" } else { "FAILED" }, l.at)))
        };
        table.row(vec![
            e.client.clone(),
            e.hostname.clone(),
            or_dash(e.plan.as_deref()),
            or_dash(e.last_good_backup_at.as_deref()),
            or_dash(e.last_good_backup_age_secs.map(age)),
            run(&e.last_backup),
            run(&e.last_restore_test),
            run(&e.last_check),
        ]);
    }
    print!("{}", table.render());
}

/// An age in the largest whole unit that fits.
fn age(secs: i64) -> String {
    match secs {
        ..3600 => format!("{}m", secs / 60),
        3600..86_400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}

fn yes_no(ok: bool) -> String {
    if ok { "yes" } else { "no" }.to_owned()
}

/// One line on what the work did.
fn what(event: &BackupEvent) -> String {
    match event {
        BackupEvent::Backup(r) => format!(
            "snapshot {}, {} new, {} changed, {} bytes added{}",
            r.snapshot_id.as_deref().unwrap_or("-"),
            r.files_new,
            r.files_changed,
            r.data_added_bytes,
            first_error(&r.errors)
        ),
        BackupEvent::Forget(r) => format!(
            "{} removed, {} kept{}",
            r.removed_snapshots,
            r.kept_snapshots,
            r.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
        ),
        BackupEvent::Check(r) => format!("read {}{}", r.read_data_subset, first_error(&r.errors)),
        BackupEvent::RestoreTest(r) => format!(
            "{} sampled, {} verified, {} compared live{}{}",
            r.files_sampled,
            r.files_verified,
            r.files_compared_live,
            first_error(&r.mismatches),
            r.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
        ),
    }
}

fn first_error(errors: &[String]) -> String {
    errors.first().map(|e| format!(": {e}")).unwrap_or_default()
}
