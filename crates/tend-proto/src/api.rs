//! Bodies of the public HTTP API (`/api/v1`), used by the server, the CLI and scripts.
//!
//! Times are RFC 3339 strings in UTC; identifiers are integers.

use serde::{Deserialize, Serialize};

/// RFC 9457 problem document: the body of every API error.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// For validation errors: the field that was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// A page of a list. `next_cursor` is absent on the last page.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `after` to get the next page.
    pub next_cursor: Option<i64>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Technician,
    ClientAdmin,
    ClientUser,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SupportLevel {
    L1,
    L2,
    L3,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// Name of the API token to create, e.g. "cli on laptop".
    #[serde(default)]
    pub token_name: Option<String>,
}

/// A new API token. The secret is shown once; the server keeps only its hash.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssuedToken {
    pub id: i64,
    pub token: String,
    pub user: User,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub support_level: Option<SupportLevel>,
    /// Set for client users: the only client they may see.
    pub client_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub role: Role,
    #[serde(default)]
    pub support_level: Option<SupportLevel>,
    #[serde(default)]
    pub client_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Client {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub host_count: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewClient {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Site {
    pub id: i64,
    pub client_id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewSite {
    pub name: String,
}

/// Whether a host's agent is reporting.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HostStatus {
    /// Enrolled, no report yet.
    Pending,
    Up,
    /// Reports stopped arriving without a goodbye.
    Overdue,
    /// The agent said goodbye (planned stop, shutdown): not an outage.
    Stopped,
    /// The agent's credential was revoked.
    Revoked,
}

/// A host in lists: identity, status and headline metrics.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Host {
    pub id: i64,
    pub client_id: i64,
    pub client_name: String,
    pub site_id: Option<i64>,
    pub site_name: Option<String>,
    pub hostname: String,
    pub status: HostStatus,
    pub last_seen: Option<String>,
    pub os_name: Option<String>,
    pub cpu_percent: Option<f64>,
    pub memory_used_percent: Option<f64>,
    /// Fullest filesystem, in percent.
    pub disk_used_percent: Option<f64>,
    pub load1: Option<f64>,
}

/// A host with its facts and its latest value of every series.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostDetail {
    #[serde(flatten)]
    pub host: Host,
    pub agent_id: Option<i64>,
    pub report_interval_secs: u32,
    pub facts: Option<crate::agent::HostFacts>,
    pub latest: Vec<LatestSample>,
    /// The latest body of each inventory section the agent sent (disks, raid, packages, …;
    /// see `tend_proto::inventory`), and how each collector fared (`collectors`).
    pub inventory: std::collections::BTreeMap<String, InventoryEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InventoryEntry {
    pub collected_at: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub body: serde_json::Value,
}

/// One report as the server stored it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceivedReport {
    pub agent_id: i64,
    pub seq: u64,
    pub collected_at: String,
    pub received_at: String,
    pub stopping: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LatestSample {
    pub name: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub value: f64,
    pub at: String,
}

/// `GET /api/v1/hosts/{id}/metrics`: one series per label set of the metric.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricSeries {
    pub name: String,
    pub labels: std::collections::BTreeMap<String, String>,
    /// Seconds per point; each point is the average of the samples in its step.
    pub step_secs: u32,
    pub points: Vec<MetricPoint>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricPoint {
    pub at: String,
    pub value: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewEnrollmentToken {
    pub client_id: i64,
    #[serde(default)]
    pub site_id: Option<i64>,
    /// RFC 3339 time or a duration such as "24h" or "7d"; default 24 hours.
    #[serde(default)]
    pub expires: Option<String>,
    /// How many agents may enroll with it; default 1.
    #[serde(default)]
    pub uses: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollmentToken {
    pub id: i64,
    pub client_id: i64,
    pub site_id: Option<i64>,
    pub expires_at: String,
    pub uses_allowed: u32,
    pub uses_left: u32,
    pub revoked: bool,
    /// Present only in the answer to the creation request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: String,
    pub database: String,
    pub database_latency_ms: f64,
}

/// An alert: one per (check, target).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    pub id: i64,
    pub client_id: i64,
    pub host_id: Option<i64>,
    pub check: String,
    pub target: String,
    /// `ok`, `pending`, `firing` or `flapping`.
    pub state: String,
    pub severity: Option<String>,
    pub summary: String,
    pub opened_at: Option<String>,
    pub updated_at: String,
    pub acknowledged_by: Option<i64>,
    pub acknowledgement: Option<String>,
    /// The support level the alert was escalated to while nobody acknowledged it.
    #[serde(default)]
    pub escalated_to: Option<SupportLevel>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub evidence: serde_json::Value,
}

/// An alert with its history and the fate of its notifications.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertDetail {
    #[serde(flatten)]
    pub alert: Alert,
    pub history: Vec<AlertHistoryEntry>,
    pub notifications: Vec<NotificationStatus>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertHistoryEntry {
    pub at: String,
    pub event: String,
    /// False when a maintenance window kept it from people.
    pub notified: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotificationStatus {
    pub event: String,
    pub channel: String,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    pub attempts: u32,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Acknowledge {
    pub comment: String,
    /// RFC 3339 time or a span like "2h" after which the acknowledgement lapses.
    #[serde(default)]
    pub until: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MaintenanceWindow {
    pub id: i64,
    pub client_id: i64,
    pub site_id: Option<i64>,
    pub host_id: Option<i64>,
    pub check: Option<String>,
    /// `planned` or `emergency`.
    pub kind: String,
    pub title: String,
    pub description: String,
    /// Local start `YYYY-MM-DDTHH:MM:SS` in `time_zone`.
    pub start: String,
    pub time_zone: String,
    pub duration_minutes: i64,
    /// RFC 5545 recurrence, e.g. `FREQ=MONTHLY;BYDAY=2TU`.
    pub rrule: Option<String>,
    pub ended_at: Option<String>,
    /// The next occurrence (start, end) from now, if any.
    pub next: Option<(String, String)>,
    pub active: bool,
    /// Days before each occurrence the client's contacts are told; None: the server's default.
    #[serde(default)]
    pub notice_days: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewMaintenanceWindow {
    pub client_id: i64,
    #[serde(default)]
    pub site_id: Option<i64>,
    #[serde(default)]
    pub host_id: Option<i64>,
    #[serde(default)]
    pub check: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub start: String,
    pub time_zone: String,
    pub duration_minutes: i64,
    /// Days before each occurrence the client's contacts are told (planned windows); None: the
    /// server's default, 0: no notice.
    #[serde(default)]
    pub notice_days: Option<i64>,
    #[serde(default)]
    pub rrule: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotificationChannel {
    pub id: i64,
    /// None: every client's notifications.
    pub client_id: Option<i64>,
    /// Only this site's notifications; None: every site.
    #[serde(default)]
    pub site_id: Option<i64>,
    /// The support level behind the channel: it hears an alert once the alert reaches that
    /// level (L1 at once, L2 and L3 by escalation). None: every level.
    #[serde(default)]
    pub support_level: Option<SupportLevel>,
    /// `email`, `webhook` (generic JSON) or `slack` (Slack/Mattermost/Teams `{"text"}` body).
    pub kind: String,
    /// An e-mail address or a URL.
    pub target: String,
    /// `warning` or `critical`.
    pub min_severity: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewNotificationChannel {
    #[serde(default)]
    pub client_id: Option<i64>,
    /// Only this site's notifications (the site must belong to `client_id`).
    #[serde(default)]
    pub site_id: Option<i64>,
    #[serde(default)]
    pub support_level: Option<SupportLevel>,
    pub kind: String,
    pub target: String,
    #[serde(default)]
    pub min_severity: Option<String>,
}

/// A check of the catalogue.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckInfo {
    pub name: String,
    pub description: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub defaults: serde_json::Value,
}

/// The effective settings of a check on a host, and which layer set what.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckExplanation {
    pub check: String,
    pub host_id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub settings: serde_json::Value,
    /// The explanation as text, one line per layer.
    pub explanation: String,
}

/// A check run once now on a host's stored data: nothing is recorded, no alert changes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckTestResult {
    pub check: String,
    pub host_id: i64,
    /// One verdict per target the check could judge; empty when the host has no data for it.
    pub findings: Vec<CheckFinding>,
    pub duration_ms: u64,
    pub evaluated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckFinding {
    pub target: String,
    /// `ok`, `warning` or `critical`.
    pub status: String,
    pub summary: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub evidence: serde_json::Value,
}

/// Overrides of a check at one layer; absent fields inherit, `null` thresholds remove.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckOverride {
    /// `organisation`, `client`, `site` or `host`.
    pub layer: String,
    /// The client, site or host id; ignored for `organisation`.
    #[serde(default)]
    pub layer_id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub settings: serde_json::Value,
}

/// A synthetic probe the server runs on a schedule.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Probe {
    pub id: i64,
    pub client_id: i64,
    pub site_id: Option<i64>,
    pub host_id: Option<i64>,
    pub name: String,
    /// What to probe, as `tend probe` takes it: `{"kind": "http", "url": …}`, `{"kind": "tcp", …}`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub spec: serde_json::Value,
    pub interval_secs: u32,
    pub timeout_secs: u32,
    pub pending_for_secs: u32,
    pub next_run_at: String,
    pub last_run_at: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub last_outcome: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewProbe {
    pub client_id: i64,
    #[serde(default)]
    pub site_id: Option<i64>,
    #[serde(default)]
    pub host_id: Option<i64>,
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub spec: serde_json::Value,
    /// Seconds between runs, 10 to 3600; default 60.
    #[serde(default)]
    pub interval_secs: Option<u32>,
    /// Seconds a run may take, 1 to 300; default 30.
    #[serde(default)]
    pub timeout_secs: Option<u32>,
    /// How long a failure must last before the alert fires; default 0 (at the first failure).
    #[serde(default)]
    pub pending_for_secs: Option<u32>,
}

/// A person of a client the provider talks to: maintenance notices, tickets, reports.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contact {
    pub id: i64,
    pub client_id: i64,
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub phone: String,
    /// What the contact is to the client, e.g. "IT manager".
    #[serde(default)]
    pub role: String,
    /// Whether they get notices of planned maintenance.
    pub maintenance_notices: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewContact {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub role: String,
    /// Default true.
    #[serde(default)]
    pub maintenance_notices: Option<bool>,
}

/// A notice of a planned maintenance occurrence to one contact.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MaintenanceNotice {
    pub occurrence_start: String,
    pub contact: String,
    pub email: String,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    pub attempts: u32,
    pub sent_at: Option<String>,
    pub last_error: Option<String>,
}

/// An access credential in the vault, without its secret: what lists show.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Credential {
    pub id: i64,
    pub client_id: i64,
    pub host_id: i64,
    /// The ticket it was given for: purged when that ticket closes, unless the contract keeps it.
    pub ticket_id: Option<i64>,
    pub name: String,
    /// `password`, `ssh_key`, `ipmi`, `kvm` or `other`.
    pub kind: String,
    pub username: String,
    /// The user who stored it.
    pub created_by: Option<i64>,
    pub created_at: String,
    /// When its secret was destroyed; it can no longer be revealed.
    pub purged_at: Option<String>,
}

/// A credential to store. The secret is sealed at once and never shown in lists.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewCredential {
    /// What it is, e.g. "root on db1"; unique among the host's credentials.
    pub name: String,
    /// `password`, `ssh_key`, `ipmi`, `kvm` or `other`.
    pub kind: String,
    #[serde(default)]
    pub username: String,
    /// The password or private key, at most 16 KiB.
    pub secret: String,
    /// The open ticket of the host's client it is given for.
    #[serde(default)]
    pub ticket_id: Option<i64>,
}

/// The secret stays out of logs: this is what `{:?}` shows.
impl std::fmt::Debug for NewCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCredential")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("username", &self.username)
            .field("secret", &"<hidden>")
            .field("ticket_id", &self.ticket_id)
            .finish()
    }
}

