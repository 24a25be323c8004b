//! Backups over HTTP: a host's restic plans (staff set and delete them; whoever sees the host
//! reads them), the events its agent reported, and the overview across hosts.
//!
//! A plan's password is sealed with the vault key as soon as it arrives and is never answered,
//! logged or audited: the API says `has_password`, and only the host's own agent gets it back
//! (`crate::agent_api`). The rules of a good plan are `BackupPlan::validate`'s.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;
use tend_core::backups::{BackupFinding, POSTURE_TARGET};
use tend_proto::api::Problem;
use tend_proto::backup_api::{
    BackupEventEntry, BackupFindingEntry, BackupOverviewEntry, BackupPlanEntry, BackupPlanSettings, LastRun,
    SetBackupPlan,
};
use tend_proto::backups::{BackupEvent, BackupPlan, Secret};
use tend_store::{AuditEntry, BackupEventRow, BackupOverviewRow, BackupPlanRow};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::convert::timestamp_text;
use super::patching::require_staff;
use crate::auth::Caller;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::monitor::backups::{evaluate_host, findings_by_host};
use crate::monitor::evaluate::severity_text;
use crate::vault::{Binding, MAX_SECRET_BYTES};
use crate::{AppState, Error};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_plans))
        .routes(routes!(set_plan, delete_plan))
        .routes(routes!(list_events))
        .routes(routes!(overview))
}

/// The name a plan's password is sealed under. A NUL never appears in a vault credential's name
/// (`validate_name` refuses control characters), so a sealed plan password cannot be passed off
/// as a credential of the same host, or the other way round.
fn sealed_name(plan: &str) -> String {
    format!("backup-plan\0{plan}")
}

/// A stored plan with its password opened: what the host's agent runs.
pub(crate) fn opened_plan(state: &AppState, row: &BackupPlanRow) -> Result<BackupPlan, Error> {
    let mut plan = stored_plan(row)?;
    let name = sealed_name(&row.name);
    let password = state.vault.key()?.open(Binding { host_id: row.host_id, name: &name }, &row.password_sealed)?;
    plan.password = Secret::new(password.into_exposed());
    Ok(plan)
}

/// A stored plan's body, with the empty password it is stored with.
pub(crate) fn stored_plan(row: &BackupPlanRow) -> Result<BackupPlan, Error> {
    serde_json::from_str(&row.body)
        .map_err(|e| Error::Internal(format!("backup plan {} of host {}: {e}", row.name, row.host_id)))
}

fn entry(row: &BackupPlanRow) -> Result<BackupPlanEntry, Error> {
    Ok(BackupPlanEntry {
        id: row.id,
        host_id: row.host_id,
        name: row.name.clone(),
        settings: BackupPlanSettings::of(stored_plan(row)?),
        has_password: !row.password_sealed.is_empty(),
        created_at: timestamp_text(row.created_at),
        updated_at: timestamp_text(row.updated_at),
    })
}

/// A host's backup plans, by name; never their passwords.
#[utoipa::path(get, path = "/api/v1/hosts/{id}/backup-plans", tag = "backups", security(("token" = [])),
    params(("id" = i64, Path, description = "Host id")),
    responses((status = 200, body = Vec<BackupPlanEntry>), (status = 404, body = Problem)))]
async fn list_plans(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(host_id): ApiPath<i64>,
) -> Result<Json<Vec<BackupPlanEntry>>, Error> {
    let rows = state.store.backup_plans(caller.scope(), host_id).await?;
    Ok(Json(rows.iter().map(entry).collect::<Result<_, _>>()?))
}

