//! Tickets: the row with what a queue shows, the hosts it concerns, and its append-only history.
//!
//! The store keeps what the domain decided; the rules (which status may follow which, the SLA
//! clocks derived from the history) are `tend_core::desk`'s, applied by the server before it
//! writes. Every change of a ticket and the history entry that tells of it are one transaction.

use std::collections::HashMap;

use jiff::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{Acquire, Row};

use crate::{Error, Result, Scope, Store, millis, timestamp};

#[derive(Debug, Clone, PartialEq)]
pub struct TicketRow {
    pub id: i64,
    pub client_id: i64,
    pub kind: String,
    pub subject: String,
    pub description: String,
    pub requester_id: Option<i64>,
    pub requester_email: Option<String>,
    pub impact: String,
    pub urgency: String,
    pub priority: String,
    pub priority_reason: Option<String>,
    /// `L1`, `L2` or `L3`.
    pub support_level: String,
    pub assignee_id: Option<i64>,
    pub status: String,
    /// The structured form as filed, JSON.
    pub form: Option<String>,
    pub alert_key: Option<String>,
    pub vendor: Option<String>,
    pub vendor_case: Option<String>,
    pub rma: Option<String>,
    pub vendor_follow_up: Option<Timestamp>,
    pub reply_token: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub rating: Option<i64>,
    pub rating_comment: Option<String>,
    pub sla_due_at: Option<Timestamp>,
    pub host_ids: Vec<i64>,
}

/// One entry of a ticket's history.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketEventRow {
    pub id: i64,
    pub ticket_id: i64,
    pub at: Timestamp,
    pub actor_id: Option<i64>,
    /// `created`, `status`, `priority`, `reply`, `note`, `escalated`, `assigned`, `time`,
    /// `link`, `acknowledgement`, `rating`, `vendor`, `alert`.
    pub kind: String,
    /// JSON: what the kind needs (the new status, the text, minutes worked, …).
    pub body: String,
    /// Whether the customer sees it (replies do, internal notes do not).
    pub public: bool,
}

/// A change to write: the new ticket row (its `id` names the ticket) and the history entries
/// that tell of it.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketChange {
    pub ticket: TicketRow,
    pub events: Vec<NewTicketEvent>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewTicketEvent {
    pub at: Timestamp,
    pub actor_id: Option<i64>,
    pub kind: String,
    pub body: String,
    pub public: bool,
}

/// Which tickets a list shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketFilter {
    pub client_id: Option<i64>,
    pub support_level: Option<String>,
    pub assignee_id: Option<i64>,
    pub host_id: Option<i64>,
    /// Only tickets not yet closed.
    pub open_only: bool,
}

/// Ticket ids per query when reading the hosts or histories of a list: well under every
/// backend's bind limit.
const HOSTS_QUERY_CHUNK: usize = 500;

const TICKET_COLUMNS: &str = "t.id, t.client_id, t.kind, t.subject, t.description, t.requester_id, \
     t.requester_email, t.impact, t.urgency, t.priority, t.priority_reason, t.support_level, t.assignee_id, t.status, \
     t.form, t.alert_key, t.vendor, t.vendor_case, t.rma, t.vendor_follow_up, t.reply_token, t.created_at, \
     t.updated_at, t.resolved_at, t.closed_at, t.rating, t.rating_comment, t.sla_due_at";

fn optional_time(row: &AnyRow, column: &str) -> Result<Option<Timestamp>> {
    row.try_get::<Option<i64>, _>(column)?.map(timestamp).transpose()
}

