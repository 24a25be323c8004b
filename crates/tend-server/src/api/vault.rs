//! The credential vault over HTTP: customers and staff hand over access credentials for a host,
//! anyone who sees the host lists them (never their secrets), and the technician assigned to an
//! open ticket on the host reveals one, giving a reason. Also the audit trail, read-only.
//!
//! Every reveal attempt, allowed or refused, is audited before the answer leaves, and an allowed
//! reveal whose audit entry cannot be written is not answered. Secrets never reach a log line,
//! an error message or the audit log; sealing and the reveal rule are `crate::vault`'s.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;
use tend_core::desk::TicketStatus;
use tend_core::tenancy::validate_name;
use tend_proto::api::{AuditEntry, Credential, NewCredential, Problem, RevealRequest, RevealedCredential};
use tend_store::{HostRow, VaultCredentialRow};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::convert::timestamp_text;
use super::created;
use crate::auth::Caller;
use crate::error::{problem, problem_response};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::vault::{Binding, MAX_SECRET_BYTES, may_reveal};
use crate::{AppState, Error};

/// The kinds of credential the vault knows.
const KINDS: [&str; 5] = ["password", "ssh_key", "ipmi", "kvm", "other"];
/// Longest reason for a reveal: a sentence or two, with a ticket reference.
const MAX_REASON_CHARS: usize = 1000;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_credentials, create_credential))
        .routes(routes!(reveal_credential))
        .routes(routes!(list_audit))
}

fn credential(row: &VaultCredentialRow) -> Credential {
    Credential {
        id: row.id,
        client_id: row.client_id,
        host_id: row.host_id,
        ticket_id: row.ticket_id,
        name: row.name.clone(),
        kind: row.kind.clone(),
        username: row.username.clone(),
        created_by: row.created_by,
        created_at: timestamp_text(row.created_at),
        purged_at: row.purged_at.map(timestamp_text),
    }
}

/// A host's credentials, purged ones included; never their secrets.
#[utoipa::path(get, path = "/api/v1/hosts/{id}/credentials", tag = "vault", security(("token" = [])),
    params(("id" = i64, Path, description = "Host id")),
    responses((status = 200, body = Vec<Credential>), (status = 404, body = Problem)))]
async fn list_credentials(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(host_id): ApiPath<i64>,
) -> Result<Json<Vec<Credential>>, Error> {
    let rows = state.store.credentials_of_host(caller.scope(), host_id).await?;
    Ok(Json(rows.iter().map(credential).collect()))
}

