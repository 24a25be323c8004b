//! tend's persistence: one interface over embedded SQLite and PostgreSQL.
//!
//! Architecture invariants:
//! - The store knows nothing of HTTP or of the wire protocol; callers convert at their edge.
//! - Every method that reads or writes a tenant's data takes a [`Scope`] and applies it in SQL.
//!   There is no unscoped read of tenant data; background work passes `Scope::System` visibly.
//! - One code path serves both backends: queries use `$n` placeholders and SQL both engines
//!   speak; only the migrations differ per backend.
//! - On SQLite all writes go through one connection, so request handlers never fight over
//!   SQLite's single write lock; reads use a pool of their own.

mod alerts;
mod audit;
mod backups;
mod contacts;
mod contracts;
mod db;
mod enrollment;
mod error;
mod hosts;
mod ingest;
mod inventory;
mod jobs;
mod migrate;
mod monitoring;
mod outbox;
mod patch_policies;
mod patch_summaries;
mod patching;
mod pings;
mod probes;
mod rollouts;
mod self_backup;
mod series;
mod tenants;
mod ticket_mail;
mod tickets;
mod users;
mod vault;

pub use alerts::{AlertEventRecord, AlertEventRow, AlertRow, AlertUpdate, NotificationIntent, OutboxRow};
pub use audit::AuditEntry;
pub use backups::{BackupEventRow, BackupOverviewRow, BackupPlanRow, NewBackupEvent};
pub use contacts::{ContactRow, NoticeRow};
pub use contracts::ContractRow;
pub use db::{Backend, Store};
pub use enrollment::{AgentIdentity, Enrolled, EnrollmentTokenRow, NewEnrollmentToken};
pub use error::Error;
pub use hosts::{HostRow, LatestValue};
pub use ingest::{IngestOutcome, IngestReport, IngestSample};
pub use inventory::{InventorySection, ReportLogEntry};
pub use jobs::{JobRow, Queued};
pub use monitoring::{ChannelRow, CheckOverrideRow, MaintenanceWindowRow};
pub use patch_policies::PatchPolicyRow;
pub use patch_summaries::PatchSummaryRow;
pub use patching::{AdvisoryChanges, AdvisoryRow, MitigationRow};
pub use pings::{NewPingCheck, PINGS_KEPT, PingCheckRow, PingRow};
pub use probes::ProbeRow;
pub use rollouts::{RolloutJobRow, RolloutRow};
pub use self_backup::{BackupRecord, Restored, SelfBackupError, restore};
pub use series::{MetricQuery, SeriesPoints};
pub use tenants::{ClientRow, SiteRow};
pub use tend_core::tenancy::Scope;
pub use ticket_mail::TicketMail;
pub use tickets::{NewTicketEvent, TicketChange, TicketEventRow, TicketFilter, TicketRow};
pub use users::{ApiTokenRow, NewUser, SessionRow, UserRow};
pub use vault::VaultCredentialRow;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Milliseconds since the Unix epoch, as stored.
pub(crate) fn millis(at: jiff::Timestamp) -> i64 {
    at.as_millisecond()
}

/// An update or delete that must have found its row: none found means the caller may not see
/// it or it does not exist, which to them is the same.
pub(crate) fn changed_one(done: sqlx::any::AnyQueryResult, what: &'static str) -> Result<()> {
    if done.rows_affected() == 0 { Err(Error::NotFound(what)) } else { Ok(()) }
}

/// A stored millisecond timestamp back to a time.
pub(crate) fn timestamp(ms: i64) -> Result<jiff::Timestamp> {
    jiff::Timestamp::from_millisecond(ms).map_err(|e| Error::Corrupt(format!("timestamp {ms}: {e}")))
}

#[cfg(feature = "test-support")]
pub mod testing;