fn ticket_row(row: &AnyRow) -> Result<TicketRow> {
    Ok(TicketRow {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        kind: row.try_get("kind")?,
        subject: row.try_get("subject")?,
        description: row.try_get("description")?,
        requester_id: row.try_get("requester_id")?,
        requester_email: row.try_get("requester_email")?,
        impact: row.try_get("impact")?,
        urgency: row.try_get("urgency")?,
        priority: row.try_get("priority")?,
        priority_reason: row.try_get("priority_reason")?,
        support_level: row.try_get("support_level")?,
        assignee_id: row.try_get("assignee_id")?,
        status: row.try_get("status")?,
        form: row.try_get("form")?,
        alert_key: row.try_get("alert_key")?,
        vendor: row.try_get("vendor")?,
        vendor_case: row.try_get("vendor_case")?,
        rma: row.try_get("rma")?,
        vendor_follow_up: optional_time(row, "vendor_follow_up")?,
        reply_token: row.try_get("reply_token")?,
        created_at: timestamp(row.try_get("created_at")?)?,
        updated_at: timestamp(row.try_get("updated_at")?)?,
        resolved_at: optional_time(row, "resolved_at")?,
        closed_at: optional_time(row, "closed_at")?,
        rating: row.try_get("rating")?,
        rating_comment: row.try_get("rating_comment")?,
        sla_due_at: optional_time(row, "sla_due_at")?,
        host_ids: Vec::new(),
    })
}

fn event_row(row: &AnyRow) -> Result<TicketEventRow> {
    Ok(TicketEventRow {
        id: row.try_get("id")?,
        ticket_id: row.try_get("ticket_id")?,
        at: timestamp(row.try_get("at")?)?,
        actor_id: row.try_get("actor_id")?,
        kind: row.try_get("kind")?,
        body: row.try_get("body")?,
        public: row.try_get::<i64, _>("public")? != 0,
    })
}

