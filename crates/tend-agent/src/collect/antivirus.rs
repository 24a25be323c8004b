//! The antivirus section: ClamAV's signature databases (how recent), whether its updater and
//! scanner daemon run, and the summary of the last scan in a configured clamscan log.
//!
//! This module owns reading the database headers, the scan log and `systemctl is-active` for
//! the two ClamAV units. It must not scan, update signatures or reload clamd, nor judge whether
//! a database is too old: that threshold is the server's.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use tend_proto::inventory as inv;

use super::services::run_systemd_tool;
use super::source::{ParseError, numbered_lines, parse_number};
use super::{Collector, CollectorConfig, Section};
use crate::Error;

/// Every .cvd and .cld file starts with a header of this many bytes, padded with spaces.
const HEADER_LEN: usize = 512;
const MAGIC: &str = "ClamAV-VDB";
/// The databases ClamAV's own updater maintains; third-party signature files are not read.
const DATABASES: [&str; 3] = ["main", "daily", "bytecode"];
/// The header's build time, as sigtool writes it: `16 Apr 2020 07-58 -0400`. The hours and
/// minutes are joined by a dash because the header's fields are separated by colons.
const BUILD_TIME_FORMAT: &str = "%d %b %Y %H-%M %z";
const SUMMARY_MARKER: &str = "----------- SCAN SUMMARY -----------";
/// clamscan's dates, in the local time of the host that scanned: `2026:11:22 04:41:56`.
const SCAN_DATE_FORMAT: &str = "%Y:%m:%d %H:%M:%S";
/// How much of the end of a scan log is read.
const SCAN_LOG_TAIL_BYTES: u64 = 256 * 1024;
/// Debian's units of the updater and of the scanner daemon.
const UNITS: [&str; 2] = ["clamav-freshclam", "clamav-daemon"];

/// Parses the 512-byte header of a ClamAV database (`.cvd`, or `.cld` after incremental
/// updates): `ClamAV-VDB:build time:version:signatures:functionality level:md5:signature:
/// builder:build time in seconds`. The build time is taken from the seconds when present,
/// exact and free of time zones, else from the text. The name is left empty for the caller,
/// who knows the file.
pub fn parse_cvd_header(bytes: &[u8]) -> Result<inv::SignatureDatabase, ParseError> {
    let Some(header) = bytes.get(..HEADER_LEN) else {
        return Err(ParseError::line(1, format!("truncated: {} bytes, a header has {HEADER_LEN}", bytes.len())));
    };
    let header = String::from_utf8_lossy(header);
    // As ClamAV does: the header ends at a line break or NUL, and its padding is not part of it.
    let header = header.split(['\n', '\r', '\0']).next().unwrap_or_default().trim_end();
    let fields: Vec<&str> = header.split(':').collect();
    if fields.first() != Some(&MAGIC) {
        return Err(ParseError::line(1, format!("not a ClamAV database: no {MAGIC} header")));
    }
    let [_, build_time, version, signatures, ..] = fields[..] else {
        return Err(ParseError::line(1, format!("{} header fields, expected at least 4", fields.len())));
    };
    let seconds = fields.get(8).and_then(|seconds| seconds.trim().parse::<i64>().ok()).filter(|s| *s > 0);
    Ok(inv::SignatureDatabase {
        name: String::new(),
        version: Some(parse_number(1, "version", version.trim())?),
        signatures: Some(parse_number(1, "signatures", signatures.trim())?),
        built_at_ms: seconds.and_then(|s| s.checked_mul(1000)).or_else(|| build_time_ms(build_time)),
        error: None,
    })
}

fn build_time_ms(text: &str) -> Option<i64> {
    Timestamp::strptime(BUILD_TIME_FORMAT, text.trim()).ok().map(|time| time.as_millisecond())
}

/// Reads the headers of the ClamAV databases in `dir`, one entry per database (main, daily,
/// bytecode), in that order; other files are ignored. A database present both as .cvd and .cld
/// (an update interrupted between the two) is reported by its newer version. A file that cannot
/// be read or is not a database carries its `error`; only an unreadable directory fails.
pub fn read_clamav_dir(dir: &Path) -> Result<Vec<inv::SignatureDatabase>, Error> {
    let entries = fs::read_dir(dir).map_err(|source| Error::Read { path: dir.to_owned(), source })?;
    let mut files: Vec<PathBuf> = entries.filter_map(|entry| Some(entry.ok()?.path())).collect();
    files.sort();
    let mut databases = Vec::new();
    for name in DATABASES {
        let found = files.iter().filter(|path| database_name(path) == Some(name)).map(|path| read_database(name, path));
        if let Some(database) = found.reduce(newer) {
            databases.push(database);
        }
    }
    Ok(databases)
}

