//! The agent's side of jobs: a long-poll that hands it its host's next job, and the result it
//! sends back. The agent pulls; the server never calls it.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;
use tend_proto::api::Problem;
use tend_proto::jobs::{AgentJob, JobResult, JobStatus, bounded_output};
use tend_store::{AgentIdentity, HostRow, JobRow, Scope};
use tokio::time::Instant;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{JobAudit, QUEUED, STOPPING, audit, authorize_job_with, decision_ticket, stored_kind};
use crate::auth::Agent;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::{AppState, Error};

/// Longest long-poll.
pub const MAX_WAIT_SECS: u64 = 30;
/// How often a waiting poll looks for a job queued through another server instance.
const RECHECK: Duration = Duration::from_secs(5);

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(next_job)).routes(routes!(job_result))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct WaitQuery {
    /// Seconds to wait for a job when none is queued, at most 30; default 0.
    wait: Option<u64>,
}

/// The host's oldest queued job, handed to this agent (it becomes `running`); waits up to
/// `wait` seconds for one. The authorization is checked again first: a job whose authorization
/// has lapsed since it was queued ends `refused` instead.
#[utoipa::path(get, path = "/api/agent/v1/jobs/next", tag = "agent", security(("agent" = [])), params(WaitQuery),
    responses((status = 200, body = AgentJob), (status = 204, description = "No job came within the wait"),
        (status = 401, body = Problem)))]
async fn next_job(
    State(state): State<AppState>,
    Agent(agent): Agent,
    ApiQuery(query): ApiQuery<WaitQuery>,
) -> Result<Response, Error> {
    // Answered before the server's request timeout would cut the poll off.
    let ceiling = Duration::from_secs(state.config.http.request_timeout_secs.saturating_sub(1));
    let wait = Duration::from_secs(query.wait.unwrap_or(0).min(MAX_WAIT_SECS)).min(ceiling);
    let deadline = Instant::now() + wait;
    loop {
        // Registered before looking, so that a job queued meanwhile still wakes this poll.
        let queued = QUEUED.notified();
        let stopping = STOPPING.notified();
        tokio::pin!(queued, stopping);
        queued.as_mut().enable();
        stopping.as_mut().enable();
        if let Some(job) = claim_authorized(&state, &agent).await? {
            return Ok(Json(job).into_response());
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        tokio::select! {
            () = &mut queued => {}
            () = &mut stopping => return Ok(StatusCode::NO_CONTENT.into_response()),
            () = tokio::time::sleep(RECHECK.min(deadline - now)) => {}
        }
    }
}

/// Claims queued jobs of the agent's host until one is still authorized; those that are not
/// any more end refused, with the reason, in the job and in the audit trail.
async fn claim_authorized(state: &AppState, agent: &AgentIdentity) -> Result<Option<AgentJob>, Error> {
    if !state.store.has_queued_job(agent.host_id).await? {
        return Ok(None);
    }
    let mut host: Option<HostRow> = None;
    loop {
        let now = Timestamp::now();
        let Some(job) = state.store.claim_job(agent.host_id, now).await? else { return Ok(None) };
        match hand_out(state, agent, &mut host, &job, now).await {
            Ok(Some(handed)) => return Ok(Some(handed)),
            Ok(None) => {}
            Err(e) => {
                // A claimed job that cannot be handed out must not stay `running` for ever.
                let output = format!("not run: the server could not hand it out: {e}");
                finish(state, &job, &JobResult { ok: false, output, ..JobResult::default() }, now).await?;
                return Err(e);
            }
        }
    }
}

/// The claimed job for the agent if it is still authorized; otherwise it ends refused, with the
/// reason, in the job and in the audit trail, and `None` says to look at the next one.
async fn hand_out(
    state: &AppState,
    agent: &AgentIdentity,
    host: &mut Option<HostRow>,
    job: &JobRow,
    now: Timestamp,
) -> Result<Option<AgentJob>, Error> {
    let kind = stored_kind(job)?;
    let host = match host {
        Some(host) => host,
        None => host.insert(state.store.host(Scope::System, agent.host_id).await?),
    };
    let handed = agent_job(job)?;
    let decision = authorize_job_with(state, host, kind, &handed.params, job.ticket_id, now).await?;
    let refusal = match &decision {
        Ok(_) => return Ok(Some(handed)),
        Err(refusal) => refusal.to_string(),
    };
    tracing::info!(job_id = job.id, host_id = host.id, %refusal, "a job's authorization lapsed before it ran");
    let result = JobResult {
        ok: false,
        output: format!("not run: when the agent came for it, {refusal}"),
        refused: true,
        ..JobResult::default()
    };
    finish(state, job, &result, now).await?;
    let entry = JobAudit {
        at: now,
        actor_id: None,
        client_id: host.client_id,
        host_id: host.id,
        ticket_id: decision_ticket(&decision, job.ticket_id),
        kind,
        outcome: "refused",
        detail: format!("job {} not run when the agent came for it: {refusal}", job.id),
    };
    audit(state, entry).await?;
    Ok(None)
}

fn agent_job(job: &JobRow) -> Result<AgentJob, Error> {
    Ok(AgentJob {
        id: job.id,
        kind: stored_kind(job)?,
        params: serde_json::from_str(&job.params)
            .map_err(|e| Error::Internal(format!("job {}: stored params: {e}", job.id)))?,
        requested_at_ms: job.created_at.as_millisecond(),
    })
}

async fn finish(state: &AppState, job: &JobRow, result: &JobResult, now: Timestamp) -> Result<JobRow, Error> {
    let text = serde_json::to_string(result).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(state.store.finish_job(job.host_id, job.id, result.status().as_str(), &text, now).await?)
}

/// How a job handed to this agent ended. Idempotent: reporting a finished job again changes
/// nothing, so an agent that lost the answer may send it again.
#[utoipa::path(post, path = "/api/agent/v1/jobs/{id}/result", tag = "agent", security(("agent" = [])),
    params(("id" = i64, Path, description = "Job id")), request_body = JobResult,
    responses((status = 204, description = "Recorded"), (status = 401, body = Problem),
        (status = 404, body = Problem, description = "No such job of this agent's host"),
        (status = 409, body = Problem, description = "The job was not handed out yet")))]
async fn job_result(
    State(state): State<AppState>,
    Agent(agent): Agent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(mut result): ApiJson<JobResult>,
) -> Result<StatusCode, Error> {
    result.output = bounded_output(std::mem::take(&mut result.output));
    let now = Timestamp::now();
    let job = state.store.job(Scope::Client(agent.client_id), id).await?;
    if job.host_id != agent.host_id {
        return Err(Error::NotFound(format!("job {id} not found")));
    }
    let already = JobStatus::from_name(&job.status).is_some_and(JobStatus::is_finished);
    let finished = finish(&state, &job, &result, now).await?;
    if !already {
        let kind = stored_kind(&finished)?;
        let first_line: String =
            result.output.lines().find(|l| !l.trim().is_empty()).unwrap_or("no output").chars().take(200).collect();
        let exit = result.exit_code.map_or_else(String::new, |code| format!(", exit code {code}"));
        let entry = JobAudit {
            at: now,
            actor_id: None,
            client_id: agent.client_id,
            host_id: agent.host_id,
            ticket_id: finished.ticket_id,
            kind,
            outcome: result.status().as_str(),
            detail: format!("job {id} {}{exit}: {first_line}", result.status().as_str()),
        };
        audit(&state, entry).await?;
        tracing::info!(job_id = id, host_id = agent.host_id, status = result.status().as_str(), "job finished");
    }
    Ok(StatusCode::NO_CONTENT)
}
