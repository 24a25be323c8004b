/// Everything a domain rule can refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("enrollment token {0}")]
    EnrollmentRefused(crate::enrollment::Refusal),
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("only a pending, firing or flapping alert can be acknowledged")]
    NothingToAcknowledge,
}