impl Store {
    /// Files a ticket with its hosts and first history entries; `ticket.id` is ignored. A second
    /// open ticket for the same alert is a conflict: the caller adds to the open one instead.
    pub async fn create_ticket(&self, scope: Scope, change: &TicketChange) -> Result<TicketRow> {
        let ticket = &change.ticket;
        self.client(scope, ticket.client_id).await?;
        for host in &ticket.host_ids {
            if self.host(scope, *host).await?.client_id != ticket.client_id {
                return Err(Error::NotFound("host"));
            }
        }
        let mut conn = self.write.acquire().await?;
        let mut tx = conn.begin().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO tickets (client_id, kind, subject, description, requester_id, requester_email, impact, \
             urgency, priority, priority_reason, support_level, assignee_id, status, form, alert_key, reply_token, \
             created_at, updated_at, sla_due_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17, $18) \
             RETURNING id",
        )
        .bind(ticket.client_id)
        .bind(&ticket.kind)
        .bind(&ticket.subject)
        .bind(&ticket.description)
        .bind(ticket.requester_id)
        .bind(&ticket.requester_email)
        .bind(&ticket.impact)
        .bind(&ticket.urgency)
        .bind(&ticket.priority)
        .bind(&ticket.priority_reason)
        .bind(&ticket.support_level)
        .bind(ticket.assignee_id)
        .bind(&ticket.status)
        .bind(&ticket.form)
        .bind(&ticket.alert_key)
        .bind(&ticket.reply_token)
        .bind(millis(ticket.created_at))
        .bind(ticket.sla_due_at.map(millis))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| Error::conflict_or(e, || "an open ticket already tracks this alert".into()))?
        .try_get("id")?;
        insert_hosts(&mut tx, id, &ticket.host_ids).await?;
        insert_events(&mut tx, id, &change.events).await?;
        tx.commit().await?;
        self.ticket(scope, id).await
    }

    /// A ticket the caller may see, with its hosts.
    pub async fn ticket(&self, scope: Scope, id: i64) -> Result<TicketRow> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.id = $1 AND (CAST($2 AS BIGINT) IS NULL OR t.client_id = $2)"
        );
        let row = sqlx::query(&sql).bind(id).bind(scope.client_filter()).fetch_optional(&self.read).await?;
        let mut ticket = ticket_row(&row.ok_or(Error::NotFound("ticket"))?)?;
        ticket.host_ids = self.ticket_hosts(id).await?;
        Ok(ticket)
    }

    /// The hosts of many tickets, a few queries for all of them rather than one per ticket.
    async fn fill_hosts(&self, tickets: &mut [TicketRow]) -> Result<()> {
        let mut hosts: HashMap<i64, Vec<i64>> = HashMap::new();
        for chunk in tickets.chunks(HOSTS_QUERY_CHUNK) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
            let sql = format!(
                "SELECT ticket_id, host_id FROM ticket_hosts WHERE ticket_id IN ({}) ORDER BY host_id",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for ticket in chunk {
                query = query.bind(ticket.id);
            }
            for row in query.fetch_all(&self.read).await? {
                hosts.entry(row.try_get("ticket_id")?).or_default().push(row.try_get("host_id")?);
            }
        }
        for ticket in tickets {
            ticket.host_ids = hosts.remove(&ticket.id).unwrap_or_default();
        }
        Ok(())
    }

    async fn ticket_hosts(&self, ticket_id: i64) -> Result<Vec<i64>> {
        let rows = sqlx::query("SELECT host_id FROM ticket_hosts WHERE ticket_id = $1 ORDER BY host_id")
            .bind(ticket_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("host_id")?)).collect()
    }

    /// The open ticket that tracks an alert, if any.
    pub async fn ticket_for_alert(&self, alert_key: &str) -> Result<Option<TicketRow>> {
        let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.alert_key = $1 AND t.closed_at IS NULL");
        let Some(row) = sqlx::query(&sql).bind(alert_key).fetch_optional(&self.read).await? else { return Ok(None) };
        let mut ticket = ticket_row(&row)?;
        ticket.host_ids = self.ticket_hosts(ticket.id).await?;
        Ok(Some(ticket))
    }

    /// Tickets the caller may see, queue order: the earliest SLA deadline first, tickets with
    /// no clock running after them, newest first.
    pub async fn tickets(&self, scope: Scope, filter: &TicketFilter, limit: u32) -> Result<Vec<TicketRow>> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets t \
             WHERE (CAST($1 AS BIGINT) IS NULL OR t.client_id = $1) AND (CAST($2 AS BIGINT) IS NULL OR t.client_id = $2) \
             AND (CAST($3 AS TEXT) IS NULL OR t.support_level = $3) \
             AND (CAST($4 AS BIGINT) IS NULL OR t.assignee_id = $4) \
             AND (CAST($5 AS BIGINT) IS NULL OR t.id IN (SELECT ticket_id FROM ticket_hosts WHERE host_id = $5)) \
             AND ($6 = 0 OR t.closed_at IS NULL) \
             ORDER BY CASE WHEN t.sla_due_at IS NULL THEN 1 ELSE 0 END, t.sla_due_at, t.id DESC LIMIT $7"
        );
        let rows = sqlx::query(&sql)
            .bind(scope.client_filter())
            .bind(filter.client_id)
            .bind(&filter.support_level)
            .bind(filter.assignee_id)
            .bind(filter.host_id)
            .bind(i64::from(filter.open_only))
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?;
        let mut tickets: Vec<TicketRow> = rows.iter().map(ticket_row).collect::<Result<_>>()?;
        self.fill_hosts(&mut tickets).await?;
        Ok(tickets)
    }

    /// Every ticket not yet closed, for the SLA and auto-close timers.
    pub async fn open_tickets(&self) -> Result<Vec<TicketRow>> {
        self.tickets(Scope::System, &TicketFilter { open_only: true, ..TicketFilter::default() }, u32::MAX >> 1).await
    }

    /// Writes a change of a ticket, hosts it gained and its history entries at once. The row must still be as
    /// the caller read it (`updated_at` unchanged): a concurrent change is a conflict, not lost.
    pub async fn update_ticket(&self, scope: Scope, read_at: Timestamp, change: &TicketChange) -> Result<TicketRow> {
        let t = &change.ticket;
        self.ticket(scope, t.id).await?;
        let mut conn = self.write.acquire().await?;
        let mut tx = conn.begin().await?;
        let done = sqlx::query(
            "UPDATE tickets SET subject = $1, description = $2, impact = $3, urgency = $4, priority = $5, \
             priority_reason = $6, support_level = $7, assignee_id = $8, status = $9, vendor = $10, vendor_case = $11, \
             rma = $12, vendor_follow_up = $13, updated_at = $14, resolved_at = $15, closed_at = $16, rating = $17, \
             rating_comment = $18, sla_due_at = $19 WHERE id = $20 AND updated_at = $21",
        )
        .bind(&t.subject)
        .bind(&t.description)
        .bind(&t.impact)
        .bind(&t.urgency)
        .bind(&t.priority)
        .bind(&t.priority_reason)
        .bind(&t.support_level)
        .bind(t.assignee_id)
        .bind(&t.status)
        .bind(&t.vendor)
        .bind(&t.vendor_case)
        .bind(&t.rma)
        .bind(t.vendor_follow_up.map(millis))
        .bind(millis(t.updated_at))
        .bind(t.resolved_at.map(millis))
        .bind(t.closed_at.map(millis))
        .bind(t.rating)
        .bind(&t.rating_comment)
        .bind(t.sla_due_at.map(millis))
        .bind(t.id)
        .bind(millis(read_at))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::Conflict("the ticket changed meanwhile; read it again and retry".into()));
        }
        insert_hosts(&mut tx, t.id, &t.host_ids).await?;
        insert_events(&mut tx, t.id, &change.events).await?;
        tx.commit().await?;
        self.ticket(scope, t.id).await
    }

    /// A ticket's history, oldest first; `public_only` for the customer's view.
    pub async fn ticket_events(&self, scope: Scope, ticket_id: i64, public_only: bool) -> Result<Vec<TicketEventRow>> {
        self.ticket(scope, ticket_id).await?;
        let rows = sqlx::query(
            "SELECT id, ticket_id, at, actor_id, kind, body, public FROM ticket_events \
             WHERE ticket_id = $1 AND ($2 = 0 OR public = 1) ORDER BY id",
        )
        .bind(ticket_id)
        .bind(i64::from(public_only))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(event_row).collect()
    }

    /// The whole histories of many tickets, for the server's own reading (SLA clocks of a
    /// queue): the caller has already read the tickets within its scope.
    pub async fn histories(&self, ticket_ids: &[i64]) -> Result<HashMap<i64, Vec<TicketEventRow>>> {
        let mut histories: HashMap<i64, Vec<TicketEventRow>> = HashMap::new();
        for chunk in ticket_ids.chunks(HOSTS_QUERY_CHUNK) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
            let sql = format!(
                "SELECT id, ticket_id, at, actor_id, kind, body, public FROM ticket_events \
                 WHERE ticket_id IN ({}) ORDER BY id",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.read).await? {
                let event = event_row(&row)?;
                histories.entry(event.ticket_id).or_default().push(event);
            }
        }
        Ok(histories)
    }

    /// The ticket whose e-mails carry this reply token.
    pub async fn ticket_by_reply_token(&self, token: &str) -> Result<Option<TicketRow>> {
        let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.reply_token = $1");
        let Some(row) = sqlx::query(&sql).bind(token).fetch_optional(&self.read).await? else { return Ok(None) };
        let mut ticket = ticket_row(&row)?;
        ticket.host_ids = self.ticket_hosts(ticket.id).await?;
        Ok(Some(ticket))
    }

    /// Records an SLA alarm; false when it was already recorded (by this or another instance),
    /// so each warning and breach is acted on once.
    pub async fn record_sla_alarm(&self, ticket_id: i64, clock: &str, level: &str, at: Timestamp) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO sla_alarms (ticket_id, clock, level, at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (ticket_id, clock, level) DO NOTHING",
        )
        .bind(ticket_id)
        .bind(clock)
        .bind(level)
        .bind(millis(at))
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// Adds hosts to what a ticket is about; hosts already there stay (a ticket never forgets one).
async fn insert_hosts(tx: &mut sqlx::Transaction<'_, sqlx::Any>, ticket_id: i64, hosts: &[i64]) -> Result<()> {
    for host in hosts {
        sqlx::query("INSERT INTO ticket_hosts (ticket_id, host_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(ticket_id)
            .bind(host)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

async fn insert_events(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ticket_id: i64,
    events: &[NewTicketEvent],
) -> Result<()> {
    for event in events {
        sqlx::query(
            "INSERT INTO ticket_events (ticket_id, at, actor_id, kind, body, public) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(ticket_id)
        .bind(millis(event.at))
        .bind(event.actor_id)
        .bind(&event.kind)
        .bind(&event.body)
        .bind(i64::from(event.public))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
