//! Which patch policy applies to a host, and setting and clearing the stored ones.
//!
//! A host follows its own policy, else its site's, else its client's, else the default (the
//! domain's, with the promise this server is configured with). The nearest policy replaces the
//! ones above it as a whole: fields are never merged, so what a customer agreed to for a host
//! reads in one place.
//!
//! Must not: judge a policy's values (`PatchPolicy::validate` does) or scope reads by itself:
//! callers pass the scope they were given, or a host row they already read within it.

use std::fmt;

use jiff::Timestamp;
use tend_core::patching::{PatchPolicy, RebootPolicy};
use tend_core::tenancy::Scope;
use tend_store::{AuditEntry, HostRow, PatchPolicyRow};

use crate::{AppState, Error};

/// Where a host's policy comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Default,
    Client,
    Site,
    Host,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Default => "default",
            Source::Client => "client",
            Source::Site => "site",
            Source::Host => "host",
        }
    }

    fn of(row: &PatchPolicyRow) -> Source {
        match (row.site_id, row.host_id) {
            (_, Some(_)) => Source::Host,
            (Some(_), None) => Source::Site,
            (None, None) => Source::Client,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The policy in force for a host.
#[derive(Debug, Clone, PartialEq)]
pub struct Effective {
    pub policy: PatchPolicy,
    pub source: Source,
    /// The stored policy's id; `None` for the default.
    pub policy_id: Option<i64>,
}

/// The policy of hosts for which nothing is stored.
pub fn default_policy(state: &AppState) -> PatchPolicy {
    PatchPolicy { security_promise: state.config.patching.security_promise(), ..PatchPolicy::default() }
}

/// A client's stored policies, read once, so that a fleet page picks each host's without a
/// query per host.
#[derive(Debug, Clone)]
pub struct ClientPolicies {
    rows: Vec<PatchPolicyRow>,
    default: PatchPolicy,
}

impl ClientPolicies {
    pub async fn read(state: &AppState, scope: Scope, client_id: i64) -> Result<ClientPolicies, Error> {
        let rows = state.store.patch_policies(scope, client_id).await?;
        Ok(ClientPolicies { rows, default: default_policy(state) })
    }

    /// The policy in force for `host`, one of the client's.
    pub fn for_host(&self, host: &HostRow) -> Effective {
        let own = |row: &&PatchPolicyRow| row.host_id == Some(host.id);
        let site =
            |row: &&PatchPolicyRow| row.host_id.is_none() && row.site_id.is_some() && row.site_id == host.site_id;
        let client = |row: &&PatchPolicyRow| row.host_id.is_none() && row.site_id.is_none();
        let nearest_first = [self.rows.iter().find(own), self.rows.iter().find(site), self.rows.iter().find(client)];
        for row in nearest_first.into_iter().flatten() {
            // Fail safe: a body this tend cannot read (or that no longer passes validation)
            // gives way to the next policy up, so the host is still held to a promise and one
            // bad row does not fail every fleet page; the warning tells the operator.
            match read_body(&row.body) {
                Ok(policy) => return Effective { policy, source: Source::of(row), policy_id: Some(row.id) },
                Err(e) => {
                    tracing::warn!(policy = row.id, host = host.id, error = %e, "a stored patch policy cannot be read")
                }
            }
        }
        Effective { policy: self.default.clone(), source: Source::Default, policy_id: None }
    }
}

/// Every reboot policy, for reading one by name.
pub const REBOOT_POLICIES: [RebootPolicy; 3] = [RebootPolicy::Never, RebootPolicy::InWindow, RebootPolicy::Ask];

/// A reboot policy's name, as the API and the audit trail write it.
pub fn reboot_name(reboot: RebootPolicy) -> &'static str {
    match reboot {
        RebootPolicy::Never => "never",
        RebootPolicy::InWindow => "in_window",
        RebootPolicy::Ask => "ask",
    }
}

/// A stored body back to a policy, checked again: it must be one `set` would have written.
pub fn read_body(body: &str) -> Result<PatchPolicy, Error> {
    let policy: PatchPolicy =
        serde_json::from_str(body).map_err(|e| Error::Internal(format!("patch policy body: {e}")))?;
    policy.validate()?;
    Ok(policy)
}

/// The policy in force for a host the caller has read, and where it comes from.
pub async fn effective_for_host(state: &AppState, host: &HostRow) -> Result<Effective, Error> {
    // The host row was read within the caller's scope, so its client's policies may be read.
    Ok(ClientPolicies::read(state, Scope::System, host.client_id).await?.for_host(host))
}

/// The policy in force for a host the caller has read.
pub async fn policy_for_host(state: &AppState, host: &HostRow) -> Result<PatchPolicy, Error> {
    Ok(effective_for_host(state, host).await?.policy)
}

/// Sets the policy of a client, or of one of its sites or hosts (at most one of them),
/// replacing the one it had; validated before anything is written, audited as
/// `patch_policy.set`.
pub async fn set(
    state: &AppState,
    scope: Scope,
    user_id: Option<i64>,
    client_id: i64,
    target: (Option<i64>, Option<i64>),
    policy: &PatchPolicy,
) -> Result<PatchPolicyRow, Error> {
    policy.validate()?;
    let (site_id, host_id) = target;
    let now = Timestamp::now();
    let body = serde_json::to_string(policy).map_err(|e| Error::Internal(format!("patch policy: {e}")))?;
    let row = PatchPolicyRow { id: 0, client_id, site_id, host_id, body, updated_by: user_id, updated_at: now };
    let stored = state.store.set_patch_policy(scope, &row).await?;
    let detail = format!("{} policy set: {}", target_name(&stored), summary(policy));
    audit(state, &stored, user_id, "patch_policy.set", detail, now).await?;
    Ok(stored)
}

/// Deletes a stored policy: its client, site or host follows the next policy up. Audited as
/// `patch_policy.clear`.
pub async fn clear(state: &AppState, scope: Scope, user_id: Option<i64>, id: i64) -> Result<PatchPolicyRow, Error> {
    let removed = state.store.delete_patch_policy(scope, id).await?;
    let detail = format!("{} policy {id} cleared", target_name(&removed));
    audit(state, &removed, user_id, "patch_policy.clear", detail, Timestamp::now()).await?;
    Ok(removed)
}

/// "client", "site 3" or "host 7".
fn target_name(row: &PatchPolicyRow) -> String {
    match Source::of(row) {
        Source::Site => format!("site {}", row.site_id.unwrap_or_default()),
        Source::Host => format!("host {}", row.host_id.unwrap_or_default()),
        source => source.to_string(),
    }
}

/// What an audit entry says of a policy, in one line.
fn summary(policy: &PatchPolicy) -> String {
    let holds: Vec<&str> = policy.holds.iter().map(|hold| hold.package.as_str()).collect();
    format!(
        "promise {:#}, holds [{}], reboot {}, health gate {:#}, automatic security rollouts {}",
        policy.security_promise,
        holds.join(", "),
        reboot_name(policy.reboot),
        policy.health_gate,
        if policy.auto_security_rollouts { "on" } else { "off" }
    )
}

async fn audit(
    state: &AppState,
    row: &PatchPolicyRow,
    actor_id: Option<i64>,
    action: &str,
    detail: String,
    now: Timestamp,
) -> Result<(), Error> {
    let entry = AuditEntry::allowed(now, actor_id, Some(row.client_id), action, detail).host(row.host_id);
    state.store.audit(&entry).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, site_id: Option<i64>, host_id: Option<i64>, promise_hours: i64) -> PatchPolicyRow {
        let policy =
            PatchPolicy { security_promise: jiff::SignedDuration::from_hours(promise_hours), ..Default::default() };
        PatchPolicyRow {
            id,
            client_id: 1,
            site_id,
            host_id,
            body: serde_json::to_string(&policy).unwrap(),
            updated_by: None,
            updated_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn host(id: i64, site_id: Option<i64>) -> HostRow {
        HostRow {
            id,
            client_id: 1,
            client_name: "acme".into(),
            site_id,
            site_name: None,
            hostname: format!("web{id}"),
            report_interval_secs: 60,
            last_seen_at: None,
            stopped: false,
            facts: None,
            agent_id: None,
            agent_revoked: false,
            headline: Default::default(),
        }
    }

    fn picked(policies: &ClientPolicies, host: &HostRow) -> (Source, Option<i64>, i64) {
        let effective = policies.for_host(host);
        (effective.source, effective.policy_id, effective.policy.security_promise.as_hours())
    }

    #[test]
    fn the_nearest_readable_policy_applies_as_a_whole() {
        let default = PatchPolicy { security_promise: jiff::SignedDuration::from_hours(48), ..Default::default() };
        let mut policies = ClientPolicies {
            rows: vec![row(1, None, None, 12), row(2, Some(5), None, 6), row(3, None, Some(7), 2)],
            default: default.clone(),
        };
        assert_eq!(picked(&policies, &host(7, Some(5))), (Source::Host, Some(3), 2));
        assert_eq!(picked(&policies, &host(8, Some(5))), (Source::Site, Some(2), 6));
        assert_eq!(picked(&policies, &host(9, Some(6))), (Source::Client, Some(1), 12));
        assert_eq!(picked(&policies, &host(10, None)), (Source::Client, Some(1), 12));

        // An unreadable or invalid body gives way to the next policy up.
        policies.rows[2].body = "{\"security_promise\": 3}".into();
        policies.rows[1].body = serde_json::to_string(&PatchPolicy {
            health_gate: jiff::SignedDuration::from_secs(-1),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(picked(&policies, &host(7, Some(5))), (Source::Client, Some(1), 12));
        policies.rows.remove(0);
        assert_eq!(
            policies.for_host(&host(7, Some(5))),
            Effective { policy: default, source: Source::Default, policy_id: None }
        );
    }
}
