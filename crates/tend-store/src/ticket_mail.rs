//! The ticket e-mail outbox: written with the change that causes it, sent by the desk's timer,
//! retried with backoff, and kept as the record of what the customer was told.

use jiff::{SignedDuration, Timestamp};
use sqlx::Row;

use crate::{Result, Store, millis};

#[derive(Debug, Clone, PartialEq)]
pub struct TicketMail {
    pub id: i64,
    pub ticket_id: i64,
    pub to_email: String,
    pub subject: String,
    pub body: String,
    pub attempts: u32,
}

impl Store {
    pub async fn queue_ticket_mail(&self, mail: &TicketMail, now: Timestamp) -> Result<()> {
        sqlx::query(
            "INSERT INTO ticket_mail (ticket_id, to_email, subject, body, status, next_attempt_at) \
             VALUES ($1, $2, $3, $4, 'pending', $5)",
        )
        .bind(mail.ticket_id)
        .bind(&mail.to_email)
        .bind(&mail.subject)
        .bind(&mail.body)
        .bind(millis(now))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Takes up to `limit` due mails for `lease` (see `claim_notifications`).
    pub async fn claim_ticket_mail(
        &self,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> Result<Vec<TicketMail>> {
        let rows = self
            .claim_due("ticket_mail", "id, ticket_id, to_email, subject, body, attempts", now, lease, limit)
            .await?;
        let mut mails = rows
            .iter()
            .map(|row| {
                Ok(TicketMail {
                    id: row.try_get("id")?,
                    ticket_id: row.try_get("ticket_id")?,
                    to_email: row.try_get("to_email")?,
                    subject: row.try_get("subject")?,
                    body: row.try_get("body")?,
                    attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        mails.sort_by_key(|m| m.id);
        Ok(mails)
    }

    /// Records a send attempt: sent, retried at `retry_at`, or given up.
    pub async fn record_ticket_mail(
        &self,
        id: i64,
        now: Timestamp,
        error: Option<&str>,
        retry_at: Option<Timestamp>,
    ) -> Result<()> {
        self.record_sent_attempt("ticket_mail", id, now, error, retry_at).await
    }
}
