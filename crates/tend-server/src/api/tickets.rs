//! The service desk API: tickets, their actions, and client contracts.
//!
//! Handlers translate HTTP into `desk::tickets` actions; which actor may do what is decided
//! there and in `tend_core::desk`. A client's users see their own client's tickets and only
//! the public part of their history.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use jiff::Timestamp;
use serde::Deserialize;
use tend_core::desk::{Impact, Priority, TicketStatus, Urgency};
use tend_core::tenancy::{Action as TenancyAction, Scope, authorize};
use tend_proto::api::Problem;
use tend_proto::desk::TicketForm;
use tend_proto::tickets::{
    Assignment, Confirmation, Contract, NewTicket, PriorityChange, StatusChange, Ticket, TicketDetail, TicketEntry,
    TicketLink, TicketText, TimeEntry, VendorCase,
};
use tend_store::{TicketEventRow, TicketFilter, TicketRow};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::convert::timestamp_text;
use super::created;
use crate::auth::Caller;
use crate::desk::contract;
use crate::desk::sla;
use crate::desk::tickets::{self, Action, Who, parse};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::{AppState, Error};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tickets, file_ticket))
        .routes(routes!(get_ticket))
        .routes(routes!(reply))
        .routes(routes!(note))
        .routes(routes!(escalate))
        .routes(routes!(assign))
        .routes(routes!(change_status))
        .routes(routes!(confirm))
        .routes(routes!(reopen))
        .routes(routes!(log_time))
        .routes(routes!(change_priority))
        .routes(routes!(vendor_case))
        .routes(routes!(link))
        .routes(routes!(confirm_by_link))
        .routes(routes!(get_contract, put_contract))
}

fn who(caller: &Caller) -> Who {
    Who { user_id: Some(caller.user.id), role: Some(caller.user.role), scope: caller.scope() }
}

/// A ticket as the API shows it, with its SLA clocks now.
async fn ticket(state: &AppState, row: &TicketRow) -> Result<Ticket, Error> {
    let contract = contract::of_client(state, row.client_id).await?;
    let history = state.store.ticket_events(Scope::System, row.id, false).await?;
    Ok(ticket_of(row, &contract, &history, Timestamp::now()))
}

/// A ticket as the API shows it, from its client's contract and its whole history.
fn ticket_of(row: &TicketRow, contract: &contract::Contract, history: &[TicketEventRow], now: Timestamp) -> Ticket {
    let sla = sla::clocks_of(history, &contract.sla, now).map(|clocks| sla::view(&contract.sla, &clocks));
    let vendor = row.vendor.as_ref().map(|vendor| VendorCase {
        vendor: vendor.clone(),
        case_number: row.vendor_case.clone(),
        rma: row.rma.clone(),
        follow_up: row.vendor_follow_up.map(timestamp_text),
    });
    Ticket {
        id: row.id,
        client_id: row.client_id,
        kind: row.kind.clone(),
        subject: row.subject.clone(),
        description: row.description.clone(),
        requester_id: row.requester_id,
        requester_email: row.requester_email.clone(),
        impact: row.impact.clone(),
        urgency: row.urgency.clone(),
        priority: row.priority.clone(),
        priority_reason: row.priority_reason.clone(),
        support_level: row.support_level.clone(),
        assignee_id: row.assignee_id,
        status: row.status.clone(),
        host_ids: row.host_ids.clone(),
        form: row.form.as_deref().and_then(|f| serde_json::from_str(f).ok()),
        alert_key: row.alert_key.clone(),
        vendor,
        created_at: timestamp_text(row.created_at),
        updated_at: timestamp_text(row.updated_at),
        resolved_at: row.resolved_at.map(timestamp_text),
        closed_at: row.closed_at.map(timestamp_text),
        rating: row.rating.and_then(|r| u8::try_from(r).ok()),
        rating_comment: row.rating_comment.clone(),
        sla,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct TicketQuery {
    /// Only this client's tickets.
    client: Option<i64>,
    /// Only this support level's queue: L1, L2 or L3.
    level: Option<String>,
    /// Only tickets assigned to this user.
    assignee: Option<i64>,
    /// Only tickets about this host.
    host: Option<i64>,
    /// Only tickets not yet closed (default true).
    open: Option<bool>,
}

/// Tickets the caller may see, earliest SLA deadline first.
#[utoipa::path(get, path = "/api/v1/tickets", tag = "desk", security(("token" = [])), params(TicketQuery),
    responses((status = 200, body = Vec<Ticket>), (status = 401, body = Problem)))]
