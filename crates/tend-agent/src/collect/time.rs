//! The time section: whether the clock is synchronised, and by how much it is off when chrony
//! can say.
//!
//! This module owns asking chrony (`chronyc tracking`) or, failing that, systemd
//! (`timedatectl show`). It must not set the clock, enable NTP or query a time server itself:
//! it reports what the host's own time service believes.

use std::time::Duration;

use tend_proto::inventory as inv;

use super::services::run_systemd_tool;
use super::source::{ParseError, numbered_lines, parse_number};
use super::{Collector, Section, tool};
use crate::Error;

/// chrony's leap status when it has no source to follow.
const NOT_SYNCHRONISED: &str = "Not synchronised";

/// Parses `timedatectl show`: `NTPSynchronized` (the kernel's clock is synchronised, whoever
/// does it) and `NTP` (systemd's network time service is enabled). It gives no offset.
pub fn parse_timedatectl_show(text: &str) -> Result<inv::TimeSync, ParseError> {
    let (mut synchronized, mut ntp_enabled) = (None, None);
    for (number, line) in numbered_lines(text) {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let field = match key {
            "NTPSynchronized" => &mut synchronized,
            "NTP" => &mut ntp_enabled,
            _ => continue,
        };
        *field = Some(match value.trim() {
            "yes" => true,
            "no" => false,
            other => return Err(ParseError::line(number, format!("{key}: expected yes or no, got {other:?}"))),
        });
    }
    Ok(inv::TimeSync {
        source: "timedatectl".to_owned(),
        synchronized: synchronized.ok_or(ParseError::Missing { field: "NTPSynchronized" })?,
        ntp_enabled,
        offset_seconds: None,
        server: None,
    })
}

/// Parses `chronyc tracking`. Synchronised unless the leap status says `Not synchronised`; the
/// offset is `System time`, positive when the clock is fast and negative when slow; the server
/// is the name or address after the reference id, absent for chrony's own local clock.
pub fn parse_chronyc_tracking(text: &str) -> Result<inv::TimeSync, ParseError> {
    let (mut server, mut offset_seconds, mut leap_status) = (None, None, None);
    for (number, line) in numbered_lines(text) {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim_end() {
            "Reference ID" => server = Some(reference_name(number, value)?),
            "System time" => offset_seconds = Some(system_time_offset(number, value)?),
            "Leap status" => leap_status = Some(value),
            _ => {}
        }
    }
    Ok(inv::TimeSync {
        source: "chrony".to_owned(),
        synchronized: leap_status.ok_or(ParseError::Missing { field: "Leap status" })? != NOT_SYNCHRONISED,
        ntp_enabled: None,
        offset_seconds: Some(offset_seconds.ok_or(ParseError::Missing { field: "System time" })?),
        server: server.ok_or(ParseError::Missing { field: "Reference ID" })?,
    })
}

/// `C0A80001 (ntp1.example.net)` → `ntp1.example.net`; `7F7F0101 ()` (the local clock) and
/// `00000000 ()` (no source) → none.
fn reference_name(number: usize, value: &str) -> Result<Option<String>, ParseError> {
    let name = value
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .ok_or_else(|| ParseError::line(number, format!("Reference ID: expected \"ID (name)\", got {value:?}")))?;
    Ok((!name.is_empty()).then(|| name.to_owned()))
}

/// `0.000107969 seconds slow of NTP time` → -0.000107969.
fn system_time_offset(number: usize, value: &str) -> Result<f64, ParseError> {
    let mut words = value.split_whitespace();
    let (Some(seconds), Some("seconds"), Some(direction), Some("of")) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return Err(ParseError::line(
            number,
            format!("System time: expected \"N seconds fast|slow of\", got {value:?}"),
        ));
    };
    let seconds: f64 = parse_number(number, "System time", seconds)?;
    match direction {
        "fast" if seconds.is_finite() => Ok(seconds),
        "slow" if seconds.is_finite() => Ok(-seconds),
        _ => Err(ParseError::line(number, format!("System time: expected fast or slow, got {value:?}"))),
    }
}

/// Collects the time section every five minutes: synchronisation is lost slowly.
pub struct TimeCollector;

impl Collector for TimeCollector {
    fn name(&self) -> &'static str {
        "time"
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(15)
    }

    fn period(&self) -> Duration {
        Duration::from_secs(5 * 60)
    }

    /// chrony first, as it knows the offset; timedatectl when chrony is missing or its daemon
    /// does not answer (systemd then says whether another time service keeps the clock).
    fn collect(&mut self) -> Result<Section, Error> {
        let chrony = chronyc_tracking();
        let chrony_reason = match chrony {
            Ok(time) => return Ok(Section::Time(time)),
            Err(Error::Unavailable(reason)) => reason,
            Err(other) => other.to_string(),
        };
        let text = run_systemd_tool("timedatectl", &["show"], Duration::from_secs(5)).map_err(|error| match error {
            Error::Unavailable(reason) => Error::Unavailable(format!("{chrony_reason}; {reason}")),
            other => other,
        })?;
        let time = parse_timedatectl_show(&text).map_err(|error| error.at("timedatectl show".as_ref()))?;
        Ok(Section::Time(time))
    }
}