/// Hand over an access credential for a host (staff, or the host's client's users). The secret
/// is sealed at once; only a technician assigned to an open ticket on the host can reveal it.
#[utoipa::path(post, path = "/api/v1/hosts/{id}/credentials", tag = "vault", security(("token" = [])),
    params(("id" = i64, Path, description = "Host id")), request_body = NewCredential,
    responses((status = 201, body = Credential), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn create_credential(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(host_id): ApiPath<i64>,
    ApiJson(new): ApiJson<NewCredential>,
) -> Result<Response, Error> {
    let host = state.store.host(caller.scope(), host_id).await?;
    let name = validate_name("name", &new.name)?.to_owned();
    if !KINDS.contains(&new.kind.as_str()) {
        return Err(Error::invalid_field("kind", format!("expected one of {}", KINDS.join(", "))));
    }
    let username = if new.username.trim().is_empty() {
        String::new()
    } else {
        validate_name("username", &new.username)?.to_owned()
    };
    check_secret(&new.secret)?;
    if let Some(ticket_id) = new.ticket_id {
        check_ticket(&state, &caller, &host, ticket_id).await?;
    }
    let sealed = state.vault.key()?.seal(Binding { host_id, name: &name }, &new.secret)?;
    let row = VaultCredentialRow {
        id: 0,
        client_id: host.client_id,
        host_id,
        ticket_id: new.ticket_id,
        name,
        kind: new.kind,
        username,
        sealed,
        created_by: Some(caller.user.id),
        created_at: Timestamp::now(),
        purged_at: None,
    };
    let stored = state.store.create_credential(caller.scope(), &row, row.created_at).await?;
    let detail = format!("credential {} '{}' ({}) stored", stored.id, stored.name, stored.kind);
    audit(&state, &caller, Some(&stored), stored.ticket_id, "vault.store", "allowed", detail).await?;
    tracing::info!(user = %caller.user.username, host = host_id, credential = stored.id, "stored a vault credential");
    Ok(created(credential(&stored)))
}

/// Empty secrets are mistakes; huge ones are not credentials. The refusal names the limit, never
/// the content.
fn check_secret(secret: &str) -> Result<(), Error> {
    if secret.trim().is_empty() {
        return Err(Error::invalid_field("secret", "must not be empty"));
    }
    if secret.len() > MAX_SECRET_BYTES {
        return Err(Error::invalid_field("secret", format!("must be at most {MAX_SECRET_BYTES} bytes")));
    }
    Ok(())
}

/// A credential given for a ticket is purged when the ticket closes: the ticket must be the
/// host's client's and still open.
async fn check_ticket(state: &AppState, caller: &Caller, host: &HostRow, ticket_id: i64) -> Result<(), Error> {
    let ticket = state.store.ticket(caller.scope(), ticket_id).await?;
    if ticket.client_id != host.client_id {
        return Err(Error::invalid_field("ticket_id", format!("ticket {ticket_id} is not of this host's client")));
    }
    if [TicketStatus::Resolved.as_str(), TicketStatus::Closed.as_str()].contains(&ticket.status.as_str()) {
        return Err(Error::invalid_field("ticket_id", format!("ticket {ticket_id} is {}", ticket.status)));
    }
    Ok(())
}

/// Reveal a credential's secret: only to the technician (or administrator) assigned to an open
/// ticket on its host, with a reason. Every attempt, allowed or refused, is audited.
#[utoipa::path(post, path = "/api/v1/credentials/{id}/reveal", tag = "vault", security(("token" = [])),
    params(("id" = i64, Path, description = "Credential id")), request_body = RevealRequest,
    responses((status = 200, body = RevealedCredential), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 410, body = Problem), (status = 422, body = Problem)))]
async fn reveal_credential(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<RevealRequest>,
) -> Result<Response, Error> {
    let reason: String = request.reason.trim().chars().take(MAX_REASON_CHARS).collect();
    let row = match state.store.credential(caller.scope(), id).await {
        Ok(row) => row,
        Err(tend_store::Error::NotFound(_)) => {
            // Recorded without client or host: another client's credential must not leak to
            // them through their audit log, nor its existence to the caller.
            let detail = reveal_detail(id, None, Some("not found"), &reason);
            audit(&state, &caller, None, None, "vault.reveal", "refused", detail).await?;
            return Err(Error::NotFound(format!("credential {id} not found")));
        }
        Err(e) => return Err(e.into()),
    };
    let refuse = |why: &str| reveal_detail(id, Some(&row.name), Some(why), &reason);
    if row.purged_at.is_some() {
        let why = "it was purged when its ticket closed; ask the customer to give it again";
        audit(&state, &caller, Some(&row), row.ticket_id, "vault.reveal", "refused", refuse(why)).await?;
        let detail = format!("credential {id}: {why}");
        return Ok(problem_response(problem(StatusCode::GONE, "gone", "Gone", detail, None)));
    }
    if reason.is_empty() {
        audit(&state, &caller, Some(&row), None, "vault.reveal", "refused", refuse("no reason given")).await?;
        return Err(Error::invalid_field("reason", "say why you need the secret: it is written to the audit log"));
    }
    let principal = caller.principal();
    let assigned = if principal.role.is_staff() {
        state.store.assigned_open_ticket(principal.user_id, row.host_id, row.ticket_id).await?
    } else {
        None
    };
    let ticket = match may_reveal(principal.role, assigned) {
        Ok(ticket) => ticket,
        Err(why) => {
            audit(&state, &caller, Some(&row), None, "vault.reveal", "refused", refuse(why)).await?;
            tracing::warn!(user = %caller.user.username, credential = id, host = row.host_id, why, "reveal refused");
            return Err(tend_core::Error::Forbidden(why).into());
        }
    };
    let secret = match state.vault.key()?.open(Binding::of(&row), &row.sealed) {
        Ok(secret) => secret,
        Err(e) => {
            let why = "the sealed text does not open with this server's vault key";
            audit(&state, &caller, Some(&row), Some(ticket), "vault.reveal", "failed", refuse(why)).await?;
            return Err(e);
        }
    };
    let detail = reveal_detail(id, Some(&row.name), None, &reason);
    audit(&state, &caller, Some(&row), Some(ticket), "vault.reveal", "allowed", detail).await?;
    tracing::info!(user = %caller.user.username, credential = id, host = row.host_id, ticket, "revealed a credential");
    let revealed =
        RevealedCredential { credential: credential(&row), secret: secret.into_exposed(), ticket_id: ticket };
    Ok(Json(revealed).into_response())
}

