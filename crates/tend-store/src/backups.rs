//! Backup plans per host and the events agents report about their backup work.
//!
//! A plan's body is `tend_proto::backups::BackupPlan` as JSON without its password; the
//! password is kept only sealed by the server (the store never sees it in the clear). Events
//! arrive with reports, inside the ingest transaction, and are stored at most once: their
//! unique key (agent, report, kind, plan, start) makes a replay write nothing.

use jiff::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::{AgentIdentity, Error, Result, Scope, Store, millis, timestamp};

/// A stored plan. `password_sealed` is the server's ciphertext, bound to host and name.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupPlanRow {
    pub id: i64,
    pub client_id: i64,
    pub host_id: i64,
    pub name: String,
    /// JSON `BackupPlan` with an empty password.
    pub body: String,
    pub password_sealed: String,
    pub created_by: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One event of a report, converted from the wire by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBackupEvent {
    pub plan: String,
    /// `backup`, `forget`, `check` or `restore_test`.
    pub kind: String,
    pub ok: bool,
    pub started_at: Timestamp,
    pub duration_ms: i64,
    /// The event as JSON.
    pub body: String,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupEventRow {
    pub id: i64,
    pub client_id: i64,
    pub host_id: i64,
    pub plan: String,
    pub kind: String,
    pub ok: bool,
    pub started_at: Timestamp,
    pub duration_ms: i64,
    pub body: String,
}

/// One plan of one host with its latest events; a host without plans has one row with no plan.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupOverviewRow {
    pub client_id: i64,
    pub client_name: String,
    pub host_id: i64,
    pub hostname: String,
    pub plan: Option<String>,
    pub last_backup: Option<BackupEventRow>,
    pub last_good_backup: Option<BackupEventRow>,
    pub last_check: Option<BackupEventRow>,
    pub last_restore_test: Option<BackupEventRow>,
}

const PLAN_COLUMNS: &str = "id, client_id, host_id, name, body, password_sealed, created_by, created_at, updated_at";
const EVENT_COLUMNS: &str = "e.id, e.client_id, e.host_id, e.plan, e.kind, e.ok, e.started_at, e.duration_ms, e.body";

fn plan_row(row: &AnyRow) -> Result<BackupPlanRow> {
    Ok(BackupPlanRow {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        host_id: row.try_get("host_id")?,
        name: row.try_get("name")?,
        body: row.try_get("body")?,
        password_sealed: row.try_get("password_sealed")?,
        created_by: row.try_get("created_by")?,
        created_at: timestamp(row.try_get("created_at")?)?,
        updated_at: timestamp(row.try_get("updated_at")?)?,
    })
}

fn event_row(row: &AnyRow) -> Result<BackupEventRow> {
    Ok(BackupEventRow {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        host_id: row.try_get("host_id")?,
        plan: row.try_get("plan")?,
        kind: row.try_get("kind")?,
        ok: row.try_get::<i64, _>("ok")? != 0,
        started_at: timestamp(row.try_get("started_at")?)?,
        duration_ms: row.try_get("duration_ms")?,
        body: row.try_get("body")?,
    })
}

impl Store {
    /// Creates or replaces the plan `plan.name` of a host the caller may see; `id`, and on a
    /// replace `created_by` and `created_at`, are ignored. Returns the stored row.
    pub async fn set_backup_plan(&self, scope: Scope, plan: &BackupPlanRow) -> Result<BackupPlanRow> {
        if self.host(scope, plan.host_id).await?.client_id != plan.client_id {
            return Err(Error::NotFound("host"));
        }
        let sql = format!(
            "INSERT INTO backup_plans (client_id, host_id, name, body, password_sealed, created_by, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (host_id, name) DO UPDATE SET \
             body = excluded.body, password_sealed = excluded.password_sealed, updated_at = excluded.updated_at \
             RETURNING {PLAN_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(plan.client_id)
            .bind(plan.host_id)
            .bind(&plan.name)
            .bind(&plan.body)
            .bind(&plan.password_sealed)
            .bind(plan.created_by)
            .bind(millis(plan.created_at))
            .bind(millis(plan.updated_at))
            .fetch_one(&self.write)
            .await?;
        plan_row(&row)
    }

    /// A host's plans by name; the host must be the caller's to see.
    pub async fn backup_plans(&self, scope: Scope, host_id: i64) -> Result<Vec<BackupPlanRow>> {
        self.host(scope, host_id).await?;
        let sql = format!("SELECT {PLAN_COLUMNS} FROM backup_plans WHERE host_id = $1 ORDER BY name");
        let rows = sqlx::query(&sql).bind(host_id).fetch_all(&self.read).await?;
        rows.iter().map(plan_row).collect()
    }

    /// The hosts the caller sees that have at least one plan, by id: the ones whose backups are
    /// judged on the clock. A host whose agent was revoked is left out: nothing runs its
    /// backups any more, so "stale" would only repeat what revoking it said (deleting its plans
    /// resolves what was open).
    pub async fn backup_plan_hosts(&self, scope: Scope) -> Result<Vec<i64>> {
        let rows = sqlx::query(
            "SELECT DISTINCT p.host_id FROM backup_plans p WHERE (CAST($1 AS BIGINT) IS NULL OR p.client_id = $1) \
             AND NOT EXISTS (SELECT 1 FROM agents a WHERE a.id = (SELECT MAX(id) FROM agents WHERE host_id = p.host_id) \
             AND a.revoked_at IS NOT NULL) ORDER BY p.host_id",
        )
        .bind(scope.client_filter())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|row| Ok(row.try_get("host_id")?)).collect()
    }

