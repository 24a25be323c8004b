//! What systemd says about the service units: which exist, which failed, how often they restarted.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Deserialize;
use tend_proto::inventory as inv;

use crate::Error;
use crate::collect::source::{ParseError, numbered_lines, parse_number};
use crate::collect::tool;

/// What systemctl and its siblings print on a host whose PID 1 is not systemd (a container, a
/// SysV or OpenRC system): no service manager to ask, which is absence, not failure.
const NOT_BOOTED_WITH_SYSTEMD: &str = "has not been booted with systemd";

/// The load state systemctl itself reports for a unit it has no file for.
const NOT_FOUND: &str = "not-found";

/// Runs a systemd tool (`systemctl`, `timedatectl`) and returns what it printed.
///
/// A host without systemd as PID 1 is [`Error::Unavailable`] with systemd's own words. A non-zero
/// exit with output is not a failure: `systemctl is-active` exits 3 when a unit is inactive and
/// still prints every state.
pub(crate) fn run_systemd_tool(program: &str, args: &[&str], timeout: Duration) -> Result<String, Error> {
    let output = tool::run(program, args, timeout)?;
    if let Some(reason) = output.stderr.lines().find(|line| line.contains(NOT_BOOTED_WITH_SYSTEMD)) {
        return Err(Error::Unavailable(reason.trim().to_owned()));
    }
    if !output.status.success() && output.stdout.trim().is_empty() {
        let stderr = output.stderr.trim();
        let reason = if stderr.is_empty() { output.status.to_string() } else { stderr.replace('\n', "; ") };
        return Err(Error::Failed(format!("{program} {}: {reason}", args.join(" "))));
    }
    Ok(output.stdout)
}

/// One element of the array `systemctl list-units --output=json` prints. Its `description` and
/// any fields later versions add are not needed and not looked at.
#[derive(Deserialize)]
struct UnitRow {
    unit: String,
    load: String,
    active: String,
    sub: String,
}

/// Parses `systemctl list-units --all --type=service --output=json` into the services section:
/// every unit counted, the failed ones and the `watched` ones kept.
///
/// A watched unit systemd does not list is reported as systemctl reports a unit without a file
/// (`not-found`, `inactive`, `dead`), so a typo in the configuration or an uninstalled service
/// shows instead of vanishing. A watched name without a type suffix means the `.service` unit,
/// as it does for systemctl. Restart counts and listening sockets are left for the caller.
pub fn parse_systemctl_units(json: &str, watched: &[String]) -> Result<inv::Services, ParseError> {
    let rows: Vec<UnitRow> = serde_json::from_str(json).map_err(|e| {
        // systemd before 246 (RHEL 8: 239) accepts --output=json and prints its table anyway.
        let hint = if json.trim_start().starts_with('[') { "" } else { " (systemd before 246 prints a table)" };
        ParseError::line(e.line().max(1), format!("not the JSON array systemctl --output=json prints{hint}: {e}"))
    })?;
    let watched: BTreeSet<String> = watched.iter().map(|name| service_unit_name(name)).collect();
    let mut units: Vec<inv::ServiceUnit> = rows
        .iter()
        .filter(|row| row.active == "failed" || watched.contains(&row.unit))
        .map(|row| inv::ServiceUnit {
            name: row.unit.clone(),
            load_state: row.load.clone(),
            active_state: row.active.clone(),
            sub_state: row.sub.clone(),
            restarts: None,
            watched: watched.contains(&row.unit),
        })
        .collect();
    let listed: BTreeSet<&str> = rows.iter().map(|row| row.unit.as_str()).collect();
    units.extend(watched.iter().filter(|name| !listed.contains(name.as_str())).map(|name| not_found(name)));
    units.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(inv::Services {
        units_total: saturating_u32(rows.len()),
        units_failed: saturating_u32(rows.iter().filter(|row| row.active == "failed").count()),
        units,
        listening: Vec::new(),
        units_unavailable: None,
    })
}

fn service_unit_name(name: &str) -> String {
    let name = name.trim();
    if name.contains('.') { name.to_owned() } else { format!("{name}.service") }
}

fn not_found(name: &str) -> inv::ServiceUnit {
    inv::ServiceUnit {
        name: name.to_owned(),
        load_state: NOT_FOUND.to_owned(),
        active_state: "inactive".to_owned(),
        sub_state: "dead".to_owned(),
        restarts: None,
        watched: true,
    }
}

