//! Synthetic probes and their schedule: due work is rows, claimed with a lease so that a probe
//! runs once per period however many server instances share the database.

use jiff::{SignedDuration, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Backend, Error, Result, Scope, Store, changed_one, millis, timestamp};

#[derive(Debug, Clone, PartialEq)]
pub struct ProbeRow {
    pub id: i64,
    pub client_id: i64,
    pub site_id: Option<i64>,
    pub host_id: Option<i64>,
    pub name: String,
    /// The probe's spec, as JSON.
    pub spec: String,
    pub interval_secs: u32,
    pub timeout_secs: u32,
    pub pending_for_secs: u32,
    pub next_run_at: Timestamp,
    pub last_run_at: Option<Timestamp>,
    /// The last outcome, as JSON.
    pub last_outcome: Option<String>,
}

const PROBE_COLUMNS: &str = "id, client_id, site_id, host_id, name, spec, interval_secs, timeout_secs, \
     pending_for_secs, next_run_at, last_run_at, last_outcome";

fn seconds(row: &AnyRow, column: &str) -> Result<u32> {
    let value: i64 = row.try_get(column)?;
    u32::try_from(value).map_err(|_| Error::Corrupt(format!("{column} {value}")))
}

fn probe_row(row: &AnyRow) -> Result<ProbeRow> {
    Ok(ProbeRow {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        site_id: row.try_get("site_id")?,
        host_id: row.try_get("host_id")?,
        name: row.try_get("name")?,
        spec: row.try_get("spec")?,
        interval_secs: seconds(row, "interval_secs")?,
        timeout_secs: seconds(row, "timeout_secs")?,
        pending_for_secs: seconds(row, "pending_for_secs")?,
        next_run_at: timestamp(row.try_get("next_run_at")?)?,
        last_run_at: row.try_get::<Option<i64>, _>("last_run_at")?.map(timestamp).transpose()?,
        last_outcome: row.try_get("last_outcome")?,
    })
}

impl Store {
    /// Stores a probe whose first run is due at once.
    pub async fn create_probe(&self, scope: Scope, probe: &ProbeRow, now: Timestamp) -> Result<ProbeRow> {
        self.client(scope, probe.client_id).await?;
        let id: i64 = sqlx::query(
            "INSERT INTO probes (client_id, site_id, host_id, name, spec, interval_secs, timeout_secs, \
             pending_for_secs, next_run_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
        )
        .bind(probe.client_id)
        .bind(probe.site_id)
        .bind(probe.host_id)
        .bind(&probe.name)
        .bind(&probe.spec)
        .bind(i64::from(probe.interval_secs))
        .bind(i64::from(probe.timeout_secs))
        .bind(i64::from(probe.pending_for_secs))
        .bind(millis(now))
        .fetch_one(&self.write)
        .await
        .map_err(|e| Error::conflict_or(e, || format!("the client has a probe named '{}' already", probe.name)))?
        .try_get("id")?;
        Ok(ProbeRow { id, next_run_at: now, last_run_at: None, last_outcome: None, ..probe.clone() })
    }

    pub async fn probes(&self, scope: Scope) -> Result<Vec<ProbeRow>> {
        let sql = format!(
            "SELECT {PROBE_COLUMNS} FROM probes WHERE CAST($1 AS BIGINT) IS NULL OR client_id = $1 ORDER BY id"
        );
        let rows = sqlx::query(&sql).bind(scope.client_filter()).fetch_all(&self.read).await?;
        rows.iter().map(probe_row).collect()
    }

    pub async fn delete_probe(&self, scope: Scope, id: i64) -> Result<()> {
        changed_one(
            sqlx::query("DELETE FROM probes WHERE id = $1 AND (CAST($2 AS BIGINT) IS NULL OR client_id = $2)")
                .bind(id)
                .bind(scope.client_filter())
                .execute(&self.write)
                .await?,
            "probe",
        )
    }

    /// Takes up to `limit` due probes for `owner` until `now + lease`. A probe whose lease has
    /// run out (its instance died) is due again. On PostgreSQL concurrent instances skip each
    /// other's rows instead of waiting for them.
    pub async fn claim_due_probes(
        &self,
        owner: &str,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> Result<Vec<ProbeRow>> {
        let skip_locked = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE probes SET lease_owner = $1, lease_until = $2 WHERE id IN (SELECT id FROM probes \
             WHERE next_run_at <= $3 AND (lease_until IS NULL OR lease_until < $3) ORDER BY next_run_at LIMIT $4 \
             {skip_locked}) RETURNING {PROBE_COLUMNS}"
        );
        let rows = sqlx::query(&sql)
            .bind(owner)
            .bind(millis(now + lease))
            .bind(millis(now))
            .bind(i64::from(limit))
            .fetch_all(&self.write)
            .await?;
        rows.iter().map(probe_row).collect()
    }

    /// Records a run and schedules the next, releasing the lease.
    pub async fn finish_probe(
        &self,
        id: i64,
        owner: &str,
        outcome: &str,
        now: Timestamp,
        next: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE probes SET last_run_at = $1, last_outcome = $2, next_run_at = $3, lease_owner = NULL, \
             lease_until = NULL WHERE id = $4 AND lease_owner = $5",
        )
        .bind(millis(now))
        .bind(outcome)
        .bind(millis(next))
        .bind(id)
        .bind(owner)
        .execute(&self.write)
        .await?;
        Ok(())
    }
}