    /// The plans of every host the caller sees (of `client_id` when given), by host and name:
    /// one query for what [`Store::backup_plans`] reads per host.
    pub async fn backup_plans_of_hosts(&self, scope: Scope, client_id: Option<i64>) -> Result<Vec<BackupPlanRow>> {
        let sql = format!(
            "SELECT {PLAN_COLUMNS} FROM backup_plans WHERE host_id IN (SELECT h.id FROM hosts h \
             WHERE (CAST($1 AS BIGINT) IS NULL OR h.client_id = $1) AND (CAST($2 AS BIGINT) IS NULL OR h.client_id = $2)) \
             ORDER BY host_id, name"
        );
        let rows = sqlx::query(&sql).bind(scope.client_filter()).bind(client_id).fetch_all(&self.read).await?;
        rows.iter().map(plan_row).collect()
    }

    /// The events of every host with plans the caller sees (of `client_id` when given), by host,
    /// newest first, at most `per_plan` times the host's number of plans each: one query for
    /// what [`Store::backup_events`] reads per host.
    pub async fn backup_events_of_planned_hosts(
        &self,
        scope: Scope,
        client_id: Option<i64>,
        per_plan: u32,
    ) -> Result<Vec<BackupEventRow>> {
        let sql = format!(
            "SELECT e.id, e.client_id, e.host_id, e.plan, e.kind, e.ok, e.started_at, e.duration_ms, e.body FROM ( \
               SELECT {EVENT_COLUMNS}, ROW_NUMBER() OVER (PARTITION BY e.host_id ORDER BY e.started_at DESC, e.id DESC) \
               AS n FROM backup_events e WHERE e.host_id IN (SELECT h.id FROM hosts h \
               WHERE (CAST($1 AS BIGINT) IS NULL OR h.client_id = $1) AND (CAST($2 AS BIGINT) IS NULL OR h.client_id = $2)) \
             ) e JOIN (SELECT host_id, COUNT(*) AS plans FROM backup_plans GROUP BY host_id) p ON p.host_id = e.host_id \
             WHERE e.n <= $3 * p.plans ORDER BY e.host_id, e.started_at DESC, e.id DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(scope.client_filter())
            .bind(client_id)
            .bind(i64::from(per_plan))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(event_row).collect()
    }

    /// One plan of a host the caller may see, if the host has it.
    pub async fn backup_plan(&self, scope: Scope, host_id: i64, name: &str) -> Result<Option<BackupPlanRow>> {
        self.host(scope, host_id).await?;
        let sql = format!("SELECT {PLAN_COLUMNS} FROM backup_plans WHERE host_id = $1 AND name = $2");
        let row = sqlx::query(&sql).bind(host_id).bind(name).fetch_optional(&self.read).await?;
        row.as_ref().map(plan_row).transpose()
    }

    /// Deletes a plan the caller may see; returns what it was. Its events stay: they are history.
    pub async fn delete_backup_plan(&self, scope: Scope, host_id: i64, name: &str) -> Result<BackupPlanRow> {
        let sql = format!(
            "DELETE FROM backup_plans WHERE host_id = $1 AND name = $2 \
             AND (CAST($3 AS BIGINT) IS NULL OR client_id = $3) RETURNING {PLAN_COLUMNS}"
        );
        let row =
            sqlx::query(&sql).bind(host_id).bind(name).bind(scope.client_filter()).fetch_optional(&self.write).await?;
        plan_row(&row.ok_or(Error::NotFound("backup plan"))?)
    }

    /// A host's events, newest first, at most `limit`.
    pub async fn backup_events(&self, scope: Scope, host_id: i64, limit: u32) -> Result<Vec<BackupEventRow>> {
        self.host(scope, host_id).await?;
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM backup_events e WHERE e.host_id = $1 ORDER BY e.started_at DESC, e.id DESC \
             LIMIT $2"
        );
        let rows = sqlx::query(&sql).bind(host_id).bind(i64::from(limit)).fetch_all(&self.read).await?;
        rows.iter().map(event_row).collect()
    }

