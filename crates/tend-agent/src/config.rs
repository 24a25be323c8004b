//! The agent's configuration: `/etc/tend/agent.toml`, overridden by flags and `TEND_*`
//! variables in the binary.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::collect::CollectorConfig;

/// Shortest reporting interval the agent accepts.
pub const MIN_INTERVAL: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AgentConfig {
    /// Identity, sequence counter and spool.
    pub state_dir: PathBuf,
    /// Seconds between reports; default: what the server asks for (60).
    pub interval_secs: Option<u64>,
    /// Most disk space the spool of unsent reports may take.
    pub spool_max_bytes: u64,
    pub collectors: CollectorConfig,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            state_dir: PathBuf::from("/var/lib/tend-agent"),
            interval_secs: None,
            spool_max_bytes: 64 << 20,
            collectors: CollectorConfig::default(),
        }
    }
}

impl AgentConfig {
    pub fn interval_override(&self) -> Option<Duration> {
        self.interval_secs.map(|secs| Duration::from_secs(secs).max(MIN_INTERVAL))
    }
}
