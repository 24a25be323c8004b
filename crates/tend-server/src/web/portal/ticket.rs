//! One ticket as its customer sees it: what was asked and acknowledged, the public history, the
//! SLA clocks; a reply form while it is open, confirmation (with a rating) or reopening once
//! resolved.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use serde::Serialize;
use tend_proto::desk::{TicketForm, TimeRange};
use tend_store::{TicketEventRow, TicketRow};

use super::home::clock_text;
use super::request::{BACKUP_STATEMENTS, COMPONENTS, Choice, DOWNTIMES, POWER_ACTIONS};
use super::{Customer, Fields, PageError, Problem, kind_text, problem, status_text, time_text};
use crate::desk::tickets::{self, Action};
use crate::desk::{contract, sla};
use crate::web::render;
use crate::{AppState, Error};

#[derive(askama::Template)]
#[template(path = "portal_ticket.html")]
struct TicketPage {
    username: String,
    csrf: String,
    ticket: TicketView,
    hosts: Vec<String>,
    details: Vec<(&'static str, String)>,
    acknowledgements: Vec<String>,
    clocks: Vec<ClockLine>,
    history: Vec<Entry>,
    fields: Fields,
    problem: Option<Problem>,
}

impl ResolutionForms for TicketPage {
    fn fields(&self) -> &Fields {
        &self.fields
    }

    fn problem(&self) -> Option<&Problem> {
        self.problem.as_ref()
    }
}

/// What `portal_resolution.html`, the confirm-or-reopen forms, asks of the page that includes
/// it: the values sent and the problem with them.
pub(super) trait ResolutionForms {
    fn fields(&self) -> &Fields;

    fn problem(&self) -> Option<&Problem>;

    fn value(&self, name: &str) -> &str {
        self.fields().get(name)
    }

    fn error(&self, field: &str) -> Option<&str> {
        self.problem().and_then(|p| p.on(field))
    }

    fn ratings(&self) -> [(&'static str, &'static str); 5] {
        RATINGS
    }
}

/// The ratings offered, best last, as the confirmation forms show them.
const RATINGS: [(&str, &str); 5] =
    [("1", "1 – poor"), ("2", "2 – fair"), ("3", "3 – good"), ("4", "4 – very good"), ("5", "5 – excellent")];

struct TicketView {
    id: i64,
    subject: String,
    description: String,
    kind: &'static str,
    status: String,
    status_text: &'static str,
    priority: String,
    created: String,
    rating: Option<i64>,
    rating_comment: Option<String>,
}

impl TicketView {
    fn resolved(&self) -> bool {
        self.status == "resolved"
    }

    fn closed(&self) -> bool {
        self.status == "closed"
    }
}

struct ClockLine {
    name: &'static str,
    text: String,
    state: &'static str,
}

/// One public entry of the history.
struct Entry {
    at: String,
    who: String,
    what: String,
    text: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let customer = Customer::of(&state, &headers).await?;
    let id = ticket_id(&id)?;
    let page = ticket_page(&state, &customer, id, Fields::default(), None).await?;
    Ok(render(&page, StatusCode::OK))
}

pub async fn reply(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    change(&state, &headers, &id, Fields(pairs), "reply", |fields| Ok(Action::Reply(fields.get("reply").to_owned())))
        .await
}

pub async fn confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    change(&state, &headers, &id, Fields(pairs), "comment", confirmation).await
}

pub async fn reopen(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    change(&state, &headers, &id, Fields(pairs), "reason", |fields| Ok(Action::Reopen(fields.get("reason").to_owned())))
        .await
}

/// The confirmation a form asks for: a rating from 1 to 5 if one was chosen, and a comment.
pub(super) fn confirmation(fields: &Fields) -> Result<Action, Error> {
    let rating = match fields.given("rating") {
        None => None,
        Some(text) => Some(text.parse::<u8>().map_err(|_| Error::invalid_field("rating", "choose from 1 to 5"))?),
    };
    Ok(Action::Confirm { rating, comment: fields.given("comment").map(str::to_owned) })
}

