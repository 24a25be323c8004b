//! The structured forms of interventions, OS reinstalls and hardware changes: whether one is
//! complete and consistent, and the sentences the customer acknowledged by filing it, which the
//! ticket and its printable summary show word for word.
//!
//! Every refusal names the form's field as the JSON writes it ("backup_statement",
//! "server.primary_ip"), in the order the form asks. An optional text left blank counts as
//! absent, since web forms send empty strings for untouched inputs.
//!
//! Must not resolve hosts, check credentials in the vault or compare windows with the present:
//! the server does, with its storage and clock. The wire types live in `tend_proto::desk`.

use std::net::IpAddr;

use jiff::Timestamp;
use tend_proto::desk::{
    BackupStatement, Component, Downtime, HardwareChangeForm, InterventionForm, OsReinstallForm, PowerAction,
    ServerIdentification, TicketForm, TimeRange,
};

use super::ticket::TicketKind;
use super::validate_text;
use crate::Error;
use crate::maintenance::MAX_DURATION;
use crate::tenancy::validate_name;

/// Most windows a form may list.
pub const MAX_WINDOWS: usize = 50;

/// The kind of ticket a form belongs to.
pub fn form_kind(form: &TicketForm) -> TicketKind {
    match form {
        TicketForm::Intervention(_) => TicketKind::Intervention,
        TicketForm::OsReinstall(_) => TicketKind::OsReinstall,
        TicketForm::HardwareChange(_) => TicketKind::HardwareChange,
    }
}

/// Validates whichever form this is.
pub fn validate_form(form: &TicketForm) -> Result<(), Error> {
    match form {
        TicketForm::Intervention(form) => validate_intervention(form),
        TicketForm::OsReinstall(form) => validate_os_reinstall(form),
        TicketForm::HardwareChange(form) => validate_hardware_change(form),
    }
}

/// An intervention names its server, says what is wrong, chooses what may happen to the power
/// and when, and states whether the data is backed up.
pub fn validate_intervention(form: &InterventionForm) -> Result<(), Error> {
    validate_server(&form.server)?;
    validate_text("problem", &form.problem)?;
    if let Some(id) = form.access_credential_id {
        positive_id("access_credential_id", id)?;
    }
    let Some(power_action) = form.power_action else {
        return Err(required("power_action", "choose none, reboot, power_cycle or shutdown"));
    };
    parse_windows("power_windows", &form.power_windows)?;
    if power_action == PowerAction::None && !form.power_windows.is_empty() {
        return Err(Error::Invalid {
            field: "power_windows",
            reason: "windows are given but no power action is authorized".to_owned(),
        });
    }
    backup_statement(form.backup_statement)?;
    Ok(())
}

/// A reinstall names its host and the system wanted, and the customer must have acknowledged
/// that it erases everything: `erase_acknowledged` is refused unless it is `true`.
pub fn validate_os_reinstall(form: &OsReinstallForm) -> Result<(), Error> {
    host_id(form.host_id)?;
    validate_name("os", &form.os)?;
    validate_name("version", &form.version)?;
    if let Some(edition) = given(&form.edition) {
        validate_name("edition", edition)?;
    }
    for (field, text) in [
        ("partitioning", &form.partitioning),
        ("raid_layout", &form.raid_layout),
        ("other_settings", &form.other_settings),
    ] {
        if let Some(text) = given(text) {
            validate_text(field, text)?;
        }
    }
    if form.erase_acknowledged != Some(true) {
        return Err(required("erase_acknowledged", "acknowledge that reinstalling erases all data on the server"));
    }
    Ok(())
}

