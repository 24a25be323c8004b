//! Contracts: what the provider owes each client. The JSON columns hold the domain's types
//! (`tend_core::desk`); the server reads and validates them, the store only keeps them.

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Scope, Store, millis, timestamp};

#[derive(Debug, Clone, PartialEq)]
pub struct ContractRow {
    pub client_id: i64,
    /// `partial`, `total` or `specialised`.
    pub model: String,
    /// `remote`, `on_site` or `both`.
    pub delivery: String,
    /// JSON array of the services in scope: `monitoring`, `patching`, `backups`,
    /// `service_desk`, `reports`.
    pub services: String,
    /// JSON array of the support levels included, e.g. `["L1","L2"]`.
    pub support_levels: String,
    /// JSON `SlaPolicy`.
    pub sla_policy: String,
    /// JSON `PriorityMatrix`.
    pub priority_matrix: String,
    /// JSON array of standing authorizations.
    pub standing_authorizations: String,
    /// Days a resolved ticket waits for the customer before it closes by itself.
    pub auto_close_days: i64,
    /// Keep credentials given for a ticket after it closes.
    pub keep_credentials: bool,
    /// Firing alerts at or above this severity open an incident ticket.
    pub incident_min_severity: String,
    pub updated_at: Timestamp,
}

const CONTRACT_COLUMNS: &str = "client_id, model, delivery, services, support_levels, sla_policy, priority_matrix, \
     standing_authorizations, auto_close_days, keep_credentials, incident_min_severity, updated_at";

fn contract_row(row: &AnyRow) -> Result<ContractRow> {
    Ok(ContractRow {
        client_id: row.try_get("client_id")?,
        model: row.try_get("model")?,
        delivery: row.try_get("delivery")?,
        services: row.try_get("services")?,
        support_levels: row.try_get("support_levels")?,
        sla_policy: row.try_get("sla_policy")?,
        priority_matrix: row.try_get("priority_matrix")?,
        standing_authorizations: row.try_get("standing_authorizations")?,
        auto_close_days: row.try_get("auto_close_days")?,
        keep_credentials: row.try_get::<i64, _>("keep_credentials")? != 0,
        incident_min_severity: row.try_get("incident_min_severity")?,
        updated_at: timestamp(row.try_get("updated_at")?)?,
    })
}

impl Store {
    /// The client's contract, `None` when none was recorded yet.
    pub async fn contract(&self, scope: Scope, client_id: i64) -> Result<Option<ContractRow>> {
        self.client(scope, client_id).await?;
        let sql = format!("SELECT {CONTRACT_COLUMNS} FROM contracts WHERE client_id = $1");
        let row = sqlx::query(&sql).bind(client_id).fetch_optional(&self.read).await?;
        row.as_ref().map(contract_row).transpose()
    }

    /// Records or replaces the client's contract.
    pub async fn put_contract(&self, scope: Scope, contract: &ContractRow, now: Timestamp) -> Result<ContractRow> {
        self.client(scope, contract.client_id).await?;
        sqlx::query(
            "INSERT INTO contracts (client_id, model, delivery, services, support_levels, sla_policy, priority_matrix, \
             standing_authorizations, auto_close_days, keep_credentials, incident_min_severity, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (client_id) DO UPDATE SET model = excluded.model, delivery = excluded.delivery, \
             services = excluded.services, support_levels = excluded.support_levels, \
             sla_policy = excluded.sla_policy, priority_matrix = excluded.priority_matrix, \
             standing_authorizations = excluded.standing_authorizations, auto_close_days = excluded.auto_close_days, \
             keep_credentials = excluded.keep_credentials, incident_min_severity = excluded.incident_min_severity, \
             updated_at = excluded.updated_at",
        )
        .bind(contract.client_id)
        .bind(&contract.model)
        .bind(&contract.delivery)
        .bind(&contract.services)
        .bind(&contract.support_levels)
        .bind(&contract.sla_policy)
        .bind(&contract.priority_matrix)
        .bind(&contract.standing_authorizations)
        .bind(contract.auto_close_days)
        .bind(i64::from(contract.keep_credentials))
        .bind(&contract.incident_min_severity)
        .bind(millis(now))
        .execute(&self.write)
        .await?;
        Ok(ContractRow { updated_at: now, ..contract.clone() })
    }
}
