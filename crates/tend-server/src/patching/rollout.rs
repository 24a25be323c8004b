//! Rollouts of a patch set through a client's rings (test before production), driven by
//! `tend_core::patching::rollout`.
//!
//! A rollout is planned from the hosts in each named ring when it is created. Then, at creation,
//! on every timer pass ([`advance_all`]) and after a promotion, [`advance`] feeds the domain the
//! outcomes of the rollout's finished apply jobs and what critical alerts fired, asks
//! `next_step`, and does what it says: queue one `apply_updates` job per host of the ring (for
//! a regular rollout only while one of the host's maintenance windows is open, for an emergency
//! at once), promote the next ring after the soak, or stop (halted: one incident ticket, audited; done).
//! Every decision is derived again from the stored state, so a restart picks up where it was.
//!
//! The packages are applied by the agent's `apply_updates` job (`{"packages": [...]}`); a job
//! that failed or was refused counts as a failure on its host.
//!
//! Must not: decide when a ring may start (the domain does, with the instant passed in), or talk
//! to hosts (their agents collect the jobs).

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use tend_core::desk::{Impact, TicketKind, Urgency as TicketUrgency};
use tend_core::patching::{MAX_SOAK, Outcome, Rollout, SoakPolicy, Step, Urgency, next_step};
use tend_core::tenancy::{Role, Scope};
use tend_proto::jobs::{ApplyUpdatesParams, JobKind, JobResult};
use tend_proto::rollouts::DEFAULT_RINGS;
use tend_store::{AuditEntry, JobRow, Queued, RolloutJobRow, RolloutRow};

use super::after_update::{self, HostJobs, PassReads, Progress};
use crate::desk::contract;
use crate::desk::tickets::{self, Who};
use crate::jobs::Wakeups;
use crate::{AppState, Error};

/// The job kind that applies a patch set on a host, by its wire name.
pub const APPLY_UPDATES: &str = "apply_updates";
/// Packages one rollout may name.
const MAX_PACKAGES: usize = 500;
/// Running rollouts one timer pass looks at.
const PASS_LIMIT: u32 = 1000;

/// What a technician asks for; see `tend_proto::rollouts::NewRollout`.
#[derive(Debug, Clone)]
pub struct NewRollout {
    pub client_id: i64,
    pub name: String,
    pub packages: Vec<String>,
    pub rings: Option<Vec<String>>,
    pub urgency: Option<String>,
    pub soak_secs: Option<i64>,
}

fn internal(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("{what}: {e}"))
}

/// The urgency named, default regular.
fn urgency_of(name: Option<&str>) -> Result<Urgency, Error> {
    match name.map(str::trim) {
        None | Some("") | Some("regular") => Ok(Urgency::Regular),
        Some("emergency") => Ok(Urgency::Emergency),
        Some(other) => Err(Error::invalid_field("urgency", format!("{other:?}: expected regular or emergency"))),
    }
}

fn urgency_name(urgency: Urgency) -> &'static str {
    match urgency {
        Urgency::Regular => "regular",
        Urgency::Emergency => "emergency",
    }
}

/// The soak policy of a new rollout: the domain's defaults, or one soak for both urgencies.
fn soak_policy(soak_secs: Option<i64>) -> Result<SoakPolicy, Error> {
    let Some(secs) = soak_secs else { return Ok(SoakPolicy::default()) };
    if !(0..=MAX_SOAK.as_secs()).contains(&secs) {
        return Err(Error::invalid_field("soak_secs", format!("{secs}: expected 0 to {}", MAX_SOAK.as_secs())));
    }
    let soak = SignedDuration::from_secs(secs);
    Ok(SoakPolicy { regular: soak, emergency: soak })
}

/// The packages, checked as the agent will check its job's (`ApplyUpdatesParams`), so that a
/// name the agent would refuse is refused here rather than halting the rollout on its first host.
fn check_packages(packages: &[String]) -> Result<(), Error> {
    if packages.is_empty() || packages.len() > MAX_PACKAGES {
        return Err(Error::invalid_field("packages", format!("name 1 to {MAX_PACKAGES} packages")));
    }
    let params = ApplyUpdatesParams { packages: packages.to_vec(), security_only: false, refresh: true };
    params.validate().map_err(|e| Error::invalid_field("packages", e))
}

