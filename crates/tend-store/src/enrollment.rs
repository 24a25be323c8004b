//! Enrollment tokens and agents: how a machine joins a client and proves who it is later.

use jiff::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{Acquire, Row};
use tend_core::enrollment::{self, Refusal, TokenState};

use crate::{Error, Result, Scope, Store, changed_one, millis, timestamp};

#[derive(Debug, Clone)]
pub struct NewEnrollmentToken<'a> {
    pub client_id: i64,
    pub site_id: Option<i64>,
    pub token_hash: &'a str,
    pub created_by: Option<i64>,
    pub expires_at: Timestamp,
    pub uses: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnrollmentTokenRow {
    pub id: i64,
    pub client_id: i64,
    pub site_id: Option<i64>,
    pub expires_at: Timestamp,
    pub uses_allowed: u32,
    pub uses_left: u32,
    pub revoked: bool,
}

/// The outcome of a successful enrollment.
#[derive(Debug, Clone, PartialEq)]
pub struct Enrolled {
    pub agent_id: i64,
    pub host_id: i64,
    pub report_interval_secs: u32,
}

/// An authenticated agent, as the ingest path sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentIdentity {
    pub agent_id: i64,
    pub host_id: i64,
    pub client_id: i64,
    pub report_interval_secs: u32,
    pub revoked: bool,
}

/// Until per-client settings exist, every host reports once a minute.
pub const DEFAULT_REPORT_INTERVAL_SECS: u32 = 60;

const TOKEN_COLUMNS: &str = "id, client_id, site_id, expires_at, uses_allowed, uses_left, revoked_at";

fn token_row(row: &AnyRow) -> Result<EnrollmentTokenRow> {
    Ok(EnrollmentTokenRow {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        site_id: row.try_get("site_id")?,
        expires_at: timestamp(row.try_get("expires_at")?)?,
        uses_allowed: count(row.try_get("uses_allowed")?)?,
        uses_left: count(row.try_get("uses_left")?)?,
        revoked: row.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
    })
}

fn count(value: i64) -> Result<u32> {
    u32::try_from(value).map_err(|_| Error::Corrupt(format!("count {value} out of range")))
}

/// Which hostname a new host row gets, and whether an existing host of the same machine is
/// taken over: a re-installed agent keeps the machine's history.
struct Machine<'a> {
    hostname: &'a str,
    machine_id: Option<&'a str>,
}

