//! Structured forms of the service desk: what a customer states when asking for hands-on work on
//! a server, an operating system reinstall or a hardware change.
//!
//! Fields a form requires are optional here (`#[serde(default)]`), so that a missing one is
//! refused by the server's validation, which names the field, rather than by a parse error.
//! Unknown fields are refused: a password typed into a form must be neither stored nor silently
//! dropped (credentials go to the vault, and the form refers to them by id). Times are RFC 3339
//! strings.

use serde::{Deserialize, Serialize};

/// A structured form attached to a ticket, tagged by the ticket's kind:
/// `{"kind": "intervention", "server": {…}, "problem": "…", …}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TicketForm {
    Intervention(InterventionForm),
    OsReinstall(OsReinstallForm),
    HardwareChange(HardwareChangeForm),
}

/// Hands-on work on a server: what is wrong, how to get in, what may be done to its power.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct InterventionForm {
    /// Which server; at least one way of identifying it.
    #[serde(default)]
    pub server: ServerIdentification,
    /// What is wrong or what should be done. Required.
    #[serde(default)]
    pub problem: String,
    /// The vault entry holding the credentials the technician may use, if any.
    #[serde(default)]
    pub access_credential_id: Option<i64>,
    /// What the technician may do to the server's power. Required, `none` included.
    #[serde(default)]
    pub power_action: Option<PowerAction>,
    /// When the power action may happen; empty means at any time while the ticket is open.
    #[serde(default)]
    pub power_windows: Vec<TimeRange>,
    /// Whether the data is backed up. Required.
    #[serde(default)]
    pub backup_statement: Option<BackupStatement>,
}

/// Ways of naming a server; the desk matches whichever are given.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ServerIdentification {
    /// tend's id of the host.
    #[serde(default)]
    pub host_id: Option<i64>,
    /// The provider's service or contract reference of the server.
    #[serde(default)]
    pub service_id: Option<String>,
    /// The server's main IP address, v4 or v6.
    #[serde(default)]
    pub primary_ip: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PowerAction {
    /// The server must keep running.
    None,
    /// A clean restart through the operating system.
    Reboot,
    /// A hard reset: power off and on, without the operating system's consent.
    PowerCycle,
    /// Stop the server and leave it off.
    Shutdown,
}

/// From `start` (inclusive) to `end` (exclusive), RFC 3339.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TimeRange {
    #[serde(default)]
    pub start: String,
    #[serde(default)]
    pub end: String,
}

/// What the customer states about backups before work that may lose data.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BackupStatement {
    CurrentBackupExists,
    NoRecentBackupAcceptDataLoss,
}

/// A fresh installation of a server's operating system, which erases it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OsReinstallForm {
    /// Required.
    #[serde(default)]
    pub host_id: Option<i64>,
    /// The operating system, e.g. "Debian". Required.
    #[serde(default)]
    pub os: String,
    /// e.g. "13". Required.
    #[serde(default)]
    pub version: String,
    /// e.g. "Datacenter"; none for systems without editions.
    #[serde(default)]
    pub edition: Option<String>,
    /// The partitioning wanted; none for the provider's default.
    #[serde(default)]
    pub partitioning: Option<String>,
    /// The RAID layout wanted; none for the provider's default.
    #[serde(default)]
    pub raid_layout: Option<String>,
    /// Anything else: hostname, keyboard layout, packages.
    #[serde(default)]
    pub other_settings: Option<String>,
    /// The customer's acknowledgement that every byte on the server is erased. Must be `true`.
    #[serde(default)]
    pub erase_acknowledged: Option<bool>,
}

/// A component replaced in a server.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HardwareChangeForm {
    /// Required.
    #[serde(default)]
    pub host_id: Option<i64>,
    /// Required.
    #[serde(default)]
    pub component: Option<Component>,
    /// Which one: a disk's serial number, a DIMM slot. Required for components a server has
    /// several of.
    #[serde(default)]
    pub serial_or_slot: Option<String>,
    /// When the server may go down for the change. Required, even with a hot swap, in case the
    /// part will not swap.
    #[serde(default)]
    pub downtime: Option<Downtime>,
    /// When `downtime` is `only_in_window`: the windows, at least one.
    #[serde(default)]
    pub downtime_windows: Vec<TimeRange>,
    /// The customer asks for the part to be changed while the server runs.
    #[serde(default)]
    pub hot_swap_requested: bool,
    /// Whether the part can be changed while the server runs, when known (from the inventory or
    /// the technician).
    #[serde(default)]
    pub hot_swap_supported: Option<bool>,
    /// Required.
    #[serde(default)]
    pub backup_statement: Option<BackupStatement>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Component {
    Ram,
    Disk,
    Psu,
    Fan,
    Cpu,
    Mainboard,
    RaidController,
    Nic,
    Other,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Downtime {
    /// The server may go down as soon as the technician is ready.
    AcceptableNow,
    /// Only within the form's `downtime_windows`.
    OnlyInWindow,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_fields_are_left_to_validation() {
        let form: TicketForm = serde_json::from_str(r#"{"kind": "intervention"}"#).unwrap();
        assert_eq!(form, TicketForm::Intervention(InterventionForm::default()));
        let form: TicketForm = serde_json::from_str(r#"{"kind": "os_reinstall", "host_id": 4}"#).unwrap();
        assert_eq!(form, TicketForm::OsReinstall(OsReinstallForm { host_id: Some(4), ..OsReinstallForm::default() }));
        let form: TicketForm = serde_json::from_str(r#"{"kind": "hardware_change", "component": "disk"}"#).unwrap();
        let expected = HardwareChangeForm { component: Some(Component::Disk), ..HardwareChangeForm::default() };
        assert_eq!(form, TicketForm::HardwareChange(expected));
    }

    #[test]
    fn a_password_is_refused_not_dropped() {
        for json in [
            r#"{"kind": "intervention", "problem": "disk full", "password": "hunter2"}"#,
            r#"{"kind": "intervention", "server": {"host_id": 1, "root_password": "hunter2"}}"#,
        ] {
            let err = serde_json::from_str::<TicketForm>(json).unwrap_err().to_string();
            assert!(err.contains("unknown field"), "{err}");
        }
    }

    #[test]
    fn written_in_snake_case() {
        let form = TicketForm::Intervention(InterventionForm {
            server: ServerIdentification { host_id: Some(7), ..ServerIdentification::default() },
            problem: "nginx down".into(),
            access_credential_id: Some(3),
            power_action: Some(PowerAction::PowerCycle),
            power_windows: vec![TimeRange { start: "2026-03-28T22:00:00Z".into(), end: "2026-03-29T02:00:00Z".into() }],
            backup_statement: Some(BackupStatement::NoRecentBackupAcceptDataLoss),
        });
        let json = serde_json::to_value(&form).unwrap();
        assert_eq!(json["kind"], "intervention");
        assert_eq!(json["power_action"], "power_cycle");
        assert_eq!(json["backup_statement"], "no_recent_backup_accept_data_loss");
        assert_eq!(serde_json::from_value::<TicketForm>(json).unwrap(), form);
    }
}
