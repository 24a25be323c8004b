//! SLA clocks from a ticket's history, and the timer that acts on them: a warning tells the
//! ticket's level, a breach escalates the ticket to the next level and tells it and the
//! manager; resolved tickets the customer left unanswered close by themselves; a vendor's
//! follow-up date adds a reminder note to the ticket, once per date.
//!
//! The clocks are `tend_core::desk::clocks` over the stored history, so a change of priority or
//! policy recomputes them without losing paused time. Each alarm is recorded once per ticket,
//! clock and level (`sla_alarms`), which keeps several instances from acting twice.

use jiff::Timestamp;
use tend_core::desk::{self, AlarmLevel, Change, Clock, SlaClocks, SlaPolicy, TicketEvent, TicketStatus};
use tend_core::tenancy::Scope;
use tend_proto::tickets::{ClockView, SlaView};
use tend_store::{TicketChange, TicketEventRow, TicketRow};

use super::tickets::{self, Action, Who};
use super::{contract, mail};
use crate::api::convert::timestamp_text;
use crate::{AppState, Error};

/// The history as the SLA clocks read it; entries they do not care about are left out.
pub fn sla_history(rows: &[TicketEventRow]) -> Vec<TicketEvent> {
    rows.iter().filter_map(|row| Some(TicketEvent { at: row.at, change: change_of(row)? })).collect()
}

fn change_of(row: &TicketEventRow) -> Option<Change> {
    let body: serde_json::Value = serde_json::from_str(&row.body).ok()?;
    match row.kind.as_str() {
        "created" => Some(Change::Created { priority: field(&body, "priority")? }),
        "status" => Some(Change::Status(field(&body, "status")?)),
        "priority" => Some(Change::Priority(field(&body, "priority")?)),
        "reply" if row.public && body.get("staff").and_then(|s| s.as_bool()) == Some(true) => {
            Some(Change::StaffPublicReply)
        }
        _ => None,
    }
}

fn field<T: serde::de::DeserializeOwned>(body: &serde_json::Value, name: &str) -> Option<T> {
    serde_json::from_value(body.get(name)?.clone()).ok()
}

/// The clocks of a ticket now.
pub fn clocks_of(rows: &[TicketEventRow], policy: &SlaPolicy, now: Timestamp) -> Option<SlaClocks> {
    desk::clocks(&sla_history(rows), policy, now)
}

/// The earliest deadline of a clock still running: what a queue sorts by.
pub fn due_at(rows: &[TicketEventRow], policy: &SlaPolicy, now: Timestamp) -> Option<Timestamp> {
    let clocks = clocks_of(rows, policy, now)?;
    [clocks.response.due_at, clocks.resolution.due_at].into_iter().flatten().min()
}

/// The clocks as the API shows them.
pub fn view(policy: &SlaPolicy, clocks: &SlaClocks) -> SlaView {
    SlaView {
        policy: policy.name.clone(),
        response: clock_view(&clocks.response),
        resolution: clock_view(&clocks.resolution),
    }
}

fn clock_view(clock: &Clock) -> ClockView {
    let minutes = |d: jiff::SignedDuration| d.as_secs() / 60;
    ClockView {
        state: serde_json::to_value(clock.state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
        target_minutes: minutes(clock.target),
        elapsed_minutes: minutes(clock.elapsed),
        remaining_minutes: minutes(clock.remaining),
        due_at: clock.due_at.map(timestamp_text),
        stopped_at: clock.stopped_at.map(timestamp_text),
    }
}

/// One pass over every open ticket: alarms, escalation on breach, auto-close.
pub async fn run(state: &AppState, now: Timestamp) -> Result<(), Error> {
    for ticket in state.store.open_tickets().await? {
        if let Err(e) = check(state, &ticket, now).await {
            tracing::warn!(ticket = ticket.id, error = %e, "SLA check of a ticket failed");
        }
    }
    Ok(())
}

async fn check(state: &AppState, ticket: &TicketRow, now: Timestamp) -> Result<(), Error> {
    let contract = contract::of_client(state, ticket.client_id).await?;
    if ticket.status == TicketStatus::Resolved.as_str()
        && ticket.resolved_at.is_some_and(|at| desk::auto_close_due(at, contract.auto_close_after, now))
    {
        let note = "closed without an answer from the customer".to_owned();
        tickets::act(
            state,
            Who::system(),
            ticket.id,
            Action::Status { to: TicketStatus::Closed, note: Some(note) },
            now,
        )
        .await?;
        return Ok(());
    }
    vendor_follow_up(state, ticket, now).await?;
    let history = state.store.ticket_events(Scope::System, ticket.id, false).await?;
    let Some(clocks) = clocks_of(&history, &contract.sla, now) else { return Ok(()) };
    for alarm in desk::alarms(&clocks) {
        let (clock, level) = (alarm.clock.as_str(), alarm.level.as_str());
        if !state.store.record_sla_alarm(ticket.id, clock, level, now).await? {
            continue;
        }
        let mut current = state.store.ticket(Scope::System, ticket.id).await?;
        if alarm.level == AlarmLevel::Breach {
            breach(state, &mut current, clock, &contract, now).await?;
        }
        mail::sla_alarm(state, &current, clock, level, now).await?;
    }
    Ok(())
}

/// The day to chase the vendor has come: the ticket's level is told once per follow-up date.
async fn vendor_follow_up(state: &AppState, ticket: &TicketRow, now: Timestamp) -> Result<(), Error> {
    let Some(due) = ticket.vendor_follow_up.filter(|due| *due <= now) else { return Ok(()) };
    if !state.store.record_sla_alarm(ticket.id, "vendor_follow_up", &due.to_string(), now).await? {
        return Ok(());
    }
    let vendor = ticket.vendor.as_deref().unwrap_or("the vendor");
    let case = ticket.vendor_case.as_deref().unwrap_or("no case number");
    let note = format!("Follow up with {vendor} ({case}) today.");
    tickets::act(state, Who::system(), ticket.id, Action::Note(note), now).await?;
    Ok(())
}

/// A breached clock raises the ticket to the next level the contract includes, if any.
async fn breach(
    state: &AppState,
    ticket: &mut TicketRow,
    clock: &str,
    contract: &contract::Contract,
    now: Timestamp,
) -> Result<(), Error> {
    let read_at = ticket.updated_at;
    let note = format!("the {clock} SLA target was breached");
    let event = match tickets::escalate(Who::system(), ticket, &note, contract, now) {
        Ok(event) => event,
        // Already at the top, or the next level is not in the contract: the alarm still goes out.
        Err(_) => return Ok(()),
    };
    ticket.updated_at = now.max(read_at + jiff::SignedDuration::from_millis(1));
    let change = TicketChange { ticket: ticket.clone(), events: vec![event] };
    *ticket = state.store.update_ticket(Scope::System, read_at, &change).await?;
    Ok(())
}