impl Store {
    pub async fn create_enrollment_token(
        &self,
        scope: Scope,
        token: NewEnrollmentToken<'_>,
        now: Timestamp,
    ) -> Result<EnrollmentTokenRow> {
        self.client(scope, token.client_id).await?;
        if let Some(site_id) = token.site_id
            && self.site(scope, site_id).await?.client_id != token.client_id
        {
            return Err(Error::NotFound("site"));
        }
        let id: i64 = sqlx::query(
            "INSERT INTO enrollment_tokens \
             (client_id, site_id, token_hash, created_by, created_at, expires_at, uses_allowed, uses_left) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        )
        .bind(token.client_id)
        .bind(token.site_id)
        .bind(token.token_hash)
        .bind(token.created_by)
        .bind(millis(now))
        .bind(millis(token.expires_at))
        .bind(i64::from(token.uses))
        .fetch_one(&self.write)
        .await?
        .try_get("id")?;
        Ok(EnrollmentTokenRow {
            id,
            client_id: token.client_id,
            site_id: token.site_id,
            expires_at: token.expires_at,
            uses_allowed: token.uses,
            uses_left: token.uses,
            revoked: false,
        })
    }

    pub async fn list_enrollment_tokens(&self, scope: Scope) -> Result<Vec<EnrollmentTokenRow>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM enrollment_tokens \
             WHERE (CAST($1 AS BIGINT) IS NULL OR client_id = $1) ORDER BY id"
        );
        let rows = sqlx::query(&sql).bind(scope.client_filter()).fetch_all(&self.read).await?;
        rows.iter().map(token_row).collect()
    }

    pub async fn revoke_enrollment_token(&self, scope: Scope, id: i64, now: Timestamp) -> Result<()> {
        changed_one(
            sqlx::query(
                "UPDATE enrollment_tokens SET revoked_at = $1 \
             WHERE id = $2 AND revoked_at IS NULL AND (CAST($3 AS BIGINT) IS NULL OR client_id = $3)",
            )
            .bind(millis(now))
            .bind(id)
            .bind(scope.client_filter())
            .execute(&self.write)
            .await?,
            "enrollment token",
        )
    }

    /// Spends one use of the token and registers the agent, in one transaction: two machines
    /// racing for the last use cannot both win.
    pub async fn enroll_agent(
        &self,
        token_hash: &str,
        hostname: &str,
        machine_id: Option<&str>,
        credential_hash: &str,
        now: Timestamp,
    ) -> Result<Enrolled> {
        let mut conn = self.write.acquire().await?;
        let mut tx = conn.begin().await?;
        let spent = sqlx::query(
            "UPDATE enrollment_tokens SET uses_left = uses_left - 1 \
             WHERE token_hash = $1 AND uses_left > 0 AND revoked_at IS NULL AND expires_at > $2 \
             RETURNING id, client_id, site_id",
        )
        .bind(token_hash)
        .bind(millis(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(spent) = spent else {
            return Err(refusal(&mut tx, token_hash, now).await);
        };
        let token_id: i64 = spent.try_get("id")?;
        let client_id: i64 = spent.try_get("client_id")?;
        let site_id: Option<i64> = spent.try_get("site_id")?;
        let machine = Machine { hostname, machine_id };
        let host_id = host_for_machine(&mut tx, client_id, site_id, &machine, now).await?;
        // One live agent per host: a re-enrolled machine's old credential stops working.
        sqlx::query("UPDATE agents SET revoked_at = $1 WHERE host_id = $2 AND revoked_at IS NULL")
            .bind(millis(now))
            .bind(host_id)
            .execute(&mut *tx)
            .await?;
        let agent_id: i64 = sqlx::query(
            "INSERT INTO agents (host_id, credential_hash, enrollment_token_id, enrolled_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(host_id)
        .bind(credential_hash)
        .bind(token_id)
        .bind(millis(now))
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        tx.commit().await?;
        Ok(Enrolled { agent_id, host_id, report_interval_secs: DEFAULT_REPORT_INTERVAL_SECS })
    }

    /// The agent a credential belongs to, revoked or not (the caller answers 401 either way,
    /// but logs the difference).
    pub async fn agent_by_credential(&self, credential_hash: &str) -> Result<Option<AgentIdentity>> {
        let row = sqlx::query(
            "SELECT a.id, a.host_id, a.revoked_at, h.client_id, h.report_interval_secs \
             FROM agents a JOIN hosts h ON h.id = a.host_id WHERE a.credential_hash = $1",
        )
        .bind(credential_hash)
        .fetch_optional(&self.read)
        .await?;
        row.map(|row| {
            Ok(AgentIdentity {
                agent_id: row.try_get("id")?,
                host_id: row.try_get("host_id")?,
                client_id: row.try_get("client_id")?,
                report_interval_secs: count(row.try_get("report_interval_secs")?)?,
                revoked: row.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
            })
        })
        .transpose()
    }

    /// The client an agent the caller may see belongs to.
    pub async fn agent_client(&self, scope: Scope, agent_id: i64) -> Result<i64> {
        let row = sqlx::query(
            "SELECT h.client_id FROM agents a JOIN hosts h ON h.id = a.host_id \
             WHERE a.id = $1 AND (CAST($2 AS BIGINT) IS NULL OR h.client_id = $2)",
        )
        .bind(agent_id)
        .bind(scope.client_filter())
        .fetch_optional(&self.read)
        .await?;
        Ok(row.ok_or(Error::NotFound("agent"))?.try_get("client_id")?)
    }

    /// Revokes the host's live agent; its next request is refused.
    pub async fn revoke_agent(&self, scope: Scope, agent_id: i64, now: Timestamp) -> Result<()> {
        changed_one(
            sqlx::query(
                "UPDATE agents SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL AND host_id IN \
             (SELECT id FROM hosts WHERE CAST($3 AS BIGINT) IS NULL OR client_id = $3)",
            )
            .bind(millis(now))
            .bind(agent_id)
            .bind(scope.client_filter())
            .execute(&self.write)
            .await?,
            "agent",
        )
    }
}

/// Why a token could not be spent, named by the domain rule.
async fn refusal(tx: &mut sqlx::Transaction<'_, sqlx::Any>, token_hash: &str, now: Timestamp) -> Error {
    let found = sqlx::query("SELECT expires_at, uses_left, revoked_at FROM enrollment_tokens WHERE token_hash = $1")
        .bind(token_hash)
        .fetch_optional(&mut **tx)
        .await;
    let row = match found {
        Ok(Some(row)) => row,
        Ok(None) => return Error::Refused(tend_core::Error::EnrollmentRefused(Refusal::Unknown)),
        Err(e) => return Error::Database(e),
    };
    let state = (|| -> Result<TokenState> {
        Ok(TokenState {
            expires_at: timestamp(row.try_get("expires_at")?)?,
            uses_left: count(row.try_get("uses_left")?)?,
            revoked: row.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
        })
    })();
    match state.map(|state| enrollment::check(&state, now)) {
        Ok(Err(refused)) => Error::Refused(refused),
        Ok(Ok(())) => Error::Conflict("the enrollment token changed during enrollment; try again".into()),
        Err(e) => e,
    }
}

async fn host_for_machine(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    client_id: i64,
    site_id: Option<i64>,
    machine: &Machine<'_>,
    now: Timestamp,
) -> Result<i64> {
    if let Some(machine_id) = machine.machine_id {
        let existing = sqlx::query("SELECT id FROM hosts WHERE client_id = $1 AND machine_id = $2")
            .bind(client_id)
            .bind(machine_id)
            .fetch_optional(&mut **tx)
            .await?;
        if let Some(row) = existing {
            return Ok(row.try_get("id")?);
        }
    }
    Ok(sqlx::query(
        "INSERT INTO hosts (client_id, site_id, hostname, machine_id, created_at, report_interval_secs) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(client_id)
    .bind(site_id)
    .bind(machine.hostname)
    .bind(machine.machine_id)
    .bind(millis(now))
    .bind(i64::from(DEFAULT_REPORT_INTERVAL_SECS))
    .fetch_one(&mut **tx)
    .await?
    .try_get("id")?)
}
