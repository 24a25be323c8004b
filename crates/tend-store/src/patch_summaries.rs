//! What a client's contacts are told after each ring of a rollout is patched.
//!
//! A summary row is written once per rollout, ring and contact (the unique key makes that hold
//! across instances and passes) and doubles as its own outbox entry, like a maintenance notice:
//! the deliverer claims due rows with a lease, and the row stays as proof the customer was told
//! what changed on which host. The text is the server's; the store keeps it as written.

use jiff::{SignedDuration, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Scope, Store, millis, timestamp};

/// One contact's summary of one ring of a rollout.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchSummaryRow {
    pub id: i64,
    pub rollout_id: i64,
    pub ring: String,
    pub contact_name: String,
    pub contact_email: String,
    pub subject: String,
    /// The text without the greeting, which is added when it is sent.
    pub body: String,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    pub attempts: u32,
    pub sent_at: Option<Timestamp>,
    pub last_error: Option<String>,
}

const SUMMARY_QUERY: &str = "SELECT s.id, s.rollout_id, s.ring, s.subject, s.body, s.status, s.attempts, s.sent_at, \
     s.last_error, c.name, c.email FROM patch_summaries s JOIN client_contacts c ON c.id = s.contact_id";

fn summary_row(row: &AnyRow) -> Result<PatchSummaryRow> {
    Ok(PatchSummaryRow {
        id: row.try_get("id")?,
        rollout_id: row.try_get("rollout_id")?,
        ring: row.try_get("ring")?,
        contact_name: row.try_get("name")?,
        contact_email: row.try_get("email")?,
        subject: row.try_get("subject")?,
        body: row.try_get("body")?,
        status: row.try_get("status")?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        sent_at: row.try_get::<Option<i64>, _>("sent_at")?.map(timestamp).transpose()?,
        last_error: row.try_get("last_error")?,
    })
}

impl Store {
    /// Writes the summary of `ring` of a rollout for every contact of the rollout's client who
    /// takes maintenance mail. Idempotent: a ring already written (by this or another instance)
    /// adds nothing. Returns how many summaries were added.
    pub async fn write_patch_summaries(
        &self,
        rollout_id: i64,
        ring: &str,
        subject: &str,
        body: &str,
        now: Timestamp,
    ) -> Result<u64> {
        let done = sqlx::query(
            "INSERT INTO patch_summaries (rollout_id, ring, contact_id, subject, body, status, next_attempt_at) \
             SELECT r.id, $1, c.id, $2, $3, 'pending', $4 FROM rollouts r \
             JOIN client_contacts c ON c.client_id = r.client_id AND c.maintenance_notices = 1 \
             WHERE r.id = $5 ON CONFLICT (rollout_id, ring, contact_id) DO NOTHING",
        )
        .bind(ring)
        .bind(subject)
        .bind(body)
        .bind(millis(now))
        .bind(rollout_id)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
    }

    /// Takes up to `limit` due summaries for `lease` (see `claim_notifications`).
    pub async fn claim_patch_summaries(
        &self,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> Result<Vec<PatchSummaryRow>> {
        let sql = format!("{SUMMARY_QUERY} WHERE s.id = $1");
        self.claim_due_joined("patch_summaries", &sql, now, lease, limit, summary_row).await
    }

    /// Records a summary's delivery attempt: sent, retried at `retry_at`, or given up.
    pub async fn record_patch_summary(
        &self,
        id: i64,
        now: Timestamp,
        error: Option<&str>,
        retry_at: Option<Timestamp>,
    ) -> Result<()> {
        self.record_sent_attempt("patch_summaries", id, now, error, retry_at).await
    }

    /// The summaries of a rollout the caller may see, by ring as written, then contact.
    pub async fn patch_summaries(&self, scope: Scope, rollout_id: i64) -> Result<Vec<PatchSummaryRow>> {
        self.rollout(scope, rollout_id).await?;
        let sql = format!(
            "{SUMMARY_QUERY} JOIN rollouts r ON r.id = s.rollout_id \
             WHERE s.rollout_id = $1 AND (CAST($2 AS BIGINT) IS NULL OR r.client_id = $2) ORDER BY s.id"
        );
        let rows = sqlx::query(&sql).bind(rollout_id).bind(scope.client_filter()).fetch_all(&self.read).await?;
        rows.iter().map(summary_row).collect()
    }
}
