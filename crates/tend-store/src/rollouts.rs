//! Rings and patch rollouts: which ring each host is in, the rollouts of a client's patch sets
//! through its rings, and the apply jobs each rollout queued.
//!
//! A rollout's `state` is the domain's `Rollout` as JSON; the server derives what to do from it
//! (`tend_core::patching::rollout::next_step`) and writes it back. The store keeps the text and
//! must not judge it; it only keeps concurrent writers honest (an update names the
//! `updated_at` it read, like tickets) and records which job outcomes are in the state, in the
//! same transaction as the state that holds them.

use jiff::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{Acquire, Row};

use crate::{Error, Result, Scope, Store, changed_one, millis, timestamp};

/// One rollout of a patch set through a client's rings.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutRow {
    pub id: i64,
    pub client_id: i64,
    pub name: String,
    /// `regular` or `emergency`.
    pub urgency: String,
    /// JSON array of the packages to apply.
    pub packages: String,
    /// JSON `tend_core::patching::rollout::Rollout`.
    pub state: String,
    /// `running`, `halted` or `done`.
    pub status: String,
    pub halt_reason: Option<String>,
    /// The ticket opened when it halted.
    pub ticket_id: Option<i64>,
    /// The ticket asking the customer to authorize the reboots its hosts need.
    pub reboot_ticket_id: Option<i64>,
    pub created_by: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A job a rollout queued (an update, or the reboot after it), with where the job is now.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutJobRow {
    pub job_id: i64,
    pub rollout_id: i64,
    pub host_id: i64,
    /// Whether the job's outcome is in the rollout's state.
    pub recorded: bool,
    /// `apply_updates` or `reboot`.
    pub kind: String,
    /// The job's status: `queued`, `running`, `succeeded`, `failed`, `refused`.
    pub status: String,
    /// JSON of the agent's result, once finished.
    pub result: Option<String>,
    pub created_at: Timestamp,
    pub claimed_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
}

const ROLLOUT_COLUMNS: &str = "id, client_id, name, urgency, packages, state, status, halt_reason, ticket_id, \
     reboot_ticket_id, created_by, created_at, updated_at";

fn rollout_row(row: &AnyRow) -> Result<RolloutRow> {
    Ok(RolloutRow {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        name: row.try_get("name")?,
        urgency: row.try_get("urgency")?,
        packages: row.try_get("packages")?,
        state: row.try_get("state")?,
        status: row.try_get("status")?,
        halt_reason: row.try_get("halt_reason")?,
        ticket_id: row.try_get("ticket_id")?,
        reboot_ticket_id: row.try_get("reboot_ticket_id")?,
        created_by: row.try_get("created_by")?,
        created_at: timestamp(row.try_get("created_at")?)?,
        updated_at: timestamp(row.try_get("updated_at")?)?,
    })
}

fn rollout_job_row(row: &AnyRow) -> Result<RolloutJobRow> {
    Ok(RolloutJobRow {
        job_id: row.try_get("job_id")?,
        rollout_id: row.try_get("rollout_id")?,
        host_id: row.try_get("host_id")?,
        recorded: row.try_get::<i64, _>("recorded")? != 0,
        kind: row.try_get("kind")?,
        status: row.try_get("status")?,
        created_at: timestamp(row.try_get("created_at")?)?,
        claimed_at: row.try_get::<Option<i64>, _>("claimed_at")?.map(timestamp).transpose()?,
        result: row.try_get("result")?,
        finished_at: row.try_get::<Option<i64>, _>("finished_at")?.map(timestamp).transpose()?,
    })
}

impl Store {
    /// Puts a host in `ring`, or in none (`None`): it is then left out of new rollouts.
    pub async fn set_host_ring(&self, scope: Scope, host_id: i64, ring: Option<&str>) -> Result<()> {
        self.host(scope, host_id).await?;
        match ring {
            Some(ring) => {
                sqlx::query(
                    "INSERT INTO host_rings (host_id, ring) VALUES ($1, $2) \
                     ON CONFLICT (host_id) DO UPDATE SET ring = excluded.ring",
                )
                .bind(host_id)
                .bind(ring)
                .execute(&self.write)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM host_rings WHERE host_id = $1").bind(host_id).execute(&self.write).await?;
            }
        }
        Ok(())
    }

