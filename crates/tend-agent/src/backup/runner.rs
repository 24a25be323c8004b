//! The backup runner: a task beside the reporting loop that keeps the plans fresh, sleeps until
//! the next due work ([`schedule`](super::schedule)), runs it on a blocking thread, and queues
//! its event for the next report ([`events`](super::events)), waking the reporting loop so the
//! event goes out within seconds.
//!
//! One piece of work at a time, across all plans: plans may share a repository, and restic's
//! exclusive lock (forget, check) would make a second run fail. When each piece last ran is
//! kept in `state_dir/backup/state.json`, so a restart does not run today's backup again.
//! The server is needed only to change the plans; without it the cached plans keep running.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use tend_proto::backups::{BackupEvent, BackupPlan};
use tokio::sync::{Notify, watch};

use super::Repository;
use super::events::PendingEvents;
use super::plans::PlanCache;
use super::schedule::{self, LastRuns, Work};
use crate::Error;
use crate::config::BackupConfig;
use crate::state::{Identity, StateDir, replace_privately};
use crate::transport::Transport;

const STATE_FILE: &str = "state.json";
/// Shortest time between two asks for the plans, whatever the configuration says.
const MIN_REFRESH: Duration = Duration::from_secs(10);

/// Runs the plans until `stop` turns true (or its sender is gone), keeping its state in `dir`,
/// queueing every event in `events` and notifying `event_queued` after each.
pub async fn run(
    config: BackupConfig,
    identity: Identity,
    dir: PathBuf,
    events: Arc<PendingEvents>,
    event_queued: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    if !config.enabled {
        tracing::info!("backups are disabled in this agent's configuration");
        return;
    }
    let refresh_every = Duration::from_secs(config.plans_refresh_secs).max(MIN_REFRESH);
    let setup = Transport::new(&identity.server_url)
        .and_then(|transport| Ok((transport, Runner::open(config, &dir, events, TimeZone::system())?)));
    let (transport, mut runner) = match setup {
        Ok(setup) => setup,
        Err(e) => {
            tracing::error!(error = %e, "backups cannot start; this agent will run none");
            return;
        }
    };
    let mut failing: Option<String> = None;
    let mut next_refresh = tokio::time::Instant::now();
    while !*stop.borrow() {
        if tokio::time::Instant::now() >= next_refresh {
            next_refresh = tokio::time::Instant::now() + refresh_every;
            match runner.plans.refresh(&transport, &identity.credential).await {
                Ok(changed) => {
                    if changed {
                        tracing::info!(plans = runner.plans.plans().len(), "backup plans changed");
                    }
                    if let Some(failure) = failing.take() {
                        tracing::info!(previous_failure = %failure, "backup plans reach this agent again");
                    }
                }
                Err(e) => {
                    let reason = e.to_string();
                    if failing.as_deref() != Some(reason.as_str()) {
                        tracing::warn!(%reason, "cannot ask for backup plans; running the ones kept on disk");
                        failing = Some(reason);
                    }
                }
            }
        }
        let wake = tokio::select! {
            step = runner.step(Timestamp::now()) => match step {
                Step::Ran => {
                    event_queued.notify_one();
                    continue;
                }
                Step::Idle(due) => due,
            },
            // Work still running on its blocking thread is left to end on its own; not recorded,
            // it is due again when the agent starts.
            _ = stop.changed() => break,
        };
        let until_due = wake.map(|due| due.duration_since(Timestamp::now()).unsigned_abs());
        let sleep = until_due.map_or(refresh_every, |d| d.min(refresh_every));
        tokio::select! {
            () = tokio::time::sleep(sleep) => {}
            _ = stop.changed() => break,
        }
    }
    tracing::debug!("backups stopped");
}

/// What one [`Runner::step`] did.
#[derive(Debug, PartialEq)]
enum Step {
    /// Ran one piece of work; there may be more due.
    Ran,
    /// Nothing is due; the next work is due then (none without plans).
    Idle(Option<Timestamp>),
}

struct Runner {
    config: Arc<BackupConfig>,
    plans: PlanCache,
    runs: BTreeMap<String, LastRuns>,
    state_path: PathBuf,
    events: Arc<PendingEvents>,
    tz: TimeZone,
}

impl Runner {
    /// The runner over the plans and last runs kept in `dir`.
    fn open(config: BackupConfig, dir: &Path, events: Arc<PendingEvents>, tz: TimeZone) -> Result<Runner, Error> {
        StateDir::open(dir)?;
        let state_path = dir.join(STATE_FILE);
        let runs = match fs::read(&state_path) {
            // Lost run times only make the work due once more.
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::error!(path = %state_path.display(), error = %e, "unreadable backup run times; running what may be due");
                BTreeMap::new()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(source) => return Err(Error::State { path: state_path, source }),
        };
        Ok(Runner { config: Arc::new(config), plans: PlanCache::open(dir)?, runs, state_path, events, tz })
    }

