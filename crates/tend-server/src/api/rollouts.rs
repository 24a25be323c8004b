//! Rings and rollouts over HTTP: a host's ring, patch sets rolled out through a client's rings,
//! their state per ring and host, promotion without soak. The rules are
//! `tend_core::patching::rollout`'s, the driving `crate::patching::rollout`'s; this module
//! checks callers and converts. Changes are the provider's staff's; clients' users may read.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use jiff::Timestamp;
use serde::Deserialize;
use tend_core::patching::{Outcome, Step, next_step};
use tend_proto::api::Problem;
use tend_proto::rollouts::{HostRing, NewRollout, PatchSummary, PromoteRollout, Rollout, RolloutHost, RolloutRing};
use tend_store::{RolloutJobRow, RolloutRow};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::convert::timestamp_text;
use super::created;
use crate::auth::Caller;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::patching::rollout::{self, APPLY_UPDATES, domain, packages};
use crate::{AppState, Error};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(set_ring))
        .routes(routes!(list_rollouts, create_rollout))
        .routes(routes!(get_rollout))
        .routes(routes!(promote_rollout))
        .routes(routes!(rollout_summaries))
}

fn require_staff(caller: &Caller, what: &'static str) -> Result<(), Error> {
    if caller.principal().role.is_staff() { Ok(()) } else { Err(tend_core::Error::Forbidden(what).into()) }
}

/// Put a host in a ring, or in none (staff). New rollouts go through the client's rings in
/// order; a host in no ring is left out of them.
#[utoipa::path(put, path = "/api/v1/hosts/{id}/ring", tag = "rollouts", security(("token" = [])),
    params(("id" = i64, Path, description = "Host id")), request_body = HostRing,
    responses((status = 200, body = HostRing), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn set_ring(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(host_id): ApiPath<i64>,
    ApiJson(body): ApiJson<HostRing>,
) -> Result<Json<HostRing>, Error> {
    require_staff(&caller, "only the provider's staff put hosts in rings")?;
    rollout::set_ring(&state, caller.scope(), Some(caller.user.id), host_id, body.ring.as_deref()).await?;
    Ok(Json(HostRing { ring: state.store.host_ring(caller.scope(), host_id).await? }))
}

/// Roll a patch set out through a client's rings (staff): the first ring's hosts get an
/// `apply_updates` job at once; each later ring starts once the one before applied it
/// everywhere and soaked with no new critical alert on its hosts. A failure halts the rollout
/// and opens an incident ticket.
#[utoipa::path(post, path = "/api/v1/rollouts", tag = "rollouts", security(("token" = [])),
    request_body = NewRollout,
    responses((status = 201, body = Rollout), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn create_rollout(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewRollout>,
) -> Result<Response, Error> {
    require_staff(&caller, "only the provider's staff roll out patches")?;
    let new = rollout::NewRollout {
        client_id: new.client_id,
        name: new.name,
        packages: new.packages,
        rings: new.rings,
        urgency: new.urgency,
        soak_secs: new.soak_secs,
    };
    let row = rollout::create(&state, caller.scope(), Some(caller.user.id), new).await?;
    tracing::info!(user = %caller.user.username, rollout = row.id, client = row.client_id, "rollout started");
    Ok(created(view(&state, &row).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct RolloutQuery {
    /// Only this client's rollouts.
    client: Option<i64>,
    /// `running`, `halted` or `done`.
    status: Option<String>,
    /// At most this many, 1 to 1000; default 100.
    limit: Option<u32>,
}

/// Rollouts the caller may see, newest first.
#[utoipa::path(get, path = "/api/v1/rollouts", tag = "rollouts", security(("token" = [])),
    params(RolloutQuery), responses((status = 200, body = Vec<Rollout>), (status = 422, body = Problem)))]
async fn list_rollouts(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<RolloutQuery>,
) -> Result<Json<Vec<Rollout>>, Error> {
    let limit = super::limit(query.limit)?;
    let status = query.status.as_deref().filter(|s| !s.is_empty());
    if let Some(status) = status
        && !matches!(status, "running" | "halted" | "done")
    {
        return Err(Error::invalid_field("status", format!("{status:?}: expected running, halted or done")));
    }
    let rows = state.store.rollouts(caller.scope(), query.client, status, limit).await?;
    let mut views = Vec::with_capacity(rows.len());
    for row in &rows {
        views.push(view(&state, row).await?);
    }
    Ok(Json(views))
}

/// A rollout, per ring and host: applied, failed, queued, running or pending; when each ring's
/// soak ends; why it halted and the ticket it opened.
#[utoipa::path(get, path = "/api/v1/rollouts/{id}", tag = "rollouts", security(("token" = [])),
    params(("id" = i64, Path, description = "Rollout id")),
    responses((status = 200, body = Rollout), (status = 404, body = Problem)))]
async fn get_rollout(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Rollout>, Error> {
    let row = state.store.rollout(caller.scope(), id).await?;
    Ok(Json(view(&state, &row).await?))
}

/// Start the next ring now, without waiting for the soaking ring's time (staff). The reason is
/// required and audited (`rollout.promote_without_soak`). Refused when no ring is soaking: a
/// halted rollout is not resumed this way, and an unpatched ring is not skipped.
#[utoipa::path(post, path = "/api/v1/rollouts/{id}/promote", tag = "rollouts", security(("token" = [])),
    params(("id" = i64, Path, description = "Rollout id")), request_body = PromoteRollout,
    responses((status = 200, body = Rollout), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn promote_rollout(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<PromoteRollout>,
) -> Result<Json<Rollout>, Error> {
    require_staff(&caller, "only the provider's staff promote rollouts")?;
    let row = rollout::promote_without_soak(&state, caller.scope(), Some(caller.user.id), id, &body.reason).await?;
    tracing::info!(user = %caller.user.username, rollout = row.id, "rollout promoted without soak");
    Ok(Json(view(&state, &row).await?))
}

/// Where a host's unrecorded work stands: its job under way, or the post-update steps.
fn work_state(job: &RolloutJobRow) -> &'static str {
    match (job.kind == APPLY_UPDATES, job.status.as_str()) {
        (true, "queued") => "queued",
        (true, "running") => "running",
        (false, "queued" | "running") => "rebooting",
        _ => "verifying",
    }
}

/// What the client's contacts were told after each ring was patched: per contact who takes
/// maintenance mail, the changes per host, and whether the e-mail went out.
#[utoipa::path(get, path = "/api/v1/rollouts/{id}/summaries", tag = "rollouts", security(("token" = [])),
    params(("id" = i64, Path, description = "Rollout id")),
    responses((status = 200, body = Vec<PatchSummary>), (status = 404, body = Problem)))]
