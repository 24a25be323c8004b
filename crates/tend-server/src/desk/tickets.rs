//! Filing and changing tickets. Each change is checked against the domain's lifecycle, written
//! with the history entries that tell of it, and recomputes the ticket's SLA deadline from that
//! history, so a queue sorted by deadline is always right.

use jiff::Timestamp;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tend_core::desk::{
    self, Actor, Impact, Priority, TicketKind, TicketStatus, Urgency, check_transition, status_after_customer_reply,
};
use tend_core::tenancy::{Role, Scope, SupportLevel};
use tend_proto::desk::TicketForm;
use tend_proto::tickets::{NewTicket, VendorCase};
use tend_store::{NewTicketEvent, TicketChange, TicketEventRow, TicketRow};

use super::{contract, mail, sla};
use crate::{AppState, Error};

/// Who acts on a ticket: a user (with the scope their role gives) or the server itself.
#[derive(Debug, Clone, Copy)]
pub struct Who {
    pub user_id: Option<i64>,
    pub role: Option<Role>,
    pub scope: Scope,
}

impl Who {
    pub fn system() -> Who {
        Who { user_id: None, role: None, scope: Scope::System }
    }

    fn actor(&self) -> Actor {
        self.role.map_or(Actor::System, Actor::of)
    }

    fn is_staff(&self) -> bool {
        self.role.is_some_and(Role::is_staff)
    }

    fn require_staff(&self, what: &'static str) -> Result<(), Error> {
        if self.is_staff() || self.role.is_none() { Ok(()) } else { Err(tend_core::Error::Forbidden(what).into()) }
    }
}

/// What can happen to a filed ticket.
#[derive(Debug, Clone)]
pub enum Action {
    Reply(String),
    Note(String),
    Status {
        to: TicketStatus,
        note: Option<String>,
    },
    Escalate(String),
    Assign(Option<i64>),
    Confirm {
        rating: Option<u8>,
        comment: Option<String>,
    },
    Reopen(String),
    Time {
        minutes: u32,
        note: String,
    },
    Priority {
        impact: Impact,
        urgency: Urgency,
        priority: Option<Priority>,
        reason: Option<String>,
    },
    Vendor(VendorCase),
    /// Relates the ticket to an alert, a host (which then counts as one of the ticket's hosts),
    /// a maintenance window or another ticket of the same client.
    Link {
        kind: LinkKind,
        id: i64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    Alert,
    Host,
    Maintenance,
    Ticket,
}

/// A desk enum from its wire name, refused with the field's name.
pub fn parse<T: DeserializeOwned>(field: &str, text: &str) -> Result<T, Error> {
    serde_json::from_value(Value::String(text.to_owned()))
        .map_err(|_| Error::invalid_field(field, format!("'{text}' is not a valid {field}")))
}

/// Free text of a ticket: trimmed, not empty, bounded.
pub fn text(field: &str, value: &str) -> Result<String, Error> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::invalid_field(field, format!("{field} must not be empty")));
    }
    if value.chars().count() > desk::MAX_TEXT_CHARS {
        return Err(Error::invalid_field(field, format!("at most {} characters", desk::MAX_TEXT_CHARS)));
    }
    Ok(value.to_owned())
}

/// A fresh secret for the ticket's reply address and signed links.
fn reply_token() -> Result<String, Error> {
    crate::auth::Secret::Session.generate()
}

/// Files a ticket. A customer files for their own client and cannot override the priority; a
/// structured kind needs its form, validated field by field.
pub async fn file(
    state: &AppState,
    who: Who,
    requester_email: Option<String>,
    new: NewTicket,
    now: Timestamp,
) -> Result<TicketRow, Error> {
    let client_id = match (who.scope, new.client_id) {
        (Scope::Client(own), Some(asked)) if asked != own => return Err(Error::NotFound("client not found".into())),
        (Scope::Client(own), _) => own,
        (_, Some(client)) => client,
        (_, None) => return Err(Error::invalid_field("client_id", "the provider's staff name the client")),
    };
    state.store.client(who.scope, client_id).await?;
    let contract = contract::of_client(state, client_id).await?;
    if !contract.includes("service_desk") {
        return Err(tend_core::Error::Forbidden("the client's contract does not include the service desk").into());
    }
    let kind: TicketKind = parse("kind", &new.kind)?;
    check_form(kind, new.form.as_ref())?;
    let impact: Impact = parse("impact", new.impact.as_deref().unwrap_or("medium"))?;
    let urgency: Urgency = parse("urgency", new.urgency.as_deref().unwrap_or("medium"))?;
    let (priority, reason) =
        priority(&who, &contract.matrix, impact, urgency, new.priority.as_deref(), new.priority_reason.as_deref())?;
    let description =
        if new.description.trim().is_empty() { String::new() } else { text("description", &new.description)? };
    let mut ticket = blank(client_id, kind, subject(&new.subject)?, description, (impact, urgency, priority), now)?;
    ticket.requester_id = who.user_id;
    ticket.requester_email = requester_email;
    ticket.priority_reason = reason;
    ticket.form = new.form.as_ref().map(|f| serde_json::to_string(f).unwrap_or_default());
    ticket.host_ids = new.host_ids.clone();
    create(state, who, ticket, &contract, now).await
}

