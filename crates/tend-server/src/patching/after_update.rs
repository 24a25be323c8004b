//! What happens on a host of a rollout after its update job ended, until its outcome can be
//! recorded: the reboot, when the fresh inventory says one is required and the policy and an
//! authorization allow it, then the post-update health gate (`tend_core::patching::health_gate`).
//!
//! Reboots under the `in_window` policy happen while one of the host's maintenance windows is
//! open, each host of the ring at its own slot of the window (`reboot_slot`), and only when an
//! authorization allows a reboot of the host then (a standing authorization of the contract,
//! or an intervention ticket's). An emergency rollout does not wait for a window to reboot: where
//! nothing allows the reboot now, it asks, like the `ask` policy: one ticket per rollout asks the
//! customer to authorize the reboots, each host is linked to it, and the host goes through the
//! gate without its reboot ("reboot pending" until someone reboots it). `never` reboots nothing.
//!
//! Everything is derived again on every pass from the stored jobs, inventory and alerts.
//!
//! Must not: decide the gate's verdict or a slot (the domain does), or record outcomes (the
//! caller records what [`progress`] returns, with the jobs it names, in one write).

use jiff::Timestamp;
use tend_core::desk::{Impact, TicketKind, Urgency as TicketUrgency};
use tend_core::maintenance::{self, Occurrence};
use tend_core::patching::{
    AfterUpdate, Firing, Outcome, PatchPolicy, RebootPolicy, RingState, Urgency, Verdict, health_gate, reboot_slot,
};
use tend_core::tenancy::Scope;
use tend_proto::inventory::Packages;
use tend_proto::jobs::JobKind;
use tend_store::{HostRow, MaintenanceWindowRow, RolloutJobRow, RolloutRow};

use super::policy::ClientPolicies;
use super::rollout::{Work, automation, outcome_of, queue_job};
use crate::desk::contract;
use crate::desk::tickets::{self, Action, LinkKind};
use crate::{AppState, Error};

/// The check that says a reboot is pending (`tend_core::checks`' catalogue name).
const REBOOT_REQUIRED_CHECK: &str = "reboot_required";

/// One pass over a rollout: its urgency, and what it reads of its client at most once, when
/// first needed, rather than once per host: the patch policies and the maintenance windows.
pub struct PassReads {
    client_id: i64,
    pub urgency: Urgency,
    policies: Option<ClientPolicies>,
    windows: Option<Vec<MaintenanceWindowRow>>,
}

impl PassReads {
    pub fn new(client_id: i64, urgency: Urgency) -> PassReads {
        PassReads { client_id, urgency, policies: None, windows: None }
    }

    /// The policy in force for `host`, one of the client's.
    pub async fn policy(&mut self, state: &AppState, host: &HostRow) -> Result<PatchPolicy, Error> {
        if let Some(policies) = &self.policies {
            return Ok(policies.for_host(host).policy);
        }
        let policies = ClientPolicies::read(state, Scope::System, self.client_id).await?;
        Ok(self.policies.insert(policies).for_host(host).policy)
    }

    /// The occurrence of one of the host's maintenance windows covering patching that is open
    /// now.
    pub async fn open_window(
        &mut self,
        state: &AppState,
        host: &HostRow,
        now: Timestamp,
    ) -> Result<Option<Occurrence>, Error> {
        let windows = match &self.windows {
            Some(windows) => windows,
            None => {
                let read = state.store.maintenance_windows(Scope::System, Some(self.client_id)).await?;
                self.windows.insert(read)
            }
        };
        Ok(open_window(windows, self.client_id, host, now))
    }
}

/// Where a host whose update job was queued stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// A job is queued or running, the reboot waits for its slot, or the gate is still open.
    UnderWay,
    /// The host's outcome, to record with these jobs.
    Done { outcome: Outcome, jobs: Vec<i64> },
}

/// A host's latest update job of the rollout and the reboot job queued after it, if any.
pub struct HostJobs<'a> {
    pub update: &'a RolloutJobRow,
    pub reboot: Option<&'a RolloutJobRow>,
}

