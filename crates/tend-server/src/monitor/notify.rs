//! Delivering the notification outbox: e-mail over SMTP and webhooks (generic JSON, or a
//! `{"text": …}` body that Slack, Mattermost and Teams incoming webhooks accept).
//!
//! Everything due for one channel goes out as one message, so a site going dark is one
//! message listing its hosts, not one per host. Failures are retried with backoff and stay
//! visible on the notification rows.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tend_store::OutboxRow;

use crate::config::NotificationsConfig;
use crate::{AppState, Error};

/// A notification is given up after this many failed attempts.
const MAX_ATTEMPTS: u32 = 10;
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long claimed notifications are this instance's to deliver: longer than a delivery takes.
const DELIVERY_LEASE: SignedDuration = SignedDuration::from_secs(120);

pub async fn deliver_due(state: &AppState, now: Timestamp) -> Result<(), Error> {
    let due = state.store.claim_notifications(now, DELIVERY_LEASE, 500).await?;
    let mut by_channel: BTreeMap<i64, Vec<OutboxRow>> = BTreeMap::new();
    for row in due {
        by_channel.entry(row.channel_id).or_default().push(row);
    }
    for rows in by_channel.values() {
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        match deliver(state, rows).await {
            Ok(()) => state.store.record_delivery(&ids, now, None, None).await?,
            Err(reason) => {
                let attempts = rows.iter().map(|r| r.attempts).max().unwrap_or(0) + 1;
                let retry_at = retry_at(attempts, now);
                tracing::warn!(channel = rows[0].channel_id, attempts, %reason, "notification delivery failed");
                state.store.record_delivery(&ids, now, Some(&reason), retry_at).await?;
            }
        }
    }
    Ok(())
}

/// When to try again after the failed attempt number `attempts` (from 1): 30 s, doubling, at
/// most an hour apart; `None` once [`MAX_ATTEMPTS`] have failed.
pub fn retry_at(attempts: u32, now: Timestamp) -> Option<Timestamp> {
    (attempts < MAX_ATTEMPTS).then(|| now + backoff(attempts))
}

/// 30 s, doubling, at most an hour.
fn backoff(attempts: u32) -> SignedDuration {
    let secs = 30i64.saturating_mul(1 << attempts.min(7));
    SignedDuration::from_secs(secs.min(3600))
}

async fn deliver(state: &AppState, rows: &[OutboxRow]) -> Result<(), String> {
    let bodies: Vec<serde_json::Value> = rows.iter().filter_map(|r| serde_json::from_str(&r.body).ok()).collect();
    let channel = &rows[0];
    match channel.channel_kind.as_str() {
        "webhook" => post(&channel.channel_target, &serde_json::json!({ "notifications": bodies })).await,
        "slack" => post(&channel.channel_target, &serde_json::json!({ "text": text(&bodies) })).await,
        "email" => mail(&state.config.notifications, &channel.channel_target, &bodies).await,
        other => Err(format!("unknown channel kind {other}")),
    }
}

async fn post(url: &str, body: &serde_json::Value) -> Result<(), String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder().timeout(HTTP_TIMEOUT).build().map_err(|e| e.to_string())?;
    let response = client.post(url).json(body).send().await.map_err(|e| format!("{url}: {e}"))?;
    if response.status().is_success() { Ok(()) } else { Err(format!("{url} answered {}", response.status())) }
}

async fn mail(smtp: &NotificationsConfig, to: &str, bodies: &[serde_json::Value]) -> Result<(), String> {
    send_mail(smtp, to, &subject(bodies), text(bodies), None).await
}

/// Sends one plain-text e-mail through the configured relay; replies go to `reply_to` if given.
pub async fn send_mail(
    smtp: &NotificationsConfig,
    to: &str,
    subject: &str,
    body: String,
    reply_to: Option<&str>,
) -> Result<(), String> {
    if smtp.smtp_host.is_empty() {
        return Err("no SMTP relay configured (notifications.smtp_host)".into());
    }
    let from: Mailbox = smtp.from.parse().map_err(|e| format!("notifications.smtp.from: {e}"))?;
    let to: Mailbox = to.parse().map_err(|e| format!("{to}: {e}"))?;
    let mut message = Message::builder().from(from).to(to).subject(subject);
    if let Some(reply_to) = reply_to {
        message = message.reply_to(reply_to.parse().map_err(|e| format!("reply address {reply_to}: {e}"))?);
    }
    let message = message.body(body).map_err(|e| e.to_string())?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let builder = if smtp.smtp_starttls {
        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.smtp_host).map_err(|e| e.to_string())?
    } else {
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.smtp_host)
    };
    let mut builder = builder.port(smtp.smtp_port).timeout(Some(HTTP_TIMEOUT));
    if !smtp.smtp_username.is_empty() {
        builder = builder.credentials(Credentials::new(smtp.smtp_username.clone(), smtp.smtp_password.clone()));
    }
    let sent = builder.build().send(message).await;
    sent.map(drop).map_err(|e| format!("SMTP {}:{}: {e}", smtp.smtp_host, smtp.smtp_port))
}

fn subject(bodies: &[serde_json::Value]) -> String {
    match bodies {
        [one] => format!("[tend] {} {}: {}", field(one, "event"), field(one, "host"), field(one, "summary")),
        many => {
            let hosts: std::collections::BTreeSet<&str> = many.iter().map(|b| field(b, "host")).collect();
            format!("[tend] {} alerts on {} hosts", many.len(), hosts.len())
        }
    }
}

/// One line per notification: what happened, where, how bad.
fn text(bodies: &[serde_json::Value]) -> String {
    bodies
        .iter()
        .map(|b| {
            format!(
                "{} {} {} {} ({}): {}",
                field(b, "at"),
                field(b, "event").to_uppercase(),
                field(b, "host"),
                field(b, "check"),
                field(b, "severity"),
                field(b, "summary")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn field<'a>(body: &'a serde_json::Value, name: &str) -> &'a str {
    body.get(name).and_then(|v| v.as_str()).unwrap_or("-")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn one_message_lists_every_host() {
        let a = json!({"event": "firing", "host": "db1", "check": "heartbeat", "severity": "critical", "summary": "overdue", "at": "t"});
        let b = json!({"event": "firing", "host": "db2", "check": "heartbeat", "severity": "critical", "summary": "overdue", "at": "t"});
        assert_eq!(subject(&[a.clone(), b.clone()]), "[tend] 2 alerts on 2 hosts");
        assert_eq!(subject(std::slice::from_ref(&a)), "[tend] firing db1: overdue");
        let body = text(&[a, b]);
        assert!(body.contains("FIRING db1 heartbeat (critical)") && body.contains("db2"), "{body}");
    }

    #[test]
    fn retries_back_off_to_an_hour() {
        assert_eq!(backoff(1), SignedDuration::from_secs(60));
        assert_eq!(backoff(30), SignedDuration::from_secs(3600));
    }
}
