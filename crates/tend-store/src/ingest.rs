//! Agent reports into the database: idempotent, all or nothing.
//!
//! Architecture invariant: a batch is committed in one transaction together with the agent's
//! highest sequence number, and only then acknowledged. A replayed report (seq at or below the
//! stored one) is counted as a duplicate and not stored again, so an agent may resend whatever
//! it is unsure about.

use jiff::Timestamp;
use sqlx::{Acquire, Any, Row, Transaction};

use crate::backups::{self, NewBackupEvent};
use crate::{AgentIdentity, Error, Result, Store, millis};

/// One report, converted from the wire by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestReport {
    pub seq: u64,
    pub collected_at: Timestamp,
    pub stopping: bool,
    /// The agent's reporting interval, when it says.
    pub interval_secs: Option<u32>,
    /// Facts as JSON, with the hostname they name.
    pub facts: Option<(String, String)>,
    pub samples: Vec<IngestSample>,
    /// Inventory sections present in the report: (section name, JSON body).
    pub inventory: Vec<(String, String)>,
    /// Backup work the agent finished since its previous report.
    pub backups: Vec<NewBackupEvent>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IngestSample {
    pub name: String,
    /// Canonical JSON object of the labels (keys sorted), part of the series identity.
    pub labels: String,
    pub value: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestOutcome {
    pub acknowledged_seq: u64,
    pub stored: u32,
    pub duplicates: u32,
    pub samples: u64,
}

/// Rows per multi-row INSERT: well under both engines' limits on bound parameters.
const SAMPLE_ROWS_PER_INSERT: usize = 500;

impl Store {
    pub async fn ingest(
        &self,
        agent: &AgentIdentity,
        reports: &[IngestReport],
        now: Timestamp,
    ) -> Result<IngestOutcome> {
        let mut conn = self.write.acquire().await?;
        let mut tx = conn.begin().await?;
        let last_seq = stored_seq(&mut tx, agent.agent_id).await?;
        let mut fresh: Vec<&IngestReport> = reports.iter().filter(|r| r.seq > last_seq).collect();
        fresh.sort_by_key(|r| r.seq);
        let duplicates = u32::try_from(reports.len() - fresh.len()).unwrap_or(u32::MAX);
        let mut samples = 0;
        for report in &fresh {
            if let Some((hostname, facts)) = &report.facts {
                store_facts(&mut tx, agent.host_id, hostname, facts, report.collected_at).await?;
            }
            samples += store_samples(&mut tx, agent.host_id, report).await?;
            store_inventory(&mut tx, agent.host_id, report).await?;
            backups::insert_events(&mut tx, agent, seq_column(report.seq)?, &report.backups).await?;
            log_report(&mut tx, agent.agent_id, report, now).await?;
        }
        let acknowledged_seq = fresh.last().map_or(last_seq, |r| r.seq);
        if let Some(newest) = fresh.last() {
            record_heartbeat(&mut tx, agent, acknowledged_seq, newest, now).await?;
        }
        tx.commit().await?;
        let stored = u32::try_from(fresh.len()).unwrap_or(u32::MAX);
        Ok(IngestOutcome { acknowledged_seq, stored, duplicates, samples })
    }
}

async fn stored_seq(tx: &mut Transaction<'_, Any>, agent_id: i64) -> Result<u64> {
    let seq: i64 = sqlx::query("SELECT last_seq FROM agents WHERE id = $1")
        .bind(agent_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(Error::NotFound("agent"))?
        .try_get("last_seq")?;
    u64::try_from(seq).map_err(|_| Error::Corrupt(format!("agent {agent_id} has seq {seq}")))
}

fn seq_column(seq: u64) -> Result<i64> {
    i64::try_from(seq).map_err(|_| Error::Conflict(format!("sequence number {seq} is out of range")))
}

async fn store_facts(
    tx: &mut Transaction<'_, Any>,
    host_id: i64,
    hostname: &str,
    facts: &str,
    at: Timestamp,
) -> Result<()> {
    sqlx::query("UPDATE hosts SET hostname = $1, facts = $2, facts_updated_at = $3 WHERE id = $4")
        .bind(hostname)
        .bind(facts)
        .bind(millis(at))
        .bind(host_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn store_samples(tx: &mut Transaction<'_, Any>, host_id: i64, report: &IngestReport) -> Result<u64> {
    let ts = millis(report.collected_at);
    let mut rows = Vec::with_capacity(report.samples.len());
    for sample in &report.samples {
        rows.push((series_id(tx, host_id, sample, ts).await?, sample.value));
    }
    for chunk in rows.chunks(SAMPLE_ROWS_PER_INSERT) {
        let values = (0..chunk.len())
            .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
            .collect::<Vec<_>>()
            .join(", ");
        // A repeated timestamp (an agent clock stepping back) keeps the first value.
        let sql = format!(
            "INSERT INTO samples (series_id, ts, value) VALUES {values} ON CONFLICT (series_id, ts) DO NOTHING"
        );
        let mut query = sqlx::query(&sql);
        for &(series_id, value) in chunk {
            query = query.bind(series_id).bind(ts).bind(value);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(rows.len() as u64)
}

/// The newest body of each section wins; an old replayed report does not overwrite a newer one.
async fn store_inventory(tx: &mut Transaction<'_, Any>, host_id: i64, report: &IngestReport) -> Result<()> {
    for (section, body) in &report.inventory {
        sqlx::query(
            "INSERT INTO host_inventory (host_id, section, body, collected_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (host_id, section) DO UPDATE SET body = excluded.body, collected_at = excluded.collected_at \
             WHERE excluded.collected_at >= host_inventory.collected_at",
        )
        .bind(host_id)
        .bind(section)
        .bind(body)
        .bind(millis(report.collected_at))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn log_report(tx: &mut Transaction<'_, Any>, agent_id: i64, report: &IngestReport, now: Timestamp) -> Result<()> {
    sqlx::query(
        "INSERT INTO agent_reports (agent_id, seq, collected_at, received_at, stopping) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(agent_id)
    .bind(seq_column(report.seq)?)
    .bind(millis(report.collected_at))
    .bind(millis(now))
    .bind(i64::from(report.stopping))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The series' id, created on first sight; its latest value moves forward only in time, so a
/// late replay of an old report does not overwrite a newer value.
async fn series_id(tx: &mut Transaction<'_, Any>, host_id: i64, sample: &IngestSample, ts: i64) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO series (host_id, name, labels, last_ts, last_value) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (host_id, name, labels) DO UPDATE SET \
           last_value = CASE WHEN excluded.last_ts >= series.last_ts THEN excluded.last_value ELSE series.last_value END, \
           last_ts = CASE WHEN excluded.last_ts >= series.last_ts THEN excluded.last_ts ELSE series.last_ts END \
         RETURNING id",
    )
    .bind(host_id)
    .bind(&sample.name)
    .bind(&sample.labels)
    .bind(ts)
    .bind(sample.value)
    .fetch_one(&mut **tx)
    .await?
    .try_get("id")?)
}

/// The host was heard from now; whether it said goodbye, and how soon it will report again, is
/// what its newest report says.
async fn record_heartbeat(
    tx: &mut Transaction<'_, Any>,
    agent: &AgentIdentity,
    seq: u64,
    newest: &IngestReport,
    now: Timestamp,
) -> Result<()> {
    sqlx::query("UPDATE agents SET last_seq = $1 WHERE id = $2")
        .bind(seq_column(seq)?)
        .bind(agent.agent_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE hosts SET last_seen_at = $1, stopped = $2, \
         report_interval_secs = COALESCE(CAST($3 AS BIGINT), report_interval_secs) WHERE id = $4",
    )
    .bind(millis(now))
    .bind(i64::from(newest.stopping))
    .bind(newest.interval_secs.map(i64::from))
    .bind(agent.host_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
