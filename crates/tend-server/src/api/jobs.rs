//! Jobs on hosts: a technician asks, the customer's authorization decides (`crate::jobs`), the
//! host's agent runs it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use serde::Deserialize;
use tend_proto::api::Problem;
use tend_proto::jobs::{Job, JobStatus, NewJob};
use tend_store::{JobRow, Queued};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::convert::timestamp_text;
use super::created;
use crate::auth::Caller;
use crate::error::{problem, problem_response};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::jobs::{JobAudit, Wakeups, audit, authorize_job_with, decision_ticket, stored_kind, stored_result};
use crate::{AppState, Error};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_jobs, create_job)).routes(routes!(get_job))
}

fn job_body(row: &JobRow) -> Result<Job, Error> {
    let status = JobStatus::from_name(&row.status)
        .ok_or_else(|| Error::Internal(format!("job {}: unknown status '{}'", row.id, row.status)))?;
    Ok(Job {
        id: row.id,
        client_id: row.client_id,
        host_id: row.host_id,
        kind: stored_kind(row)?,
        params: serde_json::from_str(&row.params).unwrap_or_default(),
        status,
        ticket_id: row.ticket_id,
        requested_by: row.requested_by,
        created_at: timestamp_text(row.created_at),
        claimed_at: row.claimed_at.map(timestamp_text),
        finished_at: row.finished_at.map(timestamp_text),
        result: stored_result(row),
    })
}

/// Queue a job for the host's agent. Power actions and scripts need the customer's
/// authorization for this host at this moment: an open intervention ticket's power action
/// within its windows, or a standing authorization of the contract. Otherwise 403, and the
/// detail says why: nothing authorizes it, outside the window (and when the next one opens),
/// or authorized for other actions only. Allowed or refused, the decision is audited.
#[utoipa::path(post, path = "/api/v1/hosts/{id}/jobs", tag = "jobs", security(("token" = [])),
    params(("id" = i64, Path, description = "Host id")), request_body = NewJob,
    responses((status = 201, body = Job),
        (status = 403, body = Problem, description = "Not the provider's staff, or not authorized by the customer"),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn create_job(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(host_id): ApiPath<i64>,
    ApiJson(new): ApiJson<NewJob>,
) -> Result<Response, Error> {
    let host = state.store.host(caller.scope(), host_id).await?;
    if !caller.principal().role.is_staff() {
        return Err(Error::Refused(tend_core::Error::Forbidden("only the provider's staff may run jobs on hosts")));
    }
    if host.agent_id.is_none() || host.agent_revoked {
        return Err(Error::invalid_field("host", format!("host {host_id} has no agent that could run the job")));
    }
    let params = crate::jobs::validate_params(new.kind, &new.params)?;
    if let Some(ticket_id) = new.ticket_id {
        let ticket = state.store.ticket(caller.scope(), ticket_id).await?;
        if ticket.client_id != host.client_id || !ticket.host_ids.contains(&host_id) {
            return Err(Error::invalid_field(
                "ticket_id",
                format!("ticket {ticket_id} does not concern host {host_id}"),
            ));
        }
    }
    let now = Timestamp::now();
    let decision = authorize_job_with(&state, &host, new.kind, &params, new.ticket_id, now).await?;
    let ticket_id = decision_ticket(&decision, new.ticket_id);
    let entry = |outcome, detail| JobAudit {
        at: now,
        actor_id: Some(caller.user.id),
        client_id: host.client_id,
        host_id: host.id,
        ticket_id,
        kind: new.kind,
        outcome,
        detail,
    };
    let grant = match decision {
        Ok(grant) => grant,
        Err(refusal) => {
            let detail = refusal.to_string();
            audit(&state, entry("refused", detail.clone())).await?;
            tracing::info!(host_id, kind = new.kind.as_str(), %detail, "refused a job");
            let problem =
                problem(StatusCode::FORBIDDEN, "not-authorized", "Not authorized by the customer", detail, None);
            return Ok(problem_response(problem));
        }
    };
    let row = JobRow {
        id: 0,
        client_id: host.client_id,
        host_id,
        ticket_id,
        kind: new.kind.as_str().to_owned(),
        params: params.to_string(),
        status: String::new(),
        requested_by: Some(caller.user.id),
        created_at: now,
        claimed_at: None,
        finished_at: None,
        result: None,
    };
    // Queued and audited in one transaction: never a job nobody can account for.
    let allowed = entry("allowed", format!("queued, authorized by {grant}")).entry();
    let job = state.store.queue_job(caller.scope(), &row, &Queued { audit: Some(&allowed), rollout_id: None }).await?;
    Wakeups::job_queued();
    tracing::info!(job_id = job.id, host_id, kind = new.kind.as_str(), source = %grant, "queued a job");
    Ok(created(job_body(&job)?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct JobsQuery {
    /// How many of the newest jobs, 1 to 1000; default 100.
    limit: Option<u32>,
}

/// The host's jobs, newest first.
#[utoipa::path(get, path = "/api/v1/hosts/{id}/jobs", tag = "jobs", security(("token" = [])),
    params(("id" = i64, Path, description = "Host id"), JobsQuery),
    responses((status = 200, body = Vec<Job>), (status = 404, body = Problem)))]
async fn list_jobs(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(host_id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<JobsQuery>,
) -> Result<Json<Vec<Job>>, Error> {
    let limit = super::limit(query.limit)?;
    let rows = state.store.host_jobs(caller.scope(), host_id, limit).await?;
    Ok(Json(rows.iter().map(job_body).collect::<Result<_, _>>()?))
}

/// One job, with the agent's result once it has one.
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs", security(("token" = [])),
    params(("id" = i64, Path, description = "Job id")),
    responses((status = 200, body = Job), (status = 404, body = Problem)))]
async fn get_job(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<Json<Job>, Error> {
    Ok(Json(job_body(&state.store.job(caller.scope(), id).await?)?))
}
