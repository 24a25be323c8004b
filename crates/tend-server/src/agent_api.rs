//! Endpoints the agent calls: enrollment, reports, and (from `crate::jobs::agent`) jobs.

use axum::Json;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::Response;
use jiff::Timestamp;
use tend_core::tenancy::validate_name;
use tend_proto::agent::{AgentSettings, EnrollRequest, EnrollResponse, ReportAck, ReportBatch};
use tend_proto::api::Problem;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::auth::{Agent, Secret, hash_secret};
use crate::extract::ApiJson;
use crate::{AppState, Error, ingest};

pub fn routes(max_report_bytes: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(enroll))
        .routes(routes!(report).layer(DefaultBodyLimit::max(max_report_bytes)))
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
