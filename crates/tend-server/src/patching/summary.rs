//! Telling a client's contacts what changed on which host once a ring of a rollout is patched.
//!
//! [`rings_patched`] is called by `rollout::advance` with the domain's rollout before and after
//! its pass; for each ring patched by the pass (every host's latest outcome succeeded or was
//! skipped) it composes one text from the hosts' apply jobs and writes it for every contact who
//! takes maintenance mail, idempotently. [`deliver`] sends them by e-mail with retries, like
//! maintenance notices, adding the greeting with the contact's name.
//!
//! Must not: decide whether a ring is patched beyond reading the recorded outcomes (the rollout
//! records them), or send anything while composing (the outbox rows are the promise to send).

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};
use tend_core::patching::{Outcome, RingState, Rollout};
use tend_core::tenancy::Scope;
use tend_proto::jobs::{JobKind, JobResult, PackageChange};
use tend_store::{RolloutJobRow, RolloutRow};

use crate::monitor::notify;
use crate::{AppState, Error};

/// How long claimed summaries are this instance's to send.
const SUMMARY_LEASE: SignedDuration = SignedDuration::from_secs(120);
/// Hosts read per page when looking up the ring's hostnames.
const HOST_PAGE: u32 = 1000;

/// What became of one host of a patched ring.
#[derive(Debug, Clone, PartialEq)]
pub struct HostReport {
    pub hostname: String,
    pub outcome: Outcome,
    /// When its outcome was recorded.
    pub at: Timestamp,
    /// What its latest finished apply job changed; empty when nothing did or it ran none.
    pub changes: Vec<PackageChange>,
    /// Set when it needs a reboot the customer was asked to authorize in this ticket.
    pub reboot_asked: Option<i64>,
    /// Whether the rollout rebooted it after its updates.
    pub rebooted: bool,
}

/// One ring's summary, before it is put in words.
#[derive(Debug, Clone, PartialEq)]
pub struct RingReport<'a> {
    pub rollout_name: &'a str,
    pub urgency: &'a str,
    pub ring: &'a str,
    pub hosts: Vec<HostReport>,
}

/// Writes the summaries of the rings patched in `after` but not in `before`.
pub async fn rings_patched(
    state: &AppState,
    row: &RolloutRow,
    before: &Rollout,
    after: &Rollout,
    now: Timestamp,
) -> Result<(), Error> {
    let newly: Vec<&RingState> = after
        .rings
        .iter()
        .filter(|ring| ring.patched() && !before.rings.iter().any(|was| was.name == ring.name && was.patched()))
        .collect();
    if newly.is_empty() {
        return Ok(());
    }
    let jobs = state.store.rollout_jobs(Scope::System, row.id).await?;
    let asked = match row.reboot_ticket_id {
        Some(ticket_id) => state.store.ticket(Scope::System, ticket_id).await?.host_ids,
        None => Vec::new(),
    };
    let host_ids: Vec<i64> = newly.iter().flat_map(|ring| ring.hosts.iter().copied()).collect();
    let hostnames = hostnames(state, row.client_id, &host_ids).await?;
    for ring in newly {
        let hosts = ring
            .latest_outcomes()
            .into_values()
            .map(|applied| {
                let host_jobs = FinishedJobs::of(&jobs, applied.host_id);
                HostReport {
                    hostname: hostnames
                        .get(&applied.host_id)
                        .cloned()
                        .unwrap_or_else(|| format!("host {}", applied.host_id)),
                    outcome: applied.outcome.clone(),
                    at: applied.at,
                    changes: host_jobs.changes(),
                    reboot_asked: row.reboot_ticket_id.filter(|_| asked.contains(&applied.host_id)),
                    rebooted: host_jobs.rebooted(),
                }
            })
            .collect();
        let report = RingReport { rollout_name: &row.name, urgency: &row.urgency, ring: &ring.name, hosts };
        let (subject, body) = message(report);
        let added = state.store.write_patch_summaries(row.id, &ring.name, &subject, &body, now).await?;
        tracing::info!(rollout = row.id, ring = ring.name, contacts = added, "patch summary written");
    }
    Ok(())
}

