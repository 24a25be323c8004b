//! Temperature, fan and voltage sensors: the kernel's hwmon chips and, on servers with a BMC,
//! the readings ipmitool gets from it.
//!
//! This module owns reading those two sources into [`inv::Sensor`]s. It must not judge a
//! reading (thresholds are reported as the chip or BMC states them, alerting is the server's),
//! write to any sysfs file or BMC, or treat a machine without sensors, such as a VM, as broken:
//! no hwmon and no BMC is an empty list.

mod hwmon;
mod ipmi;

use std::path::PathBuf;
use std::time::Duration;

use tend_proto::inventory as inv;

use super::tool;
use super::{Collector, ParseError, Section};
use crate::Error;

pub use hwmon::read_hwmon;
pub use ipmi::parse_ipmitool_sdr;

const HWMON_DIR: &str = "/sys/class/hwmon";
/// The device nodes ipmitool's open interface tries, in its order.
const IPMI_DEVICES: [&str; 3] = ["/dev/ipmi0", "/dev/ipmi/0", "/dev/ipmidev/0"];
const TIMEOUT: Duration = Duration::from_secs(20);
/// A BMC answers a full SDR walk in a few seconds; a slow one must not eat the whole timeout.
const IPMITOOL_TIMEOUT: Duration = Duration::from_secs(15);

/// Collects hwmon and IPMI sensors every cycle.
#[derive(Debug)]
pub struct SensorsCollector {
    hwmon: PathBuf,
    ipmi_devices: Vec<PathBuf>,
    /// The IPMI problem of the last cycle, so that it is logged when it appears and when it
    /// goes away rather than every cycle.
    ipmi_problem: Option<String>,
}

impl Default for SensorsCollector {
    fn default() -> Self {
        SensorsCollector {
            hwmon: PathBuf::from(HWMON_DIR),
            ipmi_devices: IPMI_DEVICES.iter().map(PathBuf::from).collect(),
            ipmi_problem: None,
        }
    }
}

impl SensorsCollector {
    pub fn new() -> Self {
        Self::default()
    }

    /// The BMC's sensors: none without an IPMI device node or without ipmitool, an error when
    /// ipmitool fails or says something that cannot be read.
    fn ipmi_sensors(&self) -> Result<Vec<inv::Sensor>, Error> {
        if !self.ipmi_devices.iter().any(|device| device.exists()) {
            return Ok(Vec::new());
        }
        let output = match tool::run("ipmitool", &["sdr", "elist", "full"], IPMITOOL_TIMEOUT) {
            Ok(output) => output,
            Err(Error::Unavailable(_)) => return Ok(Vec::new()),
            Err(error) => return Err(error),
        };
        if !output.status.success() {
            let said = output.stderr.lines().map(str::trim).find(|line| !line.is_empty()).unwrap_or("no message");
            return Err(Error::Failed(format!("ipmitool sdr elist full failed ({}): {said}", output.status)));
        }
        parse_ipmitool_sdr(&output.stdout).map_err(|error| match error {
            ParseError::Line { line, reason } => {
                Error::Failed(format!("ipmitool sdr elist full: line {line}: {reason}"))
            }
            ParseError::Missing { field } => Error::Failed(format!("ipmitool sdr elist full: no {field}")),
        })
    }

    /// Logs an IPMI problem when it appears, changes or goes away.
    fn note_ipmi_problem(&mut self, problem: Option<String>) {
        if problem == self.ipmi_problem {
            return;
        }
        match &problem {
            Some(problem) => tracing::warn!(%problem, "reporting hwmon sensors without the BMC's"),
            None => tracing::info!("BMC sensors readable again"),
        }
        self.ipmi_problem = problem;
    }
}

impl Collector for SensorsCollector {
    fn name(&self) -> &'static str {
        "sensors"
    }

    fn timeout(&self) -> Duration {
        TIMEOUT
    }

    /// hwmon and IPMI together. An IPMI failure fails the section only when hwmon has nothing
    /// to report, since an empty list would then claim the machine has no sensors.
    fn collect(&mut self) -> Result<Section, Error> {
        let mut sensors = if self.hwmon.exists() { read_hwmon(&self.hwmon)? } else { Vec::new() };
        match self.ipmi_sensors() {
            Ok(bmc) => {
                sensors.extend(bmc);
                self.note_ipmi_problem(None);
            }
            Err(error) if sensors.is_empty() => return Err(error),
            Err(error) => self.note_ipmi_problem(Some(error.to_string())),
        }
        Ok(Section::Sensors(sensors))
    }
}

#[cfg(test)]
mod tests;
