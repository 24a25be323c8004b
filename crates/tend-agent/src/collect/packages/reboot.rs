//! Whether the host needs a reboot to use what was updated: the flag file Debian-family systems
//! keep in `/var/run`, or `needs-restarting -r` on rpm systems.

use std::io::ErrorKind;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::Error;
use crate::collect::source::{ParseError, numbered_lines, read_text_if_exists};

/// Where `notify-reboot-required` (Ubuntu's update-notifier-common, which kernel and libc
/// packages call after an upgrade) leaves its flag and the list of packages that asked.
pub const REBOOT_FLAG_DIR: &str = "/var/run";
const FLAG: &str = "reboot-required";
const FLAG_PACKAGES: &str = "reboot-required.pkgs";
/// The program that writes the flag. Where it is absent (a plain Debian host) nothing writes the
/// flag, so a missing flag says nothing.
pub const NOTIFIER_PATH: &str = "/usr/share/update-notifier/notify-reboot-required";

/// What the host says about a pending reboot.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RebootStatus {
    /// None when the host has no way of telling.
    pub required: Option<bool>,
    /// The packages that asked for it, in the order they asked, each once.
    pub packages: Vec<String>,
    /// When it became required, ms since the epoch, when known.
    pub since_ms: Option<i64>,
}

/// The reboot flag in `dir`. Its birth time says when the first package asked for the reboot;
/// where the filesystem keeps none, its modification time (the latest request) is the best
/// there is.
pub fn read_reboot_flag(dir: &Path, notifier: &Path) -> Result<RebootStatus, Error> {
    let flag = dir.join(FLAG);
    let metadata = match std::fs::metadata(&flag) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == ErrorKind::NotFound => {
            let required = notifier.exists().then_some(false);
            return Ok(RebootStatus { required, ..RebootStatus::default() });
        }
        Err(source) => return Err(Error::Read { path: flag, source }),
    };
    let since = metadata.created().or_else(|_| metadata.modified()).ok();
    let packages_path = dir.join(FLAG_PACKAGES);
    let packages = match read_text_if_exists(&packages_path)? {
        Some(text) => parse_reboot_required_pkgs(&text).map_err(|error| error.at(&packages_path))?,
        None => Vec::new(),
    };
    Ok(RebootStatus { required: Some(true), packages, since_ms: since.and_then(epoch_ms) })
}

fn epoch_ms(time: SystemTime) -> Option<i64> {
    i64::try_from(time.duration_since(UNIX_EPOCH).ok()?.as_millis()).ok()
}

/// The package names of `reboot-required.pkgs`, one per line. notify-reboot-required appends
/// a name at every request, so a package upgraded twice is listed twice; it is reported once.
pub fn parse_reboot_required_pkgs(text: &str) -> Result<Vec<String>, ParseError> {
    let mut packages: Vec<String> = Vec::new();
    for (number, line) in numbered_lines(text) {
        let name = line.trim();
        if name.is_empty() {
            continue;
        }
        if !is_package_name(name) {
            return Err(ParseError::line(number, format!("not a package name: {name:?}")));
        }
        if !packages.iter().any(|known| known == name) {
            packages.push(name.to_owned());
        }
    }
    Ok(packages)
}

/// Debian policy: lower-case letters, digits and `+-.`, starting with a letter or digit.
/// `:` is allowed too, for the `name:arch` of a foreign architecture.
fn is_package_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.:".contains(c))
}