async fn list_tickets(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<TicketQuery>,
) -> Result<Json<Vec<Ticket>>, Error> {
    let filter = TicketFilter {
        client_id: query.client,
        support_level: query.level,
        assignee_id: query.assignee,
        host_id: query.host,
        open_only: query.open.unwrap_or(true),
    };
    let rows = state.store.tickets(caller.scope(), &filter, 500).await?;
    // One read of the histories and one contract per client, not a few queries per ticket.
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let histories = state.store.histories(&ids).await?;
    let mut contracts: HashMap<i64, contract::Contract> = HashMap::new();
    let now = Timestamp::now();
    let mut tickets = Vec::with_capacity(rows.len());
    for row in &rows {
        if let Entry::Vacant(entry) = contracts.entry(row.client_id) {
            entry.insert(contract::of_client(&state, row.client_id).await?);
        }
        let history = histories.get(&row.id).map_or(&[][..], Vec::as_slice);
        tickets.push(ticket_of(row, &contracts[&row.client_id], history, now));
    }
    Ok(Json(tickets))
}

/// File a ticket. Interventions, OS reinstalls and hardware changes need their structured form;
/// a refused form names its field.
#[utoipa::path(post, path = "/api/v1/tickets", tag = "desk", security(("token" = [])), request_body = NewTicket,
    responses((status = 201, body = Ticket), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn file_ticket(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewTicket>,
) -> Result<Response, Error> {
    let row = tickets::file(&state, who(&caller), None, new, Timestamp::now()).await?;
    Ok(created(ticket(&state, &row).await?))
}

/// A ticket with its history (a customer sees the public part) and the acknowledgements of its
/// form.
#[utoipa::path(get, path = "/api/v1/tickets/{id}", tag = "desk", security(("token" = [])),
    params(("id" = i64, Path, description = "Ticket id")),
    responses((status = 200, body = TicketDetail), (status = 404, body = Problem)))]