/// `daily.cld` → `daily`.
fn database_name(path: &Path) -> Option<&str> {
    let extension = path.extension()?.to_str()?;
    ["cvd", "cld"].contains(&extension).then(|| path.file_stem()?.to_str()).flatten()
}

fn read_database(name: &str, path: &Path) -> inv::SignatureDatabase {
    // The header only: a main database is hundreds of megabytes.
    let header = fs::File::open(path).and_then(|file| {
        let mut header = Vec::with_capacity(HEADER_LEN);
        file.take(HEADER_LEN as u64).read_to_end(&mut header)?;
        Ok(header)
    });
    let parsed = match header {
        Ok(bytes) => parse_cvd_header(&bytes).map_err(|error| error.at(path).to_string()),
        Err(error) => Err(format!("cannot read {}: {error}", path.display())),
    };
    match parsed {
        Ok(database) => inv::SignatureDatabase { name: name.to_owned(), ..database },
        Err(error) => inv::SignatureDatabase { name: name.to_owned(), error: Some(error), ..Default::default() },
    }
}

/// Of two files of one database, the readable one, and of two readable ones the newer.
fn newer(a: inv::SignatureDatabase, b: inv::SignatureDatabase) -> inv::SignatureDatabase {
    if (b.error.is_none(), b.version) > (a.error.is_none(), a.version) { b } else { a }
}

/// Parses the last scan summary of a clamscan (or clamdscan) log, with the end date read in
/// this host's time zone, where clamscan wrote it. `None` when no scan has finished yet.
pub fn parse_scan_log(text: &str) -> Result<Option<inv::ScanSummary>, ParseError> {
    parse_scan_log_in(text, &TimeZone::system())
}

/// [`parse_scan_log`] with the time zone of the host that wrote the log.
///
/// clamscan prints `Total errors` only when there were some, so a summary without the line says
/// there were none. A summary without `End Date` (clamscan before 0.101) has no finishing time.
pub fn parse_scan_log_in(text: &str, zone: &TimeZone) -> Result<Option<inv::ScanSummary>, ParseError> {
    let lines: Vec<(usize, &str)> = numbered_lines(text).collect();
    let Some(start) = lines.iter().rposition(|(_, line)| line.trim() == SUMMARY_MARKER) else {
        return Ok(None);
    };
    let mut summary = inv::ScanSummary { errors: Some(0), ..Default::default() };
    for &(number, line) in &lines[start + 1..] {
        let Some((key, value)) = line.split_once(':') else {
            break;
        };
        let value = value.trim();
        match key {
            "Scanned files" => summary.scanned_files = Some(parse_number(number, key, value)?),
            "Infected files" => summary.infected_files = Some(parse_number(number, key, value)?),
            "Total errors" => summary.errors = Some(parse_number(number, key, value)?),
            "End Date" => summary.finished_at_ms = Some(scan_date_ms(number, value, zone)?),
            _ => {}
        }
    }
    if summary.scanned_files.is_none() {
        // A summary cut off before its first count: the scan's result is unknown.
        return Err(ParseError::Missing { field: "Scanned files" });
    }
    Ok(Some(summary))
}

fn scan_date_ms(number: usize, value: &str, zone: &TimeZone) -> Result<i64, ParseError> {
    DateTime::strptime(SCAN_DATE_FORMAT, value)
        .and_then(|local| local.to_zoned(zone.clone()))
        .map(|zoned| zoned.timestamp().as_millisecond())
        .map_err(|e| ParseError::line(number, format!("End Date: expected YYYY:MM:DD hh:mm:ss, got {value:?}: {e}")))
}

/// Parses `systemctl is-active UNIT...`: one state per line, in the order asked.
fn parse_is_active(text: &str) -> Vec<bool> {
    text.lines().map(|state| matches!(state.trim(), "active" | "reloading")).collect()
}

/// Collects the antivirus section every ten minutes: databases change a few times a day.
pub struct AntivirusCollector {
    database_dir: PathBuf,
    scan_log: Option<PathBuf>,
}

