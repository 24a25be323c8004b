//! The crate's one error type.
//!
//! Owns the ways a probe can be unrunnable. Must not grow variants for what a probe finds: a
//! refused connection or an expiring certificate is an outcome, never an `Error`.

/// A probe that cannot be run as written: a bad spec or a bad command line. A probe that runs and
/// finds something wrong is not an error but an outcome with `ok: false`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("unknown probe kind {0:?} (known: http, tcp, tls, dns, ping, mail)")]
    UnknownKind(String),
    #[error("--{option} is not an option of {kind} probes (known: {known})")]
    UnknownOption { kind: &'static str, option: String, known: String },
    #[error("--{option} is required for {kind} probes")]
    MissingOption { kind: &'static str, option: &'static str },
    #[error("--{option}: {reason}")]
    BadOption { option: String, reason: String },
    #[error("target {target:?}: {reason}")]
    BadTarget { target: String, reason: String },
    /// A field of a spec fails validation; `field` is its name in the serialized spec.
    #[error("{field}: {reason}")]
    InvalidSpec { field: &'static str, reason: String },
}

impl Error {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
        Error::InvalidSpec { field, reason: reason.into() }
    }
}
