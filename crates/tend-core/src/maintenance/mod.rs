//! Maintenance windows: times during which alerts on what a window covers are recorded but
//! nobody is notified, and the notices that tell customers of planned work ahead.
//!
//! - `rrule`: the supported subset of RFC 5545 recurrence rules, parsed and written back.
//! - `calendar`: which local days a rule selects (no times, no zones).
//! - `schedule`: a window's local start, duration and zone, mapped to real instants, DST
//!   included; the questions "is one open?", "when is the next?", "which notice is due?".
//! - `scope`: what a window covers, and whether any window silences an alert.
//!
//! Like all of `tend-core`, nothing here reads the clock: every question takes its instant.

mod calendar;
mod rrule;
mod schedule;
mod scope;

pub use rrule::{Recurrence, parse_rrule};
pub use schedule::{HORIZON_YEARS, MAX_DURATION, Occurrence, WindowSchedule, notices_due};
pub use scope::{Target, WindowKind, WindowScope, suppresses};