/// Plans and stores a rollout of `new.packages` through the client's rings, then starts it.
pub async fn create(
    state: &AppState,
    scope: Scope,
    user_id: Option<i64>,
    new: NewRollout,
) -> Result<RolloutRow, Error> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(Error::invalid_field("name", "one line of 1 to 200 characters"));
    }
    check_packages(&new.packages)?;
    let urgency = urgency_of(new.urgency.as_deref())?;
    let policy = soak_policy(new.soak_secs)?;
    let ring_names = new.rings.unwrap_or_else(|| DEFAULT_RINGS.map(str::to_owned).to_vec());
    let members = state.store.client_rings(scope, new.client_id).await?;
    if !contract::of_client(state, new.client_id).await?.includes("patching") {
        return Err(Error::invalid_field("client_id", "the client's contract does not include patching"));
    }
    let rings: Vec<(String, Vec<i64>)> = ring_names
        .into_iter()
        .map(|ring| {
            let hosts = members.iter().filter(|(_, of)| *of == ring).map(|(host, _)| *host).collect();
            (ring, hosts)
        })
        .collect();
    if rings.iter().all(|(_, hosts)| hosts.is_empty()) {
        return Err(Error::invalid_field("rings", "no host of the client is in these rings"));
    }
    let plan = Rollout::plan(rings, &policy, urgency)?;
    let now = Timestamp::now();
    let row = RolloutRow {
        id: 0,
        client_id: new.client_id,
        name: name.to_owned(),
        urgency: urgency_name(urgency).to_owned(),
        packages: serde_json::to_string(&new.packages).map_err(|e| internal("packages", e))?,
        state: serde_json::to_string(&plan).map_err(|e| internal("rollout", e))?,
        status: "running".into(),
        halt_reason: None,
        ticket_id: None,
        reboot_ticket_id: None,
        created_by: user_id,
        created_at: now,
        updated_at: now,
    };
    // The rollout is its own patch set until patch sets are stored of their own.
    let stored = state.store.create_rollout(scope, &row).await?;
    advance(state, stored, Timestamp::now()).await
}

/// An instant after `read_at`, so that an update is seen as one by the next optimistic check.
fn later(read_at: Timestamp, now: Timestamp) -> Timestamp {
    now.max(read_at + SignedDuration::from_millis(1))
}

/// The domain's rollout of a stored one.
pub fn domain(row: &RolloutRow) -> Result<Rollout, Error> {
    serde_json::from_str(&row.state).map_err(|e| internal(&format!("rollout {}: stored state", row.id), e))
}

/// The packages of a stored rollout.
pub fn packages(row: &RolloutRow) -> Vec<String> {
    serde_json::from_str(&row.packages).unwrap_or_default()
}

/// Every running rollout, one step further; called by the scheduler. One rollout's failure is
/// logged and does not hold the others up.
pub async fn advance_all(state: &AppState, now: Timestamp) -> Result<(), Error> {
    for row in state.store.rollouts(Scope::System, None, Some("running"), PASS_LIMIT).await? {
        let id = row.id;
        if let Err(e) = advance(state, row, now).await {
            tracing::error!(rollout = id, error = %e, "advancing a rollout failed");
        }
    }
    Ok(())
}

/// The critical alerts of the rollout's hosts, as (host, opened at), for `new_critical_alert`:
/// the client's, read at once, kept for the rollout's hosts.
async fn critical_alerts(
    state: &AppState,
    client_id: i64,
    rollout: &Rollout,
) -> Result<HashMap<i64, Vec<Timestamp>>, Error> {
    let mut opened: HashMap<i64, Vec<Timestamp>> =
        rollout.rings.iter().flat_map(|ring| &ring.hosts).map(|host| (*host, Vec::new())).collect();
    for (host, at) in state.store.critical_alerts_opened(Scope::System, client_id).await? {
        if let Some(times) = opened.get_mut(&host) {
            times.push(at);
        }
    }
    Ok(opened)
}

