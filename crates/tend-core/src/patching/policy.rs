//! The provider's promises about updates and whether a host keeps them: security fixes applied
//! within a set time of tend learning of them (24 hours unless the client's policy says
//! otherwise), and the holds a customer asked for, which keep packages out of every patch set
//! and out of the promise's count.
//!
//! The clock of a security fix starts when tend learned of the fix for the host's release, not
//! when it learned of the flaw: a flaw known for weeks without a fix cannot have been patched,
//! and its fix gets the whole promised time once it exists.
//!
//! Must not: schedule anything (the server places jobs in maintenance or emergency windows),
//! read the clock, or judge vulnerability (`advisory` does).

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use tend_proto::inventory::PendingUpdate;

use super::advisory::{Exposure, ExposureStatus, Severity};
use super::{MAX_NAME_CHARS, MAX_TEXT_CHARS, validate_text};
use crate::Error;

/// Time within which a security fix is applied, counted from when tend learned of it, unless
/// the client's policy says otherwise.
pub const DEFAULT_SECURITY_PROMISE: SignedDuration = SignedDuration::from_hours(24);
/// The longest promise a policy may make: past a month, the monthly cadence would apply the fix
/// first and the promise would mean nothing.
pub const MAX_SECURITY_PROMISE: SignedDuration = SignedDuration::from_hours(31 * 24);

/// How long a host has after an update to show it is healthy, unless the policy says otherwise.
pub const DEFAULT_HEALTH_GATE: SignedDuration = SignedDuration::from_mins(30);
/// The longest health gate a policy may set: a host that needs longer to come back is down.
pub const MAX_HEALTH_GATE: SignedDuration = SignedDuration::from_hours(24);

/// When a security fix tend learned of at `learned_at` must be applied by (at the latest, that
/// instant included). Saturates at the end of representable time.
pub fn security_deadline(learned_at: Timestamp, promise: SignedDuration) -> Timestamp {
    learned_at.checked_add(promise).unwrap_or(Timestamp::MAX)
}

/// Packages a customer asked to leave alone, maybe until some date: a pinned database version,
/// a kernel waiting for a vendor's certification. Held packages are left out of patch sets and
/// their security fixes do not count against the promise (the report still lists them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    /// A binary package name, or a pattern where `*` stands for any run of characters and `?`
    /// for one: `postgresql-*`, `linux-image-*`.
    pub package: String,
    /// When the hold ends by itself; `None` until lifted.
    pub until: Option<Timestamp>,
    pub reason: String,
}

impl Hold {
    /// Refuses an empty pattern, characters no package name has, and a blank reason.
    pub fn validate(&self) -> Result<(), Error> {
        let pattern = &self.package;
        let reason = if pattern.is_empty() {
            Some("must not be empty".to_owned())
        } else if pattern.chars().count() > MAX_NAME_CHARS {
            Some(format!("must be at most {MAX_NAME_CHARS} characters"))
        } else {
            pattern
                .chars()
                .find(|&c| !c.is_ascii_alphanumeric() && !"+-._:*?".contains(c))
                .map(|c| format!("{c:?} is neither in a package name nor a wildcard (* or ?)"))
        };
        if let Some(reason) = reason {
            return Err(Error::Invalid { field: "hold.package", reason });
        }
        validate_text("hold.reason", &self.reason, MAX_TEXT_CHARS)?;
        Ok(())
    }

    /// Whether this hold keeps `package` back at `at`.
    pub fn holds(&self, package: &str, at: Timestamp) -> bool {
        self.until.is_none_or(|until| at < until) && wildcard_match(self.package.as_bytes(), package.as_bytes())
    }
}

