//! The request forms: incidents, service requests, interventions, OS reinstalls and hardware
//! changes. Each acknowledgement the customer gives is explained next to its input in plain
//! words; the sentences the desk records are `tend_core::desk::acknowledgements`'s.
//!
//! What the form says becomes a `NewTicket` here, including the parts a browser cannot send as
//! the API would (local times in a chosen zone, "nothing chosen" as an empty value); whether
//! the request is complete is decided by `desk::tickets::file`, whose refusal is shown next to
//! the field it names, with everything typed kept.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde::Deserialize;
use tend_core::desk::TicketKind;
use tend_proto::desk::{
    HardwareChangeForm, InterventionForm, OsReinstallForm, ServerIdentification, TicketForm, TimeRange,
};
use tend_proto::tickets::NewTicket;

use super::{Customer, Fields, PageError, Problem, problem};
use crate::desk::tickets::{self, parse};
use crate::web::render;
use crate::{AppState, Error};

/// Window rows a form offers; a browser without scripts cannot add rows.
const WINDOW_ROWS: usize = 3;

/// A kind of request a customer may file, as the portal introduces it.
pub struct KindInfo {
    pub kind: &'static str,
    pub title: &'static str,
    pub summary: &'static str,
}

pub const KINDS: &[KindInfo] = &[
    KindInfo {
        kind: "incident",
        title: "Report an incident",
        summary: "Something is broken: a website, e-mail or a server does not work as it should.",
    },
    KindInfo {
        kind: "service_request",
        title: "Ask for something",
        summary: "Something that is not broken: an account, a change of settings, advice or a quote.",
    },
    KindInfo {
        kind: "intervention",
        title: "Request an intervention on a server",
        summary: "A technician works on a server. You say what they may do to its power, and when.",
    },
    KindInfo {
        kind: "os_reinstall",
        title: "Reinstall a server's operating system",
        summary: "A fresh installation of the system you choose. It erases everything on the server.",
    },
    KindInfo {
        kind: "hardware_change",
        title: "Replace a hardware component",
        summary: "A disk, memory module, power supply or other part replaced, with the downtime you accept.",
    },
];

/// One choice of a radio group or select, with what it means for the customer.
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub explanation: &'static str,
}

const IMPACTS: &[Choice] = &[
    Choice { value: "high", label: "High", explanation: "A whole site, a main service or many people are affected." },
    Choice { value: "medium", label: "Medium", explanation: "A department or a secondary service is affected." },
    Choice { value: "low", label: "Low", explanation: "One person is affected, or there is a workaround." },
];

const URGENCIES: &[Choice] = &[
    Choice { value: "high", label: "High", explanation: "It hurts now: work has stopped." },
    Choice { value: "medium", label: "Medium", explanation: "It will hurt soon, or work is slowed down." },
    Choice { value: "low", label: "Low", explanation: "It can wait for a convenient moment." },
];

pub(super) const POWER_ACTIONS: &[Choice] = &[
    Choice {
        value: "none",
        label: "None: the server keeps running",
        explanation: "The technician may not reboot, power cycle or shut the server down. If the work turns out to \
                      need it, they ask you first.",
    },
    Choice {
        value: "reboot",
        label: "Reboot",
        explanation: "A clean restart through the operating system. Services are away for a few minutes; saved data \
                      is kept.",
    },
    Choice {
        value: "power_cycle",
        label: "Power cycle (hard reset), or a reboot",
        explanation: "Switching the server off and on without the operating system's consent, for a server that no \
                      longer answers. Unsaved data is lost, and a file system may need a repair.",
    },
    Choice {
        value: "shutdown",
        label: "Shut down",
        explanation: "The server is stopped and stays off until someone switches it on again.",
    },
];

pub(super) const BACKUP_STATEMENTS: &[Choice] = &[
    Choice {
        value: "current_backup_exists",
        label: "I confirm a current backup of all critical data exists.",
        explanation: "Choose this if a recent backup of everything that matters exists and can be restored: if the \
                      work goes wrong, the data comes back from it.",
    },
    Choice {
        value: "no_recent_backup_accept_data_loss",
        label: "I state that no recent backup exists, and I accept the loss of data the work may cause.",
        explanation: "Choose this if there is no recent backup. The technician works with care, but data the work \
                      damages cannot be brought back.",
    },
];

pub(super) const DOWNTIMES: &[Choice] = &[
    Choice {
        value: "acceptable_now",
        label: "As soon as the technician is ready",
        explanation: "The server may go down for the change at any time, without further notice.",
    },
    Choice {
        value: "only_in_window",
        label: "Only within the windows below",
        explanation: "The server goes down only within a window you give; the change waits for the next one.",
    },
];

