//! `tend backup plan set|list|delete`, `tend backup status`, `tend backup events` and
//! `tend backup restore`.
//!
//! The repository password comes from a file, never the command line (visible to every user of
//! the machine and kept in shell history), and is never printed.

use anyhow::{Context, bail};
use std::collections::HashMap;

use tend_proto::backup_api::{
    BackupEventEntry, BackupFindingEntry, BackupOverviewEntry, BackupPlanEntry, BackupPlanSettings, SetBackupPlan,
};
use tend_proto::backups::{BackupEvent, Retention, Secret};
use tend_proto::jobs::{Job, JobKind, JobStatus, NewJob, RestoreParams};

use super::hosts::resolve_host;
use crate::cli::{BackupCommand, BackupPlanCommand, BackupPlanSetArgs};
use crate::client::Api;
use crate::output::{Table, json, or_dash};

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
            // The server's backup rules decide (their thresholds are its `[backups]` policy);
            // a critical finding (backups stale past the critical bound, a failed check or
            // restore test) fails the command.
            let mut critical: Vec<String> = overview
                .iter()
                .flat_map(|e| e.findings.iter().map(move |f| (e, f)))
                .filter(|(_, f)| f.level == "critical")
                .map(|(e, f)| format!("{}: {} ({})", e.hostname, f.kind, f.target))
                .collect();
            critical.dedup();
            if !critical.is_empty() {
                bail!("critical backup findings: {}", critical.join(", "));
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
        BackupCommand::Restore { host, plan, snapshot, paths, target, ticket, no_wait, output } => {
            let host_id = resolve_host(&api, &host).await?;
            let params = RestoreParams { plan, snapshot, paths, target };
            // Checked here too, so that a typo is told before anything is asked of the server.
            params.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
            let new = NewJob { kind: JobKind::Restore, ticket_id: ticket, params: serde_json::to_value(&params)? };
            let job: Job = api.post(&format!("/api/v1/hosts/{host_id}/jobs"), &new).await?;
            if no_wait {
                if output.json {
                    return json(&job);
                }
                println!("Restore job {} queued on host {host_id}. Follow it with `tend job show {}`.", job.id, job.id);
                return Ok(());
            }
            if !output.json {
                eprintln!(
                    "Restore job {} queued on host {host_id}; waiting for its result (Ctrl-C stops waiting, not the restore).",
                    job.id
                );
            }
            let job = finished_job(&api, job.id).await?;
            let result = job.result.clone().unwrap_or_default();
            if output.json {
                json(&job)?;
            } else {
                println!("{}", result.output.trim_end());
            }
            if job.status != JobStatus::Succeeded {
                bail!("restore job {} {}", job.id, job.status.as_str());
            }
            Ok(())
        }
    }
}

/// Polls a job until it has ended; its agent picks it up within seconds, but a restore takes
/// as long as restic needs, so there is no deadline here.
async fn finished_job(api: &Api, id: i64) -> anyhow::Result<Job> {
    loop {
        let job: Job = api.get(&format!("/api/v1/jobs/{id}")).await?;
        if job.status.is_finished() {
            return Ok(job);
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
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

/// The worst finding of each host, over all its rows: critical before warning, the first one
/// of a level as the server ordered them.
fn worst_per_host(overview: &[BackupOverviewEntry]) -> HashMap<i64, &BackupFindingEntry> {
    let rank = |finding: &BackupFindingEntry| u8::from(finding.level == "critical");
    let mut worst: HashMap<i64, &BackupFindingEntry> = HashMap::new();
    for e in overview {
        for finding in &e.findings {
            let known = worst.entry(e.host_id).or_insert(finding);
            if rank(finding) > rank(known) {
                *known = finding;
            }
        }
    }
    worst
}

fn print_overview(overview: &[BackupOverviewEntry]) {
    let mut table = Table::new(&[
        "CLIENT",
        "HOST",
        "PLAN",
        "LAST GOOD BACKUP",
        "AGE",
        "LAST RUN",
        "RESTORE TEST",
        "CHECK",
        "WORST FINDING",
    ]);
    let mut worst = worst_per_host(overview);
    for e in overview {
        // On the host's first row only: the finding is the host's, not the plan's.
        let finding = worst.remove(&e.host_id).map(|f| format!("{} {} ({}): {}", f.level, f.kind, f.target, f.summary));
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
            or_dash(finding),
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
