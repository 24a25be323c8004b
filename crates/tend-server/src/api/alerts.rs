//! Alerts: list, one with its history, acknowledge.

use axum::Json;
use axum::extract::State;
use jiff::Timestamp;
use serde::Deserialize;
use tend_core::alerting::{self, Acknowledgement, AlertTrack};
use tend_core::enrollment;
use tend_core::tenancy::{Action, authorize};
use tend_proto::api::{Acknowledge, Alert, AlertDetail, AlertHistoryEntry, NotificationStatus, Problem};
use tend_store::{AlertEventRecord, AlertRow, AlertUpdate};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::convert::timestamp_text;
use crate::auth::Caller;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::monitor::evaluate::{event_name, state_text, update_of};
use crate::{AppState, Error};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_alerts)).routes(routes!(get_alert)).routes(routes!(acknowledge))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AlertFilter {
    /// `open` (default: pending, firing, flapping) or `all`.
    state: Option<String>,
    /// At most this many, newest first (1–1000, default 200).
    limit: Option<u32>,
}

pub fn alert(row: &AlertRow) -> Alert {
    let track: Option<AlertTrack> = serde_json::from_str(&row.track).ok();
    let ack = track.and_then(|t| t.acknowledgement);
    Alert {
        id: row.id,
        client_id: row.client_id,
        host_id: row.host_id,
        check: row.check.clone(),
        target: row.target.clone(),
        state: row.state.clone(),
        severity: row.severity.clone(),
        summary: row.summary.clone(),
        opened_at: row.opened_at.map(timestamp_text),
        updated_at: timestamp_text(row.updated_at),
        acknowledged_by: ack.as_ref().map(|a| a.by),
        acknowledgement: ack.map(|a| a.comment),
        escalated_to: row.escalated_to.as_deref().and_then(super::convert::support_level_of),
        evidence: serde_json::from_str(&row.evidence).unwrap_or(serde_json::Value::Null),
    }
}

/// Alerts the caller may see, newest first.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "monitoring", security(("token" = [])), params(AlertFilter),
    responses((status = 200, body = Vec<Alert>), (status = 401, body = Problem)))]
async fn list_alerts(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(filter): ApiQuery<AlertFilter>,
) -> Result<Json<Vec<Alert>>, Error> {
    let open_only = match filter.state.as_deref() {
        None | Some("open") => true,
        Some("all") => false,
        Some(other) => return Err(Error::invalid_field("state", format!("'{other}': expected open or all"))),
    };
    let limit = filter.limit.unwrap_or(200).clamp(1, 1000);
    let rows = state.store.list_alerts(caller.scope(), open_only, limit).await?;
    Ok(Json(rows.iter().map(alert).collect()))
}

/// One alert with its history and notifications.
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "monitoring", security(("token" = [])),
    params(("id" = i64, Path, description = "Alert id")),
    responses((status = 200, body = AlertDetail), (status = 404, body = Problem)))]
async fn get_alert(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<AlertDetail>, Error> {
    let row = state.store.alert(caller.scope(), id).await?;
    let history = state.store.alert_events(caller.scope(), id).await?;
    let notifications = state.store.alert_notifications(caller.scope(), id).await?;
    Ok(Json(AlertDetail {
        alert: alert(&row),
        history: history
            .into_iter()
            .map(|e| AlertHistoryEntry { at: timestamp_text(e.at), event: e.event, notified: e.notified })
            .collect(),
        notifications: notifications
            .into_iter()
            .map(|(event, channel, status, attempts, last_error)| NotificationStatus {
                event,
                channel,
                status,
                attempts,
                last_error,
            })
            .collect(),
    }))
}

/// Acknowledge an alert: no reminders or escalation until it resolves or the acknowledgement lapses.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/ack", tag = "monitoring", security(("token" = [])),
    params(("id" = i64, Path, description = "Alert id")), request_body = Acknowledge,
    responses((status = 200, body = Alert), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
async fn acknowledge(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<Acknowledge>,
) -> Result<Json<Alert>, Error> {
    let row = state.store.alert(caller.scope(), id).await?;
    authorize(&caller.principal(), Action::OperateMonitoring { client_id: Some(row.client_id) })?;
    let now = Timestamp::now();
    let until = request.until.as_deref().map(|u| enrollment::expiry(Some(u), now)).transpose()?;
    let track: AlertTrack =
        serde_json::from_str(&row.track).map_err(|e| Error::Internal(format!("alert {id} track: {e}")))?;
    let ack = Acknowledgement { by: caller.user.id, comment: request.comment.trim().to_owned(), at: now, until };
    let (next, events) = alerting::acknowledge(&track, ack)?;
    let events = events
        .iter()
        .map(|e| {
            Ok(AlertEventRecord {
                at: now,
                event: event_name(e),
                detail: serde_json::to_string(e).map_err(|e| Error::Internal(e.to_string()))?,
                notified: false,
            })
        })
        .collect::<Result<_, Error>>()?;
    let track = serde_json::to_string(&next).map_err(|e| Error::Internal(e.to_string()))?;
    let update = AlertUpdate { state: state_text(next.state), track, at: now, events, ..update_of(&row) };
    state.store.apply_alert_updates(&[update]).await?;
    tracing::info!(user = %caller.user.username, alert = id, "acknowledged an alert");
    Ok(Json(alert(&state.store.alert(caller.scope(), id).await?)))
}