    /// Runs the earliest due work, if any is due at `now`.
    async fn step(&mut self, now: Timestamp) -> Step {
        let Some((index, work, due)) = schedule::earliest(self.plans.plans(), &self.runs, &self.tz, now) else {
            return Step::Idle(None);
        };
        if due > now {
            tracing::debug!(plan = %self.plans.plans()[index].name, ?work, at = %schedule::local(due, &self.tz), "next backup work");
            return Step::Idle(Some(due));
        }
        let plan = self.plans.plans()[index].clone();
        tracing::info!(plan = %plan.name, ?work, "backup work starting");
        let config = self.config.clone();
        let name = plan.name.clone();
        let repository = match self.runs.get(&name).is_some_and(|runs| runs.snapshot_ms.is_some()) {
            true => Repository::MustExist,
            false => Repository::MayInitialise,
        };
        let event = tokio::task::spawn_blocking(move || perform(&config, &plan, work, repository)).await;
        let event = match event {
            Ok(event) => event,
            // The engine does not panic; were it to, the work counts as run so it is not
            // retried in a loop, and the log says why.
            Err(e) => {
                tracing::error!(plan = %name, ?work, error = %e, "backup work panicked");
                self.record(&name, work, now, false);
                return Step::Ran;
            }
        };
        let made_snapshot = matches!(&event, BackupEvent::Backup(run) if run.snapshot_id.is_some());
        tracing::info!(plan = %name, ?work, ok = event.ok(), "backup work done");
        // Queued before it is recorded: a crash in between runs the work again rather than
        // losing its event.
        self.events.push(event);
        self.record(&name, work, now, made_snapshot);
        Step::Ran
    }

    /// Records that `work` of plan `name` started at `at`, forgetting plans that are gone.
    fn record(&mut self, name: &str, work: Work, at: Timestamp, made_snapshot: bool) {
        self.runs.entry(name.to_owned()).or_default().record(work, at.as_millisecond(), made_snapshot);
        let plans = self.plans.plans();
        self.runs.retain(|name, _| plans.iter().any(|plan| &plan.name == name));
        let written = serde_json::to_vec(&self.runs)
            .map_err(|e| Error::StateCorrupt { path: self.state_path.clone(), reason: e.to_string() })
            .and_then(|bytes| replace_privately(&self.state_path, &bytes));
        if let Err(e) = written {
            // Kept in memory: only a restart before the next good write runs the work again.
            tracing::error!(error = %e, "cannot save the backup run times");
        }
    }
}

fn perform(config: &BackupConfig, plan: &BackupPlan, work: Work, repository: Repository) -> BackupEvent {
    match work {
        Work::Backup => super::run_backup(config, plan, repository),
        Work::Retention => super::apply_retention(config, plan),
        Work::Check => super::check(config, plan),
        Work::RestoreTest => {
            // A fresh sample every time: over the weeks the tests cover the whole snapshot.
            let seed = getrandom::u64().unwrap_or_else(|_| Timestamp::now().as_nanosecond() as u64);
            super::restore_test(config, plan, seed)
        }
    }
}

#[cfg(test)]
mod tests {
    use tend_proto::backups::Secret;

    use super::*;

    #[tokio::test]
    async fn the_runner_backs_up_tests_and_queues_its_events_once() {
        if std::process::Command::new("restic").arg("version").output().is_err() {
            eprintln!("SKIPPED: restic is not on PATH");
            return;
        }
        let host = tempfile::tempdir().unwrap();
        let src = host.path().join("src");
        fs::create_dir_all(src.join("etc")).unwrap();
        fs::write(src.join("etc/hosts"), "127.0.0.1 localhost\n").unwrap();
        fs::write(src.join("etc/motd"), "hello\n").unwrap();
        let plan = BackupPlan {
            read_data_subset: "100%".into(),
            restore_test_files: 5,
            ..BackupPlan::new(
                "nightly",
                &host.path().join("repo").to_string_lossy(),
                Secret::new("pw"),
                vec![src.to_string_lossy().into_owned()],
            )
        };
        // The plan as the cache keeps it, written with no server around.
        let dir = host.path().join("state/backup");
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join(super::super::plans::FILE),
            serde_json::to_vec(&serde_json::json!({ "plans": [plan] })).unwrap(),
        )
        .unwrap();
        let tz = TimeZone::get("Europe/Paris").unwrap();
        let now: Timestamp = "2026-06-10T10:00:00Z".parse().unwrap();

        let open = || {
            let events = Arc::new(PendingEvents::open(&dir).unwrap());
            (Runner::open(BackupConfig::default(), &dir, events.clone(), tz.clone()).unwrap(), events)
        };
        let (mut runner, _) = open();
        let mut steps = 0;
        while runner.step(now).await == Step::Ran {
            steps += 1;
            assert!(steps < 10, "the runner does not settle");
        }
        drop(runner);

        // A restarted runner finds the events still queued and runs nothing again today.
        let (mut runner, events) = open();
        let tomorrow: Timestamp = "2026-06-11T00:00:00Z".parse().unwrap();
        assert_eq!(runner.step(now).await, Step::Idle(Some(tomorrow)));
        let (queued, through) = events.peek();
        let kinds: Vec<_> = queued
            .iter()
            .map(|event| match event {
                BackupEvent::Backup(run) => ("backup", run.ok, run.plan.as_str()),
                BackupEvent::Forget(run) => ("forget", run.ok, run.plan.as_str()),
                BackupEvent::Check(run) => ("check", run.ok, run.plan.as_str()),
                BackupEvent::RestoreTest(run) => ("restore_test", run.ok, run.plan.as_str()),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("backup", true, "nightly"),
                ("forget", true, "nightly"),
                ("check", true, "nightly"),
                ("restore_test", true, "nightly")
            ],
            "{queued:#?}"
        );
        assert!(matches!(&queued[3], BackupEvent::RestoreTest(run) if run.files_verified == 2), "{:#?}", queued[3]);
        events.remove_through(through.unwrap());
        assert_eq!(open().1.peek(), (Vec::new(), None));
    }
}
