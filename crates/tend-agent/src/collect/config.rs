//! What the collectors are told by the agent's configuration.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CollectorConfig {
    /// systemd units always reported (and alerted on when not active), e.g. `nginx.service`.
    pub watched_services: Vec<String>,
    /// Certificate files (PEM) whose expiry is reported.
    pub certificate_files: Vec<PathBuf>,
    /// Where ClamAV keeps its signature databases.
    pub clamav_database_dir: PathBuf,
    /// A clamscan or clamd log whose last scan summary is reported.
    pub clamav_scan_log: Option<PathBuf>,
    /// Collectors not to run, by name (e.g. `["sensors"]`).
    pub disabled: Vec<String>,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        CollectorConfig {
            watched_services: Vec::new(),
            certificate_files: Vec::new(),
            clamav_database_dir: PathBuf::from("/var/lib/clamav"),
            clamav_scan_log: None,
            disabled: Vec::new(),
        }
    }
}
