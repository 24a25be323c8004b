//! Clients and their sites.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use jiff::Timestamp;
use tend_core::tenancy::{Action, authorize, validate_name};
use tend_proto::api::{Client, Contact, NewClient, NewContact, NewSite, Page, Problem, Site};
use tend_store::ContactRow;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{PageQuery, convert, created};
use crate::auth::Caller;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::{AppState, Error};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_clients, create_client))
        .routes(routes!(get_client))
        .routes(routes!(list_sites, create_site))
        .routes(routes!(list_contacts, create_contact))
}

/// Clients the caller may see, by id.
#[utoipa::path(get, path = "/api/v1/clients", tag = "tenancy", security(("token" = [])), params(PageQuery),
    responses((status = 200, body = Page<Client>), (status = 401, body = Problem)))]
async fn list_clients(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<Page<Client>>, Error> {
    let limit = page.limit()?;
    let rows = state.store.list_clients(caller.scope(), page.after.unwrap_or(0), limit + 1).await?;
    Ok(Json(page.page(rows.iter().map(convert::client).collect(), limit, |c| c.id)))
}

/// Add a client (administrators).
#[utoipa::path(post, path = "/api/v1/clients", tag = "tenancy", security(("token" = [])), request_body = NewClient,
    responses((status = 201, body = Client), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn create_client(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewClient>,
) -> Result<Response, Error> {
    authorize(&caller.principal(), Action::CreateClient)?;
    let name = validate_name("name", &new.name)?;
    let row = state.store.create_client(name, Timestamp::now()).await?;
    tracing::info!(user = %caller.user.username, client = %row.name, "created a client");
    Ok(created(convert::client(&row)))
}

/// One client.
#[utoipa::path(get, path = "/api/v1/clients/{id}", tag = "tenancy", security(("token" = [])),
    params(("id" = i64, Path, description = "Client id")),
    responses((status = 200, body = Client), (status = 404, body = Problem)))]
async fn get_client(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Client>, Error> {
    Ok(Json(convert::client(&state.store.client(caller.scope(), id).await?)))
}

/// A client's sites.
#[utoipa::path(get, path = "/api/v1/clients/{id}/sites", tag = "tenancy", security(("token" = [])),
    params(("id" = i64, Path, description = "Client id")),
    responses((status = 200, body = Vec<Site>), (status = 404, body = Problem)))]
async fn list_sites(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<Site>>, Error> {
    let rows = state.store.list_sites(caller.scope(), id).await?;
    Ok(Json(rows.iter().map(convert::site).collect()))
}

/// Add a site to a client (the provider's staff).
#[utoipa::path(post, path = "/api/v1/clients/{id}/sites", tag = "tenancy", security(("token" = [])),
    params(("id" = i64, Path, description = "Client id")), request_body = NewSite,
    responses((status = 201, body = Site), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
async fn create_site(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(client_id): ApiPath<i64>,
    ApiJson(new): ApiJson<NewSite>,
) -> Result<Response, Error> {
    state.store.client(caller.scope(), client_id).await?;
    authorize(&caller.principal(), Action::CreateSite { client_id })?;
    let name = validate_name("name", &new.name)?;
    let row = state.store.create_site(caller.scope(), client_id, name, Timestamp::now()).await?;
    Ok(created(convert::site(&row)))
}

fn contact(row: &ContactRow) -> Contact {
    Contact {
        id: row.id,
        client_id: row.client_id,
        name: row.name.clone(),
        email: row.email.clone(),
        phone: row.phone.clone(),
        role: row.role.clone(),
        maintenance_notices: row.maintenance_notices,
    }
}

/// A client's contacts.
#[utoipa::path(get, path = "/api/v1/clients/{id}/contacts", tag = "tenancy", security(("token" = [])),
    params(("id" = i64, Path, description = "Client id")),
    responses((status = 200, body = Vec<Contact>), (status = 404, body = Problem)))]
async fn list_contacts(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<Contact>>, Error> {
    let rows = state.store.contacts(caller.scope(), id).await?;
    Ok(Json(rows.iter().map(contact).collect()))
}

/// Add a contact to a client (staff, or the client's administrator).
#[utoipa::path(post, path = "/api/v1/clients/{id}/contacts", tag = "tenancy", security(("token" = [])),
    params(("id" = i64, Path, description = "Client id")), request_body = NewContact,
    responses((status = 201, body = Contact), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn create_contact(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(client_id): ApiPath<i64>,
    ApiJson(new): ApiJson<NewContact>,
) -> Result<Response, Error> {
    state.store.client(caller.scope(), client_id).await?;
    authorize(&caller.principal(), Action::ManageContacts { client_id })?;
    let email = new.email.trim();
    if email.parse::<lettre::Address>().is_err() {
        return Err(Error::invalid_field("email", format!("'{email}' is not an e-mail address")));
    }
    let row = ContactRow {
        id: 0,
        client_id,
        name: validate_name("name", &new.name)?.to_owned(),
        email: email.to_owned(),
        phone: optional_name("phone", &new.phone)?,
        role: optional_name("role", &new.role)?,
        maintenance_notices: new.maintenance_notices.unwrap_or(true),
    };
    Ok(created(contact(&state.store.create_contact(caller.scope(), &row, Timestamp::now()).await?)))
}

/// A short optional text: empty, or valid as a name is (one line, bounded).
fn optional_name(field: &'static str, text: &str) -> Result<String, Error> {
    if text.trim().is_empty() { Ok(String::new()) } else { Ok(validate_name(field, text)?.to_owned()) }
}
