//! The portal's first page: the client's hosts and their status, the maintenance planned for
//! them, and their tickets with the SLA time left.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use tend_core::desk::{Clock, ClockState, SlaClocks};
use tend_store::{MaintenanceWindowRow, TicketFilter, TicketRow};

use super::request::KINDS;
use super::{Customer, PageError, ago, duration_text, kind_text, status_text, time_text};
use crate::AppState;
use crate::desk::{contract, sla};
use crate::monitor::scheduler::schedule_of;
use crate::web::dashboard::status_word;
use crate::web::render;

/// Hosts shown until the portal paginates; a client with more uses the API.
const HOSTS_SHOWN: u32 = 500;
/// Upcoming maintenance windows shown.
const WINDOWS_SHOWN: usize = 20;
/// Closed tickets shown under the open ones.
const CLOSED_SHOWN: usize = 10;

#[derive(askama::Template)]
#[template(path = "portal_home.html")]
struct Home {
    username: String,
    csrf: String,
    client_name: String,
    hosts: Vec<HostLine>,
    more_hosts: bool,
    windows: Vec<WindowLine>,
    open: Vec<TicketLine>,
    closed: Vec<TicketLine>,
    kinds: &'static [super::request::KindInfo],
}

struct HostLine {
    id: i64,
    hostname: String,
    site: Option<String>,
    status: &'static str,
    last_seen: String,
    last_seen_exact: String,
    os: String,
}

struct WindowLine {
    title: String,
    description: String,
    applies_to: String,
    /// Local start and end in the window's own zone.
    when: String,
    start_utc: String,
    active: bool,
    recurring: bool,
}

pub(super) struct TicketLine {
    pub id: i64,
    pub subject: String,
    pub kind: &'static str,
    pub status: String,
    pub status_text: &'static str,
    pub priority: String,
    /// The clock that matters now, as a sentence; empty without an SLA.
    pub sla: String,
    /// `ok`, `warning`, `breached` or `paused`: how the sentence is styled.
    pub sla_state: &'static str,
    pub updated: String,
}

pub async fn page(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
    let customer = Customer::of(&state, &headers).await?;
    let scope = customer.scope();
    let now = Timestamp::now();
    let client = state.store.client(scope, customer.client_id).await?;
    let rows = state.store.list_hosts(scope, Some(customer.client_id), 0, HOSTS_SHOWN + 1).await?;
    let more_hosts = rows.len() > HOSTS_SHOWN as usize;
    let sites: HashMap<i64, String> =
        state.store.list_sites(scope, customer.client_id).await?.into_iter().map(|s| (s.id, s.name)).collect();
    let hosts: Vec<HostLine> = rows
        .iter()
        .take(HOSTS_SHOWN as usize)
        .map(|row| {
            let host = crate::api::host_summary(row, now);
            HostLine {
                id: host.id,
                site: host.site_name.clone(),
                status: status_word(host.status),
                last_seen: row.last_seen_at.map_or_else(|| "never".to_owned(), |at| ago(now, at)),
                last_seen_exact: row.last_seen_at.map(time_text).unwrap_or_default(),
                os: host.os_name.clone().unwrap_or_else(|| "–".to_owned()),
                hostname: host.hostname,
            }
        })
        .collect();
    let names: HashMap<i64, String> = hosts.iter().map(|h| (h.id, h.hostname.clone())).collect();
    let windows = state.store.maintenance_windows(scope, Some(customer.client_id)).await?;
    let windows = upcoming(&windows, now, |row| applies_to(row, &names, &sites));

    let contract = contract::of_client(&state, customer.client_id).await?;
    let mut open = Vec::new();
    for row in state.store.tickets(scope, &TicketFilter { open_only: true, ..TicketFilter::default() }, 200).await? {
        let history = state.store.ticket_events(scope, row.id, false).await?;
        let clocks = sla::clocks_of(&history, &contract.sla, now);
        open.push(ticket_line(&row, clocks.as_ref(), now));
    }
    let recent = state.store.tickets(scope, &TicketFilter::default(), 200).await?;
    let closed = recent
        .iter()
        .filter(|row| row.status == "closed")
        .take(CLOSED_SHOWN)
        .map(|row| ticket_line(row, None, now))
        .collect();
    let page = Home {
        username: customer.user.username.clone(),
        csrf: customer.csrf.clone(),
        client_name: client.name,
        hosts,
        more_hosts,
        windows,
        open,
        closed,
        kinds: KINDS,
    };
    Ok(render(&page, StatusCode::OK))
}