    /// The ring of a host the caller may see, if it is in one.
    pub async fn host_ring(&self, scope: Scope, host_id: i64) -> Result<Option<String>> {
        self.host(scope, host_id).await?;
        let row = sqlx::query("SELECT ring FROM host_rings WHERE host_id = $1")
            .bind(host_id)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map(|row| row.try_get("ring")).transpose()?)
    }

    /// The hosts of a client that are in a ring, as (host id, ring), by host id.
    pub async fn client_rings(&self, scope: Scope, client_id: i64) -> Result<Vec<(i64, String)>> {
        if !scope.sees_client(client_id) {
            return Err(Error::NotFound("client"));
        }
        let rows = sqlx::query(
            "SELECT r.host_id, r.ring FROM host_rings r JOIN hosts h ON h.id = r.host_id \
             WHERE h.client_id = $1 ORDER BY r.host_id",
        )
        .bind(client_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|row| Ok((row.try_get("host_id")?, row.try_get("ring")?))).collect()
    }

    /// When each critical alert of a client's hosts opened, as (host id, opened at), by alert
    /// id: what a rollout pass watches, in one query rather than one per host.
    pub async fn critical_alerts_opened(&self, scope: Scope, client_id: i64) -> Result<Vec<(i64, Timestamp)>> {
        if !scope.sees_client(client_id) {
            return Err(Error::NotFound("client"));
        }
        let rows = sqlx::query(
            "SELECT a.host_id, a.opened_at FROM alerts a JOIN hosts h ON h.id = a.host_id \
             WHERE h.client_id = $1 AND a.severity = 'critical' AND a.opened_at IS NOT NULL ORDER BY a.id",
        )
        .bind(client_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|row| Ok((row.try_get("host_id")?, timestamp(row.try_get("opened_at")?)?))).collect()
    }

    /// Writes a new rollout; `rollout.id` is ignored.
    pub async fn create_rollout(&self, scope: Scope, rollout: &RolloutRow) -> Result<RolloutRow> {
        self.client(scope, rollout.client_id).await?;
        let id: i64 = sqlx::query(
            "INSERT INTO rollouts (client_id, name, urgency, packages, state, status, halt_reason, ticket_id, \
             created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(rollout.client_id)
        .bind(&rollout.name)
        .bind(&rollout.urgency)
        .bind(&rollout.packages)
        .bind(&rollout.state)
        .bind(&rollout.status)
        .bind(&rollout.halt_reason)
        .bind(rollout.ticket_id)
        .bind(rollout.created_by)
        .bind(millis(rollout.created_at))
        .bind(millis(rollout.updated_at))
        .fetch_one(&self.write)
        .await?
        .try_get("id")?;
        Ok(RolloutRow { id, ..rollout.clone() })
    }

    /// A rollout the caller may see.
    pub async fn rollout(&self, scope: Scope, id: i64) -> Result<RolloutRow> {
        let sql = format!(
            "SELECT {ROLLOUT_COLUMNS} FROM rollouts WHERE id = $1 AND (CAST($2 AS BIGINT) IS NULL OR client_id = $2)"
        );
        let row = sqlx::query(&sql).bind(id).bind(scope.client_filter()).fetch_optional(&self.read).await?;
        rollout_row(&row.ok_or(Error::NotFound("rollout"))?)
    }

    /// Rollouts the caller may see, newest first; narrowed to one client and one status when
    /// given.
    pub async fn rollouts(
        &self,
        scope: Scope,
        client_id: Option<i64>,
        status: Option<&str>,
        limit: u32,
    ) -> Result<Vec<RolloutRow>> {
        let sql = format!(
            "SELECT {ROLLOUT_COLUMNS} FROM rollouts WHERE (CAST($1 AS BIGINT) IS NULL OR client_id = $1) \
             AND (CAST($2 AS BIGINT) IS NULL OR client_id = $2) AND (CAST($3 AS TEXT) IS NULL OR status = $3) \
             ORDER BY id DESC LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(scope.client_filter())
            .bind(client_id)
            .bind(status)
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(rollout_row).collect()
    }

    /// Writes a rollout's state, status, halt reason and tickets, and marks the `recorded` jobs'
    /// outcomes as in the state, in one transaction. Refused with a conflict when the rollout
    /// changed since it was read at `read_at` (its `updated_at` then): read it again and retry.
    pub async fn update_rollout(
        &self,
        scope: Scope,
        read_at: Timestamp,
        rollout: &RolloutRow,
        recorded: &[i64],
    ) -> Result<RolloutRow> {
        self.rollout(scope, rollout.id).await?;
        let mut conn = self.write.acquire().await?;
        let mut tx = conn.begin().await?;
        let done = sqlx::query(
            "UPDATE rollouts SET state = $1, status = $2, halt_reason = $3, ticket_id = $4, updated_at = $5, \
             reboot_ticket_id = $8 WHERE id = $6 AND updated_at = $7",
        )
        .bind(&rollout.state)
        .bind(&rollout.status)
        .bind(&rollout.halt_reason)
        .bind(rollout.ticket_id)
        .bind(millis(rollout.updated_at))
        .bind(rollout.id)
        .bind(millis(read_at))
        .bind(rollout.reboot_ticket_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::Conflict("the rollout changed meanwhile; read it again and retry".into()));
        }
        for &job_id in recorded {
            let done = sqlx::query("UPDATE rollout_jobs SET recorded = 1 WHERE job_id = $1 AND rollout_id = $2")
                .bind(job_id)
                .bind(rollout.id)
                .execute(&mut *tx)
                .await?;
            changed_one(done, "rollout job")?;
        }
        tx.commit().await?;
        self.rollout(scope, rollout.id).await
    }

    /// The jobs a rollout queued, oldest first, with their current status.
    pub async fn rollout_jobs(&self, scope: Scope, rollout_id: i64) -> Result<Vec<RolloutJobRow>> {
        self.rollout(scope, rollout_id).await?;
        let rows = sqlx::query(
            "SELECT r.job_id, r.rollout_id, r.host_id, r.recorded, j.kind, j.status, j.result, j.created_at, \
             j.claimed_at, j.finished_at \
             FROM rollout_jobs r JOIN jobs j ON j.id = r.job_id WHERE r.rollout_id = $1 ORDER BY r.job_id",
        )
        .bind(rollout_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(rollout_job_row).collect()
    }
}
