//! Alerts (one row per dedup key), their append-only history, and the notification outbox that
//! is written in the same transaction.

use jiff::{SignedDuration, Timestamp};
use sqlx::any::AnyRow;
use sqlx::{Acquire, Row};

use crate::{Error, Result, Scope, Store, millis, timestamp};

#[derive(Debug, Clone, PartialEq)]
pub struct AlertRow {
    pub id: i64,
    pub client_id: i64,
    pub host_id: Option<i64>,
    pub check: String,
    pub target: String,
    pub dedup_key: String,
    pub state: String,
    pub severity: Option<String>,
    pub summary: String,
    /// The domain's alert track, as JSON.
    pub track: String,
    pub evidence: String,
    pub opened_at: Option<Timestamp>,
    pub updated_at: Timestamp,
    pub last_notified_at: Option<Timestamp>,
    /// The support level (`L2`, `L3`) the alert was escalated to, if it was.
    pub escalated_to: Option<String>,
}

/// A change of one alert, with the history it adds and the notifications it causes.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertUpdate {
    pub dedup_key: String,
    pub client_id: i64,
    pub host_id: Option<i64>,
    pub check: String,
    pub target: String,
    pub state: String,
    pub severity: Option<String>,
    pub summary: String,
    pub track: String,
    pub evidence: String,
    pub opened_at: Option<Timestamp>,
    pub escalated_to: Option<String>,
    pub at: Timestamp,
    pub events: Vec<AlertEventRecord>,
    pub notifications: Vec<NotificationIntent>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlertEventRecord {
    pub at: Timestamp,
    /// e.g. `firing`, `resolved`, `acknowledged`.
    pub event: String,
    pub detail: String,
    /// Whether it was meant to reach people (false inside a maintenance window).
    pub notified: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NotificationIntent {
    pub channel_id: i64,
    pub event: String,
    /// JSON: what the deliverer renders.
    pub body: String,
}

/// A notification waiting for delivery, with where it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    pub id: i64,
    pub channel_id: i64,
    pub channel_kind: String,
    pub channel_target: String,
    pub alert_id: i64,
    pub event: String,
    pub body: String,
    pub attempts: u32,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlertEventRow {
    pub at: Timestamp,
    pub event: String,
    pub detail: String,
    pub notified: bool,
}

const ALERT_COLUMNS: &str = "a.id, a.client_id, a.host_id, a.check_name, a.target, a.dedup_key, a.state, a.severity, \
     a.summary, a.track, a.evidence, a.opened_at, a.updated_at, a.last_notified_at, a.escalated_to";

fn optional_time(row: &AnyRow, column: &str) -> Result<Option<Timestamp>> {
    row.try_get::<Option<i64>, _>(column)?.map(timestamp).transpose()
}

fn alert_row(row: &AnyRow) -> Result<AlertRow> {
    Ok(AlertRow {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        host_id: row.try_get("host_id")?,
        check: row.try_get("check_name")?,
        target: row.try_get("target")?,
        dedup_key: row.try_get("dedup_key")?,
        state: row.try_get("state")?,
        severity: row.try_get("severity")?,
        summary: row.try_get("summary")?,
        track: row.try_get("track")?,
        evidence: row.try_get("evidence")?,
        opened_at: optional_time(row, "opened_at")?,
        updated_at: timestamp(row.try_get("updated_at")?)?,
        last_notified_at: optional_time(row, "last_notified_at")?,
        escalated_to: row.try_get("escalated_to")?,
    })
}

impl Store {
    /// Every alert of a host, open or not: the tracks the next evaluation continues from.
    pub async fn host_alerts(&self, scope: Scope, host_id: i64) -> Result<Vec<AlertRow>> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts a WHERE a.host_id = $1 \
             AND (CAST($2 AS BIGINT) IS NULL OR a.client_id = $2) ORDER BY a.id"
        );
        let rows = sqlx::query(&sql).bind(host_id).bind(scope.client_filter()).fetch_all(&self.read).await?;
        rows.iter().map(alert_row).collect()
    }

    /// The alert of a dedup key, for background evaluation.
    pub async fn alert_by_key(&self, dedup_key: &str) -> Result<Option<AlertRow>> {
        let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts a WHERE a.dedup_key = $1");
        let row = sqlx::query(&sql).bind(dedup_key).fetch_optional(&self.read).await?;
        row.as_ref().map(alert_row).transpose()
    }

    /// Alerts the caller may see: open ones (pending, firing, flapping) or all, newest first.
    pub async fn list_alerts(&self, scope: Scope, open_only: bool, limit: u32) -> Result<Vec<AlertRow>> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts a WHERE (CAST($1 AS BIGINT) IS NULL OR a.client_id = $1) \
             AND ($2 = 0 OR a.state <> 'ok') ORDER BY a.updated_at DESC, a.id DESC LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(scope.client_filter())
            .bind(i64::from(open_only))
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(alert_row).collect()
    }

    pub async fn alert(&self, scope: Scope, id: i64) -> Result<AlertRow> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts a WHERE a.id = $1 AND (CAST($2 AS BIGINT) IS NULL OR a.client_id = $2)"
        );
        let row = sqlx::query(&sql).bind(id).bind(scope.client_filter()).fetch_optional(&self.read).await?;
        alert_row(&row.ok_or(Error::NotFound("alert"))?)
    }

    pub async fn alert_events(&self, scope: Scope, alert_id: i64) -> Result<Vec<AlertEventRow>> {
        self.alert(scope, alert_id).await?;
        let rows = sqlx::query("SELECT at, event, detail, notified FROM alert_events WHERE alert_id = $1 ORDER BY id")
            .bind(alert_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(AlertEventRow {
                    at: timestamp(row.try_get("at")?)?,
                    event: row.try_get("event")?,
                    detail: row.try_get("detail")?,
                    notified: row.try_get::<i64, _>("notified")? != 0,
                })
            })
            .collect()
    }

    /// Writes alert changes, their history and their notifications in one transaction.
    pub async fn apply_alert_updates(&self, updates: &[AlertUpdate]) -> Result<()> {
        if updates.is_empty() {
            return Ok(());
        }
        let mut conn = self.write.acquire().await?;
        let mut tx = conn.begin().await?;
        for update in updates {
            let id: i64 = sqlx::query(
                "INSERT INTO alerts (client_id, host_id, check_name, target, dedup_key, state, severity, summary, \
                 track, evidence, opened_at, updated_at, escalated_to) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                 ON CONFLICT (dedup_key) DO UPDATE SET state = excluded.state, severity = excluded.severity, \
                 summary = excluded.summary, track = excluded.track, evidence = excluded.evidence, \
                 opened_at = excluded.opened_at, updated_at = excluded.updated_at, \
                 escalated_to = excluded.escalated_to RETURNING id",
            )
            .bind(update.client_id)
            .bind(update.host_id)
            .bind(&update.check)
            .bind(&update.target)
            .bind(&update.dedup_key)
            .bind(&update.state)
            .bind(&update.severity)
            .bind(&update.summary)
            .bind(&update.track)
            .bind(&update.evidence)
            .bind(update.opened_at.map(millis))
            .bind(millis(update.at))
            .bind(&update.escalated_to)
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?;
            for event in &update.events {
                sqlx::query(
                    "INSERT INTO alert_events (alert_id, at, event, detail, notified) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(millis(event.at))
                .bind(&event.event)
                .bind(&event.detail)
                .bind(i64::from(event.notified))
                .execute(&mut *tx)
                .await?;
            }
            for intent in &update.notifications {
                sqlx::query(
                    "INSERT INTO notifications (channel_id, alert_id, event, body, created_at, status, next_attempt_at) \
                     VALUES ($1, $2, $3, $4, $5, 'pending', $5)",
                )
                .bind(intent.channel_id)
                .bind(id)
                .bind(&intent.event)
                .bind(&intent.body)
                .bind(millis(update.at))
                .execute(&mut *tx)
                .await?;
            }
            if !update.notifications.is_empty() {
                sqlx::query("UPDATE alerts SET last_notified_at = $1 WHERE id = $2")
                    .bind(millis(update.at))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Takes up to `limit` notifications due for delivery, oldest first, for `lease`: until then
    /// no other instance takes them (on PostgreSQL they skip the rows being claimed). A claim
    /// whose instance died is due again when its lease runs out.
    pub async fn claim_notifications(
        &self,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> Result<Vec<OutboxRow>> {
        let columns = "id, channel_id, alert_id, event, body, attempts, created_at";
        let rows = self.claim_due("notifications", columns, now, lease, limit).await?;
        let channels = sqlx::query("SELECT id, kind, target FROM notification_channels").fetch_all(&self.read).await?;
        let mut claimed = rows
            .iter()
            .map(|row| {
                let channel_id: i64 = row.try_get("channel_id")?;
                let channel = channels
                    .iter()
                    .find(|c| c.try_get::<i64, _>("id").is_ok_and(|id| id == channel_id))
                    .ok_or(Error::NotFound("notification channel"))?;
                Ok(OutboxRow {
                    id: row.try_get("id")?,
                    channel_id,
                    channel_kind: channel.try_get("kind")?,
                    channel_target: channel.try_get("target")?,
                    alert_id: row.try_get("alert_id")?,
                    event: row.try_get("event")?,
                    body: row.try_get("body")?,
                    attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                    created_at: timestamp(row.try_get("created_at")?)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // RETURNING gives no order: deliver oldest first.
        claimed.sort_by_key(|n| n.id);
        Ok(claimed)
    }

    /// Records a delivery attempt: delivered, retried at `retry_at`, or given up (`retry_at` None).
    pub async fn record_delivery(
        &self,
        ids: &[i64],
        now: Timestamp,
        error: Option<&str>,
        retry_at: Option<Timestamp>,
    ) -> Result<()> {
        for id in ids {
            self.record_attempt("notifications", "delivered_at", *id, now, error, retry_at).await?;
        }
        Ok(())
    }

    /// How the notifications of an alert fared: (event, channel kind, status, attempts, last error).
    pub async fn alert_notifications(
        &self,
        scope: Scope,
        alert_id: i64,
    ) -> Result<Vec<(String, String, String, u32, Option<String>)>> {
        self.alert(scope, alert_id).await?;
        let rows = sqlx::query(
            "SELECT n.event, c.kind, n.status, n.attempts, n.last_error FROM notifications n \
             JOIN notification_channels c ON c.id = n.channel_id WHERE n.alert_id = $1 ORDER BY n.id",
        )
        .bind(alert_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("event")?,
                    row.try_get("kind")?,
                    row.try_get("status")?,
                    u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                    row.try_get("last_error")?,
                ))
            })
            .collect()
    }
}
