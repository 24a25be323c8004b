//! Advisories, and what they mean for one host: which of its packages are vulnerable with a fix
//! to apply, exposed with no fix yet, mitigated, or left as they are by the distribution's choice.
//!
//! Scanners' classic false positive is comparing a host's package with the upstream version that
//! fixed a flaw. Debian and Ubuntu backport fixes into the version a release shipped
//! (`3.0.11-1~deb12u2` carries what upstream fixed in 3.0.13), so an advisory here says, per
//! distribution release and source package, which version *of that release* is fixed, and a host
//! is matched only against the entries of its own release, with its distribution's version order.
//!
//! Must not: fetch or store advisories, read the clock, or decide what is applied when (`policy`
//! and `rollout` do). Technicians record mitigations; this only says whether one counts.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tend_proto::inventory::{InstalledPackage, PendingUpdate};

use super::version::VersionScheme;
use super::{MAX_TEXT_CHARS, validate_text, validate_token};
use crate::Error;

/// How bad a flaw is, as its advisory says. Ordered from `Unknown` (no judgement given, which
/// is not "harmless": the security promise applies all the same) to `Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Unknown,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// The name stored and sent on the wire, as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "unknown",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The severity a distribution or database names with `word`, ignoring case: Debian's
    /// urgencies and Ubuntu's priorities (`unimportant`, `negligible`, `low`, `medium`, `high`,
    /// `critical`), Red Hat's and GitHub's (`moderate`, `important`). `None` for anything else,
    /// Debian's `not yet assigned` and `end-of-life` included. Trailing `*` are ignored, in case
    /// a feed flags a word with them.
    pub(super) fn from_word(word: &str) -> Option<Severity> {
        match word.trim().trim_end_matches('*').to_ascii_lowercase().as_str() {
            "unimportant" | "negligible" | "low" => Some(Severity::Low),
            "medium" | "moderate" => Some(Severity::Medium),
            "high" | "important" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the distribution says about one source package in one of its releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FixStatus {
    /// Fixed in the entry's `fixed` version.
    Fixed,
    /// Affected, no fix yet.
    Unfixed,
    /// This release was never affected.
    NotAffected,
    /// Debian's "no-dsa": minor, no advisory of its own; may be fixed in a point release.
    NoDsa,
    /// The distribution will not fix it in this release.
    Ignored,
    /// The distribution will fix it later, with some other update.
    Postponed,
    /// The distribution considers it negligible for its packages (Debian's "unimportant").
    Unimportant,
}

impl FixStatus {
    /// The distribution's reason for leaving a flaw unfixed for now, if that is what it says.
    fn deferral(self) -> Option<Deferral> {
        match self {
            FixStatus::NoDsa => Some(Deferral::NoDsa),
            FixStatus::Ignored => Some(Deferral::Ignored),
            FixStatus::Postponed => Some(Deferral::Postponed),
            FixStatus::Unimportant => Some(Deferral::Unimportant),
            FixStatus::Fixed | FixStatus::Unfixed | FixStatus::NotAffected => None,
        }
    }
}

/// One distribution release's word on one source package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedPackage {
    /// As os-release's `ID` names it: `debian`, `ubuntu`, `almalinux`, `rocky`.
    pub distribution: String,
    /// As [`HostOs::release`] names it: `bookworm`, `22.04`, `9`.
    pub release: String,
    /// The source package (or, for distributions whose advisories name binary packages, the
    /// binary package); matched against both names of an installed package.
    pub package: String,
    /// The first affected version, when the flaw came in later than the release's first
    /// version; `None` for "since always".
    pub introduced: Option<String>,
    /// The release's own fixed version; set exactly when `status` is [`FixStatus::Fixed`].
    pub fixed: Option<String>,
    pub status: FixStatus,
    /// When tend first learned of this entry as it stands: for a fixed one, when the fix became
    /// known, which is where the security promise's clock starts.
    pub learned_at: Timestamp,
}

impl AffectedPackage {
    /// Whether `other` is the same release's word on the same package and range, whatever it says.
    fn same_place(&self, other: &AffectedPackage) -> bool {
        self.distribution == other.distribution
            && self.release == other.release
            && self.package == other.package
            && self.introduced == other.introduced
    }
}

/// A security advisory (a CVE, a DSA, an OSV record) and the releases and packages it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advisory {
    /// `CVE-2024-1234`, `DSA-5678-1`, `UBUNTU-CVE-2024-1234`, ...
    pub id: String,
    /// Other names of the same flaw (the CVEs of a DSA); a mitigation may name any of them.
    pub aliases: Vec<String>,
    pub severity: Severity,
    pub summary: String,
    /// When tend first learned of the advisory.
    pub learned_at: Timestamp,
    pub affected: Vec<AffectedPackage>,
}

