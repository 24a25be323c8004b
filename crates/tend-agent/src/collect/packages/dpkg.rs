//! The packages dpkg has installed, from its status database (`/var/lib/dpkg/status`).

use tend_proto::inventory as inv;

use crate::collect::source::{ParseError, numbered_lines};

/// Where dpkg keeps the state of every package it knows.
pub const DPKG_STATUS_PATH: &str = "/var/lib/dpkg/status";

/// The installed packages of a dpkg status file, in file order.
///
/// The file is deb822: stanzas separated by blank lines, `Field: value` lines, continuation lines
/// starting with a space or tab (`Description`, `Conffiles`). A package counts as installed when
/// the third word of its `Status` is `installed` (whatever was selected: `hold ok installed` is a
/// held package, still installed) or a trigger state, which dpkg only gives configured packages.
/// Removed packages whose configuration files remain (`deinstall ok config-files`) are not.
pub fn parse_dpkg_status(text: &str) -> Result<Vec<inv::InstalledPackage>, ParseError> {
    let mut packages = Vec::new();
    let mut stanza = Stanza::default();
    for (number, line) in numbered_lines(text) {
        if line.trim().is_empty() {
            packages.extend(stanza.finish()?);
            stanza = Stanza::default();
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if stanza.first_line.is_none() {
                return Err(ParseError::line(number, "continuation line without a field before it"));
            }
            continue;
        }
        let Some((field, value)) = line.split_once(':') else {
            return Err(ParseError::line(number, format!("expected 'Field: value', got {line:?}")));
        };
        stanza.first_line.get_or_insert(number);
        stanza.set(field, value.trim());
    }
    packages.extend(stanza.finish()?);
    Ok(packages)
}

/// The fields of one stanza tend reads; the others (dependencies, descriptions) are skipped.
#[derive(Default)]
struct Stanza<'a> {
    first_line: Option<usize>,
    package: Option<&'a str>,
    status: Option<&'a str>,
    version: Option<&'a str>,
    architecture: Option<&'a str>,
    source: Option<&'a str>,
}

impl<'a> Stanza<'a> {
    fn set(&mut self, field: &str, value: &'a str) {
        // Field names are case-insensitive in deb822.
        let slot = match field.to_ascii_lowercase().as_str() {
            "package" => &mut self.package,
            "status" => &mut self.status,
            "version" => &mut self.version,
            "architecture" => &mut self.architecture,
            "source" => &mut self.source,
            _ => return,
        };
        *slot = Some(value);
    }

    /// The stanza's package when it is installed. A stanza must name its package, and an
    /// installed one its version: without them the file is not a status file, or is cut short.
    fn finish(self) -> Result<Option<inv::InstalledPackage>, ParseError> {
        let Some(first_line) = self.first_line else { return Ok(None) };
        let Some(name) = self.package.filter(|name| !name.is_empty()) else {
            return Err(ParseError::line(first_line, "stanza without a Package field"));
        };
        if !self.status.is_some_and(is_installed) {
            return Ok(None);
        }
        let Some(version) = self.version.filter(|version| !version.is_empty()) else {
            return Err(ParseError::line(first_line, format!("installed package {name} has no Version")));
        };
        Ok(Some(inv::InstalledPackage {
            name: name.to_owned(),
            version: version.to_owned(),
            architecture: self.architecture.filter(|arch| !arch.is_empty()).map(str::to_owned),
            source: self.source.and_then(|source| source_package(source, name)),
        }))
    }
}

/// `Status: want flag state`; dpkg's states for a configured package are `installed` and the two
/// trigger states it passes through after an upgrade of something the package watches.
fn is_installed(status: &str) -> bool {
    matches!(status.split_whitespace().nth(2), Some("installed" | "triggers-pending" | "triggers-awaited"))
}

/// The source package named by `Source: name (version)`; the version is there only when it
/// differs from the binary's (a binNMU), and the source only when it is not the binary's own name.
fn source_package(field: &str, binary: &str) -> Option<String> {
    let name = field.split_whitespace().next()?;
    (name != binary).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A few hundred lines of this machine's real status file, plus `zip` held and `wget` removed
    /// with its configuration kept (captured from a copy of the database, see the README).
    const CAPTURED: &str = include_str!("../../../testdata/packages/dpkg/status");

    fn find<'a>(packages: &'a [inv::InstalledPackage], name: &str) -> &'a inv::InstalledPackage {
        packages.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("{name} missing"))
    }

    #[test]
    fn parses_the_captured_status_file() {
        let packages = parse_dpkg_status(CAPTURED).unwrap();
        assert_eq!(packages.len(), 17, "18 stanzas, one of them removed");
        assert_eq!(
            find(&packages, "bash"),
            &inv::InstalledPackage {
                name: "bash".into(),
                version: "5.2.15-2+b8".into(),
                architecture: Some("amd64".into()),
                source: None,
            }
        );
        let libc = find(&packages, "libc6");
        assert_eq!((libc.version.as_str(), libc.source.as_deref()), ("2.36-9+deb12u14", Some("glibc")));
        let login = find(&packages, "login");
        assert_eq!((login.version.as_str(), login.source.as_deref()), ("1:4.13+dfsg1-1+deb12u1", Some("shadow")));
        assert_eq!(find(&packages, "libcap2-bin").source.as_deref(), Some("libcap2"));
        assert_eq!(find(&packages, "tzdata").architecture.as_deref(), Some("all"));
        assert_eq!(find(&packages, "zip").version, "3.0-13", "a held package is installed");
        assert!(packages.iter().all(|p| p.name != "wget"), "config-files only is not installed");
    }

    #[test]
    fn stanza_rules() {
        let text = "Package: a\nStatus: install ok unpacked\nVersion: 1\n\n\
                    Package: b\nstatus: install ok triggers-pending\nVersion: 2\nSource: b\n \
                    continued\n\t\n\n\n\
                    Package: c\nStatus: install ok installed\nVersion: 3\nArchitecture:\n";
        let packages = parse_dpkg_status(text).unwrap();
        let names: Vec<(&str, &str)> = packages.iter().map(|p| (p.name.as_str(), p.version.as_str())).collect();
        assert_eq!(names, [("b", "2"), ("c", "3")]);
        assert_eq!((packages[0].source.as_deref(), packages[1].architecture.as_deref()), (None, None));
        assert_eq!(parse_dpkg_status("").unwrap(), []);
        assert_eq!(parse_dpkg_status("\n\n").unwrap(), []);
    }

    #[test]
    fn malformed_status_files_name_the_line() {
        let cases = [
            ("Package: a\nStatus: install ok installed\ngarbage\n", 3),
            (" continued\nPackage: a\n", 1),
            ("Package: a\nVersion: 1\n\nStatus: install ok installed\nVersion: 2\n", 4),
            // Cut short after the Status line: the package has no version yet.
            ("Package: a\nStatus: install ok installed\nVersion: 1\n\nPackage: b\nStatus: install ok installed\n", 5),
            ("Package:\nStatus: install ok installed\nVersion: 1\n", 1),
        ];
        for (text, line) in cases {
            match parse_dpkg_status(text) {
                Err(ParseError::Line { line: l, .. }) if l == line => {}
                other => panic!("{text:?} gave {other:?}"),
            }
        }
    }
}
