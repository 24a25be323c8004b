//! The server's background work: heartbeat evaluation, synthetic probes, reminders and
//! escalation, maintenance notices, disk-full forecasts, backups, notification delivery.
//!
//! On SQLite one process does it all. Several instances on PostgreSQL each run it today; the
//! lease-based sharing of this work is the scale issue's.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use std::sync::Arc;
use tend_core::maintenance::{self, WindowSchedule};

use tend_probe::{ProbeOutcome, ProbeSpec};
use tend_store::{MaintenanceWindowRow, ProbeRow};
use tokio::sync::Semaphore;
use tokio::sync::watch;

use super::notify;
use super::{backups, escalation, evaluate, forecast, heartbeat, notices, pings};
use crate::{AppState, Error};

const HEARTBEAT_EVERY: Duration = Duration::from_secs(10);
/// Notices are days ahead, but a window planned for soon is announced within seconds.
const NOTICES_EVERY: Duration = Duration::from_secs(15);
/// A disk-full forecast looks days ahead over hours of history.
const FORECAST_EVERY: Duration = Duration::from_secs(3600);
/// Backups are judged after each report that carries their events; this pass catches what
/// only the clock changes (stale, overdue), whose bounds are hours.
const BACKUPS_EVERY: Duration = Duration::from_secs(300);
/// Heartbeat pings are judged as they arrive; this pass finds the silent ones late.
const PINGS_EVERY: Duration = Duration::from_secs(30);
/// How often due probes are looked for: a probe starts at most this late.
const PROBE_POLL: Duration = Duration::from_millis(250);
/// Probes running at once in this instance.
const PROBE_WORKERS: usize = 256;
/// How long a claimed probe is this instance's: past it, another instance takes it over.
const PROBE_LEASE: SignedDuration = SignedDuration::from_secs(360);
/// Notifications leave within a second of the change that caused them.
const DELIVERY_EVERY: Duration = Duration::from_millis(500);
/// Rollouts soak for hours; a finished apply job is seen and the next ring started this late.
const ROLLOUTS_EVERY: Duration = Duration::from_secs(10);

/// Runs until `stop` turns true.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let owner = instance_name();
    let workers = Arc::new(Semaphore::new(PROBE_WORKERS));
    let mut probes = tokio::time::interval(PROBE_POLL);
    probes.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut heartbeat = tokio::time::interval(HEARTBEAT_EVERY);
    let mut delivery = tokio::time::interval(DELIVERY_EVERY);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    delivery.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut notices = tokio::time::interval(NOTICES_EVERY);
    notices.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut forecasts = tokio::time::interval(FORECAST_EVERY);
    forecasts.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut backups = tokio::time::interval(BACKUPS_EVERY);
    backups.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ping_checks = tokio::time::interval(PINGS_EVERY);
    ping_checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut rollouts = tokio::time::interval(ROLLOUTS_EVERY);
    rollouts.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let advisory_refresh_every = Duration::from_secs(u64::from(state.config.patching.refresh_hours.max(1)) * 3600);
    let mut advisories = tokio::time::interval(advisory_refresh_every);
    advisories.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = heartbeat.tick() => {
                if let Err(e) = heartbeat::evaluate_all(&state, Timestamp::now()).await {
                    tracing::error!(error = %e, "heartbeat evaluation failed");
                }
                if let Err(e) = evaluate::announce_after_maintenance(&state, Timestamp::now()).await {
                    tracing::error!(error = %e, "announcing alerts after maintenance failed");
                }
                if let Err(e) = escalation::pursue(&state, Timestamp::now()).await {
                    tracing::error!(error = %e, "reminders and escalation failed");
                }
                if let Err(e) = crate::desk::sla::run(&state, Timestamp::now()).await {
                    tracing::error!(error = %e, "SLA clocks failed");
                }
            }
            _ = notices.tick() => {
                if let Err(e) = notices::run(&state, Timestamp::now()).await {
                    tracing::error!(error = %e, "maintenance notices failed");
                }
                if let Err(e) = crate::patching::summary::deliver(&state, Timestamp::now()).await {
                    tracing::error!(error = %e, "patch summaries failed");
                }
                if let Err(e) = crate::desk::inbound::poll(&state, Timestamp::now()).await {
                    tracing::error!(error = %e, "reading replies from the desk's mailbox failed");
                }
            }
            _ = forecasts.tick() => {
                if let Err(e) = forecast::run(&state, Timestamp::now()).await {
                    tracing::error!(error = %e, "disk-full forecasts failed");
                }
                // Hourly: well within the security promise, after the advisories a refresh added.
                if let Err(e) = crate::patching::auto::run(&state, Timestamp::now()).await {
                    tracing::error!(error = %e, "automatic security rollouts failed");
                }
            }
            _ = backups.tick() => {
                if let Err(e) = backups::evaluate_all(&state, Timestamp::now()).await {
                    tracing::error!(error = %e, "judging backups failed");
                }
            }
            _ = ping_checks.tick() => {
                if let Err(e) = pings::evaluate_all(&state, Timestamp::now()).await {
                    tracing::error!(error = %e, "judging ping checks failed");
                }
            }
            _ = rollouts.tick() => {
                if let Err(e) = crate::patching::rollout::advance_all(&state, Timestamp::now()).await {
                    tracing::error!(error = %e, "advancing rollouts failed");
                }
            }
            _ = advisories.tick() => crate::patching::import::refresh_in_background(&state),
            _ = delivery.tick() => {
                if let Err(e) = notify::deliver_due(&state, Timestamp::now()).await {
                    tracing::error!(error = %e, "notification delivery failed");
                }
                if let Err(e) = crate::desk::mail::deliver(&state, Timestamp::now()).await {
                    tracing::error!(error = %e, "ticket e-mail failed");
                }
            }
            _ = probes.tick() => {
                if let Err(e) = start_due_probes(&state, &owner, &workers, Timestamp::now()).await {
                    tracing::error!(error = %e, "starting due probes failed");
                }
            }
            _ = stop.changed() => break,
        }
    }
}

