//! Heartbeat checks of cron jobs and backup tools, and their pings. A check's ping URL secret
//! is stored hashed; a check keeps only its last [`PINGS_KEPT`] pings.

use jiff::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{Acquire, Row};

use crate::{Error, Result, Scope, Store, changed_one, millis, timestamp};

/// Pings kept per check: enough to read a job's recent history, bounded however often it pings.
pub const PINGS_KEPT: i64 = 100;

#[derive(Debug, Clone, PartialEq)]
pub struct PingCheckRow {
    pub id: i64,
    pub client_id: i64,
    pub host_id: Option<i64>,
    pub name: String,
    pub period_secs: i64,
    pub grace_secs: i64,
    pub created_at: Timestamp,
    pub last_start: Option<Timestamp>,
    pub last_success: Option<Timestamp>,
    pub last_failure: Option<Timestamp>,
    /// The exit status of the last failure, when the job sent one.
    pub last_failure_exit: Option<i64>,
}

/// A check to create; its secret's hash comes separately.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPingCheck {
    pub client_id: i64,
    pub host_id: Option<i64>,
    pub name: String,
    pub period_secs: i64,
    pub grace_secs: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PingRow {
    pub id: i64,
    pub check_id: i64,
    /// `start`, `success`, `fail` or `log`.
    pub kind: String,
    pub exit_status: Option<i64>,
    pub body: String,
    pub received_at: Timestamp,
    pub remote_addr: Option<String>,
}

/// The check's columns with its last ping of each kind, read where it is (no cache to keep in
/// step with the retention).
const CHECK_COLUMNS: &str = "c.id, c.client_id, c.host_id, c.name, c.period_secs, c.grace_secs, c.created_at, \
     (SELECT MAX(received_at) FROM pings p WHERE p.check_id = c.id AND p.kind = 'start') AS last_start, \
     (SELECT MAX(received_at) FROM pings p WHERE p.check_id = c.id AND p.kind = 'success') AS last_success, \
     (SELECT MAX(received_at) FROM pings p WHERE p.check_id = c.id AND p.kind = 'fail') AS last_failure, \
     (SELECT exit_status FROM pings p WHERE p.check_id = c.id AND p.kind = 'fail' \
      ORDER BY received_at DESC, id DESC LIMIT 1) AS last_failure_exit";

fn optional_time(row: &AnyRow, column: &str) -> Result<Option<Timestamp>> {
    row.try_get::<Option<i64>, _>(column)?.map(timestamp).transpose()
}

fn check_row(row: &AnyRow) -> Result<PingCheckRow> {
    Ok(PingCheckRow {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        host_id: row.try_get("host_id")?,
        name: row.try_get("name")?,
        period_secs: row.try_get("period_secs")?,
        grace_secs: row.try_get("grace_secs")?,
        created_at: timestamp(row.try_get("created_at")?)?,
        last_start: optional_time(row, "last_start")?,
        last_success: optional_time(row, "last_success")?,
        last_failure: optional_time(row, "last_failure")?,
        last_failure_exit: row.try_get("last_failure_exit")?,
    })
}

fn ping_row(row: &AnyRow) -> Result<PingRow> {
    Ok(PingRow {
        id: row.try_get("id")?,
        check_id: row.try_get("check_id")?,
        kind: row.try_get("kind")?,
        exit_status: row.try_get("exit_status")?,
        body: row.try_get("body")?,
        received_at: timestamp(row.try_get("received_at")?)?,
        remote_addr: row.try_get("remote_addr")?,
    })
}

