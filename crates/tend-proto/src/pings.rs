//! Bodies of the heartbeat ping API: checks that expect a cron job or backup tool to ping its
//! URL every period, and the pings they got.
//!
//! Times are RFC 3339 strings in UTC; periods whole seconds.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewPingCheck {
    pub client_id: i64,
    /// The host the job runs on, if it matters: its alerts then belong to the host.
    #[serde(default)]
    pub host_id: Option<i64>,
    pub name: String,
    /// How often the job succeeds, 60 s to 90 days.
    pub period_secs: i64,
    /// Lateness tolerated after a period, and how long a started run may last, 1 s to 7 days.
    pub grace_secs: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PingCheck {
    pub id: i64,
    pub client_id: i64,
    pub host_id: Option<i64>,
    pub name: String,
    pub period_secs: i64,
    pub grace_secs: i64,
    pub created_at: String,
    /// `new`, `up`, `started`, `late` or `failed`.
    pub status: String,
    pub summary: String,
    pub last_start_at: Option<String>,
    pub last_success_at: Option<String>,
    pub last_failure_at: Option<String>,
    /// The URL the job pings, with its secret: only in the answer that created the check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ping {
    pub id: i64,
    /// `start`, `success`, `fail` or `log`.
    pub kind: String,
    pub exit_status: Option<i64>,
    /// The log the job sent, up to 10 KiB.
    pub body: String,
    pub received_at: String,
    pub remote_addr: Option<String>,
}