/// Create or replace a host's backup plan (staff). The password is required when the plan is
/// created and kept when a change leaves it out. Validated whole before anything is written;
/// audited as `backup_plan.set`. 201 when created, 200 when replaced.
#[utoipa::path(put, path = "/api/v1/hosts/{id}/backup-plans/{name}", tag = "backups", security(("token" = [])),
    params(("id" = i64, Path, description = "Host id"), ("name" = String, Path, description = "Plan name")),
    request_body = SetBackupPlan,
    responses((status = 200, body = BackupPlanEntry), (status = 201, body = BackupPlanEntry),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_plan(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((host_id, name)): ApiPath<(i64, String)>,
    ApiJson(body): ApiJson<SetBackupPlan>,
) -> Result<Response, Error> {
    require_staff(&caller, "only the provider's staff set backup plans")?;
    let host = state.store.host(caller.scope(), host_id).await?;
    let existing = state.store.backup_plan(caller.scope(), host_id, &name).await?;
    let sealed_as = sealed_name(&name);
    let binding = Binding { host_id, name: &sealed_as };
    let key = state.vault.key()?;
    // The plan is validated with its real password, so a missing or empty one is refused alike.
    let password = match (body.password, &existing) {
        (Some(password), _) => password,
        (None, Some(row)) => Secret::new(key.open(binding, &row.password_sealed)?.into_exposed()),
        (None, None) => return Err(Error::invalid_field("password", "a new plan needs the repository password")),
    };
    if password.expose().len() > MAX_SECRET_BYTES {
        return Err(Error::invalid_field("password", format!("must be at most {MAX_SECRET_BYTES} bytes")));
    }
    let mut plan = body.settings.into_plan(name, password);
    plan.validate().map_err(|reason| Error::invalid_field("plan", reason))?;
    let password_sealed = key.seal(binding, plan.password.expose())?;
    plan.password = Secret::default();
    let now = Timestamp::now();
    let row = BackupPlanRow {
        id: 0,
        client_id: host.client_id,
        host_id,
        name: plan.name.clone(),
        body: serde_json::to_string(&plan).map_err(|e| Error::Internal(format!("a backup plan as JSON: {e}")))?,
        password_sealed,
        created_by: Some(caller.user.id),
        created_at: now,
        updated_at: now,
    };
    let stored = state.store.set_backup_plan(caller.scope(), &row).await?;
    // Not the repository: restic's rest: and s3: locations may carry credentials of their own.
    let detail = format!("backup plan '{}': paths {}, daily at {}", stored.name, plan.paths.join(" "), plan.schedule);
    audit(&state, &caller, &stored, "backup_plan.set", detail).await?;
    tracing::info!(user = %caller.user.username, host = host_id, plan = %stored.name, "backup plan set");
    judge_backups(&state, host_id, now).await;
    let status = if existing.is_some() { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(entry(&stored)?)).into_response())
}

