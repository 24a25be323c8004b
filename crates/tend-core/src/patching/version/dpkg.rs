//! Debian versions, `[epoch:]upstream[-revision]`, ordered exactly as dpkg orders them
//! (`dpkg --compare-versions`, libdpkg's `dpkg_version_compare`).
//!
//! The epoch is compared as a number, then the upstream version, then the revision, each with
//! dpkg's `verrevcmp`: alternately a run of non-digits, compared character by character with `~`
//! before everything (even the end of the string), letters before every other character, and a
//! run of digits compared as a number (leading zeros ignored, any length).
//!
//! Parsing follows libdpkg's `parseversion`. What dpkg refuses is refused: an empty version,
//! whitespace inside it, an epoch that is empty, not a number or above 2³¹ − 1, an empty upstream
//! version. dpkg only warns about two other things, and tend decides each:
//! - an upstream version that does not start with a digit (`foo`) is accepted: dpkg orders it
//!   like any other and its own comparison tests use such versions;
//! - a character outside dpkg's sets (upstream: alphanumerics and `.+-~:`; revision:
//!   alphanumerics and `.+~`) is refused: such a string is not a Debian version but something
//!   else misplaced in a version field, and an order computed for it would mean nothing.
//!
//! An empty revision (`1.0-`) is accepted and equals no revision, as in dpkg's tests.
//! Surrounding whitespace is trimmed, as dpkg does. The epoch must be written in digits only,
//! where dpkg's `strtol` would also take a sign.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use crate::Error;

/// The largest epoch dpkg accepts (`INT_MAX`).
const MAX_EPOCH: u32 = i32::MAX as u32;

/// A Debian package version. Equality is dpkg's: `1.0-1` equals `0:1.00-1`.
#[derive(Debug, Clone)]
pub struct DebVersion {
    epoch: u32,
    upstream: String,
    /// Empty when the version has none.
    revision: String,
}

impl DebVersion {
    /// A version as dpkg reads it; see the module documentation for what is refused.
    pub fn parse(text: &str) -> Result<DebVersion, Error> {
        let invalid = |reason: String| Error::Invalid { field: "version", reason };
        let text = text.trim_ascii();
        if text.is_empty() {
            return Err(invalid("a version must not be empty".to_owned()));
        }
        if text.contains(|c: char| c.is_ascii_whitespace()) {
            return Err(invalid(format!("{text:?} has whitespace inside")));
        }
        let (epoch, rest) = match text.split_once(':') {
            None => (0, text),
            Some((epoch, rest)) => {
                if epoch.is_empty() || !epoch.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid(format!("{text:?}: the epoch before ':' must be a number")));
                }
                match epoch.parse::<u32>() {
                    Ok(epoch) if epoch <= MAX_EPOCH => (epoch, rest),
                    _ => return Err(invalid(format!("{text:?}: the epoch is too big"))),
                }
            }
        };
        // The revision is whatever follows the last hyphen; the upstream version may hold more.
        let (upstream, revision) = rest.rsplit_once('-').unwrap_or((rest, ""));
        if upstream.is_empty() {
            return Err(invalid(format!("{text:?}: the upstream version is empty")));
        }
        if let Some(bad) = upstream.chars().find(|&c| !c.is_ascii_alphanumeric() && !".+-~:".contains(c)) {
            return Err(invalid(format!("{text:?}: {bad:?} is not allowed in an upstream version")));
        }
        if let Some(bad) = revision.chars().find(|&c| !c.is_ascii_alphanumeric() && !".+~".contains(c)) {
            return Err(invalid(format!("{text:?}: {bad:?} is not allowed in a revision")));
        }
        Ok(DebVersion { epoch, upstream: upstream.to_owned(), revision: revision.to_owned() })
    }
}

impl FromStr for DebVersion {
    type Err = Error;

    fn from_str(text: &str) -> Result<DebVersion, Error> {
        DebVersion::parse(text)
    }
}

/// The canonical form: the epoch only when not zero, the revision only when not empty, unless
/// leaving them out would make the upstream version's own colons or hyphens read differently.
impl fmt::Display for DebVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.epoch != 0 || self.upstream.contains(':') {
            write!(f, "{}:", self.epoch)?;
        }
        f.write_str(&self.upstream)?;
        if !self.revision.is_empty() || self.upstream.contains('-') {
            write!(f, "-{}", self.revision)?;
        }
        Ok(())
    }
}

impl Ord for DebVersion {
    fn cmp(&self, other: &DebVersion) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(self.upstream.as_bytes(), other.upstream.as_bytes()))
            .then_with(|| verrevcmp(self.revision.as_bytes(), other.revision.as_bytes()))
    }
}

impl PartialOrd for DebVersion {
    fn partial_cmp(&self, other: &DebVersion) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for DebVersion {
    fn eq(&self, other: &DebVersion) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for DebVersion {}

/// dpkg's weight of a character in a non-digit run; the end of the string weighs like a digit,
/// which is where a run ends.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

fn is_digit(c: Option<u8>) -> bool {
    c.is_some_and(|c| c.is_ascii_digit())
}

/// dpkg's `verrevcmp`, over one part (upstream version or revision).
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let at = |s: &[u8], i: usize| s.get(i).copied();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        // Every non-digit weighs something other than zero, so a pair of equal weights is a
        // pair of present characters and both indices stay in bounds.
        while (at(a, i).is_some() && !is_digit(at(a, i))) || (at(b, j).is_some() && !is_digit(at(b, j))) {
            let (wa, wb) = (order(at(a, i)), order(at(b, j)));
            if wa != wb {
                return wa.cmp(&wb);
            }
            i += 1;
            j += 1;
        }
        while at(a, i) == Some(b'0') {
            i += 1;
        }
        while at(b, j) == Some(b'0') {
            j += 1;
        }
        let mut first_difference = Ordering::Equal;
        while is_digit(at(a, i)) && is_digit(at(b, j)) {
            if first_difference == Ordering::Equal {
                first_difference = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        // The longer number (without leading zeros) is the larger.
        if is_digit(at(a, i)) {
            return Ordering::Greater;
        }
        if is_digit(at(b, j)) {
            return Ordering::Less;
        }
        if first_difference != Ordering::Equal {
            return first_difference;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests;
