//! Patch management's rows: the advisories tend knows, and the mitigations technicians record
//! against flaws that have no fix yet.
//!
//! Advisories are the world's, not a tenant's: every host is matched against the same ones, so
//! their methods take no scope. Their `body` is the domain's `Advisory` as JSON; the server
//! parses it, keeps when tend first learned of each advisory across refreshes
//! (`Advisory::refreshed`) and filters by release. The store only keeps the text and must not
//! judge it. Mitigations are a client's, scoped like every tenant row.

use jiff::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{Acquire, Row};

use crate::{Error, Result, Scope, Store, changed_one, millis, timestamp};

/// One stored advisory.
#[derive(Debug, Clone, PartialEq)]
pub struct AdvisoryRow {
    pub id: String,
    /// The format it was read from: `osv` or `debian_tracker`.
    pub source: String,
    /// JSON `tend_core::patching::Advisory`.
    pub body: String,
    /// When tend first learned of it (the body's own `learned_at`, kept in a column for sorting).
    pub learned_at: Timestamp,
    /// When it was last written.
    pub updated_at: Timestamp,
}

/// What one import changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AdvisoryChanges {
    pub added: u64,
    pub updated: u64,
    pub withdrawn: u64,
}

/// A mitigation: what was done instead of a fix, for one host or every host of a client.
#[derive(Debug, Clone, PartialEq)]
pub struct MitigationRow {
    pub id: i64,
    pub client_id: i64,
    /// `None`: every host of the client.
    pub host_id: Option<i64>,
    /// The advisory's id or any of its aliases.
    pub advisory_id: String,
    /// `feature_disabled`, `service_stopped`, `firewall_rule`, `migration_planned` or `other`.
    pub kind: String,
    pub description: String,
    pub owner: String,
    pub review_at: Timestamp,
    pub created_by: Option<i64>,
    pub created_at: Timestamp,
}

const ADVISORY_COLUMNS: &str = "id, source, body, learned_at, updated_at";
const MITIGATION_COLUMNS: &str =
    "id, client_id, host_id, advisory_id, kind, description, owner, review_at, created_by, created_at";
/// Ids per `IN (...)` list: well under both engines' limits on bound parameters.
const IDS_PER_QUERY: usize = 500;

fn advisory_row(row: &AnyRow) -> Result<AdvisoryRow> {
    Ok(AdvisoryRow {
        id: row.try_get("id")?,
        source: row.try_get("source")?,
        body: row.try_get("body")?,
        learned_at: timestamp(row.try_get("learned_at")?)?,
        updated_at: timestamp(row.try_get("updated_at")?)?,
    })
}

fn mitigation_row(row: &AnyRow) -> Result<MitigationRow> {
    Ok(MitigationRow {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        host_id: row.try_get("host_id")?,
        advisory_id: row.try_get("advisory_id")?,
        kind: row.try_get("kind")?,
        description: row.try_get("description")?,
        owner: row.try_get("owner")?,
        review_at: timestamp(row.try_get("review_at")?)?,
        created_by: row.try_get("created_by")?,
        created_at: timestamp(row.try_get("created_at")?)?,
    })
}

/// `$first, $first+1, ...` for `count` parameters.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

