//! The heartbeat check: hosts whose agent stopped reporting without saying goodbye.
//!
//! When a host is overdue the server asks the host itself, from outside (ICMP echo, else a TCP
//! connection to SSH, where a refusal also proves the host is up), so the alert tells "the
//! agent is down but the host answers" (warning: restart the agent) from "the host does not
//! answer" (critical: the server may be down).

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::json;
use tend_core::alerting::Severity;
use tend_core::checks::Finding;
use tend_core::heartbeat::{Heartbeat, HostStatus};
use tend_probe::ProbeSpec;
use tend_store::{HostRow, Scope};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::evaluate::{self, Subject};
use crate::{AppState, Error};

pub const CHECK: &str = "heartbeat";
/// How long the server waits for an overdue host to answer.
const REACH_TIMEOUT: Duration = Duration::from_secs(2);
/// Overdue hosts asked at once.
const REACH_CONCURRENCY: usize = 64;

/// Whether an overdue host answers from outside, and how that was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reachability {
    pub answers: bool,
    pub how: String,
}

/// Overdue hosts raise their heartbeat alert; hosts with an open one that report again resolve it.
pub async fn evaluate_all(state: &AppState, now: Timestamp) -> Result<(), Error> {
    let open: HashSet<i64> = state
        .store
        .list_alerts(Scope::System, true, 100_000)
        .await?
        .into_iter()
        .filter(|a| a.check == CHECK)
        .filter_map(|a| a.host_id)
        .collect();
    let limit = Arc::new(Semaphore::new(REACH_CONCURRENCY));
    let mut running = JoinSet::new();
    let mut after = 0;
    loop {
        let hosts = state.store.list_hosts(Scope::System, None, after, 500).await?;
        let Some(last) = hosts.last() else { break };
        after = last.id;
        for host in hosts {
            let overdue = status(&host, now) == HostStatus::Overdue;
            if overdue || open.contains(&host.id) {
                let (state, limit) = (state.clone(), limit.clone());
                running.spawn(async move {
                    let _permit = limit.acquire_owned().await;
                    evaluate_one(&state, &host, overdue, now).await
                });
            }
        }
    }
    while let Some(done) = running.join_next().await {
        match done {
            Ok(Err(e)) => tracing::error!(error = %e, "heartbeat evaluation of a host failed"),
            Err(e) => tracing::error!(error = %e, "heartbeat evaluation task failed"),
            Ok(Ok(())) => {}
        }
    }
    Ok(())
}

pub fn status(host: &HostRow, now: Timestamp) -> HostStatus {
    Heartbeat {
        last_seen: host.last_seen_at,
        stopped: host.stopped,
        revoked: host.agent_revoked,
        interval_secs: host.report_interval_secs,
    }
    .status(now)
}

async fn evaluate_one(state: &AppState, host: &HostRow, overdue: bool, now: Timestamp) -> Result<(), Error> {
    let subject = Subject {
        host_id: Some(host.id),
        client_id: host.client_id,
        site_id: host.site_id,
        name: host.hostname.clone(),
    };
    let reach = if overdue { Some(reachability(&addresses(host)).await) } else { None };
    let finding = finding(reach.as_ref());
    evaluate::check_findings(state, &subject, CHECK, vec![finding], now).await
}

/// The heartbeat's verdict: reporting is healthy; overdue is a warning while the host answers
/// and critical when it does not.
pub fn finding(overdue: Option<&Reachability>) -> Finding {
    let (problem, summary) = match overdue {
        None => (None, "the agent reports".to_owned()),
        Some(reach) if reach.answers => {
            (Some(Severity::Warning), format!("the agent's reports are overdue; the host answers ({})", reach.how))
        }
        Some(reach) => (
            Some(Severity::Critical),
            format!("the agent's reports are overdue and the host does not answer ({})", reach.how),
        ),
    };
    Finding {
        check: CHECK.into(),
        target: "agent".into(),
        problem,
        summary,
        evidence: json!({
            "overdue": overdue.is_some(),
            "host_answers": overdue.map(|r| r.answers),
            "how": overdue.map(|r| r.how.clone()),
        }),
    }
}

/// The addresses the agent last reported, loopback and link-local left out.
pub fn addresses(host: &HostRow) -> Vec<IpAddr> {
    let facts: serde_json::Value = host.facts.as_deref().and_then(|f| serde_json::from_str(f).ok()).unwrap_or_default();
    let listed = facts.get("ip_addresses").and_then(|a| a.as_array()).cloned().unwrap_or_default();
    listed
        .iter()
        .filter_map(|a| a.as_str()?.parse::<IpAddr>().ok())
        .filter(|ip| !ip.is_loopback() && !ip.is_unspecified() && !is_link_local(ip))
        .collect()
}

fn is_link_local(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    }
}

/// Asks each address until one answers: ICMP echo first, then TCP port 22.
pub async fn reachability(addresses: &[IpAddr]) -> Reachability {
    if addresses.is_empty() {
        return Reachability { answers: false, how: "no address known for the host".into() };
    }
    for ip in addresses {
        let ping = ProbeSpec::Ping { host: ip.to_string(), count: 1 };
        if tend_probe::run(&ping, REACH_TIMEOUT).await.ok {
            return Reachability { answers: true, how: format!("{ip} answers ICMP echo") };
        }
        if let Some(how) = tcp_answer(*ip, 22).await {
            return Reachability { answers: true, how };
        }
    }
    let listed: Vec<String> = addresses.iter().map(IpAddr::to_string).collect();
    Reachability { answers: false, how: format!("no answer to ICMP echo or TCP 22 from {}", listed.join(", ")) }
}

/// An accepted or a refused connection both prove a live network stack.
async fn tcp_answer(ip: IpAddr, port: u16) -> Option<String> {
    match tokio::time::timeout(REACH_TIMEOUT, tokio::net::TcpStream::connect((ip, port))).await {
        Ok(Ok(_)) => Some(format!("{ip} accepts TCP {port}")),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            Some(format!("{ip} refuses TCP {port}, so it is up"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answering_host_is_a_warning_a_silent_one_critical() {
        assert_eq!(finding(None).problem, None);
        let answers = Reachability { answers: true, how: "10.0.0.1 answers ICMP echo".into() };
        let silent = Reachability { answers: false, how: "no answer".into() };
        assert_eq!(finding(Some(&answers)).problem, Some(Severity::Warning));
        assert!(finding(Some(&answers)).summary.contains("the host answers (10.0.0.1 answers ICMP echo)"));
        assert_eq!(finding(Some(&silent)).problem, Some(Severity::Critical));
    }

    #[tokio::test]
    async fn a_refused_connection_proves_the_host_is_up() {
        // A port nobody listens on: bind, learn the port, close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let answer = tcp_answer("127.0.0.1".parse().unwrap(), port).await.unwrap();
        assert!(answer.contains("refuses"), "{answer}");
    }

    #[tokio::test]
    async fn no_address_means_no_answer() {
        assert!(!reachability(&[]).await.answers);
    }
}
