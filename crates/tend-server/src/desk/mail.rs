//! Ticket e-mail: the customer hears of a new ticket, of the provider's replies and of status
//! changes (with a signed link to confirm a resolution); the support level hears of SLA
//! warnings and breaches. Mails are queued with the change and sent by the desk's timer.

use jiff::{SignedDuration, Timestamp};
use tend_core::tenancy::Scope;
use tend_store::{NewTicketEvent, TicketMail, TicketRow};

use crate::monitor::notify;
use crate::{AppState, Error};

const MAIL_LEASE: SignedDuration = SignedDuration::from_secs(120);

/// The customer side of a ticket: who filed it if known by address, else the client's contacts.
async fn customer_addresses(state: &AppState, ticket: &TicketRow) -> Result<Vec<String>, Error> {
    if let Some(email) = &ticket.requester_email {
        return Ok(vec![email.clone()]);
    }
    let contacts = state.store.contacts(Scope::System, ticket.client_id).await?;
    Ok(contacts.into_iter().map(|c| c.email).collect())
}

/// The reference carries the ticket's token too, so a reply whose mail client dropped the
/// Reply-To address still finds its ticket.
fn subject(ticket: &TicketRow, what: &str) -> String {
    format!("[tend #{} ref:{}] {what}: {}", ticket.id, ticket.reply_token, ticket.subject)
}

/// The signed link that lets the customer confirm or reopen without logging in.
fn confirm_link(state: &AppState, ticket: &TicketRow) -> String {
    format!("{}/tickets/confirm/{}", state.config.public_url.trim_end_matches('/'), ticket.reply_token)
}

async fn queue(
    state: &AppState,
    ticket: &TicketRow,
    to: &[String],
    subject: &str,
    body: &str,
    now: Timestamp,
) -> Result<(), Error> {
    for address in to {
        let mail = TicketMail {
            id: 0,
            ticket_id: ticket.id,
            to_email: address.clone(),
            subject: subject.to_owned(),
            body: body.to_owned(),
            attempts: 0,
        };
        state.store.queue_ticket_mail(&mail, now).await?;
    }
    Ok(())
}

pub async fn ticket_filed(state: &AppState, ticket: &TicketRow, now: Timestamp) -> Result<(), Error> {
    let to = customer_addresses(state, ticket).await?;
    let body = format!(
        "We have registered your request #{} ({}, priority {}).\n\n{}\n\nAnswer this e-mail to add to it.\n",
        ticket.id,
        ticket.kind.replace('_', " "),
        ticket.priority.to_uppercase(),
        ticket.description
    );
    queue(state, ticket, &to, &subject(ticket, "Received"), &body, now).await
}

/// The customer hears of the provider's public replies and of status changes.
pub async fn ticket_changed(
    state: &AppState,
    ticket: &TicketRow,
    events: &[NewTicketEvent],
    now: Timestamp,
) -> Result<(), Error> {
    let mut lines = Vec::new();
    for event in events.iter().filter(|e| e.public) {
        let body: serde_json::Value = serde_json::from_str(&event.body).unwrap_or_default();
        match event.kind.as_str() {
            "reply" if body["staff"] == true => lines.push(body["text"].as_str().unwrap_or_default().to_owned()),
            "status" => lines.push(status_line(state, ticket, body["status"].as_str().unwrap_or_default())),
            _ => {}
        }
    }
    if lines.is_empty() {
        return Ok(());
    }
    let to = customer_addresses(state, ticket).await?;
    let body = format!("{}\n\nAnswer this e-mail to add to request #{}.\n", lines.join("\n\n"), ticket.id);
    queue(state, ticket, &to, &subject(ticket, "Update"), &body, now).await
}

fn status_line(state: &AppState, ticket: &TicketRow, status: &str) -> String {
    match status {
        "resolved" => format!(
            "We consider this request resolved. Please confirm, rate our work, or reopen it here:\n{}",
            confirm_link(state, ticket)
        ),
        "waiting_on_customer" => "We need an answer from you to go on.".to_owned(),
        "closed" => "The request is closed.".to_owned(),
        other => format!("Status: {}.", other.replace('_', " ")),
    }
}

/// The ticket's support level (its e-mail channels) hears of a warning; a breach also reaches
/// the manager.
pub async fn sla_alarm(
    state: &AppState,
    ticket: &TicketRow,
    clock: &str,
    level: &str,
    now: Timestamp,
) -> Result<(), Error> {
    let mut to: Vec<String> = state
        .store
        .channels_for_client(ticket.client_id)
        .await?
        .into_iter()
        .filter(|c| c.kind == "email")
        .filter(|c| c.support_level.as_deref().is_none_or(|l| l == ticket.support_level))
        .map(|c| c.target)
        .collect();
    if level == "breach" && !state.config.desk.manager_email.is_empty() {
        to.push(state.config.desk.manager_email.clone());
    }
    let what = if level == "breach" { "SLA BREACHED" } else { "SLA warning" };
    let body = format!(
        "Ticket #{} ({}, {}) is at {}: its {clock} SLA target is {}.\nQueue: {}.\n",
        ticket.id,
        ticket.priority.to_uppercase(),
        ticket.status.replace('_', " "),
        ticket.support_level,
        if level == "breach" { "breached" } else { "close" },
        ticket.support_level,
    );
    queue(state, ticket, &to, &subject(ticket, what), &body, now).await
}

/// Sends what is due.
pub async fn deliver(state: &AppState, now: Timestamp) -> Result<(), Error> {
    let reply_base = state.config.desk.reply_address.clone();
    for mail in state.store.claim_ticket_mail(now, MAIL_LEASE, 100).await? {
        let ticket = state.store.ticket(Scope::System, mail.ticket_id).await?;
        let reply_to = reply_address(&reply_base, &ticket.reply_token);
        let smtp = &state.config.notifications;
        let sent = notify::send_mail(smtp, &mail.to_email, &mail.subject, mail.body.clone(), reply_to.as_deref()).await;
        match sent {
            Ok(()) => state.store.record_ticket_mail(mail.id, now, None, None).await?,
            Err(reason) => {
                let attempts = mail.attempts + 1;
                let retry_at = notify::retry_at(attempts, now);
                tracing::warn!(ticket = mail.ticket_id, attempts, %reason, "ticket e-mail failed");
                state.store.record_ticket_mail(mail.id, now, Some(&reason), retry_at).await?;
            }
        }
    }
    Ok(())
}

/// `support@provider.example` with token `t` gives `support+t@provider.example`.
pub fn reply_address(base: &str, token: &str) -> Option<String> {
    let (local, domain) = base.split_once('@')?;
    Some(format!("{local}+{token}@{domain}"))
}

/// The ticket token in an address written by [`reply_address`].
pub fn token_of_address(address: &str) -> Option<&str> {
    let local = address.split('@').next()?;
    let token = local.split_once('+')?.1;
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reply_address_carries_the_ticket_token() {
        let address = reply_address("support@provider.example", "abc123").unwrap();
        assert_eq!(address, "support+abc123@provider.example");
        assert_eq!(token_of_address(&address), Some("abc123"));
        assert_eq!(reply_address("", "abc"), None);
        assert_eq!(token_of_address("support@provider.example"), None);
    }
}