/// How a finished job went, for the domain.
pub(super) fn outcome_of(job: &RolloutJobRow) -> Outcome {
    if job.status == "succeeded" {
        return Outcome::Succeeded;
    }
    let said = job.result.as_deref().and_then(|text| serde_json::from_str::<JobResult>(text).ok());
    let first_line = said
        .as_ref()
        .and_then(|result| result.output.lines().find(|line| !line.trim().is_empty()).map(str::to_owned))
        .unwrap_or_else(|| "no output".to_owned());
    let exit = said.and_then(|result| result.exit_code).map_or_else(String::new, |code| format!(", exit code {code}"));
    let reason: String =
        format!("{} job {} {}{exit}: {first_line}", job.kind, job.job_id, job.status).chars().take(500).collect();
    Outcome::Failed { reason }
}

/// Each host's latest update job not yet recorded, with the reboot job queued after it.
fn unrecorded_by_host(jobs: &[RolloutJobRow]) -> HashMap<i64, HostJobs<'_>> {
    let mut by_host: HashMap<i64, HostJobs<'_>> = HashMap::new();
    for job in jobs.iter().filter(|job| !job.recorded) {
        if job.kind == APPLY_UPDATES {
            by_host.insert(job.host_id, HostJobs { update: job, reboot: None });
        } else if let Some(host) = by_host.get_mut(&job.host_id) {
            host.reboot = Some(job);
        }
    }
    by_host
}

/// Records the outcomes of hosts whose work is over (update, reboot, health gate), then does what
/// the domain says next, and stores the result. Returns the rollout as stored.
pub async fn advance(state: &AppState, row: RolloutRow, now: Timestamp) -> Result<RolloutRow, Error> {
    if row.status != "running" {
        return Ok(row);
    }
    let mut rollout = domain(&row)?;
    let before = rollout.clone();
    let mut next = row.clone();
    let jobs = state.store.rollout_jobs(Scope::System, row.id).await?;
    let mut reads = PassReads::new(row.client_id, rollout.urgency);
    let mut recorded = Vec::new();
    let mut under_way = Vec::new();
    for (host_id, host_jobs) in unrecorded_by_host(&jobs) {
        let Some(ring) = rollout.rings.iter().find(|ring| ring.hosts.contains(&host_id)).cloned() else { continue };
        match after_update::progress(state, &mut reads, &mut next, &ring, host_jobs, now).await? {
            Progress::UnderWay => under_way.push(host_id),
            Progress::Done { outcome, jobs } => {
                rollout.record(host_id, outcome, now)?;
                recorded.extend(jobs);
            }
        }
    }
    let alerts = critical_alerts(state, row.client_id, &rollout).await?;
    let new_critical_alert =
        |host: i64, since: Timestamp| alerts.get(&host).is_some_and(|times| times.iter().any(|&at| at > since));
    // Each turn promotes a ring or records skipped hosts, so this ends within that many turns.
    let turns = rollout.rings.len() + rollout.rings.iter().map(|ring| ring.hosts.len()).sum::<usize>();
    for _ in 0..=turns {
        match next_step(&rollout, &new_critical_alert, now) {
            Step::ApplyToRing { ring, hosts } => {
                let ring_name = rollout.rings[ring].name.clone();
                let mut skipped = false;
                for host in hosts.into_iter().filter(|host| !under_way.contains(host)) {
                    if let Some(outcome) = apply_to_host(state, &mut reads, &next, &ring_name, host, now).await? {
                        rollout.record(host, outcome, now)?;
                        skipped = true;
                    }
                }
                if !skipped {
                    break;
                }
            }
            Step::Soaking { .. } => break,
            Step::Promote { .. } => {
                let ring = rollout.promote(&new_critical_alert, now)?;
                tracing::info!(rollout = row.id, ring = rollout.rings[ring].name, "ring promoted after its soak");
            }
            Step::Halted(halt) => {
                next.status = "halted".into();
                next.halt_reason = Some(halt.to_string());
                if next.ticket_id.is_none() {
                    next.ticket_id = Some(open_ticket(state, &row, &halt.to_string(), halt_host(&halt), now).await?);
                }
                audit(state, &row, None, "rollout.halted", "allowed", halt.to_string(), now).await?;
                break;
            }
            Step::Done => {
                next.status = "done".into();
                break;
            }
        }
    }
    next.state = serde_json::to_string(&rollout).map_err(|e| internal("rollout", e))?;
    if next == row && recorded.is_empty() {
        return Ok(row);
    }
    next.updated_at = later(row.updated_at, now);
    // Before the state that counts the rings patched: if the state cannot be written, the next
    // pass writes the summaries again, which changes nothing; the other way round, a failure
    // here would lose them.
    super::summary::rings_patched(state, &next, &before, &rollout, now).await?;
    Ok(state.store.update_rollout(Scope::System, row.updated_at, &next, &recorded).await?)
}

