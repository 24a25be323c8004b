//! Pending updates as apt sees them: `apt list --upgradable` and the simulation of
//! `apt-get -s dist-upgrade`, which the collector runs because its output is meant for scripts
//! (apt itself warns that `apt list` is not).

use tend_proto::inventory as inv;

use crate::collect::source::{ParseError, numbered_lines};

/// The updates `apt list --upgradable` lists, one per
/// `name/suite[,suite…] version arch [upgradable from: old]` line. The `Listing...` line, apt's
/// warning about its CLI and `N:` notes are skipped. Security: a suite named `…-security`.
pub fn parse_apt_upgradable(text: &str) -> Result<Vec<inv::PendingUpdate>, ParseError> {
    let mut updates = Vec::new();
    for (number, line) in numbered_lines(text) {
        let line = line.trim();
        if line.is_empty() || line.starts_with("Listing") || line.starts_with("WARNING:") || line.starts_with("N: ") {
            continue;
        }
        updates.push(upgradable(line).map_err(|reason| ParseError::line(number, reason))?);
    }
    Ok(updates)
}

fn upgradable(line: &str) -> Result<inv::PendingUpdate, String> {
    let mut words = line.split_whitespace();
    let (Some(package), Some(version), Some(architecture)) = (words.next(), words.next(), words.next()) else {
        return Err(format!("expected 'name/suite version arch', got {line:?}"));
    };
    let Some((name, suites)) = package.split_once('/').filter(|(name, _)| !name.is_empty()) else {
        return Err(format!("expected 'name/suite', got {package:?}"));
    };
    let rest = words.collect::<Vec<_>>().join(" ");
    let current_version = match rest.strip_prefix("[upgradable from:") {
        Some(old) => Some(old.strip_suffix(']').ok_or("unterminated '[upgradable from:'")?.trim().to_owned()),
        None => None,
    };
    Ok(inv::PendingUpdate {
        name: name.to_owned(),
        current_version,
        new_version: version.to_owned(),
        architecture: Some(architecture.to_owned()),
        origin: Some(suites.to_owned()).filter(|suites| !suites.is_empty()),
        security: suites.split(',').any(is_security_origin),
    })
}

/// The packages `apt-get -s dist-upgrade` would install or upgrade, from its `Inst` lines:
/// `Inst name [old] (new origin[, origin…] [arch]) [notes]…`. A package new to the host has no
/// `[old]`. `Conf` lines repeat the `Inst` ones and `Remv` lines are removals, not updates: both
/// are skipped, as is everything apt says around them.
pub fn parse_apt_simulate(text: &str) -> Result<Vec<inv::PendingUpdate>, ParseError> {
    let mut updates = Vec::new();
    for (number, line) in numbered_lines(text) {
        if let Some(rest) = line.strip_prefix("Inst").filter(|rest| rest.is_empty() || rest.starts_with(' ')) {
            updates
                .push(inst(rest.trim_start()).map_err(|reason| ParseError::line(number, format!("Inst: {reason}")))?);
        }
    }
    Ok(updates)
}

fn inst(rest: &str) -> Result<inv::PendingUpdate, String> {
    let (name, rest) = rest.split_once(' ').ok_or("no version after the package name")?;
    // A package of a foreign architecture is named `name:arch`; the bracket below says the arch.
    let name = name.split_once(':').map_or(name, |(name, _)| name);
    let rest = rest.trim_start();
    let (current_version, rest) = match rest.strip_prefix('[') {
        Some(bracketed) => {
            let (old, rest) = bracketed.split_once(']').ok_or("unterminated [installed version]")?;
            (Some(old.to_owned()), rest.trim_start())
        }
        None => (None, rest),
    };
    let candidate = rest.strip_prefix('(').and_then(|body| body.split_once(')')).map(|(inside, _)| inside);
    let candidate = candidate.ok_or("expected '(new-version origin [arch])'")?;
    let (new_version, rest) = candidate.split_once(' ').ok_or("no origin or architecture after the new version")?;
    let (origins, architecture) = rest
        .trim_end()
        .strip_suffix(']')
        .and_then(|rest| rest.rsplit_once('['))
        .ok_or("no [arch] at the end of the new version")?;
    let origins = origins.trim();
    if name.is_empty() || new_version.is_empty() || architecture.is_empty() {
        return Err("empty name, version or architecture".to_owned());
    }
    Ok(inv::PendingUpdate {
        name: name.to_owned(),
        current_version,
        new_version: new_version.to_owned(),
        architecture: Some(architecture.to_owned()),
        origin: Some(origins.to_owned()).filter(|origins| !origins.is_empty()),
        security: origins.split(", ").any(is_security_origin),
    })
}

