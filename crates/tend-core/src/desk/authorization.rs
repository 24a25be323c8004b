//! Whether a technician may do something drastic to a customer's host right now: reboot it,
//! power cycle it, shut it down, or run a job that destroys data (a restore that overwrites, an
//! OS reinstall). Only the customer can allow these, on a ticket (an intervention form's power
//! action and windows) or as a standing authorization.
//!
//! What a grant permits: a reboot grant permits reboots only; a power cycle grant permits power
//! cycles and reboots, since whoever accepts a hard reset accepts a clean restart; a shutdown
//! grant permits shutdowns only, since a server that comes back up is not what was agreed
//! (the customer may be moving data off it); a destructive job grant permits destructive jobs
//! only, and nothing else implies one.
//!
//! Must not decide which grants are in force: the caller passes the grants of the host's
//! client that still hold (a ticket's grants lapse when the ticket is resolved), and records
//! the decision.

use std::collections::BTreeSet;
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tend_proto::desk::{InterventionForm, PowerAction};

use super::forms::{parse_windows, validate_intervention};
use crate::Error;
use crate::maintenance::WindowSchedule;

/// An action that needs the customer's authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GatedAction {
    Reboot,
    PowerCycle,
    Shutdown,
    /// A job that destroys data on the host: a restore that overwrites, an OS reinstall.
    DestructiveJob,
}

impl GatedAction {
    /// The actions a grant of this one permits (see the module documentation).
    fn permitted(self) -> &'static [GatedAction] {
        match self {
            GatedAction::Reboot => &[GatedAction::Reboot],
            GatedAction::PowerCycle => &[GatedAction::Reboot, GatedAction::PowerCycle],
            GatedAction::Shutdown => &[GatedAction::Shutdown],
            GatedAction::DestructiveJob => &[GatedAction::DestructiveJob],
        }
    }
}

impl fmt::Display for GatedAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GatedAction::Reboot => "reboot",
            GatedAction::PowerCycle => "power cycle",
            GatedAction::Shutdown => "shutdown",
            GatedAction::DestructiveJob => "destructive job",
        })
    }
}

/// Where an authorization comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantSource {
    /// The form of this ticket; holds while the ticket is open.
    Ticket(i64),
    /// Agreed with the customer for good, until revoked.
    Standing,
}

impl fmt::Display for GrantSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GrantSource::Ticket(id) => write!(f, "ticket {id}"),
            GrantSource::Standing => f.write_str("the standing authorization"),
        }
    }
}

/// When a grant holds.
#[derive(Debug, Clone, PartialEq)]
pub enum TimeLimit {
    Always,
    /// Within any of these intervals, each from its start (inclusive) to its end (exclusive).
    Intervals(Vec<(Timestamp, Timestamp)>),
    /// Within the occurrences of a recurring window, such as the client's maintenance window.
    Recurring(WindowSchedule),
}

impl TimeLimit {
    fn holds_at(&self, at: Timestamp) -> bool {
        match self {
            TimeLimit::Always => true,
            TimeLimit::Intervals(intervals) => intervals.iter().any(|&(start, end)| start <= at && at < end),
            TimeLimit::Recurring(schedule) => schedule.active_at(at).is_some(),
        }
    }

    /// The first start of a period in which the grant holds, after `at`.
    fn next_start(&self, at: Timestamp) -> Option<Timestamp> {
        match self {
            TimeLimit::Always => None,
            TimeLimit::Intervals(intervals) => intervals.iter().map(|&(start, _)| start).filter(|&s| s > at).min(),
            TimeLimit::Recurring(schedule) => schedule.next_after(at).map(|occurrence| occurrence.start),
        }
    }
}

/// The customer's permission to take some gated actions on a host, or on every host of theirs.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    pub source: GrantSource,
    /// `None`: every host of the client.
    pub host_id: Option<i64>,
    pub actions: Vec<GatedAction>,
    pub when: TimeLimit,
}

impl Grant {
    fn covers(&self, host_id: i64) -> bool {
        self.host_id.is_none_or(|id| id == host_id)
    }

