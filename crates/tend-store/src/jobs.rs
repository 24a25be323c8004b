//! Jobs for agents: queued once the server has authorized them, claimed by the host's agent one
//! at a time, finished with the agent's result.
//!
//! The store does not decide whether a job may run (that is `tend_core::desk::authorize_action`,
//! applied by the server) nor what its parameters mean; it keeps the queue honest: a job is
//! handed to one poll only, even with several server instances on one PostgreSQL, and a job
//! recorded on a ticket leaves an entry in that ticket's history in the same transaction.

use jiff::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{Acquire, Row};

use crate::audit::insert_audit;
use crate::{AuditEntry, Backend, Error, Result, Scope, Store, TicketFilter, TicketRow, millis, timestamp};

#[derive(Debug, Clone, PartialEq)]
pub struct JobRow {
    pub id: i64,
    pub client_id: i64,
    pub host_id: i64,
    pub ticket_id: Option<i64>,
    /// `reboot`, `shutdown`, `power_cycle`, `script`.
    pub kind: String,
    /// JSON object of the kind's parameters.
    pub params: String,
    /// `queued`, `running`, `succeeded`, `failed`, `refused`.
    pub status: String,
    pub requested_by: Option<i64>,
    pub created_at: Timestamp,
    pub claimed_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// JSON of the agent's result (or of the reason it was not run).
    pub result: Option<String>,
}

const JOB_COLUMNS: &str = "id, client_id, host_id, ticket_id, kind, params, status, requested_by, created_at, \
     claimed_at, finished_at, result";

fn optional_time(row: &AnyRow, column: &str) -> Result<Option<Timestamp>> {
    row.try_get::<Option<i64>, _>(column)?.map(timestamp).transpose()
}

fn job_row(row: &AnyRow) -> Result<JobRow> {
    Ok(JobRow {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        host_id: row.try_get("host_id")?,
        ticket_id: row.try_get("ticket_id")?,
        kind: row.try_get("kind")?,
        params: row.try_get("params")?,
        status: row.try_get("status")?,
        requested_by: row.try_get("requested_by")?,
        created_at: timestamp(row.try_get("created_at")?)?,
        claimed_at: optional_time(row, "claimed_at")?,
        finished_at: optional_time(row, "finished_at")?,
        result: row.try_get("result")?,
    })
}

/// What is written with a queued job.
#[derive(Debug, Clone, Copy, Default)]
pub struct Queued<'a> {
    pub audit: Option<&'a AuditEntry>,
    pub rollout_id: Option<i64>,
}

/// The entry a job leaves in its ticket's history: internal, kind `job`.
fn ticket_event_body(job_id: i64, kind: &str, status: &str) -> String {
    serde_json::json!({ "job_id": job_id, "kind": kind, "status": status }).to_string()
}

impl Store {
    /// Queues an authorized job; `job.id`, `status` and the times after `created_at` are
    /// ignored. The host must be the caller's and the client's. In the same transaction: a job
    /// on a ticket is written to the ticket's history (internal, kind `job`), `with.audit` to
    /// the audit trail (its detail prefixed with "job <id> "), and a rollout's job is linked to
    /// its rollout, so a job is never queued unaudited or unknown to its rollout.
    pub async fn queue_job(&self, scope: Scope, job: &JobRow, with: &Queued<'_>) -> Result<JobRow> {
        if self.host(scope, job.host_id).await?.client_id != job.client_id {
            return Err(Error::NotFound("host"));
        }
        if let Some(ticket_id) = job.ticket_id
            && self.ticket(scope, ticket_id).await?.client_id != job.client_id
        {
            return Err(Error::NotFound("ticket"));
        }
        let mut conn = self.write.acquire().await?;
        let mut tx = conn.begin().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO jobs (client_id, host_id, ticket_id, kind, params, status, requested_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7) RETURNING id",
        )
        .bind(job.client_id)
        .bind(job.host_id)
        .bind(job.ticket_id)
        .bind(&job.kind)
        .bind(&job.params)
        .bind(job.requested_by)
        .bind(millis(job.created_at))
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        if let Some(ticket_id) = job.ticket_id {
            insert_job_event(
                &mut tx,
                ticket_id,
                job.created_at,
                job.requested_by,
                &ticket_event_body(id, &job.kind, "queued"),
            )
            .await?;
        }
        if let Some(entry) = with.audit {
            let entry = AuditEntry { detail: format!("job {id} {}", entry.detail), ..entry.clone() };
            insert_audit(&mut tx, &entry).await?;
        }
        if let Some(rollout_id) = with.rollout_id {
            sqlx::query("INSERT INTO rollout_jobs (job_id, rollout_id, host_id, recorded) VALUES ($1, $2, $3, 0)")
                .bind(id)
                .bind(rollout_id)
                .bind(job.host_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(JobRow { id, status: "queued".into(), claimed_at: None, finished_at: None, result: None, ..job.clone() })
    }

    /// A job the caller may see.
    pub async fn job(&self, scope: Scope, id: i64) -> Result<JobRow> {
        let sql =
            format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND (CAST($2 AS BIGINT) IS NULL OR client_id = $2)");
        let row = sqlx::query(&sql).bind(id).bind(scope.client_filter()).fetch_optional(&self.read).await?;
        job_row(&row.ok_or(Error::NotFound("job"))?)
    }

    /// A host's jobs, newest first.
    pub async fn host_jobs(&self, scope: Scope, host_id: i64, limit: u32) -> Result<Vec<JobRow>> {
        self.host(scope, host_id).await?;
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE host_id = $1 AND (CAST($2 AS BIGINT) IS NULL OR client_id = $2) \
             ORDER BY id DESC LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(host_id)
            .bind(scope.client_filter())
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(job_row).collect()
    }

    /// Whether the host has a job waiting: a cheap read, so that idle long-polls never take the
    /// write connection.
    pub async fn has_queued_job(&self, host_id: i64) -> Result<bool> {
        let row = sqlx::query("SELECT id FROM jobs WHERE host_id = $1 AND status = 'queued' LIMIT 1")
            .bind(host_id)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.is_some())
    }