/// A name for this instance's leases: host and process, so an operator can tell them apart.
fn instance_name() -> String {
    let host = rustix::system::uname().nodename().to_string_lossy().into_owned();
    format!("{host}:{}", std::process::id())
}

/// Claims as many due probes as there are free workers and runs each on its own task.
async fn start_due_probes(
    state: &AppState,
    owner: &str,
    workers: &Arc<Semaphore>,
    now: Timestamp,
) -> Result<(), Error> {
    let free = u32::try_from(workers.available_permits()).unwrap_or(u32::MAX);
    if free == 0 {
        return Ok(());
    }
    for probe in state.store.claim_due_probes(owner, now, PROBE_LEASE, free).await? {
        let Ok(permit) = workers.clone().acquire_owned().await else { return Ok(()) };
        let (state, owner) = (state.clone(), owner.to_owned());
        tokio::spawn(async move {
            if let Err(e) = run_probe(&state, &owner, &probe).await {
                tracing::error!(probe = probe.id, error = %e, "probe run failed");
            }
            drop(permit);
        });
    }
    Ok(())
}

async fn run_probe(state: &AppState, owner: &str, probe: &ProbeRow) -> Result<(), Error> {
    let lateness = Timestamp::now().duration_since(probe.next_run_at);
    state.telemetry.probe_start_lateness.observe(lateness.as_secs_f64().max(0.0));
    let outcome = match serde_json::from_str::<ProbeSpec>(&probe.spec) {
        Ok(spec) => tend_probe::run(&spec, Duration::from_secs(u64::from(probe.timeout_secs))).await,
        Err(e) => ProbeOutcome {
            ok: false,
            summary: format!("the stored probe cannot be read: {e}"),
            duration_ms: 0,
            evidence: Vec::new(),
            metrics: Vec::new(),
        },
    };
    let now = Timestamp::now();
    // A fixed rate from the first run, so runs do not drift later and later.
    let interval = SignedDuration::from_secs(i64::from(probe.interval_secs.max(1)));
    let mut next = probe.next_run_at + interval;
    if next <= now {
        next = now + interval;
    }
    let recorded = serde_json::to_string(&outcome).map_err(|e| Error::Internal(e.to_string()))?;
    state.store.finish_probe(probe.id, owner, &recorded, now, next).await?;
    evaluate::probe(state, probe, &outcome, now).await
}

/// The domain's schedule of a stored window.
pub fn schedule_of(window: &MaintenanceWindowRow) -> Result<WindowSchedule, Error> {
    let start = window
        .start_local
        .parse()
        .map_err(|e| Error::invalid_field("start", format!("'{}': {e}", window.start_local)))?;
    let rrule = window.rrule.as_deref().map(maintenance::parse_rrule).transpose()?;
    let duration = SignedDuration::from_secs(window.duration_secs);
    Ok(WindowSchedule::new(start, duration, &window.time_zone, rrule)?)
}
