//! Forms: complete ones pass, each gap or inconsistency is refused naming its field, and the
//! acknowledged sentences read as the ticket will show them.

use super::*;

fn window(start: &str, end: &str) -> TimeRange {
    TimeRange { start: start.into(), end: end.into() }
}

fn intervention() -> InterventionForm {
    InterventionForm {
        server: ServerIdentification { host_id: Some(7), ..ServerIdentification::default() },
        problem: "The web server answers 502 since this morning.".into(),
        access_credential_id: Some(12),
        power_action: Some(PowerAction::Reboot),
        power_windows: vec![window("2026-03-28T22:00:00Z", "2026-03-29T02:00:00Z")],
        backup_statement: Some(BackupStatement::CurrentBackupExists),
    }
}

fn os_reinstall() -> OsReinstallForm {
    OsReinstallForm {
        host_id: Some(7),
        os: "Debian".into(),
        version: "13".into(),
        edition: None,
        partitioning: Some("/boot 1G, / 50G, /srv the rest".into()),
        raid_layout: Some("RAID 1 over both disks".into()),
        other_settings: None,
        erase_acknowledged: Some(true),
    }
}

fn hardware_change() -> HardwareChangeForm {
    HardwareChangeForm {
        host_id: Some(7),
        component: Some(Component::Disk),
        serial_or_slot: Some("WD-WCC4N1234567, bay 2".into()),
        downtime: Some(Downtime::OnlyInWindow),
        downtime_windows: vec![window("2026-04-04T20:00:00Z", "2026-04-04T23:00:00Z")],
        hot_swap_requested: true,
        hot_swap_supported: None,
        backup_statement: Some(BackupStatement::CurrentBackupExists),
    }
}

/// The field and reason of a refusal.
fn refusal(result: Result<(), Error>) -> (&'static str, String) {
    match result {
        Err(Error::Invalid { field, reason }) => (field, reason),
        other => panic!("expected an invalid field, got {other:?}"),
    }
}

#[test]
fn complete_forms_pass() {
    validate_intervention(&intervention()).unwrap();
    validate_os_reinstall(&os_reinstall()).unwrap();
    validate_hardware_change(&hardware_change()).unwrap();
    // The least an intervention needs: no credentials, no power action, no windows.
    let minimal = InterventionForm {
        server: ServerIdentification { primary_ip: Some("2001:db8::7".into()), ..ServerIdentification::default() },
        problem: "slow".into(),
        access_credential_id: None,
        power_action: Some(PowerAction::None),
        power_windows: vec![],
        backup_statement: Some(BackupStatement::NoRecentBackupAcceptDataLoss),
    };
    validate_intervention(&minimal).unwrap();
}

#[test]
fn intervention_refusals_name_the_field() {
    type Spoil = fn(&mut InterventionForm);
    let cases: &[(Spoil, &str, &str)] = &[
        (|f| f.server = ServerIdentification::default(), "server", "required: give the host, its service id"),
        (
            |f| f.server = ServerIdentification { service_id: Some("  ".into()), ..ServerIdentification::default() },
            "server",
            "required",
        ),
        (|f| f.server.host_id = Some(0), "server.host_id", "0 is not an id"),
        (|f| f.server.service_id = Some("SRV\u{0}42".into()), "server.service_id", "control characters"),
        (|f| f.server.primary_ip = Some("10.0.0.300".into()), "server.primary_ip", "'10.0.0.300' is not an IPv4"),
        (|f| f.problem = String::new(), "problem", "required"),
        (|f| f.problem = "x".repeat(10_001), "problem", "at most 10000 characters"),
        (|f| f.problem = "log:\u{1b}[31m".into(), "problem", "control characters"),
        (|f| f.access_credential_id = Some(-3), "access_credential_id", "-3 is not an id"),
        (|f| f.power_action = None, "power_action", "required: choose none, reboot, power_cycle or shutdown"),
        (
            |f| f.power_windows = vec![window("tomorrow", "2026-03-29T02:00:00Z")],
            "power_windows",
            "window 1: start 'tomorrow' is not an RFC 3339 time",
        ),
        (
            |f| f.power_windows.push(window("2026-03-29T22:00:00", "2026-03-30T02:00:00Z")),
            "power_windows",
            "window 2: start '2026-03-29T22:00:00' is not an RFC 3339 time",
        ),
        (
            |f| f.power_windows = vec![window("2026-03-29T02:00:00Z", "2026-03-29T02:00:00Z")],
            "power_windows",
            "window 1: ends at 2026-03-29T02:00:00Z, not after it starts at 2026-03-29T02:00:00Z",
        ),
        (
            |f| f.power_windows = vec![window("2026-03-01T00:00:00Z", "2026-03-09T00:00:00Z")],
            "power_windows",
            "window 1: lasts 192h, more than 7 days",
        ),
        (
            |f| f.power_windows = vec![window("2026-03-01T00:00:00Z", "2026-03-01T01:00:00Z"); MAX_WINDOWS + 1],
            "power_windows",
            "at most 50 windows",
        ),
        (
            |f| f.power_action = Some(PowerAction::None),
            "power_windows",
            "windows are given but no power action is authorized",
        ),
        (
            |f| f.backup_statement = None,
            "backup_statement",
            "required: state that a current backup exists or accept data loss",
        ),
    ];
    for (spoil, field, reason) in cases {
        let mut form = intervention();
        spoil(&mut form);
        let (got_field, got_reason) = refusal(validate_intervention(&form));
        assert_eq!(got_field, *field, "{form:?}");
        assert!(got_reason.contains(reason), "{field}: {got_reason}");
    }
}