/// `-n`: the server's address rather than a reverse DNS lookup that could hang the collector.
fn chronyc_tracking() -> Result<inv::TimeSync, Error> {
    let output = tool::run("chronyc", &["-n", "tracking"], Duration::from_secs(5))?;
    if !output.status.success() {
        // "506 Cannot talk to daemon": chrony is installed but chronyd is not running.
        let said = format!("{} {}", output.stdout.trim(), output.stderr.trim());
        return Err(Error::Unavailable(format!("chronyc tracking: {}", said.trim())));
    }
    parse_chronyc_tracking(&output.stdout).map_err(|error| error.at("chronyc tracking".as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::compliance;

    const TIMEDATECTL: &str = include_str!("../../testdata/time/timedatectl-show.txt");
    const TIMEDATECTL_NTP_OFF: &str = include_str!("../../testdata/time/timedatectl-show-ntp-off.txt");
    const CHRONY_SYNCHRONISED: &str = include_str!("../../testdata/time/chronyc-tracking-synchronised.txt");
    const CHRONY_UNSYNCHRONISED: &str = include_str!("../../testdata/time/chronyc-tracking-unsynchronised.txt");
    const CHRONY_SLOW: &str = include_str!("../../testdata/time/chronyc-tracking-linuxfabrik.txt");

    fn timedatectl(synchronized: bool, ntp_enabled: Option<bool>) -> inv::TimeSync {
        inv::TimeSync { source: "timedatectl".into(), synchronized, ntp_enabled, offset_seconds: None, server: None }
    }

    fn chrony(synchronized: bool, offset: f64, server: Option<&str>) -> inv::TimeSync {
        inv::TimeSync {
            source: "chrony".into(),
            synchronized,
            ntp_enabled: None,
            offset_seconds: Some(offset),
            server: server.map(String::from),
        }
    }

    #[test]
    fn timedatectl_captures() {
        assert_eq!(parse_timedatectl_show(TIMEDATECTL).unwrap(), timedatectl(false, Some(true)));
        assert_eq!(parse_timedatectl_show(TIMEDATECTL_NTP_OFF).unwrap(), timedatectl(false, Some(false)));
        // Hand-made from the capture: the same host once the kernel clock is synchronised.
        let synchronized = TIMEDATECTL.replace("NTPSynchronized=no", "NTPSynchronized=yes");
        assert_eq!(parse_timedatectl_show(&synchronized).unwrap(), timedatectl(true, Some(true)));
    }

    #[test]
    fn timedatectl_edge_cases() {
        assert_eq!(parse_timedatectl_show("NTPSynchronized=yes\n").unwrap(), timedatectl(true, None));
        assert_eq!(parse_timedatectl_show(""), Err(ParseError::Missing { field: "NTPSynchronized" }));
        let not_booted = include_str!("../../testdata/time/timedatectl-not-booted.stderr");
        assert_eq!(parse_timedatectl_show(not_booted), Err(ParseError::Missing { field: "NTPSynchronized" }));
        assert!(matches!(
            parse_timedatectl_show("Timezone=Etc/UTC\nNTP=maybe\nNTPSynchronized=yes\n"),
            Err(ParseError::Line { line: 2, .. })
        ));
    }

    #[test]
    fn chrony_captures() {
        assert_eq!(parse_chronyc_tracking(CHRONY_SYNCHRONISED).unwrap(), chrony(true, 0.000001173, Some("localhost")));
        assert_eq!(parse_chronyc_tracking(CHRONY_UNSYNCHRONISED).unwrap(), chrony(false, 0.0, None));
        assert_eq!(
            parse_chronyc_tracking(CHRONY_SLOW).unwrap(),
            chrony(true, -0.000107969, Some("tick.ntp.infomaniak.ch"))
        );
    }

    #[test]
    fn chrony_edge_cases() {
        let no_daemon = include_str!("../../testdata/time/chronyc-tracking-no-daemon.txt");
        assert_eq!(parse_chronyc_tracking(no_daemon), Err(ParseError::Missing { field: "Leap status" }));
        let cut_after_system_time: String = CHRONY_SLOW.lines().take(4).map(|l| format!("{l}\n")).collect();
        assert_eq!(parse_chronyc_tracking(&cut_after_system_time), Err(ParseError::Missing { field: "Leap status" }));
        for (bad, line) in [
            ("System time     : 0.1 seconds early of NTP time", "System time"),
            ("System time     : seconds slow of NTP time", "System time"),
            ("System time     : 0.1", "System time"),
            ("System time     : NaN seconds fast of NTP time", "System time"),
            ("Reference ID    : 54104921 tick.ntp.infomaniak.ch", "Reference ID"),
        ] {
            let text = CHRONY_SLOW.lines().map(|l| if l.starts_with(line) { bad } else { l }).collect::<Vec<_>>();
            let number = text.iter().position(|l| *l == bad).unwrap() + 1;
            match parse_chronyc_tracking(&text.join("\n")) {
                Err(ParseError::Line { line: l, reason }) => assert_eq!(l, number, "{reason}"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn every_prefix_of_the_captures_parses_or_is_an_error() {
        for text in [CHRONY_SLOW, CHRONY_UNSYNCHRONISED, TIMEDATECTL] {
            for end in 0..=text.len() {
                let _ = (parse_chronyc_tracking(&text[..end]), parse_timedatectl_show(&text[..end]));
            }
        }
    }

    #[test]
    fn the_collector_keeps_the_contract_on_this_machine() {
        match compliance::check(&mut TimeCollector) {
            Ok(Section::Time(time)) => assert!(["chrony", "timedatectl"].contains(&time.source.as_str())),
            Err(Error::Unavailable(reason)) => assert!(reason.contains("chronyc"), "{reason}"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
