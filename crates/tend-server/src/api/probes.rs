//! Synthetic probes the server runs on a schedule.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use tend_core::tenancy::{Action, authorize, validate_name};
use tend_probe::ProbeSpec;
use tend_proto::api::{NewProbe, Probe, Problem};
use tend_store::ProbeRow;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::convert::timestamp_text;
use super::created;
use crate::auth::Caller;
use crate::extract::{ApiJson, ApiPath};
use crate::{AppState, Error};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_probes, create_probe)).routes(routes!(delete_probe))
}

fn probe(row: &ProbeRow) -> Probe {
    Probe {
        id: row.id,
        client_id: row.client_id,
        site_id: row.site_id,
        host_id: row.host_id,
        name: row.name.clone(),
        spec: serde_json::from_str(&row.spec).unwrap_or_default(),
        interval_secs: row.interval_secs,
        timeout_secs: row.timeout_secs,
        pending_for_secs: row.pending_for_secs,
        next_run_at: timestamp_text(row.next_run_at),
        last_run_at: row.last_run_at.map(timestamp_text),
        last_outcome: row.last_outcome.as_deref().and_then(|o| serde_json::from_str(o).ok()),
    }
}

/// Probes the caller may see, with their last outcome.
#[utoipa::path(get, path = "/api/v1/probes", tag = "monitoring", security(("token" = [])),
    responses((status = 200, body = Vec<Probe>), (status = 401, body = Problem)))]
async fn list_probes(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<Probe>>, Error> {
    Ok(Json(state.store.probes(caller.scope()).await?.iter().map(probe).collect()))
}

/// Add a probe; its first run is due at once.
#[utoipa::path(post, path = "/api/v1/probes", tag = "monitoring", security(("token" = [])), request_body = NewProbe,
    responses((status = 201, body = Probe), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_probe(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewProbe>,
) -> Result<Response, Error> {
    state.store.client(caller.scope(), new.client_id).await?;
    if let Some(host) = new.host_id
        && state.store.host(caller.scope(), host).await?.client_id != new.client_id
    {
        return Err(Error::invalid_field("host_id", "the host belongs to another client"));
    }
    authorize(&caller.principal(), Action::OperateMonitoring { client_id: Some(new.client_id) })?;
    let spec: ProbeSpec =
        serde_json::from_value(new.spec.clone()).map_err(|e| Error::invalid_field("spec", e.to_string()))?;
    spec.validate().map_err(|e| Error::invalid_field("spec", e.to_string()))?;
    let interval_secs = bounded("interval_secs", new.interval_secs.unwrap_or(60), 10, 3600)?;
    let timeout_secs = bounded("timeout_secs", new.timeout_secs.unwrap_or(30), 1, 300)?;
    let row = ProbeRow {
        id: 0,
        client_id: new.client_id,
        site_id: new.site_id,
        host_id: new.host_id,
        name: validate_name("name", &new.name)?.to_owned(),
        spec: serde_json::to_string(&spec).map_err(|e| Error::Internal(e.to_string()))?,
        interval_secs,
        timeout_secs,
        pending_for_secs: new.pending_for_secs.unwrap_or(0),
        next_run_at: Timestamp::now(),
        last_run_at: None,
        last_outcome: None,
    };
    Ok(created(probe(&state.store.create_probe(caller.scope(), &row, Timestamp::now()).await?)))
}

fn bounded(field: &str, value: u32, min: u32, max: u32) -> Result<u32, Error> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(Error::invalid_field(field, format!("{value} is outside {min}..={max}")))
    }
}

/// Remove a probe.
#[utoipa::path(delete, path = "/api/v1/probes/{id}", tag = "monitoring", security(("token" = [])),
    params(("id" = i64, Path, description = "Probe id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_probe(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, Error> {
    let existing = state.store.probes(caller.scope()).await?.into_iter().find(|p| p.id == id);
    let existing = existing.ok_or(Error::NotFound(format!("probe {id} not found")))?;
    authorize(&caller.principal(), Action::OperateMonitoring { client_id: Some(existing.client_id) })?;
    state.store.delete_probe(caller.scope(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
