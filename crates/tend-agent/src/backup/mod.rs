//! Backups with restic: the work a plan from the server asks for (back up, apply the retention,
//! check the repository, prove it with a restore test), each turned into the
//! [`BackupEvent`] the agent reports.
//!
//! What every piece of work must do:
//! - end with an event, never a panic or a silence: a plan that does not validate, a missing
//!   restic, a hung one are all failed events that say why;
//! - never outlive its deadline (`[backup]` timeouts): restic is killed with SIGKILL, and the
//!   lock it leaves is removed by the next run (`restic unlock` removes only stale locks);
//! - never let the repository password out: it reaches restic through its environment only,
//!   and is blanked from anything restic prints;
//! - run only hooks this host's configuration names: a plan names a hook, never a command.
//!
//! Must not: schedule itself (the scheduler decides when, from the plan), or talk to the
//! server. These functions block; a scheduler runs them on a blocking thread: [`runner`], with
//! the plans kept on disk (`plans`), the pure timetable (`schedule`) and the queue of events
//! for the next report ([`events`]).

pub mod events;
mod parse;
mod plans;
mod restic;
mod restore;
mod restore_test;
pub mod runner;
mod schedule;

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

pub use parse::Snapshot;
pub use restore::restore;
pub use restore_test::restore_test;
use tend_proto::backups::{BackupEvent, BackupPlan, BackupRun, CheckRun, ForgetRun, bounded_errors};

use crate::Error;
use crate::collect::tool;
use crate::config::BackupConfig;
use parse::BackupMessage;
use restic::Restic;

/// Whether a backup may create the plan's repository when it finds none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repository {
    /// The plan never made a snapshot: a missing repository is created.
    MayInitialise,
    /// The plan made snapshots before: a missing repository is a failure, never silently
    /// replaced by an empty one (an unmounted backup disk would otherwise look healthy).
    MustExist,
}

/// Backs up the plan's paths: pre hook, `restic backup` (initializing the repository the first
/// time, as `repository` allows), post hook. Exit code 3 of restic (some files unreadable) is a
/// failure with a snapshot.
pub fn run_backup(config: &BackupConfig, plan: &BackupPlan, repository: Repository) -> BackupEvent {
    let (started_at_ms, clock) = start();
    let mut run = BackupRun { plan: plan.name.clone(), started_at_ms, ..BackupRun::default() };
    let mut errors = Vec::new();
    match plan.validate() {
        Err(invalid) => errors.push(format!("invalid plan: {invalid}")),
        Ok(()) => {
            let pre = plan.pre_hook.as_deref().map(|hook| run_hook(config, hook));
            match pre {
                Some(Err(failed)) => errors.push(format!("pre hook failed, restic not run: {failed}")),
                _ => back_up(config, plan, repository, &mut run, &mut errors),
            }
            // The post hook undoes what the pre hook did (restart a service, remove a dump),
            // so it runs whenever the backup was attempted.
            if let Some(Err(failed)) = plan.post_hook.as_deref().map(|hook| run_hook(config, hook)) {
                errors.push(format!("post hook failed: {failed}"));
            }
        }
    }
    run.ok = errors.is_empty() && run.exit_code == Some(0);
    run.errors = bounded_errors(errors);
    run.duration_ms = elapsed_ms(clock);
    BackupEvent::Backup(run)
}

fn back_up(
    config: &BackupConfig,
    plan: &BackupPlan,
    repository: Repository,
    run: &mut BackupRun,
    errors: &mut Vec<String>,
) {
    let may_initialise = repository == Repository::MayInitialise;
    let opened =
        Restic::open(config, plan).and_then(|restic| restic.ensure_repository(may_initialise).map(|()| restic));
    let restic = match opened {
        Ok(restic) => restic,
        Err(e) => return errors.push(e.to_string()),
    };
    let mut args = vec!["backup", "--json", "--tag", restic.tag()];
    for exclude in &plan.excludes {
        args.extend(["--exclude", exclude]);
    }
    args.push("--");
    args.extend(plan.paths.iter().map(String::as_str));
    // Status lines arrive many times a second on a long backup; only the summary and the
    // errors are kept, line by line, so memory stays flat.
    let ran = restic.stream(&args, Duration::from_secs(config.backup_timeout_secs), |stdout| {
        let mut summary = None;
        let mut item_errors = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            match parse::backup_message(&line) {
                Some(BackupMessage::Summary(found)) => summary = Some(found),
                Some(BackupMessage::Error(error)) => item_errors.push(error),
                None => {}
            }
        }
        (summary, item_errors)
    });
    let ran = match ran {
        Ok(ran) => ran,
        Err(e) => return errors.push(e.to_string()),
    };
    run.exit_code = ran.code;
    let (summary, stdout_errors) = &ran.stdout;
    if let Some(summary) = summary {
        run.snapshot_id = summary.snapshot_id.clone();
        run.files_new = summary.files_new;
        run.files_changed = summary.files_changed;
        run.files_unmodified = summary.files_unmodified;
        run.data_added_bytes = summary.data_added;
        run.total_bytes_processed = summary.total_bytes_processed;
    }
    // restic 0.14 writes its item errors as JSON on stderr, newer releases on stdout.
    let mut item_errors = stdout_errors.clone();
    item_errors.extend(ran.stderr.lines().filter_map(parse::backup_message).filter_map(|m| match m {
        BackupMessage::Error(error) => Some(error),
        BackupMessage::Summary(_) => None,
    }));
    // restic 0.14 skips a missing path with a line of text and exits 0; a plan whose path is
    // gone must not look healthy.
    item_errors.extend(ran.stderr.lines().filter(|line| line.ends_with("does not exist, skipping")).map(str::to_owned));
    match ran.code {
        Some(0) => errors.extend(item_errors),
        Some(3) => {
            errors.push("the snapshot was made, but some files could not be read".into());
            errors.extend(item_errors);
        }
        _ => {
            errors.push(restic.failure("backup", &ran).to_string());
            errors.extend(item_errors);
        }
    }
}