/// What the host's update and reboot jobs say now; see the module documentation.
pub async fn progress(
    state: &AppState,
    reads: &mut PassReads,
    next: &mut RolloutRow,
    ring: &RingState,
    jobs: HostJobs<'_>,
    now: Timestamp,
) -> Result<Progress, Error> {
    let HostJobs { update, reboot } = jobs;
    let mut recorded = vec![update.job_id];
    match update.status.as_str() {
        "queued" | "running" => return Ok(Progress::UnderWay),
        "succeeded" => {}
        _ => return Ok(Progress::Done { outcome: outcome_of(update), jobs: recorded }),
    }
    let host = state.store.host(Scope::System, update.host_id).await?;
    let policy = reads.policy(state, &host).await?;
    let updated_at = update.finished_at.unwrap_or(now);
    let inventory = fresh_packages(state, host.id, updated_at).await?;
    let (since, rebooted_after) = match reboot {
        Some(reboot) => {
            recorded.push(reboot.job_id);
            match reboot.status.as_str() {
                "queued" | "running" => return Ok(Progress::UnderWay),
                "succeeded" => {
                    (reboot.finished_at.unwrap_or(now), Some(reboot.claimed_at.unwrap_or(reboot.created_at)))
                }
                _ => return Ok(Progress::Done { outcome: outcome_of(reboot), jobs: recorded }),
            }
        }
        None => {
            let needs_reboot = inventory.as_ref().is_some_and(|(packages, _)| packages.reboot_required == Some(true));
            if needs_reboot && !reboot_or_ask(state, reads, next, ring, &host, &policy, now).await? {
                return Ok(Progress::UnderWay);
            }
            (update.finished_at.unwrap_or(now), None)
        }
    };
    let alerts = state.store.host_alerts(Scope::System, host.id).await?;
    let firing: Vec<Firing> = alerts
        .iter()
        .filter(|alert| matches!(alert.state.as_str(), "firing" | "flapping"))
        .filter(|alert| matches!(alert.severity.as_deref(), Some("warning" | "critical")))
        // A pending reboot is what an update leaves where the policy does not reboot: no problem.
        .filter(|alert| alert.check != REBOOT_REQUIRED_CHECK)
        .filter_map(|alert| {
            let name =
                if alert.target.is_empty() { alert.check.clone() } else { format!("{} {}", alert.check, alert.target) };
            Some(Firing { name, opened_at: alert.opened_at? })
        })
        .collect();
    let after = AfterUpdate {
        began: update.created_at,
        since,
        fresh_after: rebooted_after.unwrap_or(taken_at(update)),
        rebooted_after,
        // The report that counts is the inventory the agent sends again after its update.
        last_report_at: inventory.as_ref().map(|(_, collected_at)| *collected_at),
        booted_at: booted_at(&host),
        firing: &firing,
    };
    Ok(match health_gate(&after, policy.health_gate, now) {
        Verdict::Healthy => Progress::Done { outcome: Outcome::Succeeded, jobs: recorded },
        Verdict::Waiting { .. } => Progress::UnderWay,
        Verdict::Unhealthy { reason } => Progress::Done { outcome: Outcome::Failed { reason }, jobs: recorded },
    })
}

/// When the agent took the job (it cannot have been later than that when it was queued).
fn taken_at(job: &RolloutJobRow) -> Timestamp {
    job.claimed_at.unwrap_or(job.created_at)
}

/// The host's package inventory, with when it was collected, if it was collected after `since`.
async fn fresh_packages(
    state: &AppState,
    host_id: i64,
    since: Timestamp,
) -> Result<Option<(Packages, Timestamp)>, Error> {
    let sections = state.store.inventory(Scope::System, host_id).await?;
    Ok(sections
        .into_iter()
        .find(|section| section.section == "packages" && section.collected_at > since)
        .and_then(|section| Some((serde_json::from_str(&section.body).ok()?, section.collected_at))))
}

/// The boot time in the host's latest facts.
fn booted_at(host: &HostRow) -> Option<Timestamp> {
    let facts: serde_json::Value = serde_json::from_str(host.facts.as_deref()?).ok()?;
    Timestamp::from_millisecond(facts.get("boot_time_ms")?.as_i64()?).ok()
}

