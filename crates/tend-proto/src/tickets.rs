//! Bodies of the service desk API: tickets, their history and SLA clocks, and client contracts.
//!
//! Times are RFC 3339 strings in UTC; durations in the SLA views are whole minutes.

use serde::{Deserialize, Serialize};

use crate::desk::TicketForm;

/// A ticket as queues and the ticket page show it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ticket {
    pub id: i64,
    pub client_id: i64,
    /// incident, service_request, intervention, os_reinstall, hardware_change or change.
    pub kind: String,
    pub subject: String,
    pub description: String,
    pub requester_id: Option<i64>,
    pub requester_email: Option<String>,
    /// high, medium or low.
    pub impact: String,
    pub urgency: String,
    /// p1 (most urgent) to p4.
    pub priority: String,
    /// Why the priority differs from the matrix, when it was overridden.
    pub priority_reason: Option<String>,
    /// L1, L2 or L3: the queue the ticket is in.
    pub support_level: String,
    pub assignee_id: Option<i64>,
    /// new, open, in_progress, waiting_on_customer, resolved or closed.
    pub status: String,
    pub host_ids: Vec<i64>,
    pub form: Option<TicketForm>,
    /// The dedup key of the alert that opened the ticket.
    pub alert_key: Option<String>,
    pub vendor: Option<VendorCase>,
    pub created_at: String,
    pub updated_at: String,
    pub resolved_at: Option<String>,
    pub closed_at: Option<String>,
    pub rating: Option<u8>,
    pub rating_comment: Option<String>,
    /// The SLA clocks now; absent when the client has no SLA on this ticket.
    pub sla: Option<SlaView>,
}

/// The SLA clocks of a ticket under the priority in force.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaView {
    pub policy: String,
    pub response: ClockView,
    pub resolution: ClockView,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClockView {
    /// running, paused, warning, breached or met.
    pub state: String,
    pub target_minutes: i64,
    pub elapsed_minutes: i64,
    /// Negative once breached.
    pub remaining_minutes: i64,
    /// When the target is reached if the clock keeps running.
    pub due_at: Option<String>,
    pub stopped_at: Option<String>,
}

/// A ticket with its history and the acknowledgements its form carries.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketDetail {
    pub ticket: Ticket,
    /// Oldest first. A customer sees only the public entries.
    pub history: Vec<TicketEntry>,
    /// The sentences the customer acknowledged on the form, verbatim.
    pub acknowledgements: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketEntry {
    pub at: String,
    pub actor_id: Option<i64>,
    /// created, status, priority, reply, note, escalated, assigned, time, link, rating, vendor,
    /// alert, job.
    pub kind: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub body: serde_json::Value,
    pub public: bool,
}

/// A request or incident to file. A client's user files for their own client; the structured
/// kinds (intervention, os_reinstall, hardware_change) need their `form`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewTicket {
    /// Required for the provider's staff; a client's user files for their own client.
    #[serde(default)]
    pub client_id: Option<i64>,
    pub kind: String,
    pub subject: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub host_ids: Vec<i64>,
    /// Default medium.
    #[serde(default)]
    pub impact: Option<String>,
    /// Default medium.
    #[serde(default)]
    pub urgency: Option<String>,
    /// Overrides the matrix; needs `priority_reason`. Staff only.
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default)]
    pub priority_reason: Option<String>,
    #[serde(default)]
    pub form: Option<TicketForm>,
}

/// A public reply, an internal note, a resolution note, or a reason.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketText {
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Assignment {
    /// None: unassign.
    pub user_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusChange {
    pub status: String,
    /// Shown to the customer with the change.
    #[serde(default)]
    pub note: Option<String>,
}

/// The customer confirms the fix, and may rate the service.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Confirmation {
    /// 1 to 5.
    #[serde(default)]
    pub rating: Option<u8>,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimeEntry {
    pub minutes: u32,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriorityChange {
    pub impact: String,
    pub urgency: String,
    /// Overrides the matrix; needs `reason`.
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Relates a ticket to something of the same client.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketLink {
    /// alert, host, maintenance or ticket.
    pub kind: String,
    pub id: i64,
}

/// A case with the hardware manufacturer or software vendor (L3).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VendorCase {
    pub vendor: String,
    #[serde(default)]
    pub case_number: Option<String>,
    #[serde(default)]
    pub rma: Option<String>,
    /// When to chase the vendor next, RFC 3339.
    #[serde(default)]
    pub follow_up: Option<String>,
}

/// What the provider owes a client.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contract {
    #[serde(default)]
    pub client_id: i64,
    /// partial, total or specialised.
    pub model: String,
    /// remote, on_site or both.
    pub delivery: String,
    /// In scope: monitoring, patching, backups, service_desk, reports.
    pub services: Vec<String>,
    /// The support levels included, e.g. ["L1", "L2", "L3"].
    pub support_levels: Vec<String>,
    /// The SLA policy: name, calendar (`{"kind":"always_open"}` or business hours with a time
    /// zone, hours per weekday and holidays), targets per priority, warn_at.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub sla_policy: serde_json::Value,
    /// Impact × urgency → priority; absent: the default matrix.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub priority_matrix: Option<serde_json::Value>,
    /// Standing authorizations, e.g. reboots on Sundays 02:00–05:00.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub standing_authorizations: Vec<serde_json::Value>,
    /// Days a resolved ticket waits for the customer's confirmation before it closes.
    pub auto_close_days: u32,
    /// Keep credentials given for a ticket after it closes.
    #[serde(default)]
    pub keep_credentials: bool,
    /// Firing alerts at or above this severity open an incident ticket (warning or critical).
    #[serde(default = "default_incident_severity")]
    pub incident_min_severity: String,
    #[serde(default)]
    pub updated_at: Option<String>,
}

fn default_incident_severity() -> String {
    "critical".into()
}
