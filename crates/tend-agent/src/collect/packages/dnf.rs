//! Pending updates as dnf (or yum before it) sees them: `check-update` for every update and
//! `updateinfo list` for the advisories behind them.

use std::collections::BTreeMap;

use tend_proto::inventory as inv;

use super::rpm::{Nevra, is_architecture};
use crate::collect::source::{ParseError, numbered_lines};

/// Lines dnf and yum print around their lists when not fully quiet, which are no package.
const CHATTER: &[&str] = &[
    "Last metadata expiration check",
    "Loaded plugins",
    "Updating Subscription Management",
    "Not root",
    "updateinfo list done",
    "Security:",
];

/// One update per advisory line, its advisory id as origin:
/// dnf 4 and yum print `ADVISORY TYPE NEVRA` (`RHSA-2013:0689 Important/Sec. bind-libs-32:9.8.2-…`,
/// with an `i` before installed ones under `--all`), dnf 5 prints a header and
/// `ADVISORY TYPE SEVERITY NEVRA ISSUED-DATE TIME`. Security: a `…/Sec.` type (dnf 4, yum) or
/// `security` (dnf 5). The NEVRA is the version that fixes it, so it is the update's new version;
/// the current one is not in this output.
pub fn parse_dnf_updateinfo(text: &str) -> Result<Vec<inv::PendingUpdate>, ParseError> {
    let mut updates = Vec::new();
    for (number, line) in numbered_lines(text) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.is_empty() || is_chatter(line) || words.starts_with(&["Name", "Type"]) {
            continue;
        }
        let (advisory, kind, nevra) = match words[..] {
            [advisory, kind, nevra] | ["i", advisory, kind, nevra] => (advisory, kind, nevra),
            [advisory, kind, _severity, nevra, _date, ..] => (advisory, kind, nevra),
            _ => return Err(ParseError::line(number, format!("expected 'ADVISORY TYPE PACKAGE', got {line:?}"))),
        };
        let nevra = Nevra::parse(nevra)
            .ok_or_else(|| ParseError::line(number, format!("expected name-version-release.arch, got {nevra:?}")))?;
        updates.push(inv::PendingUpdate {
            name: nevra.name.to_owned(),
            current_version: None,
            new_version: nevra.evr(),
            architecture: nevra.arch.map(str::to_owned),
            origin: Some(advisory.to_owned()),
            security: kind.eq_ignore_ascii_case("security") || kind.ends_with("/Sec.") || kind == "Sec.",
        });
    }
    Ok(updates)
}

