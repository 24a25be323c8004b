//! `ipmitool sdr` and `ipmitool sdr elist full`: the BMC's sensor readings.
//!
//! `sdr` prints `name | reading | status`, `sdr elist` prints
//! `name | record id | status | entity | reading`. A reading is a number and a unit
//! (`45 degrees C`, `3600 RPM`, `12.19 Volts`), or a state (`0x00`, `no reading`, `disabled`,
//! `Not Readable`). The status is ipmitool's threshold verdict: `ok`, `nc` (non-critical),
//! `cr` (critical), `nr` (non-recoverable) or `ns` (no reading).

use tend_proto::inventory as inv;

use crate::collect::source::{ParseError, numbered_lines};

/// ipmitool's unit words and the sensor kind they measure.
const UNITS: [(&str, &str); 3] = [("degrees C", "temperature"), ("RPM", "fan"), ("Volts", "voltage")];

/// Entity name for the plain `sdr` layout, which does not say which entity a sensor belongs to.
const NO_ENTITY: &str = "bmc";

/// Parses `ipmitool sdr` or `ipmitool sdr elist [full]` into temperature, fan and voltage
/// sensors.
///
/// Rows of other units (watts, amps, percent, CFM) and discrete or unread sensors (`0x00`,
/// `no reading`, `disabled`) are skipped: without a reading in one of the three units tend
/// cannot tell what they measure. Lines without `|` are ipmitool's complaints between the rows
/// (`Unable to send command: …`) and are skipped too. `chip` is the IPMI entity (`7.1`) in the
/// `elist` layout and `bmc` in the plain one; `alarm` is whether ipmitool judged the reading
/// beyond a threshold.
pub fn parse_ipmitool_sdr(text: &str) -> Result<Vec<inv::Sensor>, ParseError> {
    let mut sensors = Vec::new();
    for (number, line) in numbered_lines(text).filter(|(_, line)| line.contains('|')) {
        let fields: Vec<&str> = line.split('|').map(str::trim).collect();
        let (name, status, entity, reading) = match fields.as_slice() {
            [name, reading, status] => (*name, *status, NO_ENTITY, *reading),
            [name, _record, status, entity, reading] => (*name, *status, *entity, *reading),
            _ => {
                let reason = format!("expected 3 or 5 fields separated by |, got {}", fields.len());
                return Err(ParseError::line(number, reason));
            }
        };
        if name.is_empty() {
            return Err(ParseError::line(number, "a sensor row without a name"));
        }
        if let Some((value, kind)) = read_reading(reading) {
            sensors.push(inv::Sensor {
                source: "ipmi".to_owned(),
                chip: if entity.is_empty() { NO_ENTITY } else { entity }.to_owned(),
                label: name.to_owned(),
                kind: kind.to_owned(),
                value: Some(value),
                alarm: threshold_alarm(status),
                ..Default::default()
            });
        }
    }
    Ok(sensors)
}

/// `45 degrees C` → (45.0, temperature). The `elist` layout may add states after a comma
/// (`110 Watts, Presence detected`); only the part before it is the reading.
fn read_reading(reading: &str) -> Option<(f64, &'static str)> {
    let reading = reading.split(',').next().unwrap_or(reading).trim();
    let (number, unit) = reading.split_once(' ')?;
    let kind = UNITS.iter().find(|(word, _)| *word == unit.trim()).map(|(_, kind)| *kind)?;
    let value: f64 = number.parse().ok().filter(|value: &f64| value.is_finite())?;
    Some((value, kind))
}

fn threshold_alarm(status: &str) -> Option<bool> {
    match status {
        "ok" => Some(false),
        "nc" | "cr" | "nr" => Some(true),
        _ => None,
    }
}
