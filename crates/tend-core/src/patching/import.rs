//! Advisories from the files distributions and vulnerability databases publish: bytes in,
//! advisories out. Two formats:
//! - OSV records (<https://ossf.github.io/osv-schema/>): one record, a JSON array of records, or
//!   records one after another (JSON lines), for the Debian, Ubuntu, AlmaLinux and Rocky Linux
//!   ecosystems; see `osv`.
//! - The Debian security tracker's JSON export (`/tracker/data/json`), per source package, CVE
//!   and release; see `debian_tracker`.
//!
//! Bounded: an input over [`MAX_IMPORT_BYTES`] is refused before it is read, and nesting deeper
//! than serde_json's recursion limit (128) is an error, not a stack overflow. Summaries are cut
//! at [`MAX_SUMMARY_CHARS`], entries per advisory at [`MAX_AFFECTED`]. A file that is not JSON
//! (or not the format's shape) is refused whole; within it, a record or entry that does not make
//! sense is skipped and listed, and never costs the others.
//!
//! Must not: fetch, store, or decide what is new: the server reads the bytes (a configured URL
//! or directory), and keeps when it first learned of each advisory with
//! [`Advisory::refreshed`](super::Advisory::refreshed).

mod cvss;
mod debian_tracker;
mod osv;

use serde::{Deserialize, Serialize};

pub use debian_tracker::parse_debian_tracker;
pub use osv::parse_osv;

use super::advisory::{Advisory, AffectedPackage, FixStatus};
use super::validate_token;
use super::version::VersionScheme;
use crate::Error;

/// The largest input read: the Debian tracker's whole export, uncompressed, with room to grow.
pub const MAX_IMPORT_BYTES: usize = 256 * 1024 * 1024;
/// Longest summary kept; the rest of a long description is cut.
pub const MAX_SUMMARY_CHARS: usize = 1_000;
/// Most entries (release and package) one advisory may have; past this it is skipped as absurd.
pub const MAX_AFFECTED: usize = 10_000;
/// Most aliases kept for one advisory.
pub const MAX_ALIASES: usize = 100;

/// What a file yielded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Imported {
    /// Sorted by id.
    pub advisories: Vec<Advisory>,
    /// Records and entries left out because they made no sense, with why.
    pub skipped: Vec<Skipped>,
    /// Ids of records their source withdrew: the server should drop what it stored of them.
    pub withdrawn: Vec<String>,
    /// Records about nothing tend matches (another ecosystem, a release out of support).
    pub irrelevant: usize,
}

/// A record or entry left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The record's id when it has a readable one, else its place in the file ("record 3").
    pub record: String,
    pub reason: String,
}

impl Imported {
    fn skip(&mut self, record: impl Into<String>, reason: impl Into<String>) {
        self.skipped.push(Skipped { record: record.into(), reason: reason.into() });
    }
}

fn check_size(field: &'static str, bytes: &[u8]) -> Result<(), Error> {
    check_size_within(field, bytes, MAX_IMPORT_BYTES)
}

fn check_size_within(field: &'static str, bytes: &[u8], limit: usize) -> Result<(), Error> {
    if bytes.len() > limit {
        return Err(Error::Invalid {
            field,
            reason: format!("{} bytes is more than the {limit} tend reads", bytes.len()),
        });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::Invalid { field, reason: "the input is empty".to_owned() });
    }
    Ok(())
}

/// A summary fit for a report line: control characters made spaces, whitespace runs collapsed,
/// cut at [`MAX_SUMMARY_CHARS`] with an ellipsis.
fn summary(text: &str) -> String {
    let words: Vec<&str> =
        text.split(|c: char| c.is_whitespace() || c.is_control()).filter(|w| !w.is_empty()).collect();
    let text = words.join(" ");
    if text.chars().count() <= MAX_SUMMARY_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(MAX_SUMMARY_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// `entry` when its names are tokens and its versions ones its distribution can order.
fn checked(entry: AffectedPackage) -> Result<AffectedPackage, String> {
    let scheme = VersionScheme::of_distribution(&entry.distribution)
        .ok_or_else(|| format!("no version order for {}", entry.distribution))?;
    validate_token("release", &entry.release).map_err(|e| e.to_string())?;
    validate_token("package", &entry.package).map_err(|e| e.to_string())?;
    for version in [&entry.introduced, &entry.fixed].into_iter().flatten() {
        scheme.check(version).map_err(|e| format!("{} {}: {e}", entry.package, entry.release))?;
    }
    if (entry.status == FixStatus::Fixed) != entry.fixed.is_some() {
        return Err(format!("{} {}: a fixed version goes with a fixed status only", entry.package, entry.release));
    }
    Ok(entry)
}

#[cfg(test)]
mod tests;
