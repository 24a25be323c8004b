//! What a host is: name, operating system, kernel, hardware, addresses. Slow-changing, so it is
//! collected whole or not at all (see [`collect_facts`]).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;

use tend_proto::agent::HostFacts;

use super::meminfo::{MEMINFO_PATH, parse_meminfo};
use super::source::{ParseError, numbered_lines, parse_file, parse_number, read_text_if_exists};
use crate::Error;

/// os-release(5): the first file wins; the second is only read when the first does not exist.
const OS_RELEASE_PATHS: [&str; 2] = ["/etc/os-release", "/usr/lib/os-release"];
const CPUINFO_PATH: &str = "/proc/cpuinfo";
const STAT_PATH: &str = "/proc/stat";
const MACHINE_ID_PATH: &str = "/etc/machine-id";

/// Collects the host's facts.
///
/// All or nothing: the report leaves out a section that failed and the server keeps the value it
/// had, whereas facts with a zero or empty field standing in for an unreadable source would
/// overwrite good values. Sources a host may legitimately lack (os-release, machine-id) are not
/// failures: they fall back to the defaults os-release(5) prescribes and to no machine id.
pub fn collect_facts() -> Result<HostFacts, Error> {
    let uname = rustix::system::uname();
    let os = read_os_release()?;
    let cpu = parse_file(Path::new(CPUINFO_PATH), parse_cpuinfo)?;
    let memory = parse_file(Path::new(MEMINFO_PATH), parse_meminfo)?;
    let boot_time_ms = parse_file(Path::new(STAT_PATH), parse_boot_time_ms)?;
    let interfaces = if_addrs::get_if_addrs().map_err(Error::Interfaces)?;
    let machine_id = read_text_if_exists(Path::new(MACHINE_ID_PATH))?;
    Ok(HostFacts {
        hostname: uname.nodename().to_string_lossy().into_owned(),
        os_name: os.pretty_name,
        os_id: os.id,
        os_version: os.version_id,
        kernel: uname.release().to_string_lossy().into_owned(),
        architecture: uname.machine().to_string_lossy().into_owned(),
        cpu_model: cpu.model,
        cpu_cores: cpu.logical_processors,
        memory_total_bytes: memory.total_bytes,
        boot_time_ms,
        ip_addresses: reportable_addresses(interfaces.iter().map(if_addrs::Interface::ip)),
        machine_id: machine_id.as_deref().and_then(parse_machine_id),
    })
}

/// Facts as a collector. They change rarely, so every ten minutes is enough; a change of address
/// or kernel shows within that.
#[derive(Debug, Default)]
pub struct FactsCollector;

impl super::Collector for FactsCollector {
    fn name(&self) -> &'static str {
        "facts"
    }

    fn period(&self) -> std::time::Duration {
        std::time::Duration::from_secs(600)
    }

    fn collect(&mut self) -> Result<super::Section, Error> {
        collect_facts().map(super::Section::Facts)
    }
}

pub(crate) fn read_os_release() -> Result<OsRelease, Error> {
    for path in OS_RELEASE_PATHS.map(Path::new) {
        if let Some(text) = read_text_if_exists(path)? {
            return parse_os_release(&text).map_err(|error| error.at(path));
        }
    }
    // A host without either file still gets the documented defaults, as other readers give it.
    Ok(OsRelease::default())
}

/// The os-release(5) fields tend reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsRelease {
    /// `PRETTY_NAME`, e.g. "Debian GNU/Linux 12 (bookworm)".
    pub pretty_name: String,
    /// `ID`, e.g. "debian".
    pub id: String,
    /// `VERSION_ID`, e.g. "12"; empty on rolling releases, which have none.
    pub version_id: String,
}

impl Default for OsRelease {
    /// The defaults os-release(5) gives for absent fields.
    fn default() -> Self {
        OsRelease { pretty_name: "Linux".to_owned(), id: "linux".to_owned(), version_id: String::new() }
    }
}

/// Parses the assignments tend uses; comments, blank lines and other variables are skipped
/// without being judged, so a flaw elsewhere in the file costs nothing.
pub fn parse_os_release(text: &str) -> Result<OsRelease, ParseError> {
    let mut os = OsRelease::default();
    for (number, line) in numbered_lines(text) {
        let line = line.trim_start();
        if line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let field = match key {
            "PRETTY_NAME" => &mut os.pretty_name,
            "ID" => &mut os.id,
            "VERSION_ID" => &mut os.version_id,
            _ => continue,
        };
        // A later assignment wins, as it would for a shell sourcing the file.
        *field = shell_value(raw).map_err(|reason| ParseError::line(number, format!("{key}: {reason}")))?;
    }
    Ok(os)
}

