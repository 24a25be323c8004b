//! Patch policies over HTTP: a client's, its sites' and its hosts' stored policies, setting and
//! clearing them (the provider's staff), and the policy in force for a host with where it comes
//! from. The rules are `tend_core::patching`'s, which policy applies `crate::patching::policy`'s;
//! this module checks callers and converts between the wire and the domain.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::{SignedDuration, Timestamp};
use tend_core::patching::{Hold, PatchPolicy};
use tend_proto::api::Problem;
use tend_proto::patching::{EffectivePatchPolicy, HoldView, PatchPolicyEntry, PatchPolicyView, SetPatchPolicy};
use tend_store::PatchPolicyRow;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::convert::timestamp_text;
use super::patching::require_staff;
use crate::auth::Caller;
use crate::extract::{ApiJson, ApiPath};
use crate::patching::policy::{self, REBOOT_POLICIES, read_body, reboot_name};
use crate::{AppState, Error};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_policies))
        .routes(routes!(set_policy))
        .routes(routes!(clear_policy))
        .routes(routes!(host_policy))
}

/// A policy as the API writes it.
fn view(policy: &PatchPolicy) -> PatchPolicyView {
    PatchPolicyView {
        security_promise_secs: policy.security_promise.as_secs(),
        holds: policy
            .holds
            .iter()
            .map(|hold| HoldView {
                package: hold.package.clone(),
                until: hold.until.map(timestamp_text),
                reason: hold.reason.clone(),
            })
            .collect(),
        reboot: reboot_name(policy.reboot).to_owned(),
        health_gate_secs: policy.health_gate.as_secs(),
        auto_security_rollouts: policy.auto_security_rollouts,
    }
}

/// A policy as the API reads it; the values are the domain's to judge (`validate`).
fn domain(view: &PatchPolicyView) -> Result<PatchPolicy, Error> {
    let reboot = REBOOT_POLICIES.into_iter().find(|r| reboot_name(*r) == view.reboot).ok_or_else(|| {
        Error::invalid_field("reboot", format!("{:?}: expected never, in_window or ask", view.reboot))
    })?;
    let holds = view
        .holds
        .iter()
        .map(|hold| {
            let until = hold
                .until
                .as_deref()
                .map(|until| {
                    until.parse::<Timestamp>().map_err(|e| {
                        Error::invalid_field("hold.until", format!("{until:?}: expected an RFC 3339 time: {e}"))
                    })
                })
                .transpose()?;
            Ok(Hold { package: hold.package.trim().to_owned(), until, reason: hold.reason.trim().to_owned() })
        })
        .collect::<Result<_, Error>>()?;
    Ok(PatchPolicy {
        security_promise: SignedDuration::from_secs(view.security_promise_secs),
        holds,
        reboot,
        health_gate: SignedDuration::from_secs(view.health_gate_secs),
        auto_security_rollouts: view.auto_security_rollouts,
    })
}

fn entry(row: &PatchPolicyRow) -> Result<PatchPolicyEntry, Error> {
    Ok(PatchPolicyEntry {
        id: row.id,
        client_id: row.client_id,
        site_id: row.site_id,
        host_id: row.host_id,
        policy: view(&read_body(&row.body)?),
        updated_by: row.updated_by,
        updated_at: timestamp_text(row.updated_at),
    })
}

/// A client's stored patch policies: its own, its sites' and its hosts', each replacing the one
/// above it for the hosts it covers. The client's users may read their own.
#[utoipa::path(get, path = "/api/v1/clients/{id}/patch-policies", tag = "patching", security(("token" = [])),
    params(("id" = i64, Path, description = "Client id")),
    responses((status = 200, body = Vec<PatchPolicyEntry>), (status = 404, body = Problem)))]
async fn list_policies(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(client_id): ApiPath<i64>,
) -> Result<Json<Vec<PatchPolicyEntry>>, Error> {
    let rows = state.store.patch_policies(caller.scope(), client_id).await?;
    Ok(Json(rows.iter().map(entry).collect::<Result<_, _>>()?))
}

