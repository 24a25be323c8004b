//! Rings: a patch set reaches ring N+1 only after ring N applied it everywhere, then soaked for
//! its time with no new critical alert on its hosts. A failure halts the rollout; so does a new
//! critical alert on a patched host while its ring is still the gate. Promotion without soak is
//! possible, with a reason the server audits.
//!
//! The rollout is data (rings, outcomes, promotions) and [`next_step`] derives what to do from
//! it every time, so a restarted server picks up where it was and a late outcome changes the
//! answer. A host's latest outcome counts: retrying a failed host resumes a halted rollout.
//!
//! Must not: run jobs, open tickets, store, or read the clock. The server asks [`next_step`],
//! does what it says, records outcomes and promotions, and audits promotions without soak.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::{MAX_TEXT_CHARS, validate_text, validate_token};
use crate::Error;

/// How long a ring soaks unless the policy says otherwise.
pub const DEFAULT_SOAK: SignedDuration = SignedDuration::from_hours(24);
/// How long a ring soaks in an emergency unless the policy says otherwise: enough for a broken
/// service to show on the test ring, short enough to keep the security promise.
pub const DEFAULT_EMERGENCY_SOAK: SignedDuration = SignedDuration::from_hours(2);
/// The longest soak a policy may ask for.
pub const MAX_SOAK: SignedDuration = SignedDuration::from_hours(30 * 24);

/// Why a patch set is rolled out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// The regular cadence.
    Regular,
    /// A security fix under the promise, or an authorized emergency.
    Emergency,
}

/// How long each ring soaks before the next one starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoakPolicy {
    #[serde(default = "default_soak")]
    pub regular: SignedDuration,
    #[serde(default = "default_emergency_soak")]
    pub emergency: SignedDuration,
}

fn default_soak() -> SignedDuration {
    DEFAULT_SOAK
}

fn default_emergency_soak() -> SignedDuration {
    DEFAULT_EMERGENCY_SOAK
}

impl Default for SoakPolicy {
    fn default() -> SoakPolicy {
        SoakPolicy { regular: DEFAULT_SOAK, emergency: DEFAULT_EMERGENCY_SOAK }
    }
}

impl SoakPolicy {
    /// Refuses a negative soak, one longer than [`MAX_SOAK`], and an emergency soak longer than
    /// the regular one (an emergency shortens it).
    pub fn validate(&self) -> Result<(), Error> {
        for (field, soak) in [("soak.regular", self.regular), ("soak.emergency", self.emergency)] {
            if soak.is_negative() || soak > MAX_SOAK {
                return Err(Error::Invalid {
                    field,
                    reason: format!("{soak:#} must be at least zero and at most {MAX_SOAK:#}"),
                });
            }
        }
        if self.emergency > self.regular {
            return Err(Error::Invalid {
                field: "soak.emergency",
                reason: format!("{:#} is longer than the regular soak of {:#}", self.emergency, self.regular),
            });
        }
        Ok(())
    }

    /// How long each ring of a rollout of this urgency soaks.
    pub fn soak(&self, urgency: Urgency) -> SignedDuration {
        match urgency {
            Urgency::Regular => self.regular,
            Urgency::Emergency => self.emergency,
        }
    }
}

/// How applying the patch set went on one host, as its job and the post-update health gate
/// reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    Failed {
        reason: String,
    },
    /// Nothing to apply on this host (the customer holds every package back): it does not hold
    /// its ring up.
    Skipped {
        reason: String,
    },
}

/// One host's outcome, and when it came.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub host_id: i64,
    pub outcome: Outcome,
    pub at: Timestamp,
}

/// The start of a ring other than the first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promotion {
    pub at: Timestamp,
    /// Set when the previous ring's soak was cut short: why, as the technician wrote it.
    pub without_soak: Option<String>,
}

/// One ring of a rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RingState {
    pub name: String,
    pub hosts: Vec<i64>,
    /// How long this ring soaks once patched, before the next one starts.
    pub soak: SignedDuration,
    /// `None` until the ring may start; the first ring with hosts needs none.
    pub promoted: Option<Promotion>,
    /// Outcomes in the order they came.
    pub applied: Vec<Applied>,
}

impl RingState {
    /// Each host's latest outcome, ignoring outcomes of hosts no longer in the ring.
    pub fn latest_outcomes(&self) -> HashMap<i64, &Applied> {
        let mut latest = HashMap::new();
        for applied in self.applied.iter().filter(|applied| self.hosts.contains(&applied.host_id)) {
            latest.insert(applied.host_id, applied);
        }
        latest
    }