/// A hardware change names its host and the component (and which one, where a server has
/// several), says when the server may go down, and states whether the data is backed up. A hot
/// swap of a part known not to support it is refused: the customer would count on an uptime
/// nobody can deliver.
pub fn validate_hardware_change(form: &HardwareChangeForm) -> Result<(), Error> {
    host_id(form.host_id)?;
    let Some(component) = form.component else {
        return Err(required("component", "choose the component to replace"));
    };
    match given(&form.serial_or_slot) {
        Some(which) => {
            validate_name("serial_or_slot", which)?;
        }
        None if comes_in_several(component) => {
            return Err(required(
                "serial_or_slot",
                &format!(
                    "name the serial number or slot of the {}, so that the right one is replaced",
                    name(component)
                ),
            ));
        }
        None => {}
    }
    let Some(downtime) = form.downtime else {
        return Err(required("downtime", "say whether the server may go down now or only within windows"));
    };
    parse_windows("downtime_windows", &form.downtime_windows)?;
    let windows_reason = match (downtime, form.downtime_windows.is_empty()) {
        (Downtime::OnlyInWindow, true) => Some("required: at least one window when downtime is only_in_window"),
        (Downtime::AcceptableNow, false) => Some("windows are given but downtime is acceptable now"),
        _ => None,
    };
    if let Some(reason) = windows_reason {
        return Err(Error::Invalid { field: "downtime_windows", reason: reason.to_owned() });
    }
    if form.hot_swap_requested && form.hot_swap_supported == Some(false) {
        return Err(Error::Invalid {
            field: "hot_swap_requested",
            reason: format!(
                "this {} cannot be swapped while the server runs; the change needs downtime",
                name(component)
            ),
        });
    }
    backup_statement(form.backup_statement)?;
    Ok(())
}

/// The sentences the customer acknowledged with a validated form, about the server they call
/// `server`. A statement the form leaves out gives no sentence.
pub fn acknowledgements(form: &TicketForm, server: &str) -> Vec<String> {
    match form {
        TicketForm::Intervention(form) => intervention_acknowledgements(form, server),
        TicketForm::OsReinstall(form) => {
            let erase = format!("The customer acknowledges that reinstalling erases all data on {server}.");
            (form.erase_acknowledged == Some(true)).then_some(erase).into_iter().collect()
        }
        TicketForm::HardwareChange(form) => hardware_change_acknowledgements(form, server),
    }
}

fn intervention_acknowledgements(form: &InterventionForm, server: &str) -> Vec<String> {
    let within = within(&form.power_windows);
    let power = form.power_action.map(|action| match action {
        PowerAction::None => {
            format!("The customer does not authorize any reboot, power cycle or shutdown of {server}.")
        }
        PowerAction::Reboot => format!("The customer authorizes a reboot of {server}{within}."),
        PowerAction::PowerCycle => {
            format!("The customer authorizes a power cycle (hard reset) of {server}, or a reboot{within}.")
        }
        PowerAction::Shutdown => format!("The customer authorizes shutting {server} down{within}."),
    });
    let credentials = form
        .access_credential_id
        .map(|id| format!("The customer has provided access credentials for {server} in the vault (entry {id})."));
    power.into_iter().chain(credentials).chain(form.backup_statement.map(backup_sentence)).collect()
}

fn hardware_change_acknowledgements(form: &HardwareChangeForm, server: &str) -> Vec<String> {
    let downtime = form.downtime.map(|downtime| match downtime {
        Downtime::AcceptableNow => {
            format!("The customer accepts that {server} goes down for the change as soon as the technician is ready.")
        }
        Downtime::OnlyInWindow => {
            format!("The customer accepts that {server} goes down for the change{}.", within(&form.downtime_windows))
        }
    });
    let hot_swap = form.hot_swap_requested.then(|| {
        let part = form.component.map_or("component", name);
        format!("The customer asks for the {part} to be swapped while {server} runs; if it cannot be, the downtime above applies.")
    });
    downtime.into_iter().chain(hot_swap).chain(form.backup_statement.map(backup_sentence)).collect()
}

fn backup_sentence(statement: BackupStatement) -> String {
    match statement {
        BackupStatement::CurrentBackupExists => "The customer confirms a current backup of all critical data exists.",
        BackupStatement::NoRecentBackupAcceptDataLoss => {
            "The customer states that no recent backup exists and accepts the loss of data the work may cause."
        }
    }
    .to_owned()
}