/// Set the patch policy of a client, or of one of its sites or hosts (staff), replacing the one
/// it had. Fields left out take their defaults; the policy replaces the client's (or the site's)
/// as a whole for the hosts it covers. Audited as `patch_policy.set`.
#[utoipa::path(put, path = "/api/v1/clients/{id}/patch-policy", tag = "patching", security(("token" = [])),
    params(("id" = i64, Path, description = "Client id")), request_body = SetPatchPolicy,
    responses((status = 200, body = PatchPolicyEntry), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn set_policy(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(client_id): ApiPath<i64>,
    ApiJson(body): ApiJson<SetPatchPolicy>,
) -> Result<Json<PatchPolicyEntry>, Error> {
    require_staff(&caller, "only the provider's staff set patch policies")?;
    let policy = domain(&body.policy)?;
    let target = (body.site_id, body.host_id);
    let row = policy::set(&state, caller.scope(), Some(caller.user.id), client_id, target, &policy).await?;
    tracing::info!(user = %caller.user.username, policy = row.id, client = client_id, "patch policy set");
    Ok(Json(entry(&row)?))
}

/// Clear a stored patch policy (staff): its client, site or host follows the next policy up
/// (the site's, the client's, or the default). Audited as `patch_policy.clear`.
#[utoipa::path(delete, path = "/api/v1/patch-policies/{id}", tag = "patching", security(("token" = [])),
    params(("id" = i64, Path, description = "Patch policy id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn clear_policy(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, Error> {
    require_staff(&caller, "only the provider's staff clear patch policies")?;
    let removed = policy::clear(&state, caller.scope(), Some(caller.user.id), id).await?;
    tracing::info!(user = %caller.user.username, policy = id, client = removed.client_id, "patch policy cleared");
    Ok(StatusCode::NO_CONTENT)
}

/// The patch policy in force for a host: its own, else its site's, else its client's, else the
/// default; `source` says which.
#[utoipa::path(get, path = "/api/v1/hosts/{id}/patch-policy", tag = "patching", security(("token" = [])),
    params(("id" = i64, Path, description = "Host id")),
    responses((status = 200, body = EffectivePatchPolicy), (status = 404, body = Problem)))]
async fn host_policy(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(host_id): ApiPath<i64>,
) -> Result<Json<EffectivePatchPolicy>, Error> {
    let host = state.store.host(caller.scope(), host_id).await?;
    let effective = policy::effective_for_host(&state, &host).await?;
    Ok(Json(EffectivePatchPolicy {
        host_id,
        source: effective.source.as_str().to_owned(),
        policy_id: effective.policy_id,
        policy: view(&effective.policy),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wire's defaults are the domain's, so a change that leaves a field out means what the
    /// domain means by it.
    #[test]
    fn the_wire_defaults_are_the_domains() {
        assert_eq!(domain(&PatchPolicyView::default()).unwrap(), PatchPolicy::default());
        assert_eq!(view(&PatchPolicy::default()), PatchPolicyView::default());
    }

    #[test]
    fn holds_and_reboots_convert_both_ways_and_bad_names_or_times_are_refused() {
        let wire = PatchPolicyView {
            holds: vec![HoldView {
                package: "postgresql-*".into(),
                until: Some("2027-01-01T00:00:00Z".into()),
                reason: "vendor certification".into(),
            }],
            reboot: "ask".into(),
            ..PatchPolicyView::default()
        };
        assert_eq!(view(&domain(&wire).unwrap()), wire);
        let reboot = PatchPolicyView { reboot: "sometimes".into(), ..PatchPolicyView::default() };
        assert!(matches!(domain(&reboot), Err(Error::Invalid { field: Some(f), .. }) if f == "reboot"));
        let mut until = wire.clone();
        until.holds[0].until = Some("next week".into());
        assert!(matches!(domain(&until), Err(Error::Invalid { field: Some(f), .. }) if f == "hold.until"));
    }
}