/// Delete a host's backup plan (staff); its events stay. Audited as `backup_plan.delete`.
#[utoipa::path(delete, path = "/api/v1/hosts/{id}/backup-plans/{name}", tag = "backups", security(("token" = [])),
    params(("id" = i64, Path, description = "Host id"), ("name" = String, Path, description = "Plan name")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_plan(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((host_id, name)): ApiPath<(i64, String)>,
) -> Result<StatusCode, Error> {
    require_staff(&caller, "only the provider's staff delete backup plans")?;
    let removed = state.store.delete_backup_plan(caller.scope(), host_id, &name).await?;
    audit(&state, &caller, &removed, "backup_plan.delete", format!("backup plan '{}' deleted", removed.name)).await?;
    tracing::info!(user = %caller.user.username, host = host_id, plan = %removed.name, "backup plan deleted");
    judge_backups(&state, host_id, Timestamp::now()).await;
    Ok(StatusCode::NO_CONTENT)
}

/// A changed plan changes the posture, and a deleted one's alerts have nothing left to fire
/// about (the timer only visits hosts with plans): judged now. The plan is stored whatever
/// judging does.
async fn judge_backups(state: &AppState, host_id: i64, now: Timestamp) {
    if let Err(e) = evaluate_host(state, host_id, now).await {
        tracing::error!(host = host_id, error = %e, "judging backups after a plan change failed");
    }
}

async fn audit(
    state: &AppState,
    caller: &Caller,
    row: &BackupPlanRow,
    action: &str,
    detail: String,
) -> Result<(), Error> {
    let entry = AuditEntry::allowed(Timestamp::now(), Some(caller.user.id), Some(row.client_id), action, detail);
    state.store.audit(&entry.host(Some(row.host_id))).await?;
    Ok(())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct EventsQuery {
    /// Events to return, newest first, 1 to 1000; default 100.
    limit: Option<u32>,
}

fn event_entry(row: &BackupEventRow) -> Result<BackupEventEntry, Error> {
    Ok(BackupEventEntry {
        id: row.id,
        host_id: row.host_id,
        started_at: timestamp_text(row.started_at),
        event: event_body(row)?,
    })
}

pub(crate) fn event_body(row: &BackupEventRow) -> Result<BackupEvent, Error> {
    serde_json::from_str(&row.body).map_err(|e| Error::Internal(format!("backup event {}: {e}", row.id)))
}

/// The backup work a host's agent reported, newest first.
#[utoipa::path(get, path = "/api/v1/hosts/{id}/backup-events", tag = "backups", security(("token" = [])),
    params(("id" = i64, Path, description = "Host id"), EventsQuery),
    responses((status = 200, body = Vec<BackupEventEntry>), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(host_id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<Json<Vec<BackupEventEntry>>, Error> {
    let limit = super::limit(query.limit)?;
    let rows = state.store.backup_events(caller.scope(), host_id, limit).await?;
    Ok(Json(rows.iter().map(event_entry).collect::<Result<_, _>>()?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct OverviewQuery {
    /// Only this client's hosts.
    client: Option<i64>,
}

fn last_run(row: &BackupEventRow) -> LastRun {
    LastRun { at: timestamp_text(row.started_at), ok: row.ok }
}

/// The findings of `row`'s plan and its host's posture among the host's findings.
fn findings_of(row: &BackupOverviewRow, host_findings: &[BackupFinding]) -> Vec<BackupFindingEntry> {
    host_findings
        .iter()
        .filter(|f| f.target == POSTURE_TARGET || row.plan.as_deref() == Some(f.target.as_str()))
        .map(|f| BackupFindingEntry {
            kind: f.kind.as_str().to_owned(),
            level: severity_text(f.level),
            target: f.target.clone(),
            summary: f.summary.clone(),
        })
        .collect()
}

fn overview_entry(
    row: &BackupOverviewRow,
    host_findings: &[BackupFinding],
    now: Timestamp,
) -> Result<BackupOverviewEntry, Error> {
    let good = row.last_good_backup.as_ref();
    let last_good_backup = match good.map(event_body).transpose()? {
        Some(BackupEvent::Backup(run)) => Some(run),
        _ => None,
    };
    Ok(BackupOverviewEntry {
        client_id: row.client_id,
        client: row.client_name.clone(),
        host_id: row.host_id,
        hostname: row.hostname.clone(),
        plan: row.plan.clone(),
        last_good_backup_at: good.map(|e| timestamp_text(e.started_at)),
        last_good_backup_age_secs: good.map(|e| now.duration_since(e.started_at).as_secs()),
        last_good_backup,
        last_backup: row.last_backup.as_ref().map(last_run),
        last_restore_test: row.last_restore_test.as_ref().map(last_run),
        last_check: row.last_check.as_ref().map(last_run),
        findings: findings_of(row, host_findings),
    })
}

/// Every host the caller sees, per backup plan: the last good backup and its age, whether the
/// last run succeeded, the last restore test and check, and what the backup checks find wrong.
/// Hosts without plans appear once, with no plan.
#[utoipa::path(get, path = "/api/v1/backups/overview", tag = "backups", security(("token" = [])),
    params(OverviewQuery), responses((status = 200, body = Vec<BackupOverviewEntry>)))]
async fn overview(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<OverviewQuery>,
) -> Result<Json<Vec<BackupOverviewEntry>>, Error> {
    let rows = state.store.backup_overview(caller.scope(), query.client).await?;
    let now = Timestamp::now();
    // Judged as the alerts are, by the same rules, with every host's plans and events read at once.
    let findings = findings_by_host(&state, caller.scope(), query.client, now).await?;
    let entries = rows.iter().map(|row| {
        let host_findings = findings.get(&row.host_id).map_or(&[][..], Vec::as_slice);
        overview_entry(row, host_findings, now)
    });
    Ok(Json(entries.collect::<Result<_, _>>()?))
}