/// What the audit log says of a reveal: which credential, the refusal if any, the reason given.
fn reveal_detail(id: i64, name: Option<&str>, refusal: Option<&str>, reason: &str) -> String {
    let what = match name {
        Some(name) => format!("credential {id} '{name}'"),
        None => format!("credential {id}"),
    };
    let reason = if reason.is_empty() { "(none)" } else { reason };
    match refusal {
        Some(why) => format!("{what}: {why}; reason given: {reason}"),
        None => format!("{what}; reason given: {reason}"),
    }
}

async fn audit(
    state: &AppState,
    caller: &Caller,
    row: Option<&VaultCredentialRow>,
    ticket_id: Option<i64>,
    action: &str,
    outcome: &str,
    detail: String,
) -> Result<(), Error> {
    let entry = tend_store::AuditEntry {
        id: 0,
        at: Timestamp::now(),
        actor_id: Some(caller.user.id),
        client_id: row.map(|r| r.client_id),
        host_id: row.map(|r| r.host_id),
        ticket_id,
        action: action.into(),
        outcome: outcome.into(),
        detail,
    };
    state.store.audit(&entry).await?;
    Ok(())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditFilter {
    /// Only this host's entries.
    host: Option<i64>,
    /// Newest entries to return, 1 to 1000; default 100.
    limit: Option<u32>,
}

/// The audit trail the caller may see (a client's users: their own client's), newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "vault", security(("token" = [])), params(AuditFilter),
    responses((status = 200, body = Vec<AuditEntry>), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn list_audit(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(filter): ApiQuery<AuditFilter>,
) -> Result<Json<Vec<AuditEntry>>, Error> {
    let limit = super::limit(filter.limit)?;
    if let Some(host) = filter.host {
        state.store.host(caller.scope(), host).await?;
    }
    let entries = state.store.audit_entries(caller.scope(), filter.host, limit).await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|e| AuditEntry {
                id: e.id,
                at: timestamp_text(e.at),
                actor_id: e.actor_id,
                client_id: e.client_id,
                host_id: e.host_id,
                ticket_id: e.ticket_id,
                action: e.action,
                outcome: e.outcome,
                detail: e.detail,
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_input_checks_refuse_empty_and_oversized_secrets_without_echoing_them() {
        assert!(check_secret("hunter2").is_ok());
        assert!(check_secret(&"x".repeat(MAX_SECRET_BYTES)).is_ok());
        for bad in [String::new(), "  \n".into()] {
            assert!(check_secret(&bad).is_err(), "{bad:?}");
        }
        // An oversized secret is refused without quoting any of it.
        let oversized = format!("hunter2{}", "y".repeat(MAX_SECRET_BYTES));
        let refused = check_secret(&oversized).unwrap_err().to_string();
        assert!(!refused.contains("hunter2") && !refused.contains("yyyy"), "{refused}");
    }

    #[test]
    fn seal_reveal_details_name_the_credential_and_the_reason() {
        assert_eq!(
            reveal_detail(3, Some("root"), Some("you are not assigned"), "disk swap"),
            "credential 3 'root': you are not assigned; reason given: disk swap"
        );
        assert_eq!(reveal_detail(3, None, Some("not found"), ""), "credential 3: not found; reason given: (none)");
        assert_eq!(reveal_detail(3, Some("root"), None, "T-12"), "credential 3 'root'; reason given: T-12");
    }
}
