//! What the outboxes share (alert notifications, maintenance notices, ticket e-mail): rows due
//! for delivery are claimed with a lease, so several instances never send the same one and a
//! dead instance's claims fall due again; each attempt is recorded on the row.

use jiff::{SignedDuration, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Backend, Result, Store, millis};

impl Store {
    /// Takes up to `limit` rows of `table` due at `now`, oldest first, for `lease`, returning
    /// `columns` of each; on PostgreSQL rows being claimed by another instance are skipped.
    pub(crate) async fn claim_due(
        &self,
        table: &'static str,
        columns: &'static str,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> Result<Vec<AnyRow>> {
        let skip_locked = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE {table} SET next_attempt_at = $1 WHERE id IN (SELECT id FROM {table} \
             WHERE status = 'pending' AND next_attempt_at <= $2 ORDER BY id LIMIT $3 {skip_locked}) \
             RETURNING {columns}"
        );
        let rows = sqlx::query(&sql)
            .bind(millis(now + lease))
            .bind(millis(now))
            .bind(i64::from(limit))
            .fetch_all(&self.write)
            .await?;
        Ok(rows)
    }

    /// Claims like [`Store::claim_due`], then reads each claimed row, oldest first, with
    /// `select`, whose one parameter is the row's id, and converts it with `read`: for outboxes
    /// that send what their row only points at (the contact's address, the window's title).
    pub(crate) async fn claim_due_joined<T>(
        &self,
        table: &'static str,
        select: &str,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
        read: fn(&AnyRow) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut ids = Vec::new();
        for row in self.claim_due(table, "id", now, lease, limit).await? {
            ids.push(row.try_get::<i64, _>("id")?);
        }
        ids.sort_unstable();
        let mut rows = Vec::with_capacity(ids.len());
        for id in ids {
            // The write pool: on SQLite it is the one connection that has seen the claim.
            rows.push(read(&sqlx::query(select).bind(id).fetch_one(&self.write).await?)?);
        }
        Ok(rows)
    }

    /// [`Store::record_attempt`] for the outboxes whose sent rows are stamped `sent_at`.
    pub(crate) async fn record_sent_attempt(
        &self,
        table: &'static str,
        id: i64,
        now: Timestamp,
        error: Option<&str>,
        retry_at: Option<Timestamp>,
    ) -> Result<()> {
        self.record_attempt(table, "sent_at", id, now, error, retry_at).await
    }

    /// Records a delivery attempt of one row: sent (`error` None, stamping `sent_column`),
    /// due again at `retry_at`, or given up when there is no retry.
    pub(crate) async fn record_attempt(
        &self,
        table: &'static str,
        sent_column: &'static str,
        id: i64,
        now: Timestamp,
        error: Option<&str>,
        retry_at: Option<Timestamp>,
    ) -> Result<()> {
        let status = match (error, retry_at) {
            (None, _) => "sent",
            (Some(_), Some(_)) => "pending",
            (Some(_), None) => "failed",
        };
        let sql = format!(
            "UPDATE {table} SET status = $1, attempts = attempts + 1, last_error = $2, next_attempt_at = $3, \
             {sent_column} = $4 WHERE id = $5"
        );
        sqlx::query(&sql)
            .bind(status)
            .bind(error)
            .bind(millis(retry_at.unwrap_or(now)))
            .bind(error.is_none().then(|| millis(now)))
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }
}
