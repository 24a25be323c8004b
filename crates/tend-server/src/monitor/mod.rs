//! Monitoring: findings become alerts, alerts become notifications.
//!
//! - `evaluate`: the checks of one host (after each report, and the heartbeat on a timer) run
//!   through the domain's alert lifecycle; changes, history and notification intents are written
//!   in one transaction.
//! - `heartbeat`: overdue hosts, asked from outside whether they still answer.
//! - `forecast`: disk-full forecasts over the stored series, hourly.
//! - `backups`: each host's backup runs and 3-2-1 posture, after reports and every 5 minutes.
//! - `pings`: heartbeat ping checks of cron jobs and backup tools, after each ping and every 30 s.
//! - `escalation`: reminders and escalation to the next support level while nobody acknowledges.
//! - `notices`: telling a client's contacts of planned maintenance days before.
//! - `scheduler`: the timers that run all of the above and the synthetic probes.
//! - `notify`: delivering the outbox by e-mail and webhook.
//! - `test_run`: one check run once on stored data, recording nothing (`tend check test`).
//!
//! The rules live in `tend_core` (checks, alerting, maintenance); this module only feeds them
//! and stores what they decide.

pub mod backups;
pub mod escalation;
pub mod evaluate;
pub mod forecast;
pub mod heartbeat;
pub mod notices;
pub mod notify;
pub mod pings;
pub mod scheduler;
pub mod settings;
pub mod test_run;