/// Why the caller needs the secret now; written to the audit log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevealRequest {
    /// Required; optional here so that a request without one is refused, and audited, by the
    /// server rather than by a parse error.
    #[serde(default)]
    pub reason: String,
}

/// A revealed credential: its metadata, the secret, and the ticket that allowed the reveal.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevealedCredential {
    pub credential: Credential,
    pub secret: String,
    pub ticket_id: i64,
}

/// The secret stays out of logs: this is what `{:?}` shows.
impl std::fmt::Debug for RevealedCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevealedCredential")
            .field("credential", &self.credential)
            .field("secret", &"<hidden>")
            .field("ticket_id", &self.ticket_id)
            .finish()
    }
}

/// One entry of the audit trail: an action on or about a customer's machine, allowed or not.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    /// The user who acted; absent for the server's own work.
    pub actor_id: Option<i64>,
    pub client_id: Option<i64>,
    pub host_id: Option<i64>,
    /// The ticket the action was done under.
    pub ticket_id: Option<i64>,
    /// e.g. `vault.reveal`, `vault.store`, `vault.purge`.
    pub action: String,
    /// `allowed`, `refused`, or what happened (`purged`, `kept`, `failed`).
    pub outcome: String,
    /// The reason given, or why it was refused.
    pub detail: String,
}
