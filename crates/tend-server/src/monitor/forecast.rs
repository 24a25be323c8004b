//! Disk-full forecasts, hourly: the stored used-bytes series of each filesystem through the
//! domain's trend (`checks::forecast_finding`), and the verdicts through the alert lifecycle.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use tend_core::checks::{self, CheckSettings, Finding, HostContext};
use tend_store::{HostRow, MetricQuery, Scope};

use super::evaluate::{self, Subject};
use super::settings;
use crate::{AppState, Error};

pub const CHECK: &str = "disk_full_forecast";
/// The history looked at when the check's `history_hours` is unset.
const DEFAULT_HISTORY: SignedDuration = SignedDuration::from_hours(48);
/// Points are averaged per this step: a trend needs no more resolution.
const STEP_SECS: u32 = 600;

/// Forecasts every reporting host's filesystems.
pub async fn run(state: &AppState, now: Timestamp) -> Result<(), Error> {
    let mut after = 0;
    loop {
        let hosts = state.store.list_hosts(Scope::System, None, after, 500).await?;
        let Some(last) = hosts.last() else { return Ok(()) };
        after = last.id;
        for host in hosts.iter().filter(|h| h.last_seen_at.is_some() && !h.agent_revoked) {
            if let Err(e) = forecast_host(state, host, now).await {
                tracing::warn!(host = host.id, error = %e, "disk-full forecast failed");
            }
        }
    }
}

async fn forecast_host(state: &AppState, host: &HostRow, now: Timestamp) -> Result<(), Error> {
    let context =
        HostContext { client_id: host.client_id, site_id: host.site_id, groups: Vec::new(), host_id: host.id };
    let effective = settings::for_host(&state.store, &context).await?;
    let Some((_, explained)) = effective.iter().find(|(d, _)| d.name == CHECK) else { return Ok(()) };
    if !explained.settings.enabled {
        return Ok(());
    }
    let findings = findings(state, host.id, &explained.settings, now).await?;
    let subject = Subject {
        host_id: Some(host.id),
        client_id: host.client_id,
        site_id: host.site_id,
        name: host.hostname.clone(),
    };
    evaluate::check_findings(state, &subject, CHECK, findings, now).await
}

/// The forecast of each filesystem of a host that has both used and total bytes stored.
pub async fn findings(
    state: &AppState,
    host_id: i64,
    settings: &CheckSettings,
    now: Timestamp,
) -> Result<Vec<Finding>, Error> {
    let history = settings
        .param("history_hours")
        .and_then(|hours| SignedDuration::try_from_secs_f64(hours * 3600.0).ok())
        .unwrap_or(DEFAULT_HISTORY);
    let used = mountpoint_series(state, host_id, "fs_used_bytes", now - history, now).await?;
    let totals: BTreeMap<String, f64> = state
        .store
        .latest_values(Scope::System, host_id)
        .await?
        .into_iter()
        .filter(|v| v.name == "fs_total_bytes")
        .filter_map(|v| Some((mountpoint(&v.labels)?, v.value)))
        .collect();
    Ok(used
        .iter()
        .filter_map(|(mount, points)| {
            let total = totals.get(mount)?;
            Some(checks::forecast_finding(settings, mount, points, *total, now))
        })
        .collect())
}

/// The points of a per-filesystem metric, by mountpoint.
async fn mountpoint_series(
    state: &AppState,
    host_id: i64,
    name: &str,
    from: Timestamp,
    to: Timestamp,
) -> Result<BTreeMap<String, Vec<(Timestamp, f64)>>, Error> {
    let query = MetricQuery { host_id, name, from, to, step_secs: STEP_SECS };
    let series = state.store.metric_series(Scope::System, &query).await?;
    Ok(series.into_iter().filter_map(|s| Some((mountpoint(&s.labels)?, s.points))).collect())
}

fn mountpoint(labels: &str) -> Option<String> {
    let labels: serde_json::Value = serde_json::from_str(labels).ok()?;
    labels.get("mountpoint")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mountpoint_comes_from_the_series_labels() {
        assert_eq!(mountpoint(r#"{"mountpoint":"/var","device":"/dev/sda2"}"#).as_deref(), Some("/var"));
        assert_eq!(mountpoint(r#"{"device":"/dev/sda2"}"#), None);
        assert_eq!(mountpoint("not json"), None);
    }
}
