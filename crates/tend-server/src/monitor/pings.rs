//! Heartbeat ping checks judged by `tend_core::pings` and fed through the alert lifecycle: one
//! alert per check (check `ping`, target the check's name), right after each ping and on the
//! scheduler's timer, since lateness needs only the clock.

use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use tend_core::checks::Finding;
use tend_core::pings::{self, LastPings, Schedule, Verdict};
use tend_store::{PingCheckRow, Scope};

use super::evaluate::{self, Subject};
use crate::{AppState, Error};

/// The status of a stored check at `now` (the domain's deadlines saturate, so no stored row
/// can make this panic).
pub fn verdict(row: &PingCheckRow, now: Timestamp) -> Verdict {
    let schedule = Schedule {
        period: SignedDuration::from_secs(row.period_secs),
        grace: SignedDuration::from_secs(row.grace_secs),
    };
    let last = LastPings {
        start: row.last_start,
        success: row.last_success,
        failure: row.last_failure.map(|at| (at, row.last_failure_exit)),
    };
    pings::status(schedule, last, now)
}

/// Judges every check.
pub async fn evaluate_all(state: &AppState, now: Timestamp) -> Result<(), Error> {
    for row in state.store.ping_checks(Scope::System, None).await? {
        if let Err(e) = evaluate(state, &row, now).await {
            tracing::warn!(check = row.id, error = %e, "judging a ping check failed");
        }
    }
    Ok(())
}

/// Feeds a check's status through the lifecycle: late warns, failed is critical, anything
/// else resolves. No pending time: the grace already is the check's patience.
pub async fn evaluate(state: &AppState, row: &PingCheckRow, now: Timestamp) -> Result<(), Error> {
    let verdict = verdict(row, now);
    let finding = Finding {
        check: "ping".into(),
        target: row.name.clone(),
        problem: verdict.status.problem(),
        evidence: json!({ "status": verdict.status.as_str(), "check_id": row.id }),
        summary: format!("{}: {}", row.name, verdict.summary),
    };
    evaluate::own_check(state, &subject(row), finding, 0, now).await
}

/// Resolves the alert of a deleted check: nothing is left to fire about.
pub async fn resolve_deleted(state: &AppState, row: &PingCheckRow, now: Timestamp) -> Result<(), Error> {
    let finding = Finding {
        check: "ping".into(),
        target: row.name.clone(),
        problem: None,
        evidence: json!({ "deleted": true, "check_id": row.id }),
        summary: format!("{}: the ping check was deleted", row.name),
    };
    evaluate::own_check(state, &subject(row), finding, 0, now).await
}

/// The check's client, and its host when it has one, so the host's people see it.
fn subject(row: &PingCheckRow) -> Subject {
    Subject { host_id: row.host_id, client_id: row.client_id, site_id: None, name: row.name.clone() }
}
