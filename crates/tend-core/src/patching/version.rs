//! Package versions, ordered as the distributions' own package managers order them: dpkg for
//! Debian and Ubuntu, rpm for AlmaLinux and Rocky Linux.
//!
//! Whether a host is still vulnerable is one comparison, installed against fixed; getting it
//! wrong either hides a vulnerability or floods the report. So each scheme follows its tool's
//! algorithm exactly and is tested against the tool's own test vectors, never a look-alike
//! ("semver-ish") ordering.
//!
//! Must not: guess a scheme from a version's look. The distribution says which applies.

mod dpkg;
mod rpm;

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

pub use dpkg::DebVersion;
pub use rpm::RpmVersion;

use crate::Error;

/// Which package manager's rules order a distribution's versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionScheme {
    Dpkg,
    Rpm,
}

impl VersionScheme {
    /// The scheme of a distribution named as os-release's `ID` names it (`debian`, `ubuntu`,
    /// `almalinux`, `rocky`); `None` for one whose advisories tend does not read.
    pub fn of_distribution(distribution: &str) -> Option<VersionScheme> {
        match distribution {
            "debian" | "ubuntu" => Some(VersionScheme::Dpkg),
            "almalinux" | "rocky" => Some(VersionScheme::Rpm),
            _ => None,
        }
    }

    /// Refuses a string this scheme cannot order (see [`DebVersion::parse`] and
    /// [`RpmVersion::parse`]).
    pub fn check(self, version: &str) -> Result<(), Error> {
        match self {
            VersionScheme::Dpkg => DebVersion::parse(version).map(drop),
            VersionScheme::Rpm => RpmVersion::parse(version).map(drop),
        }
    }

    /// How `a` compares to `b` under this scheme.
    pub fn compare(self, a: &str, b: &str) -> Result<Ordering, Error> {
        match self {
            VersionScheme::Dpkg => Ok(DebVersion::parse(a)?.cmp(&DebVersion::parse(b)?)),
            VersionScheme::Rpm => Ok(RpmVersion::parse(a)?.cmp(&RpmVersion::parse(b)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_distribution_picks_the_scheme() {
        let cases = [
            ("debian", Some(VersionScheme::Dpkg)),
            ("ubuntu", Some(VersionScheme::Dpkg)),
            ("almalinux", Some(VersionScheme::Rpm)),
            ("rocky", Some(VersionScheme::Rpm)),
            ("gentoo", None),
            ("Debian", None),
        ];
        for (distribution, expected) in cases {
            assert_eq!(VersionScheme::of_distribution(distribution), expected, "{distribution}");
        }
    }

    #[test]
    fn the_same_strings_order_differently_per_scheme() {
        // dpkg: a letter sorts before a non-letter, so "1.0a" < "1.0+"; rpm: "+" is only a
        // separator and the extra letter segment makes "1.0a" newer.
        assert_eq!(VersionScheme::Dpkg.compare("1.0a", "1.0+").unwrap(), Ordering::Less);
        assert_eq!(VersionScheme::Rpm.compare("1.0a", "1.0+").unwrap(), Ordering::Greater);
        assert_eq!(VersionScheme::Dpkg.compare("1.0-1", "1.0").unwrap(), Ordering::Greater);
        assert!(VersionScheme::Dpkg.check("1.0 beta").is_err());
        assert!(VersionScheme::Rpm.check("1.0-").is_err());
        assert!(VersionScheme::Rpm.compare("", "1").is_err());
    }
}
