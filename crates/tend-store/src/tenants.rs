//! Clients (the provider's customer companies) and their sites.

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Error, Result, Scope, Store, millis, timestamp};

#[derive(Debug, Clone, PartialEq)]
pub struct ClientRow {
    pub id: i64,
    pub name: String,
    pub created_at: Timestamp,
    pub host_count: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SiteRow {
    pub id: i64,
    pub client_id: i64,
    pub name: String,
}

const CLIENT_COLUMNS: &str = "SELECT c.id, c.name, c.created_at, \
     (SELECT COUNT(*) FROM hosts h WHERE h.client_id = c.id) AS host_count FROM clients c";

fn client_row(row: &AnyRow) -> Result<ClientRow> {
    Ok(ClientRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        created_at: timestamp(row.try_get("created_at")?)?,
        host_count: row.try_get("host_count")?,
    })
}

fn site_row(row: &AnyRow) -> Result<SiteRow> {
    Ok(SiteRow { id: row.try_get("id")?, client_id: row.try_get("client_id")?, name: row.try_get("name")? })
}

impl Store {
    /// A page of clients ordered by id, after the client id `after`.
    pub async fn list_clients(&self, scope: Scope, after: i64, limit: u32) -> Result<Vec<ClientRow>> {
        let sql = format!(
            "{CLIENT_COLUMNS} WHERE (CAST($1 AS BIGINT) IS NULL OR c.id = $1) AND c.id > $2 ORDER BY c.id LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(scope.client_filter())
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(client_row).collect()
    }

    pub async fn client(&self, scope: Scope, id: i64) -> Result<ClientRow> {
        let sql = format!("{CLIENT_COLUMNS} WHERE c.id = $1 AND (CAST($2 AS BIGINT) IS NULL OR c.id = $2)");
        let row = sqlx::query(&sql).bind(id).bind(scope.client_filter()).fetch_optional(&self.read).await?;
        client_row(&row.ok_or(Error::NotFound("client"))?)
    }

    pub async fn client_by_name(&self, scope: Scope, name: &str) -> Result<ClientRow> {
        let sql = format!("{CLIENT_COLUMNS} WHERE c.name = $1 AND (CAST($2 AS BIGINT) IS NULL OR c.id = $2)");
        let row = sqlx::query(&sql).bind(name).bind(scope.client_filter()).fetch_optional(&self.read).await?;
        client_row(&row.ok_or(Error::NotFound("client"))?)
    }

    /// Creating clients is the provider's business; the caller has authorized it.
    pub async fn create_client(&self, name: &str, now: Timestamp) -> Result<ClientRow> {
        let id: i64 = sqlx::query("INSERT INTO clients (name, created_at) VALUES ($1, $2) RETURNING id")
            .bind(name)
            .bind(millis(now))
            .fetch_one(&self.write)
            .await
            .map_err(|e| Error::conflict_or(e, || format!("a client named '{name}' exists already")))?
            .try_get("id")?;
        Ok(ClientRow { id, name: name.to_owned(), created_at: now, host_count: 0 })
    }

    pub async fn list_sites(&self, scope: Scope, client_id: i64) -> Result<Vec<SiteRow>> {
        self.client(scope, client_id).await?;
        let rows = sqlx::query("SELECT id, client_id, name FROM sites WHERE client_id = $1 ORDER BY name")
            .bind(client_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(site_row).collect()
    }

    pub async fn site(&self, scope: Scope, id: i64) -> Result<SiteRow> {
        let row = sqlx::query(
            "SELECT id, client_id, name FROM sites WHERE id = $1 AND (CAST($2 AS BIGINT) IS NULL OR client_id = $2)",
        )
        .bind(id)
        .bind(scope.client_filter())
        .fetch_optional(&self.read)
        .await?;
        site_row(&row.ok_or(Error::NotFound("site"))?)
    }

    pub async fn create_site(&self, scope: Scope, client_id: i64, name: &str, now: Timestamp) -> Result<SiteRow> {
        self.client(scope, client_id).await?;
        let id: i64 = sqlx::query("INSERT INTO sites (client_id, name, created_at) VALUES ($1, $2, $3) RETURNING id")
            .bind(client_id)
            .bind(name)
            .bind(millis(now))
            .fetch_one(&self.write)
            .await
            .map_err(|e| Error::conflict_or(e, || format!("the client has a site named '{name}' already")))?
            .try_get("id")?;
        Ok(SiteRow { id, client_id, name: name.to_owned() })
    }
}
