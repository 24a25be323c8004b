//! The domain of tend, pure: tenancy and authorization decisions, host heartbeat status,
//! enrollment token rules.
//!
//! Architecture invariant: nothing here reads the clock, the network or the disk. Time is an
//! argument, so every rule can be walked through exhaustively in unit tests.

pub mod alerting;
pub mod backups;
pub mod checks;
pub mod desk;
pub mod enrollment;
pub mod heartbeat;
pub mod maintenance;
pub mod patching;
pub mod pings;
pub mod tenancy;

mod error;
pub use error::Error;
