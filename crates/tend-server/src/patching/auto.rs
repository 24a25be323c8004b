//! Automatic emergency rollouts: the patch policy's `auto_security_rollouts` keeps the security
//! promise without anyone starting a rollout.
//!
//! A pass ([`run`]) looks at every client whose contract includes patching. The security fixes
//! pending on its hosts whose policy in force has the flag (fixes the package manager already
//! offers and the policy does not hold back) that no rollout covers yet ([`needed`]) go into one
//! emergency rollout through the client's default rings, audited as `rollout.auto_created`. The
//! scheduler runs a pass regularly and the advisory import API after each import.
//!
//! A rollout goes to every host of its rings: hosts of the client whose policy has the flag off
//! get the packages too when they share a ring with one that has it on.
//!
//! Several instances on PostgreSQL each run the pass, and two of them may both find a fix not
//! covered and each start a rollout for it (the second rollout then finds the packages applied).
//! Until instance leases share the scheduler's work, the window is kept small: the client's
//! rollouts are read after its hosts' exposures, right before the rollout is created.
//!
//! Must not: decide what is vulnerable, pending or held (the domain's compliance does), or plan
//! and drive the rollout (`rollout` does).

use std::collections::BTreeSet;

use jiff::Timestamp;
use tend_core::patching::{Advisory, PendingSecurity};
use tend_core::tenancy::Scope;
use tend_store::{AuditEntry, RolloutRow};

use super::policy::ClientPolicies;
use super::rollout::{self, NewRollout};
use crate::desk::contract;
use crate::{AppState, Error};

/// Clients, and hosts of a client, read at a time.
const PAGE: u32 = 1000;
/// A client's newest rollouts looked at for what they cover; more than a client starts in the
/// lifetime of a fix.
const ROLLOUTS_READ: u32 = 1000;
/// The longest rollout name `rollout::create` accepts.
const MAX_NAME: usize = 200;

/// What one client's automatic rollout is to cover, each sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Needed {
    advisories: Vec<String>,
    packages: Vec<String>,
}

/// Whether `rollout` (with the packages it lists) covers `package` of a fix tend learned of at
/// `learned_at`. A running one does, whenever it started: it applies what the package manager
/// offers when its job runs. A done one only when started after tend learned of the fix, so
/// that a package that still needs the fix after such a rollout (it failed to update on a host)
/// is not rolled out again and again. A halted one likewise: a halt is a person's business (its
/// ticket), so no other rollout is started for the same fix while one is halted; halted being
/// final, one started before tend learned of the fix does not hold a later fix back for ever.
fn covers((rollout, listed): &(&RolloutRow, Vec<String>), package: &str, learned_at: Timestamp) -> bool {
    let current = match rollout.status.as_str() {
        "running" => true,
        "done" | "halted" => rollout.created_at >= learned_at,
        _ => false,
    };
    current && listed.iter().any(|name| name == package)
}

/// The advisories and packages of `pending` (the fixes of the client's hosts under the flag)
/// that an automatic rollout is to cover: fixes whose update is available and not held back,
/// with their packages that none of `rollouts` covers. `None` when nothing is left.
fn needed(pending: &[PendingSecurity], rollouts: &[RolloutRow]) -> Option<Needed> {
    let listed: Vec<(&RolloutRow, Vec<String>)> = rollouts.iter().map(|row| (row, rollout::packages(row))).collect();
    let mut advisories = BTreeSet::new();
    let mut packages = BTreeSet::new();
    for fix in pending.iter().filter(|fix| fix.update_available && fix.held.is_none()) {
        let uncovered: Vec<&String> = fix
            .packages
            .iter()
            .filter(|package| !listed.iter().any(|rollout| covers(rollout, package, fix.learned_at)))
            .collect();
        if !uncovered.is_empty() {
            advisories.insert(fix.advisory_id.clone());
            packages.extend(uncovered.into_iter().cloned());
        }
    }
    (!packages.is_empty())
        .then(|| Needed { advisories: advisories.into_iter().collect(), packages: packages.into_iter().collect() })
}

/// The rollout's name after its advisories, cut to what a rollout's name may be.
fn name(advisories: &[String]) -> String {
    let full = format!("Security: {}", advisories.join(", "));
    if full.chars().count() <= MAX_NAME {
        return full;
    }
    let mut cut: String = full.chars().take(MAX_NAME - 1).collect();
    cut.push('…');
    cut
}

/// One pass over every client. One client's failure is logged and costs no other.
pub async fn run(state: &AppState, now: Timestamp) -> Result<(), Error> {
    let advisories = super::advisories(state).await?;
    if advisories.is_empty() {
        return Ok(());
    }
    let mut after = 0;
    loop {
        let clients = state.store.list_clients(Scope::System, after, PAGE).await?;
        let Some(last) = clients.last() else { break };
        after = last.id;
        for client in clients {
            if let Err(e) = for_client(state, client.id, &advisories, now).await {
                tracing::error!(client = client.id, error = %e, "an automatic security rollout failed");
            }
        }
    }
    Ok(())
}

