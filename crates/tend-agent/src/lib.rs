//! The tend agent: runs on a managed server, collects what a good administrator checks by
//! hand, and reports it to the control plane.
//!
//! Architecture invariant: the agent never depends on the server or the store; it speaks to the
//! control plane only through the wire types of `tend-proto`, over agent-initiated HTTP(S).

pub mod backup;
pub mod collect;
pub mod config;
pub mod jobs;
pub mod run;
pub mod spool;
pub mod state;
pub mod transport;

mod error;
pub use error::Error;
