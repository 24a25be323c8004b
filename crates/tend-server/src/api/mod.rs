//! The public HTTP API, `/api/v1`, and its OpenAPI document.
//!
//! Every route is registered through `utoipa_axum`, so the document at
//! `/api/v1/openapi.json` is generated from the same code that routes requests.

mod alerts;
pub(crate) mod backups;
mod clients;
pub(crate) mod convert;
pub(crate) mod enrollment;
mod hosts;
mod jobs;
mod monitoring;
mod patch_policy;
mod patching;
pub(crate) mod pings;
mod probes;
mod rollouts;
mod session;
mod tickets;
pub(crate) mod users;
mod vault;

use axum::Json;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

pub use convert::host_summary;
pub use session::check_password;

use crate::error::{problem, problem_response};
use crate::{AppState, Error};

#[derive(OpenApi)]
#[openapi(
    info(title = "tend", description = "Control plane API of tend: clients, hosts, metrics, enrollment."),
    modifiers(&BearerAuth),
    tags(
        (name = "session", description = "Logging in and API tokens"),
        (name = "tenancy", description = "Clients, sites and users"),
        (name = "hosts", description = "Managed hosts, their facts and metrics"),
        (name = "enrollment", description = "Enrollment tokens and agents"),
        (name = "monitoring", description = "Alerts, checks, maintenance windows, notification channels"),
        (name = "desk", description = "Service desk: tickets, SLA clocks, contracts"),
        (name = "vault", description = "Access credentials, sealed; reveals and the audit trail"),
        (name = "jobs", description = "Typed jobs agents run, gated by the customer's authorization"),
        (name = "patching", description = "Advisories, hosts' exposures, the security promise, mitigations"),
        (name = "rollouts", description = "Rings of hosts and patch rollouts through them, test before production"),
        (name = "backups", description = "Hosts' restic backup plans, their events and the overview"),
        (name = "agent", description = "Endpoints the tend agent calls"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = || SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build());
        components.add_security_scheme("token", bearer());
        components.add_security_scheme("agent", bearer());
    }
}

/// Every API route with its documentation.
/// `max_report_bytes` bounds agent report bodies, which are larger than any user request.
pub fn router(max_report_bytes: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(session::routes())
        .merge(clients::routes())
        .merge(users::routes())
        .merge(hosts::routes())
        .merge(enrollment::routes())
        .merge(alerts::routes())
        .merge(monitoring::routes())
        .merge(probes::routes())
        .merge(pings::routes())
        .merge(tickets::routes())
        .merge(vault::routes())
        .merge(jobs::routes())
        .merge(patching::routes(max_report_bytes))
        .merge(patch_policy::routes())
        .merge(rollouts::routes())
        .merge(backups::routes())
        .merge(crate::agent_api::routes(max_report_bytes))
        .route("/api/v1/openapi.json", axum::routing::get(openapi_json))
}

/// The OpenAPI document, as served.
pub fn openapi() -> utoipa::openapi::OpenApi {
    router(0).split_for_parts().1
}

async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi())
}

/// Unknown paths answer a problem document too.
pub async fn not_found(uri: Uri) -> Response {
    let detail = format!("no such resource: {}", uri.path());
    problem_response(problem(StatusCode::NOT_FOUND, "not-found", "Not found", detail, None))
}

/// Keyset pagination: `after` is the last id of the previous page.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next_cursor` of the previous page.
    pub after: Option<i64>,
    /// Items per page, 1 to 1000; default 100.
    pub limit: Option<u32>,
}

/// A list's `limit` parameter: 1 to [`PageQuery::MAX_LIMIT`], [`PageQuery::DEFAULT_LIMIT`] when
/// absent.
pub fn limit(asked: Option<u32>) -> Result<u32, Error> {
    match asked.unwrap_or(PageQuery::DEFAULT_LIMIT) {
        n @ 1..=PageQuery::MAX_LIMIT => Ok(n),
        n => Err(Error::invalid_field("limit", format!("limit {n} is outside 1..={}", PageQuery::MAX_LIMIT))),
    }
}

impl PageQuery {
    pub const DEFAULT_LIMIT: u32 = 100;
    pub const MAX_LIMIT: u32 = 1000;

    pub fn limit(&self) -> Result<u32, Error> {
        limit(self.limit)
    }

    /// Fetches one more than asked, to know whether a next page exists.
    pub fn page<T>(&self, mut items: Vec<T>, limit: u32, id: impl Fn(&T) -> i64) -> tend_proto::api::Page<T> {
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next_cursor = if more { items.last().map(id) } else { None };
        tend_proto::api::Page { items, next_cursor }
    }
}

/// 201 with a body.
pub fn created<T: serde::Serialize>(body: T) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}
