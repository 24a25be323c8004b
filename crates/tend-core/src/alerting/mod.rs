//! The alert lifecycle: the pure state machine the server runs for every (check, target) pair,
//! so that a real problem reaches the right person once and quickly, a blip raises no false
//! alarm, and nothing flaps anyone awake at night.
//!
//! Owns: when a problem becomes an alert and when it is over ([`observe`]), flapping,
//! escalation of severity, acknowledgements ([`acknowledge`]), when reminders and escalation to
//! the next support level are due ([`due_notifications`]), and the classification of metric
//! values against limits ([`classify`]).
//!
//! Must not: read the clock, store, or notify. Every function takes the time and a track and
//! returns the next track with events; the server persists the track as JSON, records the
//! events in the alert history and makes notifications from them. Maintenance windows are not
//! applied here: the caller decides whether a problem seen during planned work reaches a track.

mod acknowledgement;
mod notification;
mod observe;
mod threshold;
mod track;

#[cfg(test)]
mod testing;

pub use acknowledgement::{acknowledge, expire_acknowledgement};
pub use notification::{EscalationPolicy, NotificationDue, due_notifications};
pub use observe::observe;
pub use threshold::{Direction, Threshold, classify};
pub use track::{Acknowledgement, AlertEvent, AlertPolicy, AlertState, AlertTrack, Condition, Observation, Severity};
