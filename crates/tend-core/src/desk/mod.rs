//! The service desk: tickets, their priority, the SLA clocks the provider promised, the
//! structured forms customers file for work on their servers, and the authorizations those forms
//! grant.
//!
//! - `ticket`: kinds, the status lifecycle and who may move a ticket along it, escalation.
//! - `priority`: impact × urgency → priority, through a matrix a client may configure.
//! - `calendar`: business hours in the customer's zone, and working time between instants.
//! - `sla`: response and resolution clocks, derived from a ticket's history; their alarms.
//! - `forms`: validation of intervention, OS reinstall and hardware change forms, and the
//!   sentences the customer acknowledged.
//! - `authorization`: whether a technician may reboot, power cycle, shut down or run a
//!   destructive job on a host at a given instant.
//!
//! Must not: read the clock, store, notify, or know about HTTP. Every question takes its
//! instant; the server keeps the ticket history and the alarms it has sent.

mod authorization;
mod calendar;
mod forms;
mod priority;
mod sla;
mod ticket;

pub use authorization::{
    GatedAction, Grant, GrantSource, Refusal, TimeLimit, authorize_action, grant_from_intervention,
};
pub use calendar::{BusinessCalendar, MAX_SEARCH_YEARS, Opening, WeekHours};
pub use forms::{
    MAX_WINDOWS, acknowledgements, form_kind, validate_form, validate_hardware_change, validate_intervention,
    validate_os_reinstall,
};
pub use priority::{ByUrgency, Impact, Priority, PriorityMatrix, Urgency, validate_override_reason};
pub use sla::{
    AlarmLevel, Change, Clock, ClockKind, ClockState, DEFAULT_WARN_AT, SlaAlarm, SlaClocks, SlaPolicy, Target, Targets,
    TicketEvent, alarms, clocks,
};
pub use ticket::{
    Actor, TicketKind, TicketStatus, auto_close_due, check_transition, escalate, status_after_customer_reply,
    validate_escalation_note,
};

use crate::Error;

/// Longest free text the desk accepts: a problem description, a note, a reason.
pub const MAX_TEXT_CHARS: usize = 10_000;

/// A trimmed, non-empty free text of at most [`MAX_TEXT_CHARS`] characters. Line breaks and tabs
/// are welcome (people paste logs); other control characters are refused because they garble
/// the ticket's printable summary and the terminal of whoever reads it.
fn validate_text<'a>(field: &'static str, text: &'a str) -> Result<&'a str, Error> {
    let text = text.trim();
    let reason = if text.is_empty() {
        "required: must not be empty".to_owned()
    } else if text.chars().count() > MAX_TEXT_CHARS {
        format!("must be at most {MAX_TEXT_CHARS} characters")
    } else if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        "must not contain control characters other than line breaks and tabs".to_owned()
    } else {
        return Ok(text);
    };
    Err(Error::Invalid { field, reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text() {
        assert_eq!(validate_text("note", "  disk full\n\tsee log  ").unwrap(), "disk full\n\tsee log");
        assert!(validate_text("note", &"é".repeat(MAX_TEXT_CHARS)).is_ok());
        for bad in ["", " \n ", "bell\u{7}", "esc\u{1b}[31m", &"x".repeat(MAX_TEXT_CHARS + 1)] {
            assert!(matches!(validate_text("note", bad), Err(Error::Invalid { field: "note", .. })), "{bad:?}");
        }
    }
}
