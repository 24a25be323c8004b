//! RAID: Linux software arrays (`/proc/mdstat`, completed by `mdadm --detail` when installed)
//! and hardware controllers (bound PCI drivers and their vendor tools).
//!
//! This module owns reading those sources and turning them into [`inv::Raid`]. It must not
//! judge health (a degraded array is reported, not alerted on), change any array or controller
//! (only read-only tool commands are run), or let one array or controller that cannot be read
//! cost the others: such an item carries `error`.

mod controllers;
mod mdadm;
mod mdstat;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tend_proto::inventory as inv;

use super::source::{ParseError, read_text_if_exists};
use super::tool::{self, ToolOutput};
use super::{Collector, Section};
use crate::Error;

use controllers::{RAID_DRIVERS, summarize, vendor_tools};
pub use mdadm::{complete_from_detail, parse_mdadm_detail};
pub use mdstat::parse_mdstat;

const MDSTAT_PATH: &str = "/proc/mdstat";
const TIMEOUT: Duration = Duration::from_secs(30);
/// What the tools of one cycle may take together, leaving the runner's deadline a margin.
const TOOL_BUDGET: Duration = Duration::from_secs(25);
/// mdadm answers from the kernel at once; a slow one is stuck on a hung array.
const MDADM_TIMEOUT: Duration = Duration::from_secs(5);
/// Vendor tools scan their controllers and can take several seconds on a busy one.
const VENDOR_TOOL_TIMEOUT: Duration = Duration::from_secs(10);

/// Collects software arrays and hardware controllers every cycle.
#[derive(Debug)]
pub struct RaidCollector {
    mdstat: PathBuf,
    pci_drivers: PathBuf,
}

impl Default for RaidCollector {
    fn default() -> Self {
        RaidCollector { mdstat: PathBuf::from(MDSTAT_PATH), pci_drivers: PathBuf::from(controllers::PCI_DRIVERS_DIR) }
    }
}

impl RaidCollector {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Collector for RaidCollector {
    fn name(&self) -> &'static str {
        "raid"
    }

    fn timeout(&self) -> Duration {
        TIMEOUT
    }

    fn collect(&mut self) -> Result<Section, Error> {
        let budget = Budget::new(TOOL_BUDGET);
        let mut arrays = read_arrays(&self.mdstat)?;
        complete_with_mdadm(&mut arrays, &budget);
        let controllers = read_controllers(&self.pci_drivers, &budget);
        Ok(Section::Raid(inv::Raid { arrays, controllers }))
    }
}

/// The arrays of `/proc/mdstat`; none when the file is absent, as it is until the md driver
/// is loaded.
fn read_arrays(path: &Path) -> Result<Vec<inv::RaidArray>, Error> {
    match read_text_if_exists(path)? {
        Some(text) => parse_mdstat(&text).map_err(|error| error.at(path)),
        None => Ok(Vec::new()),
    }
}

/// Asks mdadm about each array. Without mdadm the arrays stay as mdstat described them. Once
/// mdadm hangs (it would hang on the next array too) or the cycle's time is spent, it is not
/// asked again this cycle and the remaining arrays say so.
fn complete_with_mdadm(arrays: &mut [inv::RaidArray], budget: &Budget) {
    let mut gave_up: Option<String> = None;
    for array in arrays.iter_mut() {
        if let Some(reason) = &gave_up {
            array.error.get_or_insert_with(|| format!("mdadm not asked: {reason}"));
            continue;
        }
        let device = format!("/dev/{}", array.name);
        match budget.run("mdadm", &["--detail", &device], MDADM_TIMEOUT) {
            Ok(output) => apply_detail(array, &device, &output),
            Err(Error::Unavailable(_)) => return,
            Err(error) => {
                array.error.get_or_insert_with(|| error.to_string());
                gave_up = Some(error.to_string());
            }
        }
    }
}

fn apply_detail(array: &mut inv::RaidArray, device: &str, output: &ToolOutput) {
    if !output.status.success() {
        let reason = first_line(&output.stderr).unwrap_or("no message");
        array.error.get_or_insert_with(|| format!("mdadm --detail {device} failed ({}): {reason}", output.status));
        return;
    }
    match parse_mdadm_detail(&output.stdout) {
        Ok(detail) => complete_from_detail(array, detail),
        Err(error) => {
            array.error.get_or_insert_with(|| format!("mdadm --detail {device}: {}", describe(error)));
        }
    }
}

/// One entry per RAID driver with a bound device, asked through its vendor tool when installed.
fn read_controllers(pci_drivers: &Path, budget: &Budget) -> Vec<inv::RaidController> {
    let dirs = controllers::tool_dirs();
    let mut found = Vec::new();
    for driver in RAID_DRIVERS {
        let entry = match controllers::has_bound_device(pci_drivers, driver) {
            Ok(false) => continue,
            Ok(true) => ask_vendor_tool(driver, &dirs, budget),
            Err(error) => inv::RaidController {
                error: Some(format!("cannot list {}: {error}", pci_drivers.join(driver).display())),
                ..controllers::controller(driver, None, false)
            },
        };
        found.push(entry);
    }
    found
}

fn ask_vendor_tool(driver: &str, dirs: &[PathBuf], budget: &Budget) -> inv::RaidController {
    let Some((tool, path)) = controllers::find_tool(&vendor_tools(driver), dirs) else {
        return controllers::controller(driver, None, false);
    };
    let mut entry = controllers::controller(driver, Some(tool), path.is_some());
    let Some(path) = path else { return entry };
    match budget.run(&path.to_string_lossy(), tool.args, VENDOR_TOOL_TIMEOUT) {
        Ok(output) => {
            entry.status = summarize(tool.summary, &output.stdout);
            if entry.status.is_none() {
                let said = first_line(&output.stderr).unwrap_or("no status line in its output");
                entry.error = Some(format!("{} ({}): {said}", tool.program, output.status));
            }
        }
        Err(error) => entry.error = Some(error.to_string()),
    }
    entry
}

fn describe(error: ParseError) -> String {
    match error {
        ParseError::Line { line, reason } => format!("line {line}: {reason}"),
        ParseError::Missing { field } => format!("no {field}"),
    }
}

fn first_line(text: &str) -> Option<&str> {
    text.lines().map(str::trim).find(|line| !line.is_empty())
}

/// The time left to this cycle's tools, so that many arrays or controllers cannot together
/// outlast the collector's timeout.
struct Budget {
    deadline: Instant,
}

impl Budget {
    fn new(total: Duration) -> Self {
        Budget { deadline: Instant::now() + total }
    }

    /// Runs a tool within `cap` and what is left of the budget; a spent budget is a timeout.
    fn run(&self, program: &str, args: &[&str], cap: Duration) -> Result<ToolOutput, Error> {
        let left = self.deadline.saturating_duration_since(Instant::now()).min(cap);
        if left.is_zero() {
            return Err(Error::Failed(format!("{program} not run: the cycle's time for tools is spent")));
        }
        tool::run(program, args, left)
    }
}

#[cfg(test)]
mod tests;
