//! Inventory sections of hosts and the log of received reports.

use jiff::Timestamp;
use sqlx::Row;

use crate::{Result, Scope, Store, timestamp};

/// The latest body of one inventory section.
#[derive(Debug, Clone, PartialEq)]
pub struct InventorySection {
    pub section: String,
    /// JSON, as the agent sent it.
    pub body: String,
    pub collected_at: Timestamp,
}

/// One stored report.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportLogEntry {
    pub agent_id: i64,
    pub seq: u64,
    pub collected_at: Timestamp,
    pub received_at: Timestamp,
    pub stopping: bool,
}

impl Store {
    pub async fn inventory(&self, scope: Scope, host_id: i64) -> Result<Vec<InventorySection>> {
        self.host(scope, host_id).await?;
        let rows =
            sqlx::query("SELECT section, body, collected_at FROM host_inventory WHERE host_id = $1 ORDER BY section")
                .bind(host_id)
                .fetch_all(&self.read)
                .await?;
        rows.iter()
            .map(|row| {
                Ok(InventorySection {
                    section: row.try_get("section")?,
                    body: row.try_get("body")?,
                    collected_at: timestamp(row.try_get("collected_at")?)?,
                })
            })
            .collect()
    }

    /// The host's most recent reports, newest sequence first.
    pub async fn report_log(&self, scope: Scope, host_id: i64, limit: u32) -> Result<Vec<ReportLogEntry>> {
        self.host(scope, host_id).await?;
        let rows = sqlx::query(
            "SELECT r.agent_id, r.seq, r.collected_at, r.received_at, r.stopping FROM agent_reports r \
             JOIN agents a ON a.id = r.agent_id WHERE a.host_id = $1 \
             ORDER BY r.agent_id DESC, r.seq DESC LIMIT $2",
        )
        .bind(host_id)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                let seq: i64 = row.try_get("seq")?;
                Ok(ReportLogEntry {
                    agent_id: row.try_get("agent_id")?,
                    seq: u64::try_from(seq).unwrap_or_default(),
                    collected_at: timestamp(row.try_get("collected_at")?)?,
                    received_at: timestamp(row.try_get("received_at")?)?,
                    stopping: row.try_get::<i64, _>("stopping")? != 0,
                })
            })
            .collect()
    }
}
