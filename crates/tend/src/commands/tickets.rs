//! `tend ticket new|list|show|reply|note|escalate|assign|resolve|confirm|reopen`.

use anyhow::Context;
use serde_json::{Value, json};
use tend_proto::api::User;
use tend_proto::tickets::{ClockView, NewTicket, Ticket, TicketDetail};

use super::clients::resolve_client;
use super::hosts::resolve_host;
use crate::cli::TicketCommand;
use crate::client::Api;
use crate::exit::Refused;
use crate::output::{Table, json as print_json, or_dash};

pub async fn run(command: TicketCommand) -> anyhow::Result<()> {
    let api = Api::logged_in()?;
    match command {
        TicketCommand::New { kind, client, subject, description, hosts, impact, urgency, form, output } => {
            let client_id = match client {
                Some(client) => Some(resolve_client(&api, &client).await?),
                None => None,
            };
            let mut host_ids = Vec::new();
            for host in &hosts {
                host_ids.push(resolve_host(&api, host).await?);
            }
            let form = form.map(|text| read_form(&text)).transpose()?;
            let new = NewTicket {
                client_id,
                kind,
                subject,
                description,
                host_ids,
                impact: Some(impact),
                urgency: Some(urgency),
                priority: None,
                priority_reason: None,
                form,
            };
            let ticket: Ticket = api.post("/api/v1/tickets", &new).await?;
            if output.json {
                return print_json(&ticket);
            }
            println!("Filed ticket #{} ({}, {}).", ticket.id, ticket.priority.to_uppercase(), ticket.support_level);
        }
        TicketCommand::List { level, all, output } => {
            let mut path = format!("/api/v1/tickets?open={}", !all);
            if let Some(level) = level {
                path.push_str(&format!("&level={level}"));
            }
            let tickets: Vec<Ticket> = api.get(&path).await?;
            if output.json {
                return print_json(&tickets);
            }
            let mut table = Table::new(&["ID", "PRIO", "LEVEL", "STATUS", "SLA LEFT", "CLIENT", "SUBJECT"]);
            for t in &tickets {
                table.row(vec![
                    t.id.to_string(),
                    t.priority.to_uppercase(),
                    t.support_level.clone(),
                    t.status.clone(),
                    sla_left(t),
                    t.client_id.to_string(),
                    t.subject.clone(),
                ]);
            }
            print!("{}", table.render());
        }
        TicketCommand::Show { id, output } => {
            let detail: TicketDetail = api.get(&format!("/api/v1/tickets/{id}")).await?;
            if output.json {
                return print_json(&detail);
            }
            show(&detail);
        }
        TicketCommand::Reply { id, text } => post(&api, id, "replies", json!({ "text": text }), "Replied").await?,
        TicketCommand::Note { id, text } => post(&api, id, "notes", json!({ "text": text }), "Noted").await?,
        TicketCommand::Escalate { id, note } => {
            post(&api, id, "escalate", json!({ "text": note }), "Escalated").await?
        }
        TicketCommand::Assign { id, user, none } => {
            let user_id =
                if none { None } else { Some(resolve_user(&api, user.as_deref().unwrap_or_default()).await?) };
            post(&api, id, "assign", json!({ "user_id": user_id }), "Assigned").await?;
        }
        TicketCommand::Resolve { id, note } => {
            post(&api, id, "status", json!({ "status": "resolved", "note": note }), "Resolved").await?;
        }
        TicketCommand::Confirm { id, rating, comment } => {
            post(&api, id, "confirm", json!({ "rating": rating, "comment": comment }), "Confirmed and closed").await?;
        }
        TicketCommand::Reopen { id, reason } => post(&api, id, "reopen", json!({ "text": reason }), "Reopened").await?,
    }
    Ok(())
}

async fn post(api: &Api, id: i64, action: &str, body: Value, done: &str) -> anyhow::Result<()> {
    let ticket: Ticket = api.post(&format!("/api/v1/tickets/{id}/{action}"), &body).await?;
    println!("{done} ticket #{}: {}, {}.", ticket.id, ticket.status, ticket.support_level);
    Ok(())
}

/// The form from JSON text, or from a file with `@path`.
fn read_form(text: &str) -> anyhow::Result<tend_proto::desk::TicketForm> {
    let json = match text.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?,
        None => text.to_owned(),
    };
    serde_json::from_str(&json).context("--form is not a valid form")
}

async fn resolve_user(api: &Api, text: &str) -> anyhow::Result<i64> {
    if let Ok(id) = text.parse() {
        return Ok(id);
    }
    let users: Vec<User> = api.get("/api/v1/users").await?;
    match users.iter().find(|u| u.username == text) {
        Some(user) => Ok(user.id),
        None => Err(Refused { status: 404, detail: format!("no user named '{text}'") }.into()),
    }
}

/// The time left on the clock that runs out first, e.g. "42m" or "-1h05m" once breached.
fn sla_left(ticket: &Ticket) -> String {
    let Some(sla) = &ticket.sla else { return "-".into() };
    let running = [&sla.response, &sla.resolution].into_iter().filter(|c| c.stopped_at.is_none());
    running.min_by_key(|c| c.remaining_minutes).map_or_else(|| "-".into(), clock_text)
}

fn clock_text(clock: &ClockView) -> String {
    let minutes = clock.remaining_minutes;
    let sign = if minutes < 0 { "-" } else { "" };
    let minutes = minutes.unsigned_abs();
    let text = if minutes >= 60 { format!("{}h{:02}m", minutes / 60, minutes % 60) } else { format!("{minutes}m") };
    format!("{sign}{text} ({})", clock.state)
}

fn show(detail: &TicketDetail) {
    let t = &detail.ticket;
    println!("#{} {} [{}]", t.id, t.subject, t.kind);
    println!(
        "status {}, priority {}, {}, assignee {}",
        t.status,
        t.priority.to_uppercase(),
        t.support_level,
        or_dash(t.assignee_id)
    );
    if let Some(sla) = &t.sla {
        println!(
            "SLA {}: response {}, resolution {}",
            sla.policy,
            clock_text(&sla.response),
            clock_text(&sla.resolution)
        );
    }
    for sentence in &detail.acknowledgements {
        println!("acknowledged: {sentence}");
    }
    if !t.description.is_empty() {
        println!("\n{}\n", t.description);
    }
    for entry in &detail.history {
        let visibility = if entry.public { "" } else { " (internal)" };
        let text = entry.body.get("text").and_then(Value::as_str).map_or_else(|| entry.body.to_string(), str::to_owned);
        println!("{} {}{visibility}: {text}", entry.at, entry.kind);
    }
}
