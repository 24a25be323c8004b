//! What a ticket is and how it moves: its kind, its status lifecycle, who may move it along that
//! lifecycle, and escalation between support levels.
//!
//! The lifecycle is new → open → in progress ⇄ waiting on customer → resolved → closed. A
//! resolved ticket may be reopened; a closed one is final except that the provider's staff may
//! reopen it (a customer whose problem came back files a new ticket, so that reports count it).
//!
//! Must not decide priorities or SLA clocks (`priority`, `sla`) nor store anything: the server
//! records each transition, with its actor and instant, in the ticket's history.

use std::fmt;
use std::str::FromStr;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::validate_text;
use crate::Error;
use crate::tenancy::{Role, SupportLevel};

/// What a ticket asks for. The three last kinds come with a structured form (see `forms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    /// Something is broken.
    Incident,
    /// The customer asks for something that is not broken: an account, a quote, advice.
    ServiceRequest,
    /// Hands-on work on a server, possibly with a reboot (an intervention form).
    Intervention,
    /// The server's operating system installed afresh, erasing it (an OS reinstall form).
    OsReinstall,
    /// A component replaced (a hardware change form).
    HardwareChange,
    /// A planned change to a customer's systems.
    Change,
}

impl TicketKind {
    pub const ALL: [TicketKind; 6] = [
        TicketKind::Incident,
        TicketKind::ServiceRequest,
        TicketKind::Intervention,
        TicketKind::OsReinstall,
        TicketKind::HardwareChange,
        TicketKind::Change,
    ];

    /// The name stored and sent on the wire, as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketKind::Incident => "incident",
            TicketKind::ServiceRequest => "service_request",
            TicketKind::Intervention => "intervention",
            TicketKind::OsReinstall => "os_reinstall",
            TicketKind::HardwareChange => "hardware_change",
            TicketKind::Change => "change",
        }
    }
}

impl fmt::Display for TicketKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TicketKind {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        TicketKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| Error::Invalid { field: "kind", reason: format!("'{text}' is not a ticket kind") })
    }
}

/// Where a ticket stands in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// Filed, nobody has looked at it yet.
    New,
    /// Acknowledged by the desk, not yet worked on.
    Open,
    InProgress,
    /// The desk asked the customer something; SLA clocks pause until they answer.
    WaitingOnCustomer,
    /// The desk considers the work done; the customer may confirm (close) or reopen.
    Resolved,
    Closed,
}

impl TicketStatus {
    pub const ALL: [TicketStatus; 6] = [
        TicketStatus::New,
        TicketStatus::Open,
        TicketStatus::InProgress,
        TicketStatus::WaitingOnCustomer,
        TicketStatus::Resolved,
        TicketStatus::Closed,
    ];

    /// The name stored and sent on the wire, as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::New => "new",
            TicketStatus::Open => "open",
            TicketStatus::InProgress => "in_progress",
            TicketStatus::WaitingOnCustomer => "waiting_on_customer",
            TicketStatus::Resolved => "resolved",
            TicketStatus::Closed => "closed",
        }
    }
}

impl fmt::Display for TicketStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TicketStatus {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        TicketStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| Error::Invalid { field: "status", reason: format!("'{text}' is not a ticket status") })
    }
}

/// Who moves a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The provider's administrators and technicians.
    Staff,
    /// A user of the client the ticket belongs to.
    Customer,
    /// tend itself: the auto-close scheduler.
    System,
}

impl Actor {
    /// The actor a signed-in user acts as.
    pub fn of(role: Role) -> Actor {
        if role.is_staff() { Actor::Staff } else { Actor::Customer }
    }
}