impl Advisory {
    /// `newer`, a fresh reading of this advisory from its source, with what tend knew before
    /// kept: when it first learned of the advisory, and of each entry that still says the same
    /// (the same status and fixed version for the same release, package and range). An entry
    /// that changed, such as a fix that appeared, is dated from `newer`.
    pub fn refreshed(&self, mut newer: Advisory) -> Result<Advisory, Error> {
        if newer.id != self.id {
            return Err(Error::Invalid {
                field: "id",
                reason: format!("{} is not a newer reading of {}", newer.id, self.id),
            });
        }
        newer.learned_at = newer.learned_at.min(self.learned_at);
        for entry in &mut newer.affected {
            let known = self
                .affected
                .iter()
                .find(|old| old.same_place(entry) && old.status == entry.status && old.fixed == entry.fixed);
            if let Some(old) = known {
                entry.learned_at = entry.learned_at.min(old.learned_at);
            }
        }
        Ok(newer)
    }

    /// Whether `id` names this advisory, by its id or one of its aliases.
    fn is_named(&self, id: &str) -> bool {
        self.id == id || self.aliases.iter().any(|alias| alias == id)
    }
}

/// Debian's release numbers (os-release's `VERSION_ID`, OSV's `Debian:12`) and code names (the
/// security tracker's keys), for the releases with security support or close to it.
const DEBIAN_RELEASES: [(&str, &str); 5] =
    [("10", "buster"), ("11", "bullseye"), ("12", "bookworm"), ("13", "trixie"), ("14", "forky")];

/// The code name of Debian release `number`.
pub(super) fn debian_codename(number: &str) -> Option<&'static str> {
    DEBIAN_RELEASES.iter().find(|(n, _)| *n == number).map(|&(_, name)| name)
}

/// A host's distribution and release, named as advisories name them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HostOs {
    /// os-release's `ID`: `debian`, `ubuntu`, `almalinux`, `rocky`.
    pub distribution: String,
    /// Debian's code name (`bookworm`), Ubuntu's version (`22.04`), the major version of the Red
    /// Hat family (`9`).
    pub release: String,
}

impl HostOs {
    /// From os-release's `ID` and `VERSION_ID`, as the agent reports them. Refuses a
    /// distribution or release whose advisories tend cannot match, so that the server can say
    /// so instead of showing a host with no known vulnerability.
    pub fn from_os_release(id: &str, version_id: &str) -> Result<HostOs, Error> {
        let release = match id {
            "debian" => debian_codename(version_id).map(str::to_owned),
            "ubuntu" => {
                let looks_right = version_id.split_once('.').is_some_and(|(year, month)| {
                    [year, month].iter().all(|part| part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit()))
                });
                looks_right.then(|| version_id.to_owned())
            }
            "almalinux" | "rocky" => {
                let major = version_id.split('.').next().unwrap_or_default();
                (!major.is_empty() && major.bytes().all(|b| b.is_ascii_digit())).then(|| major.to_owned())
            }
            _ => {
                return Err(Error::Invalid {
                    field: "os.id",
                    reason: format!("tend reads no advisories for the distribution {id:?}"),
                });
            }
        };
        let release = release.ok_or_else(|| Error::Invalid {
            field: "os.version_id",
            reason: format!("tend does not know {id} release {version_id:?}"),
        })?;
        Ok(HostOs { distribution: id.to_owned(), release })
    }
}