/// Queues the update of one host, with the packages its policy does not hold back: `None`. When
/// the policy holds every package back, nothing is queued and the host's outcome is returned
/// (skipped). A regular rollout waits for one of the host's maintenance windows to open; an
/// emergency one (a security fix under the promise) goes at once.
async fn apply_to_host(
    state: &AppState,
    reads: &mut PassReads,
    row: &RolloutRow,
    ring: &str,
    host_id: i64,
    now: Timestamp,
) -> Result<Option<Outcome>, Error> {
    let host = state.store.host(Scope::System, host_id).await?;
    let policy = reads.policy(state, &host).await?;
    let (apply, held): (Vec<String>, Vec<String>) =
        packages(row).into_iter().partition(|package| policy.hold_on(package, now).is_none());
    if apply.is_empty() {
        let reasons: Vec<String> = held
            .iter()
            .filter_map(|package| policy.hold_on(package, now).map(|hold| format!("{package}: {}", hold.reason)))
            .collect();
        return Ok(Some(Outcome::Skipped { reason: format!("held back: {}", reasons.join("; ")) }));
    }
    if reads.urgency == Urgency::Regular && reads.open_window(state, &host, now).await?.is_none() {
        return Ok(None);
    }
    let detail = match held.is_empty() {
        true => format!("{} package(s)", apply.len()),
        false => format!("{} package(s); held back by the patch policy: {}", apply.len(), held.join(", ")),
    };
    queue_job(state, row, Work { ring, host_id, kind: JobKind::ApplyUpdates, packages: apply, detail }, now).await?;
    Ok(None)
}

fn halt_host(halt: &tend_core::patching::Halt) -> i64 {
    match halt {
        tend_core::patching::Halt::HostFailed { host_id, .. }
        | tend_core::patching::Halt::CriticalAlert { host_id, .. } => *host_id,
    }
}

/// One job a rollout queues on a host.
pub(super) struct Work<'a> {
    pub ring: &'a str,
    pub host_id: i64,
    pub kind: JobKind,
    /// What an update installs; nothing for a reboot.
    pub packages: Vec<String>,
    /// What the audit trail says besides the rollout and ring.
    pub detail: String,
}

/// Queues a job of the rollout on one host, remembers it as the rollout's, and audits it, in one
/// transaction. An update job carries `packages`; a reboot none.
pub(super) async fn queue_job(state: &AppState, row: &RolloutRow, work: Work<'_>, now: Timestamp) -> Result<(), Error> {
    let params = match work.kind {
        JobKind::ApplyUpdates => json!({ "packages": work.packages }),
        _ => json!({}),
    };
    let job = JobRow {
        id: 0,
        client_id: row.client_id,
        host_id: work.host_id,
        ticket_id: None,
        kind: work.kind.as_str().into(),
        params: params.to_string(),
        status: String::new(),
        requested_by: row.created_by,
        created_at: now,
        claimed_at: None,
        finished_at: None,
        result: None,
    };
    let audit = AuditEntry::allowed(
        now,
        row.created_by,
        Some(row.client_id),
        format!("job.{}", work.kind.as_str()),
        format!("queued by rollout {} ({}), ring {}: {}", row.id, row.name, work.ring, work.detail),
    )
    .host(Some(work.host_id));
    state.store.queue_job(Scope::System, &job, &Queued { audit: Some(&audit), rollout_id: Some(row.id) }).await?;
    Wakeups::job_queued();
    Ok(())
}

/// Who the rollout acts as on tickets: the provider's automation.
pub(super) fn automation() -> Who {
    Who { user_id: None, role: Some(Role::Admin), scope: Scope::System }
}

