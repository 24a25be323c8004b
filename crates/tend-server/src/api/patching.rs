//! Patch management over HTTP: advisory imports and search, a host's exposures, compliance with
//! the security promise, mitigations. The rules are `tend_core::patching`'s, the gathering
//! `crate::patching`'s; this module checks callers and converts.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

use jiff::Timestamp;
use serde::Deserialize;
use tend_core::patching::{
    Advisory, Compliance, Exposure, ExposureStatus, Mitigation as DomainMitigation, MitigationKind, MitigationScope,
};
use tend_proto::api::Problem;
use tend_proto::patching::{
    AdvisoryView, AffectedView, ClientPatchStatus, ExposureView, HostExposures, HostPatchStatus, ImportSummary,
    Mitigation, MitigationBrief, NewMitigation, PatchStatus, PendingSecurityView, UnjudgedView,
};
use tend_store::{AdvisoryRow, MitigationRow};
use utoipa::IntoParams;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use super::convert::timestamp_text;
use super::created;
use crate::auth::Caller;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::patching::policy::{ClientPolicies, default_policy};
use crate::patching::rollout::APPLY_UPDATES;
use crate::patching::{self, Format, HostPatching};
use crate::{AppState, Error};

/// Hosts read per page when building a fleet's status.
const HOST_PAGE: u32 = 1000;

/// `max_import_bytes` bounds uploaded advisory files, larger than any other user request.
pub fn routes(max_import_bytes: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_advisories).layer(DefaultBodyLimit::max(max_import_bytes)))
        .routes(routes!(list_advisories))
        .routes(routes!(host_exposures))
        .routes(routes!(patch_status))
        .routes(routes!(list_mitigations, create_mitigation))
}

pub(super) fn require_staff(caller: &Caller, what: &'static str) -> Result<(), Error> {
    if caller.principal().role.is_staff() { Ok(()) } else { Err(tend_core::Error::Forbidden(what).into()) }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ImportQuery {
    /// `osv` or `debian_tracker`; detected from the file when absent.
    format: Option<String>,
}

/// Import advisories (staff): the body is the file itself, OSV JSON (one record, an array, or
/// JSON lines) or the Debian security tracker's JSON export. When tend first learned of each
/// advisory is kept across imports; withdrawn ones are dropped.
#[utoipa::path(post, path = "/api/v1/advisories/import", tag = "patching", security(("token" = [])),
    params(ImportQuery), request_body(content = String, content_type = "application/json",
        description = "The advisory file, as published"),
    responses((status = 200, body = ImportSummary), (status = 403, body = Problem), (status = 413, body = Problem),
        (status = 422, body = Problem)))]
async fn import_advisories(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ImportQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ImportSummary>, Error> {
    require_staff(&caller, "only the provider's staff import advisories")?;
    let format = match query.format.as_deref() {
        None | Some("") => None,
        Some(name) => Some(
            Format::from_name(name)
                .ok_or_else(|| Error::invalid_field("format", format!("{name:?}: expected osv or debian_tracker")))?,
        ),
    };
    let body = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge(format!(
            "the file is larger than the {} bytes this server accepts (http.max_report_bytes)",
            state.config.http.max_report_bytes
        )),
        _ => Error::bad_request(e.body_text()),
    })?;
    let summary = patching::import(&state, body.to_vec(), format, Timestamp::now()).await?;
    tracing::info!(
        user = %caller.user.username, format = summary.format, added = summary.added, updated = summary.updated,
        withdrawn = summary.withdrawn, skipped = summary.skipped.len(), "imported advisories"
    );
    // Best effort: the import is stored either way, and the scheduler's hourly pass tries again.
    if let Err(e) = patching::auto::run(&state, Timestamp::now()).await {
        tracing::error!(error = %e, "automatic security rollouts after an advisory import failed");
    }
    Ok(Json(summary))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AdvisoryQuery {
    /// Part of an advisory's id or of one of its aliases, any case.
    q: Option<String>,
    /// At most this many, 1 to 1000; default 100.
    limit: Option<u32>,
}

/// Search the advisories tend knows, by id or alias.
#[utoipa::path(get, path = "/api/v1/advisories", tag = "patching", security(("token" = [])),
    params(AdvisoryQuery), responses((status = 200, body = Vec<AdvisoryView>), (status = 422, body = Problem)))]