/// For a host that needs a reboot: queues it when its time has come and it is allowed, or asks
/// the customer. Returns whether the host goes on to the gate without a reboot (`false`: it
/// waits, for its reboot or for its slot).
async fn reboot_or_ask(
    state: &AppState,
    reads: &mut PassReads,
    next: &mut RolloutRow,
    ring: &RingState,
    host: &HostRow,
    policy: &PatchPolicy,
    now: Timestamp,
) -> Result<bool, Error> {
    match policy.reboot {
        RebootPolicy::Never => return Ok(true),
        RebootPolicy::Ask => {
            ask_for_reboot(state, next, host.id, "the patch policy says to ask first", now).await?;
            return Ok(true);
        }
        RebootPolicy::InWindow => {}
    }
    let window = reads.open_window(state, host, now).await?;
    if let Some(window) = window {
        let index = ring.hosts.iter().position(|&id| id == host.id).unwrap_or(0);
        if now < reboot_slot(&window, index, ring.hosts.len(), policy.health_gate) {
            return Ok(false);
        }
    } else if reads.urgency == Urgency::Regular {
        // A regular rollout reboots in the next window.
        return Ok(false);
    }
    match crate::jobs::authorize_job(state, host, JobKind::Reboot, None, now).await? {
        Ok(allowance) => {
            let detail = format!("reboot after its updates, allowed by {allowance}");
            queue_job(
                state,
                next,
                Work { ring: &ring.name, host_id: host.id, kind: JobKind::Reboot, packages: Vec::new(), detail },
                now,
            )
            .await?;
            Ok(false)
        }
        Err(refusal) => {
            ask_for_reboot(state, next, host.id, &format!("nothing allows it now: {refusal}"), now).await?;
            Ok(true)
        }
    }
}

/// The occurrence of one of the host's maintenance windows covering patching that is open now.
fn open_window(rows: &[MaintenanceWindowRow], client_id: i64, host: &HostRow, now: Timestamp) -> Option<Occurrence> {
    let target =
        maintenance::Target { client_id, site_id: host.site_id, host_id: Some(host.id), check: "patching".into() };
    crate::monitor::evaluate::windows(rows, now)
        .into_iter()
        .filter(|(scope, _)| scope.covers(&target))
        .find_map(|(_, schedule)| schedule.active_at(now))
}

/// Links the host to the rollout's ticket asking for reboots, opening it first if there is none.
async fn ask_for_reboot(
    state: &AppState,
    next: &mut RolloutRow,
    host_id: i64,
    why: &str,
    now: Timestamp,
) -> Result<(), Error> {
    let automation = automation();
    if let Some(ticket_id) = next.reboot_ticket_id {
        let ticket = state.store.ticket(Scope::System, ticket_id).await?;
        if !ticket.host_ids.contains(&host_id) {
            tickets::act(state, automation, ticket_id, Action::Link { kind: LinkKind::Host, id: host_id }, now).await?;
        }
        return Ok(());
    }
    let contract = contract::of_client(state, next.client_id).await?;
    let (impact, urgency) = (Impact::Low, TicketUrgency::Medium);
    let priority = contract.matrix.priority(impact, urgency);
    let subject: String = format!("Reboot needed after updates: {}", next.name).chars().take(200).collect();
    let description = format!(
        "The updates of rollout {} ({}) are installed, and the linked hosts need a reboot for them to take \
         full effect. They were not rebooted: {why}.\nPlease authorize the reboot (an intervention with a \
         reboot and a window), or tell us when it suits you.",
        next.id, next.name
    );
    let mut ticket =
        tickets::blank(next.client_id, TicketKind::Change, subject, description, (impact, urgency, priority), now)?;
    ticket.host_ids = vec![host_id];
    next.reboot_ticket_id = Some(tickets::create(state, automation, ticket, &contract, now).await?.id);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(facts: Option<&str>) -> HostRow {
        HostRow {
            id: 1,
            client_id: 1,
            client_name: "acme".into(),
            site_id: None,
            site_name: None,
            hostname: "web1".into(),
            report_interval_secs: 60,
            last_seen_at: None,
            stopped: false,
            facts: facts.map(str::to_owned),
            agent_id: None,
            agent_revoked: false,
            headline: Default::default(),
        }
    }

    #[test]
    fn the_boot_time_comes_from_the_facts() {
        assert_eq!(
            booted_at(&host(Some(r#"{"boot_time_ms": 1700000000000}"#))),
            Some(Timestamp::from_second(1_700_000_000).unwrap())
        );
        assert_eq!(booted_at(&host(Some(r#"{"hostname": "web1"}"#))), None);
        assert_eq!(booted_at(&host(Some("not json"))), None);
        assert_eq!(booted_at(&host(None)), None);
    }
}
