//! Logging in from the CLI or a script, and managing one's API tokens.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use tend_core::tenancy::validate_name;
use tend_proto::api::{ApiToken, IssuedToken, LoginRequest, Problem, User};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::convert;
use crate::auth::{Caller, Secret, Via, hash_secret, verify_password};
use crate::extract::{ApiJson, ApiPath};
use crate::{AppState, Error};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(list_tokens))
        .routes(routes!(revoke_token))
}

/// A well-formed argon2id hash of nothing anyone knows: unknown users cost as much time as
/// known ones, so response times do not reveal which user names exist.
const DECOY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$3r0Zt6ZtL7QmG0x1T3Z8q9d2yK1a5b6c7d8e9f0a1b2";

/// Checks a user name and password; the user when they match an enabled account.
pub async fn check_password(state: &AppState, username: &str, password: &str) -> Result<tend_store::UserRow, Error> {
    let user = state.store.user_by_username(username).await?;
    let stored = user.as_ref().map_or(DECOY_HASH.to_owned(), |u| u.password_hash.clone());
    let matches = verify_password(password.to_owned(), stored).await;
    match user {
        Some(user) if matches && !user.disabled => Ok(user),
        _ => Err(Error::Unauthorized("wrong user name or password")),
    }
}

/// Exchange a user name and password for an API token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "session", request_body = LoginRequest,
    responses((status = 201, body = IssuedToken), (status = 401, body = Problem)))]
async fn login(State(state): State<AppState>, ApiJson(request): ApiJson<LoginRequest>) -> Result<Response, Error> {
    let user = check_password(&state, &request.username, &request.password).await?;
    let name = validate_name("token_name", request.token_name.as_deref().unwrap_or("api"))?;
    let token = Secret::ApiToken.generate()?;
    let id = state.store.create_api_token(user.id, name, &hash_secret(&token), Timestamp::now()).await?;
    tracing::info!(user = %user.username, token_id = id, "issued an API token");
    Ok(super::created(IssuedToken { id, token, user: convert::user(&user) }))
}

/// Revoke the API token this request is made with.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "session", security(("token" = [])),
    responses((status = 204), (status = 400, body = Problem), (status = 401, body = Problem)))]
async fn logout(State(state): State<AppState>, caller: Caller) -> Result<StatusCode, Error> {
    let Via::ApiToken { id } = caller.via else {
        return Err(Error::bad_request("this request carries no API token; browser sessions log out at /logout"));
    };
    state.store.revoke_api_token(caller.user.id, id, Timestamp::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The authenticated user.
#[utoipa::path(get, path = "/api/v1/me", tag = "session", security(("token" = [])),
    responses((status = 200, body = User), (status = 401, body = Problem)))]
async fn me(caller: Caller) -> Json<User> {
    Json(convert::user(&caller.user))
}

/// The caller's live API tokens.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "session", security(("token" = [])),
    responses((status = 200, body = Vec<ApiToken>), (status = 401, body = Problem)))]
async fn list_tokens(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<ApiToken>>, Error> {
    let tokens = state.store.list_api_tokens(caller.user.id).await?;
    Ok(Json(
        tokens
            .iter()
            .map(|t| ApiToken {
                id: t.id,
                name: t.name.clone(),
                created_at: convert::timestamp_text(t.created_at),
                last_used_at: t.last_used_at.map(convert::timestamp_text),
            })
            .collect(),
    ))
}

/// Revoke one of the caller's API tokens.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "session", security(("token" = [])),
    params(("id" = i64, Path, description = "Token id")),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, Error> {
    state.store.revoke_api_token(caller.user.id, id, Timestamp::now()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