    /// Every host the caller sees (of `client_id` when given), by client, hostname and plan,
    /// with each plan's latest events. Two queries whatever the number of hosts.
    pub async fn backup_overview(&self, scope: Scope, client_id: Option<i64>) -> Result<Vec<BackupOverviewRow>> {
        let hosts = sqlx::query(
            "SELECT h.id, h.client_id, c.name AS client_name, h.hostname, p.name AS plan \
             FROM hosts h JOIN clients c ON c.id = h.client_id LEFT JOIN backup_plans p ON p.host_id = h.id \
             WHERE (CAST($1 AS BIGINT) IS NULL OR h.client_id = $1) AND (CAST($2 AS BIGINT) IS NULL OR h.client_id = $2) \
             ORDER BY c.name, h.hostname, h.id, p.name",
        )
        .bind(scope.client_filter())
        .bind(client_id)
        .fetch_all(&self.read)
        .await?;
        // The latest event per (host, plan, kind), and the latest good backup per (host, plan):
        // `good` tells the two apart. Equal start times (two agents of a re-enrolled host) may
        // give two rows; the first one read wins.
        let latest = format!(
            "SELECT {EVENT_COLUMNS}, l.good FROM backup_events e JOIN ( \
               SELECT host_id, plan, kind, 0 AS good, MAX(started_at) AS at FROM backup_events \
               WHERE (CAST($1 AS BIGINT) IS NULL OR client_id = $1) AND (CAST($2 AS BIGINT) IS NULL OR client_id = $2) \
               GROUP BY host_id, plan, kind \
               UNION ALL \
               SELECT host_id, plan, kind, 1 AS good, MAX(started_at) AS at FROM backup_events \
               WHERE kind = 'backup' AND ok = 1 \
               AND (CAST($1 AS BIGINT) IS NULL OR client_id = $1) AND (CAST($2 AS BIGINT) IS NULL OR client_id = $2) \
               GROUP BY host_id, plan, kind \
             ) l ON e.host_id = l.host_id AND e.plan = l.plan AND e.kind = l.kind AND e.started_at = l.at \
             AND (l.good = 0 OR e.ok = 1)"
        );
        let events = sqlx::query(&latest).bind(scope.client_filter()).bind(client_id).fetch_all(&self.read).await?;
        let mut latest = std::collections::HashMap::new();
        for row in &events {
            let event = event_row(row)?;
            let good = row.try_get::<i64, _>("good")? != 0;
            latest.entry((event.host_id, event.plan.clone(), event.kind.clone(), good)).or_insert(event);
        }
        hosts
            .iter()
            .map(|row| {
                let host_id: i64 = row.try_get("id")?;
                let plan: Option<String> = row.try_get("plan")?;
                let mut take = |kind: &str, good: bool| {
                    plan.as_ref().and_then(|plan| latest.remove(&(host_id, plan.clone(), kind.to_owned(), good)))
                };
                Ok(BackupOverviewRow {
                    last_backup: take("backup", false),
                    last_good_backup: take("backup", true),
                    last_check: take("check", false),
                    last_restore_test: take("restore_test", false),
                    client_id: row.try_get("client_id")?,
                    client_name: row.try_get("client_name")?,
                    host_id,
                    hostname: row.try_get("hostname")?,
                    plan,
                })
            })
            .collect()
    }
}

/// Stores a report's events in the ingest transaction; one already stored (a replay) is skipped.
pub(crate) async fn insert_events(
    tx: &mut Transaction<'_, Any>,
    agent: &AgentIdentity,
    report_seq: i64,
    events: &[NewBackupEvent],
) -> Result<()> {
    for event in events {
        sqlx::query(
            "INSERT INTO backup_events (client_id, host_id, plan, kind, ok, started_at, duration_ms, body, agent_id, \
             report_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (agent_id, report_seq, kind, plan, started_at) DO NOTHING",
        )
        .bind(agent.client_id)
        .bind(agent.host_id)
        .bind(&event.plan)
        .bind(&event.kind)
        .bind(i64::from(event.ok))
        .bind(millis(event.started_at))
        .bind(event.duration_ms)
        .bind(&event.body)
        .bind(agent.agent_id)
        .bind(report_seq)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