impl AntivirusCollector {
    pub fn new(config: &CollectorConfig) -> Self {
        AntivirusCollector {
            database_dir: config.clamav_database_dir.clone(),
            scan_log: config.clamav_scan_log.clone(),
        }
    }
}

impl Collector for AntivirusCollector {
    fn name(&self) -> &'static str {
        "antivirus"
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(15)
    }

    fn period(&self) -> Duration {
        Duration::from_secs(10 * 60)
    }

    fn collect(&mut self) -> Result<Section, Error> {
        if !self.database_dir.is_dir() && !on_path("clamscan") {
            return Err(Error::Unavailable("ClamAV is not installed".to_owned()));
        }
        let mut antivirus = inv::Antivirus { engine: "clamav".to_owned(), ..Default::default() };
        let mut problems = Vec::new();
        match read_clamav_dir(&self.database_dir) {
            Ok(databases) => antivirus.databases = databases,
            Err(error) => problems.push(error.to_string()),
        }
        // Without systemd there is no unit to ask about: both stay unknown.
        if let Ok(text) = run_systemd_tool("systemctl", &["is-active", UNITS[0], UNITS[1]], Duration::from_secs(5)) {
            let states = parse_is_active(&text);
            (antivirus.freshclam_active, antivirus.clamd_active) = (states.first().copied(), states.get(1).copied());
        }
        if let Some(log) = &self.scan_log {
            match read_last_scan(log) {
                Ok(last_scan) => antivirus.last_scan = last_scan,
                Err(error) => problems.push(error.to_string()),
            }
        }
        antivirus.error = (!problems.is_empty()).then(|| problems.join("; "));
        Ok(Section::Antivirus(antivirus))
    }
}

/// The last scan summary of the log at `path`, from its end only: a log gains a summary per scan
/// for years, and only the last one is reported.
fn read_last_scan(path: &Path) -> Result<Option<inv::ScanSummary>, Error> {
    let read_error = |source| Error::Read { path: path.to_owned(), source };
    let mut file = fs::File::open(path).map_err(read_error)?;
    let start = file.metadata().map_err(read_error)?.len().saturating_sub(SCAN_LOG_TAIL_BYTES);
    file.seek(SeekFrom::Start(start)).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(read_error)?;
    let text = String::from_utf8_lossy(&bytes);
    if start == 0 {
        return parse_scan_log(&text).map_err(|error| error.at(path));
    }
    // The tail starts mid-line, and its line numbers count from there, which the error says.
    let whole_lines = text.split_once('\n').map_or("", |(_, rest)| rest);
    let tail = PathBuf::from(format!("{} (its last {} KiB)", path.display(), SCAN_LOG_TAIL_BYTES / 1024));
    parse_scan_log(whole_lines).map_err(|error| error.at(&tail))
}