/// The value of a shell-style assignment as os-release(5) allows it: one double-quoted,
/// single-quoted or bare word. Nothing is expanded: tend reads the file, it does not run it.
fn shell_value(raw: &str) -> Result<String, &'static str> {
    // Trailing blanks and a CR left by an editor are not part of the value.
    let raw = raw.trim_end();
    let (value, rest) = if let Some(body) = raw.strip_prefix('"') {
        double_quoted(body)?
    } else if let Some(body) = raw.strip_prefix('\'') {
        single_quoted(body)?
    } else {
        return bare_word(raw);
    };
    if !rest.is_empty() {
        // Concatenating quoted strings is something os-release(5) explicitly does not support.
        return Err("text after the closing quote");
    }
    Ok(value)
}

/// The value up to the closing quote, and what follows it.
fn double_quoted(body: &str) -> Result<(String, &str), &'static str> {
    let mut value = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Ok((value, chars.as_str())),
            '\\' => match chars.next() {
                Some(escaped @ ('$' | '"' | '\\' | '`')) => value.push(escaped),
                // Within double quotes a shell keeps any other backslash as it is.
                Some(other) => {
                    value.push('\\');
                    value.push(other);
                }
                None => break,
            },
            _ => value.push(c),
        }
    }
    Err("unterminated double quote")
}

/// The value up to the closing quote, and what follows it. Single quotes escape nothing.
fn single_quoted(body: &str) -> Result<(String, &str), &'static str> {
    let (value, rest) = body.split_once('\'').ok_or("unterminated single quote")?;
    Ok((value.to_owned(), rest))
}

fn bare_word(raw: &str) -> Result<String, &'static str> {
    let mut value = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => value.push(chars.next().ok_or("backslash at the end of the value")?),
            '"' | '\'' => return Err("a quote inside an unquoted value"),
            c if c.is_whitespace() => return Err("unquoted whitespace; the value must be quoted"),
            _ => value.push(c),
        }
    }
    Ok(value)
}

/// What `/proc/cpuinfo` says about the processors.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CpuInfo {
    /// Empty when the kernel names no model, as on many arm boards.
    pub model: String,
    /// Logical processors (hardware threads) that are online: cpuinfo lists no others.
    pub logical_processors: u32,
}

/// Parses the processor count and model. x86 names the model in `model name`; arm kernels often
/// have no such line, and `Hardware` (the board) or `CPU part` (a part number) is the best there is.
pub fn parse_cpuinfo(text: &str) -> Result<CpuInfo, ParseError> {
    let mut logical_processors: u32 = 0;
    let (mut model_name, mut hardware, mut cpu_part) = (None, None, None);
    for (number, line) in numbered_lines(text) {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim_end() {
            "processor" => {
                // The value is the processor's index; checking it catches a file cut mid-line.
                parse_number::<u32>(number, "processor", value)?;
                logical_processors = logical_processors.saturating_add(1);
            }
            "model name" => {
                model_name.get_or_insert(value);
            }
            "Hardware" => {
                hardware.get_or_insert(value);
            }
            "CPU part" => {
                cpu_part.get_or_insert(value);
            }
            _ => {}
        }
    }
    if logical_processors == 0 {
        return Err(ParseError::Missing { field: "processor" });
    }
    let model = model_name.or(hardware).or(cpu_part).unwrap_or_default().to_owned();
    Ok(CpuInfo { model, logical_processors })
}

/// Boot time from the `btime` line of `/proc/stat`, in milliseconds since the Unix epoch.
pub fn parse_boot_time_ms(stat: &str) -> Result<i64, ParseError> {
    for (number, line) in numbered_lines(stat) {
        let mut words = line.split_whitespace();
        if words.next() != Some("btime") {
            continue;
        }
        let (Some(seconds), None) = (words.next(), words.next()) else {
            return Err(ParseError::line(number, "btime: expected one number of seconds"));
        };
        let seconds: i64 = parse_number(number, "btime", seconds)?;
        return seconds
            .checked_mul(1000)
            .filter(|ms| *ms >= 0)
            .ok_or_else(|| ParseError::line(number, format!("btime: {seconds} is out of range")));
    }
    Err(ParseError::Missing { field: "btime" })
}