impl Store {
    /// Writes `advisories` (inserted, or replacing the stored ones of the same id) and deletes
    /// the `withdrawn` ids, in one transaction: an import lands whole or not at all. Each row's
    /// `updated_at` is set to `now`; its `learned_at` is written as given.
    pub async fn upsert_advisories(
        &self,
        advisories: &[AdvisoryRow],
        withdrawn: &[String],
        now: Timestamp,
    ) -> Result<AdvisoryChanges> {
        let mut conn = self.write.acquire().await?;
        let mut tx = conn.begin().await?;
        let mut changes = AdvisoryChanges::default();
        for advisory in advisories {
            let known = sqlx::query("SELECT 1 AS one FROM advisories WHERE id = $1")
                .bind(&advisory.id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            sqlx::query(
                "INSERT INTO advisories (id, source, body, learned_at, updated_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (id) DO UPDATE SET source = excluded.source, body = excluded.body, \
                 learned_at = excluded.learned_at, updated_at = excluded.updated_at",
            )
            .bind(&advisory.id)
            .bind(&advisory.source)
            .bind(&advisory.body)
            .bind(millis(advisory.learned_at))
            .bind(millis(now))
            .execute(&mut *tx)
            .await?;
            if known {
                changes.updated += 1;
            } else {
                changes.added += 1;
            }
        }
        for id in withdrawn {
            let done = sqlx::query("DELETE FROM advisories WHERE id = $1").bind(id).execute(&mut *tx).await?;
            changes.withdrawn += done.rows_affected();
        }
        tx.commit().await?;
        Ok(changes)
    }

    /// Every stored advisory, by id.
    pub async fn list_advisories(&self) -> Result<Vec<AdvisoryRow>> {
        let sql = format!("SELECT {ADVISORY_COLUMNS} FROM advisories ORDER BY id");
        let rows = sqlx::query(&sql).fetch_all(&self.read).await?;
        rows.iter().map(advisory_row).collect()
    }

    /// The stored advisories among `ids`, by id; unknown ids are left out.
    pub async fn advisories_by_id(&self, ids: &[String]) -> Result<Vec<AdvisoryRow>> {
        let mut found = Vec::new();
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let sql =
                format!("SELECT {ADVISORY_COLUMNS} FROM advisories WHERE id IN ({})", placeholders(1, chunk.len()));
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.read).await? {
                found.push(advisory_row(&row)?);
            }
        }
        found.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(found)
    }

    /// Records a mitigation for a client the caller may see; `row.id` and `row.created_at` are
    /// ignored. A host, when named, must be the client's.
    pub async fn create_mitigation(&self, scope: Scope, row: &MitigationRow, now: Timestamp) -> Result<MitigationRow> {
        self.client(scope, row.client_id).await?;
        if let Some(host_id) = row.host_id
            && self.host(scope, host_id).await?.client_id != row.client_id
        {
            return Err(Error::NotFound("host"));
        }
        let id: i64 = sqlx::query(
            "INSERT INTO mitigations (client_id, host_id, advisory_id, kind, description, owner, review_at, \
             created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(row.client_id)
        .bind(row.host_id)
        .bind(&row.advisory_id)
        .bind(&row.kind)
        .bind(&row.description)
        .bind(&row.owner)
        .bind(millis(row.review_at))
        .bind(row.created_by)
        .bind(millis(now))
        .fetch_one(&self.write)
        .await?
        .try_get("id")?;
        // As read back: the database keeps milliseconds.
        let (review_at, created_at) = (timestamp(millis(row.review_at))?, timestamp(millis(now))?);
        Ok(MitigationRow { id, review_at, created_at, ..row.clone() })
    }

    /// The mitigations the caller may see, optionally of one client, newest first.
    pub async fn list_mitigations(&self, scope: Scope, client_id: Option<i64>) -> Result<Vec<MitigationRow>> {
        let sql = format!(
            "SELECT {MITIGATION_COLUMNS} FROM mitigations WHERE (CAST($1 AS BIGINT) IS NULL OR client_id = $1) \
             AND (CAST($2 AS BIGINT) IS NULL OR client_id = $2) ORDER BY id DESC"
        );
        let rows = sqlx::query(&sql).bind(scope.client_filter()).bind(client_id).fetch_all(&self.read).await?;
        rows.iter().map(mitigation_row).collect()
    }

    /// One mitigation the caller may see.
    pub async fn mitigation(&self, scope: Scope, id: i64) -> Result<MitigationRow> {
        let sql = format!(
            "SELECT {MITIGATION_COLUMNS} FROM mitigations WHERE id = $1 \
             AND (CAST($2 AS BIGINT) IS NULL OR client_id = $2)"
        );
        let row = sqlx::query(&sql).bind(id).bind(scope.client_filter()).fetch_optional(&self.read).await?;
        mitigation_row(&row.ok_or(Error::NotFound("mitigation"))?)
    }

    /// Deletes a mitigation the caller may see.
    pub async fn delete_mitigation(&self, scope: Scope, id: i64) -> Result<()> {
        let done =
            sqlx::query("DELETE FROM mitigations WHERE id = $1 AND (CAST($2 AS BIGINT) IS NULL OR client_id = $2)")
                .bind(id)
                .bind(scope.client_filter())
                .execute(&self.write)
                .await?;
        changed_one(done, "mitigation")
    }
}