async fn list_advisories(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(query): ApiQuery<AdvisoryQuery>,
) -> Result<Json<Vec<AdvisoryView>>, Error> {
    let limit = super::limit(query.limit)? as usize;
    let needle = query.q.unwrap_or_default().trim().to_lowercase();
    let mut found = Vec::new();
    for row in state.store.list_advisories().await? {
        let Ok(advisory) = serde_json::from_str::<Advisory>(&row.body) else { continue };
        let named = std::iter::once(&advisory.id).chain(&advisory.aliases);
        if needle.is_empty() || named.into_iter().any(|name| name.to_lowercase().contains(&needle)) {
            found.push(advisory_view(&row, &advisory));
            if found.len() == limit {
                break;
            }
        }
    }
    Ok(Json(found))
}

fn advisory_view(row: &AdvisoryRow, advisory: &Advisory) -> AdvisoryView {
    AdvisoryView {
        id: advisory.id.clone(),
        aliases: advisory.aliases.clone(),
        severity: advisory.severity.as_str().to_owned(),
        summary: advisory.summary.clone(),
        source: row.source.clone(),
        learned_at: timestamp_text(advisory.learned_at),
        updated_at: timestamp_text(row.updated_at),
        affected: advisory
            .affected
            .iter()
            .map(|e| AffectedView {
                distribution: e.distribution.clone(),
                release: e.release.clone(),
                package: e.package.clone(),
                introduced: e.introduced.clone(),
                fixed: e.fixed.clone(),
                status: word(&e.status),
                learned_at: timestamp_text(e.learned_at),
            })
            .collect(),
    }
}

/// A unit enum's serde name.
fn word<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// A host's open advisories: vulnerable (with the fixed version and whether the update is
/// offered already), exposed, mitigated, due for review, or deferred by the distribution.
#[utoipa::path(get, path = "/api/v1/hosts/{id}/exposures", tag = "patching", security(("token" = [])),
    params(("id" = i64, Path, description = "Host id")),
    responses((status = 200, body = HostExposures), (status = 404, body = Problem)))]
async fn host_exposures(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(host_id): ApiPath<i64>,
) -> Result<Json<HostExposures>, Error> {
    let host = state.store.host(caller.scope(), host_id).await?;
    let advisories = patching::advisories(&state).await?;
    let found = patching::exposures_of_host(&state, caller.scope(), host, &advisories, Timestamp::now()).await?;
    let (exposures, unjudged, not_matched) = match &found.matched {
        Ok(matched) => (
            matched.exposures.iter().map(exposure_view).collect(),
            matched
                .unjudged
                .iter()
                .map(|u| UnjudgedView {
                    advisory_id: u.advisory_id.clone(),
                    package: u.package.clone(),
                    reason: u.reason.clone(),
                })
                .collect(),
            None,
        ),
        Err(why) => (Vec::new(), Vec::new(), Some(why.clone())),
    };
    Ok(Json(HostExposures {
        host_id: found.host.id,
        hostname: found.host.hostname.clone(),
        distribution: found.distribution.as_ref().map(|d| d.distribution.clone()),
        release: found.distribution.as_ref().map(|d| d.release.clone()),
        not_matched,
        exposures,
        unjudged,
    }))
}

fn exposure_view(exposure: &Exposure) -> ExposureView {
    let brief = |kind: &MitigationKind, owner: &str, review_at: &Timestamp| {
        Some(MitigationBrief { kind: word(kind), owner: owner.to_owned(), review_at: timestamp_text(*review_at) })
    };
    let (state, update_available, mitigation, deferral) = match &exposure.status {
        ExposureStatus::Vulnerable { update_available } => ("vulnerable", Some(*update_available), None, None),
        ExposureStatus::Exposed => ("exposed", None, None, None),
        ExposureStatus::Mitigated { kind, owner, review_at } => {
            ("mitigated", None, brief(kind, owner, review_at), None)
        }
        ExposureStatus::MitigationReviewDue { kind, owner, review_at } => {
            ("mitigation_review_due", None, brief(kind, owner, review_at), None)
        }
        ExposureStatus::Deferred { reason } => ("deferred", None, None, Some(word(reason))),
    };
    ExposureView {
        advisory_id: exposure.advisory_id.clone(),
        severity: exposure.severity.as_str().to_owned(),
        package: exposure.package.clone(),
        source_package: exposure.source_package.clone(),
        arch: exposure.arch.clone(),
        installed: exposure.installed.clone(),
        fixed: exposure.fixed.clone(),
        state: state.to_owned(),
        update_available,
        mitigation,
        deferral,
        learned_at: timestamp_text(exposure.learned_at),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct StatusQuery {
    /// Only this client's hosts.
    client: Option<i64>,
}

/// What a fleet's status reads once per client rather than once per host.
struct ClientFacts {
    policies: ClientPolicies,
    rings: HashMap<i64, String>,
}

/// Compliance with the security promise: per host, pending updates and security fixes with
/// their age against the host's promise (from its patch policy), open advisories, the OS's end
/// of life, its ring and when it was last patched; per client, the sum.
#[utoipa::path(get, path = "/api/v1/patch/status", tag = "patching", security(("token" = [])),
    params(StatusQuery), responses((status = 200, body = PatchStatus), (status = 404, body = Problem)))]