/// Whether `program` is an executable file in one of the `PATH` directories.
fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        fs::metadata(dir.join(program)).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::compliance;

    const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/antivirus");
    /// The header of an official daily.cvd, as published by the cav project (testdata README).
    const OFFICIAL_DAILY: &[u8] = include_bytes!("../../testdata/antivirus/cav-daily-25784.cvd-header");
    /// Built here by ClamAV 1.4.6's sigtool (testdata README).
    const SIGTOOL_DAILY: &[u8] = include_bytes!("../../testdata/antivirus/db/daily.cvd");
    const SCAN_LOG: &str = include_str!("../../testdata/antivirus/clamscan.log");
    const CLEAN_SCAN_LOG: &str = include_str!("../../testdata/antivirus/clamscan-clean.log");

    fn database(name: &str, version: u64, signatures: u64, built_at_ms: i64) -> inv::SignatureDatabase {
        inv::SignatureDatabase {
            name: name.into(),
            version: Some(version),
            signatures: Some(signatures),
            built_at_ms: Some(built_at_ms),
            error: None,
        }
    }

    #[test]
    fn official_and_sigtool_headers() {
        assert_eq!(parse_cvd_header(OFFICIAL_DAILY).unwrap(), database("", 25784, 2_267_600, 1_587_038_339_000));
        assert_eq!(parse_cvd_header(SIGTOOL_DAILY).unwrap(), database("", 27500, 2, 1_795_322_429_000));
    }

    #[test]
    fn the_build_time_text_stands_in_for_missing_seconds() {
        // Hand-made from the official header: the seconds field cut, as in pre-0.9x databases.
        let text = String::from_utf8_lossy(OFFICIAL_DAILY);
        let without_seconds = text.trim_end().rsplit_once(':').unwrap().0;
        let header = format!("{without_seconds:<512}");
        // 16 Apr 2020 07-58 -0400 is 11:58 UTC; the text has no seconds.
        assert_eq!(parse_cvd_header(header.as_bytes()).unwrap().built_at_ms, Some(1_587_038_280_000));
        let unreadable_time = format!("{:<512}", without_seconds.replacen("16 Apr 2020 07-58 -0400", "sometime", 1));
        assert_eq!(parse_cvd_header(unreadable_time.as_bytes()).unwrap().built_at_ms, None);
    }

    #[test]
    fn malformed_headers() {
        let pad = |text: &str| format!("{text:<512}").into_bytes();
        for (bytes, reason) in [
            (Vec::new(), "truncated: 0 bytes"),
            (OFFICIAL_DAILY[..300].to_vec(), "truncated: 300 bytes"),
            (pad("ClamAV-Diff:50:4228877:"), "not a ClamAV database"),
            (pad("\u{1f}\u{8b}gzip"), "not a ClamAV database"),
            (pad("ClamAV-VDB:16 Apr 2020 07-58 -0400:25784"), "3 header fields"),
            (pad("ClamAV-VDB:16 Apr 2020 07-58 -0400:latest:1:63:x:y:z:1"), "version"),
            (pad("ClamAV-VDB:16 Apr 2020 07-58 -0400:1:-3:63:x:y:z:1"), "signatures"),
            (vec![0xff; 512], "not a ClamAV database"),
        ] {
            match parse_cvd_header(&bytes) {
                Err(ParseError::Line { line: 1, reason: r }) => assert!(r.contains(reason), "{r}"),
                other => panic!("{reason}: {other:?}"),
            }
        }
        // A header cut by a line break ends there, as ClamAV reads it.
        let broken = pad("ClamAV-VDB:16 Apr 2020 07-58 -0400:25784\n:2267600:63");
        assert!(parse_cvd_header(&broken).is_err());
    }

    #[test]
    fn the_databases_of_a_directory() {
        let databases = read_clamav_dir(&Path::new(TESTDATA).join("db")).unwrap();
        // main.cld is main.cvd after freshclam's incremental update; local.ign2 is not a database.
        assert_eq!(
            databases,
            [database("main", 62, 1, 1_795_322_440_000), database("daily", 27500, 2, 1_795_322_429_000)]
        );
    }

    #[test]
    fn broken_files_and_duplicates_in_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("daily.cvd"), SIGTOOL_DAILY).unwrap();
        let older = String::from_utf8_lossy(SIGTOOL_DAILY).replacen(":27500:", ":27499:", 1);
        fs::write(dir.path().join("daily.cld"), older).unwrap();
        fs::write(dir.path().join("main.cvd"), b"<html>503 Service Unavailable</html>").unwrap();
        fs::write(dir.path().join("bytecode.cld"), b"").unwrap();
        fs::write(dir.path().join("bytecode.cvd"), OFFICIAL_DAILY).unwrap();
        fs::write(dir.path().join("freshclam.dat"), b"\x00\x01").unwrap();
        let databases = read_clamav_dir(dir.path()).unwrap();
        let summary: Vec<_> = databases.iter().map(|d| (d.name.as_str(), d.version, d.error.is_some())).collect();
        assert_eq!(summary, [("main", None, true), ("daily", Some(27500), false), ("bytecode", Some(25784), false)]);
        let main_error = databases[0].error.as_deref().unwrap();
        assert!(main_error.contains("main.cvd:1: truncated"), "{main_error}");
        assert!(matches!(read_clamav_dir(&dir.path().join("absent")), Err(Error::Read { .. })));
    }

    #[test]
    fn the_last_scan_summary_of_a_log() {
        let last = parse_scan_log_in(SCAN_LOG, &TimeZone::UTC).unwrap().unwrap();
        assert_eq!(
            last,
            inv::ScanSummary {
                finished_at_ms: Some(1_795_322_516_000),
                scanned_files: Some(3),
                infected_files: Some(1),
                errors: Some(1),
            }
        );
        let clean = parse_scan_log_in(CLEAN_SCAN_LOG, &TimeZone::UTC).unwrap().unwrap();
        assert_eq!((clean.scanned_files, clean.infected_files, clean.errors), (Some(2), Some(0), Some(0)));
        // The same log written one hour east of UTC finished an hour earlier.
        let east = TimeZone::fixed(jiff::tz::offset(1));
        let finished_east = parse_scan_log_in(CLEAN_SCAN_LOG, &east).unwrap().unwrap().finished_at_ms;
        assert_eq!(finished_east, Some(1_795_322_597_000 - 3_600_000));
    }

    #[test]
    fn scan_log_edge_cases() {
        assert_eq!(parse_scan_log_in("", &TimeZone::UTC), Ok(None));
        let scanning = SCAN_LOG.rsplit_once(SUMMARY_MARKER).unwrap().0.rsplit_once(SUMMARY_MARKER).unwrap().0;
        assert_eq!(parse_scan_log_in(scanning, &TimeZone::UTC), Ok(None));
        let cut = format!("{scanning}{SUMMARY_MARKER}\nKnown viruses: 2\n");
        assert_eq!(parse_scan_log_in(&cut, &TimeZone::UTC), Err(ParseError::Missing { field: "Scanned files" }));
        for (from, to) in
            [("Infected files: 1", "Infected files: one"), ("End Date:   2026:11:22 04:41:56", "End Date: 22.11.2026")]
        {
            let garbled = SCAN_LOG.replace(from, to);
            let expected = garbled.lines().position(|line| line == to).unwrap() + 1;
            match parse_scan_log_in(&garbled, &TimeZone::UTC) {
                Err(ParseError::Line { line, .. }) => assert_eq!(line, expected, "{to}"),
                other => panic!("{to}: {other:?}"),
            }
        }
    }

    #[test]
    fn only_the_end_of_a_long_log_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("clamscan.log");
        // Years of scans before the captured ones.
        let old = SCAN_LOG.replace("Infected files: 1", "Infected files: 9");
        fs::write(&log, format!("{}{SCAN_LOG}", old.repeat(400))).unwrap();
        assert!(fs::metadata(&log).unwrap().len() > SCAN_LOG_TAIL_BYTES);
        assert_eq!(read_last_scan(&log).unwrap().unwrap().infected_files, Some(1));
        fs::write(&log, format!("{}{}", old.repeat(400), SCAN_LOG.replace("Scanned files: 3", "Scanned files: 3x")))
            .unwrap();
        let error = read_last_scan(&log).unwrap_err().to_string();
        assert!(error.contains("clamscan.log (its last 256 KiB):") && error.contains("Scanned files"), "{error}");
        assert!(matches!(read_last_scan(&dir.path().join("absent.log")), Err(Error::Read { .. })));
    }

    #[test]
    fn every_prefix_of_the_captures_parses_or_is_an_error() {
        for end in 0..=SCAN_LOG.len() {
            let _ = parse_scan_log_in(&SCAN_LOG[..end], &TimeZone::UTC);
        }
        for header in [OFFICIAL_DAILY, SIGTOOL_DAILY] {
            for end in 0..=HEADER_LEN {
                let mut cut = header[..end].to_vec();
                cut.resize(HEADER_LEN, b' ');
                let _ = parse_cvd_header(&cut);
            }
        }
    }

    #[test]
    fn unit_states() {
        let captured = include_str!("../../testdata/antivirus/systemctl-is-active.txt");
        assert_eq!(parse_is_active(captured), [true, false, false]);
        assert_eq!(parse_is_active(""), Vec::<bool>::new());
    }

    #[test]
    fn the_collector_keeps_the_contract_on_this_machine() {
        let mut collector = AntivirusCollector::new(&CollectorConfig::default());
        match compliance::check(&mut collector) {
            Ok(Section::Antivirus(antivirus)) => assert_eq!(antivirus.engine, "clamav"),
            Err(error) => assert_eq!(error.to_string(), "unavailable: ClamAV is not installed"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_configured_directory_and_log_are_read() {
        let config = CollectorConfig {
            clamav_database_dir: Path::new(TESTDATA).join("db"),
            clamav_scan_log: Some(Path::new(TESTDATA).join("clamscan.log")),
            ..CollectorConfig::default()
        };
        let Section::Antivirus(antivirus) = AntivirusCollector::new(&config).collect().unwrap() else {
            panic!("not the antivirus section");
        };
        assert_eq!(antivirus.databases.len(), 2);
        assert_eq!(antivirus.last_scan.and_then(|scan| scan.infected_files), Some(1));
        assert_eq!(antivirus.error, None);
    }
}
