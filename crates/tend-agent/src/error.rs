use std::path::PathBuf;

/// Everything that can go wrong in the agent: collecting, keeping its state, talking to the
/// server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}: {reason}")]
    Parse { path: PathBuf, line: usize, reason: String },
    /// A field every supported kernel provides is absent: the file is not what we think it is.
    #[error("{path}: no {field}")]
    MissingField { path: PathBuf, field: &'static str },
    #[error("cannot measure the filesystem mounted at {mountpoint}: {source}")]
    FilesystemUsage { mountpoint: String, source: std::io::Error },
    #[error("cannot list the network interfaces: {0}")]
    Interfaces(std::io::Error),
    #[error("{path}: {source}")]
    State { path: PathBuf, source: std::io::Error },
    #[error("{path}: {reason}")]
    StateCorrupt { path: PathBuf, reason: String },
    #[error("not enrolled: no credential in {0} (run `tend agent enroll` first)")]
    NotEnrolled(PathBuf),
    #[error("the server refused this agent: {0}")]
    Unauthorized(String),
    #[error("the server refused the request ({status}): {detail}")]
    Rejected { status: u16, detail: String },
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    /// A collector's tool is missing or the agent may not use it: reported, not retried hard.
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("{tool} did not finish within {seconds} s")]
    TimedOut { tool: String, seconds: u64 },
    /// A tool ran but failed or said something the parser cannot read.
    #[error("{0}")]
    Failed(String),
}

impl Error {
    /// How a collector that failed with this error fared: `unavailable` when the host lacks the
    /// tool or the agent may not read the source, `failed` otherwise.
    pub fn collector_outcome(&self) -> &'static str {
        let denied_or_missing = |e: &std::io::Error| {
            matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied)
        };
        match self {
            Error::Unavailable(_) => "unavailable",
            Error::Read { source, .. } if denied_or_missing(source) => "unavailable",
            _ => "failed",
        }
    }
}