pub(super) const COMPONENTS: &[Choice] = &[
    Choice { value: "disk", label: "Disk", explanation: "" },
    Choice { value: "ram", label: "Memory module (RAM)", explanation: "" },
    Choice { value: "psu", label: "Power supply", explanation: "" },
    Choice { value: "fan", label: "Fan", explanation: "" },
    Choice { value: "cpu", label: "Processor", explanation: "" },
    Choice { value: "nic", label: "Network card", explanation: "" },
    Choice { value: "raid_controller", label: "RAID controller", explanation: "" },
    Choice { value: "mainboard", label: "Mainboard", explanation: "" },
    Choice { value: "other", label: "Other (describe it below)", explanation: "" },
];

/// A server of the client's, as a form offers it.
pub struct HostChoice {
    pub id: i64,
    pub hostname: String,
}

/// A live vault credential of one of the client's servers.
pub struct CredentialChoice {
    pub id: i64,
    pub host_id: i64,
    pub label: String,
}

/// What of the client's a form may refer to.
struct Own {
    hosts: Vec<HostChoice>,
    credentials: Vec<CredentialChoice>,
}

#[derive(askama::Template)]
#[template(path = "portal_choose.html")]
struct ChoosePage {
    username: String,
    csrf: String,
    kinds: &'static [KindInfo],
}

#[derive(askama::Template)]
#[template(path = "portal_request.html")]
struct RequestPage {
    username: String,
    csrf: String,
    info: &'static KindInfo,
    fields: Fields,
    problem: Option<Problem>,
    hosts: Vec<HostChoice>,
    credentials: Vec<CredentialChoice>,
    windows: Vec<(String, String)>,
    impacts: &'static [Choice],
    urgencies: &'static [Choice],
    power_actions: &'static [Choice],
    backup_statements: &'static [Choice],
    downtimes: &'static [Choice],
    components: &'static [Choice],
}

impl RequestPage {
    fn is(&self, kind: &str) -> bool {
        self.info.kind == kind
    }

    fn value(&self, name: &str) -> &str {
        self.fields.get(name)
    }

    fn checked(&self, name: &str, value: &str) -> bool {
        self.fields.has(name, value)
    }

    fn error(&self, field: &str) -> Option<&str> {
        self.problem.as_ref().and_then(|p| p.on(field))
    }

    /// The credentials of one server, for its group in the select.
    fn credentials_of(&self, host: &i64) -> Vec<&CredentialChoice> {
        self.credentials.iter().filter(|c| c.host_id == *host).collect()
    }

    fn has_credentials(&self, host: &i64) -> bool {
        self.credentials.iter().any(|c| c.host_id == *host)
    }
}

#[derive(Deserialize)]
pub struct NewQuery {
    kind: Option<String>,
    /// Preselects this server.
    host: Option<i64>,
}

/// The kinds a customer files through the portal (changes are the provider's to plan).
fn requestable(kind: &str) -> Option<&'static KindInfo> {
    KINDS.iter().find(|info| info.kind == kind)
}

pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<NewQuery>,
) -> Result<Response, PageError> {
    let customer = Customer::of(&state, &headers).await?;
    let Some(info) = query.kind.as_deref().and_then(requestable) else {
        let page = ChoosePage { username: customer.user.username.clone(), csrf: customer.csrf.clone(), kinds: KINDS };
        return Ok(render(&page, StatusCode::OK));
    };
    let mut fields = Fields::default();
    fields.set("impact", "medium");
    fields.set("urgency", "medium");
    fields.set("time_zone", "UTC");
    if let Some(host) = query.host {
        for name in ["host_ids", "host_id", "server.host_id"] {
            fields.set(name, host.to_string());
        }
    }
    let own = own(&state, &customer).await?;
    Ok(render(&request_page(&customer, info, fields, None, own), StatusCode::OK))
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let customer = Customer::of(&state, &headers).await?;
    let fields = Fields(pairs);
    customer.check_csrf(&fields)?;
    let Some(info) = requestable(fields.get("kind")) else {
        return Err(PageError::page(StatusCode::BAD_REQUEST, "Unknown request", "Choose a kind of request first."));
    };
    let kind: TicketKind = parse("kind", info.kind)?;
    let own = own(&state, &customer).await?;
    let filed = match build(kind, &fields, &own) {
        Ok(new) => tickets::file(&state, customer.who(), None, new, Timestamp::now()).await,
        Err(refused) => Err(refused),
    };
    match filed {
        Ok(ticket) => Ok(Redirect::to(&format!("/portal/tickets/{}", ticket.id)).into_response()),
        Err(refused) => {
            let problem = problem(refused, &|field| field.to_owned())?;
            let status = problem.status;
            Ok(render(&request_page(&customer, info, fields, Some(problem), own), status))
        }
    }
}