/// A new ticket of a client, at L1, with nothing but what is given.
pub fn blank(
    client_id: i64,
    kind: TicketKind,
    subject: String,
    description: String,
    (impact, urgency, priority): (Impact, Urgency, Priority),
    now: Timestamp,
) -> Result<TicketRow, Error> {
    Ok(TicketRow {
        id: 0,
        client_id,
        kind: kind.as_str().to_owned(),
        subject,
        description,
        requester_id: None,
        requester_email: None,
        impact: impact.as_str().to_owned(),
        urgency: urgency.as_str().to_owned(),
        priority: priority.as_str().to_owned(),
        priority_reason: None,
        support_level: "L1".into(),
        assignee_id: None,
        status: TicketStatus::New.as_str().to_owned(),
        form: None,
        alert_key: None,
        vendor: None,
        vendor_case: None,
        rma: None,
        vendor_follow_up: None,
        reply_token: reply_token()?,
        created_at: now,
        updated_at: now,
        resolved_at: None,
        closed_at: None,
        rating: None,
        rating_comment: None,
        sla_due_at: None,
        host_ids: Vec::new(),
    })
}

/// Writes a new ticket with its `created` entry and its first SLA deadline, and tells the
/// requester and the client's contacts.
pub async fn create(
    state: &AppState,
    who: Who,
    mut ticket: TicketRow,
    contract: &contract::Contract,
    now: Timestamp,
) -> Result<TicketRow, Error> {
    let created = event(who, now, "created", json!({ "priority": ticket.priority, "kind": ticket.kind }), true);
    let history = [as_row(&created, 0)];
    ticket.sla_due_at = sla::due_at(&history, &contract.sla, now);
    let stored = state.store.create_ticket(who.scope, &TicketChange { ticket, events: vec![created] }).await?;
    mail::ticket_filed(state, &stored, now).await?;
    Ok(stored)
}

fn subject(value: &str) -> Result<String, Error> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > 200 || value.chars().any(char::is_control) {
        return Err(Error::invalid_field("subject", "one line of 1 to 200 characters"));
    }
    Ok(value.to_owned())
}

/// The structured kinds carry their form, and only theirs; the form is validated by the domain,
/// which names the missing or refused field.
fn check_form(kind: TicketKind, form: Option<&TicketForm>) -> Result<(), Error> {
    let structured = matches!(kind, TicketKind::Intervention | TicketKind::OsReinstall | TicketKind::HardwareChange);
    match form {
        None if structured => Err(Error::invalid_field("form", format!("a {kind} ticket needs its form"))),
        None => Ok(()),
        Some(form) if desk::form_kind(form) != kind => {
            Err(Error::invalid_field("form", format!("the form is a {}, the ticket a {kind}", desk::form_kind(form))))
        }
        Some(form) => Ok(desk::validate_form(form)?),
    }
}

/// The matrix's priority, or an override with its reason (staff only).
fn priority(
    who: &Who,
    matrix: &desk::PriorityMatrix,
    impact: Impact,
    urgency: Urgency,
    asked: Option<&str>,
    reason: Option<&str>,
) -> Result<(Priority, Option<String>), Error> {
    let from_matrix = matrix.priority(impact, urgency);
    let Some(asked) = asked else { return Ok((from_matrix, None)) };
    let asked: Priority = parse("priority", asked)?;
    if asked == from_matrix {
        return Ok((asked, None));
    }
    who.require_staff("only the provider's staff may override a ticket's priority")?;
    let reason = desk::validate_override_reason(reason.unwrap_or(""))?;
    Ok((asked, Some(reason.to_owned())))
}

fn event(who: Who, at: Timestamp, kind: &str, body: Value, public: bool) -> NewTicketEvent {
    NewTicketEvent { at, actor_id: who.user_id, kind: kind.to_owned(), body: body.to_string(), public }
}

fn as_row(event: &NewTicketEvent, ticket_id: i64) -> TicketEventRow {
    TicketEventRow {
        id: 0,
        ticket_id,
        at: event.at,
        actor_id: event.actor_id,
        kind: event.kind.clone(),
        body: event.body.clone(),
        public: event.public,
    }
}

