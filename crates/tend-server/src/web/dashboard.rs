//! The fleet page: clients and hosts at a glance.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use tend_proto::api::{Host, HostStatus};

use super::render;
use crate::auth::{Caller, Via};
use crate::{AppState, Error};

/// Hosts shown on one page until the full fleet UI paginates.
const HOSTS_SHOWN: u32 = 500;

#[derive(askama::Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    username: String,
    csrf: String,
    clients: Vec<ClientLine>,
    hosts: Vec<HostLine>,
    more_hosts: bool,
    counts: StatusCounts,
}

struct ClientLine {
    name: String,
    hosts: usize,
    up: usize,
    attention: usize,
}

struct HostLine {
    host: Host,
    status: &'static str,
    last_seen: String,
    last_seen_exact: String,
    cpu: String,
    memory: String,
    disk: String,
    load: String,
}

#[derive(Default)]
struct StatusCounts {
    up: usize,
    overdue: usize,
    stopped: usize,
    pending: usize,
}

pub async fn page(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, Error> {
    let Some(caller) = Caller::from_session(&state, &headers).await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    let Via::Session { csrf_token } = &caller.via else { return Err(Error::Unauthorized("no session")) };
    let now = Timestamp::now();
    let rows = state.store.list_hosts(caller.scope(), None, 0, HOSTS_SHOWN + 1).await?;
    let more_hosts = rows.len() > HOSTS_SHOWN as usize;
    let hosts: Vec<Host> = rows.iter().take(HOSTS_SHOWN as usize).map(|h| crate::api::host_summary(h, now)).collect();
    let clients = state.store.list_clients(caller.scope(), 0, 1000).await?;
    let page = Dashboard {
        username: caller.user.username.clone(),
        csrf: csrf_token.clone(),
        clients: clients
            .iter()
            .map(|c| {
                let own = || hosts.iter().filter(move |h| h.client_id == c.id);
                ClientLine {
                    name: c.name.clone(),
                    hosts: usize::try_from(c.host_count).unwrap_or_default(),
                    up: own().filter(|h| h.status == HostStatus::Up).count(),
                    attention: own().filter(|h| h.status == HostStatus::Overdue).count(),
                }
            })
            .collect(),
        counts: count(&hosts),
        hosts: hosts.into_iter().map(|h| host_line(h, now)).collect(),
        more_hosts,
    };
    Ok(render(&page, StatusCode::OK))
}

fn count(hosts: &[Host]) -> StatusCounts {
    let mut counts = StatusCounts::default();
    for host in hosts {
        match host.status {
            HostStatus::Up => counts.up += 1,
            HostStatus::Overdue => counts.overdue += 1,
            HostStatus::Stopped | HostStatus::Revoked => counts.stopped += 1,
            HostStatus::Pending => counts.pending += 1,
        }
    }
    counts
}

fn host_line(host: Host, now: Timestamp) -> HostLine {
    let percent = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.0} %"));
    let last_seen = host.last_seen.as_deref().and_then(|t| t.parse::<Timestamp>().ok());
    HostLine {
        status: status_word(host.status),
        last_seen: last_seen.map_or_else(|| "never".to_owned(), |at| ago(now, at)),
        last_seen_exact: host.last_seen.clone().unwrap_or_default(),
        cpu: percent(host.cpu_percent),
        memory: percent(host.memory_used_percent),
        disk: percent(host.disk_used_percent),
        load: host.load1.map_or_else(|| "–".to_owned(), |v| format!("{v:.2}")),
        host,
    }
}

pub(super) fn status_word(status: HostStatus) -> &'static str {
    match status {
        HostStatus::Pending => "pending",
        HostStatus::Up => "up",
        HostStatus::Overdue => "overdue",
        HostStatus::Stopped => "stopped",
        HostStatus::Revoked => "revoked",
    }
}

/// "12 s ago", "5 min ago", "3 h ago", "2 d ago".
fn ago(now: Timestamp, at: Timestamp) -> String {
    let secs = now.duration_since(at).as_secs().max(0);
    match secs {
        0..60 => format!("{secs} s ago"),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86_400 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_people_say_them() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let before = |s: i64| Timestamp::from_second(1_800_000_000 - s).unwrap();
        assert_eq!(ago(now, before(12)), "12 s ago");
        assert_eq!(ago(now, before(300)), "5 min ago");
        assert_eq!(ago(now, before(3 * 3600 + 5)), "3 h ago");
        assert_eq!(ago(now, before(2 * 86_400)), "2 d ago");
        assert_eq!(ago(before(5), now), "0 s ago");
    }
}