/// An archive of security updates: Debian's `Debian-Security:12/stable-security` (older releases
/// `Debian-Security:9/oldstable`), Ubuntu's `Ubuntu:22.04/jammy-security`, ESM's
/// `UbuntuESMApps:22.04/jammy-apps-security`, or a bare suite such as `bookworm-security`.
fn is_security_origin(origin: &str) -> bool {
    let origin = origin.trim().to_ascii_lowercase();
    origin.starts_with("debian-security:") || origin.contains("-security")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This machine, Debian 12 after `apt-get update` (see the README).
    const UPGRADABLE: &str = include_str!("../../../testdata/packages/apt/list-upgradable.txt");
    const DIST_UPGRADE: &str = include_str!("../../../testdata/packages/apt/get-s-dist-upgrade.txt");
    const INSTALL: &str = include_str!("../../../testdata/packages/apt/get-s-install.txt");
    const REMOVE: &str = include_str!("../../../testdata/packages/apt/get-s-remove.txt");

    fn update(
        name: &str,
        current: Option<&str>,
        new: &str,
        arch: &str,
        origin: &str,
        security: bool,
    ) -> inv::PendingUpdate {
        inv::PendingUpdate {
            name: name.into(),
            current_version: current.map(Into::into),
            new_version: new.into(),
            architecture: Some(arch.into()),
            origin: Some(origin.into()),
            security,
        }
    }

    #[test]
    fn parses_the_captured_upgradable_list() {
        let updates = parse_apt_upgradable(UPGRADABLE).unwrap();
        assert_eq!(updates.len(), 120);
        assert_eq!(updates[0], update("appstream", Some("0.16.1-2"), "0.16.1-2+b1", "amd64", "oldstable", false));
        let krb5 = updates.iter().find(|u| u.name == "krb5-locales").unwrap();
        assert_eq!(
            krb5,
            &update(
                "krb5-locales",
                Some("1.20.1-2+deb12u3"),
                "1.20.1-2+deb12u5",
                "all",
                "oldstable,oldstable-security",
                true
            )
        );
        let libcap2 = updates.iter().find(|u| u.name == "libcap2").unwrap();
        assert_eq!(libcap2.current_version.as_deref(), Some("1:2.66-4+deb12u2+b2"));
        assert_eq!(updates.iter().filter(|u| u.security).count(), 69);
    }

    #[test]
    fn parses_the_captured_simulation() {
        let updates = parse_apt_simulate(DIST_UPGRADE).unwrap();
        assert_eq!(updates.len(), 120, "the summary line says 120 upgraded");
        assert_eq!(
            updates[0],
            update("base-files", Some("12.4+deb12u11"), "12.4+deb12u15", "amd64", "Debian:12.15/oldstable", false)
        );
        let gcrypt = updates.iter().find(|u| u.name == "libgcrypt20").unwrap();
        assert_eq!(
            gcrypt,
            &update(
                "libgcrypt20",
                Some("1.10.1-3"),
                "1.10.1-3+deb12u1",
                "amd64",
                "Debian:12.15/oldstable, Debian-Security:12/oldstable-security",
                true
            )
        );
        // Trailing notes about the ordering of the upgrade are not part of the version.
        let pam = updates.iter().find(|u| u.name == "libpam-modules-bin").unwrap();
        assert_eq!((pam.new_version.as_str(), pam.architecture.as_deref()), ("1.5.2-6+deb12u2", Some("amd64")));
        assert_eq!(updates.iter().filter(|u| u.security).count(), 69);
    }

    #[test]
    fn the_simulation_and_the_list_agree() {
        let mut simulated: Vec<_> = parse_apt_simulate(DIST_UPGRADE).unwrap();
        let mut listed: Vec<_> = parse_apt_upgradable(UPGRADABLE).unwrap();
        let key =
            |u: &inv::PendingUpdate| (u.name.clone(), u.new_version.clone(), u.current_version.clone(), u.security);
        simulated.sort_by_key(key);
        listed.sort_by_key(key);
        assert_eq!(simulated.iter().map(key).collect::<Vec<_>>(), listed.iter().map(key).collect::<Vec<_>>());
    }

    #[test]
    fn new_packages_have_no_current_version_and_removals_are_not_updates() {
        let installs = parse_apt_simulate(INSTALL).unwrap();
        assert_eq!(installs.len(), 34);
        assert_eq!(installs[0], update("cpio", None, "2.13+dfsg-7.1", "amd64", "Debian:12.15/oldstable", false));
        assert_eq!(parse_apt_simulate(REMOVE).unwrap(), []);
    }

    #[test]
    fn foreign_architectures_and_bare_origins() {
        // Hand-written after apt's format, for cases this machine does not have.
        let text = "Inst libc6:i386 [2.36-9] (2.36-9+deb12u4 Debian-Security:12/stable-security [i386])\n\
                    Inst local-tool [1.0] (1.1 [amd64])\n";
        let updates = parse_apt_simulate(text).unwrap();
        assert_eq!((updates[0].name.as_str(), updates[0].architecture.as_deref()), ("libc6", Some("i386")));
        assert!(updates[0].security);
        assert_eq!((updates[1].origin.as_deref(), updates[1].security), (None, false));
        let listed = parse_apt_upgradable("Listing... Done\ncurl/jammy-updates,jammy-security 7.81 amd64\n").unwrap();
        assert_eq!((listed[0].current_version.as_deref(), listed[0].security), (None, true));
    }

    #[test]
    fn malformed_lines_name_the_line() {
        let simulated = [
            "Inst",
            "Inst name",
            "Inst name [1.0 (1.1 origin [amd64])",
            "Inst name [1.0] 1.1 origin [amd64]",
            "Inst name [1.0] (1.1 origin amd64)",
            "Inst name [1.0] (1.1)",
            "Inst name [1.0] (1.1 origin [amd64]",
            "Inst name [1.0] ( origin [])",
        ];
        for line in simulated {
            let text = format!("Reading package lists...\n{line}\n");
            assert!(matches!(parse_apt_simulate(&text), Err(ParseError::Line { line: 2, .. })), "{line:?}");
        }
        let listed =
            ["curl/jammy 7.81", "curl 7.81 amd64", "/jammy 7.81 amd64", "curl/jammy 7.81 amd64 [upgradable from: 7.80"];
        for line in listed {
            let text = format!("Listing...\n{line}\n");
            assert!(matches!(parse_apt_upgradable(&text), Err(ParseError::Line { line: 2, .. })), "{line:?}");
        }
    }
}
