use std::path::PathBuf;

/// Everything that can go wrong in the agent.
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
}