/// What `needs-restarting -r` (dnf-utils, yum-utils, or `dnf needs-restarting -r`) says. Its
/// exit status (1: reboot needed) is also what dnf gives for an unknown command, so the verdict
/// is read from the text. The packages are dnf's `  * kernel` lines or yum's
/// `  kernel -> 3.10.0-1160.el7` lines.
pub fn parse_needs_restarting(text: &str) -> Result<RebootStatus, ParseError> {
    let required = if text.contains("Reboot is required") {
        true
    } else if text.contains("Reboot should not be necessary") {
        false
    } else {
        return Err(ParseError::Missing {
            field: "reboot verdict ('Reboot is required' or 'should not be necessary')",
        });
    };
    let mut packages: Vec<String> = Vec::new();
    for line in text.lines().filter(|line| line.starts_with([' ', '\t'])) {
        let line = line.trim();
        let name = line.strip_prefix("* ").or_else(|| line.split_once(" -> ").map(|(name, _)| name));
        if let Some(name) = name.map(str::trim).filter(|name| !name.is_empty() && !packages.iter().any(|p| p == name)) {
            packages.push(name.to_owned());
        }
    }
    Ok(RebootStatus { required: Some(required), packages, since_ms: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// dnf's own test suite (ci-dnf-stack), see the README.
    const REBOOT: &str = include_str!("../../../testdata/packages/dnf/needs-restarting-reboot.txt");
    const NO_REBOOT: &str = include_str!("../../../testdata/packages/dnf/needs-restarting-no-reboot.txt");

    #[test]
    fn parses_needs_restarting() {
        let status = parse_needs_restarting(REBOOT).unwrap();
        assert_eq!(
            status,
            RebootStatus { required: Some(true), packages: vec!["glibc".into(), "kernel".into()], since_ms: None }
        );
        assert_eq!(
            parse_needs_restarting(NO_REBOOT).unwrap(),
            RebootStatus { required: Some(false), ..Default::default() }
        );
        // yum-utils on EL7 names the new versions; hand-written after its format.
        let yum = "Core libraries or services have been updated:\n  kernel -> 3.10.0-1160.2.1.el7\n\n\
                   Reboot is required to ensure that your system benefits from these updates.\n";
        assert_eq!(parse_needs_restarting(yum).unwrap().packages, ["kernel"]);
        let unknown = "No such command: needs-restarting. Please use /usr/bin/dnf --help\n";
        assert!(matches!(parse_needs_restarting(unknown), Err(ParseError::Missing { .. })));
    }

    #[test]
    fn package_lists() {
        // The shape Ubuntu leaves after a kernel upgrade; hand-written.
        let text = "linux-image-5.15.0-91-generic\nlinux-base\nlinux-base\n\nlibc6:i386\n";
        assert_eq!(
            parse_reboot_required_pkgs(text).unwrap(),
            ["linux-image-5.15.0-91-generic", "linux-base", "libc6:i386"]
        );
        for garbled in ["linux-base\nLinux Base\n", "linux-base\n\u{fffd}\u{fffd}\n", "x\n-foo\n"] {
            assert!(
                matches!(parse_reboot_required_pkgs(garbled), Err(ParseError::Line { line: 2, .. })),
                "{garbled:?}"
            );
        }
    }

    #[test]
    fn reads_the_flag_and_its_packages() {
        let dir = tempfile::tempdir().unwrap();
        let no_notifier = dir.path().join("no-notifier");
        let unknown = read_reboot_flag(dir.path(), &no_notifier).unwrap();
        assert_eq!(unknown, RebootStatus::default(), "nothing would have written the flag");
        let notifier = dir.path().join("notify-reboot-required");
        std::fs::write(&notifier, "#!/bin/sh\n").unwrap();
        let not_required = read_reboot_flag(dir.path(), &notifier).unwrap();
        assert_eq!(not_required, RebootStatus { required: Some(false), ..RebootStatus::default() });

        let before = epoch_ms(SystemTime::now()).unwrap();
        std::fs::write(dir.path().join(FLAG), "*** System restart required ***\n").unwrap();
        std::fs::write(dir.path().join(FLAG_PACKAGES), "linux-base\nlinux-base\n").unwrap();
        let required = read_reboot_flag(dir.path(), &no_notifier).unwrap();
        assert_eq!(
            (required.required, required.packages.as_slice()),
            (Some(true), ["linux-base".to_owned()].as_slice())
        );
        let since = required.since_ms.unwrap();
        assert!((before - 2000..=before + 2000).contains(&since), "{since} vs {before}");

        std::fs::remove_file(dir.path().join(FLAG_PACKAGES)).unwrap();
        assert_eq!(read_reboot_flag(dir.path(), &no_notifier).unwrap().packages, Vec::<String>::new());
        std::fs::write(dir.path().join(FLAG_PACKAGES), "Not A Package\n").unwrap();
        let error = read_reboot_flag(dir.path(), &no_notifier).unwrap_err();
        assert!(error.to_string().contains("reboot-required.pkgs:1: not a package name"), "{error}");
    }
}
