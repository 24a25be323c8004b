//! Maintenance windows, notification channels and check settings.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use serde::Deserialize;
use tend_core::checks::{self, HostContext, PartialSettings};
use tend_core::tenancy::{Action, authorize, validate_name};
use tend_proto::api::{
    CheckExplanation, CheckFinding, CheckInfo, CheckOverride, CheckTestResult, MaintenanceNotice, MaintenanceWindow,
    NewMaintenanceWindow, NewNotificationChannel, NotificationChannel, Problem,
};
use tend_store::{ChannelRow, MaintenanceWindowRow};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::convert::{self, timestamp_text};
use super::created;
use crate::auth::Caller;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::monitor::{evaluate, scheduler, settings, test_run};
use crate::{AppState, Error};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_windows, create_window))
        .routes(routes!(end_window))
        .routes(routes!(window_notices))
        .routes(routes!(list_channels, create_channel))
        .routes(routes!(list_checks))
        .routes(routes!(explain_check, override_check))
        .routes(routes!(test_check))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct WindowFilter {
    /// Only this client's windows.
    client: Option<i64>,
}

fn window(row: &MaintenanceWindowRow, now: Timestamp) -> MaintenanceWindow {
    let schedule = scheduler::schedule_of(row).ok().filter(|_| row.ended_at.is_none());
    let next = schedule.as_ref().and_then(|s| s.active_at(now).or_else(|| s.next_after(now)));
    MaintenanceWindow {
        id: row.id,
        client_id: row.client_id,
        site_id: row.site_id,
        host_id: row.host_id,
        check: row.check.clone(),
        kind: row.kind.clone(),
        title: row.title.clone(),
        description: row.description.clone(),
        start: row.start_local.clone(),
        time_zone: row.time_zone.clone(),
        duration_minutes: row.duration_secs / 60,
        rrule: row.rrule.clone(),
        ended_at: row.ended_at.map(timestamp_text),
        active: next.as_ref().is_some_and(|o| o.contains(now)),
        next: next.map(|o| (timestamp_text(o.start), timestamp_text(o.end))),
        notice_days: row.notice_days,
    }
}

/// Maintenance windows the caller may see.
#[utoipa::path(get, path = "/api/v1/maintenance", tag = "monitoring", security(("token" = [])), params(WindowFilter),
    responses((status = 200, body = Vec<MaintenanceWindow>), (status = 401, body = Problem)))]
async fn list_windows(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(filter): ApiQuery<WindowFilter>,
) -> Result<Json<Vec<MaintenanceWindow>>, Error> {
    let rows = state.store.maintenance_windows(caller.scope(), filter.client).await?;
    let now = Timestamp::now();
    Ok(Json(rows.iter().map(|r| window(r, now)).collect()))
}

/// Plan a maintenance window (one-off, or recurring with an RRULE): alerts inside it are
/// recorded but not notified.
#[utoipa::path(post, path = "/api/v1/maintenance", tag = "monitoring", security(("token" = [])),
    request_body = NewMaintenanceWindow,
    responses((status = 201, body = MaintenanceWindow), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn create_window(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewMaintenanceWindow>,
) -> Result<Response, Error> {
    state.store.client(caller.scope(), new.client_id).await?;
    authorize(&caller.principal(), Action::OperateMonitoring { client_id: Some(new.client_id) })?;
    let kind = new.kind.unwrap_or_else(|| "planned".into());
    if kind != "planned" && kind != "emergency" {
        return Err(Error::invalid_field("kind", "expected planned or emergency"));
    }
    let row = MaintenanceWindowRow {
        id: 0,
        client_id: new.client_id,
        site_id: new.site_id,
        host_id: new.host_id,
        check: new.check,
        kind,
        title: validate_name("title", &new.title)?.to_owned(),
        description: new.description,
        start_local: new.start,
        time_zone: new.time_zone,
        duration_secs: new.duration_minutes.saturating_mul(60),
        rrule: new.rrule.filter(|r| !r.trim().is_empty()),
        ended_at: None,
        notice_days: new.notice_days,
    };
    if new.notice_days.is_some_and(|days| !(0..=365).contains(&days)) {
        return Err(Error::invalid_field("notice_days", "expected 0 to 365 days"));
    }
    // Refused here, with the domain's reason, rather than silently never matching later.
    scheduler::schedule_of(&row)?;
    let stored =
        state.store.create_maintenance_window(caller.scope(), &row, Some(caller.user.id), Timestamp::now()).await?;
    Ok(created(window(&stored, Timestamp::now())))
}

/// The notices sent to the client's contacts before the window's occurrences.
#[utoipa::path(get, path = "/api/v1/maintenance/{id}/notices", tag = "monitoring", security(("token" = [])),
    params(("id" = i64, Path, description = "Maintenance window id")),
    responses((status = 200, body = Vec<MaintenanceNotice>), (status = 404, body = Problem)))]