/// A path's ticket id; anything else is as missing as another client's ticket.
fn ticket_id(text: &str) -> Result<i64, PageError> {
    text.parse().map_err(|_| PageError::not_found())
}

/// Applies a customer's action and shows the ticket again: changed, or with the refusal next to
/// the field it names. The desk's free-text field is called `text`; `text_field` is its name on
/// this form.
async fn change(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    fields: Fields,
    text_field: &'static str,
    action: impl FnOnce(&Fields) -> Result<Action, Error>,
) -> Result<Response, PageError> {
    let customer = Customer::of(state, headers).await?;
    let id = ticket_id(id)?;
    customer.check_csrf(&fields)?;
    let done = match action(&fields) {
        Ok(action) => tickets::act(state, customer.who(), id, action, Timestamp::now()).await,
        Err(refused) => Err(refused),
    };
    match done {
        Ok(_) => Ok(Redirect::to(&format!("/portal/tickets/{id}")).into_response()),
        Err(refused) => {
            let problem =
                problem(refused, &|field| if field == "text" { text_field.to_owned() } else { field.to_owned() })?;
            let status = problem.status;
            let page = ticket_page(state, &customer, id, fields, Some(problem)).await?;
            Ok(render(&page, status))
        }
    }
}

async fn ticket_page(
    state: &AppState,
    customer: &Customer,
    id: i64,
    fields: Fields,
    problem: Option<Problem>,
) -> Result<TicketPage, PageError> {
    let scope = customer.scope();
    let now = Timestamp::now();
    let row = state.store.ticket(scope, id).await?;
    let events = state.store.ticket_events(scope, id, false).await?;
    let contract = contract::of_client(state, row.client_id).await?;
    let clocks = sla::clocks_of(&events, &contract.sla, now)
        .map(|clocks| {
            [("Response", clocks.response), ("Resolution", clocks.resolution)]
                .into_iter()
                .map(|(name, clock)| {
                    let (text, state) = clock_text(&clock, now);
                    ClockLine { name, text, state }
                })
                .collect()
        })
        .unwrap_or_default();
    let hostnames: HashMap<i64, String> = state
        .store
        .list_hosts(scope, Some(customer.client_id), 0, 1000)
        .await?
        .into_iter()
        .map(|h| (h.id, h.hostname))
        .collect();
    let hostname = |id: &i64| hostnames.get(id).cloned().unwrap_or_else(|| format!("server #{id}"));
    let form = row.form.as_deref().and_then(|f| serde_json::from_str::<TicketForm>(f).ok());
    let server = row.host_ids.first().map_or_else(|| "the server".to_owned(), hostname);
    let acknowledgements = form.as_ref().map(|f| tend_core::desk::acknowledgements(f, &server)).unwrap_or_default();
    let details = form.as_ref().map(|f| details(f, &hostname)).unwrap_or_default();
    let users: HashMap<i64, String> =
        state.store.list_users(scope).await?.into_iter().map(|u| (u.id, u.username)).collect();
    let history = events.iter().filter(|e| e.public).map(|e| entry(e, customer.user.id, &users)).collect();
    Ok(TicketPage {
        username: customer.user.username.clone(),
        csrf: customer.csrf.clone(),
        hosts: row.host_ids.iter().map(hostname).collect(),
        ticket: view(&row),
        details,
        acknowledgements,
        clocks,
        history,
        fields,
        problem,
    })
}

fn view(row: &TicketRow) -> TicketView {
    TicketView {
        id: row.id,
        subject: row.subject.clone(),
        description: row.description.clone(),
        kind: kind_text(&row.kind),
        status: row.status.clone(),
        status_text: status_text(&row.status),
        priority: row.priority.to_uppercase(),
        created: time_text(row.created_at),
        rating: row.rating,
        rating_comment: row.rating_comment.clone(),
    }
}

