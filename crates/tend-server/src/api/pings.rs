//! Heartbeat ping checks: a cron job or backup tool pings a secret URL when it starts, succeeds
//! or fails; the check alerts when a ping is late or a failure. The management API is here, and
//! the public ping endpoints, which need no login: the URL's secret is their authority.

use std::net::SocketAddr;

use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::any;
use jiff::Timestamp;
use serde::Deserialize;
use tend_core::tenancy::validate_name;
use tend_proto::api::Problem;
use tend_proto::pings::{NewPingCheck, Ping, PingCheck};
use tend_store::{AuditEntry, PingCheckRow, PingRow};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::convert::timestamp_text;
use super::created;
use super::patching::require_staff;
use crate::auth::{Caller, Secret, hash_secret};
use crate::extract::{ApiJson, ApiPath};
use crate::monitor::pings::{evaluate, resolve_deleted, verdict};
use crate::{AppState, Error};

/// The largest log a ping may carry: enough for a job's tail, small enough to keep 100 of.
const MAX_BODY: usize = 10 * 1024;
const PERIOD_SECS: std::ops::RangeInclusive<i64> = 1..=90 * 86_400;
const GRACE_SECS: std::ops::RangeInclusive<i64> = 1..=7 * 86_400;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_checks, create_check))
        .routes(routes!(delete_check))
        .routes(routes!(list_pings))
}

/// `/ping/{token}` (success) and `/ping/{token}/{start|fail|success|log|exit status}`, by GET
/// or POST, as `curl` in a crontab sends them.
pub fn public_routes() -> Router<AppState> {
    Router::new().route("/ping/{token}", any(ping_success)).route("/ping/{token}/{kind}", any(ping_kind))
}

fn check(row: &PingCheckRow, now: Timestamp) -> PingCheck {
    let verdict = verdict(row, now);
    PingCheck {
        id: row.id,
        client_id: row.client_id,
        host_id: row.host_id,
        name: row.name.clone(),
        period_secs: row.period_secs,
        grace_secs: row.grace_secs,
        created_at: timestamp_text(row.created_at),
        status: verdict.status.as_str().to_owned(),
        summary: verdict.summary,
        last_start_at: row.last_start.map(timestamp_text),
        last_success_at: row.last_success.map(timestamp_text),
        last_failure_at: row.last_failure.map(timestamp_text),
        ping_url: None,
    }
}

fn bounded(field: &str, value: i64, range: std::ops::RangeInclusive<i64>) -> Result<i64, Error> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(Error::invalid_field(field, format!("{value} is outside {}..={}", range.start(), range.end())))
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ChecksQuery {
    /// Only this client's checks.
    client: Option<i64>,
}

/// Ping checks the caller may see, with their status and last pings.
#[utoipa::path(get, path = "/api/v1/ping-checks", tag = "monitoring", security(("token" = [])), params(ChecksQuery),
    responses((status = 200, body = Vec<PingCheck>), (status = 401, body = Problem)))]
async fn list_checks(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ChecksQuery>,
) -> Result<Json<Vec<PingCheck>>, Error> {
    let now = Timestamp::now();
    let rows = state.store.ping_checks(caller.scope(), query.client).await?;
    Ok(Json(rows.iter().map(|row| check(row, now)).collect()))
}

