//! Enrollment and the reporting loop.
//!
//! Every interval the agent runs its collectors, reserves a sequence number, writes the report
//! to the spool and sends everything the server has not acknowledged, oldest first. When the
//! server cannot be reached it retries with exponential backoff and jitter, while collection
//! goes on. A graceful stop sends a last report marked `stopping`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tend_proto::REPORT_SCHEMA_VERSION;
use tend_proto::agent::{EnrollRequest, Report, ReportBatch};
use tend_proto::inventory::AgentStatus;
use tokio::time::Instant;

use crate::Error;
use crate::backup::events::PendingEvents;
use crate::collect::{self, CollectorSet, collect_facts};
use crate::config::{AgentConfig, MIN_INTERVAL};
use crate::spool::Spool;
use crate::state::{Identity, StateDir};
use crate::transport::Transport;

/// Reports per request when catching up, and roughly the most bytes.
const MAX_BATCH: usize = 100;
const MAX_BATCH_BYTES: u64 = 4 << 20;
/// How long a stopping agent tries to deliver what it has.
const FINAL_FLUSH: Duration = Duration::from_secs(5);
const BACKOFF_FIRST: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(300);

/// Exchanges an enrollment token for a credential and saves the identity in `state`.
pub async fn enroll(server_url: &str, token: &str, state: &StateDir) -> Result<Identity, Error> {
    let facts = collect_facts()?;
    let request =
        EnrollRequest { token: token.trim().to_owned(), hostname: facts.hostname, machine_id: facts.machine_id };
    let enrolled = Transport::new(server_url)?.enroll(&request).await?;
    let identity = Identity {
        server_url: server_url.trim_end_matches('/').to_owned(),
        agent_id: enrolled.agent_id,
        host_id: enrolled.host_id,
        credential: enrolled.credential,
    };
    state.save_identity(&identity)?;
    tracing::info!(agent_id = identity.agent_id, host_id = identity.host_id, "enrolled");
    Ok(identity)
}

/// Reports until `shutdown` resolves, then sends a last `stopping` report.
///
/// Returns an error only for what retrying cannot fix: no identity, or a revoked credential.
pub async fn run(config: &AgentConfig, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    let state = StateDir::open(&config.state_dir)?;
    let identity = state.identity()?;
    let spool = Spool::open(&state.path().join("spool"), config.spool_max_bytes)?;
    let collectors = CollectorSet::new(collect::all(&config.collectors));
    // Jobs and backups run beside the reports, on their own connections, and stop with them.
    let (stop_tasks, tasks_stopped) = tokio::sync::watch::channel(false);
    // A job that changed the installed packages has them collected again and reported at once,
    // rather than at the packages collector's next hourly run.
    let packages_changed = Arc::new(tokio::sync::Notify::new());
    let jobs = tokio::spawn(crate::jobs::run_telling(
        config.jobs.clone(),
        config.backup.clone(),
        identity.clone(),
        state.path().to_owned(),
        tasks_stopped.clone(),
        packages_changed.clone(),
    ));
    // A backup's event goes out in a report within seconds of the work, not an interval later.
    let backup_dir = state.path().join("backup");
    let backup_events = Arc::new(PendingEvents::open(&backup_dir)?);
    let backup_event_queued = Arc::new(tokio::sync::Notify::new());
    let backups = tokio::spawn(crate::backup::runner::run(
        config.backup.clone(),
        identity.clone(),
        backup_dir,
        backup_events.clone(),
        backup_event_queued.clone(),
        tasks_stopped,
    ));
    let mut reporter = Reporter::new(state, identity, spool, collectors, backup_events, config.interval_override())?;
    tracing::info!(agent_id = reporter.identity.agent_id, server = %reporter.identity.server_url, "agent running");
    tokio::pin!(shutdown);
    let mut next_collection = Instant::now();
    loop {
        let retry = reporter.retry_at;
        tokio::select! {
            () = tokio::time::sleep_until(next_collection) => {
                next_collection = Instant::now() + reporter.interval;
                reporter.cycle(false).await?;
            }
            () = sleep_until_some(retry) => reporter.deliver().await?,
            () = packages_changed.notified() => {
                reporter.collectors.make_due(collect::packages::NAME);
                reporter.cycle(false).await?;
            }
            () = backup_event_queued.notified() => reporter.cycle(false).await?,
            () = &mut shutdown => break,
        }
    }
    let _ = stop_tasks.send(true);
    match tokio::time::timeout(FINAL_FLUSH, reporter.cycle(true)).await {
        Ok(result) => result?,
        Err(_) => tracing::warn!("the server did not take the last report in time; it stays in the spool"),
    }
    let _ = tokio::time::timeout(FINAL_FLUSH, async { tokio::join!(jobs, backups) }).await;
    tracing::info!("agent stopped");
    Ok(())
}

async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

struct Reporter {
    state: StateDir,
    identity: Identity,
    transport: Transport,
    collectors: CollectorSet,
    spool: Spool,
    /// Backup events waiting for a report.
    backup_events: Arc<PendingEvents>,
    interval: Duration,
    interval_override: Option<Duration>,
    /// When to try delivering again after a failure; `None` while the server takes reports.
    retry_at: Option<Instant>,
    failures: u32,
    /// The last delivery failure, logged once rather than every attempt.
    failing: Option<String>,
}

impl Reporter {
    fn new(
        state: StateDir,
        identity: Identity,
        spool: Spool,
        collectors: CollectorSet,
        backup_events: Arc<PendingEvents>,
        interval_override: Option<Duration>,
    ) -> Result<Reporter, Error> {
        let transport = Transport::new(&identity.server_url)?;
        Ok(Reporter {
            state,
            identity,
            transport,
            collectors,
            spool,
            backup_events,
            interval: interval_override.unwrap_or(Duration::from_secs(60)),
            interval_override,
            retry_at: None,
            failures: 0,
            failing: None,
        })
    }