async fn get_ticket(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<TicketDetail>, Error> {
    let row = state.store.ticket(caller.scope(), id).await?;
    let contract = contract::of_client(&state, row.client_id).await?;
    // The clocks read the whole history; a customer is shown its public part.
    let events = state.store.ticket_events(caller.scope(), id, false).await?;
    let ticket = ticket_of(&row, &contract, &events, Timestamp::now());
    let public_only = !caller.user.role.is_staff();
    let history = events
        .into_iter()
        .filter(|e| e.public || !public_only)
        .map(|e| TicketEntry {
            at: timestamp_text(e.at),
            actor_id: e.actor_id,
            kind: e.kind,
            body: serde_json::from_str(&e.body).unwrap_or_default(),
            public: e.public,
        })
        .collect();
    let acknowledgements = acknowledgements(&state, &row).await?;
    Ok(Json(TicketDetail { ticket, history, acknowledgements }))
}

/// The sentences of the ticket's form, naming its first host.
async fn acknowledgements(state: &AppState, row: &TicketRow) -> Result<Vec<String>, Error> {
    let Some(form) = row.form.as_deref().and_then(|f| serde_json::from_str::<TicketForm>(f).ok()) else {
        return Ok(Vec::new());
    };
    let server = match row.host_ids.first() {
        Some(host) => state.store.host(Scope::System, *host).await?.hostname,
        None => "the server".to_owned(),
    };
    Ok(tend_core::desk::acknowledgements(&form, &server))
}

async fn act(state: &AppState, caller: &Caller, id: i64, action: Action) -> Result<Json<Ticket>, Error> {
    let row = tickets::act(state, who(caller), id, action, Timestamp::now()).await?;
    Ok(Json(ticket(state, &row).await?))
}

/// A public reply; a customer's reply to a ticket waiting on them puts it back in progress.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/replies", tag = "desk", security(("token" = [])),
    params(("id" = i64, Path, description = "Ticket id")), request_body = TicketText,
    responses((status = 200, body = Ticket), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn reply(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<TicketText>,
) -> Result<Json<Ticket>, Error> {
    act(&state, &caller, id, Action::Reply(body.text)).await
}

/// An internal note (staff).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/notes", tag = "desk", security(("token" = [])),
    params(("id" = i64, Path, description = "Ticket id")), request_body = TicketText,
    responses((status = 200, body = Ticket), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn note(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<TicketText>,
) -> Result<Json<Ticket>, Error> {
    act(&state, &caller, id, Action::Note(body.text)).await
}

/// Hand the ticket to the next support level, with the required escalation note (staff).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/escalate", tag = "desk", security(("token" = [])),
    params(("id" = i64, Path, description = "Ticket id")), request_body = TicketText,
    responses((status = 200, body = Ticket), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn escalate(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<TicketText>,
) -> Result<Json<Ticket>, Error> {
    act(&state, &caller, id, Action::Escalate(body.text)).await
}

/// Assign the ticket to a member of staff, or unassign it (staff).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/assign", tag = "desk", security(("token" = [])),
    params(("id" = i64, Path, description = "Ticket id")), request_body = Assignment,
    responses((status = 200, body = Ticket), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<Assignment>,
) -> Result<Json<Ticket>, Error> {
    act(&state, &caller, id, Action::Assign(body.user_id)).await
}

/// Move the ticket along its lifecycle (staff): open, in_progress, waiting_on_customer,
/// resolved.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/status", tag = "desk", security(("token" = [])),
    params(("id" = i64, Path, description = "Ticket id")), request_body = StatusChange,
    responses((status = 200, body = Ticket), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn change_status(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<StatusChange>,
) -> Result<Json<Ticket>, Error> {
    let to: TicketStatus = parse("status", &body.status)?;
    act(&state, &caller, id, Action::Status { to, note: body.note }).await
}

/// The customer confirms the fix (the ticket closes) and may rate the service.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/confirm", tag = "desk", security(("token" = [])),
    params(("id" = i64, Path, description = "Ticket id")), request_body = Confirmation,
    responses((status = 200, body = Ticket), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn confirm(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<Confirmation>,
) -> Result<Json<Ticket>, Error> {
    act(&state, &caller, id, Action::Confirm { rating: body.rating, comment: body.comment }).await
}

/// Reopen a resolved ticket, saying why.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/reopen", tag = "desk", security(("token" = [])),
    params(("id" = i64, Path, description = "Ticket id")), request_body = TicketText,
    responses((status = 200, body = Ticket), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn reopen(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<TicketText>,
) -> Result<Json<Ticket>, Error> {
    act(&state, &caller, id, Action::Reopen(body.text)).await
}

/// Record time worked on the ticket (staff).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/time", tag = "desk", security(("token" = [])),
    params(("id" = i64, Path, description = "Ticket id")), request_body = TimeEntry,
    responses((status = 200, body = Ticket), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn log_time(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<TimeEntry>,
) -> Result<Json<Ticket>, Error> {
    act(&state, &caller, id, Action::Time { minutes: body.minutes, note: body.note }).await
}

/// Requalify impact and urgency, or override the priority with a reason (staff); the SLA
/// clocks are recomputed from the ticket's history.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/priority", tag = "desk", security(("token" = [])),
    params(("id" = i64, Path, description = "Ticket id")), request_body = PriorityChange,
    responses((status = 200, body = Ticket), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn change_priority(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<PriorityChange>,
) -> Result<Json<Ticket>, Error> {
    let impact: Impact = parse("impact", &body.impact)?;
    let urgency: Urgency = parse("urgency", &body.urgency)?;
    let priority: Option<Priority> = body.priority.as_deref().map(|p| parse("priority", p)).transpose()?;
    act(&state, &caller, id, Action::Priority { impact, urgency, priority, reason: body.reason }).await
}

/// Record the vendor's case, RMA and follow-up date (staff, L3 work).
#[utoipa::path(put, path = "/api/v1/tickets/{id}/vendor", tag = "desk", security(("token" = [])),
    params(("id" = i64, Path, description = "Ticket id")), request_body = VendorCase,
    responses((status = 200, body = Ticket), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn vendor_case(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<VendorCase>,
) -> Result<Json<Ticket>, Error> {
    act(&state, &caller, id, Action::Vendor(body)).await
}

/// Relate the ticket to an alert, a host, a maintenance window or another ticket (staff).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/links", tag = "desk", security(("token" = [])),
    params(("id" = i64, Path, description = "Ticket id")), request_body = TicketLink,
    responses((status = 200, body = Ticket), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn link(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<TicketLink>,
) -> Result<Json<Ticket>, Error> {
    let kind = parse("kind", &body.kind)?;
    act(&state, &caller, id, Action::Link { kind, id: body.id }).await
}

/// The signed link of a resolution e-mail: confirms the fix without logging in. The token is the
/// ticket's own secret, sent only to the customer.
#[utoipa::path(post, path = "/api/v1/tickets/confirm/{token}", tag = "desk", request_body = Confirmation,
    params(("token" = String, Path, description = "The token of the ticket's e-mail link")),
    responses((status = 200, body = Ticket), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn confirm_by_link(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    ApiJson(body): ApiJson<Confirmation>,
) -> Result<Json<Ticket>, Error> {
    let row = state.store.ticket_by_reply_token(&token).await?.ok_or(Error::NotFound("no such ticket link".into()))?;
    let customer =
        Who { user_id: None, role: Some(tend_core::tenancy::Role::ClientUser), scope: Scope::Client(row.client_id) };
    let action = Action::Confirm { rating: body.rating, comment: body.comment };
    let row = tickets::act(&state, customer, row.id, action, Timestamp::now()).await?;
    Ok(Json(ticket(&state, &row).await?))
}

/// The client's contract; the provider's standard terms when none was recorded.
#[utoipa::path(get, path = "/api/v1/clients/{id}/contract", tag = "desk", security(("token" = [])),
    params(("id" = i64, Path, description = "Client id")),
    responses((status = 200, body = Contract), (status = 404, body = Problem)))]
async fn get_contract(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(client_id): ApiPath<i64>,
) -> Result<Json<Contract>, Error> {
    let stored = state.store.contract(caller.scope(), client_id).await?;
    let updated_at = stored.as_ref().map(|c| timestamp_text(c.updated_at));
    let contract = contract::of_client(&state, client_id).await?;
    Ok(Json(contract::to_wire(client_id, &contract, updated_at)))
}

/// Record the client's contract (administrator).
#[utoipa::path(put, path = "/api/v1/clients/{id}/contract", tag = "desk", security(("token" = [])),
    params(("id" = i64, Path, description = "Client id")), request_body = Contract,
    responses((status = 200, body = Contract), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn put_contract(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(client_id): ApiPath<i64>,
    ApiJson(body): ApiJson<Contract>,
) -> Result<Json<Contract>, Error> {
    state.store.client(caller.scope(), client_id).await?;
    // Contracts are commercial terms: the provider's administrator's.
    authorize(&caller.principal(), TenancyAction::CreateClient)?;
    let row = contract::validate(client_id, &body)?;
    let stored = state.store.put_contract(caller.scope(), &row, Timestamp::now()).await?;
    let contract = contract::of_client(&state, client_id).await?;
    Ok(Json(contract::to_wire(client_id, &contract, Some(timestamp_text(stored.updated_at)))))
}