/// Whether `actor` may move a ticket from `from` to `to`.
///
/// Staff move a ticket forward: new → open or straight to in progress, open → in progress,
/// in progress ⇄ waiting on customer, and anything before resolved → resolved. Open → waiting
/// on customer is allowed too (the desk needs an answer before it can start), and new →
/// resolved (a duplicate, a question answered at once). Closing a resolved ticket is the
/// customer's confirmation, or tend's once the auto-close period has passed
/// ([`auto_close_due`]): staff closing it would deprive the customer of their say. Either the
/// customer or staff may reopen a resolved ticket; only staff reopen a closed one.
///
/// A move that is no step of the lifecycle is refused as an invalid `status`; a step this actor
/// may not take is forbidden.
pub fn check_transition(from: TicketStatus, to: TicketStatus, actor: Actor) -> Result<(), Error> {
    use Actor::{Customer, Staff, System};
    use TicketStatus::*;

    const FORWARD: &str = "only the provider's staff move a ticket forward";
    let (allowed, refusal): (&[Actor], &'static str) = match (from, to) {
        (New, Open | InProgress | Resolved) => (&[Staff], FORWARD),
        (Open, InProgress | WaitingOnCustomer | Resolved) => (&[Staff], FORWARD),
        (InProgress, WaitingOnCustomer | Resolved) => (&[Staff], FORWARD),
        (WaitingOnCustomer, Resolved) => (&[Staff], FORWARD),
        (WaitingOnCustomer, InProgress) => {
            (&[Staff, Customer], "only the customer's answer or the provider's staff resume work on a ticket")
        }
        (Resolved, Open) => (&[Staff, Customer], "only the customer or the provider's staff reopen a resolved ticket"),
        (Resolved, Closed) => (
            &[Customer, System],
            "only the customer closes a resolved ticket, or tend once the auto-close period has passed",
        ),
        (Closed, Open) => (&[Staff], "only the provider's staff reopen a closed ticket"),
        _ => {
            let reason = if from == to {
                format!("the ticket is already {to}")
            } else {
                format!("a ticket cannot go from {from} to {to}")
            };
            return Err(Error::Invalid { field: "status", reason });
        }
    };
    if allowed.contains(&actor) { Ok(()) } else { Err(Error::Forbidden(refusal)) }
}

/// The status a customer's reply moves a ticket to, if any: an answer to the desk's question
/// puts the ticket back in progress (and its SLA clocks running). A reply on a resolved ticket
/// does not reopen it: "thank you" is the most common one. Reopening is an explicit action.
pub fn status_after_customer_reply(status: TicketStatus) -> Option<TicketStatus> {
    (status == TicketStatus::WaitingOnCustomer).then_some(TicketStatus::InProgress)
}

/// Whether a ticket resolved at `resolved_at` should be closed by tend at `now`: the customer
/// has neither confirmed nor reopened it for `after`. Counted in real time, not business hours:
/// the customer's silence over a weekend is silence too.
pub fn auto_close_due(resolved_at: Timestamp, after: SignedDuration, now: Timestamp) -> bool {
    now.duration_since(resolved_at) >= after
}

/// The support level a ticket escalates to from `level`; `None` at the last one.
pub fn escalate(level: SupportLevel) -> Option<SupportLevel> {
    match level {
        SupportLevel::L1 => Some(SupportLevel::L2),
        SupportLevel::L2 => Some(SupportLevel::L3),
        SupportLevel::L3 => None,
    }
}

