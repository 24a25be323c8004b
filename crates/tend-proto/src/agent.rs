//! Agent ↔ server protocol: enrollment and reports.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::inventory as inv;

/// `POST /api/agent/v1/enroll`: exchange an enrollment token for an agent credential.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollRequest {
    pub token: String,
    pub hostname: String,
    /// `/etc/machine-id` when the host has one; lets a re-enrolled machine keep its history.
    pub machine_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollResponse {
    pub agent_id: i64,
    pub host_id: i64,
    /// Bearer credential for every later request. Shown once; the server keeps only a hash.
    pub credential: String,
    pub settings: AgentSettings,
}

/// Settings the server hands to an agent; sent again with every acknowledgement.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentSettings {
    pub report_interval_secs: u32,
}

/// `POST /api/agent/v1/report`: one or more reports, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportBatch {
    pub reports: Vec<Report>,
}

/// One collection cycle of one agent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    /// Strictly increasing per agent, never reused: the server deduplicates on (agent, seq).
    pub seq: u64,
    pub collected_at_ms: i64,
    pub schema_version: u32,
    /// The last report of an agent that is shutting down on purpose: the host becomes
    /// "stopped", not "overdue".
    #[serde(default)]
    pub stopping: bool,
    /// How often this agent reports, in seconds: the server expects the next report within
    /// two of them plus a grace period. Absent: the interval the server asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_secs: Option<u32>,
    #[serde(default)]
    pub sections: Sections,
}

/// What the collectors found. Every section is optional: a collector that failed or did not run
/// this cycle leaves its section out, and the server keeps the last value it had.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sections {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts: Option<HostFacts>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Sample>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disks: Option<Vec<inv::Disk>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raid: Option<inv::Raid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensors: Option<Vec<inv::Sensor>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<inv::Services>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packages: Option<inv::Packages>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<inv::OsSupport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub antivirus: Option<inv::Antivirus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<inv::TimeSync>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificates: Option<Vec<inv::Certificate>>,
    /// How every collector that ran this cycle fared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collectors: Vec<inv::CollectorStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<inv::AgentStatus>,
    /// Backup work finished since the last report (backups, retention, checks, restore tests),
    /// oldest first. Optional: older servers ignore it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backups: Vec<crate::backups::BackupEvent>,
}

/// What a host is: slow-changing facts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostFacts {
    pub hostname: String,
    /// `PRETTY_NAME` of os-release, e.g. "Debian GNU/Linux 12 (bookworm)".
    pub os_name: String,
    /// `ID` of os-release, e.g. "debian".
    pub os_id: String,
    /// `VERSION_ID` of os-release, e.g. "12".
    pub os_version: String,
    pub kernel: String,
    pub architecture: String,
    pub cpu_model: String,
    pub cpu_cores: u32,
    pub memory_total_bytes: u64,
    pub boot_time_ms: i64,
    pub ip_addresses: Vec<String>,
    pub machine_id: Option<String>,
}

/// One value of one time series at the report's `collected_at_ms`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sample {
    /// Snake case with the unit in the name, e.g. `fs_used_bytes`.
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl Sample {
    pub fn new(name: &str, value: f64) -> Self {
        Sample { name: name.to_owned(), labels: BTreeMap::new(), value }
    }

    pub fn with_label(mut self, key: &str, value: &str) -> Self {
        self.labels.insert(key.to_owned(), value.to_owned());
        self
    }
}

/// The server's answer once a batch is committed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportAck {
    /// Every report with a seq at or below this one is stored; the agent may forget them.
    pub acknowledged_seq: u64,
    /// Reports of the batch that had been stored before (replays after a lost answer).
    pub duplicates: u32,
    pub settings: AgentSettings,
}