/// `*` matches any run of bytes, `?` one byte. Greedy with a single backtrack point (the last
/// star), so a pattern full of stars cannot make it exponential.
fn wildcard_match(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                // Let the last star swallow one more byte and try again from there.
                Some((star_p, star_n)) => {
                    p = star_p + 1;
                    n = star_n + 1;
                    star = Some((star_p, star_n + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

/// Whether a host that needs a reboot after its updates gets one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RebootPolicy {
    /// Never: the host stays "reboot required" until someone reboots it.
    Never,
    /// Inside its maintenance window, spread over the window when several hosts share it, and
    /// only where an authorization allows it then.
    #[default]
    InWindow,
    /// Ask the customer first: a ticket asks for the authorization; the host is not rebooted.
    Ask,
}

/// A client's patch policy, as far as the domain rules go (its cadence is a maintenance window).
/// A site or a host may have its own, which then replaces the client's as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchPolicy {
    /// Written as jiff writes durations: "24h", "PT4H".
    #[serde(default = "default_security_promise")]
    pub security_promise: SignedDuration,
    #[serde(default)]
    pub holds: Vec<Hold>,
    #[serde(default)]
    pub reboot: RebootPolicy,
    /// How long a host has, after its update (and its reboot), to report again with no new
    /// problem before the update counts as failed on it.
    #[serde(default = "default_health_gate")]
    pub health_gate: SignedDuration,
    /// Whether tend starts an emergency rollout by itself for every security fix the client's
    /// hosts need, so that the promise is kept without anyone starting it.
    #[serde(default)]
    pub auto_security_rollouts: bool,
}

fn default_security_promise() -> SignedDuration {
    DEFAULT_SECURITY_PROMISE
}

fn default_health_gate() -> SignedDuration {
    DEFAULT_HEALTH_GATE
}

impl Default for PatchPolicy {
    fn default() -> PatchPolicy {
        PatchPolicy {
            security_promise: DEFAULT_SECURITY_PROMISE,
            holds: Vec::new(),
            reboot: RebootPolicy::default(),
            health_gate: DEFAULT_HEALTH_GATE,
            auto_security_rollouts: false,
        }
    }
}

impl PatchPolicy {
    /// Refuses a promise that is not positive or longer than [`MAX_SECURITY_PROMISE`], and any
    /// invalid hold.
    pub fn validate(&self) -> Result<(), Error> {
        if self.security_promise <= SignedDuration::ZERO || self.security_promise > MAX_SECURITY_PROMISE {
            return Err(Error::Invalid {
                field: "security_promise",
                reason: format!(
                    "{:#} must be more than zero and at most {:#}",
                    self.security_promise, MAX_SECURITY_PROMISE
                ),
            });
        }
        if self.health_gate.is_negative() || self.health_gate > MAX_HEALTH_GATE {
            return Err(Error::Invalid {
                field: "health_gate",
                reason: format!("{:#} must be at least zero and at most {MAX_HEALTH_GATE:#}", self.health_gate),
            });
        }
        self.holds.iter().try_for_each(Hold::validate)
    }

    /// The first hold keeping `package` back at `at`.
    pub fn hold_on(&self, package: &str, at: Timestamp) -> Option<&Hold> {
        self.holds.iter().find(|hold| hold.holds(package, at))
    }
}

/// A host's updates split by the policy's holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection<'a> {
    pub apply: Vec<&'a PendingUpdate>,
    /// Each held update with the hold that keeps it back.
    pub held: Vec<(&'a PendingUpdate, &'a Hold)>,
}

/// Which of `updates` a patch set may apply at `at`, and which the policy's holds keep back.
pub fn select_updates<'a>(updates: &'a [PendingUpdate], policy: &'a PatchPolicy, at: Timestamp) -> Selection<'a> {
    let mut selection = Selection { apply: Vec::new(), held: Vec::new() };
    for update in updates {
        match policy.hold_on(&update.name, at) {
            Some(hold) => selection.held.push((update, hold)),
            None => selection.apply.push(update),
        }
    }
    selection
}

/// A security fix a host still needs, for one advisory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSecurity {
    pub advisory_id: String,
    pub severity: Severity,
    /// The binary packages to update, sorted.
    pub packages: Vec<String>,
    /// When tend learned of the fix (the earliest, when packages differ).
    pub learned_at: Timestamp,
    pub deadline: Timestamp,
    /// Time since `learned_at`; zero if that is ahead.
    pub age: SignedDuration,
    /// Past its deadline, held or not.
    pub overdue: bool,
    /// Whether the host's package manager offers the fix for every package already.
    pub update_available: bool,
    /// Why the fix waits, when holds keep every package back.
    pub held: Option<String>,
}

