//! Enrollment tokens, and revoking agents.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use tend_core::enrollment;
use tend_core::tenancy::{Action, Principal, authorize};
use tend_proto::api::{EnrollmentToken, NewEnrollmentToken, Problem};
use tend_store::Store;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{convert, created};
use crate::auth::{Caller, Secret, hash_secret};
use crate::extract::{ApiJson, ApiPath};
use crate::{AppState, Error};

/// Most machines one token may enroll.
const MAX_USES: u32 = 10_000;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(revoke_agent))
}

/// Enrollment tokens of the clients the caller may see.
#[utoipa::path(get, path = "/api/v1/enrollment-tokens", tag = "enrollment", security(("token" = [])),
    responses((status = 200, body = Vec<EnrollmentToken>), (status = 401, body = Problem)))]
async fn list_tokens(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<EnrollmentToken>>, Error> {
    let rows = state.store.list_enrollment_tokens(caller.scope()).await?;
    Ok(Json(rows.iter().map(|t| convert::enrollment_token(t, None)).collect()))
}

/// Create an enrollment token; the answer is the only time the token is shown.
#[utoipa::path(post, path = "/api/v1/enrollment-tokens", tag = "enrollment", security(("token" = [])),
    request_body = NewEnrollmentToken,
    responses((status = 201, body = EnrollmentToken), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<NewEnrollmentToken>,
) -> Result<Response, Error> {
    let token = issue(&state.store, &caller.principal(), &request, Timestamp::now()).await?;
    Ok(created(token))
}

/// Authorizes, validates and stores a new enrollment token; shared with the first-start setup.
pub async fn issue(
    store: &Store,
    principal: &Principal,
    request: &NewEnrollmentToken,
    now: Timestamp,
) -> Result<EnrollmentToken, Error> {
    let scope = principal.scope();
    store.client(scope, request.client_id).await?;
    authorize(principal, Action::CreateEnrollmentToken { client_id: request.client_id })?;
    let expires_at = enrollment::expiry(request.expires.as_deref(), now)?;
    let uses = request.uses.unwrap_or(1);
    if !(1..=MAX_USES).contains(&uses) {
        return Err(Error::invalid_field("uses", format!("uses must be between 1 and {MAX_USES}")));
    }
    let secret = Secret::EnrollmentToken.generate()?;
    let token_hash = hash_secret(&secret);
    let new = tend_store::NewEnrollmentToken {
        client_id: request.client_id,
        site_id: request.site_id,
        token_hash: &token_hash,
        created_by: Some(principal.user_id),
        expires_at,
        uses,
    };
    let row = store.create_enrollment_token(scope, new, now).await?;
    tracing::info!(token_id = row.id, client_id = row.client_id, uses, "created an enrollment token");
    Ok(convert::enrollment_token(&row, Some(secret)))
}

/// Revoke an enrollment token: no further machine can enroll with it.
#[utoipa::path(delete, path = "/api/v1/enrollment-tokens/{id}", tag = "enrollment", security(("token" = [])),
    params(("id" = i64, Path, description = "Enrollment token id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, Error> {
    let token = state
        .store
        .list_enrollment_tokens(caller.scope())
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or(Error::NotFound(format!("enrollment token {id} not found")))?;
    authorize(&caller.principal(), Action::CreateEnrollmentToken { client_id: token.client_id })?;
    state.store.revoke_enrollment_token(caller.scope(), id, Timestamp::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revoke an agent: its next request is refused with 401.
#[utoipa::path(post, path = "/api/v1/agents/{id}/revoke", tag = "enrollment", security(("token" = [])),
    params(("id" = i64, Path, description = "Agent id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn revoke_agent(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, Error> {
    let client_id = state.store.agent_client(caller.scope(), id).await?;
    authorize(&caller.principal(), Action::RevokeAgent { client_id })?;
    state.store.revoke_agent(caller.scope(), id, Timestamp::now()).await?;
    tracing::info!(by = %caller.user.username, agent_id = id, "revoked an agent");
    Ok(StatusCode::NO_CONTENT)
}