/// " only within these windows: from … to …; from … to …", or nothing without windows.
fn within(windows: &[TimeRange]) -> String {
    let Ok(windows) = parse_windows("windows", windows) else { return String::new() };
    if windows.is_empty() {
        return String::new();
    }
    let listed: Vec<String> = windows.iter().map(|(start, end)| format!("from {start} to {end}")).collect();
    format!(" only within these windows: {}", listed.join("; "))
}

/// Windows as instants: RFC 3339 times, each starting before it ends and lasting at most as
/// long as a maintenance window, at most [`MAX_WINDOWS`] of them.
pub(super) fn parse_windows(field: &'static str, windows: &[TimeRange]) -> Result<Vec<(Timestamp, Timestamp)>, Error> {
    if windows.len() > MAX_WINDOWS {
        return Err(Error::Invalid { field, reason: format!("at most {MAX_WINDOWS} windows") });
    }
    let parse = |n: usize, which: &str, text: &str| {
        text.trim().parse::<Timestamp>().map_err(|_| Error::Invalid {
            field,
            reason: format!("window {n}: {which} '{text}' is not an RFC 3339 time such as 2026-03-28T22:00:00Z"),
        })
    };
    let mut parsed = Vec::with_capacity(windows.len());
    for (n, window) in (1..).zip(windows) {
        let (start, end) = (parse(n, "start", &window.start)?, parse(n, "end", &window.end)?);
        let reason = if end <= start {
            format!("window {n}: ends at {end}, not after it starts at {start}")
        } else if end.duration_since(start) > MAX_DURATION {
            format!("window {n}: lasts {:#}, more than 7 days", end.duration_since(start))
        } else {
            parsed.push((start, end));
            continue;
        };
        return Err(Error::Invalid { field, reason });
    }
    Ok(parsed)
}

fn validate_server(server: &ServerIdentification) -> Result<(), Error> {
    let service_id = given(&server.service_id);
    let primary_ip = given(&server.primary_ip);
    if server.host_id.is_none() && service_id.is_none() && primary_ip.is_none() {
        return Err(required("server", "give the host, its service id or its primary IP address"));
    }
    if let Some(id) = server.host_id {
        positive_id("server.host_id", id)?;
    }
    if let Some(service_id) = service_id {
        validate_name("server.service_id", service_id)?;
    }
    if let Some(ip) = primary_ip
        && ip.parse::<IpAddr>().is_err()
    {
        return Err(Error::Invalid {
            field: "server.primary_ip",
            reason: format!("'{ip}' is not an IPv4 or IPv6 address"),
        });
    }
    Ok(())
}

fn host_id(id: Option<i64>) -> Result<(), Error> {
    let id = id.ok_or_else(|| required("host_id", "choose the server"))?;
    positive_id("host_id", id)
}

fn positive_id(field: &'static str, id: i64) -> Result<(), Error> {
    if id > 0 { Ok(()) } else { Err(Error::Invalid { field, reason: format!("{id} is not an id") }) }
}

fn backup_statement(statement: Option<BackupStatement>) -> Result<(), Error> {
    match statement {
        Some(_) => Ok(()),
        None => Err(required("backup_statement", "state that a current backup exists or accept data loss")),
    }
}

fn required(field: &'static str, what: &str) -> Error {
    Error::Invalid { field, reason: format!("required: {what}") }
}

/// An optional text, unless blank.
fn given(text: &Option<String>) -> Option<&str> {
    text.as_deref().map(str::trim).filter(|text| !text.is_empty())
}

/// Components a server usually has several of, where replacing the wrong one is the classic
/// mistake (pulling the healthy disk of a degraded mirror loses the data).
fn comes_in_several(component: Component) -> bool {
    use Component::*;
    match component {
        Ram | Disk | Psu | Fan | Cpu | Nic => true,
        Mainboard | RaidController | Other => false,
    }
}

fn name(component: Component) -> &'static str {
    match component {
        Component::Ram => "memory module",
        Component::Disk => "disk",
        Component::Psu => "power supply",
        Component::Fan => "fan",
        Component::Cpu => "processor",
        Component::Mainboard => "mainboard",
        Component::RaidController => "RAID controller",
        Component::Nic => "network card",
        Component::Other => "component",
    }
}

#[cfg(test)]
mod tests;