/// A host's finished jobs of the rollout, oldest first.
struct FinishedJobs<'a>(Vec<&'a RolloutJobRow>);

impl<'a> FinishedJobs<'a> {
    fn of(jobs: &'a [RolloutJobRow], host_id: i64) -> FinishedJobs<'a> {
        FinishedJobs(
            jobs.iter()
                .filter(|job| job.host_id == host_id && !matches!(job.status.as_str(), "queued" | "running"))
                .collect(),
        )
    }

    fn latest(&self, kind: JobKind) -> Option<&'a RolloutJobRow> {
        self.0.iter().rev().find(|job| job.kind == kind.as_str()).copied()
    }

    /// What the latest apply job changed, as its agent reported it.
    fn changes(&self) -> Vec<PackageChange> {
        let result = self.latest(JobKind::ApplyUpdates).and_then(|job| job.result.as_deref());
        result.and_then(|text| serde_json::from_str::<JobResult>(text).ok()).and_then(|r| r.changes).unwrap_or_default()
    }

    /// Whether a reboot after the latest apply job succeeded.
    fn rebooted(&self) -> bool {
        let update = self.latest(JobKind::ApplyUpdates).map_or(0, |job| job.job_id);
        self.latest(JobKind::Reboot).is_some_and(|job| job.job_id > update && job.status == "succeeded")
    }
}

/// The hostnames of `host_ids`, all of `client_id`, read a page at a time from the lowest id.
async fn hostnames(state: &AppState, client_id: i64, host_ids: &[i64]) -> Result<HashMap<i64, String>, Error> {
    let mut names = HashMap::new();
    let (Some(&first), Some(&last)) = (host_ids.iter().min(), host_ids.iter().max()) else { return Ok(names) };
    let mut after = first - 1;
    while after < last {
        let page = state.store.list_hosts(Scope::System, Some(client_id), after, HOST_PAGE).await?;
        let Some(end) = page.last().map(|host| host.id) else { break };
        names.extend(page.into_iter().filter(|host| host_ids.contains(&host.id)).map(|host| (host.id, host.hostname)));
        after = end;
    }
    Ok(names)
}

