//! A client's contacts, and the notices they get before planned maintenance.
//!
//! A notice row is written once per window occurrence and contact (the unique key makes that
//! hold across instances) and doubles as its own outbox entry: the deliverer claims due rows
//! with a lease, like alert notifications, and the row stays as proof the customer was told.

use jiff::{SignedDuration, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Scope, Store, millis, timestamp};

#[derive(Debug, Clone, PartialEq)]
pub struct ContactRow {
    pub id: i64,
    pub client_id: i64,
    pub name: String,
    pub email: String,
    pub phone: String,
    /// What the contact is to the client, e.g. "IT manager".
    pub role: String,
    /// Whether they are told of planned maintenance.
    pub maintenance_notices: bool,
}

/// A notice to deliver: to whom, about which occurrence of which window.
#[derive(Debug, Clone, PartialEq)]
pub struct NoticeRow {
    pub id: i64,
    pub window_id: i64,
    pub occurrence_start: Timestamp,
    pub contact_name: String,
    pub contact_email: String,
    pub title: String,
    pub description: String,
    pub time_zone: String,
    pub duration_secs: i64,
    pub status: String,
    pub attempts: u32,
    pub sent_at: Option<Timestamp>,
    pub last_error: Option<String>,
}

const CONTACT_COLUMNS: &str = "id, client_id, name, email, phone, role, maintenance_notices";

const NOTICE_QUERY: &str = "SELECT n.id, n.window_id, n.occurrence_start, n.status, n.attempts, n.sent_at, \
     n.last_error, c.name, c.email, w.title, w.description, w.time_zone, w.duration_secs \
     FROM maintenance_notices n JOIN client_contacts c ON c.id = n.contact_id \
     JOIN maintenance_windows w ON w.id = n.window_id";

fn contact_row(row: &AnyRow) -> Result<ContactRow> {
    Ok(ContactRow {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        phone: row.try_get("phone")?,
        role: row.try_get("role")?,
        maintenance_notices: row.try_get::<i64, _>("maintenance_notices")? != 0,
    })
}

fn notice_row(row: &AnyRow) -> Result<NoticeRow> {
    Ok(NoticeRow {
        id: row.try_get("id")?,
        window_id: row.try_get("window_id")?,
        occurrence_start: timestamp(row.try_get("occurrence_start")?)?,
        contact_name: row.try_get("name")?,
        contact_email: row.try_get("email")?,
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        time_zone: row.try_get("time_zone")?,
        duration_secs: row.try_get("duration_secs")?,
        status: row.try_get("status")?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        sent_at: row.try_get::<Option<i64>, _>("sent_at")?.map(timestamp).transpose()?,
        last_error: row.try_get("last_error")?,
    })
}

impl Store {
    pub async fn create_contact(&self, scope: Scope, contact: &ContactRow, now: Timestamp) -> Result<ContactRow> {
        self.client(scope, contact.client_id).await?;
        let id: i64 = sqlx::query(
            "INSERT INTO client_contacts (client_id, name, email, phone, role, maintenance_notices, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(contact.client_id)
        .bind(&contact.name)
        .bind(&contact.email)
        .bind(&contact.phone)
        .bind(&contact.role)
        .bind(i64::from(contact.maintenance_notices))
        .bind(millis(now))
        .fetch_one(&self.write)
        .await?
        .try_get("id")?;
        Ok(ContactRow { id, ..contact.clone() })
    }

    /// A client's contacts, if the caller may see the client.
    pub async fn contacts(&self, scope: Scope, client_id: i64) -> Result<Vec<ContactRow>> {
        self.client(scope, client_id).await?;
        let sql = format!("SELECT {CONTACT_COLUMNS} FROM client_contacts WHERE client_id = $1 ORDER BY id");
        let rows = sqlx::query(&sql).bind(client_id).fetch_all(&self.read).await?;
        rows.iter().map(contact_row).collect()
    }

    /// The start of the latest occurrence of a window whose notices were written.
    pub async fn last_noticed_start(&self, window_id: i64) -> Result<Option<Timestamp>> {
        let row = sqlx::query("SELECT MAX(occurrence_start) AS last FROM maintenance_notices WHERE window_id = $1")
            .bind(window_id)
            .fetch_one(&self.read)
            .await?;
        row.try_get::<Option<i64>, _>("last")?.map(timestamp).transpose()
    }

    /// Writes the notices of one occurrence for every contact of the window's client who takes
    /// them. Idempotent: an occurrence already written (by this or another instance) adds nothing.
    /// Returns how many notices were added.
    pub async fn write_notices(&self, window_id: i64, occurrence_start: Timestamp, now: Timestamp) -> Result<u64> {
        let done = sqlx::query(
            "INSERT INTO maintenance_notices (window_id, occurrence_start, contact_id, status, next_attempt_at) \
             SELECT w.id, $1, c.id, 'pending', $2 FROM maintenance_windows w \
             JOIN client_contacts c ON c.client_id = w.client_id AND c.maintenance_notices = 1 \
             WHERE w.id = $3 ON CONFLICT (window_id, occurrence_start, contact_id) DO NOTHING",
        )
        .bind(millis(occurrence_start))
        .bind(millis(now))
        .bind(window_id)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
    }

    /// Takes up to `limit` due notices for `lease` (see `claim_notifications`).
    pub async fn claim_notices(&self, now: Timestamp, lease: SignedDuration, limit: u32) -> Result<Vec<NoticeRow>> {
        let sql = format!("{NOTICE_QUERY} WHERE n.id = $1");
        self.claim_due_joined("maintenance_notices", &sql, now, lease, limit, notice_row).await
    }

    /// Records a notice's delivery attempt: sent, retried at `retry_at`, or given up.
    pub async fn record_notice(
        &self,
        id: i64,
        now: Timestamp,
        error: Option<&str>,
        retry_at: Option<Timestamp>,
    ) -> Result<()> {
        self.record_sent_attempt("maintenance_notices", id, now, error, retry_at).await
    }

    /// The notices of a window, if the caller may see it.
    pub async fn window_notices(&self, scope: Scope, window_id: i64) -> Result<Vec<NoticeRow>> {
        let sql = format!(
            "{NOTICE_QUERY} WHERE n.window_id = $1 AND (CAST($2 AS BIGINT) IS NULL OR w.client_id = $2) ORDER BY n.id"
        );
        let rows = sqlx::query(&sql).bind(window_id).bind(scope.client_filter()).fetch_all(&self.read).await?;
        rows.iter().map(notice_row).collect()
    }
}
