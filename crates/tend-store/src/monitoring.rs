//! What monitoring is configured with: check overrides, maintenance windows, notification
//! channels.

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Scope, Store, changed_one, millis, timestamp};

/// An override of a check's settings at one layer (`organisation`, `client`, `site`, `host`).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOverrideRow {
    pub id: i64,
    pub layer: String,
    pub layer_id: i64,
    pub check: String,
    /// The domain's partial settings, as JSON.
    pub settings: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MaintenanceWindowRow {
    pub id: i64,
    pub client_id: i64,
    pub site_id: Option<i64>,
    pub host_id: Option<i64>,
    pub check: Option<String>,
    /// `planned` or `emergency`.
    pub kind: String,
    pub title: String,
    pub description: String,
    /// Local start, `YYYY-MM-DDTHH:MM:SS`, in `time_zone`.
    pub start_local: String,
    pub time_zone: String,
    pub duration_secs: i64,
    pub rrule: Option<String>,
    pub ended_at: Option<Timestamp>,
    /// Days before each occurrence the client's contacts are told; `None`: the server's default.
    pub notice_days: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChannelRow {
    pub id: i64,
    pub client_id: Option<i64>,
    /// Only this site's notifications (of `client_id`).
    pub site_id: Option<i64>,
    /// `L1`, `L2` or `L3`: who is behind the channel. `None` hears every level.
    pub support_level: Option<String>,
    /// `email`, `webhook` or `slack`.
    pub kind: String,
    pub target: String,
    pub min_severity: String,
}

const CHANNEL_COLUMNS: &str = "id, client_id, site_id, support_level, kind, target, min_severity";

const WINDOW_COLUMNS: &str = "id, client_id, site_id, host_id, check_name, kind, title, description, start_local, \
     time_zone, duration_secs, rrule, ended_at, notice_days";

fn window_row(row: &AnyRow) -> Result<MaintenanceWindowRow> {
    Ok(MaintenanceWindowRow {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        site_id: row.try_get("site_id")?,
        host_id: row.try_get("host_id")?,
        check: row.try_get("check_name")?,
        kind: row.try_get("kind")?,
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        start_local: row.try_get("start_local")?,
        time_zone: row.try_get("time_zone")?,
        duration_secs: row.try_get("duration_secs")?,
        rrule: row.try_get("rrule")?,
        ended_at: row.try_get::<Option<i64>, _>("ended_at")?.map(timestamp).transpose()?,
        notice_days: row.try_get("notice_days")?,
    })
}

fn channel_row(row: &AnyRow) -> Result<ChannelRow> {
    Ok(ChannelRow {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        site_id: row.try_get("site_id")?,
        support_level: row.try_get("support_level")?,
        kind: row.try_get("kind")?,
        target: row.try_get("target")?,
        min_severity: row.try_get("min_severity")?,
    })
}

impl Store {
    /// Every override: few, and each evaluation needs those of its host's layers.
    pub async fn check_overrides(&self) -> Result<Vec<CheckOverrideRow>> {
        let rows = sqlx::query("SELECT id, layer, layer_id, check_name, settings FROM check_overrides ORDER BY id")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(CheckOverrideRow {
                    id: row.try_get("id")?,
                    layer: row.try_get("layer")?,
                    layer_id: row.try_get("layer_id")?,
                    check: row.try_get("check_name")?,
                    settings: row.try_get("settings")?,
                })
            })
            .collect()
    }

    /// Sets (replaces) the override of `check` at a layer; the caller has authorized it.
    pub async fn set_check_override(
        &self,
        layer: &str,
        layer_id: i64,
        check: &str,
        settings: &str,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO check_overrides (layer, layer_id, check_name, settings, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (layer, layer_id, check_name) DO UPDATE SET settings = excluded.settings",
        )
        .bind(layer)
        .bind(layer_id)
        .bind(check)
        .bind(settings)
        .bind(millis(now))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn create_maintenance_window(
        &self,
        scope: Scope,
        window: &MaintenanceWindowRow,
        created_by: Option<i64>,
        now: Timestamp,
    ) -> Result<MaintenanceWindowRow> {
        self.client(scope, window.client_id).await?;
        let id: i64 = sqlx::query(
            "INSERT INTO maintenance_windows (client_id, site_id, host_id, check_name, kind, title, description, \
             start_local, time_zone, duration_secs, rrule, created_by, created_at, notice_days) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
        )
        .bind(window.client_id)
        .bind(window.site_id)
        .bind(window.host_id)
        .bind(&window.check)
        .bind(&window.kind)
        .bind(&window.title)
        .bind(&window.description)
        .bind(&window.start_local)
        .bind(&window.time_zone)
        .bind(window.duration_secs)
        .bind(&window.rrule)
        .bind(created_by)
        .bind(millis(now))
        .bind(window.notice_days)
        .fetch_one(&self.write)
        .await?
        .try_get("id")?;
        Ok(MaintenanceWindowRow { id, ..window.clone() })
    }

    /// Windows the caller may see; `client` narrows to one client.
    pub async fn maintenance_windows(&self, scope: Scope, client: Option<i64>) -> Result<Vec<MaintenanceWindowRow>> {
        let sql = format!(
            "SELECT {WINDOW_COLUMNS} FROM maintenance_windows WHERE (CAST($1 AS BIGINT) IS NULL OR client_id = $1) \
             AND (CAST($2 AS BIGINT) IS NULL OR client_id = $2) ORDER BY id"
        );
        let rows = sqlx::query(&sql).bind(scope.client_filter()).bind(client).fetch_all(&self.read).await?;
        rows.iter().map(window_row).collect()
    }

    /// Ends a window now: alerts notify again from this moment.
    pub async fn end_maintenance_window(&self, scope: Scope, id: i64, now: Timestamp) -> Result<()> {
        changed_one(
            sqlx::query(
                "UPDATE maintenance_windows SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL \
             AND (CAST($3 AS BIGINT) IS NULL OR client_id = $3)",
            )
            .bind(millis(now))
            .bind(id)
            .bind(scope.client_filter())
            .execute(&self.write)
            .await?,
            "maintenance window",
        )
    }

    pub async fn create_channel(&self, channel: &ChannelRow, now: Timestamp) -> Result<ChannelRow> {
        let id: i64 = sqlx::query(
            "INSERT INTO notification_channels (client_id, site_id, support_level, kind, target, min_severity, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(channel.client_id)
        .bind(channel.site_id)
        .bind(&channel.support_level)
        .bind(&channel.kind)
        .bind(&channel.target)
        .bind(&channel.min_severity)
        .bind(millis(now))
        .fetch_one(&self.write)
        .await?
        .try_get("id")?;
        Ok(ChannelRow { id, ..channel.clone() })
    }

    /// Channels the caller may see: their client's and, for staff, the organisation's.
    pub async fn channels(&self, scope: Scope) -> Result<Vec<ChannelRow>> {
        let sql = format!(
            "SELECT {CHANNEL_COLUMNS} FROM notification_channels \
             WHERE CAST($1 AS BIGINT) IS NULL OR client_id = $1 ORDER BY id"
        );
        let rows = sqlx::query(&sql).bind(scope.client_filter()).fetch_all(&self.read).await?;
        rows.iter().map(channel_row).collect()
    }

    /// Channels that take a client's notifications: its own and the organisation-wide ones.
    pub async fn channels_for_client(&self, client_id: i64) -> Result<Vec<ChannelRow>> {
        let sql = format!(
            "SELECT {CHANNEL_COLUMNS} FROM notification_channels \
             WHERE client_id IS NULL OR client_id = $1 ORDER BY id"
        );
        let rows = sqlx::query(&sql).bind(client_id).fetch_all(&self.read).await?;
        rows.iter().map(channel_row).collect()
    }
}