/// Opens the incident of a halted rollout as the provider's automation; returns its id.
async fn open_ticket(
    state: &AppState,
    row: &RolloutRow,
    why: &str,
    host_id: i64,
    now: Timestamp,
) -> Result<i64, Error> {
    let automation = automation();
    let contract = contract::of_client(state, row.client_id).await?;
    let (impact, urgency) = (Impact::Medium, TicketUrgency::High);
    let priority = contract.matrix.priority(impact, urgency);
    let subject: String = format!("Rollout {} halted: {why}", row.name).chars().take(200).collect();
    let description = format!(
        "The rollout of {} ({}) stopped: {why}.\nNothing more is applied until someone looks; \
         `tend patch rollout show {}` shows it per ring and host.",
        row.packages, row.name, row.id
    );
    let mut ticket =
        tickets::blank(row.client_id, TicketKind::Incident, subject, description, (impact, urgency, priority), now)?;
    ticket.host_ids = vec![host_id];
    Ok(tickets::create(state, automation, ticket, &contract, now).await?.id)
}

async fn audit(
    state: &AppState,
    row: &RolloutRow,
    actor_id: Option<i64>,
    action: &str,
    outcome: &str,
    detail: String,
    now: Timestamp,
) -> Result<(), Error> {
    let entry = AuditEntry::allowed(now, actor_id, Some(row.client_id), action, detail).ticket(row.ticket_id);
    state.store.audit(&AuditEntry { outcome: outcome.to_owned(), ..entry }).await?;
    Ok(())
}

/// Starts the ring after the soaking one now, for `reason` (required), audited as
/// `rollout.promote_without_soak` whether allowed or refused; then advances the rollout so
/// the started ring's jobs are queued.
pub async fn promote_without_soak(
    state: &AppState,
    scope: Scope,
    user_id: Option<i64>,
    id: i64,
    reason: &str,
) -> Result<RolloutRow, Error> {
    let row = state.store.rollout(scope, id).await?;
    let now = Timestamp::now();
    let mut rollout = domain(&row)?;
    let alerts = critical_alerts(state, row.client_id, &rollout).await?;
    let new_critical_alert =
        |host: i64, since: Timestamp| alerts.get(&host).is_some_and(|times| times.iter().any(|&at| at > since));
    let reason = reason.trim();
    let ring = match rollout.promote_without_soak(reason, &new_critical_alert, now) {
        Ok(ring) => ring,
        Err(e) => {
            if !reason.is_empty() {
                audit(state, &row, user_id, "rollout.promote_without_soak", "refused", e.to_string(), now).await?;
            }
            return Err(e.into());
        }
    };
    let mut next = row.clone();
    next.state = serde_json::to_string(&rollout).map_err(|e| internal("rollout", e))?;
    next.updated_at = later(row.updated_at, now);
    let stored = state.store.update_rollout(scope, row.updated_at, &next, &[]).await?;
    let detail = format!(
        "ring {} of rollout {} ({}) started without soak: {reason}",
        rollout.rings[ring].name, row.id, row.name
    );
    audit(state, &stored, user_id, "rollout.promote_without_soak", "allowed", detail, now).await?;
    advance(state, stored, Timestamp::now()).await
}

/// Puts a host in a ring (or none), audited as `host.ring`.
pub async fn set_ring(
    state: &AppState,
    scope: Scope,
    user_id: Option<i64>,
    host_id: i64,
    ring: Option<&str>,
) -> Result<(), Error> {
    let ring = ring.map(str::trim).filter(|ring| !ring.is_empty());
    if let Some(ring) = ring
        && (ring.len() > 64 || !ring.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(Error::invalid_field("ring", format!("{ring:?}: letters, digits, '-', '_' or '.', at most 64")));
    }
    let host = state.store.host(scope, host_id).await?;
    state.store.set_host_ring(scope, host_id, ring).await?;
    let detail = format!("ring set to {}", ring.unwrap_or("none"));
    let entry = AuditEntry::allowed(Timestamp::now(), user_id, Some(host.client_id), "host.ring", detail);
    state.store.audit(&entry.host(Some(host_id))).await?;
    Ok(())
}
