//! The credential vault's rows: access credentials customers hand over (root passwords, IPMI/KVM
//! logins, SSH keys), kept sealed.
//!
//! The store only ever holds the sealed text (nonce and ciphertext, sealed by the server with a
//! key that never enters the database) and must not see, log or compare plaintext. Whether a
//! caller may reveal a credential is the server's decision; the store answers the facts it rests
//! on (who is assigned to which open ticket on which host). Purging overwrites the sealed text,
//! so a backup taken afterwards holds nothing to decrypt.

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Error, Result, Scope, Store, millis, timestamp};

/// One credential. `sealed` is ciphertext, empty once purged.
#[derive(Debug, Clone, PartialEq)]
pub struct VaultCredentialRow {
    pub id: i64,
    pub client_id: i64,
    pub host_id: i64,
    /// The ticket it was given for: purged when that ticket closes, unless the contract keeps it.
    pub ticket_id: Option<i64>,
    /// What it is, in the customer's words, e.g. "root on db1"; unique among a host's live
    /// credentials, since it is bound into the sealed text.
    pub name: String,
    /// `password`, `ssh_key`, `ipmi`, `kvm` or `other`.
    pub kind: String,
    pub username: String,
    pub sealed: String,
    pub created_by: Option<i64>,
    pub created_at: Timestamp,
    pub purged_at: Option<Timestamp>,
}

const COLUMNS: &str = "v.id, v.client_id, v.host_id, v.ticket_id, v.name, v.kind, v.username, v.sealed, v.created_by, v.created_at, \
     v.purged_at";

/// A ticket still being worked on: reveals rest on it. Resolved tickets wait for the customer's
/// confirmation; nobody needs a root password for that.
const OPEN_TICKET: &str = "t.status NOT IN ('resolved', 'closed')";

fn credential_row(row: &AnyRow) -> Result<VaultCredentialRow> {
    Ok(VaultCredentialRow {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        host_id: row.try_get("host_id")?,
        ticket_id: row.try_get("ticket_id")?,
        name: row.try_get("name")?,
        kind: row.try_get("kind")?,
        username: row.try_get("username")?,
        sealed: row.try_get("sealed")?,
        created_by: row.try_get("created_by")?,
        created_at: timestamp(row.try_get("created_at")?)?,
        purged_at: row.try_get::<Option<i64>, _>("purged_at")?.map(timestamp).transpose()?,
    })
}

impl Store {
    /// Stores a sealed credential for a host the caller may see; `row.id` and `row.purged_at`
    /// are ignored. The host must be the client's, and so must the ticket if one is named. A
    /// second live credential of the same name on the host is a conflict.
    pub async fn create_credential(
        &self,
        scope: Scope,
        row: &VaultCredentialRow,
        now: Timestamp,
    ) -> Result<VaultCredentialRow> {
        if self.host(scope, row.host_id).await?.client_id != row.client_id {
            return Err(Error::NotFound("host"));
        }
        if let Some(ticket) = row.ticket_id
            && self.ticket(scope, ticket).await?.client_id != row.client_id
        {
            return Err(Error::NotFound("ticket"));
        }
        // One statement, so the name check and the insert cannot be split by another writer.
        let inserted = sqlx::query(
            "INSERT INTO vault_credentials (client_id, host_id, ticket_id, name, kind, username, sealed, created_by, \
             created_at) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 WHERE NOT EXISTS (SELECT 1 FROM vault_credentials \
             WHERE host_id = $2 AND name = $4 AND purged_at IS NULL) RETURNING id",
        )
        .bind(row.client_id)
        .bind(row.host_id)
        .bind(row.ticket_id)
        .bind(&row.name)
        .bind(&row.kind)
        .bind(&row.username)
        .bind(&row.sealed)
        .bind(row.created_by)
        .bind(millis(now))
        .fetch_optional(&self.write)
        .await?;
        let Some(inserted) = inserted else {
            return Err(Error::Conflict(format!("the host already has a credential named '{}'", row.name)));
        };
        let id: i64 = inserted.try_get("id")?;
        Ok(VaultCredentialRow { id, created_at: now, purged_at: None, ..row.clone() })
    }

    /// A host's credentials, purged ones included (they show that something was given, and when
    /// it went), oldest first.
    pub async fn credentials_of_host(&self, scope: Scope, host_id: i64) -> Result<Vec<VaultCredentialRow>> {
        self.host(scope, host_id).await?;
        let sql = format!("SELECT {COLUMNS} FROM vault_credentials v WHERE v.host_id = $1 ORDER BY v.id");
        let rows = sqlx::query(&sql).bind(host_id).fetch_all(&self.read).await?;
        rows.iter().map(credential_row).collect()
    }

    /// The live credentials given for a ticket.
    pub async fn credentials_of_ticket(&self, scope: Scope, ticket_id: i64) -> Result<Vec<VaultCredentialRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM vault_credentials v WHERE v.ticket_id = $1 AND v.purged_at IS NULL \
             AND (CAST($2 AS BIGINT) IS NULL OR v.client_id = $2) ORDER BY v.id"
        );
        let rows = sqlx::query(&sql).bind(ticket_id).bind(scope.client_filter()).fetch_all(&self.read).await?;
        rows.iter().map(credential_row).collect()
    }

    /// One credential the caller may see, with its sealed text.
    pub async fn credential(&self, scope: Scope, id: i64) -> Result<VaultCredentialRow> {
        let sql = format!(
            "SELECT {COLUMNS} FROM vault_credentials v WHERE v.id = $1 \
             AND (CAST($2 AS BIGINT) IS NULL OR v.client_id = $2)"
        );
        let row = sqlx::query(&sql).bind(id).bind(scope.client_filter()).fetch_optional(&self.read).await?;
        credential_row(&row.ok_or(Error::NotFound("credential"))?)
    }

    /// The open ticket on `host_id` that `user_id` is assigned to, if any; `prefer` (the ticket
    /// a credential was given for) wins when the user is assigned to it, else the oldest.
    pub async fn assigned_open_ticket(&self, user_id: i64, host_id: i64, prefer: Option<i64>) -> Result<Option<i64>> {
        let sql = format!(
            "SELECT t.id FROM tickets t JOIN ticket_hosts th ON th.ticket_id = t.id \
             WHERE th.host_id = $1 AND t.assignee_id = $2 AND {OPEN_TICKET} \
             ORDER BY CASE WHEN t.id = $3 THEN 0 ELSE 1 END, t.id LIMIT 1"
        );
        let row = sqlx::query(&sql).bind(host_id).bind(user_id).bind(prefer).fetch_optional(&self.read).await?;
        Ok(row.map(|r| r.try_get::<i64, _>("id")).transpose()?)
    }

    /// Purges the live credentials given for a ticket: the sealed text is overwritten, the row
    /// stays as a record. Returns how many were purged; a second call purges nothing.
    pub async fn purge_ticket_credentials(&self, scope: Scope, ticket_id: i64, now: Timestamp) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE vault_credentials SET purged_at = $1, sealed = '' WHERE ticket_id = $2 AND purged_at IS NULL \
             AND (CAST($3 AS BIGINT) IS NULL OR client_id = $3)",
        )
        .bind(millis(now))
        .bind(ticket_id)
        .bind(scope.client_filter())
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
    }
}