/// Where a host stands against its patch policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compliance {
    /// Oldest first.
    pub pending_security: Vec<PendingSecurity>,
    /// No security fix is overdue but those the customer holds back.
    pub within_promise: bool,
    /// The earliest deadline still ahead (of a fix not held): when the host would next break
    /// the promise. `None` when nothing is pending.
    pub next_deadline: Option<Timestamp>,
    /// Advisories with no fix and nothing done about them.
    pub exposed: usize,
    /// Advisories with no fix and a mitigation in force.
    pub mitigated: usize,
    /// Advisories with no fix whose mitigation is past its review date, so no longer counts.
    pub mitigation_review_due: usize,
    /// Advisories the distribution will not fix now.
    pub deferred: usize,
}

/// A host's compliance at `now`, from its exposures (see [`super::match_host`]).
pub fn compliance(exposures: &[Exposure], policy: &PatchPolicy, now: Timestamp) -> Compliance {
    let mut fixes: BTreeMap<&str, Vec<&Exposure>> = BTreeMap::new();
    // Advisories without a fix, by status: exposed, mitigated, review due, deferred.
    let mut others: [BTreeSet<&str>; 4] = Default::default();
    for exposure in exposures {
        let id = exposure.advisory_id.as_str();
        let slot = match exposure.status {
            ExposureStatus::Vulnerable { .. } => {
                fixes.entry(id).or_default().push(exposure);
                continue;
            }
            ExposureStatus::Exposed => 0,
            ExposureStatus::Mitigated { .. } => 1,
            ExposureStatus::MitigationReviewDue { .. } => 2,
            ExposureStatus::Deferred { .. } => 3,
        };
        others[slot].insert(id);
    }
    let mut pending: Vec<PendingSecurity> = fixes
        .into_iter()
        .map(|(advisory_id, exposures)| {
            let learned_at = exposures.iter().map(|e| e.learned_at).min().unwrap_or(now);
            let deadline = security_deadline(learned_at, policy.security_promise);
            let mut packages: Vec<String> = exposures.iter().map(|e| e.package.clone()).collect();
            packages.sort();
            packages.dedup();
            let holds: Vec<Option<&Hold>> = packages.iter().map(|p| policy.hold_on(p, now)).collect();
            let held = if holds.iter().all(Option::is_some) {
                holds.first().copied().flatten().map(|hold| hold.reason.clone())
            } else {
                None
            };
            PendingSecurity {
                advisory_id: advisory_id.to_owned(),
                severity: exposures.iter().map(|e| e.severity).max().unwrap_or(Severity::Unknown),
                packages,
                learned_at,
                deadline,
                age: now.duration_since(learned_at).max(SignedDuration::ZERO),
                overdue: now > deadline,
                update_available: exposures
                    .iter()
                    .all(|e| matches!(e.status, ExposureStatus::Vulnerable { update_available: true })),
                held,
            }
        })
        .collect();
    pending.sort_by(|a, b| a.learned_at.cmp(&b.learned_at).then_with(|| a.advisory_id.cmp(&b.advisory_id)));
    let not_held = || pending.iter().filter(|p| p.held.is_none());
    let [exposed, mitigated, mitigation_review_due, deferred] = others.map(|ids| ids.len());
    Compliance {
        within_promise: !not_held().any(|p| p.overdue),
        next_deadline: not_held().filter(|p| !p.overdue).map(|p| p.deadline).min(),
        pending_security: pending,
        exposed,
        mitigated,
        mitigation_review_due,
        deferred,
    }
}

#[cfg(test)]
mod tests;