    /// Whether every host is done with the patch set: applied, or nothing to apply. A ring
    /// without hosts is never patched (a rollout passes it by).
    pub fn patched(&self) -> bool {
        let latest = self.latest_outcomes();
        !self.hosts.is_empty()
            && self
                .hosts
                .iter()
                .all(|host| latest.get(host).is_some_and(|applied| !matches!(applied.outcome, Outcome::Failed { .. })))
    }
}

/// A patch set on its way through the rings. Which patch set is the caller's: the server's
/// rollout row names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollout {
    pub urgency: Urgency,
    pub rings: Vec<RingState>,
}

/// What the server should do next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Apply the patch set to these hosts of ring `ring` (those without an outcome yet), unless
    /// a job is already under way for them.
    ApplyToRing { ring: usize, hosts: Vec<i64> },
    /// Ring `ring` is patched and soaks until `until`; nothing to do but wait.
    Soaking { ring: usize, until: Timestamp },
    /// Ring `ring` may start: record its [`Promotion`] (see [`Rollout::promote`]).
    Promote { ring: usize },
    /// Stop: nothing more is applied until someone looks. The server opens a ticket.
    Halted(Halt),
    /// Every ring is patched.
    Done,
}

/// Why a rollout stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Halt {
    HostFailed {
        ring: usize,
        host_id: i64,
        reason: String,
    },
    /// A critical alert fired on a patched host after it was patched, while its ring was the gate.
    CriticalAlert {
        ring: usize,
        host_id: i64,
        patched_at: Timestamp,
    },
}

impl fmt::Display for Halt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Halt::HostFailed { ring, host_id, reason } => {
                write!(f, "the update failed on host {host_id} (ring {ring}): {reason}")
            }
            Halt::CriticalAlert { ring, host_id, patched_at } => {
                write!(f, "a critical alert fired on host {host_id} (ring {ring}) after it was patched at {patched_at}")
            }
        }
    }
}

impl Rollout {
    /// A rollout through `rings` (name and hosts, in order), each soaking as
    /// `policy` says for `urgency`. Refuses no rings, a blank or repeated ring name, a host in
    /// two rings, and an invalid policy. A ring may be empty: it is skipped.
    pub fn plan(rings: Vec<(String, Vec<i64>)>, policy: &SoakPolicy, urgency: Urgency) -> Result<Rollout, Error> {
        policy.validate()?;
        if rings.is_empty() {
            return Err(Error::Invalid { field: "rings", reason: "a rollout needs at least one ring".to_owned() });
        }
        let mut names = BTreeSet::new();
        let mut ring_of = HashMap::new();
        for (index, (name, hosts)) in rings.iter().enumerate() {
            validate_token("rings.name", name)?;
            if !names.insert(name.as_str()) {
                return Err(Error::Invalid { field: "rings.name", reason: format!("ring {name} appears twice") });
            }
            for &host in hosts {
                if let Some(other) = ring_of.insert(host, index) {
                    return Err(Error::Invalid {
                        field: "rings.hosts",
                        reason: format!("host {host} is in ring {} and ring {}", rings[other].0, name),
                    });
                }
            }
        }
        let soak = policy.soak(urgency);
        let rings = rings
            .into_iter()
            .map(|(name, hosts)| RingState { name, hosts, soak, promoted: None, applied: Vec::new() })
            .collect();
        Ok(Rollout { urgency, rings })
    }

    /// Records a host's outcome. Refuses a host in no ring.
    pub fn record(&mut self, host_id: i64, outcome: Outcome, at: Timestamp) -> Result<(), Error> {
        let ring = self.rings.iter_mut().find(|ring| ring.hosts.contains(&host_id)).ok_or_else(|| Error::Invalid {
            field: "host_id",
            reason: format!("host {host_id} is in no ring of this rollout"),
        })?;
        ring.applied.push(Applied { host_id, outcome, at });
        Ok(())
    }

    /// Starts the ring [`next_step`] says may start, and returns it. Refuses when the next step
    /// is anything else.
    pub fn promote(
        &mut self,
        new_critical_alert: &dyn Fn(i64, Timestamp) -> bool,
        now: Timestamp,
    ) -> Result<usize, Error> {
        match next_step(self, new_critical_alert, now) {
            Step::Promote { ring } => {
                self.rings[ring].promoted = Some(Promotion { at: now, without_soak: None });
                Ok(ring)
            }
            step => Err(not_now("promote", &step)),
        }
    }

