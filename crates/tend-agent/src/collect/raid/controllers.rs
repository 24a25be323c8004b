//! Hardware RAID controllers: which kernel drivers have devices bound, which vendor tool speaks
//! for each, and that tool's own one-line verdict.
//!
//! The summary is deliberately shallow: the status lines a tool prints about itself, as it
//! prints them. Judging them (is `Needs Attention` worse than `Degraded`?) is the server's job.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use tend_proto::inventory as inv;

/// Where the kernel lists the PCI devices each driver has bound.
pub const PCI_DRIVERS_DIR: &str = "/sys/bus/pci/drivers";

/// How a vendor tool is asked for its status and where its verdict is in the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VendorTool {
    pub program: &'static str,
    pub args: &'static [&'static str],
    pub summary: Summary,
}

/// Where a tool states its verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Summary {
    /// `Key : Value` or `Key = Value` lines with one of these keys.
    Keys(&'static [&'static str]),
    /// A table whose header has this column; each row starting with the prefix reports it.
    Column { row_prefix: &'static str, column: &'static str },
}

const STORCLI_KEYS: Summary = Summary::Keys(&["Controller Status"]);
const SMART_ARRAY_KEYS: Summary = Summary::Keys(&["Controller Status", "Cache Status", "Battery/Capacitor Status"]);
const ARCCONF_KEYS: Summary = Summary::Keys(&["Controller Status"]);

const STORCLI: [VendorTool; 4] = [
    VendorTool { program: "storcli64", args: &["/call", "show", "all"], summary: STORCLI_KEYS },
    VendorTool { program: "storcli", args: &["/call", "show", "all"], summary: STORCLI_KEYS },
    VendorTool { program: "perccli64", args: &["/call", "show", "all"], summary: STORCLI_KEYS },
    VendorTool { program: "perccli", args: &["/call", "show", "all"], summary: STORCLI_KEYS },
];
const SAS3IRCU: VendorTool = VendorTool {
    program: "sas3ircu",
    args: &["0", "STATUS"],
    summary: Summary::Keys(&["Volume state", "Current operation"]),
};
const ARCCONF: VendorTool = VendorTool { program: "arcconf", args: &["GETCONFIG", "1", "AD"], summary: ARCCONF_KEYS };
const SMART_ARRAY: [VendorTool; 3] = [
    VendorTool { program: "ssacli", args: &["ctrl", "all", "show", "status"], summary: SMART_ARRAY_KEYS },
    VendorTool { program: "hpssacli", args: &["ctrl", "all", "show", "status"], summary: SMART_ARRAY_KEYS },
    VendorTool { program: "hpacucli", args: &["ctrl", "all", "show", "status"], summary: SMART_ARRAY_KEYS },
];
const TW_CLI: VendorTool =
    VendorTool { program: "tw_cli", args: &["show"], summary: Summary::Column { row_prefix: "c", column: "NotOpt" } };

/// The RAID drivers tend knows and the tools that report on their controllers, preferred first.
/// smartpqi drives both Microchip (arcconf) and HPE Gen10 (ssacli) controllers.
pub fn vendor_tools(driver: &str) -> Vec<VendorTool> {
    match driver {
        "megaraid_sas" => STORCLI.to_vec(),
        "mpt3sas" => vec![SAS3IRCU],
        "aacraid" => vec![ARCCONF],
        "hpsa" => SMART_ARRAY.to_vec(),
        "smartpqi" => [ARCCONF].into_iter().chain(SMART_ARRAY).collect(),
        "3w-9xxx" => vec![TW_CLI],
        _ => Vec::new(),
    }
}

/// The drivers [`vendor_tools`] knows, in report order.
pub const RAID_DRIVERS: [&str; 6] = ["megaraid_sas", "mpt3sas", "aacraid", "hpsa", "smartpqi", "3w-9xxx"];

/// Whether the kernel has bound at least one device to `driver`: its directory under
/// `pci_drivers` then holds an entry per device, named by PCI address (`0000:03:00.0`).
/// A driver that is not loaded has no directory, which is no error.
pub fn has_bound_device(pci_drivers: &Path, driver: &str) -> std::io::Result<bool> {
    match std::fs::read_dir(pci_drivers.join(driver)) {
        Ok(entries) => {
            let names = entries.filter_map(Result::ok).map(|entry| entry.file_name());
            Ok(names.into_iter().any(|name| is_pci_address(&name.to_string_lossy())))
        }
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error),
    }
}

/// `0000:03:00.0`: domain, bus, device and function.
fn is_pci_address(name: &str) -> bool {
    let parts: Vec<&str> = name.split([':', '.']).collect();
    parts.len() == 4 && parts.iter().all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Finds the first of `tools` installed in one of `dirs`, else names the preferred one as
/// absent.
pub fn find_tool(tools: &[VendorTool], dirs: &[PathBuf]) -> Option<(VendorTool, Option<PathBuf>)> {
    let installed = tools.iter().find_map(|tool| {
        dirs.iter().map(|dir| dir.join(tool.program)).find(|path| path.is_file()).map(|path| (*tool, Some(path)))
    });
    installed.or_else(|| tools.first().map(|tool| (*tool, None)))
}

/// Where vendor tools are looked for: `PATH`, then the directories their vendors install to,
/// since storcli and arcconf packages do not put themselves on `PATH`.
pub fn tool_dirs() -> Vec<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let vendor_dirs = ["/opt/MegaRAID/storcli", "/opt/MegaRAID/perccli", "/usr/Arcconf", "/usr/sbin", "/sbin"];
    std::env::split_paths(&path).chain(vendor_dirs.into_iter().map(PathBuf::from)).collect()
}

/// A controller entry before its tool ran.
pub fn controller(driver: &str, tool: Option<VendorTool>, tool_present: bool) -> inv::RaidController {
    inv::RaidController {
        driver: driver.to_owned(),
        tool: tool.map(|tool| tool.program.to_owned()),
        tool_present,
        ..Default::default()
    }
}

/// The status lines of a tool's answer, `; `-joined, or `None` when it states none.
pub fn summarize(summary: Summary, output: &str) -> Option<String> {
    let parts = match summary {
        Summary::Keys(keys) => key_values(output, keys),
        Summary::Column { row_prefix, column } => column_values(output, row_prefix, column),
    };
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn key_values(output: &str, keys: &[&str]) -> Vec<String> {
    output
        .lines()
        .filter_map(|line| line.split_once(" = ").or_else(|| line.split_once(':')))
        .map(|(key, value)| (key.trim(), value.trim()))
        .filter(|(key, value)| keys.contains(key) && !value.is_empty())
        .map(|(key, value)| format!("{key}: {value}"))
        .collect()
}

fn column_values(output: &str, row_prefix: &str, column: &str) -> Vec<String> {
    let mut index = None;
    let mut values = Vec::new();
    for words in output.lines().map(|line| line.split_whitespace().collect::<Vec<_>>()) {
        if let Some(position) = words.iter().position(|word| *word == column) {
            index = Some(position);
        } else if let (Some(index), Some(first)) = (index, words.first()) {
            let is_row =
                first.strip_prefix(row_prefix).is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if let (true, Some(value)) = (is_row, words.get(index)) {
                values.push(format!("{first}: {column} {value}"));
            }
        }
    }
    values
}