/// Applies `action` to a ticket the actor may see.
pub async fn act(
    state: &AppState,
    who: Who,
    ticket_id: i64,
    action: Action,
    now: Timestamp,
) -> Result<TicketRow, Error> {
    let before = state.store.ticket(who.scope, ticket_id).await?;
    let contract = contract::of_client(state, before.client_id).await?;
    let mut ticket = before.clone();
    ticket.updated_at = now.max(before.updated_at + jiff::SignedDuration::from_millis(1));
    let events = change(state, who, &mut ticket, action, &contract, now).await?;
    let mut history = state.store.ticket_events(Scope::System, ticket_id, false).await?;
    history.extend(events.iter().map(|e| as_row(e, ticket_id)));
    ticket.sla_due_at = match ticket.status.as_str() {
        "closed" => None,
        _ => sla::due_at(&history, &contract.sla, now),
    };
    let stored = state
        .store
        .update_ticket(who.scope, before.updated_at, &TicketChange { ticket, events: events.clone() })
        .await?;
    mail::ticket_changed(state, &stored, &events, now).await?;
    // Credentials given for the ticket go with it, unless the contract keeps them.
    if stored.status == "closed" && before.status != "closed" {
        crate::vault::purge_after_close(state, &stored).await?;
    }
    Ok(stored)
}

/// The history entries of an action, with the ticket changed accordingly.
async fn change(
    state: &AppState,
    who: Who,
    ticket: &mut TicketRow,
    action: Action,
    contract: &contract::Contract,
    now: Timestamp,
) -> Result<Vec<NewTicketEvent>, Error> {
    let status: TicketStatus = parse("status", &ticket.status)?;
    let mut events = Vec::new();
    match action {
        Action::Reply(reply) => {
            let staff = who.is_staff();
            events.push(event(who, now, "reply", json!({ "text": text("text", &reply)?, "staff": staff }), true));
            if !staff && let Some(next) = status_after_customer_reply(status) {
                events.push(set_status(who, ticket, status, next, now)?);
            }
        }
        Action::Note(note) => {
            who.require_staff("internal notes are the provider's")?;
            events.push(event(who, now, "note", json!({ "text": text("text", &note)? }), false));
        }
        Action::Status { to, note } => {
            who.require_staff("only the provider's staff change a ticket's status; confirm or reopen instead")?;
            events.push(set_status(who, ticket, status, to, now)?);
            if let Some(note) = note {
                events.push(event(who, now, "reply", json!({ "text": text("note", &note)?, "staff": true }), true));
            }
        }
        Action::Escalate(note) => {
            who.require_staff("only the provider's staff escalate tickets")?;
            events.push(escalate(who, ticket, &note, contract, now)?);
        }
        Action::Assign(user_id) => {
            who.require_staff("only the provider's staff assign tickets")?;
            if let Some(user) = user_id {
                let user = state.store.user(Scope::System, user).await?;
                if !user.role.is_staff() {
                    return Err(Error::invalid_field("user_id", "tickets are assigned to the provider's staff"));
                }
            }
            ticket.assignee_id = user_id;
            events.push(event(who, now, "assigned", json!({ "user_id": user_id }), false));
            if status == TicketStatus::New && user_id.is_some() {
                events.push(set_status(who, ticket, status, TicketStatus::Open, now)?);
            }
        }
        Action::Confirm { rating, comment } => {
            if who.is_staff() {
                return Err(tend_core::Error::Forbidden("only the customer confirms that a ticket is fixed").into());
            }
            events.push(set_status(who, ticket, status, TicketStatus::Closed, now)?);
            if let Some(rating) = rating {
                if !(1..=5).contains(&rating) {
                    return Err(Error::invalid_field("rating", "from 1 to 5"));
                }
                ticket.rating = Some(i64::from(rating));
                ticket.rating_comment = comment.as_deref().map(|c| text("comment", c)).transpose()?;
                events.push(event(
                    who,
                    now,
                    "rating",
                    json!({ "rating": rating, "comment": ticket.rating_comment }),
                    true,
                ));
            }
        }
        Action::Reopen(reason) => {
            let reason = text("text", &reason)?;
            events.push(set_status(who, ticket, status, TicketStatus::Open, now)?);
            events.push(event(who, now, "reply", json!({ "text": reason, "staff": who.is_staff() }), true));
        }
        Action::Time { minutes, note } => {
            who.require_staff("time entries are the provider's")?;
            if minutes == 0 || minutes > 24 * 60 {
                return Err(Error::invalid_field("minutes", "1 to 1440 minutes per entry"));
            }
            events.push(event(who, now, "time", json!({ "minutes": minutes, "note": note.trim() }), false));
        }
        Action::Priority { impact, urgency, priority: asked, reason } => {
            let asked = asked.map(Priority::as_str);
            let (priority, reason) = priority(&who, &contract.matrix, impact, urgency, asked, reason.as_deref())?;
            who.require_staff("only the provider's staff change a ticket's priority")?;
            ticket.impact = impact.as_str().to_owned();
            ticket.urgency = urgency.as_str().to_owned();
            ticket.priority = priority.as_str().to_owned();
            ticket.priority_reason = reason.clone();
            events.push(event(who, now, "priority", json!({ "priority": priority, "reason": reason }), true));
        }
        Action::Vendor(case) => {
            who.require_staff("vendor cases are the provider's")?;
            ticket.vendor = Some(text("vendor", &case.vendor)?);
            ticket.vendor_case = case.case_number.clone();
            ticket.rma = case.rma.clone();
            ticket.vendor_follow_up = case
                .follow_up
                .as_deref()
                .map(|t| t.parse::<Timestamp>().map_err(|e| Error::invalid_field("follow_up", e.to_string())))
                .transpose()?;
            events.push(event(who, now, "vendor", serde_json::to_value(&case).unwrap_or_default(), false));
        }
        Action::Link { kind, id } => {
            who.require_staff("links are the provider's")?;
            link_target(state, ticket, kind, id).await?;
            events.push(event(who, now, "link", json!({ "kind": kind, "id": id }), false));
        }
    }
    Ok(events)
}