    async fn cycle(&mut self, stopping: bool) -> Result<(), Error> {
        let mut sections = self.collectors.collect().await;
        sections.agent = Some(AgentStatus {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            dropped_reports: self.spool.dropped(),
            spool_bytes: self.spool.bytes(),
            dropped_backup_events: self.backup_events.dropped(),
        });
        let backups_through;
        (sections.backups, backups_through) = self.backup_events.peek();
        let report = Report {
            seq: self.state.reserve_seq()?,
            collected_at_ms: Timestamp::now().as_millisecond(),
            schema_version: REPORT_SCHEMA_VERSION,
            stopping,
            interval_secs: Some(u32::try_from(self.interval.as_secs()).unwrap_or(u32::MAX)),
            sections,
        };
        self.spool.push(&report);
        // The spool keeps the report, events and all, until the server has it.
        if let Some(through) = backups_through {
            self.backup_events.remove_through(through);
        }
        self.deliver().await
    }

    /// Sends spooled reports oldest first until none is left or the server is unreachable.
    async fn deliver(&mut self) -> Result<(), Error> {
        while !self.spool.is_empty() {
            let reports = self.spool.pending(MAX_BATCH, MAX_BATCH_BYTES)?;
            let Some(last) = reports.last().map(|r| r.seq) else { break };
            let count = reports.len() as u64;
            match self.transport.report(&self.identity.credential, &ReportBatch { reports }).await {
                Ok(ack) => {
                    self.spool.acknowledge(ack.acknowledged_seq);
                    let asked = Duration::from_secs(u64::from(ack.settings.report_interval_secs));
                    self.interval = self.interval_override.unwrap_or(asked).max(MIN_INTERVAL);
                    self.recovered();
                }
                Err(Error::Unreachable(reason)) => {
                    self.failed(reason);
                    return Ok(());
                }
                Err(Error::Unauthorized(detail)) => {
                    tracing::error!(%detail, "the server refused this agent's credential; enroll the agent again");
                    return Err(Error::Unauthorized(detail));
                }
                Err(Error::Rejected { status, detail }) => {
                    // Refused for good: keeping these would block every later report.
                    tracing::error!(status, %detail, count, "the server refused reports; dropping them");
                    self.spool.discard_through(last, count);
                }
                Err(other) => return Err(other),
            }
        }
        Ok(())
    }

    fn recovered(&mut self) {
        self.failures = 0;
        self.retry_at = None;
        if let Some(failure) = self.failing.take() {
            tracing::info!(previous_failure = %failure, "reports are reaching the server again");
        }
    }

    fn failed(&mut self, reason: String) {
        let delay = backoff(BACKOFF_MAX, self.failures, jitter());
        self.failures = self.failures.saturating_add(1);
        self.retry_at = Some(Instant::now() + delay);
        if self.failing.as_deref() != Some(reason.as_str()) {
            tracing::warn!(%reason, retry_in_secs = delay.as_secs_f32(), "cannot deliver reports; they wait in the spool");
            self.failing = Some(reason);
        }
    }
}

/// Exponential backoff from a second, capped at `max`, scaled by `jitter` in [0.5, 1.0) so that a
/// fleet cut off together does not come back in one wave.
pub(crate) fn backoff(max: Duration, failures: u32, jitter: f64) -> Duration {
    let exponential = BACKOFF_FIRST.saturating_mul(1u32.checked_shl(failures.min(16)).unwrap_or(u32::MAX));
    exponential.min(max).mul_f64(jitter)
}

pub(crate) fn jitter() -> f64 {
    let mut byte = [0u8; 1];
    let random = getrandom::fill(&mut byte).map_or(128, |()| byte[0]);
    0.5 + f64::from(random) / 512.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap_with_jitter() {
        assert_eq!(backoff(BACKOFF_MAX, 0, 1.0), Duration::from_secs(1));
        assert_eq!(backoff(BACKOFF_MAX, 3, 1.0), Duration::from_secs(8));
        assert_eq!(backoff(BACKOFF_MAX, 20, 1.0), BACKOFF_MAX);
        assert_eq!(backoff(BACKOFF_MAX, 3, 0.5), Duration::from_secs(4));
        assert!((0..1000).map(|_| jitter()).all(|j| (0.5..1.0).contains(&j)));
    }

    #[tokio::test]
    async fn backup_events_go_into_exactly_one_spooled_report() {
        use tend_proto::backups::{BackupEvent, BackupRun};

        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(dir.path()).unwrap();
        let spool = Spool::open(&dir.path().join("spool"), 1 << 20).unwrap();
        let events = Arc::new(PendingEvents::open(&dir.path().join("backup")).unwrap());
        let event = BackupEvent::Backup(BackupRun { plan: "nightly".into(), ok: true, ..BackupRun::default() });
        events.push(event.clone());
        // Nobody listens on port 9: the reports stay in the spool.
        let identity =
            Identity { server_url: "http://127.0.0.1:9".into(), agent_id: 1, host_id: 1, credential: "c".into() };
        let mut reporter =
            Reporter::new(state, identity, spool, CollectorSet::new(Vec::new()), events.clone(), None).unwrap();
        reporter.cycle(false).await.unwrap();
        reporter.cycle(false).await.unwrap();
        let reports = reporter.spool.pending(10, 1 << 20).unwrap();
        let carried: Vec<_> = reports.iter().map(|r| r.sections.backups.clone()).collect();
        assert_eq!(carried, [vec![event], Vec::new()]);
        assert_eq!(PendingEvents::open(&dir.path().join("backup")).unwrap().peek(), (Vec::new(), None));
    }
}