    fn permitted(&self) -> impl Iterator<Item = GatedAction> + '_ {
        self.actions.iter().flat_map(|action| action.permitted().iter().copied())
    }
}

/// Why an action may not be taken, as the technician should be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No grant covers this host at all.
    NoAuthorization { action: GatedAction },
    /// A grant permits the action, but not at this instant. `next_start` is the earliest time
    /// such a grant holds again, if any.
    OutsideWindow { action: GatedAction, source: GrantSource, next_start: Option<Timestamp> },
    /// Grants cover the host, but for other actions: those are `authorized`.
    WrongAction { action: GatedAction, authorized: Vec<GatedAction> },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NoAuthorization { action } => write!(
                f,
                "nothing authorizes a {action} of this host: the customer must grant it on a ticket or as a standing \
                 authorization"
            ),
            Refusal::OutsideWindow { action, source, next_start } => {
                write!(f, "{source} authorizes a {action} only inside its windows; ")?;
                match next_start {
                    Some(start) => write!(f, "the next one starts at {start}"),
                    None => f.write_str("none is left"),
                }
            }
            Refusal::WrongAction { action, authorized } => {
                let authorized: Vec<String> = authorized.iter().map(ToString::to_string).collect();
                write!(f, "the customer authorized only {} on this host, not a {action}", authorized.join(", "))
            }
        }
    }
}

impl std::error::Error for Refusal {}

/// The grant under which `action` may be taken on `host_id` at `at`: the first in `grants` that
/// covers the host, permits the action and holds at that instant.
///
/// Otherwise the most useful refusal for the technician: a grant that would permit the action
/// later (with the earliest next window) beats grants for other actions, which beat nothing at
/// all, so that the message says what to wait for or whom to ask.
pub fn authorize_action(grants: &[Grant], host_id: i64, action: GatedAction, at: Timestamp) -> Result<&Grant, Refusal> {
    let mut outside: Option<(GrantSource, Option<Timestamp>)> = None;
    let mut authorized = BTreeSet::new();
    for grant in grants.iter().filter(|grant| grant.covers(host_id)) {
        if !grant.permitted().any(|permitted| permitted == action) {
            authorized.extend(grant.permitted());
            continue;
        }
        if grant.when.holds_at(at) {
            return Ok(grant);
        }
        let next_start = grant.when.next_start(at);
        if outside.is_none_or(|(_, best)| sooner(next_start, best)) {
            outside = Some((grant.source, next_start));
        }
    }
    Err(match outside {
        Some((source, next_start)) => Refusal::OutsideWindow { action, source, next_start },
        None if authorized.is_empty() => Refusal::NoAuthorization { action },
        None => Refusal::WrongAction { action, authorized: authorized.into_iter().collect() },
    })
}

/// Whether a next start `a` comes before `b`; no next start at all comes last.
fn sooner(a: Option<Timestamp>, b: Option<Timestamp>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a < b,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// The grant an intervention form gives on ticket `ticket_id` for the host the server resolved
/// its identification to: the power action chosen, within the windows given or, without
/// windows, while the ticket is open. `None` when the customer chose no power action. The form
/// is validated first.
pub fn grant_from_intervention(ticket_id: i64, host_id: i64, form: &InterventionForm) -> Result<Option<Grant>, Error> {
    validate_intervention(form)?;
    let action = match form.power_action {
        None | Some(PowerAction::None) => return Ok(None),
        Some(PowerAction::Reboot) => GatedAction::Reboot,
        Some(PowerAction::PowerCycle) => GatedAction::PowerCycle,
        Some(PowerAction::Shutdown) => GatedAction::Shutdown,
    };
    let windows = parse_windows("power_windows", &form.power_windows)?;
    let when = if windows.is_empty() { TimeLimit::Always } else { TimeLimit::Intervals(windows) };
    Ok(Some(Grant { source: GrantSource::Ticket(ticket_id), host_id: Some(host_id), actions: vec![action], when }))
}

#[cfg(test)]
mod tests;
