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
}
