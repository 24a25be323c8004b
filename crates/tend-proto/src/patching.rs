//! Bodies of the patch management API: advisory imports, a host's exposures, compliance with the
//! security promise, mitigations, patch policies.
//!
//! Times are RFC 3339 strings in UTC; ages are whole hours.

use serde::{Deserialize, Serialize};

/// What one advisory import did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportSummary {
    /// `osv` or `debian_tracker`: as asked, or as detected.
    pub format: String,
    /// Advisories tend did not know before.
    pub added: u64,
    /// Known advisories whose content changed (when tend first learned of them is kept).
    pub updated: u64,
    /// Known advisories read again as they were.
    pub unchanged: u64,
    /// Advisories the source withdrew, dropped.
    pub withdrawn: u64,
    /// Records about nothing tend matches (another ecosystem, a release out of support).
    pub irrelevant: u64,
    /// Records and entries left out, with why.
    pub skipped: Vec<SkippedRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SkippedRecord {
    pub record: String,
    pub reason: String,
}

/// An advisory as tend stores it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdvisoryView {
    pub id: String,
    pub aliases: Vec<String>,
    /// unknown, low, medium, high or critical.
    pub severity: String,
    pub summary: String,
    /// `osv` or `debian_tracker`.
    pub source: String,
    /// When tend first learned of it; kept across imports.
    pub learned_at: String,
    pub updated_at: String,
    pub affected: Vec<AffectedView>,
}

/// One distribution release's word on one package.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AffectedView {
    pub distribution: String,
    pub release: String,
    pub package: String,
    pub introduced: Option<String>,
    pub fixed: Option<String>,
    /// fixed, unfixed, not_affected, no_dsa, ignored, postponed or unimportant.
    pub status: String,
    pub learned_at: String,
}

/// Where one host stands against the advisories.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostExposures {
    pub host_id: i64,
    pub hostname: String,
    /// As advisories name it, e.g. `debian` and `bookworm`; absent when unknown.
    pub distribution: Option<String>,
    pub release: Option<String>,
    /// Why the host's packages could not be matched (no package inventory yet, a
    /// distribution tend reads no advisories for); absent when they were.
    pub not_matched: Option<String>,
    /// Most severe first.
    pub exposures: Vec<ExposureView>,
    /// Packages an advisory names whose versions could not be compared.
    pub unjudged: Vec<UnjudgedView>,
}

