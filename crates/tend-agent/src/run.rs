//! Enrollment and the reporting loop.
//!
//! Every cycle the agent collects, queues the report and sends everything queued, oldest
//! first. Reports stay queued until the server acknowledges them; a graceful stop sends a last
//! report marked `stopping` so that the server records a planned stop, not an outage.

use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;

use jiff::Timestamp;
use tend_proto::REPORT_SCHEMA_VERSION;
use tend_proto::agent::{EnrollRequest, HostFacts, Report, ReportBatch, Sections};

use crate::Error;
use crate::collect::{MetricsCollector, collect_facts};
use crate::state::{Identity, StateDir};
use crate::transport::Transport;

/// Shortest reporting interval the agent accepts.
pub const MIN_INTERVAL: Duration = Duration::from_secs(10);
/// Facts are re-sent this often even when unchanged, in case a report carrying them was lost.
const FACTS_REFRESH: Duration = Duration::from_secs(3600);
/// Reports kept while the server is unreachable; beyond, the oldest are dropped and counted.
const MAX_QUEUED: usize = 1440;
/// Reports per request when catching up.
const MAX_BATCH: usize = 100;
/// How long a stopping agent tries to deliver its last report.
const FINAL_FLUSH: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Overrides the interval the server asks for.
    pub interval: Option<Duration>,
}

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
pub async fn run(state: &StateDir, options: RunOptions, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    let identity = state.identity()?;
    let mut reporter = Reporter::new(state.clone(), identity, options.interval)?;
    tracing::info!(agent_id = reporter.identity.agent_id, server = %reporter.identity.server_url, "agent running");
    tokio::pin!(shutdown);
    loop {
        reporter.cycle(false).await?;
        tokio::select! {
            () = tokio::time::sleep(reporter.interval) => {}
            () = &mut shutdown => break,
        }
    }
    match tokio::time::timeout(FINAL_FLUSH, reporter.cycle(true)).await {
        Ok(result) => result?,
        Err(_) => tracing::warn!("the server did not take the last report in time"),
    }
    if !reporter.queue.is_empty() {
        tracing::warn!(unsent = reporter.queue.len(), "stopping with unsent reports");
    }
    tracing::info!("agent stopped");
    Ok(())
}

struct Reporter {
    state: StateDir,
    identity: Identity,
    transport: Transport,
    metrics: MetricsCollector,
    interval: Duration,
    interval_override: Option<Duration>,
    queue: VecDeque<Report>,
    dropped: u64,
    last_facts: Option<(HostFacts, Timestamp)>,
    /// The last delivery failure, logged once rather than every cycle.
    failing: Option<String>,
}

impl Reporter {
    fn new(state: StateDir, identity: Identity, interval_override: Option<Duration>) -> Result<Reporter, Error> {
        let transport = Transport::new(&identity.server_url)?;
        Ok(Reporter {
            state,
            identity,
            transport,
            metrics: MetricsCollector::new(),
            interval: interval_override.unwrap_or(Duration::from_secs(60)).max(MIN_INTERVAL),
            interval_override,
            queue: VecDeque::new(),
            dropped: 0,
            last_facts: None,
            failing: None,
        })
    }

    async fn cycle(&mut self, stopping: bool) -> Result<(), Error> {
        let report = self.collect(stopping)?;
        if self.queue.len() >= MAX_QUEUED {
            self.queue.pop_front();
            self.dropped += 1;
            tracing::warn!(dropped = self.dropped, "report queue full: dropped the oldest report");
        }
        self.queue.push_back(report);
        self.deliver().await
    }

    fn collect(&mut self, stopping: bool) -> Result<Report, Error> {
        let now = Timestamp::now();
        Ok(Report {
            seq: self.state.reserve_seq()?,
            collected_at_ms: now.as_millisecond(),
            schema_version: REPORT_SCHEMA_VERSION,
            stopping,
            sections: Sections { facts: self.facts_to_send(now), metrics: self.metrics.collect(), ..Sections::default() },
        })
    }

    /// Facts when they changed or are due for a refresh; `None` keeps the report small.
    fn facts_to_send(&mut self, now: Timestamp) -> Option<HostFacts> {
        let facts = match collect_facts() {
            Ok(facts) => facts,
            Err(e) => {
                tracing::warn!(error = %e, "cannot collect host facts");
                return None;
            }
        };
        let refresh = jiff::SignedDuration::try_from(FACTS_REFRESH).unwrap_or_default();
        let unchanged =
            self.last_facts.as_ref().is_some_and(|(last, at)| *last == facts && now.duration_since(*at) < refresh);
        if unchanged {
            return None;
        }
        self.last_facts = Some((facts.clone(), now));
        Some(facts)
    }

    /// Sends queued reports oldest first until the queue is empty or the server is unreachable.
    async fn deliver(&mut self) -> Result<(), Error> {
        while !self.queue.is_empty() {
            let batch = ReportBatch { reports: self.queue.iter().take(MAX_BATCH).cloned().collect() };
            match self.transport.report(&self.identity.credential, &batch).await {
                Ok(ack) => {
                    self.queue.retain(|r| r.seq > ack.acknowledged_seq);
                    let asked = Duration::from_secs(u64::from(ack.settings.report_interval_secs));
                    self.interval = self.interval_override.unwrap_or(asked).max(MIN_INTERVAL);
                    if let Some(failure) = self.failing.take() {
                        tracing::info!(previous_failure = %failure, "reports are reaching the server again");
                    }
                }
                Err(Error::Unreachable(reason)) => {
                    if self.failing.as_deref() != Some(reason.as_str()) {
                        tracing::warn!(%reason, queued = self.queue.len(), "cannot deliver reports; will retry");
                        self.failing = Some(reason);
                    }
                    return Ok(());
                }
                Err(Error::Unauthorized(detail)) => {
                    tracing::error!(%detail, "the server refused this agent's credential; enroll the agent again");
                    return Err(Error::Unauthorized(detail));
                }
                Err(Error::Rejected { status, detail }) => {
                    // The server will refuse these reports every time: keeping them would block
                    // every later one.
                    tracing::error!(status, %detail, count = batch.reports.len(), "the server refused reports; dropping them");
                    let refused = batch.reports.len();
                    self.queue.drain(..refused);
                    self.dropped += refused as u64;
                }
                Err(other) => return Err(other),
            }
        }
        Ok(())
    }
}
