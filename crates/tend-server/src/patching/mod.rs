//! Patch management over `tend_core::patching`: advisories in (`import`: uploads and the
//! configured sources, refreshed by the scheduler), each host's exposures from its latest
//! package inventory, and compliance with the security promise per host and per client.
//!
//! Must not: decide what is vulnerable or overdue (the domain does, with the instant passed in),
//! or run anything on a host. `policy`: which patch policy applies to a host (its own, its
//! site's, its client's or the default). `rollout`: patch sets through rings (test before
//! production). Not built yet: stored patch sets.

mod after_update;
pub mod auto;
pub mod import;
pub mod policy;
pub mod rollout;
pub mod summary;

use jiff::Timestamp;
use tend_core::patching::{
    Advisory, Compliance, HostOs, HostPackages, Matched, Mitigation, MitigationKind, MitigationScope, PatchPolicy,
    compliance, match_host,
};
use tend_proto::inventory::{OsSupport, Packages};
use tend_store::{HostRow, MitigationRow, Scope};

pub use import::{Format, import};

use crate::{AppState, Error};

/// One host's patching facts: its latest inventory and what it meets in the advisories.
#[derive(Debug, Clone)]
pub struct HostPatching {
    pub host: HostRow,
    pub os: Option<OsSupport>,
    pub packages: Option<Packages>,
    pub distribution: Option<HostOs>,
    /// What the packages meet, or why they could not be matched.
    pub matched: Result<Matched, String>,
}

impl HostPatching {
    /// Its compliance under `policy`, when it could be matched.
    pub fn compliance(&self, policy: &PatchPolicy, now: Timestamp) -> Option<Compliance> {
        self.matched.as_ref().ok().map(|m| compliance(&m.exposures, policy, now))
    }
}

/// Every stored advisory, parsed. A body this tend cannot read is logged and left out rather
/// than failing every host's answer.
pub async fn advisories(state: &AppState) -> Result<Vec<Advisory>, Error> {
    let rows = state.store.list_advisories().await?;
    let mut advisories = Vec::with_capacity(rows.len());
    for row in rows {
        match serde_json::from_str::<Advisory>(&row.body) {
            Ok(advisory) => advisories.push(advisory),
            Err(e) => tracing::warn!(advisory = row.id, error = %e, "a stored advisory cannot be read"),
        }
    }
    Ok(advisories)
}

/// The domain's mitigation of a stored one; `None` (and a warning) for a kind it does not know.
fn mitigation(row: &MitigationRow) -> Option<Mitigation> {
    let kind = serde_json::from_value::<MitigationKind>(serde_json::Value::String(row.kind.clone()));
    let Ok(kind) = kind else {
        tracing::warn!(mitigation = row.id, kind = row.kind, "a stored mitigation has an unknown kind");
        return None;
    };
    Some(Mitigation {
        advisory_id: row.advisory_id.clone(),
        scope: row.host_id.map_or(MitigationScope::Client(row.client_id), MitigationScope::Host),
        kind,
        description: row.description.clone(),
        owner: row.owner.clone(),
        review_at: row.review_at,
    })
}

/// A host's exposures from its stored inventory, the advisories and its client's mitigations.
/// `advisories` are passed in so that a fleet's status reads them once.
pub async fn exposures_of_host(
    state: &AppState,
    scope: Scope,
    host: HostRow,
    advisories: &[Advisory],
    now: Timestamp,
) -> Result<HostPatching, Error> {
    let sections = state.store.inventory(scope, host.id).await?;
    let section = |name: &str| sections.iter().find(|s| s.section == name).map(|s| s.body.as_str());
    let os: Option<OsSupport> = section("os").and_then(|body| serde_json::from_str(body).ok());
    let packages: Option<Packages> = section("packages").and_then(|body| serde_json::from_str(body).ok());
    let distribution = match &os {
        Some(os) => HostOs::from_os_release(&os.id, &os.version_id).map_err(|e| e.to_string()),
        None => Err("no operating system reported yet".to_owned()),
    };
    let matched = match (&distribution, &packages) {
        (Err(why), _) => Err(why.clone()),
        (Ok(_), None) => Err("no package inventory reported yet".to_owned()),
        (Ok(_), Some(p)) if p.installed.is_empty() => Err(p
            .error
            .clone()
            .map_or_else(|| "the package inventory is empty".to_owned(), |e| format!("package inventory: {e}"))),
        (Ok(distribution), Some(packages)) => {
            let mitigations: Vec<Mitigation> = state
                .store
                .list_mitigations(scope, Some(host.client_id))
                .await?
                .iter()
                .filter(|m| m.host_id.is_none_or(|id| id == host.id))
                .filter_map(mitigation)
                .collect();
            let of_host = HostPackages {
                host_id: host.id,
                client_id: host.client_id,
                os: distribution,
                installed: &packages.installed,
                pending: &packages.updates,
            };
            match_host(&of_host, advisories, &mitigations, now).map_err(|e| e.to_string())
        }
    };
    Ok(HostPatching { host, os, packages, distribution: distribution.ok(), matched })
}
