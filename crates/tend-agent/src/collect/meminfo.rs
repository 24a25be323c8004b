//! `/proc/meminfo`, which both the facts (total memory) and the metrics read.

use super::source::{ParseError, numbered_lines, parse_number};

pub(crate) const MEMINFO_PATH: &str = "/proc/meminfo";

/// The fields of `/proc/meminfo` tend reports, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Meminfo {
    pub total_bytes: u64,
    /// The kernel's estimate of what can be allocated without swapping; unlike `MemFree` it
    /// counts reclaimable cache, so "used" derived from it is what an administrator means.
    pub available_bytes: u64,
    pub swap_total_bytes: u64,
    pub swap_free_bytes: u64,
}

impl Meminfo {
    pub fn used_bytes(&self) -> u64 {
        self.total_bytes.saturating_sub(self.available_bytes)
    }

    pub fn swap_used_bytes(&self) -> u64 {
        self.swap_total_bytes.saturating_sub(self.swap_free_bytes)
    }
}

/// Parses the fields tend uses. The kernel adds fields over time, so other lines are not
/// looked at, let alone refused.
pub fn parse_meminfo(text: &str) -> Result<Meminfo, ParseError> {
    let (mut total, mut available, mut swap_total, mut swap_free) = (None, None, None, None);
    for (number, line) in numbered_lines(text) {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let slot = match key {
            "MemTotal" => &mut total,
            "MemAvailable" => &mut available,
            "SwapTotal" => &mut swap_total,
            "SwapFree" => &mut swap_free,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(parse_kilobytes(number, key, value)?);
        }
    }
    Ok(Meminfo {
        total_bytes: total.ok_or(ParseError::Missing { field: "MemTotal" })?,
        available_bytes: available.ok_or(ParseError::Missing { field: "MemAvailable" })?,
        swap_total_bytes: swap_total.ok_or(ParseError::Missing { field: "SwapTotal" })?,
        swap_free_bytes: swap_free.ok_or(ParseError::Missing { field: "SwapFree" })?,
    })
}

/// `"   24684084 kB"` in bytes. The kernel's "kB" are KiB.
fn parse_kilobytes(number: usize, key: &str, value: &str) -> Result<u64, ParseError> {
    let mut words = value.split_whitespace();
    let (Some(amount), Some("kB"), None) = (words.next(), words.next(), words.next()) else {
        let got = value.trim();
        return Err(ParseError::line(number, format!("{key}: expected \"<number> kB\", got {got:?}")));
    };
    let kibibytes: u64 = parse_number(number, key, amount)?;
    kibibytes
        .checked_mul(1024)
        .ok_or_else(|| ParseError::line(number, format!("{key}: {kibibytes} kB is out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPTURED: &str = include_str!("../../testdata/proc/meminfo");

    #[test]
    fn parses_the_captured_file() {
        let meminfo = parse_meminfo(CAPTURED).unwrap();
        assert_eq!(meminfo.total_bytes, 24_684_084 * 1024);
        assert_eq!(meminfo.available_bytes, 24_052_304 * 1024);
        assert_eq!(meminfo.used_bytes(), (24_684_084 - 24_052_304) * 1024);
        assert_eq!(meminfo.swap_total_bytes, 0);
        assert_eq!(meminfo.swap_used_bytes(), 0);
    }

    #[test]
    fn swap_in_use() {
        let text = "MemTotal: 1000 kB\nMemAvailable: 400 kB\nSwapTotal: 2048 kB\nSwapFree: 1024 kB\n";
        let meminfo = parse_meminfo(text).unwrap();
        assert_eq!(meminfo.used_bytes(), 600 * 1024);
        assert_eq!(meminfo.swap_used_bytes(), 1024 * 1024);
    }

    #[test]
    fn a_missing_field_is_named() {
        let text = "MemTotal: 1000 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n";
        assert_eq!(parse_meminfo(text), Err(ParseError::Missing { field: "MemAvailable" }));
        assert_eq!(parse_meminfo(""), Err(ParseError::Missing { field: "MemTotal" }));
    }

    #[test]
    fn garbled_lines_are_errors_with_their_number() {
        let cases = [
            ("MemTotal: 1000 kB\nMemAvailable: lots kB\n", 2),
            ("MemTotal: 1000\n", 1),
            ("MemTotal: 1000 MB\n", 1),
            ("MemTotal: 1000 kB extra\n", 1),
            ("MemTotal:\n", 1),
            ("MemFree: 1 kB\nMemTotal: 99999999999999999999 kB\n", 2),
            ("MemTotal: 18446744073709551615 kB\n", 1),
        ];
        for (text, line) in cases {
            match parse_meminfo(text) {
                Err(ParseError::Line { line: got, .. }) => assert_eq!(got, line, "{text:?}"),
                other => panic!("{text:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn lines_tend_does_not_use_are_not_judged() {
        let text = "garbage without colon\nMemTotal: 1 kB\nHugePages_Total: 0\nMemAvailable: 1 kB\n\
                    SwapTotal: 0 kB\nSwapFree: 0 kB\nNewField: ??\n";
        assert_eq!(parse_meminfo(text).unwrap().total_bytes, 1024);
    }
}
