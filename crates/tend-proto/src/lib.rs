//! Wire types shared by the tend agent, the server and the CLI.
//!
//! Everything here is serialized across a process boundary, so changing a type is an API change:
//! add optional fields, never repurpose or remove one, and bump [`REPORT_SCHEMA_VERSION`] when
//! the meaning of a report changes. This crate does no I/O and holds no domain rules.

pub mod agent;
pub mod api;
pub mod backup_api;
pub mod backups;
pub mod desk;
pub mod inventory;
pub mod jobs;
pub mod patching;
pub mod pings;
pub mod rollouts;
pub mod tickets;

/// Version of the agent report schema carried in every report.
///
/// The server accepts reports of this version and older ones it still understands; a newer
/// version is refused so that an upgraded agent never feeds an old server data it would misread.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// Media type of RFC 9457 problem documents.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";
