//! Patch management, the pure part: which of a host's packages an advisory makes vulnerable,
//! whether the provider keeps its security promise, and how a patch set moves through rings.
//!
//! - `version`: dpkg's and rpm's version orders, exactly, with their own test vectors.
//! - `advisory`: advisories per distribution release and source package, matched against a
//!   host's installed packages; mitigations of flaws that have no fix.
//! - `import`: OSV records and the Debian security tracker's export, bytes to advisories,
//!   bounded against absurd input.
//! - `policy`: the security promise (24 hours by default) and its deadlines, holds, a host's
//!   compliance.
//! - `rollout`: rings, soak and gates, as a state machine over recorded outcomes.
//! - `gate`: the post-update health gate, and reboots spread over a maintenance window.
//!
//! Must not: read the clock, fetch or store advisories, run a package manager, or notify. Every
//! question takes its instant; the server fetches, stores, schedules jobs in maintenance windows,
//! opens tickets and audits promotions without soak.

mod advisory;
mod gate;
mod import;
mod policy;
mod rollout;
mod version;

pub use advisory::{
    Advisory, AffectedPackage, Deferral, Exposure, ExposureStatus, FixStatus, HostOs, HostPackages, Matched,
    Mitigation, MitigationKind, MitigationScope, Severity, Unjudged, match_host,
};
pub use gate::{AfterUpdate, Firing, Verdict, health_gate, reboot_slot};
pub use import::{
    Imported, MAX_AFFECTED, MAX_ALIASES, MAX_IMPORT_BYTES, MAX_SUMMARY_CHARS, Skipped, parse_debian_tracker, parse_osv,
};
pub use policy::{
    Compliance, DEFAULT_HEALTH_GATE, DEFAULT_SECURITY_PROMISE, Hold, MAX_HEALTH_GATE, MAX_SECURITY_PROMISE,
    PatchPolicy, PendingSecurity, RebootPolicy, Selection, compliance, security_deadline, select_updates,
};
pub use rollout::{
    Applied, DEFAULT_EMERGENCY_SOAK, DEFAULT_SOAK, Halt, MAX_SOAK, Outcome, Promotion, RingState, Rollout, SoakPolicy,
    Step, Urgency, next_step,
};
pub use version::{DebVersion, RpmVersion, VersionScheme};

use crate::Error;

/// Longest identifier, package name, release or owner tend keeps.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest free text: a mitigation's description, a hold's reason, a promotion's reason.
pub const MAX_TEXT_CHARS: usize = 2_000;

/// An identifier, package name, release or version: non-empty, at most [`MAX_NAME_CHARS`]
/// characters, no whitespace or control characters (they would garble the report and make two
/// names that look the same differ).
fn validate_token<'a>(field: &'static str, text: &'a str) -> Result<&'a str, Error> {
    let reason = if text.is_empty() {
        "must not be empty".to_owned()
    } else if text.chars().count() > MAX_NAME_CHARS {
        format!("must be at most {MAX_NAME_CHARS} characters")
    } else if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        format!("{text:?} must not contain whitespace or control characters")
    } else {
        return Ok(text);
    };
    Err(Error::Invalid { field, reason })
}

/// A trimmed, non-empty free text of at most `max` characters; line breaks and tabs are fine,
/// other control characters are refused.
fn validate_text<'a>(field: &'static str, text: &'a str, max: usize) -> Result<&'a str, Error> {
    let text = text.trim();
    let reason = if text.is_empty() {
        "required: must not be empty".to_owned()
    } else if text.chars().count() > max {
        format!("must be at most {max} characters")
    } else if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        "must not contain control characters other than line breaks and tabs".to_owned()
    } else {
        return Ok(text);
    };
    Err(Error::Invalid { field, reason })
}