fn request_page(
    customer: &Customer,
    info: &'static KindInfo,
    fields: Fields,
    problem: Option<Problem>,
    own: Own,
) -> RequestPage {
    let starts: Vec<&str> = fields.all("window_start").collect();
    let ends: Vec<&str> = fields.all("window_end").collect();
    let windows = (0..WINDOW_ROWS.max(starts.len()))
        .map(|n| {
            let at = |list: &[&str]| list.get(n).map_or_else(String::new, |v| (*v).to_owned());
            (at(&starts), at(&ends))
        })
        .collect();
    RequestPage {
        username: customer.user.username.clone(),
        csrf: customer.csrf.clone(),
        info,
        windows,
        fields,
        problem,
        hosts: own.hosts,
        credentials: own.credentials,
        impacts: IMPACTS,
        urgencies: URGENCIES,
        power_actions: POWER_ACTIONS,
        backup_statements: BACKUP_STATEMENTS,
        downtimes: DOWNTIMES,
        components: COMPONENTS,
    }
}

/// The client's servers and the live credentials stored for them.
async fn own(state: &AppState, customer: &Customer) -> Result<Own, Error> {
    let scope = customer.scope();
    let rows = state.store.list_hosts(scope, Some(customer.client_id), 0, 1000).await?;
    let mut credentials = Vec::new();
    for host in &rows {
        for credential in state.store.credentials_of_host(scope, host.id).await? {
            if credential.purged_at.is_none() {
                credentials.push(CredentialChoice {
                    id: credential.id,
                    host_id: host.id,
                    label: format!("{} ({}, user {})", credential.name, credential.kind, credential.username),
                });
            }
        }
    }
    let hosts = rows.into_iter().map(|h| HostChoice { id: h.id, hostname: h.hostname }).collect();
    Ok(Own { hosts, credentials })
}

/// The ticket the form asks for. Checks only what the domain cannot: that chosen servers and
/// credentials are the client's, and how local times read; the rest is `desk::tickets::file`'s.
fn build(kind: TicketKind, fields: &Fields, own: &Own) -> Result<NewTicket, Error> {
    let form = match kind {
        TicketKind::Intervention => Some(TicketForm::Intervention(intervention(fields, own)?)),
        TicketKind::OsReinstall => Some(TicketForm::OsReinstall(os_reinstall(fields, own)?)),
        TicketKind::HardwareChange => Some(TicketForm::HardwareChange(hardware_change(fields, own)?)),
        TicketKind::Incident | TicketKind::ServiceRequest | TicketKind::Change => None,
    };
    let host_ids = match &form {
        Some(TicketForm::Intervention(form)) => form.server.host_id.into_iter().collect(),
        Some(TicketForm::OsReinstall(OsReinstallForm { host_id, .. }))
        | Some(TicketForm::HardwareChange(HardwareChangeForm { host_id, .. })) => host_id.iter().copied().collect(),
        None => {
            let chosen = fields.all("host_ids").map(|id| host(own, "host_ids", id));
            chosen.filter_map(Result::transpose).collect::<Result<Vec<i64>, Error>>()?
        }
    };
    Ok(NewTicket {
        client_id: None,
        kind: kind.as_str().to_owned(),
        subject: fields.get("subject").to_owned(),
        description: fields.get("description").to_owned(),
        host_ids,
        impact: fields.given("impact").map(str::to_owned),
        urgency: fields.given("urgency").map(str::to_owned),
        priority: None,
        priority_reason: None,
        form,
    })
}

fn intervention(fields: &Fields, own: &Own) -> Result<InterventionForm, Error> {
    let server = ServerIdentification {
        host_id: host(own, "server.host_id", fields.get("server.host_id"))?,
        service_id: fields.given("server.service_id").map(str::to_owned),
        primary_ip: fields.given("server.primary_ip").map(str::to_owned),
    };
    let access_credential_id = match fields.given("access_credential_id") {
        None => None,
        Some(text) => {
            let credential =
                text.parse::<i64>().ok().and_then(|id| own.credentials.iter().find(|c| c.id == id)).ok_or_else(
                    || Error::invalid_field("access_credential_id", "choose one of the stored credentials"),
                )?;
            if server.host_id.is_some_and(|host| host != credential.host_id) {
                return Err(Error::invalid_field(
                    "access_credential_id",
                    "this credential belongs to another server than the one chosen above",
                ));
            }
            Some(credential.id)
        }
    };
    Ok(InterventionForm {
        server,
        problem: fields.get("problem").to_owned(),
        access_credential_id,
        power_action: fields.given("power_action").map(|v| parse("power_action", v)).transpose()?,
        power_windows: windows(fields, "power_windows")?,
        backup_statement: fields.given("backup_statement").map(|v| parse("backup_statement", v)).transpose()?,
    })
}