/// A history entry in the customer's words. Who: the customer themselves, a colleague by name,
/// the service desk (whose staff are not named to customers), or tend.
fn entry(event: &TicketEventRow, me: i64, users: &HashMap<i64, String>) -> Entry {
    let body: serde_json::Value = serde_json::from_str(&event.body).unwrap_or_default();
    let text = |key: &str| body.get(key).and_then(|v| v.as_str()).map(str::to_owned).filter(|t| !t.is_empty());
    let staff = body.get("staff").and_then(serde_json::Value::as_bool) == Some(true);
    let who = match event.actor_id {
        Some(id) if id == me => "You".to_owned(),
        Some(id) => users.get(&id).cloned().unwrap_or_else(|| "Service desk".to_owned()),
        None if event.kind == "reply" && staff => "Service desk".to_owned(),
        None if event.kind == "reply" => "By e-mail".to_owned(),
        None => "tend".to_owned(),
    };
    let (what, text) = match event.kind.as_str() {
        "created" => ("Filed the request".to_owned(), None),
        "status" => {
            let status = match body["status"].as_str().unwrap_or_default() {
                "resolved" => "Resolved",
                other => status_text(other),
            };
            (format!("Status: {status}"), None)
        }
        "priority" => {
            (format!("Priority: {}", body["priority"].as_str().unwrap_or_default().to_uppercase()), text("reason"))
        }
        "reply" => ("Wrote".to_owned(), text("text")),
        "rating" => (format!("Rated the work {} out of 5", body["rating"]), text("comment")),
        other => (other.replace('_', " "), text("text")),
    };
    Entry { at: time_text(event.at), who, what, text }
}

/// The form as filed, field by field, in the words the form used.
fn details(form: &TicketForm, hostname: &dyn Fn(&i64) -> String) -> Vec<(&'static str, String)> {
    let mut lines = Vec::new();
    let server = |id: &Option<i64>| id.as_ref().map(hostname);
    match form {
        TicketForm::Intervention(form) => {
            let named = [
                server(&form.server.host_id),
                form.server.service_id.clone().map(|s| format!("service {s}")),
                form.server.primary_ip.clone().map(|ip| format!("IP {ip}")),
            ];
            lines.push(("Server", named.into_iter().flatten().collect::<Vec<_>>().join(", ")));
            lines.push(("Problem", form.problem.clone()));
            if let Some(id) = form.access_credential_id {
                lines.push(("Access credentials", format!("vault entry {id}")));
            }
            lines.extend(form.power_action.map(|a| ("Power action", label(POWER_ACTIONS, &a))));
            lines.extend(windows(&form.power_windows).map(|w| ("Power windows", w)));
            lines.extend(form.backup_statement.map(|b| ("Backups", label(BACKUP_STATEMENTS, &b))));
        }
        TicketForm::OsReinstall(form) => {
            lines.extend(server(&form.host_id).map(|s| ("Server", s)));
            let system = [Some(form.os.clone()), Some(form.version.clone()), form.edition.clone()];
            lines.push(("System", system.into_iter().flatten().collect::<Vec<_>>().join(" ")));
            lines.extend(form.partitioning.clone().map(|p| ("Partitioning", p)));
            lines.extend(form.raid_layout.clone().map(|r| ("RAID layout", r)));
            lines.extend(form.other_settings.clone().map(|o| ("Other settings", o)));
        }
        TicketForm::HardwareChange(form) => {
            lines.extend(server(&form.host_id).map(|s| ("Server", s)));
            lines.extend(form.component.map(|c| ("Component", label(COMPONENTS, &c))));
            lines.extend(form.serial_or_slot.clone().map(|s| ("Serial or slot", s)));
            lines.extend(form.downtime.map(|d| ("Downtime", label(DOWNTIMES, &d))));
            lines.extend(windows(&form.downtime_windows).map(|w| ("Downtime windows", w)));
            let hot_swap = if form.hot_swap_requested { "requested" } else { "not requested" };
            lines.push(("Hot swap", hot_swap.to_owned()));
            lines.extend(form.backup_statement.map(|b| ("Backups", label(BACKUP_STATEMENTS, &b))));
        }
    }
    lines.retain(|(_, value)| !value.trim().is_empty());
    lines
}