/// Where a mitigation applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MitigationScope {
    Host(i64),
    /// Every host of the client (a firewall rule at its edge, a feature disabled everywhere).
    Client(i64),
}

/// What was done instead of a fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MitigationKind {
    FeatureDisabled,
    ServiceStopped,
    FirewallRule,
    /// The vulnerable software is to be replaced or the host retired.
    MigrationPlanned,
    Other,
}

/// A technician's answer to an advisory that has no fix yet: what was done, who answers for it,
/// and until when it is trusted without a second look.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mitigation {
    /// The advisory's id or any of its aliases.
    pub advisory_id: String,
    pub scope: MitigationScope,
    pub kind: MitigationKind,
    /// What was done, for the report and the next technician.
    pub description: String,
    /// Who answers for it.
    pub owner: String,
    /// From this instant the mitigation no longer counts until someone reviews it.
    pub review_at: Timestamp,
}

impl Mitigation {
    /// Refuses a blank advisory, description or owner, and a review date that is not after `now`
    /// (a mitigation recorded already due would never count).
    pub fn validate(&self, now: Timestamp) -> Result<(), Error> {
        validate_token("advisory_id", &self.advisory_id)?;
        validate_text("description", &self.description, MAX_TEXT_CHARS)?;
        validate_text("owner", &self.owner, super::MAX_NAME_CHARS)?;
        if self.review_at <= now {
            return Err(Error::Invalid { field: "review_at", reason: "must be in the future".to_owned() });
        }
        Ok(())
    }

    fn covers(&self, host_id: i64, client_id: i64) -> bool {
        match self.scope {
            MitigationScope::Host(id) => id == host_id,
            MitigationScope::Client(id) => id == client_id,
        }
    }
}

/// Why a distribution leaves a flaw unfixed for now: minor, not something the provider has to
/// chase, and reported apart from what is vulnerable or exposed. Each means what the
/// [`FixStatus`] of the same name does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deferral {
    NoDsa,
    Ignored,
    Postponed,
    Unimportant,
}

/// Where a host stands against one advisory, for one installed package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ExposureStatus {
    /// Below the release's fixed version: an update to apply, under the security promise.
    /// `update_available` when the host's package manager already offers a version at or
    /// above the fix.
    Vulnerable { update_available: bool },
    /// Affected, no fix exists, nothing recorded against it.
    Exposed,
    /// Affected, no fix exists, a mitigation in force.
    Mitigated { kind: MitigationKind, owner: String, review_at: Timestamp },
    /// Affected, no fix exists, and the mitigation recorded is past its review date, so it no
    /// longer counts.
    MitigationReviewDue { kind: MitigationKind, owner: String, review_at: Timestamp },
    /// The distribution will not fix it now, for this reason.
    Deferred { reason: Deferral },
}

/// One installed package's standing against one advisory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exposure {
    pub advisory_id: String,
    pub severity: Severity,
    /// The binary package installed.
    pub package: String,
    pub source_package: String,
    pub arch: Option<String>,
    pub installed: String,
    /// The release's fixed version, when there is one.
    pub fixed: Option<String>,
    pub status: ExposureStatus,
    /// When tend learned of the advisory entry this rests on: for a vulnerable package, of its
    /// fix, which is where the security promise's clock starts.
    pub learned_at: Timestamp,
}

/// A package an advisory names that could not be judged: its installed version, or the
/// advisory's version for it, is not one the distribution's package manager could order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unjudged {
    pub advisory_id: String,
    pub package: String,
    pub reason: String,
}

/// What a host's packages meet in the advisories.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matched {
    /// Most severe first, then by advisory and package.
    pub exposures: Vec<Exposure>,
    pub unjudged: Vec<Unjudged>,
}

