//! One check run once, now, on a host's stored data (`tend check test`): what it finds and how
//! long it took. Nothing is recorded and no alert changes: it answers "what would this check
//! say right now?" while a technician tunes it.

use std::collections::BTreeMap;
use std::time::Instant;

use jiff::Timestamp;
use tend_core::checks::{self, CheckDefinition, CheckKind, CheckSettings, Explained, Finding, HostContext, Inventory};
use tend_core::heartbeat::HostStatus;
use tend_proto::agent::{Sample, Sections};
use tend_store::{HostRow, Scope};

use super::{backups, evaluate, forecast, heartbeat, settings};
use crate::{AppState, Error};

/// What a test run found, and how long it took.
pub struct TestRun {
    pub findings: Vec<Finding>,
    pub duration_ms: u64,
}

/// Runs `check` on `host` (which the caller may see) now. An unknown check is refused; a
/// disabled one still runs, with its settings, since testing it is how one decides to enable it.
pub async fn run(state: &AppState, host: &HostRow, check: &str, now: Timestamp) -> Result<TestRun, Error> {
    let started = Instant::now();
    let context =
        HostContext { client_id: host.client_id, site_id: host.site_id, groups: Vec::new(), host_id: host.id };
    let effective = settings::for_host(&state.store, &context).await?;
    let Some((definition, explained)) = effective.into_iter().find(|(d, _)| d.name == check) else {
        return Err(Error::NotFound(format!("no check named {check}; `tend check list` shows them")));
    };
    let explained = Explained { settings: CheckSettings { enabled: true, ..explained.settings }, ..explained };
    let settings = explained.settings.clone();
    let findings = match definition.kind {
        CheckKind::Metric { .. } => metric(state, host, definition, explained).await?,
        CheckKind::Forecast => forecast::findings(state, host.id, &settings, now).await?,
        CheckKind::Heartbeat => heartbeat_now(host, now).await,
        CheckKind::State => state_check(state, host, check, settings, now).await?,
        CheckKind::Backup => backups::findings_of_check(state, host.id, check, now).await?,
    };
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(TestRun { findings, duration_ms })
}

/// A metric check on the latest stored value of each series, with no alert to continue from.
async fn metric(
    state: &AppState,
    host: &HostRow,
    definition: CheckDefinition,
    explained: Explained,
) -> Result<Vec<Finding>, Error> {
    let metrics: Vec<Sample> = state
        .store
        .latest_values(Scope::System, host.id)
        .await?
        .into_iter()
        .map(|v| Sample { name: v.name, labels: serde_json::from_str(&v.labels).unwrap_or_default(), value: v.value })
        .collect();
    let sections = Sections { metrics, ..Sections::default() };
    Ok(evaluate::metric_findings(&[(definition, explained)], &[], &sections, facts_cores(host)))
}

fn facts_cores(host: &HostRow) -> u32 {
    let facts: Option<tend_proto::agent::HostFacts> = host.facts.as_deref().and_then(|f| serde_json::from_str(f).ok());
    facts.map_or(1, |f| f.cpu_cores.max(1))
}

/// The heartbeat as the scheduler would judge it now, asking the host when it is overdue.
async fn heartbeat_now(host: &HostRow, now: Timestamp) -> Vec<Finding> {
    let reach = match heartbeat::status(host, now) {
        HostStatus::Overdue => Some(heartbeat::reachability(&heartbeat::addresses(host)).await),
        _ => None,
    };
    vec![heartbeat::finding(reach.as_ref())]
}

/// A state check on the stored inventory.
async fn state_check(
    state: &AppState,
    host: &HostRow,
    check: &str,
    settings: CheckSettings,
    now: Timestamp,
) -> Result<Vec<Finding>, Error> {
    let stored = state.store.inventory(Scope::System, host.id).await?;
    let Some(inventory) = crate::ingest::stored_inventory(&stored) else { return Ok(Vec::new()) };
    let by_name = BTreeMap::from([(check.to_owned(), settings)]);
    let lookup = |name: &str| by_name.get(name).cloned().unwrap_or_else(evaluate::disabled);
    Ok(checks::evaluate_inventory(None::<&Inventory>, &inventory, &lookup, now))
}
