//! Incidents opened by alerts. A firing alert at or above the contract's severity opens an
//! incident ticket for its dedup key, or adds to the one already open: never a ticket per
//! notification. Recovery adds a note, and resolves the ticket when nobody has started on it
//! (new, or open without an assignee); a ticket someone works on is left to them.

use jiff::Timestamp;
use tend_core::alerting::Severity;
use tend_core::desk::{Impact, TicketKind, TicketStatus, Urgency};
use tend_core::tenancy::{Role, Scope};
use tend_store::AlertUpdate;

use super::contract;
use super::tickets::{self, Action, Who};
use crate::monitor::evaluate::severity_of;
use crate::{AppState, Error};

/// The provider's own automation: acts as staff, belongs to nobody.
fn automation() -> Who {
    Who { user_id: None, role: Some(Role::Admin), scope: Scope::System }
}

/// Called after alert changes are stored; failures are logged by the caller, never lost alerts.
pub async fn follow(state: &AppState, updates: &[AlertUpdate], now: Timestamp) -> Result<(), Error> {
    for update in updates {
        let events: Vec<&str> = update.events.iter().map(|e| e.event.as_str()).collect();
        if events.contains(&"firing") || events.contains(&"escalated") {
            fired(state, update, now).await?;
        } else if events.contains(&"resolved") {
            recovered(state, update, now).await?;
        }
    }
    Ok(())
}

async fn fired(state: &AppState, update: &AlertUpdate, now: Timestamp) -> Result<(), Error> {
    let contract = contract::of_client(state, update.client_id).await?;
    let severity = update.severity.as_deref().and_then(severity_of);
    if !contract.includes("service_desk") || severity.is_none_or(|s| s < contract.incident_min_severity) {
        return Ok(());
    }
    if let Some(open) = state.store.ticket_for_alert(&update.dedup_key).await? {
        let note = format!("The alert fired again: {}", update.summary);
        tickets::act(state, automation(), open.id, Action::Note(note), now).await?;
        return Ok(());
    }
    let impact = if severity == Some(Severity::Critical) { Impact::High } else { Impact::Medium };
    let priority = contract.matrix.priority(impact, Urgency::High);
    let description = format!("{}\n\nEvidence: {}", update.summary, update.evidence);
    let kind = TicketKind::Incident;
    let mut ticket =
        tickets::blank(update.client_id, kind, subject(update), description, (impact, Urgency::High, priority), now)?;
    ticket.alert_key = Some(update.dedup_key.clone());
    ticket.host_ids = update.host_id.into_iter().collect();
    match tickets::create(state, automation(), ticket, &contract, now).await {
        // Another instance opened it meanwhile: that one is the ticket.
        Err(Error::Store(tend_store::Error::Conflict(_))) => Ok(()),
        other => other.map(drop),
    }
}

async fn recovered(state: &AppState, update: &AlertUpdate, now: Timestamp) -> Result<(), Error> {
    let Some(open) = state.store.ticket_for_alert(&update.dedup_key).await? else { return Ok(()) };
    let note = format!("The alert recovered: {}", update.summary);
    let ticket = tickets::act(state, automation(), open.id, Action::Note(note), now).await?;
    let untouched = ticket.status == "new" || (ticket.status == "open" && ticket.assignee_id.is_none());
    if untouched {
        let to = TicketStatus::Resolved;
        tickets::act(state, automation(), ticket.id, Action::Status { to, note: None }, now).await?;
    }
    Ok(())
}

fn subject(update: &AlertUpdate) -> String {
    let text = format!("{} {}: {}", update.check.replace('_', " "), update.target, update.summary);
    text.chars().filter(|c| !c.is_control()).take(200).collect()
}