fn saturating_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Parses `systemctl show -p Id,NRestarts UNIT...`: one block of `KEY=value` lines per unit,
/// blocks separated by a blank line. systemd prints the properties in its own order, not the
/// order asked for, so each block is read whole. A unit whose systemd predates `NRestarts`
/// (v235) has an empty value and is left out.
pub fn parse_systemctl_restarts(text: &str) -> Result<BTreeMap<String, u64>, ParseError> {
    let mut restarts = BTreeMap::new();
    let (mut id, mut n_restarts): (Option<&str>, Option<u64>) = (None, None);
    for (number, line) in numbered_lines(text) {
        if line.trim().is_empty() {
            if let (Some(id), Some(n)) = (id.take(), n_restarts.take()) {
                restarts.insert(id.to_owned(), n);
            }
            continue;
        }
        match line.split_once('=') {
            Some(("Id", value)) => id = Some(value.trim()),
            Some(("NRestarts", "")) => {}
            Some(("NRestarts", value)) => n_restarts = Some(parse_number(number, "NRestarts", value.trim())?),
            Some(_) => {}
            None => return Err(ParseError::line(number, format!("expected KEY=value, got {line:?}"))),
        }
    }
    if let (Some(id), Some(n)) = (id, n_restarts) {
        restarts.insert(id.to_owned(), n);
    }
    Ok(restarts)
}

/// The unit list of this host.
pub(super) fn list_units(watched: &[String]) -> Result<inv::Services, Error> {
    let args = ["list-units", "--all", "--type=service", "--output=json", "--no-pager"];
    let json = run_systemd_tool("systemctl", &args, Duration::from_secs(8))?;
    parse_systemctl_units(&json, watched).map_err(|error| error.at("systemctl list-units".as_ref()))
}

