//! The audit trail: every action on or about a customer's machine, allowed or refused, with who,
//! when, which ticket and why. Append-only: nothing here updates or deletes an entry.

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Scope, Store, millis, timestamp};

/// One audited action.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: Timestamp,
    pub actor_id: Option<i64>,
    pub client_id: Option<i64>,
    pub host_id: Option<i64>,
    pub ticket_id: Option<i64>,
    /// What was attempted, e.g. `vault.reveal`, `job.reboot`.
    pub action: String,
    /// `allowed` or `refused`.
    pub outcome: String,
    /// Why, in words: the reason given, or the refusal.
    pub detail: String,
}

impl AuditEntry {
    /// An allowed action to append (`id` 0), about no host and no ticket until
    /// [`host`](Self::host) or [`ticket`](Self::ticket) say otherwise.
    pub fn allowed(
        at: Timestamp,
        actor_id: Option<i64>,
        client_id: Option<i64>,
        action: impl Into<String>,
        detail: impl Into<String>,
    ) -> AuditEntry {
        AuditEntry {
            id: 0,
            at,
            actor_id,
            client_id,
            host_id: None,
            ticket_id: None,
            action: action.into(),
            outcome: "allowed".to_owned(),
            detail: detail.into(),
        }
    }

    /// About this host.
    pub fn host(self, host_id: Option<i64>) -> AuditEntry {
        AuditEntry { host_id, ..self }
    }

    /// Under this ticket.
    pub fn ticket(self, ticket_id: Option<i64>) -> AuditEntry {
        AuditEntry { ticket_id, ..self }
    }
}

fn entry(row: &AnyRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: row.try_get("id")?,
        at: timestamp(row.try_get("at")?)?,
        actor_id: row.try_get("actor_id")?,
        client_id: row.try_get("client_id")?,
        host_id: row.try_get("host_id")?,
        ticket_id: row.try_get("ticket_id")?,
        action: row.try_get("action")?,
        outcome: row.try_get("outcome")?,
        detail: row.try_get("detail")?,
    })
}

impl Store {
    /// Appends an entry; `entry.id` is ignored. Returns the stored entry.
    pub async fn audit(&self, entry: &AuditEntry) -> Result<AuditEntry> {
        let mut conn = self.write.acquire().await?;
        let id = insert_audit(&mut conn, entry).await?;
        Ok(AuditEntry { id, ..entry.clone() })
    }

    /// The newest entries the caller may see (a client's users: their own client's), newest
    /// first; `host` narrows to one host.
    pub async fn audit_entries(&self, scope: Scope, host: Option<i64>, limit: u32) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, actor_id, client_id, host_id, ticket_id, action, outcome, detail FROM audit_log \
             WHERE (CAST($1 AS BIGINT) IS NULL OR client_id = $1) AND (CAST($2 AS BIGINT) IS NULL OR host_id = $2) \
             ORDER BY id DESC LIMIT $3",
        )
        .bind(scope.client_filter())
        .bind(host)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(entry).collect()
    }
}

/// Appends an entry on `conn`, which may be inside a transaction: an action and its audit entry
/// are then written together or not at all.
pub(crate) async fn insert_audit(conn: &mut sqlx::AnyConnection, entry: &AuditEntry) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO audit_log (at, actor_id, client_id, host_id, ticket_id, action, outcome, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(millis(entry.at))
    .bind(entry.actor_id)
    .bind(entry.client_id)
    .bind(entry.host_id)
    .bind(entry.ticket_id)
    .bind(&entry.action)
    .bind(&entry.outcome)
    .bind(&entry.detail)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?)
}
