//! The service desk: contracts, tickets through their lifecycle, SLA clocks and their alarms,
//! ticket e-mail, and incidents opened by alerts.
//!
//! The rules are `tend_core::desk`'s (which status may follow which, priorities, SLA clocks
//! derived from a ticket's history); this module feeds them what the store holds and writes what
//! they decide, one transaction per change.
//!
//! - `contract`: a client's contract as the domain reads it, with the provider's defaults.
//! - `tickets`: filing and changing tickets; every change also recomputes the SLA deadline.
//! - `sla`: the timer that raises SLA warnings and breaches, escalates, and auto-closes.
//! - `mail`: ticket e-mail to the requester and contacts.
//! - `inbound`: customers' e-mail replies, read from the desk's IMAP mailbox onto their tickets.
//! - `incidents`: firing alerts open or update incident tickets; recovery resolves them.

pub mod contract;
pub mod inbound;
pub mod incidents;
pub mod mail;
pub mod sla;
pub mod tickets;