/// The updates `dnf check-update` (or `yum check-update`) lists as `name.arch  evr  repository`,
/// the repository as origin. A name too long for its column stands on a line of its own with the
/// rest on the next. The `Obsoleting Packages` section that may follow lists replacements already
/// counted above, so reading stops there. Lines that do not start with `name.arch` are dnf's
/// messages and are skipped; one that does must be complete.
pub fn parse_dnf_check_update(text: &str) -> Result<Vec<inv::PendingUpdate>, ParseError> {
    let mut updates = Vec::new();
    let mut wrapped: Option<(usize, &str)> = None;
    for (number, line) in numbered_lines(text) {
        if line.trim_start().to_ascii_lowercase().starts_with("obsoleting") {
            break;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let row = match (wrapped.take(), &words[..]) {
            (Some((_, package)), [evr, repository]) => [package, *evr, *repository],
            (Some((line, package)), _) => {
                return Err(ParseError::line(line, format!("{package}: no version and repository on the next line")));
            }
            (None, [package]) if name_and_arch(package).is_some() => {
                wrapped = Some((number, package));
                continue;
            }
            (None, [package, evr, repository]) if name_and_arch(package).is_some() => [*package, *evr, *repository],
            (None, [package, ..]) if name_and_arch(package).is_some() && !is_chatter(line) => {
                return Err(ParseError::line(number, format!("expected 'name.arch version repository', got {line:?}")));
            }
            (None, _) => continue,
        };
        updates.push(check_update_row(row).map_err(|reason| ParseError::line(number, reason))?);
    }
    if let Some((line, package)) = wrapped {
        return Err(ParseError::line(line, format!("{package}: the output ends before its version")));
    }
    Ok(updates)
}

fn check_update_row([package, evr, repository]: [&str; 3]) -> Result<inv::PendingUpdate, String> {
    let (name, arch) = name_and_arch(package).ok_or_else(|| format!("expected name.arch, got {package:?}"))?;
    if !evr.contains('-') {
        return Err(format!("{package}: expected [epoch:]version-release, got {evr:?}"));
    }
    Ok(inv::PendingUpdate {
        name: name.to_owned(),
        current_version: None,
        new_version: evr.strip_prefix("0:").unwrap_or(evr).to_owned(),
        architecture: Some(arch.to_owned()),
        origin: Some(repository.to_owned()),
        security: false,
    })
}

/// `name.arch` split at its last dot, when what follows is an rpm architecture.
fn name_and_arch(package: &str) -> Option<(&str, &str)> {
    let (name, arch) = package.rsplit_once('.')?;
    (!name.is_empty() && is_architecture(arch)).then_some((name, arch))
}

fn is_chatter(line: &str) -> bool {
    let line = line.trim_start();
    CHATTER.iter().any(|prefix| line.starts_with(prefix))
}

/// The pending updates of an rpm host: every update `check-update` lists, its current version
/// from the installed packages (none when several versions are installed side by side, as
/// kernels are), marked security with its advisory ids as origin when a security advisory
/// names the package, and its repository as origin otherwise.
pub fn merge_dnf_updates(
    updates: Vec<inv::PendingUpdate>,
    security_advisories: &[inv::PendingUpdate],
    installed: &[inv::InstalledPackage],
) -> Vec<inv::PendingUpdate> {
    let mut advisories: BTreeMap<(&str, Option<&str>), Vec<&str>> = BTreeMap::new();
    for advisory in security_advisories.iter().filter(|a| a.security) {
        let ids = advisories.entry((advisory.name.as_str(), advisory.architecture.as_deref())).or_default();
        if let Some(id) = advisory.origin.as_deref().filter(|id| !ids.contains(id)) {
            ids.push(id);
        }
    }
    updates
        .into_iter()
        .map(|mut update| {
            let mut versions = installed
                .iter()
                .filter(|p| p.name == update.name && p.architecture == update.architecture)
                .map(|p| p.version.clone());
            update.current_version = match (versions.next(), versions.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            };
            if let Some(ids) = advisories.get(&(update.name.as_str(), update.architecture.as_deref())) {
                update.security = true;
                update.origin = Some(ids.join(", "));
            }
            update
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// dnf's own test suite (ci-dnf-stack) and a RHEL 6 host (rpmkit); see the README.
    const DNF4: &str = include_str!("../../../testdata/packages/dnf/dnf4-updateinfo-list.txt");
    const DNF4_ALL: &str = include_str!("../../../testdata/packages/dnf/dnf4-updateinfo-list-all-security.txt");
    const DNF5: &str = include_str!("../../../testdata/packages/dnf/dnf5-updateinfo-list.txt");
    const DNF5_ALL: &str = include_str!("../../../testdata/packages/dnf/dnf5-updateinfo-list-all-security.txt");
    const YUM_RHEL6: &str = include_str!("../../../testdata/packages/dnf/yum-list-sec-rhel6.txt");
    /// The Fedora System Administrator's Guide.
    const CHECK_UPDATE: &str = include_str!("../../../testdata/packages/dnf/yum-check-update-fedora15.txt");

    fn advisory(id: &str, name: &str, new: &str, arch: &str, security: bool) -> inv::PendingUpdate {
        inv::PendingUpdate {
            name: name.into(),
            current_version: None,
            new_version: new.into(),
            architecture: Some(arch.into()),
            origin: Some(id.into()),
            security,
        }
    }

    #[test]
    fn parses_dnf4_and_dnf5_advisory_lists() {
        let expected = [
            advisory("FEDORA-2999:002-02", "flac", "1.3.3-8.fc29", "x86_64", false),
            advisory("FEDORA-2018-318f184000", "glibc", "2.28-26.fc29", "x86_64", false),
        ];
        assert_eq!(parse_dnf_updateinfo(DNF4).unwrap(), expected);
        let mut dnf5 = parse_dnf_updateinfo(DNF5).unwrap();
        dnf5.reverse();
        assert_eq!(dnf5, expected);
        let security = [advisory("FEDORA-2018-318f184113", "CQRlib", "1.1.2-16.fc29", "x86_64", true)];
        assert_eq!(parse_dnf_updateinfo(DNF4_ALL).unwrap(), security);
        assert_eq!(parse_dnf_updateinfo(DNF5_ALL).unwrap(), security);
    }

    #[test]
    fn parses_a_rhel6_security_list() {
        let updates = parse_dnf_updateinfo(YUM_RHEL6).unwrap();
        assert_eq!(updates.len(), 26);
        assert!(updates.iter().all(|u| u.security));
        assert_eq!(updates[0], advisory("RHSA-2013:0550", "bind-libs", "32:9.8.2-0.17.rc1.el6.3", "x86_64", true));
        assert_eq!(
            updates[21],
            advisory("RHSA-2013:0685", "perl-Module-Pluggable", "1:3.90-130.el6_4", "x86_64", true)
        );
        assert_eq!(updates[9].architecture.as_deref(), Some("noarch"));
    }

    #[test]
    fn parses_a_check_update_list() {
        let updates = parse_dnf_check_update(CHECK_UPDATE).unwrap();
        assert_eq!(updates.len(), 15);
        assert_eq!(updates[0], advisory("fedora", "PackageKit", "0.6.14-2.fc15", "x86_64", false));
        assert_eq!(updates[14], advisory("fedora", "yum", "3.2.29-5.fc15", "noarch", false));
    }

    #[test]
    fn wrapped_names_epochs_and_the_obsoleting_section() {
        // Hand-written after dnf's layout, for what the captures above do not show.
        let text = "\nLast metadata expiration check: 0:11:22 ago on Sun Aug  9 10:12:00 2026.\n\n\
                    container-selinux.noarch\n                    2:2.232.1-1.fc40     updates\n\
                    openssl.x86_64      1:3.2.2-6.el9_5      baseos\n\
                    Obsoleting Packages\n\
                    grub2-tools.x86_64  1:2.06-77.el9        baseos\n    grub2-tools.x86_64  1:2.06-70.el9  @baseos\n";
        let updates = parse_dnf_check_update(text).unwrap();
        assert_eq!(updates.len(), 2);
        assert_eq!(
            (updates[0].name.as_str(), updates[0].new_version.as_str()),
            ("container-selinux", "2:2.232.1-1.fc40")
        );
        assert_eq!(updates[1].origin.as_deref(), Some("baseos"));
        assert_eq!(parse_dnf_check_update("").unwrap(), []);
        assert_eq!(parse_dnf_check_update("Upgrades\n").unwrap(), [], "dnf 5's section header");
    }

    #[test]
    fn malformed_lists_name_the_line() {
        for (text, line) in [
            ("kernel.x86_64  5.14.0\n", 1),
            ("bash.x86_64 5.1-1 baseos\nkernel.x86_64  5.14.0-1\n", 2),
            ("kernel.x86_64\nbash.x86_64 5.1-1 baseos\n", 1),
            ("bash.x86_64 5.1-1 baseos\nkernel.x86_64\n", 2),
        ] {
            let result = parse_dnf_check_update(text);
            assert!(matches!(result, Err(ParseError::Line { line: l, .. }) if l == line), "{text:?}: {result:?}");
        }
        for text in ["RHSA-2013:0550 Moderate/Sec.\n", "RHSA-1 bugfix bash\n", "a b c d\n", "RHSA-1 x y-1-2 z\n"] {
            let result = parse_dnf_updateinfo(&format!("Last metadata expiration check: now\n{text}"));
            assert!(matches!(result, Err(ParseError::Line { line: 2, .. })), "{text:?}: {result:?}");
        }
    }

    #[test]
    fn merging_marks_security_and_finds_current_versions() {
        let check = "kernel.x86_64  2.6.32-358.6.1.el6  updates\ncurl.x86_64  7.19.7-36.el6_4  updates\n\
                     bash.x86_64  4.1.2-15.el6_4  updates\n";
        let installed = |name: &str, version: &str| inv::InstalledPackage {
            name: name.into(),
            version: version.into(),
            architecture: Some("x86_64".into()),
            source: None,
        };
        let installed = [
            installed("kernel", "2.6.32-358.el6"),
            installed("kernel", "2.6.32-358.0.1.el6"),
            installed("curl", "7.19.7-35.el6"),
        ];
        let advisories = parse_dnf_updateinfo(YUM_RHEL6).unwrap();
        let merged = merge_dnf_updates(parse_dnf_check_update(check).unwrap(), &advisories, &installed);
        assert_eq!(merged[0].origin.as_deref(), Some("RHSA-2013:0567, RHSA-2013:0630, RHSA-2013:0744"));
        assert_eq!((merged[0].security, merged[0].current_version.as_deref()), (true, None));
        assert_eq!(merged[1].current_version.as_deref(), Some("7.19.7-35.el6"));
        assert_eq!((merged[1].origin.as_deref(), merged[1].security), (Some("RHSA-2013:0771"), true));
        assert_eq!((merged[2].origin.as_deref(), merged[2].security), (Some("updates"), false));
    }
}