#[test]
fn windows_in_any_offset() {
    let mut form = intervention();
    form.power_windows = vec![
        window("2026-03-28T23:00:00+01:00", "2026-03-29T04:00:00+02:00"),
        window(" 2026-04-04T22:00:00Z ", "2026-04-05T06:00:00Z"),
    ];
    validate_intervention(&form).unwrap();
}

#[test]
fn os_reinstall_refusals_name_the_field() {
    type Spoil = fn(&mut OsReinstallForm);
    let cases: &[(Spoil, &str, &str)] = &[
        (|f| f.host_id = None, "host_id", "required: choose the server"),
        (|f| f.os = " ".into(), "os", "must not be empty"),
        (|f| f.version = String::new(), "version", "must not be empty"),
        (|f| f.edition = Some("Data\ncenter".into()), "edition", "must not contain control characters"),
        (|f| f.partitioning = Some("x".repeat(10_001)), "partitioning", "at most"),
        (|f| f.raid_layout = Some("\u{7}".into()), "raid_layout", "control characters"),
        (|f| f.other_settings = Some("\u{7}hostname".into()), "other_settings", "control characters"),
        (
            |f| f.erase_acknowledged = None,
            "erase_acknowledged",
            "required: acknowledge that reinstalling erases all data on the server",
        ),
        (|f| f.erase_acknowledged = Some(false), "erase_acknowledged", "required"),
    ];
    for (spoil, field, reason) in cases {
        let mut form = os_reinstall();
        spoil(&mut form);
        let (got_field, got_reason) = refusal(validate_os_reinstall(&form));
        assert_eq!(got_field, *field, "{form:?}");
        assert!(got_reason.contains(reason), "{field}: {got_reason}");
    }
    // Optional texts left blank are absent.
    let blank = OsReinstallForm { edition: Some(String::new()), partitioning: Some(" ".into()), ..os_reinstall() };
    validate_os_reinstall(&blank).unwrap();
}

#[test]
fn hardware_change_refusals_name_the_field() {
    type Spoil = fn(&mut HardwareChangeForm);
    let cases: &[(Spoil, &str, &str)] = &[
        (|f| f.host_id = None, "host_id", "required"),
        (|f| f.component = None, "component", "required: choose the component to replace"),
        (
            |f| f.serial_or_slot = None,
            "serial_or_slot",
            "required: name the serial number or slot of the disk, so that the right one is replaced",
        ),
        (
            |f| (f.component, f.serial_or_slot) = (Some(Component::Ram), Some(" ".into())),
            "serial_or_slot",
            "required: name the serial number or slot of the memory module",
        ),
        (|f| f.serial_or_slot = Some("bay\t2".into()), "serial_or_slot", "must not contain control characters"),
        (|f| f.downtime = None, "downtime", "required: say whether the server may go down"),
        (|f| f.downtime_windows.clear(), "downtime_windows", "required: at least one window"),
        (
            |f| f.downtime = Some(Downtime::AcceptableNow),
            "downtime_windows",
            "windows are given but downtime is acceptable now",
        ),
        (
            |f| f.downtime_windows = vec![window("2026-04-04T23:00:00Z", "2026-04-04T20:00:00Z")],
            "downtime_windows",
            "window 1: ends at",
        ),
        (
            |f| f.hot_swap_supported = Some(false),
            "hot_swap_requested",
            "this disk cannot be swapped while the server runs; the change needs downtime",
        ),
        (|f| f.backup_statement = None, "backup_statement", "required"),
    ];
    for (spoil, field, reason) in cases {
        let mut form = hardware_change();
        spoil(&mut form);
        let (got_field, got_reason) = refusal(validate_hardware_change(&form));
        assert_eq!(got_field, *field, "{form:?}");
        assert!(got_reason.contains(reason), "{field}: {got_reason}");
    }
}