/// Planned windows still to come or open now, soonest first, each at its next occurrence.
fn upcoming(
    rows: &[MaintenanceWindowRow],
    now: Timestamp,
    applies_to: impl Fn(&MaintenanceWindowRow) -> String,
) -> Vec<WindowLine> {
    let mut found: Vec<(Timestamp, WindowLine)> = rows
        .iter()
        .filter(|row| row.kind == "planned" && row.ended_at.is_none())
        .filter_map(|row| {
            let schedule = schedule_of(row).ok()?;
            let next = schedule.active_at(now).or_else(|| schedule.next_after(now))?;
            let zone = TimeZone::get(&row.time_zone).ok()?;
            let (start, end) = (next.start.to_zoned(zone.clone()), next.end.to_zoned(zone));
            let end_format = if start.date() == end.date() { "%H:%M" } else { "%a %-d %b %Y, %H:%M" };
            let when = format!(
                "{} to {} ({})",
                start.strftime("%a %-d %b %Y, %H:%M"),
                end.strftime(end_format),
                row.time_zone
            );
            let line = WindowLine {
                title: row.title.clone(),
                description: row.description.clone(),
                applies_to: applies_to(row),
                when,
                start_utc: time_text(next.start),
                active: next.contains(now),
                recurring: row.rrule.is_some(),
            };
            Some((next.start, line))
        })
        .collect();
    found.sort_by_key(|(start, _)| *start);
    found.into_iter().take(WINDOWS_SHOWN).map(|(_, line)| line).collect()
}

fn applies_to(row: &MaintenanceWindowRow, hosts: &HashMap<i64, String>, sites: &HashMap<i64, String>) -> String {
    let what = match (row.host_id, row.site_id) {
        (Some(host), _) => hosts.get(&host).cloned().unwrap_or_else(|| format!("host #{host}")),
        (None, Some(site)) => format!("site {}", sites.get(&site).cloned().unwrap_or_else(|| format!("#{site}"))),
        (None, None) => "all your servers".to_owned(),
    };
    match &row.check {
        Some(check) => format!("{what} (the check {check} only)"),
        None => what,
    }
}

pub(super) fn ticket_line(row: &TicketRow, clocks: Option<&SlaClocks>, now: Timestamp) -> TicketLine {
    let (sla, sla_state) = clocks.map_or((String::new(), "ok"), |clocks| summary(clocks, now));
    TicketLine {
        id: row.id,
        subject: row.subject.clone(),
        kind: kind_text(&row.kind),
        status: row.status.clone(),
        status_text: status_text(&row.status),
        priority: row.priority.to_uppercase(),
        sla,
        sla_state,
        updated: ago(now, row.updated_at),
    }
}

/// The clock that matters now: the response until the desk answered, then the resolution.
fn summary(clocks: &SlaClocks, now: Timestamp) -> (String, &'static str) {
    let answered = clocks.response.stopped_at.is_some();
    let (name, clock) = if answered { ("Resolution", &clocks.resolution) } else { ("Response", &clocks.response) };
    let (text, state) = clock_text(clock, now);
    (format!("{name}: {text}"), state)
}

/// A clock as a sentence, with the style of its state.
pub(super) fn clock_text(clock: &Clock, now: Timestamp) -> (String, &'static str) {
    let remaining = clock.remaining.as_secs() / 60;
    match clock.state {
        ClockState::Met => {
            let at = clock.stopped_at.map(|at| format!(" ({})", time_text(at))).unwrap_or_default();
            (format!("met{at}"), "ok")
        }
        ClockState::Breached => match clock.stopped_at {
            Some(_) => (format!("missed by {}", duration_text(remaining)), "breached"),
            None => (format!("overdue by {}", duration_text(remaining)), "breached"),
        },
        ClockState::Paused => {
            (format!("paused while we wait for your answer; {} left", duration_text(remaining)), "paused")
        }
        ClockState::Running | ClockState::Warning => {
            let state = if clock.state == ClockState::Warning { "warning" } else { "ok" };
            let due = clock
                .due_at
                .filter(|due| *due > now)
                .map(|due| format!(", due {}", time_text(due)))
                .unwrap_or_default();
            (format!("{} left{due}", duration_text(remaining)), state)
        }
    }
}