/// One installed package's standing against one advisory.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExposureView {
    pub advisory_id: String,
    pub severity: String,
    pub package: String,
    pub source_package: String,
    pub arch: Option<String>,
    pub installed: String,
    /// The release's fixed version, when there is one.
    pub fixed: Option<String>,
    /// vulnerable (a fix exists), exposed (no fix, nothing done), mitigated,
    /// mitigation_review_due (the mitigation's review date passed, so it no longer counts) or
    /// deferred (the distribution will not fix it now).
    pub state: String,
    /// For a vulnerable package: whether the host's package manager offers the fix already.
    pub update_available: Option<bool>,
    /// For a mitigated one, or one due for review.
    pub mitigation: Option<MitigationBrief>,
    /// For a deferred one: no_dsa, ignored, postponed or unimportant.
    pub deferral: Option<String>,
    /// When tend learned of the entry this rests on (of the fix, for a vulnerable package).
    pub learned_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MitigationBrief {
    pub kind: String,
    pub owner: String,
    pub review_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnjudgedView {
    pub advisory_id: String,
    pub package: String,
    pub reason: String,
}

/// Compliance with the security promise, per host and per client.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PatchStatus {
    /// The promise of hosts without a patch policy of their own or their client's, e.g. "24h".
    pub security_promise: String,
    pub clients: Vec<ClientPatchStatus>,
    pub hosts: Vec<HostPatchStatus>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientPatchStatus {
    pub client_id: i64,
    pub client_name: String,
    pub hosts: u64,
    /// Hosts with a security fix past its deadline.
    pub hosts_outside_promise: u64,
    /// Hosts whose packages could not be matched.
    pub hosts_not_matched: u64,
    pub pending_security: u64,
    pub open_cves: u64,
    /// Every matched host keeps the promise.
    pub within_promise: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostPatchStatus {
    pub host_id: i64,
    pub hostname: String,
    pub client_id: i64,
    /// Updates the host's package manager offers, as last reported.
    pub pending_updates: u64,
    /// Of those, the ones from a security origin.
    pub pending_security_updates: u64,
    /// Security fixes the host still needs, oldest first, with their age against the promise.
    pub pending_security: Vec<PendingSecurityView>,
    /// Advisories still open on the host: vulnerable, exposed, mitigated or due for review.
    pub open_cves: u64,
    pub exposed: u64,
    pub mitigated: u64,
    pub mitigation_review_due: u64,
    pub deferred: u64,
    /// No security fix past its deadline; absent when the host could not be matched.
    pub within_promise: Option<bool>,
    /// When the host would next break the promise.
    pub next_deadline: Option<String>,
    pub reboot_required: Option<bool>,
    /// End of security support of its OS release (`YYYY-MM-DD`), when known.
    pub os_eol_date: Option<String>,
    pub os_eol: Option<bool>,
    pub not_matched: Option<String>,
    /// The host's ring for patch rollouts, if it is in one.
    #[serde(default)]
    pub ring: Option<String>,
    /// When an `apply_updates` job last succeeded on the host.
    #[serde(default)]
    pub last_patched_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingSecurityView {
    pub advisory_id: String,
    pub severity: String,
    pub packages: Vec<String>,
    pub learned_at: String,
    pub deadline: String,
    pub age_hours: i64,
    pub overdue: bool,
    pub update_available: bool,
}

/// A mitigation to record: for one host, or for every host of a client.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewMitigation {
    /// Required unless `host_id` is given (then it is the host's client).
    pub client_id: Option<i64>,
    /// Absent: every host of the client.
    pub host_id: Option<i64>,
    /// The advisory's id or any of its aliases.
    pub advisory_id: String,
    /// feature_disabled, service_stopped, firewall_rule, migration_planned or other.
    pub kind: String,
    pub description: String,
    /// Who answers for it.
    pub owner: String,
    /// From then on it no longer counts until someone reviews it; in the future.
    pub review_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Mitigation {
    pub id: i64,
    pub client_id: i64,
    pub host_id: Option<i64>,
    pub advisory_id: String,
    pub kind: String,
    pub description: String,
    pub owner: String,
    pub review_at: String,
    pub created_by: Option<i64>,
    pub created_at: String,
}

/// A patch policy: the security promise, holds, reboots and the health gate. Every field has a
/// default (the same as a client without a policy has, but for the promise, which a server may
/// configure), so a change may name only what differs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct PatchPolicyView {
    /// Security fixes are applied within this many seconds of tend learning of them; more than
    /// zero, at most 31 days. Default 86400 (24 h).
    pub security_promise_secs: i64,
    /// Packages kept out of patch sets and out of the promise's count.
    pub holds: Vec<HoldView>,
    /// Whether a host that needs a reboot after its updates gets one: `never`, `in_window`
    /// (default: inside its maintenance window) or `ask` (a ticket asks the customer first).
    pub reboot: String,
    /// Seconds a host has after an update to report again with no new problem, 0 to 86400;
    /// default 1800.
    pub health_gate_secs: i64,
    /// Whether tend starts an emergency rollout by itself for each security fix the hosts need.
    pub auto_security_rollouts: bool,
}

impl Default for PatchPolicyView {
    fn default() -> PatchPolicyView {
        PatchPolicyView {
            security_promise_secs: 24 * 3600,
            holds: Vec::new(),
            reboot: "in_window".into(),
            health_gate_secs: 30 * 60,
            auto_security_rollouts: false,
        }
    }
}

/// Packages a customer asked to leave alone.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HoldView {
    /// A package name, or a pattern where `*` stands for any run of characters and `?` for one.
    pub package: String,
    /// When the hold ends by itself (RFC 3339); `null` until lifted.
    #[serde(default)]
    pub until: Option<String>,
    pub reason: String,
}

/// A client's, site's or host's policy to set; with neither `site_id` nor `host_id`, the
/// client's. It replaces the policy above it as a whole for the hosts it covers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetPatchPolicy {
    #[serde(default)]
    pub site_id: Option<i64>,
    #[serde(default)]
    pub host_id: Option<i64>,
    #[serde(default)]
    pub policy: PatchPolicyView,
}

/// A stored patch policy of a client, one of its sites or one of its hosts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PatchPolicyEntry {
    pub id: i64,
    pub client_id: i64,
    pub site_id: Option<i64>,
    pub host_id: Option<i64>,
    pub policy: PatchPolicyView,
    pub updated_by: Option<i64>,
    pub updated_at: String,
}

/// The policy that applies to a host, and where it comes from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EffectivePatchPolicy {
    pub host_id: i64,
    /// `host`, `site`, `client` or `default` (no stored policy applies).
    pub source: String,
    /// The stored policy's id; `null` for the default.
    pub policy_id: Option<i64>,
    pub policy: PatchPolicyView,
}