/// A host's packages as the agent reported them, with where the host belongs.
#[derive(Debug, Clone, Copy)]
pub struct HostPackages<'a> {
    pub host_id: i64,
    pub client_id: i64,
    pub os: &'a HostOs,
    pub installed: &'a [InstalledPackage],
    /// The updates its package manager offers.
    pub pending: &'a [PendingUpdate],
}

/// The source package an installed package was built from: its own name when the agent did not
/// report a different one.
fn source_of(package: &InstalledPackage) -> &str {
    package.source.as_deref().unwrap_or(&package.name)
}

/// Matches a host's installed packages against advisories, for the host's release only.
///
/// An installed package is judged against the entries naming its source or its own name:
/// - vulnerable when its version lies in a fixed entry's range (at or above `introduced`, below
///   `fixed`), against the highest such fix;
/// - otherwise exposed (mitigated, or due for review) when an unfixed entry's range holds it,
///   and deferred when only a no-dsa, ignored, postponed or unimportant one does.
///
/// An unfixed or deferred entry does not count for a package that already has a fix at or above
/// where that entry's range starts: a distribution may list one release twice, as Ubuntu does
/// for its Pro archive, with a fix in one listing only.
///
/// Refuses a host whose distribution has no version order tend knows.
pub fn match_host(
    host: &HostPackages<'_>,
    advisories: &[Advisory],
    mitigations: &[Mitigation],
    now: Timestamp,
) -> Result<Matched, Error> {
    let scheme = VersionScheme::of_distribution(&host.os.distribution).ok_or_else(|| Error::Invalid {
        field: "os.distribution",
        reason: format!("tend knows no version order for {:?}", host.os.distribution),
    })?;
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, package) in host.installed.iter().enumerate() {
        by_name.entry(source_of(package)).or_default().push(index);
        if source_of(package) != package.name {
            by_name.entry(&package.name).or_default().push(index);
        }
    }
    let mut matched = Matched::default();
    for advisory in advisories {
        // Each installed package with every entry that names it, once, in the host's order.
        let mut entries_of: BTreeMap<usize, Vec<&AffectedPackage>> = BTreeMap::new();
        let here = advisory
            .affected
            .iter()
            .filter(|entry| entry.distribution == host.os.distribution && entry.release == host.os.release);
        for entry in here {
            for &index in by_name.get(entry.package.as_str()).into_iter().flatten() {
                entries_of.entry(index).or_default().push(entry);
            }
        }
        for (index, entries) in entries_of {
            let package = &host.installed[index];
            match judge(scheme, &package.version, &entries) {
                Ok(None) => {}
                Ok(Some(verdict)) => {
                    matched.exposures.push(exposure(host, advisory, package, verdict, scheme, mitigations, now));
                }
                Err(reason) => matched.unjudged.push(Unjudged {
                    advisory_id: advisory.id.clone(),
                    package: package.name.clone(),
                    reason,
                }),
            }
        }
    }
    matched.exposures.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.advisory_id.cmp(&b.advisory_id))
            .then_with(|| a.package.cmp(&b.package))
            .then_with(|| a.arch.cmp(&b.arch))
    });
    Ok(matched)
}