fn os_reinstall(fields: &Fields, own: &Own) -> Result<OsReinstallForm, Error> {
    let text = |name: &str| fields.given(name).map(str::to_owned);
    Ok(OsReinstallForm {
        host_id: host(own, "host_id", fields.get("host_id"))?,
        os: fields.get("os").to_owned(),
        version: fields.get("version").to_owned(),
        edition: text("edition"),
        partitioning: text("partitioning"),
        raid_layout: text("raid_layout"),
        other_settings: text("other_settings"),
        erase_acknowledged: Some(fields.has("erase_acknowledged", "true")),
    })
}

fn hardware_change(fields: &Fields, own: &Own) -> Result<HardwareChangeForm, Error> {
    Ok(HardwareChangeForm {
        host_id: host(own, "host_id", fields.get("host_id"))?,
        component: fields.given("component").map(|v| parse("component", v)).transpose()?,
        serial_or_slot: fields.given("serial_or_slot").map(str::to_owned),
        downtime: fields.given("downtime").map(|v| parse("downtime", v)).transpose()?,
        downtime_windows: windows(fields, "downtime_windows")?,
        hot_swap_requested: fields.has("hot_swap_requested", "true"),
        // Whether the part swaps hot is for the technician to say, not the customer.
        hot_swap_supported: None,
        backup_statement: fields.given("backup_statement").map(|v| parse("backup_statement", v)).transpose()?,
    })
}

/// A chosen server: none when left empty, refused unless it is one of the client's.
fn host(own: &Own, field: &str, text: &str) -> Result<Option<i64>, Error> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<i64>().ok().filter(|id| own.hosts.iter().any(|h| h.id == *id)) {
        Some(id) => Ok(Some(id)),
        None => Err(Error::invalid_field(field, "choose one of your servers")),
    }
}

/// The window rows as instants: each local start and end read in the form's time zone. A row
/// left empty is no window.
fn windows(fields: &Fields, field: &str) -> Result<Vec<TimeRange>, Error> {
    let rows: Vec<(&str, &str)> = fields
        .all("window_start")
        .zip(fields.all("window_end"))
        .map(|(start, end)| (start.trim(), end.trim()))
        .filter(|(start, end)| !start.is_empty() || !end.is_empty())
        .collect();
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let zone_name = fields.given("time_zone").unwrap_or("UTC");
    let zone = TimeZone::get(zone_name).map_err(|_| {
        Error::invalid_field(
            "time_zone",
            format!("'{zone_name}' is not a known time zone, such as UTC or Europe/Paris"),
        )
    })?;
    let instant = |n: usize, which: &str, text: &str| -> Result<String, Error> {
        let refused = || {
            Error::invalid_field(
                field,
                format!("window {n}: the {which} '{text}' is not a date and time such as 2026-03-28T22:00"),
            )
        };
        let local: DateTime = text.parse().map_err(|_| refused())?;
        let zoned = local.to_zoned(zone.clone()).map_err(|_| refused())?;
        Ok(zoned.timestamp().to_string())
    };
    let mut windows = Vec::with_capacity(rows.len());
    for (n, (start, end)) in (1..).zip(rows) {
        if start.is_empty() || end.is_empty() {
            return Err(Error::invalid_field(field, format!("window {n}: give both its start and its end")));
        }
        windows.push(TimeRange { start: instant(n, "start", start)?, end: instant(n, "end", end)? });
    }
    Ok(windows)
}

#[cfg(test)]
mod tests {
    use tend_proto::desk::{BackupStatement, Component, Downtime, PowerAction};

    use super::*;

    fn own() -> Own {
        Own {
            hosts: vec![HostChoice { id: 4, hostname: "db1".into() }, HostChoice { id: 9, hostname: "web1".into() }],
            credentials: vec![CredentialChoice { id: 2, host_id: 4, label: "root".into() }],
        }
    }

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        Fields(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
    }

    fn field_of(error: Error) -> String {
        match error {
            Error::Invalid { field: Some(field), .. } => field,
            other => panic!("not a field refusal: {other:?}"),
        }
    }

