//! Backups judged like every other check: a host's plans and recent events through
//! `tend_core::backups` with the server's `[backups]` policy, each finding kind on its own
//! check, after every report that carried backup events, after a plan changes, and on a timer
//! (staleness and overdue checks need only the clock).

use std::collections::HashMap;

use jiff::Timestamp;
use tend_core::backups::{self, BackupFinding, BackupPlanFacts, FindingKind};
use tend_core::checks::Finding;
use tend_proto::backups::BackupEvent;
use tend_store::{BackupEventRow, BackupPlanRow, Scope};

use super::evaluate::{self, Subject};
use crate::api::backups::{event_body, stored_plan};
use crate::{AppState, Error};

/// Events read per plan: about three months of daily backups with their forgets, checks and
/// restore tests, enough for every rule's window (the size median reads 14 backups) while
/// keeping one host's read bounded.
const EVENTS_PER_PLAN: u32 = 250;

/// Judges every host that has a plan.
pub async fn evaluate_all(state: &AppState, now: Timestamp) -> Result<(), Error> {
    for host_id in state.store.backup_plan_hosts(Scope::System).await? {
        if let Err(e) = evaluate_host(state, host_id, now).await {
            tracing::warn!(host = host_id, error = %e, "judging backups failed");
        }
    }
    Ok(())
}

/// Feeds a host's backup findings through the alert lifecycle, once per finding kind so that
/// the alerts of a kind no longer found resolve; a host without plans resolves them all.
pub async fn evaluate_host(state: &AppState, host_id: i64, now: Timestamp) -> Result<(), Error> {
    let host = state.store.host(Scope::System, host_id).await?;
    let findings = host_findings(state, host_id, now).await?;
    let subject =
        Subject { host_id: Some(host.id), client_id: host.client_id, site_id: host.site_id, name: host.hostname };
    for kind in FindingKind::ALL {
        let of_kind = findings.iter().filter(|f| f.kind == kind).cloned().map(finding).collect();
        evaluate::check_findings(state, &subject, kind.as_str(), of_kind, now).await?;
    }
    Ok(())
}

/// The findings of one backup check on a host, as a test run shows them.
pub async fn findings_of_check(
    state: &AppState,
    host_id: i64,
    check: &str,
    now: Timestamp,
) -> Result<Vec<Finding>, Error> {
    let findings = host_findings(state, host_id, now).await?;
    Ok(findings.into_iter().filter(|f| f.kind.as_str() == check).map(finding).collect())
}

/// Every problem of a host's plans and of its 3-2-1 posture; none without plans (a host nobody
/// planned backups for is not judged: it may need none).
pub async fn host_findings(state: &AppState, host_id: i64, now: Timestamp) -> Result<Vec<BackupFinding>, Error> {
    let rows = state.store.backup_plans(Scope::System, host_id).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let limit = EVENTS_PER_PLAN.saturating_mul(u32::try_from(rows.len()).unwrap_or(u32::MAX));
    let events = state.store.backup_events(Scope::System, host_id, limit).await?;
    findings_from(state, &rows, &events, now)
}

/// [`host_findings`] of every host with plans that `scope` sees (of `client_id` when given),
/// by host id, read in two queries whatever the number of hosts.
pub async fn findings_by_host(
    state: &AppState,
    scope: Scope,
    client_id: Option<i64>,
    now: Timestamp,
) -> Result<HashMap<i64, Vec<BackupFinding>>, Error> {
    let plans = state.store.backup_plans_of_hosts(scope, client_id).await?;
    let events = state.store.backup_events_of_planned_hosts(scope, client_id, EVENTS_PER_PLAN).await?;
    let mut findings = HashMap::new();
    for host_plans in plans.chunk_by(|a, b| a.host_id == b.host_id) {
        let host_id = host_plans[0].host_id;
        let start = events.partition_point(|e| e.host_id < host_id);
        let end = events.partition_point(|e| e.host_id <= host_id);
        findings.insert(host_id, findings_from(state, host_plans, &events[start..end], now)?);
    }
    Ok(findings)
}

/// The findings of one host's plans, `rows`, given its events newest first.
fn findings_from(
    state: &AppState,
    rows: &[BackupPlanRow],
    events: &[BackupEventRow],
    now: Timestamp,
) -> Result<Vec<BackupFinding>, Error> {
    let plans = rows
        .iter()
        .map(|row| Ok(BackupPlanFacts::from_plan(&stored_plan(row)?, row.created_at)))
        .collect::<Result<Vec<_>, Error>>()?;
    // One unreadable event must not blind every rule of the host: it is left out, loudly.
    let events: Vec<BackupEvent> = events
        .iter()
        .filter_map(|row| event_body(row).inspect_err(|e| tracing::warn!(error = %e, "backup event skipped")).ok())
        .collect();
    let policy = &state.config.backups;
    let mut findings: Vec<BackupFinding> =
        plans.iter().flat_map(|plan| backups::evaluate_plan(plan, &events, now, policy)).collect();
    findings.extend(backups::posture(&plans, &events, now, policy).findings);
    Ok(findings)
}

/// A backup finding as a check's: its kind names the check; only problems are found.
fn finding(found: BackupFinding) -> Finding {
    Finding {
        check: found.kind.as_str().to_owned(),
        target: found.target,
        problem: Some(found.level),
        summary: found.summary,
        evidence: found.evidence,
    }
}
