//! RPM versions, `[epoch:]version[-release]`, ordered exactly as rpm (≥ 4.15) orders them: the
//! epoch as a number, then the version, then the release, each with `rpmvercmp`.
//!
//! `rpmvercmp` splits a string into runs of ASCII letters and runs of ASCII digits; anything
//! else only separates them (`2.0`, `2_0` and `2+0` are equal). Runs are compared pairwise: two
//! numbers as numbers (leading zeros ignored), two words as bytes, a number above a word. A `~`
//! sorts before everything, even the end of the string (`1.0~rc1` < `1.0`); a `^` sorts after
//! the end of the string but before anything else (`1.0` < `1.0^git1` < `1.0.1`). When all runs
//! agree, the string with something left over is the newer.
//!
//! rpm itself skips the release when either side lacks one (so `1.0` equals both `1.0-1` and
//! `1.0-2`), which is no order at all. Here a missing release sorts below any release, which
//! agrees with rpm on the question tend asks ("is the installed version, which always has a
//! release, below the fixed one?") in every case but `1.0-1` against a fix written `1.0`, where
//! rpm says "equal" and this says "above": both mean "not below".
//!
//! Parsing follows rpm's `parseEVR`: an epoch is the digits before a `:` at the start, the
//! release what follows the last `-`. Unlike rpm, which lets them default, an empty epoch, an
//! empty version and an empty release are refused, as are whitespace and control characters.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use crate::Error;

/// An RPM package's epoch, version and release. Equality is rpm's: `1.0-1` equals `0:1.00-1`.
#[derive(Debug, Clone)]
pub struct RpmVersion {
    epoch: u32,
    version: String,
    release: Option<String>,
}

impl RpmVersion {
    /// A version as rpm reads it; see the module documentation for what is refused.
    pub fn parse(text: &str) -> Result<RpmVersion, Error> {
        let invalid = |reason: String| Error::Invalid { field: "version", reason };
        if text.is_empty() {
            return Err(invalid("a version must not be empty".to_owned()));
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid(format!("{text:?} has whitespace or control characters")));
        }
        let digits = text.bytes().take_while(u8::is_ascii_digit).count();
        let (epoch, rest) = match text[digits..].strip_prefix(':') {
            Some(_) if digits == 0 => return Err(invalid(format!("{text:?}: the epoch before ':' is empty"))),
            Some(rest) => match text[..digits].parse::<u32>() {
                Ok(epoch) => (epoch, rest),
                Err(_) => return Err(invalid(format!("{text:?}: the epoch is too big"))),
            },
            None => (0, text),
        };
        let (version, release) = match rest.rsplit_once('-') {
            Some((version, release)) => (version, Some(release)),
            None => (rest, None),
        };
        if version.is_empty() {
            return Err(invalid(format!("{text:?}: the version is empty")));
        }
        if release == Some("") {
            return Err(invalid(format!("{text:?}: the release after '-' is empty")));
        }
        Ok(RpmVersion { epoch, version: version.to_owned(), release: release.map(str::to_owned) })
    }
}

impl FromStr for RpmVersion {
    type Err = Error;

    fn from_str(text: &str) -> Result<RpmVersion, Error> {
        RpmVersion::parse(text)
    }
}

/// `epoch:version-release`, the epoch only when not zero.
impl fmt::Display for RpmVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.epoch != 0 {
            write!(f, "{}:", self.epoch)?;
        }
        f.write_str(&self.version)?;
        if let Some(release) = &self.release {
            write!(f, "-{release}")?;
        }
        Ok(())
    }
}

impl Ord for RpmVersion {
    fn cmp(&self, other: &RpmVersion) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| rpmvercmp(self.version.as_bytes(), other.version.as_bytes()))
            .then_with(|| match (&self.release, &other.release) {
                (Some(a), Some(b)) => rpmvercmp(a.as_bytes(), b.as_bytes()),
                (a, b) => a.is_some().cmp(&b.is_some()),
            })
    }
}

impl PartialOrd for RpmVersion {
    fn partial_cmp(&self, other: &RpmVersion) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for RpmVersion {
    fn eq(&self, other: &RpmVersion) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for RpmVersion {}

/// rpm's `rpmvercmp`, over one part (version or release). A zero byte stands for the end, as in
/// rpm's C strings; `parse` refuses control characters, so none occurs inside.
fn rpmvercmp(a: &[u8], b: &[u8]) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    let separates = |c: u8| c != 0 && !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    let (mut i, mut j) = (0, 0);
    while at(a, i) != 0 || at(b, j) != 0 {
        while separates(at(a, i)) {
            i += 1;
        }
        while separates(at(b, j)) {
            j += 1;
        }
        let (ca, cb) = (at(a, i), at(b, j));
        if ca == b'~' || cb == b'~' {
            if ca != b'~' {
                return Ordering::Greater;
            }
            if cb != b'~' {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        // Like a tilde, except that the end of the other string sorts lower.
        if ca == b'^' || cb == b'^' {
            if ca == 0 {
                return Ordering::Less;
            }
            if cb == 0 {
                return Ordering::Greater;
            }
            if ca != b'^' {
                return Ordering::Greater;
            }
            if cb != b'^' {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ca == 0 || cb == 0 {
            break;
        }
        // `a`'s run decides the kind; `b` may have none of it here.
        let numeric = ca.is_ascii_digit();
        let in_run = |c: u8| if numeric { c.is_ascii_digit() } else { c.is_ascii_alphabetic() };
        let run_end = |s: &[u8], start: usize| start + s[start..].iter().take_while(|&&c| in_run(c)).count();
        let (end_a, end_b) = (run_end(a, i), run_end(b, j));
        if end_b == j {
            // A number is newer than a word.
            return if numeric { Ordering::Greater } else { Ordering::Less };
        }
        let (mut run_a, mut run_b) = (&a[i..end_a], &b[j..end_b]);
        if numeric {
            run_a = strip_zeros(run_a);
            run_b = strip_zeros(run_b);
            match run_a.len().cmp(&run_b.len()) {
                Ordering::Equal => {}
                longer => return longer,
            }
        }
        match run_a.cmp(run_b) {
            Ordering::Equal => {}
            order => return order,
        }
        i = end_a;
        j = end_b;
    }
    match (at(a, i) == 0, at(b, j) == 0) {
        (true, true) => Ordering::Equal,
        (false, _) => Ordering::Greater,
        (true, false) => Ordering::Less,
    }
}

fn strip_zeros(run: &[u8]) -> &[u8] {
    let zeros = run.iter().take_while(|&&c| c == b'0').count();
    &run[zeros..]
}

#[cfg(test)]
mod tests;