/// What the entries naming one installed package say about it.
enum Verdict<'a> {
    /// Below this entry's fix.
    Vulnerable(&'a AffectedPackage),
    Unfixed(&'a AffectedPackage),
    Deferred(&'a AffectedPackage, Deferral),
}

fn judge<'a>(
    scheme: VersionScheme,
    installed: &str,
    entries: &[&'a AffectedPackage],
) -> Result<Option<Verdict<'a>>, String> {
    let compare = |a: &str, b: &str| scheme.compare(a, b).map_err(|e| e.to_string());
    let holds = |entry: &AffectedPackage| -> Result<bool, String> {
        match &entry.introduced {
            None => Ok(true),
            Some(introduced) => Ok(compare(installed, introduced)? != Ordering::Less),
        }
    };
    // The highest fix the package lies below, and the highest one it already has.
    let mut below: Option<(&AffectedPackage, &str)> = None;
    let mut has: Option<&str> = None;
    for &entry in entries.iter().filter(|entry| entry.status == FixStatus::Fixed) {
        let fixed = entry.fixed.as_deref().ok_or_else(|| "a fixed entry without its fixed version".to_owned())?;
        if !holds(entry)? {
            continue;
        }
        if compare(installed, fixed)? == Ordering::Less {
            if below.is_none_or(|(_, other)| compare(fixed, other).is_ok_and(|o| o == Ordering::Greater)) {
                below = Some((entry, fixed));
            }
        } else if has.is_none_or(|other| compare(fixed, other).is_ok_and(|o| o == Ordering::Greater)) {
            has = Some(fixed);
        }
    }
    if let Some((entry, _)) = below {
        return Ok(Some(Verdict::Vulnerable(entry)));
    }
    let counts = |entry: &AffectedPackage| -> Result<bool, String> {
        if !holds(entry)? {
            return Ok(false);
        }
        Ok(match (has, &entry.introduced) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(fix), Some(introduced)) => compare(fix, introduced)? == Ordering::Less,
        })
    };
    for &entry in entries.iter().filter(|entry| entry.status == FixStatus::Unfixed) {
        if counts(entry)? {
            return Ok(Some(Verdict::Unfixed(entry)));
        }
    }
    for &entry in entries {
        if let Some(deferral) = entry.status.deferral()
            && counts(entry)?
        {
            return Ok(Some(Verdict::Deferred(entry, deferral)));
        }
    }
    Ok(None)
}

fn exposure(
    host: &HostPackages<'_>,
    advisory: &Advisory,
    package: &InstalledPackage,
    verdict: Verdict<'_>,
    scheme: VersionScheme,
    mitigations: &[Mitigation],
    now: Timestamp,
) -> Exposure {
    let (entry, status) = match verdict {
        Verdict::Vulnerable(entry) => {
            let fixed = entry.fixed.as_deref().unwrap_or_default();
            let update_available = host.pending.iter().any(|update| {
                update.name == package.name
                    && same_arch(&update.architecture, &package.architecture)
                    && scheme.compare(&update.new_version, fixed).is_ok_and(|o| o != Ordering::Less)
            });
            (entry, ExposureStatus::Vulnerable { update_available })
        }
        Verdict::Unfixed(entry) => (entry, mitigation_status(host, advisory, mitigations, now)),
        Verdict::Deferred(entry, reason) => (entry, ExposureStatus::Deferred { reason }),
    };
    Exposure {
        advisory_id: advisory.id.clone(),
        severity: advisory.severity,
        package: package.name.clone(),
        source_package: source_of(package).to_owned(),
        arch: package.architecture.clone(),
        installed: package.version.clone(),
        fixed: entry.fixed.clone(),
        status,
        learned_at: entry.learned_at,
    }
}

/// Architectures match when equal or when either side does not say.
fn same_arch(a: &Option<String>, b: &Option<String>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

/// Exposed, or mitigated by the best mitigation recorded for this host: one in force before one
/// due for review, a host's own before its client's, the one trusted longest first.
fn mitigation_status(
    host: &HostPackages<'_>,
    advisory: &Advisory,
    mitigations: &[Mitigation],
    now: Timestamp,
) -> ExposureStatus {
    let best = mitigations
        .iter()
        .filter(|m| advisory.is_named(&m.advisory_id) && m.covers(host.host_id, host.client_id))
        .max_by_key(|m| (m.review_at > now, matches!(m.scope, MitigationScope::Host(_)), m.review_at));
    match best {
        None => ExposureStatus::Exposed,
        Some(m) if m.review_at > now => {
            ExposureStatus::Mitigated { kind: m.kind, owner: m.owner.clone(), review_at: m.review_at }
        }
        Some(m) => ExposureStatus::MitigationReviewDue { kind: m.kind, owner: m.owner.clone(), review_at: m.review_at },
    }
}

#[cfg(test)]
mod tests;