    #[test]
    fn an_intervention_reads_local_windows_in_the_chosen_zone() {
        let form = fields(&[
            ("subject", "db1 hangs"),
            ("server.host_id", "4"),
            ("server.service_id", ""),
            ("problem", "no answer"),
            ("access_credential_id", "2"),
            ("power_action", "reboot"),
            ("time_zone", "Europe/Paris"),
            ("window_start", "2026-03-28T22:00"),
            ("window_end", "2026-03-29T04:00"),
            ("window_start", ""),
            ("window_end", ""),
            ("backup_statement", "current_backup_exists"),
        ]);
        let new = build(TicketKind::Intervention, &form, &own()).unwrap();
        assert_eq!((new.kind.as_str(), new.host_ids.as_slice()), ("intervention", &[4][..]));
        let Some(TicketForm::Intervention(form)) = new.form else { panic!("an intervention form") };
        assert_eq!(form.server.service_id, None, "a blank input is no value");
        assert_eq!((form.access_credential_id, form.power_action), (Some(2), Some(PowerAction::Reboot)));
        assert_eq!(form.backup_statement, Some(BackupStatement::CurrentBackupExists));
        // Paris switches to summer time in that night: UTC+1 at the start, UTC+2 at the end.
        assert_eq!(
            form.power_windows,
            [TimeRange { start: "2026-03-28T21:00:00Z".into(), end: "2026-03-29T02:00:00Z".into() }]
        );
    }

    #[test]
    fn what_the_domain_cannot_check_is_refused_with_its_field() {
        /// A form's kind, what it says, and the field refused.
        type Case = (TicketKind, &'static [(&'static str, &'static str)], &'static str);
        let cases: &[Case] = &[
            (TicketKind::Incident, &[("host_ids", "4"), ("host_ids", "77")], "host_ids"),
            (TicketKind::OsReinstall, &[("host_id", "abc")], "host_id"),
            (
                TicketKind::Intervention,
                &[("server.host_id", "9"), ("access_credential_id", "2")],
                "access_credential_id",
            ),
            (TicketKind::Intervention, &[("access_credential_id", "3")], "access_credential_id"),
            (TicketKind::Intervention, &[("power_action", "explode")], "power_action"),
            (
                TicketKind::Intervention,
                &[("time_zone", "Mars/Olympus"), ("window_start", "2026-03-28T22:00"), ("window_end", "x")],
                "time_zone",
            ),
            (TicketKind::Intervention, &[("window_start", "2026-03-28T22:00"), ("window_end", "")], "power_windows"),
            (TicketKind::HardwareChange, &[("window_start", "tomorrow"), ("window_end", "later")], "downtime_windows"),
            (TicketKind::HardwareChange, &[("component", "flux_capacitor")], "component"),
        ];
        for (kind, pairs, field) in cases {
            let refused = build(*kind, &fields(pairs), &own()).unwrap_err();
            assert_eq!(field_of(refused), *field, "{pairs:?}");
        }
    }

    #[test]
    fn checkboxes_and_choices_become_the_form() {
        let reinstall = fields(&[("host_id", "4"), ("os", "Debian"), ("version", "13"), ("edition", " ")]);
        let new = build(TicketKind::OsReinstall, &reinstall, &own()).unwrap();
        let Some(TicketForm::OsReinstall(form)) = new.form else { panic!("a reinstall form") };
        assert_eq!(
            (form.erase_acknowledged, form.edition.as_deref()),
            (Some(false), None),
            "unticked is no acknowledgement"
        );
        assert!(tend_core::desk::validate_os_reinstall(&form).is_err());

        let change = fields(&[
            ("host_id", "9"),
            ("component", "disk"),
            ("serial_or_slot", "WD-123"),
            ("downtime", "acceptable_now"),
            ("hot_swap_requested", "true"),
            ("backup_statement", "no_recent_backup_accept_data_loss"),
            ("window_start", ""),
            ("window_end", ""),
        ]);
        let new = build(TicketKind::HardwareChange, &change, &own()).unwrap();
        assert_eq!(new.host_ids, [9]);
        let Some(TicketForm::HardwareChange(form)) = new.form else { panic!("a hardware change form") };
        assert_eq!((form.component, form.downtime), (Some(Component::Disk), Some(Downtime::AcceptableNow)));
        assert!(form.hot_swap_requested && form.downtime_windows.is_empty());
        assert!(tend_core::desk::validate_hardware_change(&form).is_ok());

        let incident = fields(&[("subject", "mail down"), ("host_ids", "4"), ("host_ids", "9"), ("impact", "high")]);
        let new = build(TicketKind::Incident, &incident, &own()).unwrap();
        assert_eq!((new.host_ids.as_slice(), new.impact.as_deref(), new.form), (&[4, 9][..], Some("high"), None));
    }
}
