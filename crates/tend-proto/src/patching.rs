//! Bodies of the patch management API: advisory imports, a host's exposures, compliance with the
//! security promise, mitigations.
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
    /// The promise in force, e.g. "24h".
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