/// Runs a hook named by the plan, as this host's configuration defines it.
fn run_hook(config: &BackupConfig, name: &str) -> Result<(), String> {
    let Some((program, args)) = config.hooks.get(name).and_then(|command| command.split_first()) else {
        return Err(format!("no hook {name:?} in this agent's [backup.hooks]"));
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = tool::run(program, &args, Duration::from_secs(config.hook_timeout_secs)).map_err(|e| e.to_string())?;
    if out.status.success() {
        return Ok(());
    }
    let said = out.stderr.lines().chain(out.stdout.lines()).rfind(|line| !line.trim().is_empty()).unwrap_or("");
    Err(format!("{name} ({program}) ended with {}: {said}", out.status))
}

/// The plan's snapshots, oldest first.
pub fn snapshots(config: &BackupConfig, plan: &BackupPlan) -> Result<Vec<Snapshot>, Error> {
    let restic = Restic::open(config, plan)?;
    let ran = restic.run(&["snapshots", "--json", "--tag", restic.tag()], restic.command_timeout())?;
    if !ran.ok() {
        return Err(restic.failure("snapshots", &ran));
    }
    parse::snapshots(&ran.stdout).map_err(Error::Failed)
}

/// Forgets the plan's snapshots its retention does not keep and prunes the data only they
/// used. The plan's snapshots are one group per host (`--group-by host,tags`), so changing a
/// plan's paths does not leave the old snapshots kept forever as a group of their own.
pub fn apply_retention(config: &BackupConfig, plan: &BackupPlan) -> BackupEvent {
    let (started_at_ms, clock) = start();
    let mut run = ForgetRun { plan: plan.name.clone(), started_at_ms, ..ForgetRun::default() };
    match forget(config, plan) {
        Ok((removed, kept)) => {
            (run.removed_snapshots, run.kept_snapshots) = (removed, kept);
            // restic 0.14 prunes only when a snapshot was removed.
            run.pruned = removed > 0;
            run.ok = true;
        }
        Err(e) => run.error = Some(e),
    }
    run.duration_ms = elapsed_ms(clock);
    BackupEvent::Forget(run)
}

fn forget(config: &BackupConfig, plan: &BackupPlan) -> Result<(u64, u64), String> {
    plan.validate().map_err(|invalid| format!("invalid plan: {invalid}"))?;
    let restic = Restic::open(config, plan).map_err(|e| e.to_string())?;
    let r = &plan.retention;
    let rules = [
        ("--keep-daily", r.keep_daily, ""),
        ("--keep-weekly", r.keep_weekly, ""),
        ("--keep-monthly", r.keep_monthly, ""),
        ("--keep-within", r.keep_within_days, "d"),
    ];
    let values: Vec<(&str, String)> =
        rules.iter().filter(|(_, n, _)| *n > 0).map(|(flag, n, unit)| (*flag, format!("{n}{unit}"))).collect();
    let mut args = vec!["forget", "--json", "--prune", "--tag", restic.tag(), "--group-by", "host,tags"];
    for (flag, value) in &values {
        args.extend([*flag, value.as_str()]);
    }
    let ran = restic.run(&args, Duration::from_secs(config.forget_timeout_secs)).map_err(|e| e.to_string())?;
    if !ran.ok() {
        return Err(restic.failure("forget", &ran).to_string());
    }
    parse::forget(&ran.stdout)
}

/// Checks the repository's structure and reads the plan's share of its data packs.
///
/// restic 0.14 has no JSON output for `check`; newer releases do, but the text is still
/// written without `--json`, so the exit code and the lines on stderr serve every version.
pub fn check(config: &BackupConfig, plan: &BackupPlan) -> BackupEvent {
    let (started_at_ms, clock) = start();
    let mut run = CheckRun {
        plan: plan.name.clone(),
        started_at_ms,
        read_data_subset: plan.read_data_subset.clone(),
        ..CheckRun::default()
    };
    let checked = plan.validate().map_err(|invalid| format!("invalid plan: {invalid}")).and_then(|()| {
        let restic = Restic::open(config, plan).map_err(|e| e.to_string())?;
        let args = ["check", "--read-data-subset", plan.read_data_subset.as_str()];
        let ran = restic.run(&args, Duration::from_secs(config.check_timeout_secs)).map_err(|e| e.to_string())?;
        if ran.ok() {
            return Ok((true, Vec::new()));
        }
        // Every line restic wrote to stderr, its last (the verdict) put in words.
        let mut lines = parse::error_lines(&ran.stderr);
        lines.pop();
        lines.push(restic.failure("check", &ran).to_string());
        Ok((false, lines))
    });
    (run.ok, run.errors) = match checked {
        Ok((ok, errors)) => (ok, bounded_errors(errors)),
        Err(error) => (false, vec![error]),
    };
    run.duration_ms = elapsed_ms(clock);
    BackupEvent::Check(run)
}

fn start() -> (i64, Instant) {
    (jiff::Timestamp::now().as_millisecond(), Instant::now())
}

fn elapsed_ms(clock: Instant) -> u64 {
    u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