#[test]
fn which_components_need_a_serial_or_slot() {
    use Component::*;
    for (component, needed) in [
        (Ram, true),
        (Disk, true),
        (Psu, true),
        (Fan, true),
        (Cpu, true),
        (Nic, true),
        (Mainboard, false),
        (RaidController, false),
        (Other, false),
    ] {
        let form = HardwareChangeForm { component: Some(component), serial_or_slot: None, ..hardware_change() };
        assert_eq!(validate_hardware_change(&form).is_err(), needed, "{component:?}");
    }
    // A hot swap known to work, or not asked for, is fine either way.
    let supported = HardwareChangeForm { hot_swap_supported: Some(true), ..hardware_change() };
    validate_hardware_change(&supported).unwrap();
    let not_asked =
        HardwareChangeForm { hot_swap_requested: false, hot_swap_supported: Some(false), ..hardware_change() };
    validate_hardware_change(&not_asked).unwrap();
}

#[test]
fn forms_dispatch_by_kind() {
    let forms = [
        (TicketForm::Intervention(intervention()), TicketKind::Intervention),
        (TicketForm::OsReinstall(os_reinstall()), TicketKind::OsReinstall),
        (TicketForm::HardwareChange(hardware_change()), TicketKind::HardwareChange),
    ];
    for (form, kind) in forms {
        assert_eq!(form_kind(&form), kind);
        validate_form(&form).unwrap();
    }
    let incomplete = TicketForm::OsReinstall(OsReinstallForm { erase_acknowledged: None, ..os_reinstall() });
    assert!(matches!(validate_form(&incomplete), Err(Error::Invalid { field: "erase_acknowledged", .. })));
}

#[test]
fn acknowledged_sentences() {
    let cases: Vec<(TicketForm, Vec<&str>)> = vec![
        (
            TicketForm::Intervention(intervention()),
            vec![
                "The customer authorizes a reboot of web-01 only within these windows: from 2026-03-28T22:00:00Z to \
                 2026-03-29T02:00:00Z.",
                "The customer has provided access credentials for web-01 in the vault (entry 12).",
                "The customer confirms a current backup of all critical data exists.",
            ],
        ),
        (
            TicketForm::Intervention(InterventionForm {
                power_action: Some(PowerAction::PowerCycle),
                power_windows: vec![],
                access_credential_id: None,
                backup_statement: Some(BackupStatement::NoRecentBackupAcceptDataLoss),
                ..intervention()
            }),
            vec![
                "The customer authorizes a power cycle (hard reset) of web-01, or a reboot.",
                "The customer states that no recent backup exists and accepts the loss of data the work may cause.",
            ],
        ),
        (
            TicketForm::Intervention(InterventionForm {
                power_action: Some(PowerAction::Shutdown),
                power_windows: vec![
                    window("2026-03-28T22:00:00Z", "2026-03-28T23:00:00Z"),
                    window("2026-03-29T22:00:00+02:00", "2026-03-29T23:00:00+02:00"),
                ],
                ..intervention()
            }),
            vec![
                "The customer authorizes shutting web-01 down only within these windows: from 2026-03-28T22:00:00Z \
                 to 2026-03-28T23:00:00Z; from 2026-03-29T20:00:00Z to 2026-03-29T21:00:00Z.",
                "The customer has provided access credentials for web-01 in the vault (entry 12).",
                "The customer confirms a current backup of all critical data exists.",
            ],
        ),
        (
            TicketForm::Intervention(InterventionForm {
                power_action: Some(PowerAction::None),
                power_windows: vec![],
                access_credential_id: None,
                ..intervention()
            }),
            vec![
                "The customer does not authorize any reboot, power cycle or shutdown of web-01.",
                "The customer confirms a current backup of all critical data exists.",
            ],
        ),
        (
            TicketForm::OsReinstall(os_reinstall()),
            vec!["The customer acknowledges that reinstalling erases all data on web-01."],
        ),
        (TicketForm::OsReinstall(OsReinstallForm { erase_acknowledged: Some(false), ..os_reinstall() }), vec![]),
        (
            TicketForm::HardwareChange(hardware_change()),
            vec![
                "The customer accepts that web-01 goes down for the change only within these windows: from \
                 2026-04-04T20:00:00Z to 2026-04-04T23:00:00Z.",
                "The customer asks for the disk to be swapped while web-01 runs; if it cannot be, the downtime above \
                 applies.",
                "The customer confirms a current backup of all critical data exists.",
            ],
        ),
        (
            TicketForm::HardwareChange(HardwareChangeForm {
                component: Some(Component::Psu),
                downtime: Some(Downtime::AcceptableNow),
                downtime_windows: vec![],
                hot_swap_requested: false,
                ..hardware_change()
            }),
            vec![
                "The customer accepts that web-01 goes down for the change as soon as the technician is ready.",
                "The customer confirms a current backup of all critical data exists.",
            ],
        ),
    ];
    for (form, expected) in cases {
        assert_eq!(acknowledgements(&form, "web-01"), expected, "{form:?}");
    }
}