async fn rollout_summaries(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<PatchSummary>>, Error> {
    let rows = state.store.patch_summaries(caller.scope(), id).await?;
    let summaries = rows
        .into_iter()
        .map(|row| PatchSummary {
            ring: row.ring,
            contact_name: row.contact_name,
            contact_email: row.contact_email,
            subject: row.subject,
            body: row.body,
            status: row.status,
            attempts: row.attempts,
            sent_at: row.sent_at.map(timestamp_text),
            last_error: row.last_error,
        })
        .collect();
    Ok(Json(summaries))
}

/// What the domain says comes next, in words.
fn next_text(step: &Step, rings: &[tend_core::patching::RingState], status: &str) -> String {
    let name = |ring: &usize| rings.get(*ring).map_or("?", |r| r.name.as_str());
    match step {
        _ if status == "halted" => "halted: nothing more is applied until someone looks".to_owned(),
        Step::ApplyToRing { ring, hosts } => format!("applying to ring {} ({} hosts left)", name(ring), hosts.len()),
        Step::Soaking { ring, until } => format!("ring {} soaks until {}", name(ring), timestamp_text(*until)),
        Step::Promote { ring } => format!("ring {} starts at the next pass", name(ring)),
        Step::Halted(halt) => format!("halting: {halt}"),
        Step::Done => "done".to_owned(),
    }
}

/// The API's view of a stored rollout. Alerts are not read here: `next` says what the stored
/// outcomes say, and the timer's pass decides on alerts.
async fn view(state: &AppState, row: &RolloutRow) -> Result<Rollout, Error> {
    let rollout = domain(row)?;
    let jobs = state.store.rollout_jobs(tend_store::Scope::System, row.id).await?;
    let mut latest_job: HashMap<i64, &RolloutJobRow> = HashMap::new();
    for job in &jobs {
        latest_job.insert(job.host_id, job);
    }
    let step = next_step(&rollout, &|_, _| false, Timestamp::now());
    let rings = rollout
        .rings
        .iter()
        .map(|ring| {
            let latest = ring.latest_outcomes();
            let hosts: Vec<RolloutHost> = ring
                .hosts
                .iter()
                .map(|&host_id| {
                    let job = latest_job.get(&host_id);
                    let (state, at, reason) = match (job.filter(|job| !job.recorded), latest.get(&host_id)) {
                        (Some(job), _) => (work_state(job).to_owned(), None, None),
                        (None, Some(applied)) => {
                            let at = Some(timestamp_text(applied.at));
                            match &applied.outcome {
                                Outcome::Succeeded => ("applied".to_owned(), at, None),
                                Outcome::Failed { reason } => ("failed".to_owned(), at, Some(reason.clone())),
                                Outcome::Skipped { reason } => ("skipped".to_owned(), at, Some(reason.clone())),
                            }
                        }
                        (None, None) => ("pending".to_owned(), None, None),
                    };
                    RolloutHost { host_id, state, at, reason, job_id: job.map(|job| job.job_id) }
                })
                .collect();
            let all_applied =
                !hosts.is_empty() && hosts.iter().all(|host| matches!(host.state.as_str(), "applied" | "skipped"));
            let soak_until = all_applied
                .then(|| latest.values().map(|applied| applied.at).max())
                .flatten()
                .and_then(|at| at.checked_add(ring.soak).ok())
                .map(timestamp_text);
            RolloutRing {
                name: ring.name.clone(),
                soak_secs: ring.soak.as_secs(),
                promoted_at: ring.promoted.as_ref().map(|p| timestamp_text(p.at)),
                promoted_without_soak: ring.promoted.as_ref().and_then(|p| p.without_soak.clone()),
                soak_until,
                hosts,
            }
        })
        .collect();
    Ok(Rollout {
        id: row.id,
        client_id: row.client_id,
        name: row.name.clone(),
        urgency: row.urgency.clone(),
        packages: packages(row),
        status: row.status.clone(),
        next: next_text(&step, &rollout.rings, &row.status),
        halt_reason: row.halt_reason.clone(),
        ticket_id: row.ticket_id,
        reboot_ticket_id: row.reboot_ticket_id,
        created_by: row.created_by,
        created_at: timestamp_text(row.created_at),
        updated_at: timestamp_text(row.updated_at),
        rings,
    })
}