async fn patch_status(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<StatusQuery>,
) -> Result<Json<PatchStatus>, Error> {
    let scope = caller.scope();
    if let Some(client) = query.client {
        state.store.client(scope, client).await?;
    }
    let now = Timestamp::now();
    let advisories = patching::advisories(&state).await?;
    let mut facts: HashMap<i64, ClientFacts> = HashMap::new();
    let mut hosts = Vec::new();
    let mut clients: Vec<ClientPatchStatus> = Vec::new();
    let mut after = 0;
    loop {
        let page = state.store.list_hosts(scope, query.client, after, HOST_PAGE).await?;
        let Some(last) = page.last() else { break };
        let last_patched: HashMap<i64, Timestamp> = state
            .store
            .last_succeeded_jobs(scope, APPLY_UPDATES, query.client, after, last.id)
            .await?
            .into_iter()
            .collect();
        after = last.id;
        for host in page {
            let (client_id, client_name) = (host.client_id, host.client_name.clone());
            let of_client = match facts.entry(client_id) {
                Entry::Occupied(known) => known.into_mut(),
                Entry::Vacant(slot) => slot.insert(ClientFacts {
                    policies: ClientPolicies::read(&state, scope, client_id).await?,
                    rings: state.store.client_rings(scope, client_id).await?.into_iter().collect(),
                }),
            };
            let policy = of_client.policies.for_host(&host).policy;
            let ring = of_client.rings.get(&host.id).cloned();
            let patched_at = last_patched.get(&host.id).copied();
            let found = patching::exposures_of_host(&state, scope, host, &advisories, now).await?;
            let status = host_status(&found, found.compliance(&policy, now).as_ref(), ring, patched_at);
            let client = match clients.iter_mut().find(|c| c.client_id == client_id) {
                Some(client) => client,
                None => {
                    clients.push(ClientPatchStatus {
                        client_id,
                        client_name,
                        hosts: 0,
                        hosts_outside_promise: 0,
                        hosts_not_matched: 0,
                        pending_security: 0,
                        open_cves: 0,
                        within_promise: true,
                    });
                    clients.last_mut().expect("just pushed")
                }
            };
            client.hosts += 1;
            client.pending_security += status.pending_security.len() as u64;
            client.open_cves += status.open_cves;
            match status.within_promise {
                Some(false) => {
                    client.hosts_outside_promise += 1;
                    client.within_promise = false;
                }
                Some(true) => {}
                None => client.hosts_not_matched += 1,
            }
            hosts.push(status);
        }
    }
    let security_promise = format!("{:#}", default_policy(&state).security_promise);
    Ok(Json(PatchStatus { security_promise, clients, hosts }))
}

