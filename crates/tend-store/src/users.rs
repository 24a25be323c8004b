//! Users, their API tokens and browser sessions.
//!
//! Secrets (passwords, tokens, session ids) arrive here already hashed; the store never sees
//! them in clear.

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;
use tend_core::tenancy::{Principal, Role, SupportLevel};

use crate::{Error, Result, Scope, Store, changed_one, millis, timestamp};

#[derive(Debug, Clone, PartialEq)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub client_id: Option<i64>,
    pub disabled: bool,
}

impl UserRow {
    pub fn principal(&self) -> Principal {
        Principal { user_id: self.id, role: self.role, client_id: self.client_id }
    }
}

#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub client_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiTokenRow {
    pub id: i64,
    pub name: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    pub user: UserRow,
    pub csrf_token: String,
    pub expires_at: Timestamp,
}

/// How often `last_used_at` of a token is refreshed: a write per request would make every read
/// request a write.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

fn role_columns(role: Role) -> (&'static str, Option<&'static str>) {
    match role {
        Role::Admin => ("admin", None),
        Role::Technician(SupportLevel::L1) => ("technician", Some("L1")),
        Role::Technician(SupportLevel::L2) => ("technician", Some("L2")),
        Role::Technician(SupportLevel::L3) => ("technician", Some("L3")),
        Role::ClientAdmin => ("client_admin", None),
        Role::ClientUser => ("client_user", None),
    }
}

fn role_from_columns(role: &str, level: Option<&str>) -> Result<Role> {
    Ok(match (role, level) {
        ("admin", _) => Role::Admin,
        ("technician", Some("L1")) => Role::Technician(SupportLevel::L1),
        ("technician", Some("L2")) => Role::Technician(SupportLevel::L2),
        ("technician", Some("L3")) => Role::Technician(SupportLevel::L3),
        ("client_admin", _) => Role::ClientAdmin,
        ("client_user", _) => Role::ClientUser,
        _ => return Err(Error::Corrupt(format!("unknown role {role}/{level:?}"))),
    })
}

const USER_COLUMNS: &str = "u.id, u.username, u.password_hash, u.role, u.support_level, u.client_id, u.disabled";

fn user_row(row: &AnyRow) -> Result<UserRow> {
    let role: String = row.try_get("role")?;
    let level: Option<String> = row.try_get("support_level")?;
    Ok(UserRow {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        password_hash: row.try_get("password_hash")?,
        role: role_from_columns(&role, level.as_deref())?,
        client_id: row.try_get("client_id")?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
    })
}

impl Store {
    /// The caller has authorized the creation (see `tend_core::tenancy::authorize`).
    pub async fn create_user(&self, user: NewUser<'_>, now: Timestamp) -> Result<UserRow> {
        let (role, level) = role_columns(user.role);
        let id: i64 = sqlx::query(
            "INSERT INTO users (username, password_hash, role, support_level, client_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(user.username)
        .bind(user.password_hash)
        .bind(role)
        .bind(level)
        .bind(user.client_id)
        .bind(millis(now))
        .fetch_one(&self.write)
        .await
        .map_err(|e| Error::conflict_or(e, || format!("the user name '{}' is taken", user.username)))?
        .try_get("id")?;
        Ok(UserRow {
            id,
            username: user.username.to_owned(),
            password_hash: user.password_hash.to_owned(),
            role: user.role,
            client_id: user.client_id,
            disabled: false,
        })
    }

    pub async fn count_users(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM users").fetch_one(&self.read).await?.try_get("n")?)
    }

    /// For login: looks a user up by name before anyone is authenticated.
    pub async fn user_by_username(&self, username: &str) -> Result<Option<UserRow>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.username = $1");
        let row = sqlx::query(&sql).bind(username).fetch_optional(&self.read).await?;
        row.as_ref().map(user_row).transpose()
    }

