//! Bodies of the rollout API: the ring each host is in, and patch sets rolled out through a
//! client's rings (test before production), with their state per ring and per host.
//!
//! Times are RFC 3339 strings in UTC; soak times are whole seconds.

use serde::{Deserialize, Serialize};

/// The rings a rollout goes through when none are named.
pub const DEFAULT_RINGS: [&str; 2] = ["test", "production"];

/// A host's ring, as set or read.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostRing {
    /// The ring (e.g. `test`, `production`); `null` takes the host out of every ring, and so
    /// out of new rollouts.
    pub ring: Option<String>,
}

/// A patch set to roll out through a client's rings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewRollout {
    pub client_id: i64,
    /// What the patch set is, for people (e.g. `openssl DSA-5678-1`).
    pub name: String,
    /// The packages to update (names, as the package manager knows them).
    pub packages: Vec<String>,
    /// The rings, in order; default `["test", "production"]`. Hosts of other rings are left
    /// out.
    #[serde(default)]
    pub rings: Option<Vec<String>>,
    /// `regular` (default: each ring soaks 24 h) or `emergency` (2 h).
    #[serde(default)]
    pub urgency: Option<String>,
    /// How long each ring soaks before the next starts, in seconds, 0 to 30 days; overrides the
    /// urgency's soak.
    #[serde(default)]
    pub soak_secs: Option<i64>,
}

/// Start the next ring before the soaking one's time is up.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PromoteRollout {
    /// Why the soak is cut short: required, and kept in the audit trail.
    #[serde(default)]
    pub reason: String,
}

/// A rollout as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rollout {
    pub id: i64,
    pub client_id: i64,
    pub name: String,
    pub urgency: String,
    pub packages: Vec<String>,
    /// `running`, `halted` or `done`.
    pub status: String,
    /// What happens next, in words (e.g. `ring test soaks until …`).
    pub next: String,
    /// Why it halted.
    pub halt_reason: Option<String>,
    /// The ticket opened when it halted.
    pub ticket_id: Option<i64>,
    /// The ticket asking the customer to authorize the reboots its hosts need, when one was
    /// opened.
    pub reboot_ticket_id: Option<i64>,
    pub created_by: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
    pub rings: Vec<RolloutRing>,
}

/// One ring of a rollout.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RolloutRing {
    pub name: String,
    pub soak_secs: i64,
    /// When the ring was allowed to start (`null` for the first, and for rings not started).
    pub promoted_at: Option<String>,
    /// Why its predecessor's soak was cut short, when it was.
    pub promoted_without_soak: Option<String>,
    /// Once every host applied the patch set: when its soak ends.
    pub soak_until: Option<String>,
    pub hosts: Vec<RolloutHost>,
}

/// One host of a ring.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RolloutHost {
    pub host_id: i64,
    /// `pending` (nothing asked yet), `queued`, `running`, `verifying` (updated; the post-update
    /// health gate is open, or the reboot waits for its slot), `rebooting`, `applied`, `failed`
    /// or `skipped` (the patch policy holds every package back).
    pub state: String,
    /// When it applied or failed.
    pub at: Option<String>,
    /// Why it failed or was skipped.
    pub reason: Option<String>,
    /// Its latest apply job.
    pub job_id: Option<i64>,
}

/// What one contact of the client was told after a ring of a rollout was patched: what changed
/// on which host, or why nothing did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PatchSummary {
    pub ring: String,
    pub contact_name: String,
    pub contact_email: String,
    pub subject: String,
    /// The text, without the greeting added when it is sent.
    pub body: String,
    /// `pending` (to be sent, or retried after a failed attempt), `sent` or `failed` (given up).
    pub status: String,
    pub attempts: u32,
    pub sent_at: Option<String>,
    pub last_error: Option<String>,
}