fn host_status(
    found: &HostPatching,
    compliance: Option<&Compliance>,
    ring: Option<String>,
    last_patched_at: Option<Timestamp>,
) -> HostPatchStatus {
    let updates = found.packages.as_ref().map(|p| p.updates.as_slice()).unwrap_or_default();
    let count = |n: usize| n as u64;
    let open_cves = match &found.matched {
        Ok(matched) => {
            let mut open: Vec<&str> = matched
                .exposures
                .iter()
                .filter(|e| !matches!(e.status, ExposureStatus::Deferred { .. }))
                .map(|e| e.advisory_id.as_str())
                .collect();
            open.sort_unstable();
            open.dedup();
            count(open.len())
        }
        Err(_) => 0,
    };
    HostPatchStatus {
        host_id: found.host.id,
        hostname: found.host.hostname.clone(),
        client_id: found.host.client_id,
        pending_updates: count(updates.len()),
        pending_security_updates: count(updates.iter().filter(|u| u.security).count()),
        pending_security: compliance
            .map(|c| {
                c.pending_security
                    .iter()
                    .map(|p| PendingSecurityView {
                        advisory_id: p.advisory_id.clone(),
                        severity: p.severity.as_str().to_owned(),
                        packages: p.packages.clone(),
                        learned_at: timestamp_text(p.learned_at),
                        deadline: timestamp_text(p.deadline),
                        age_hours: p.age.as_hours(),
                        overdue: p.overdue,
                        update_available: p.update_available,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        open_cves,
        exposed: compliance.map_or(0, |c| count(c.exposed)),
        mitigated: compliance.map_or(0, |c| count(c.mitigated)),
        mitigation_review_due: compliance.map_or(0, |c| count(c.mitigation_review_due)),
        deferred: compliance.map_or(0, |c| count(c.deferred)),
        within_promise: compliance.map(|c| c.within_promise),
        next_deadline: compliance.and_then(|c| c.next_deadline).map(timestamp_text),
        reboot_required: found.packages.as_ref().and_then(|p| p.reboot_required),
        os_eol_date: found.os.as_ref().and_then(|os| os.eol_date.clone()),
        os_eol: found.os.as_ref().and_then(|os| os.eol),
        not_matched: found.matched.as_ref().err().cloned(),
        ring,
        last_patched_at: last_patched_at.map(timestamp_text),
    }
}

fn mitigation_view(row: &MitigationRow) -> Mitigation {
    Mitigation {
        id: row.id,
        client_id: row.client_id,
        host_id: row.host_id,
        advisory_id: row.advisory_id.clone(),
        kind: row.kind.clone(),
        description: row.description.clone(),
        owner: row.owner.clone(),
        review_at: timestamp_text(row.review_at),
        created_by: row.created_by,
        created_at: timestamp_text(row.created_at),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct MitigationQuery {
    /// Only this client's.
    client: Option<i64>,
}

/// Mitigations recorded against flaws without a fix (staff), newest first.
#[utoipa::path(get, path = "/api/v1/mitigations", tag = "patching", security(("token" = [])),
    params(MitigationQuery), responses((status = 200, body = Vec<Mitigation>), (status = 403, body = Problem)))]
async fn list_mitigations(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<MitigationQuery>,
) -> Result<Json<Vec<Mitigation>>, Error> {
    require_staff(&caller, "only the provider's staff read mitigations")?;
    let rows = state.store.list_mitigations(caller.scope(), query.client).await?;
    Ok(Json(rows.iter().map(mitigation_view).collect()))
}

/// Record a mitigation (staff): what was done about a flaw with no fix, who answers for it, and
/// when it is to be looked at again. For one host, or every host of a client.
#[utoipa::path(post, path = "/api/v1/mitigations", tag = "patching", security(("token" = [])),
    request_body = NewMitigation,
    responses((status = 201, body = Mitigation), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn create_mitigation(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewMitigation>,
) -> Result<Response, Error> {
    require_staff(&caller, "only the provider's staff record mitigations")?;
    let scope = caller.scope();
    let client_id = match (new.host_id, new.client_id) {
        (Some(host_id), client) => {
            let host = state.store.host(scope, host_id).await?;
            if client.is_some_and(|c| c != host.client_id) {
                return Err(Error::invalid_field("client_id", format!("host {host_id} is not this client's")));
            }
            host.client_id
        }
        (None, Some(client)) => client,
        (None, None) => return Err(Error::invalid_field("client_id", "a client or a host is required")),
    };
    let kind: MitigationKind = serde_json::from_value(serde_json::Value::String(new.kind.clone())).map_err(|_| {
        Error::invalid_field(
            "kind",
            "expected feature_disabled, service_stopped, firewall_rule, migration_planned or other",
        )
    })?;
    let review_at: Timestamp = new
        .review_at
        .parse()
        .map_err(|e| Error::invalid_field("review_at", format!("expected an RFC 3339 time: {e}")))?;
    let now = Timestamp::now();
    let domain = DomainMitigation {
        advisory_id: new.advisory_id.trim().to_owned(),
        scope: new.host_id.map_or(MitigationScope::Client(client_id), MitigationScope::Host),
        kind,
        description: new.description.trim().to_owned(),
        owner: new.owner.trim().to_owned(),
        review_at,
    };
    domain.validate(now)?;
    let row = MitigationRow {
        id: 0,
        client_id,
        host_id: new.host_id,
        advisory_id: domain.advisory_id,
        kind: new.kind,
        description: domain.description,
        owner: domain.owner,
        review_at,
        created_by: Some(caller.user.id),
        created_at: now,
    };
    let stored = state.store.create_mitigation(scope, &row, now).await?;
    tracing::info!(user = %caller.user.username, mitigation = stored.id, advisory = stored.advisory_id, "recorded a mitigation");
    Ok(created(mitigation_view(&stored)))
}
