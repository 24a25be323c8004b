//! Endpoints the agent calls: enrollment, reports, its host's backup plans, and (from
//! `crate::jobs::agent`) jobs.

use axum::Json;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use sha2::{Digest, Sha256};
use tend_core::tenancy::validate_name;
use tend_proto::agent::{AgentSettings, EnrollRequest, EnrollResponse, ReportAck, ReportBatch};
use tend_proto::api::Problem;
use tend_proto::backups::BackupPlan;
use tend_store::{BackupPlanRow, Scope};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::auth::{Agent, Secret, hash_secret};
use crate::extract::ApiJson;
use crate::{AppState, Error, ingest};

pub fn routes(max_report_bytes: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(enroll))
        .routes(routes!(report).layer(DefaultBodyLimit::max(max_report_bytes)))
        .routes(routes!(backup_plans))
        .merge(crate::jobs::agent::routes())
}

/// Exchange an enrollment token for this agent's credential.
#[utoipa::path(post, path = "/api/agent/v1/enroll", tag = "agent", request_body = EnrollRequest,
    responses((status = 201, body = EnrollResponse), (status = 403, body = Problem,
        description = "The token is unknown, expired, used up or revoked; the detail says which")))]
async fn enroll(State(state): State<AppState>, ApiJson(request): ApiJson<EnrollRequest>) -> Result<Response, Error> {
    let hostname = validate_name("hostname", &request.hostname)?;
    let credential = Secret::AgentCredential.generate()?;
    let enrolled = state
        .store
        .enroll_agent(
            &hash_secret(request.token.trim()),
            hostname,
            request.machine_id.as_deref(),
            &hash_secret(&credential),
            Timestamp::now(),
        )
        .await?;
    tracing::info!(agent_id = enrolled.agent_id, host_id = enrolled.host_id, hostname, "enrolled an agent");
    Ok(crate::api::created(EnrollResponse {
        agent_id: enrolled.agent_id,
        host_id: enrolled.host_id,
        credential,
        settings: AgentSettings { report_interval_secs: enrolled.report_interval_secs },
    }))
}

/// Deliver reports; answered only once they are committed.
#[utoipa::path(post, path = "/api/agent/v1/report", tag = "agent", security(("agent" = [])),
    request_body = ReportBatch,
    responses((status = 200, body = ReportAck), (status = 401, body = Problem), (status = 413, body = Problem),
        (status = 422, body = Problem)))]
async fn report(
    State(state): State<AppState>,
    Agent(agent): Agent,
    ApiJson(batch): ApiJson<ReportBatch>,
) -> Result<Json<ReportAck>, Error> {
    let outcome = ingest::ingest(&state, &agent, batch).await?;
    Ok(Json(ReportAck {
        acknowledged_seq: outcome.acknowledged_seq,
        duplicates: outcome.duplicates,
        settings: AgentSettings { report_interval_secs: agent.report_interval_secs },
    }))
}

/// The agent's host's backup plans, with their passwords: the agent credential is the whole
/// authorization (it is this host's, and the plans are only this host's), so fetches are not
/// audited; setting a plan is. The `ETag` changes whenever a plan is set or deleted: an agent
/// polling with `If-None-Match` gets 304 while nothing changed, and no password leaves the vault.
#[utoipa::path(get, path = "/api/agent/v1/backup-plans", tag = "agent", security(("agent" = [])),
    params(("If-None-Match" = Option<String>, Header, description = "The ETag of the plans the agent has")),
    responses((status = 200, body = Vec<BackupPlan>, headers(("ETag" = String))),
        (status = 304, description = "The plans are those of the ETag sent"), (status = 401, body = Problem)))]
async fn backup_plans(
    State(state): State<AppState>,
    Agent(agent): Agent,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let rows = state.store.backup_plans(Scope::System, agent.host_id).await?;
    let etag = plans_etag(&rows);
    let known = headers.get(header::IF_NONE_MATCH).and_then(|value| value.to_str().ok());
    if known.is_some_and(|known| known.split(',').any(|tag| tag.trim() == etag)) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, header_value(&etag)?)]).into_response());
    }
    let plans = rows.iter().map(|row| crate::api::backups::opened_plan(&state, row)).collect::<Result<Vec<_>, _>>()?;
    Ok(([(header::ETAG, header_value(&etag)?)], Json(plans)).into_response())
}

/// A strong ETag over which plans exist and when each was last set.
fn plans_etag(rows: &[BackupPlanRow]) -> String {
    let mut hash = Sha256::new();
    for row in rows {
        hash.update(format!("{}:{}:{};", row.id, row.name, row.updated_at.as_millisecond()));
    }
    format!("\"{}\"", hex::encode(&hash.finalize()[..16]))
}

fn header_value(etag: &str) -> Result<HeaderValue, Error> {
    HeaderValue::from_str(etag).map_err(|e| Error::Internal(format!("an ETag header: {e}")))
}
