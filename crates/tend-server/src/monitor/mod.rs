//! Monitoring: findings become alerts, alerts become notifications.
//!
//! - `evaluate`: the checks of one host (after each report, and the heartbeat on a timer) run
//!   through the domain's alert lifecycle; changes, history and notification intents are written
//!   in one transaction.
//! - `scheduler`: the background work: heartbeat evaluation and notification delivery.
//! - `notify`: delivering the outbox by e-mail and webhook.
//!
//! The rules live in `tend_core` (checks, alerting, maintenance); this module only feeds them
//! and stores what they decide.

pub mod evaluate;
pub mod notify;
pub mod scheduler;
pub mod settings;