/// Checks that the target of a link exists and belongs to the ticket's client; a host joins the
/// ticket's hosts.
async fn link_target(state: &AppState, ticket: &mut TicketRow, kind: LinkKind, id: i64) -> Result<(), Error> {
    let client = Scope::Client(ticket.client_id);
    match kind {
        LinkKind::Alert => drop(state.store.alert(client, id).await?),
        LinkKind::Host => {
            state.store.host(client, id).await?;
            // Written with the ticket's change, in its transaction.
            if !ticket.host_ids.contains(&id) {
                ticket.host_ids.push(id);
            }
        }
        LinkKind::Maintenance => {
            let windows = state.store.maintenance_windows(client, None).await?;
            if !windows.iter().any(|w| w.id == id) {
                return Err(Error::NotFound(format!("maintenance window {id} not found")));
            }
        }
        LinkKind::Ticket if id == ticket.id => {
            return Err(Error::invalid_field("id", "a ticket cannot link to itself"));
        }
        LinkKind::Ticket => drop(state.store.ticket(client, id).await?),
    }
    Ok(())
}

/// A status change the domain allows, with its timestamps.
fn set_status(
    who: Who,
    ticket: &mut TicketRow,
    from: TicketStatus,
    to: TicketStatus,
    now: Timestamp,
) -> Result<NewTicketEvent, Error> {
    check_transition(from, to, who.actor())?;
    ticket.status = to.as_str().to_owned();
    match to {
        TicketStatus::Resolved => ticket.resolved_at = Some(now),
        TicketStatus::Closed => ticket.closed_at = Some(now),
        TicketStatus::Open => {
            ticket.resolved_at = None;
            ticket.closed_at = None;
        }
        _ => {}
    }
    Ok(event(who, now, "status", json!({ "status": to, "from": from }), true))
}

/// Hands the ticket to the next support level the contract includes, with the required note.
pub fn escalate(
    who: Who,
    ticket: &mut TicketRow,
    note: &str,
    contract: &contract::Contract,
    now: Timestamp,
) -> Result<NewTicketEvent, Error> {
    let note = desk::validate_escalation_note(note)?;
    let level = level_of(&ticket.support_level)?;
    let Some(next) = desk::escalate(level) else {
        return Err(Error::invalid_field("support_level", "the ticket is at L3 already: involve the vendor instead"));
    };
    let next = level_text(next);
    if !contract.support_levels.iter().any(|l| l == next) {
        return Err(tend_core::Error::Forbidden("the client's contract does not include the next support level").into());
    }
    let from = std::mem::replace(&mut ticket.support_level, next.to_owned());
    Ok(event(who, now, "escalated", json!({ "from": from, "to": next, "note": note }), false))
}

pub fn level_of(text: &str) -> Result<SupportLevel, Error> {
    match text {
        "L1" => Ok(SupportLevel::L1),
        "L2" => Ok(SupportLevel::L2),
        "L3" => Ok(SupportLevel::L3),
        other => Err(Error::Internal(format!("stored support level '{other}'"))),
    }
}

pub fn level_text(level: SupportLevel) -> &'static str {
    match level {
        SupportLevel::L1 => "L1",
        SupportLevel::L2 => "L2",
        SupportLevel::L3 => "L3",
    }
}
