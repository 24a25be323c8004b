//! Patch management, pure.
mod advisory;
mod policy;
mod rollout;
mod version;
pub use version::{DebVersion, RpmVersion, VersionScheme};
pub use advisory::*;
pub use policy::*;
pub use rollout::*;

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