impl Store {
    /// Stores a check of a client the scope sees; its host, if any, must be the client's.
    pub async fn create_ping_check(
        &self,
        scope: Scope,
        new: &NewPingCheck,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<PingCheckRow> {
        self.client(scope, new.client_id).await?;
        if let Some(host) = new.host_id
            && self.host(scope, host).await?.client_id != new.client_id
        {
            return Err(Error::NotFound("host"));
        }
        let id: i64 = sqlx::query(
            "INSERT INTO ping_checks (client_id, host_id, name, token_hash, period_secs, grace_secs, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(new.client_id)
        .bind(new.host_id)
        .bind(&new.name)
        .bind(token_hash)
        .bind(new.period_secs)
        .bind(new.grace_secs)
        .bind(millis(now))
        .fetch_one(&self.write)
        .await
        .map_err(|e| Error::conflict_or(e, || format!("the client has a ping check named '{}' already", new.name)))?
        .try_get("id")?;
        self.ping_check(scope, id).await
    }

    /// The checks the scope sees, of one client or all.
    pub async fn ping_checks(&self, scope: Scope, client_id: Option<i64>) -> Result<Vec<PingCheckRow>> {
        let sql = format!(
            "SELECT {CHECK_COLUMNS} FROM ping_checks c WHERE (CAST($1 AS BIGINT) IS NULL OR c.client_id = $1) \
             AND (CAST($2 AS BIGINT) IS NULL OR c.client_id = $2) ORDER BY c.id"
        );
        let rows = sqlx::query(&sql).bind(scope.client_filter()).bind(client_id).fetch_all(&self.read).await?;
        rows.iter().map(check_row).collect()
    }

    pub async fn ping_check(&self, scope: Scope, id: i64) -> Result<PingCheckRow> {
        let sql = format!(
            "SELECT {CHECK_COLUMNS} FROM ping_checks c WHERE c.id = $1 AND (CAST($2 AS BIGINT) IS NULL OR c.client_id = $2)"
        );
        let row = sqlx::query(&sql).bind(id).bind(scope.client_filter()).fetch_optional(&self.read).await?;
        row.as_ref().map(check_row).transpose()?.ok_or(Error::NotFound("ping check"))
    }

    /// The check whose URL secret hashes to `token_hash`: the ping URL is its own authority.
    pub async fn ping_check_by_token(&self, token_hash: &str) -> Result<Option<PingCheckRow>> {
        let sql = format!("SELECT {CHECK_COLUMNS} FROM ping_checks c WHERE c.token_hash = $1");
        let row = sqlx::query(&sql).bind(token_hash).fetch_optional(&self.read).await?;
        row.as_ref().map(check_row).transpose()
    }

    /// Records a ping (`ping.id` is ignored) and drops the check's pings beyond the newest
    /// [`PINGS_KEPT`] in the same transaction, so the table never holds more.
    pub async fn record_ping(&self, ping: &PingRow) -> Result<()> {
        let mut conn = self.write.acquire().await?;
        let mut tx = conn.begin().await?;
        sqlx::query(
            "INSERT INTO pings (check_id, kind, exit_status, body, received_at, remote_addr) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(ping.check_id)
        .bind(&ping.kind)
        .bind(ping.exit_status)
        .bind(&ping.body)
        .bind(millis(ping.received_at))
        .bind(&ping.remote_addr)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM pings WHERE check_id = $1 AND id NOT IN \
             (SELECT id FROM pings WHERE check_id = $1 ORDER BY id DESC LIMIT $2)",
        )
        .bind(ping.check_id)
        .bind(PINGS_KEPT)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A check's pings, newest first.
    pub async fn pings(&self, scope: Scope, check_id: i64) -> Result<Vec<PingRow>> {
        self.ping_check(scope, check_id).await?;
        let rows = sqlx::query(
            "SELECT id, check_id, kind, exit_status, body, received_at, remote_addr FROM pings \
             WHERE check_id = $1 ORDER BY id DESC",
        )
        .bind(check_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(ping_row).collect()
    }

    /// Deletes a check with its pings; returns what was deleted.
    pub async fn delete_ping_check(&self, scope: Scope, id: i64) -> Result<PingCheckRow> {
        let check = self.ping_check(scope, id).await?;
        let mut conn = self.write.acquire().await?;
        let mut tx = conn.begin().await?;
        sqlx::query("DELETE FROM pings WHERE check_id = $1").bind(id).execute(&mut *tx).await?;
        changed_one(
            sqlx::query("DELETE FROM ping_checks WHERE id = $1").bind(id).execute(&mut *tx).await?,
            "ping check",
        )?;
        tx.commit().await?;
        Ok(check)
    }
}
