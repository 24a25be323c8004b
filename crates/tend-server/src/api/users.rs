//! Users of the provider and of its clients.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use jiff::Timestamp;
use tend_core::tenancy::{Action, authorize, validate_name};
use tend_proto::api::{NewUser, Problem, User};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{convert, created};
use crate::auth::{Caller, hash_password};
use crate::extract::ApiJson;
use crate::{AppState, Error};

/// Shortest password accepted; length is what makes a password strong.
pub const MIN_PASSWORD_CHARS: usize = 12;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_users, create_user))
}

/// Users the caller may see: all for staff, their own client's for customers.
#[utoipa::path(get, path = "/api/v1/users", tag = "tenancy", security(("token" = [])),
    responses((status = 200, body = Vec<User>), (status = 401, body = Problem)))]
async fn list_users(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<User>>, Error> {
    let rows = state.store.list_users(caller.scope()).await?;
    Ok(Json(rows.iter().map(convert::user).collect()))
}

/// Add a user: administrators for anyone, client administrators for their own client.
#[utoipa::path(post, path = "/api/v1/users", tag = "tenancy", security(("token" = [])), request_body = NewUser,
    responses((status = 201, body = User), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewUser>,
) -> Result<Response, Error> {
    let role = convert::role(new.role, new.support_level)?;
    let client_id = if role.is_staff() { None } else { new.client_id };
    if !role.is_staff() && client_id.is_none() {
        return Err(Error::invalid_field("client_id", "a client's user needs the client they belong to"));
    }
    // Another client's id is answered as if it did not exist, before any authorization says more.
    if let Some(id) = client_id {
        state.store.client(caller.scope(), id).await?;
    }
    authorize(&caller.principal(), Action::CreateUser { role, client_id })?;
    let username = validate_name("username", &new.username)?;
    let user = create(&state.store, username, new.password, role, client_id).await?;
    tracing::info!(by = %caller.user.username, user = %user.username, "created a user");
    Ok(created(convert::user(&user)))
}

/// Hashes the password and stores the user; shared with the first-start setup.
pub async fn create(
    store: &tend_store::Store,
    username: &str,
    password: String,
    role: tend_core::tenancy::Role,
    client_id: Option<i64>,
) -> Result<tend_store::UserRow, Error> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::invalid_field("password", format!("use at least {MIN_PASSWORD_CHARS} characters")));
    }
    let password_hash = hash_password(password).await?;
    let user = tend_store::NewUser { username, password_hash: &password_hash, role, client_id };
    Ok(store.create_user(user, Timestamp::now()).await?)
}
