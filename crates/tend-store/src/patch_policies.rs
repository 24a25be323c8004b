//! Patch policies per client, site or host, and when hosts were last patched.
//!
//! A policy's body is `tend_core::patching::PatchPolicy` as JSON; the store keeps the text and
//! must not judge it (the server validates before writing and decides which policy applies to
//! a host). The store does keep the targets honest: a site's or a host's policy is for a site or
//! host of the same client, and one object has at most one policy.

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Error, Result, Scope, Store, millis, timestamp};

/// A stored patch policy: the client's when neither `site_id` nor `host_id` is set.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPolicyRow {
    pub id: i64,
    pub client_id: i64,
    pub site_id: Option<i64>,
    pub host_id: Option<i64>,
    /// JSON `tend_core::patching::PatchPolicy`.
    pub body: String,
    pub updated_by: Option<i64>,
    pub updated_at: Timestamp,
}

const POLICY_COLUMNS: &str = "id, client_id, site_id, host_id, body, updated_by, updated_at";

fn policy_row(row: &AnyRow) -> Result<PatchPolicyRow> {
    Ok(PatchPolicyRow {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        site_id: row.try_get("site_id")?,
        host_id: row.try_get("host_id")?,
        body: row.try_get("body")?,
        updated_by: row.try_get("updated_by")?,
        updated_at: timestamp(row.try_get("updated_at")?)?,
    })
}

/// A refusal the API answers as an invalid field.
fn invalid(field: &'static str, reason: String) -> Error {
    Error::Refused(tend_core::Error::Invalid { field, reason })
}

impl Store {
    /// Sets the policy of `policy`'s client, site or host, replacing the one it had; `id` is
    /// ignored. Returns the stored row. A site or host the caller cannot see is not found; one
    /// of another client, or both at once, is refused.
    pub async fn set_patch_policy(&self, scope: Scope, policy: &PatchPolicyRow) -> Result<PatchPolicyRow> {
        self.client(scope, policy.client_id).await?;
        // `target` is what makes (client, object) unique: NULLs never clash in a UNIQUE key.
        let target = match (policy.site_id, policy.host_id) {
            (None, None) => "client".to_owned(),
            (Some(site_id), None) => {
                if self.site(scope, site_id).await?.client_id != policy.client_id {
                    return Err(invalid("site_id", format!("site {site_id} is not this client's")));
                }
                format!("site:{site_id}")
            }
            (None, Some(host_id)) => {
                if self.host(scope, host_id).await?.client_id != policy.client_id {
                    return Err(invalid("host_id", format!("host {host_id} is not this client's")));
                }
                format!("host:{host_id}")
            }
            (Some(_), Some(_)) => {
                return Err(invalid("host_id", "a policy is for a client, a site or a host: not both".into()));
            }
        };
        let sql = format!(
            "INSERT INTO patch_policies (client_id, site_id, host_id, target, body, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (client_id, target) DO UPDATE SET \
             body = excluded.body, updated_by = excluded.updated_by, updated_at = excluded.updated_at \
             RETURNING {POLICY_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(policy.client_id)
            .bind(policy.site_id)
            .bind(policy.host_id)
            .bind(target)
            .bind(&policy.body)
            .bind(policy.updated_by)
            .bind(millis(policy.updated_at))
            .fetch_one(&self.write)
            .await?;
        policy_row(&row)
    }

    /// A client's policies: its own first, then its sites', then its hosts', each by id.
    pub async fn patch_policies(&self, scope: Scope, client_id: i64) -> Result<Vec<PatchPolicyRow>> {
        self.client(scope, client_id).await?;
        let sql = format!(
            "SELECT {POLICY_COLUMNS} FROM patch_policies WHERE client_id = $1 \
             ORDER BY CASE WHEN host_id IS NOT NULL THEN 2 WHEN site_id IS NOT NULL THEN 1 ELSE 0 END, id"
        );
        let rows = sqlx::query(&sql).bind(client_id).fetch_all(&self.read).await?;
        rows.iter().map(policy_row).collect()
    }

    /// Deletes a policy the caller may see; returns what it was. Its client, site or host then
    /// follows the next policy up.
    pub async fn delete_patch_policy(&self, scope: Scope, id: i64) -> Result<PatchPolicyRow> {
        let sql = format!(
            "DELETE FROM patch_policies WHERE id = $1 AND (CAST($2 AS BIGINT) IS NULL OR client_id = $2) \
             RETURNING {POLICY_COLUMNS}"
        );
        let row = sqlx::query(&sql).bind(id).bind(scope.client_filter()).fetch_optional(&self.write).await?;
        policy_row(&row.ok_or(Error::NotFound("patch policy"))?)
    }

    /// When each host with an id in `after + 1 ..= through` (of `client_id` when given) last
    /// finished a job of `kind` successfully, as (host id, finished at), by host id. One query
    /// for a page of a host list, which is read in id order.
    pub async fn last_succeeded_jobs(
        &self,
        scope: Scope,
        kind: &str,
        client_id: Option<i64>,
        after: i64,
        through: i64,
    ) -> Result<Vec<(i64, Timestamp)>> {
        let rows = sqlx::query(
            "SELECT host_id, MAX(finished_at) AS finished_at FROM jobs WHERE kind = $1 AND status = 'succeeded' \
             AND finished_at IS NOT NULL AND host_id > $2 AND host_id <= $3 \
             AND (CAST($4 AS BIGINT) IS NULL OR client_id = $4) AND (CAST($5 AS BIGINT) IS NULL OR client_id = $5) \
             GROUP BY host_id ORDER BY host_id",
        )
        .bind(kind)
        .bind(after)
        .bind(through)
        .bind(scope.client_filter())
        .bind(client_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|row| Ok((row.try_get("host_id")?, timestamp(row.try_get("finished_at")?)?))).collect()
    }
}