async fn window_notices(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<MaintenanceNotice>>, Error> {
    let windows = state.store.maintenance_windows(caller.scope(), None).await?;
    if !windows.iter().any(|w| w.id == id) {
        return Err(Error::NotFound(format!("maintenance window {id} not found")));
    }
    let notices = state.store.window_notices(caller.scope(), id).await?;
    Ok(Json(
        notices
            .into_iter()
            .map(|n| MaintenanceNotice {
                occurrence_start: timestamp_text(n.occurrence_start),
                contact: n.contact_name,
                email: n.contact_email,
                status: n.status,
                attempts: n.attempts,
                sent_at: n.sent_at.map(timestamp_text),
                last_error: n.last_error,
            })
            .collect(),
    ))
}

/// End a maintenance window now.
#[utoipa::path(post, path = "/api/v1/maintenance/{id}/end", tag = "monitoring", security(("token" = [])),
    params(("id" = i64, Path, description = "Maintenance window id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn end_window(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, Error> {
    let window = state.store.maintenance_windows(caller.scope(), None).await?.into_iter().find(|w| w.id == id);
    let window = window.ok_or(Error::NotFound(format!("maintenance window {id} not found")))?;
    authorize(&caller.principal(), Action::OperateMonitoring { client_id: Some(window.client_id) })?;
    state.store.end_maintenance_window(caller.scope(), id, Timestamp::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn channel(row: &ChannelRow) -> NotificationChannel {
    NotificationChannel {
        id: row.id,
        client_id: row.client_id,
        site_id: row.site_id,
        support_level: row.support_level.as_deref().and_then(convert::support_level_of),
        kind: row.kind.clone(),
        target: row.target.clone(),
        min_severity: row.min_severity.clone(),
    }
}

/// Notification channels the caller may see.
#[utoipa::path(get, path = "/api/v1/notification-channels", tag = "monitoring", security(("token" = [])),
    responses((status = 200, body = Vec<NotificationChannel>), (status = 401, body = Problem)))]
async fn list_channels(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<NotificationChannel>>, Error> {
    Ok(Json(state.store.channels(caller.scope()).await?.iter().map(channel).collect()))
}

/// Add a notification channel: an e-mail address or a webhook, for one client or all.
#[utoipa::path(post, path = "/api/v1/notification-channels", tag = "monitoring", security(("token" = [])),
    request_body = NewNotificationChannel,
    responses((status = 201, body = NotificationChannel), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_channel(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewNotificationChannel>,
) -> Result<Response, Error> {
    if let Some(client) = new.client_id {
        state.store.client(caller.scope(), client).await?;
    }
    authorize(&caller.principal(), Action::OperateMonitoring { client_id: new.client_id })?;
    let target = new.target.trim();
    let valid = match new.kind.as_str() {
        "email" => target.contains('@'),
        "webhook" | "slack" => target.starts_with("http://") || target.starts_with("https://"),
        _ => return Err(Error::invalid_field("kind", "expected email, webhook or slack")),
    };
    if !valid {
        return Err(Error::invalid_field("target", format!("'{target}' is not a valid {} target", new.kind)));
    }
    let min_severity = new.min_severity.unwrap_or_else(|| "warning".into());
    if evaluate::severity_of(&min_severity).is_none() {
        return Err(Error::invalid_field("min_severity", "expected warning or critical"));
    }
    if let Some(site) = new.site_id {
        let site = state.store.site(caller.scope(), site).await?;
        if new.client_id != Some(site.client_id) {
            return Err(Error::invalid_field("site_id", "a site's channel needs the site's client_id"));
        }
    }
    let row = ChannelRow {
        id: 0,
        client_id: new.client_id,
        site_id: new.site_id,
        support_level: new.support_level.map(|level| convert::support_level_text(level).to_owned()),
        kind: new.kind,
        target: target.to_owned(),
        min_severity,
    };
    Ok(created(channel(&state.store.create_channel(&row, Timestamp::now()).await?)))
}

/// The check catalogue with default settings.
#[utoipa::path(get, path = "/api/v1/checks", tag = "monitoring", security(("token" = [])),
    responses((status = 200, body = Vec<CheckInfo>), (status = 401, body = Problem)))]
async fn list_checks(_caller: Caller) -> Json<Vec<CheckInfo>> {
    Json(
        checks::default_checks()
            .iter()
            .map(|d| CheckInfo {
                name: d.name.to_owned(),
                description: d.description.to_owned(),
                defaults: serde_json::to_value(&d.defaults).unwrap_or_default(),
            })
            .collect(),
    )
}

/// The effective settings of a check on a host, layer by layer.
#[utoipa::path(get, path = "/api/v1/hosts/{id}/checks/{check}", tag = "monitoring", security(("token" = [])),
    params(("id" = i64, Path, description = "Host id"), ("check" = String, Path, description = "Check name")),
    responses((status = 200, body = CheckExplanation), (status = 404, body = Problem)))]