/// The trimmed note that must come with an escalation: the next level should not have to
/// start over by asking what was tried.
pub fn validate_escalation_note(note: &str) -> Result<&str, Error> {
    validate_text("note", note)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for status in TicketStatus::ALL {
            assert_eq!(status.as_str().parse::<TicketStatus>().unwrap(), status);
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        for kind in TicketKind::ALL {
            assert_eq!(kind.as_str().parse::<TicketKind>().unwrap(), kind);
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        assert!(matches!("InProgress".parse::<TicketStatus>(), Err(Error::Invalid { field: "status", .. })));
        assert!(matches!("bug".parse::<TicketKind>(), Err(Error::Invalid { field: "kind", .. })));
    }

    #[test]
    fn transitions_table() {
        use Actor::{Customer, Staff, System};
        use TicketStatus::*;
        // Every allowed move; anything else is refused.
        let allowed = [
            (New, Open, Staff),
            (New, InProgress, Staff),
            (New, Resolved, Staff),
            (Open, InProgress, Staff),
            (Open, WaitingOnCustomer, Staff),
            (Open, Resolved, Staff),
            (InProgress, WaitingOnCustomer, Staff),
            (InProgress, Resolved, Staff),
            (WaitingOnCustomer, InProgress, Staff),
            (WaitingOnCustomer, InProgress, Customer),
            (WaitingOnCustomer, Resolved, Staff),
            (Resolved, Open, Staff),
            (Resolved, Open, Customer),
            (Resolved, Closed, Customer),
            (Resolved, Closed, System),
            (Closed, Open, Staff),
        ];
        for from in TicketStatus::ALL {
            for to in TicketStatus::ALL {
                for actor in [Staff, Customer, System] {
                    let expected = allowed.contains(&(from, to, actor));
                    assert_eq!(check_transition(from, to, actor).is_ok(), expected, "{from} → {to} by {actor:?}");
                }
            }
        }
    }

    #[test]
    fn refusals_say_whether_the_move_exists() {
        use TicketStatus::*;
        let cases = [
            // (from, to, actor, message)
            (New, Closed, Actor::Staff, "invalid status: a ticket cannot go from new to closed"),
            (Open, Open, Actor::Staff, "invalid status: the ticket is already open"),
            (InProgress, Open, Actor::Staff, "invalid status: a ticket cannot go from in_progress to open"),
            (Open, InProgress, Actor::Customer, "only the provider's staff move a ticket forward"),
            (
                Resolved,
                Closed,
                Actor::Staff,
                "only the customer closes a resolved ticket, or tend once the auto-close period has passed",
            ),
            (Closed, Open, Actor::Customer, "only the provider's staff reopen a closed ticket"),
            (Resolved, Open, Actor::System, "only the customer or the provider's staff reopen a resolved ticket"),
        ];
        for (from, to, actor, message) in cases {
            assert_eq!(check_transition(from, to, actor).unwrap_err().to_string(), message, "{from} → {to}");
        }
        assert!(matches!(check_transition(New, Closed, Actor::Staff), Err(Error::Invalid { field: "status", .. })));
        assert!(matches!(check_transition(Resolved, Closed, Actor::Staff), Err(Error::Forbidden(_))));
    }

    #[test]
    fn a_customer_reply_resumes_only_a_ticket_waiting_on_them() {
        for status in TicketStatus::ALL {
            let expected = (status == TicketStatus::WaitingOnCustomer).then_some(TicketStatus::InProgress);
            assert_eq!(status_after_customer_reply(status), expected, "{status}");
            if let Some(next) = expected {
                assert!(check_transition(status, next, Actor::Customer).is_ok());
            }
        }
    }

    #[test]
    fn auto_close_after_the_period_in_real_time() {
        let resolved: Timestamp = "2025-06-06T17:00:00Z".parse().unwrap(); // a Friday evening
        let week = SignedDuration::from_hours(7 * 24);
        let cases = [
            ("2025-06-06T17:00:00Z", false),
            ("2025-06-13T16:59:59Z", false),
            ("2025-06-13T17:00:00Z", true),
            ("2025-07-01T00:00:00Z", true),
            ("2025-06-01T00:00:00Z", false), // a clock behind the resolution
        ];
        for (now, due) in cases {
            assert_eq!(auto_close_due(resolved, week, now.parse().unwrap()), due, "at {now}");
        }
    }

    #[test]
    fn escalation_climbs_the_levels_with_a_note() {
        assert_eq!(escalate(SupportLevel::L1), Some(SupportLevel::L2));
        assert_eq!(escalate(SupportLevel::L2), Some(SupportLevel::L3));
        assert_eq!(escalate(SupportLevel::L3), None);
        assert_eq!(
            validate_escalation_note(" RAID rebuild fails at 40 %, see dmesg\n").unwrap(),
            "RAID rebuild fails at 40 %, see dmesg"
        );
        assert!(matches!(validate_escalation_note("  "), Err(Error::Invalid { field: "note", .. })));
    }

    #[test]
    fn actors_of_roles() {
        assert_eq!(Actor::of(Role::Admin), Actor::Staff);
        assert_eq!(Actor::of(Role::Technician(SupportLevel::L1)), Actor::Staff);
        assert_eq!(Actor::of(Role::ClientAdmin), Actor::Customer);
        assert_eq!(Actor::of(Role::ClientUser), Actor::Customer);
    }
}