/// The label the form showed for a choice, from its wire name.
fn label<T: Serialize>(choices: &[Choice], value: &T) -> String {
    let wire = serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    choices.iter().find(|c| c.value == wire).map_or(wire, |c| c.label.to_owned())
}

fn windows(windows: &[TimeRange]) -> Option<String> {
    let shown: Vec<String> = windows
        .iter()
        .map(|w| match (w.start.parse::<Timestamp>(), w.end.parse::<Timestamp>()) {
            (Ok(start), Ok(end)) => format!("from {} to {}", time_text(start), time_text(end)),
            _ => format!("from {} to {}", w.start, w.end),
        })
        .collect();
    (!shown.is_empty()).then(|| shown.join("; "))
}

#[cfg(test)]
mod tests {
    use tend_proto::desk::{BackupStatement, Component, Downtime, HardwareChangeForm};

    use super::*;

    #[test]
    fn a_form_is_shown_in_the_words_it_was_filed_with() {
        let form = TicketForm::HardwareChange(HardwareChangeForm {
            host_id: Some(4),
            component: Some(Component::Psu),
            serial_or_slot: Some("PSU2".into()),
            downtime: Some(Downtime::OnlyInWindow),
            downtime_windows: vec![TimeRange {
                start: "2026-03-28T21:00:00Z".into(),
                end: "2026-03-29T00:00:00Z".into(),
            }],
            hot_swap_requested: true,
            hot_swap_supported: None,
            backup_statement: Some(BackupStatement::CurrentBackupExists),
        });
        let lines = details(&form, &|id| format!("db{id}"));
        let shown: Vec<String> = lines.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        assert_eq!(
            shown,
            [
                "Server: db4",
                "Component: Power supply",
                "Serial or slot: PSU2",
                "Downtime: Only within the windows below",
                "Downtime windows: from 2026-03-28 21:00 UTC to 2026-03-29 00:00 UTC",
                "Hot swap: requested",
                "Backups: I confirm a current backup of all critical data exists.",
            ]
        );
    }

    #[test]
    fn history_names_the_customer_and_not_the_staff() {
        let users = HashMap::from([(7, "anna".to_owned()), (8, "bob".to_owned())]);
        let event = |actor, kind: &str, body: &str| TicketEventRow {
            id: 1,
            ticket_id: 1,
            at: Timestamp::UNIX_EPOCH,
            actor_id: actor,
            kind: kind.into(),
            body: body.into(),
            public: true,
        };
        let reply = entry(&event(Some(3), "reply", r#"{"text": "Rebooted.", "staff": true}"#), 7, &users);
        assert_eq!((reply.who.as_str(), reply.text.as_deref()), ("Service desk", Some("Rebooted.")));
        let mine = entry(&event(Some(7), "status", r#"{"status": "closed"}"#), 7, &users);
        assert_eq!((mine.who.as_str(), mine.what.as_str()), ("You", "Status: Closed"));
        let colleague = entry(&event(Some(8), "rating", r#"{"rating": 5, "comment": null}"#), 7, &users);
        assert_eq!((colleague.who.as_str(), colleague.what.as_str()), ("bob", "Rated the work 5 out of 5"));
        assert_eq!(entry(&event(None, "status", r#"{"status": "closed"}"#), 7, &users).who, "tend");
    }

    #[test]
    fn a_rating_is_optional_but_must_be_one_to_five_digits() {
        let fields = |pairs: &[(&str, &str)]| Fields(pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect());
        let Ok(Action::Confirm { rating, comment }) = confirmation(&fields(&[("rating", "5"), ("comment", " ")]))
        else {
            panic!("a confirmation")
        };
        assert_eq!((rating, comment), (Some(5), None));
        assert!(matches!(confirmation(&fields(&[])), Ok(Action::Confirm { rating: None, .. })));
        assert!(confirmation(&fields(&[("rating", "many")])).is_err());
    }
}