    /// A user the caller may see.
    pub async fn user(&self, scope: Scope, id: i64) -> Result<UserRow> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1 AND (CAST($2 AS BIGINT) IS NULL OR u.client_id = $2)"
        );
        let row = sqlx::query(&sql).bind(id).bind(scope.client_filter()).fetch_optional(&self.read).await?;
        user_row(&row.ok_or(Error::NotFound("user"))?)
    }

    pub async fn list_users(&self, scope: Scope) -> Result<Vec<UserRow>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE (CAST($1 AS BIGINT) IS NULL OR u.client_id = $1) ORDER BY u.username"
        );
        let rows = sqlx::query(&sql).bind(scope.client_filter()).fetch_all(&self.read).await?;
        rows.iter().map(user_row).collect()
    }

    pub async fn create_api_token(&self, user_id: i64, name: &str, token_hash: &str, now: Timestamp) -> Result<i64> {
        Ok(sqlx::query(
            "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(user_id)
        .bind(name)
        .bind(token_hash)
        .bind(millis(now))
        .fetch_one(&self.write)
        .await?
        .try_get("id")?)
    }

    /// The enabled user behind a live API token, and the token's id.
    pub async fn user_by_api_token(&self, token_hash: &str, now: Timestamp) -> Result<Option<(UserRow, i64)>> {
        let sql = format!(
            "SELECT {USER_COLUMNS}, t.id AS token_id, t.last_used_at FROM api_tokens t \
             JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled = 0"
        );
        let Some(row) = sqlx::query(&sql).bind(token_hash).fetch_optional(&self.read).await? else {
            return Ok(None);
        };
        let token_id: i64 = row.try_get("token_id")?;
        let last_used: Option<i64> = row.try_get("last_used_at")?;
        if last_used.is_none_or(|at| millis(now) - at >= LAST_USED_RESOLUTION_MS) {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(millis(now))
                .bind(token_id)
                .execute(&self.write)
                .await?;
        }
        Ok(Some((user_row(&row)?, token_id)))
    }

    pub async fn list_api_tokens(&self, user_id: i64) -> Result<Vec<ApiTokenRow>> {
        let rows = sqlx::query(
            "SELECT id, name, created_at, last_used_at FROM api_tokens \
             WHERE user_id = $1 AND revoked_at IS NULL ORDER BY id",
        )
        .bind(user_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ApiTokenRow {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    created_at: timestamp(row.try_get("created_at")?)?,
                    last_used_at: row.try_get::<Option<i64>, _>("last_used_at")?.map(timestamp).transpose()?,
                })
            })
            .collect()
    }

    /// Revokes one of the user's own tokens.
    pub async fn revoke_api_token(&self, user_id: i64, token_id: i64, now: Timestamp) -> Result<()> {
        let done =
            sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
                .bind(millis(now))
                .bind(token_id)
                .bind(user_id)
                .execute(&self.write)
                .await?;
        changed_one(done, "API token")
    }

    pub async fn create_session(
        &self,
        user_id: i64,
        session_hash: &str,
        csrf_token: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (user_id, session_hash, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(user_id)
        .bind(session_hash)
        .bind(csrf_token)
        .bind(millis(now))
        .bind(millis(expires_at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn session(&self, session_hash: &str, now: Timestamp) -> Result<Option<SessionRow>> {
        let sql = format!(
            "SELECT {USER_COLUMNS}, s.csrf_token, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.session_hash = $1 AND s.expires_at > $2 AND u.disabled = 0"
        );
        let row = sqlx::query(&sql).bind(session_hash).bind(millis(now)).fetch_optional(&self.read).await?;
        row.map(|row| {
            Ok(SessionRow {
                user: user_row(&row)?,
                csrf_token: row.try_get("csrf_token")?,
                expires_at: timestamp(row.try_get("expires_at")?)?,
            })
        })
        .transpose()
    }

    /// Ends a session, and drops every expired one while at it.
    pub async fn delete_session(&self, session_hash: &str, now: Timestamp) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE session_hash = $1 OR expires_at <= $2")
            .bind(session_hash)
            .bind(millis(now))
            .execute(&self.write)
            .await?;
        Ok(())
    }
}