/// Add a ping check (staff). The answer carries the ping URL with its secret, the only time it
/// is shown: only its hash is stored.
#[utoipa::path(post, path = "/api/v1/ping-checks", tag = "monitoring", security(("token" = [])),
    request_body = NewPingCheck,
    responses((status = 201, body = PingCheck), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_check(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewPingCheck>,
) -> Result<Response, Error> {
    require_staff(&caller, "only the provider's staff add ping checks")?;
    let row = tend_store::NewPingCheck {
        client_id: new.client_id,
        host_id: new.host_id,
        name: validate_name("name", &new.name)?.to_owned(),
        period_secs: bounded("period_secs", new.period_secs, PERIOD_SECS)?,
        grace_secs: bounded("grace_secs", new.grace_secs, GRACE_SECS)?,
    };
    let secret = Secret::PingToken.generate()?;
    let now = Timestamp::now();
    let stored = state.store.create_ping_check(caller.scope(), &row, &hash_secret(&secret), now).await?;
    tracing::info!(check = stored.id, client = stored.client_id, "created a ping check");
    let base = state.config.public_url.trim_end_matches('/');
    Ok(created(PingCheck { ping_url: Some(format!("{base}/ping/{secret}")), ..check(&stored, now) }))
}

/// Delete a ping check and its pings (staff); its alert resolves. Audited as `ping_check.delete`.
#[utoipa::path(delete, path = "/api/v1/ping-checks/{id}", tag = "monitoring", security(("token" = [])),
    params(("id" = i64, Path, description = "Ping check id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_check(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, Error> {
    require_staff(&caller, "only the provider's staff delete ping checks")?;
    let removed = state.store.delete_ping_check(caller.scope(), id).await?;
    let detail = format!("ping check '{}' deleted", removed.name);
    let entry = AuditEntry::allowed(
        Timestamp::now(),
        Some(caller.user.id),
        Some(removed.client_id),
        "ping_check.delete",
        detail,
    );
    state.store.audit(&entry.host(removed.host_id)).await?;
    // The check is gone whatever alerting does.
    if let Err(e) = resolve_deleted(&state, &removed, Timestamp::now()).await {
        tracing::error!(check = id, error = %e, "resolving a deleted ping check's alert failed");
    }
    Ok(StatusCode::NO_CONTENT)
}

/// A ping check's last pings (up to 100), newest first.
#[utoipa::path(get, path = "/api/v1/ping-checks/{id}/pings", tag = "monitoring", security(("token" = [])),
    params(("id" = i64, Path, description = "Ping check id")),
    responses((status = 200, body = Vec<Ping>), (status = 404, body = Problem)))]
async fn list_pings(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<Ping>>, Error> {
    let rows = state.store.pings(caller.scope(), id).await?;
    Ok(Json(
        rows.into_iter()
            .map(|p| Ping {
                id: p.id,
                kind: p.kind,
                exit_status: p.exit_status,
                body: p.body,
                received_at: timestamp_text(p.received_at),
                remote_addr: p.remote_addr,
            })
            .collect(),
    ))
}

async fn ping_success(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    request: Request,
) -> Result<&'static str, Error> {
    receive(&state, &token, "success", request).await
}

async fn ping_kind(
    State(state): State<AppState>,
    ApiPath((token, kind)): ApiPath<(String, String)>,
    request: Request,
) -> Result<&'static str, Error> {
    receive(&state, &token, &kind, request).await
}

/// Stores one ping and judges its check at once, so a failure alerts within the request.
async fn receive(state: &AppState, token: &str, kind: &str, request: Request) -> Result<&'static str, Error> {
    let (kind, exit_status) = match kind {
        "start" | "success" | "fail" | "log" => (kind, None),
        code => match code.parse::<u8>() {
            Ok(0) => ("success", Some(0)),
            Ok(code) => ("fail", Some(i64::from(code))),
            Err(_) => return Err(Error::NotFound(format!("no such ping: {code}"))),
        },
    };
    let remote_addr = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
    let body = axum::body::to_bytes(request.into_body(), MAX_BODY)
        .await
        .map_err(|_| Error::PayloadTooLarge(format!("a ping's log is at most {MAX_BODY} bytes")))?;
    // Hashing first and one indexed lookup either way: a known and an unknown token take the
    // same time, so the answer's timing does not help guess one.
    let Some(check) = state.store.ping_check_by_token(&hash_secret(token)).await? else {
        return Err(Error::NotFound("no such ping check".into()));
    };
    let now = Timestamp::now();
    let ping = PingRow {
        id: 0,
        check_id: check.id,
        kind: kind.to_owned(),
        exit_status,
        body: String::from_utf8_lossy(&body).into_owned(),
        received_at: now,
        remote_addr,
    };
    state.store.record_ping(&ping).await?;
    // Read again: its last pings now include this one. The ping is stored whatever alerting
    // does; the timer judges the check again.
    let judged = state.store.ping_check(tend_store::Scope::System, check.id).await;
    if let Err(e) = async { evaluate(state, &judged?, now).await }.await {
        tracing::error!(check = check.id, error = %e, "judging a ping check after a ping failed");
    }
    Ok("OK\n")
}