/// An instant as the summary shows it: UTC, to the minute.
fn utc(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// The summary's subject and text, without the greeting: one paragraph per host, by hostname.
pub fn message(mut report: RingReport<'_>) -> (String, String) {
    report.hosts.sort_by(|a, b| a.hostname.cmp(&b.hostname));
    let subject = format!("[tend] Updates applied to ring {}: {}", report.ring, report.rollout_name);
    let mut body = format!(
        "the {} updates \"{}\" are done on the hosts of ring {}. What changed on each:\n",
        report.urgency, report.rollout_name, report.ring
    );
    for host in &report.hosts {
        let when = utc(host.at);
        let changes = &host.changes;
        body.push('\n');
        match &host.outcome {
            Outcome::Succeeded if changes.is_empty() => {
                body.push_str(&format!("{} ({when}): already up to date, nothing changed\n", host.hostname));
            }
            Outcome::Succeeded => {
                body.push_str(&format!("{} ({when}):\n", host.hostname));
                for change in changes {
                    let from = change.from.as_deref().unwrap_or("(new)");
                    let to = change.to.as_deref().unwrap_or("(removed)");
                    body.push_str(&format!("  {} {from} → {to}\n", change.package));
                }
            }
            Outcome::Skipped { reason } => {
                body.push_str(&format!("{} ({when}): nothing applied, skipped: {reason}\n", host.hostname));
            }
            Outcome::Failed { reason } => {
                body.push_str(&format!("{} ({when}): nothing applied, failed: {reason}\n", host.hostname));
            }
        }
        if host.rebooted {
            body.push_str("  rebooted after the updates\n");
        }
        if let Some(ticket) = host.reboot_asked {
            body.push_str(&format!("  reboot pending: we asked for your authorization in ticket #{ticket}\n"));
        }
    }
    (subject, body)
}

/// Sends the summaries that are due; a failed send is retried with backoff, then given up.
pub async fn deliver(state: &AppState, now: Timestamp) -> Result<(), Error> {
    for summary in state.store.claim_patch_summaries(now, SUMMARY_LEASE, 100).await? {
        let body = format!("Hello {},\n\n{}", summary.contact_name, summary.body);
        let smtp = &state.config.notifications;
        match notify::send_mail(smtp, &summary.contact_email, &summary.subject, body, None).await {
            Ok(()) => state.store.record_patch_summary(summary.id, now, None, None).await?,
            Err(reason) => {
                let attempts = summary.attempts + 1;
                let retry_at = notify::retry_at(attempts, now);
                tracing::warn!(summary = summary.id, attempts, %reason, "patch summary failed");
                state.store.record_patch_summary(summary.id, now, Some(&reason), retry_at).await?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn change(package: &str, from: Option<&str>, to: Option<&str>) -> PackageChange {
        PackageChange { package: package.into(), from: from.map(str::to_owned), to: to.map(str::to_owned) }
    }

    fn host(hostname: &str, outcome: Outcome, changes: Vec<PackageChange>) -> HostReport {
        HostReport {
            hostname: hostname.into(),
            outcome,
            at: at("2026-11-10T22:05:00Z"),
            changes,
            reboot_asked: None,
            rebooted: false,
        }
    }

    #[test]
    fn the_summary_says_per_host_what_changed_or_why_nothing_did() {
        let mut asked = host("db1", Outcome::Succeeded, vec![change("openssl", Some("3.0.1"), Some("3.0.2"))]);
        asked.reboot_asked = Some(42);
        let mut rebooted = host("app1", Outcome::Succeeded, vec![change("linux-image", Some("6.1"), Some("6.2"))]);
        rebooted.rebooted = true;
        let report = RingReport {
            rollout_name: "openssl DSA-5678-1",
            urgency: "emergency",
            ring: "test",
            hosts: vec![
                host(
                    "web1",
                    Outcome::Succeeded,
                    vec![
                        change("pkg", Some("1.0"), Some("2.0")),
                        change("libnew", None, Some("1.2")),
                        change("old", Some("0.9"), None),
                    ],
                ),
                host("web2", Outcome::Succeeded, Vec::new()),
                host("mail", Outcome::Skipped { reason: "held back: pkg: vendor support".into() }, Vec::new()),
                asked,
                rebooted,
            ],
        };
        let (subject, body) = message(report);
        assert_eq!(subject, "[tend] Updates applied to ring test: openssl DSA-5678-1");
        expect(
            &body,
            "the emergency updates \"openssl DSA-5678-1\" are done on the hosts of ring test. What changed on each:\n\
             \n\
             app1 (2026-11-10 22:05 UTC):\n  linux-image 6.1 → 6.2\n  rebooted after the updates\n\
             \n\
             db1 (2026-11-10 22:05 UTC):\n  openssl 3.0.1 → 3.0.2\n  \
             reboot pending: we asked for your authorization in ticket #42\n\
             \n\
             mail (2026-11-10 22:05 UTC): nothing applied, skipped: held back: pkg: vendor support\n\
             \n\
             web1 (2026-11-10 22:05 UTC):\n  pkg 1.0 → 2.0\n  libnew (new) → 1.2\n  old 0.9 → (removed)\n\
             \n\
             web2 (2026-11-10 22:05 UTC): already up to date, nothing changed\n",
        );
    }

    #[test]
    fn a_failed_host_says_why() {
        let failed =
            host("web1", Outcome::Failed { reason: "job 7 failed, exit code 100: E: broken".into() }, Vec::new());
        let report = RingReport { rollout_name: "r", urgency: "regular", ring: "production", hosts: vec![failed] };
        let (_, body) = message(report);
        assert!(
            body.ends_with(
                "web1 (2026-11-10 22:05 UTC): nothing applied, failed: job 7 failed, exit code 100: E: broken\n"
            ),
            "{body}"
        );
    }

    fn expect(actual: &str, wanted: &str) {
        assert_eq!(actual, wanted, "\n--- actual ---\n{actual}\n--- wanted ---\n{wanted}");
    }
}
