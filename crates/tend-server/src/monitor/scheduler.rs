//! The server's background work: heartbeat evaluation and notification delivery.
//!
//! On SQLite one process does it all. Several instances on PostgreSQL each run it today; the
//! lease-based sharing of this work is the scale issue's.

use std::collections::HashSet;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tend_core::heartbeat::{Heartbeat, HostStatus};
use tend_core::maintenance::{self, WindowSchedule};
use tend_store::{MaintenanceWindowRow, Scope};
use tokio::sync::watch;

use super::evaluate::{self, Subject};
use super::notify;
use crate::{AppState, Error};

const HEARTBEAT_EVERY: Duration = Duration::from_secs(10);
/// Notifications leave within a second of the change that caused them.
const DELIVERY_EVERY: Duration = Duration::from_millis(500);

/// Runs until `stop` turns true.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut heartbeat = tokio::time::interval(HEARTBEAT_EVERY);
    let mut delivery = tokio::time::interval(DELIVERY_EVERY);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    delivery.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = heartbeat.tick() => {
                if let Err(e) = heartbeats(&state, Timestamp::now()).await {
                    tracing::error!(error = %e, "heartbeat evaluation failed");
                }
            }
            _ = delivery.tick() => {
                if let Err(e) = notify::deliver_due(&state, Timestamp::now()).await {
                    tracing::error!(error = %e, "notification delivery failed");
                }
            }
            _ = stop.changed() => break,
        }
    }
}

/// Overdue hosts raise their heartbeat alert; hosts with an open one that report again resolve it.
pub async fn heartbeats(state: &AppState, now: Timestamp) -> Result<(), Error> {
    let open: HashSet<i64> = state
        .store
        .list_alerts(Scope::System, true, 100_000)
        .await?
        .into_iter()
        .filter(|a| a.check == "heartbeat")
        .filter_map(|a| a.host_id)
        .collect();
    let mut after = 0;
    loop {
        let hosts = state.store.list_hosts(Scope::System, None, after, 500).await?;
        let Some(last) = hosts.last() else { return Ok(()) };
        after = last.id;
        for host in &hosts {
            let beat = Heartbeat {
                last_seen: host.last_seen_at,
                stopped: host.stopped,
                revoked: host.agent_revoked,
                interval_secs: host.report_interval_secs,
            };
            let overdue = beat.status(now) == HostStatus::Overdue;
            if overdue || open.contains(&host.id) {
                let subject = Subject {
                    host_id: host.id,
                    client_id: host.client_id,
                    site_id: host.site_id,
                    hostname: host.hostname.clone(),
                };
                evaluate::heartbeat(state, &subject, overdue, now).await?;
            }
        }
    }
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