    /// Starts the ring after the one soaking without waiting for the soak to end, for `reason`
    /// (required; the server audits it), and returns it. Refuses when no ring is soaking: a
    /// halted rollout is not resumed this way, and an unpatched ring is not skipped.
    pub fn promote_without_soak(
        &mut self,
        reason: &str,
        new_critical_alert: &dyn Fn(i64, Timestamp) -> bool,
        now: Timestamp,
    ) -> Result<usize, Error> {
        let reason = validate_text("reason", reason, MAX_TEXT_CHARS)?.to_owned();
        match next_step(self, new_critical_alert, now) {
            Step::Soaking { ring, .. } => {
                let next = (ring + 1..self.rings.len())
                    .find(|&index| !self.rings[index].hosts.is_empty())
                    .expect("a ring soaks only when a ring with hosts follows it");
                self.rings[next].promoted = Some(Promotion { at: now, without_soak: Some(reason) });
                Ok(next)
            }
            step => Err(not_now("promote without soak", &step)),
        }
    }
}

fn not_now(action: &str, step: &Step) -> Error {
    let state = match step {
        Step::ApplyToRing { ring, .. } => format!("ring {ring} is still being patched"),
        Step::Soaking { ring, until } => format!("ring {ring} soaks until {until}"),
        Step::Promote { ring } => format!("ring {ring} may be promoted after its soak"),
        Step::Halted(halt) => format!("the rollout is halted: {halt}"),
        Step::Done => "the rollout is done".to_owned(),
    };
    Error::Invalid { field: "rollout", reason: format!("cannot {action} now: {state}") }
}

/// What to do next with `rollout` at `now`. `new_critical_alert(host, since)` says whether a
/// critical alert fired on `host` since `since`.
///
/// Rings are walked in order, empty ones skipped. A ring that has started (the first with hosts,
/// or a promoted one) halts the rollout if a host's latest outcome is a failure, or if a new
/// critical alert fired on a patched host while the ring is still the gate (the next ring not
/// yet promoted, or the ring the last and not fully patched); else its hosts without an outcome
/// are to be patched. Once every host of a ring succeeded, it soaks from its last success for its
/// soak time, then the next ring with hosts is to be promoted. The last ring patched, the rollout
/// is done.
pub fn next_step(rollout: &Rollout, new_critical_alert: &dyn Fn(i64, Timestamp) -> bool, now: Timestamp) -> Step {
    let with_hosts: Vec<usize> = (0..rollout.rings.len()).filter(|&i| !rollout.rings[i].hosts.is_empty()).collect();
    for (position, &index) in with_hosts.iter().enumerate() {
        let ring = &rollout.rings[index];
        let latest = ring.latest_outcomes();
        for &host_id in &ring.hosts {
            if let Some(Applied { outcome: Outcome::Failed { reason }, .. }) = latest.get(&host_id) {
                return Step::Halted(Halt::HostFailed { ring: index, host_id, reason: reason.clone() });
            }
        }
        let unpatched: Vec<i64> = ring.hosts.iter().copied().filter(|host| !latest.contains_key(host)).collect();
        let Some(&next_index) = with_hosts.get(position + 1) else {
            if unpatched.is_empty() {
                // A later alert on the last ring is the post-update health gate's business.
                return Step::Done;
            }
            // The last ring is its own gate while it is being patched.
            return halt_on_alert(rollout, index, &latest, new_critical_alert)
                .unwrap_or(Step::ApplyToRing { ring: index, hosts: unpatched });
        };
        let gate = rollout.rings[next_index].promoted.is_none();
        if gate && let Some(halted) = halt_on_alert(rollout, index, &latest, new_critical_alert) {
            return halted;
        }
        if !unpatched.is_empty() {
            return Step::ApplyToRing { ring: index, hosts: unpatched };
        }
        if gate {
            let patched_at = latest.values().map(|applied| applied.at).max().unwrap_or(now);
            let until = patched_at.checked_add(ring.soak).unwrap_or(Timestamp::MAX);
            return if now < until { Step::Soaking { ring: index, until } } else { Step::Promote { ring: next_index } };
        }
    }
    Step::Done
}

/// Halted, if a critical alert fired on a host of ring `index` since it was patched.
fn halt_on_alert(
    rollout: &Rollout,
    index: usize,
    latest: &HashMap<i64, &Applied>,
    new_critical_alert: &dyn Fn(i64, Timestamp) -> bool,
) -> Option<Step> {
    rollout.rings[index].hosts.iter().find_map(|&host_id| {
        let applied = latest.get(&host_id)?;
        new_critical_alert(host_id, applied.at).then_some(Step::Halted(Halt::CriticalAlert {
            ring: index,
            host_id,
            patched_at: applied.at,
        }))
    })
}

#[cfg(test)]
mod tests;