async fn explain_check(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((host_id, check)): ApiPath<(i64, String)>,
) -> Result<Json<CheckExplanation>, Error> {
    let host = state.store.host(caller.scope(), host_id).await?;
    let context = HostContext { client_id: host.client_id, site_id: host.site_id, groups: Vec::new(), host_id };
    let all = settings::for_host(&state.store, &context).await?;
    let (_, explained) = all
        .into_iter()
        .find(|(d, _)| d.name == check)
        .ok_or_else(|| Error::NotFound(format!("no check named '{check}'")))?;
    Ok(Json(CheckExplanation {
        check,
        host_id,
        settings: serde_json::to_value(&explained.settings).unwrap_or_default(),
        explanation: explained.to_string(),
    }))
}

/// Run a check once now on the host's stored data and show what it finds, recording nothing.
#[utoipa::path(post, path = "/api/v1/hosts/{id}/checks/{check}/test", tag = "monitoring", security(("token" = [])),
    params(("id" = i64, Path, description = "Host id"), ("check" = String, Path, description = "Check name")),
    responses((status = 200, body = CheckTestResult), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn test_check(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((host_id, check)): ApiPath<(i64, String)>,
) -> Result<Json<CheckTestResult>, Error> {
    let host = state.store.host(caller.scope(), host_id).await?;
    // It may reach out to the host (the heartbeat asks it): staff only.
    authorize(&caller.principal(), Action::OperateMonitoring { client_id: Some(host.client_id) })?;
    let now = Timestamp::now();
    let run = test_run::run(&state, &host, &check, now).await?;
    let findings = run
        .findings
        .into_iter()
        .map(|f| CheckFinding {
            target: f.target,
            status: f.problem.map_or_else(|| "ok".to_owned(), evaluate::severity_text),
            summary: f.summary,
            evidence: f.evidence,
        })
        .collect();
    Ok(Json(CheckTestResult {
        check,
        host_id,
        findings,
        duration_ms: run.duration_ms,
        evaluated_at: timestamp_text(now),
    }))
}

/// Override a check's settings at a layer (the host of the path, or the layer named in the body).
#[utoipa::path(put, path = "/api/v1/hosts/{id}/checks/{check}", tag = "monitoring", security(("token" = [])),
    params(("id" = i64, Path, description = "Host id"), ("check" = String, Path, description = "Check name")),
    request_body = CheckOverride,
    responses((status = 200, body = CheckExplanation), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn override_check(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((host_id, check)): ApiPath<(i64, String)>,
    ApiJson(request): ApiJson<CheckOverride>,
) -> Result<Json<CheckExplanation>, Error> {
    let host = state.store.host(caller.scope(), host_id).await?;
    if !checks::default_checks().iter().any(|d| d.name == check) {
        return Err(Error::NotFound(format!("no check named '{check}'")));
    }
    let (layer, layer_id, client_id) = match request.layer.as_str() {
        "host" => ("host", host_id, Some(host.client_id)),
        "site" => {
            ("site", host.site_id.ok_or(Error::invalid_field("layer", "the host has no site"))?, Some(host.client_id))
        }
        "client" => ("client", host.client_id, Some(host.client_id)),
        "organisation" => ("organisation", 0, None),
        other => {
            return Err(Error::invalid_field(
                "layer",
                format!("'{other}': expected host, site, client or organisation"),
            ));
        }
    };
    authorize(&caller.principal(), Action::OperateMonitoring { client_id })?;
    let settings: PartialSettings = serde_json::from_value(request.settings.clone())
        .map_err(|e| Error::invalid_field("settings", e.to_string()))?;
    let text = serde_json::to_string(&settings).map_err(|e| Error::Internal(e.to_string()))?;
    state.store.set_check_override(layer, layer_id, &check, &text, Timestamp::now()).await?;
    tracing::info!(user = %caller.user.username, check, layer, layer_id, "overrode check settings");
    explain_check(State(state), caller, ApiPath((host_id, check))).await
}