/// Fills in how often each kept unit restarted. A unit without a file has no count to ask for.
pub(super) fn add_restart_counts(units: &mut [inv::ServiceUnit]) -> Result<(), Error> {
    let names: Vec<&str> =
        units.iter().filter(|unit| unit.load_state != NOT_FOUND).map(|unit| unit.name.as_str()).collect();
    if names.is_empty() {
        return Ok(());
    }
    // `--` because a unit name is data, never an option.
    let mut args = vec!["show", "-p", "Id,NRestarts", "--"];
    args.extend(names);
    let text = run_systemd_tool("systemctl", &args, Duration::from_secs(5))?;
    let restarts = parse_systemctl_restarts(&text).map_err(|error| error.at("systemctl show".as_ref()))?;
    for unit in units {
        unit.restarts = restarts.get(&unit.name).copied();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A user manager of systemd 252 (Debian 12) with demo units in every state (testdata README).
    const CAPTURED_UNITS: &str = include_str!("../../../testdata/services/systemctl-list-units.json");
    const CAPTURED_UNITS_PRETTY: &str = include_str!("../../../testdata/services/systemctl-list-units-pretty.json");
    const CAPTURED_RESTARTS: &str = include_str!("../../../testdata/services/systemctl-show-restarts.txt");

    fn unit(name: &str, load: &str, active: &str, sub: &str, watched: bool) -> inv::ServiceUnit {
        inv::ServiceUnit {
            name: name.into(),
            load_state: load.into(),
            active_state: active.into(),
            sub_state: sub.into(),
            restarts: None,
            watched,
        }
    }

    #[test]
    fn counts_every_unit_and_keeps_the_failed_ones() {
        let services = parse_systemctl_units(CAPTURED_UNITS, &[]).unwrap();
        assert_eq!((services.units_total, services.units_failed), (12, 1));
        assert_eq!(services.units, [unit("tend-demo-crash.service", "loaded", "failed", "failed", false)]);
        assert!(services.listening.is_empty());
    }

    #[test]
    fn keeps_watched_units_in_any_state() {
        let watched = ["tend-demo-web.service", "tend-demo-broken", "tend-demo-masked.service", "tend-demo-crash"]
            .map(String::from);
        let services = parse_systemctl_units(CAPTURED_UNITS, &watched).unwrap();
        assert_eq!(
            services.units,
            [
                unit("tend-demo-broken.service", "bad-setting", "inactive", "dead", true),
                unit("tend-demo-crash.service", "loaded", "failed", "failed", true),
                unit("tend-demo-masked.service", "masked", "inactive", "dead", true),
                unit("tend-demo-web.service", "loaded", "active", "running", true),
            ]
        );
    }

    #[test]
    fn a_watched_unit_systemd_does_not_list_is_not_found() {
        let watched = ["nginx".to_owned(), "nginx.service".to_owned()];
        let services = parse_systemctl_units(CAPTURED_UNITS, &watched).unwrap();
        assert_eq!(services.units[0], unit("nginx.service", "not-found", "inactive", "dead", true));
        assert_eq!(services.units.len(), 2, "nginx once, and the failed unit");
        // systemd itself lists a referenced unit without a file the same way.
        let listed = parse_systemctl_units(CAPTURED_UNITS, &["tend-demo-absent.service".to_owned()]).unwrap();
        assert_eq!(listed.units[0], unit("tend-demo-absent.service", "not-found", "inactive", "dead", true));
    }

    #[test]
    fn pretty_printed_json_is_the_same_list() {
        let watched = ["tend-demo-web.service".to_owned()];
        assert_eq!(
            parse_systemctl_units(CAPTURED_UNITS_PRETTY, &watched).unwrap(),
            parse_systemctl_units(CAPTURED_UNITS, &watched).unwrap()
        );
    }

    #[test]
    fn no_units_is_an_empty_list_and_anything_else_an_error_with_its_line() {
        assert_eq!(parse_systemctl_units("[]\n", &[]).unwrap(), inv::Services::default());
        for (text, line) in [
            ("", 1),
            ("System has not been booted with systemd", 1),
            ("[{\"unit\":\"a.service\",\"load\":\"loaded\",\"active\":\"failed\"}]", 1),
            ("[\n{\"unit\":\"a.service\",\"load\":\"loaded\",\n\"active\":\"failed\",\"sub\":7}]", 3),
            ("[{\"unit\":\"a.service\",\"load\":\"loaded\",\"act", 1),
            ("{\"unit\":\"a.service\"}", 1),
        ] {
            match parse_systemctl_units(text, &[]) {
                Err(ParseError::Line { line: l, reason }) => {
                    assert_eq!(l, line, "{text:?}: {reason}");
                    assert!(reason.starts_with("not the JSON array"), "{reason}");
                }
                other => panic!("{text:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn the_table_of_an_old_systemd_is_named_as_such() {
        // The table systemd prints without --output, and before 246 whatever --output says.
        let table = include_str!("../../../testdata/services/systemctl-list-units.txt");
        match parse_systemctl_units(table, &[]) {
            Err(ParseError::Line { line: 1, reason }) => {
                assert!(reason.contains("before 246 prints a table"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_prefix_of_the_captures_parses_or_is_an_error() {
        for end in 0..=CAPTURED_UNITS_PRETTY.len() {
            let _ = parse_systemctl_units(&CAPTURED_UNITS_PRETTY[..end], &["a".to_owned()]);
        }
        for end in 0..=CAPTURED_RESTARTS.len() {
            let _ = parse_systemctl_restarts(&CAPTURED_RESTARTS[..end]);
        }
    }

    #[test]
    fn restart_counts_by_unit_whatever_the_property_order() {
        let restarts = parse_systemctl_restarts(CAPTURED_RESTARTS).unwrap();
        let expected = [
            ("tend-demo-crash.service", 4),
            ("tend-demo-flaky.service", 1),
            ("tend-demo-missing.service", 0),
            ("tend-demo-web.service", 0),
        ];
        assert_eq!(restarts, expected.map(|(name, n)| (name.to_owned(), n)).into());
        let id_first = "Id=a.service\nNRestarts=2\n\nId=b.service\nNRestarts=\n";
        assert_eq!(parse_systemctl_restarts(id_first).unwrap(), [("a.service".to_owned(), 2)].into());
    }

    #[test]
    fn malformed_restart_counts() {
        assert_eq!(parse_systemctl_restarts("").unwrap(), BTreeMap::new());
        assert_eq!(parse_systemctl_restarts("NRestarts=1\n").unwrap(), BTreeMap::new(), "no Id, no unit");
        assert!(matches!(
            parse_systemctl_restarts("Id=a.service\nNRestarts=many\n"),
            Err(ParseError::Line { line: 2, .. })
        ));
        assert!(matches!(parse_systemctl_restarts("Id=a.service\ngarbage\n"), Err(ParseError::Line { line: 2, .. })));
    }

    #[test]
    fn a_host_without_systemd_is_unavailable_with_systemds_reason() {
        let script = format!(
            "cat >&2 <<'EOF'\n{}EOF\nexit 1",
            include_str!("../../../testdata/services/systemctl-not-booted.stderr")
        );
        let error = run_systemd_tool("sh", &["-c", &script], Duration::from_secs(5)).unwrap_err();
        assert_eq!(error.collector_outcome(), "unavailable");
        assert_eq!(
            error.to_string(),
            "unavailable: System has not been booted with systemd as init system (PID 1). Can't operate."
        );
    }

    #[test]
    fn a_non_zero_exit_with_output_is_output_and_without_it_a_failure() {
        let inactive = run_systemd_tool("sh", &["-c", "echo active; echo inactive; exit 3"], Duration::from_secs(5));
        assert_eq!(inactive.unwrap(), "active\ninactive\n");
        let failed = run_systemd_tool("sh", &["-c", "echo 'Access denied' >&2; exit 4"], Duration::from_secs(5));
        assert_eq!(failed.unwrap_err().to_string(), "sh -c echo 'Access denied' >&2; exit 4: Access denied");
    }
}