    /// Hands the host's oldest queued job to its agent: it becomes `running`. Two polls never
    /// get the same job: the update only takes a row still queued, and on PostgreSQL a row
    /// another instance is claiming is skipped rather than waited for.
    pub async fn claim_job(&self, host_id: i64, now: Timestamp) -> Result<Option<JobRow>> {
        let skip_locked = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE jobs SET status = 'running', claimed_at = $1 WHERE status = 'queued' AND id IN \
             (SELECT id FROM jobs WHERE host_id = $2 AND status = 'queued' ORDER BY id LIMIT 1 {skip_locked}) \
             RETURNING {JOB_COLUMNS}"
        );
        let row = sqlx::query(&sql).bind(millis(now)).bind(host_id).fetch_optional(&self.write).await?;
        row.as_ref().map(job_row).transpose()
    }

    /// Records how a running job of `host_id` ended (`status`: succeeded, failed or refused)
    /// and tells its ticket. Idempotent: a job already finished is returned as it is, so an
    /// agent that lost the answer may report again. A job of another host is not found; a job
    /// not yet claimed is a conflict.
    pub async fn finish_job(
        &self,
        host_id: i64,
        id: i64,
        status: &str,
        result: &str,
        now: Timestamp,
    ) -> Result<JobRow> {
        let mut conn = self.write.acquire().await?;
        let mut tx = conn.begin().await?;
        let sql = format!(
            "UPDATE jobs SET status = $1, result = $2, finished_at = $3 \
             WHERE id = $4 AND host_id = $5 AND status = 'running' RETURNING {JOB_COLUMNS}"
        );
        let updated = sqlx::query(&sql)
            .bind(status)
            .bind(result)
            .bind(millis(now))
            .bind(id)
            .bind(host_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = updated else {
            drop(tx);
            let job = self.job(Scope::System, id).await?;
            return match job.status.as_str() {
                _ if job.host_id != host_id => Err(Error::NotFound("job")),
                "queued" => Err(Error::Conflict(format!("job {id} was not handed to this agent yet"))),
                _ => Ok(job),
            };
        };
        let job = job_row(&row)?;
        if let Some(ticket_id) = job.ticket_id {
            insert_job_event(&mut tx, ticket_id, now, None, &ticket_event_body(job.id, &job.kind, status)).await?;
        }
        tx.commit().await?;
        Ok(job)
    }

    /// The tickets of a host whose authorizations still hold: not resolved, not closed.
    pub async fn open_tickets_on_host(&self, scope: Scope, host_id: i64) -> Result<Vec<TicketRow>> {
        let filter = TicketFilter { host_id: Some(host_id), open_only: true, ..TicketFilter::default() };
        let tickets = self.tickets(scope, &filter, u32::MAX >> 1).await?;
        Ok(tickets.into_iter().filter(|t| t.status != "resolved" && t.status != "closed").collect())
    }
}

async fn insert_job_event(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ticket_id: i64,
    at: Timestamp,
    actor_id: Option<i64>,
    body: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO ticket_events (ticket_id, at, actor_id, kind, body, public) VALUES ($1, $2, $3, 'job', $4, 0)",
    )
    .bind(ticket_id)
    .bind(millis(at))
    .bind(actor_id)
    .bind(body)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