/// Starts the client's automatic rollout when one is needed.
async fn for_client(state: &AppState, client_id: i64, advisories: &[Advisory], now: Timestamp) -> Result<(), Error> {
    if !contract::of_client(state, client_id).await?.includes("patching") {
        return Ok(());
    }
    let policies = ClientPolicies::read(state, Scope::System, client_id).await?;
    let mut pending = Vec::new();
    let mut after = 0;
    loop {
        let hosts = state.store.list_hosts(Scope::System, Some(client_id), after, PAGE).await?;
        let Some(last) = hosts.last() else { break };
        after = last.id;
        for host in hosts {
            let policy = policies.for_host(&host).policy;
            if !policy.auto_security_rollouts {
                continue;
            }
            let found = super::exposures_of_host(state, Scope::System, host, advisories, now).await?;
            pending.extend(found.compliance(&policy, now).into_iter().flat_map(|c| c.pending_security));
        }
    }
    if pending.is_empty() {
        return Ok(());
    }
    let rollouts = state.store.rollouts(Scope::System, Some(client_id), None, ROLLOUTS_READ).await?;
    let Some(needed) = needed(&pending, &rollouts) else { return Ok(()) };
    let new = NewRollout {
        client_id,
        name: name(&needed.advisories),
        packages: needed.packages.clone(),
        rings: None,
        urgency: Some("emergency".into()),
        soak_secs: None,
    };
    let created = match rollout::create(state, Scope::System, None, new).await {
        Ok(created) => created,
        // No host of the client is in a ring: nothing to roll out through until someone places
        // them, which the promise's status shows meanwhile.
        Err(Error::Invalid { field: Some(field), detail }) if field == "rings" => {
            tracing::debug!(client = client_id, reason = detail, "no automatic security rollout");
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    tracing::info!(client = client_id, rollout = created.id, name = created.name, "automatic security rollout started");
    let detail = format!(
        "emergency rollout {} started by the patch policy for advisories {}: packages {}",
        created.id,
        needed.advisories.join(", "),
        needed.packages.join(", ")
    );
    state
        .store
        .audit(&AuditEntry::allowed(created.created_at, None, Some(client_id), "rollout.auto_created", detail))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;
    use tend_core::patching::Severity;

    use super::*;

    fn at(hours: i64) -> Timestamp {
        Timestamp::UNIX_EPOCH + SignedDuration::from_hours(hours)
    }

    fn fix(advisory: &str, packages: &[&str], learned_hours: i64) -> PendingSecurity {
        PendingSecurity {
            advisory_id: advisory.into(),
            severity: Severity::High,
            packages: packages.iter().map(|p| (*p).to_owned()).collect(),
            learned_at: at(learned_hours),
            deadline: at(learned_hours + 24),
            age: SignedDuration::ZERO,
            overdue: false,
            update_available: true,
            held: None,
        }
    }

    fn rollout(status: &str, packages: &[&str], created_hours: i64) -> RolloutRow {
        RolloutRow {
            id: 1,
            client_id: 1,
            name: "r".into(),
            urgency: "emergency".into(),
            packages: serde_json::to_string(packages).unwrap(),
            state: String::new(),
            status: status.into(),
            halt_reason: None,
            ticket_id: None,
            reboot_ticket_id: None,
            created_by: None,
            created_at: at(created_hours),
            updated_at: at(created_hours),
        }
    }

    fn of(advisories: &[&str], packages: &[&str]) -> Option<Needed> {
        let owned = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect();
        Some(Needed { advisories: owned(advisories), packages: owned(packages) })
    }

    #[test]
    fn fixes_of_several_hosts_make_one_sorted_set_without_the_unavailable_or_held_ones() {
        let mut unavailable = fix("DSA-3", &["curl"], 10);
        unavailable.update_available = false;
        let mut held = fix("DSA-4", &["nginx"], 10);
        held.held = Some("the customer's release freeze".into());
        let pending = [
            fix("DSA-2", &["openssl", "libssl3"], 10),
            fix("DSA-1", &["libssl3"], 12),
            unavailable,
            held,
            fix("DSA-2", &["openssl"], 10),
        ];
        assert_eq!(needed(&pending, &[]), of(&["DSA-1", "DSA-2"], &["libssl3", "openssl"]));
        assert_eq!(needed(&pending[2..4], &[]), None);
    }

    #[test]
    fn a_running_rollout_covers_its_packages_and_a_finished_one_only_when_started_after_the_fix_was_learned() {
        let pending = [fix("DSA-1", &["openssl", "libssl3"], 10), fix("DSA-2", &["bash"], 10)];
        // Running since before: it applies the fix when its jobs run.
        let running = rollout("running", &["openssl", "libssl3"], 5);
        assert_eq!(needed(&pending, &[running]), of(&["DSA-2"], &["bash"]));
        // Done after the fix was learned: a host that still needs it failed, not to be looped on.
        let done_after = rollout("done", &["openssl", "libssl3", "bash"], 11);
        assert_eq!(needed(&pending, &[done_after]), None);
        // Done before: that was an earlier fix of the same packages.
        let done_before = rollout("done", &["openssl"], 9);
        assert_eq!(needed(&pending, &[done_before]), of(&["DSA-1", "DSA-2"], &["bash", "libssl3", "openssl"]));
        // Halted after: a person looks at it; only the package it does not list goes out.
        let halted = rollout("halted", &["openssl"], 10);
        assert_eq!(needed(&pending, &[halted]), of(&["DSA-1", "DSA-2"], &["bash", "libssl3"]));
        let halted_before = rollout("halted", &["bash"], 3);
        assert_eq!(needed(&pending[1..], &[halted_before]), of(&["DSA-2"], &["bash"]));
    }

    #[test]
    fn the_name_lists_the_advisories_within_the_length_of_a_rollout_name() {
        assert_eq!(name(&["DSA-5678-1".into(), "DSA-5680-1".into()]), "Security: DSA-5678-1, DSA-5680-1");
        let many: Vec<String> = (0..40).map(|n| format!("DSA-{n:04}-1")).collect();
        let cut = name(&many);
        assert_eq!(cut.chars().count(), MAX_NAME);
        assert!(cut.starts_with("Security: DSA-0000-1, DSA-0001-1") && cut.ends_with('…'), "{cut}");
    }
}