/// The addresses worth showing for a host: loopback says nothing about it. Sorted (IPv4 first,
/// then numerically) and without repeats, so that the facts only change when the host does.
pub fn reportable_addresses(addresses: impl IntoIterator<Item = IpAddr>) -> Vec<String> {
    let distinct: BTreeSet<IpAddr> = addresses.into_iter().filter(|ip| !ip.is_loopback()).collect();
    distinct.iter().map(IpAddr::to_string).collect()
}

/// The machine id, if the file holds one: machine-id(5) specifies 32 hex digits. An empty file,
/// or "uninitialized" as systemd writes it early in the first boot, is no id, and must not become
/// one, because the server recognises a re-enrolled machine by it.
pub fn parse_machine_id(text: &str) -> Option<String> {
    let id = text.trim();
    let well_formed = id.len() == 32 && id.bytes().all(|byte| byte.is_ascii_hexdigit());
    well_formed.then(|| id.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPTURED_OS_RELEASE: &str = include_str!("../../testdata/etc/os-release");
    const CAPTURED_CPUINFO: &str = include_str!("../../testdata/proc/cpuinfo");
    const CAPTURED_STAT: &str = include_str!("../../testdata/proc/stat");

    fn os(pretty_name: &str, id: &str, version_id: &str) -> OsRelease {
        OsRelease { pretty_name: pretty_name.into(), id: id.into(), version_id: version_id.into() }
    }

    #[test]
    fn parses_the_captured_os_release() {
        assert_eq!(
            parse_os_release(CAPTURED_OS_RELEASE).unwrap(),
            os("Debian GNU/Linux 12 (bookworm)", "debian", "12")
        );
    }

    #[test]
    fn os_release_quoting() {
        let cases = [
            ("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"", "Debian GNU/Linux 12 (bookworm)"),
            ("PRETTY_NAME='Fedora Linux 40 (Server Edition)'", "Fedora Linux 40 (Server Edition)"),
            ("PRETTY_NAME=Alpine", "Alpine"),
            ("PRETTY_NAME=\"Say \\\"hi\\\" for \\$5 \\\\ \\`x\\`\"", "Say \"hi\" for $5 \\ `x`"),
            // Within double quotes a backslash before anything else stays.
            ("PRETTY_NAME=\"C:\\dos\"", "C:\\dos"),
            // Single quotes escape nothing.
            ("PRETTY_NAME='a\\\"b'", "a\\\"b"),
            ("PRETTY_NAME=Arch\\ Linux", "Arch Linux"),
            ("PRETTY_NAME=\"\"", ""),
            ("PRETTY_NAME=", ""),
            ("PRETTY_NAME=\"Ubuntu 24.04\"  \r", "Ubuntu 24.04"),
            ("PRETTY_NAME=\"Żółw OS ✓\"", "Żółw OS ✓"),
        ];
        for (line, expected) in cases {
            assert_eq!(parse_os_release(line).unwrap().pretty_name, expected, "{line}");
        }
    }

    #[test]
    fn malformed_os_release_values_are_errors_with_their_line() {
        let cases = [
            "PRETTY_NAME=\"Debian",
            "PRETTY_NAME='Debian",
            "PRETTY_NAME=\"Debian\\\"",
            "PRETTY_NAME=\"Debian\"\" 12\"",
            "PRETTY_NAME=Debian GNU/Linux",
            "PRETTY_NAME=Debian\"12\"",
            "PRETTY_NAME=Debian\\",
        ];
        for line in cases {
            let text = format!("# comment\nID=debian\n{line}\n");
            match parse_os_release(&text) {
                Err(ParseError::Line { line: 3, reason }) => {
                    assert!(reason.starts_with("PRETTY_NAME: "))
                }
                other => panic!("{line:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn os_release_defaults_comments_and_other_lines() {
        assert_eq!(parse_os_release("").unwrap(), os("Linux", "linux", ""));
        let text = "# PRETTY_NAME=\"commented out\"\n\n  ID=arch\nBUILD_ID=rolling\nnot an assignment\n\
                    HOME_URL=\"unterminated\nID=archarm\n";
        assert_eq!(parse_os_release(text).unwrap(), os("Linux", "archarm", ""));
    }

    #[test]
    fn parses_the_captured_cpuinfo() {
        let cpu = parse_cpuinfo(CAPTURED_CPUINFO).unwrap();
        assert_eq!(cpu, CpuInfo { model: "AMD EPYC".into(), logical_processors: 2 });
    }

    #[test]
    fn cpu_model_falls_back_on_arm_fields() {
        let raspberry = "processor\t: 0\nmodel name\t: ARMv7 Processor rev 4 (v7l)\nprocessor\t: 1\n\n\
                         Hardware\t: BCM2835\n";
        assert_eq!(parse_cpuinfo(raspberry).unwrap().model, "ARMv7 Processor rev 4 (v7l)");
        let board = "processor\t: 0\nCPU part\t: 0xd03\n\nHardware\t: BCM2835\n";
        assert_eq!(parse_cpuinfo(board).unwrap().model, "BCM2835");
        let server = "processor\t: 0\nCPU part\t: 0xd0c\n\nprocessor\t: 1\nCPU part\t: 0xd0c\n";
        assert_eq!(parse_cpuinfo(server).unwrap(), CpuInfo { model: "0xd0c".into(), logical_processors: 2 });
        let bare = "processor\t: 0\nBogoMIPS\t: 50.00\n";
        assert_eq!(parse_cpuinfo(bare).unwrap().model, "");
    }

    #[test]
    fn malformed_cpuinfo() {
        assert_eq!(parse_cpuinfo("model name : x\n"), Err(ParseError::Missing { field: "processor" }));
        assert_eq!(parse_cpuinfo(""), Err(ParseError::Missing { field: "processor" }));
        assert!(matches!(parse_cpuinfo("processor\t: 0\n\nprocessor\t: \n"), Err(ParseError::Line { line: 3, .. })));
    }

    #[test]
    fn parses_the_captured_boot_time() {
        assert_eq!(parse_boot_time_ms(CAPTURED_STAT), Ok(1_795_320_069_000));
    }

    #[test]
    fn malformed_boot_time() {
        assert_eq!(parse_boot_time_ms("cpu 1 2 3\n"), Err(ParseError::Missing { field: "btime" }));
        for (text, line) in [
            ("cpu 1\nbtime\n", 2),
            ("btime 12 34\n", 1),
            ("btime soon\n", 1),
            ("btime -5\n", 1),
            ("btime 9223372036854775807\n", 1),
        ] {
            assert!(matches!(parse_boot_time_ms(text), Err(ParseError::Line { line: l, .. }) if l == line), "{text:?}");
        }
    }

    #[test]
    fn addresses_without_loopback_sorted_and_distinct() {
        let addresses = ["fe80::1", "127.0.0.1", "10.0.0.2", "::1", "192.168.1.5", "9.9.9.9", "10.0.0.2"]
            .map(|text| text.parse::<IpAddr>().unwrap());
        assert_eq!(reportable_addresses(addresses), ["9.9.9.9", "10.0.0.2", "192.168.1.5", "fe80::1"]);
    }

    #[test]
    fn machine_id() {
        let id = "3d1219c7c4c5404aaa1f6d2a48adfda4";
        assert_eq!(parse_machine_id(&format!("{id}\n")).as_deref(), Some(id));
        assert_eq!(parse_machine_id(&id.to_uppercase()).as_deref(), Some(id));
        for not_an_id in ["", "\n", "uninitialized\n", "3d1219c7", "3d1219c7c4c5404aaa1f6d2a48adfdzz"] {
            assert_eq!(parse_machine_id(not_an_id), None, "{not_an_id:?}");
        }
    }

    #[test]
    fn facts_of_this_machine_are_sane() {
        let facts = collect_facts().unwrap();
        assert!(!facts.hostname.is_empty());
        assert!(!facts.kernel.is_empty());
        assert!(!facts.architecture.is_empty());
        assert!(facts.cpu_cores > 0);
        assert!(facts.memory_total_bytes > 0);
        assert!(facts.boot_time_ms > 0);
        assert!(!facts.os_id.is_empty());
        assert!(facts.ip_addresses.iter().all(|ip| ip != "127.0.0.1" && ip != "::1"));
    }
}
