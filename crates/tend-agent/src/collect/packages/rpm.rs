//! The packages rpm has installed, from `rpm -qa`, and the NEVRA names rpm tools print.

use tend_proto::inventory as inv;

use crate::collect::source::{ParseError, numbered_lines};

/// What the collector asks rpm for, one tab-separated line per package:
/// `name  epoch:version-release  arch  source-rpm`. `EPOCHNUM` is 0 where the package has no
/// epoch; rpm prints `(none)` for a missing arch or source rpm (its GPG keys have neither). The
/// backslash escapes are rpm's own, not the shell's.
pub const RPM_QUERY_FORMAT: &str = "%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\n";

/// The architectures rpm builds for; a NEVRA's last dot-separated part is its arch only when it
/// is one of them (`gpg-pubkey-fd431d51-4ae0493b` has none, and its release has no dot).
const ARCHITECTURES: &[&str] = &[
    "noarch",
    "x86_64",
    "i386",
    "i486",
    "i586",
    "i686",
    "athlon",
    "aarch64",
    "armv7hl",
    "armv7l",
    "armv6hl",
    "armhfp",
    "ppc64le",
    "ppc64",
    "ppc",
    "s390x",
    "s390",
    "riscv64",
    "loongarch64",
    "ia64",
    "sparc64",
    "mips64el",
    "src",
    "nosrc",
];

pub(super) fn is_architecture(name: &str) -> bool {
    ARCHITECTURES.contains(&name)
}

/// The installed packages, from output in [`RPM_QUERY_FORMAT`] or plain `rpm -qa` NEVRA lines
/// (`bash-5.1.8-6.el9.x86_64`), told apart line by line by the tab. Plain lines carry no epoch
/// and no source package. Versions are rpm's EVR with a zero epoch left out, as rpm and dnf
/// print them.
pub fn parse_rpm_qa(text: &str) -> Result<Vec<inv::InstalledPackage>, ParseError> {
    let mut packages = Vec::new();
    for (number, line) in numbered_lines(text) {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.trim().is_empty() {
            continue;
        }
        let parsed = if line.contains('\t') { queried(line) } else { plain(line) };
        packages.push(parsed.map_err(|reason| ParseError::line(number, reason))?);
    }
    Ok(packages)
}

fn queried(line: &str) -> Result<inv::InstalledPackage, String> {
    let fields: Vec<&str> = line.split('\t').collect();
    let [name, evr, arch, source_rpm] = fields[..] else {
        return Err(format!(
            "expected 4 tab-separated fields (name, epoch:version-release, arch, source rpm), got {}",
            fields.len()
        ));
    };
    let (epoch, version_release) =
        evr.split_once(':').ok_or_else(|| format!("expected epoch:version-release, got {evr:?}"))?;
    if name.is_empty()
        || !epoch.bytes().all(|b| b.is_ascii_digit())
        || epoch.is_empty()
        || !version_release.contains('-')
    {
        return Err(format!("expected a name and epoch:version-release, got {name:?} and {evr:?}"));
    }
    Ok(inv::InstalledPackage {
        name: name.to_owned(),
        version: evr_without_zero_epoch(epoch, version_release),
        architecture: known(arch),
        source: known(source_rpm).and_then(|rpm| source_name(&rpm)).filter(|source| source != name),
    })
}

fn plain(line: &str) -> Result<inv::InstalledPackage, String> {
    let nevra =
        Nevra::parse(line.trim()).ok_or_else(|| format!("expected name-version-release[.arch], got {line:?}"))?;
    Ok(inv::InstalledPackage {
        name: nevra.name.to_owned(),
        version: nevra.evr(),
        architecture: nevra.arch.map(str::to_owned),
        source: None,
    })
}

/// A value rpm printed, or nothing for its `(none)`.
fn known(value: &str) -> Option<String> {
    (!value.is_empty() && value != "(none)").then(|| value.to_owned())
}

/// The source package of `bash-5.1.8-6.el9.src.rpm`: the name before its version and release.
fn source_name(source_rpm: &str) -> Option<String> {
    let stem = source_rpm.strip_suffix(".src.rpm").or_else(|| source_rpm.strip_suffix(".nosrc.rpm"))?;
    let mut parts = stem.rsplitn(3, '-');
    let (_release, _version, name) = (parts.next()?, parts.next()?, parts.next()?);
    (!name.is_empty()).then(|| name.to_owned())
}

fn evr_without_zero_epoch(epoch: &str, version_release: &str) -> String {
    if epoch.trim_start_matches('0').is_empty() {
        version_release.to_owned()
    } else {
        format!("{epoch}:{version_release}")
    }
}

/// A package named as rpm tools print it: `name-[epoch:]version-release[.arch]`, e.g.
/// `perl-Pod-Simple-1:3.13-130.el6_4.x86_64` in dnf's advisory lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Nevra<'a> {
    pub name: &'a str,
    pub epoch: Option<&'a str>,
    pub version: &'a str,
    pub release: &'a str,
    pub arch: Option<&'a str>,
}

impl<'a> Nevra<'a> {
    /// Split from the right, since names contain dashes and versions dots. None when the text
    /// has no name, version and release.
    pub fn parse(text: &'a str) -> Option<Nevra<'a>> {
        if text.is_empty() || text.contains(char::is_whitespace) {
            return None;
        }
        let (rest, arch) = match text.rsplit_once('.') {
            Some((rest, arch)) if is_architecture(arch) => (rest, Some(arch)),
            _ => (text, None),
        };
        let (rest, release) = rest.rsplit_once('-')?;
        let (name, epoch_version) = rest.rsplit_once('-')?;
        let (epoch, version) = match epoch_version.split_once(':') {
            Some((epoch, version)) => (Some(epoch), version),
            None => (None, epoch_version),
        };
        let epoch_is_a_number = epoch.is_none_or(|e| !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()));
        let complete = !name.is_empty() && !version.is_empty() && !release.is_empty();
        (complete && epoch_is_a_number).then_some(Nevra { name, epoch, version, release, arch })
    }

    /// `[epoch:]version-release`, without a zero epoch.
    pub fn evr(&self) -> String {
        evr_without_zero_epoch(self.epoch.unwrap_or("0"), &format!("{}-{}", self.version, self.release))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rpm 4.18 on this machine, over packages converted from Debian's (see the README).
    const QUERIED: &str = include_str!("../../../testdata/packages/rpm/qa-queryformat.txt");
    const PLAIN: &str = include_str!("../../../testdata/packages/rpm/qa-nevra.txt");
    /// A RHEL 7.5 host's `rpm -qa`, from Red Hat's insights-host-inventory test payloads.
    const RHEL7: &str = include_str!("../../../testdata/packages/rpm/qa-nevra-rhel7.txt");

    fn package(name: &str, version: &str, arch: Option<&str>, source: Option<&str>) -> inv::InstalledPackage {
        inv::InstalledPackage {
            name: name.into(),
            version: version.into(),
            architecture: arch.map(Into::into),
            source: source.map(Into::into),
        }
    }

    #[test]
    fn parses_the_captured_query_format() {
        let packages = parse_rpm_qa(QUERIED).unwrap();
        assert_eq!(
            packages,
            [
                package("zip", "3.0-13+deb12u1", Some("x86_64"), None),
                package("tzdata", "2026f-0+deb12u1", Some("noarch"), None),
                package("sed", "4.9-1+deb12u1", Some("x86_64"), None),
                package("libcap2", "1:2.66-4+deb12u3+b1", Some("x86_64"), None),
                package("gpg-pubkey", "aec0a8f0-63cbd05d", None, None),
            ]
        );
    }

    #[test]
    fn plain_and_queried_lines_agree_but_for_the_epoch() {
        let plain = parse_rpm_qa(PLAIN).unwrap();
        let queried = parse_rpm_qa(QUERIED).unwrap();
        assert_eq!(plain.len(), queried.len());
        for (plain, queried) in plain.iter().zip(&queried) {
            assert_eq!((&plain.name, &plain.architecture), (&queried.name, &queried.architecture));
            assert!(queried.version.ends_with(&plain.version), "{queried:?} / {plain:?}");
        }
    }

    #[test]
    fn parses_a_rhel_package_list() {
        let packages = parse_rpm_qa(RHEL7).unwrap();
        assert_eq!(packages.len(), 34);
        assert_eq!(packages[0], package("rpm-python", "4.11.3-32.el7", Some("x86_64"), None));
        let notes = packages.iter().find(|p| p.name.starts_with("Red_Hat")).unwrap();
        assert_eq!(notes, &package("Red_Hat_Enterprise_Linux-Release_Notes-7-en-US", "7-2.el7", Some("noarch"), None));
        let key = packages.iter().find(|p| p.version == "2fa658e0-45700c69").unwrap();
        assert_eq!((key.name.as_str(), key.architecture.as_deref()), ("gpg-pubkey", None));
        let kernels = packages.iter().filter(|p| p.name == "kernel").count();
        assert_eq!(kernels, 2, "kernels are installed side by side");
    }

    #[test]
    fn source_packages() {
        let line = "bash\t0:5.1.8-6.el9\tx86_64\tbash-5.1.8-6.el9.src.rpm\n\
                    glibc-common\t0:2.34-83.el9.7\tx86_64\tglibc-2.34-83.el9.7.src.rpm\n\
                    NetworkManager\t1:1.46.0-8.el9\tx86_64\tNetworkManager-1.46.0-8.el9.src.rpm";
        let packages = parse_rpm_qa(line).unwrap();
        assert_eq!(packages[0].source, None, "same name as the binary");
        assert_eq!(packages[1].source.as_deref(), Some("glibc"));
        assert_eq!(packages[2].version, "1:1.46.0-8.el9");
        assert_eq!(source_name("x.rpm"), None);
        assert_eq!(source_name("-1-2.src.rpm"), None);
    }

    #[test]
    fn nevra() {
        let perl = Nevra::parse("perl-Pod-Simple-1:3.13-130.el6_4.x86_64").unwrap();
        assert_eq!(
            perl,
            Nevra {
                name: "perl-Pod-Simple",
                epoch: Some("1"),
                version: "3.13",
                release: "130.el6_4",
                arch: Some("x86_64")
            }
        );
        assert_eq!(perl.evr(), "1:3.13-130.el6_4");
        assert_eq!(Nevra::parse("glibc-2.28-26.fc29.x86_64").unwrap().evr(), "2.28-26.fc29");
        assert_eq!(Nevra::parse("foo-0:1-2.noarch").unwrap().evr(), "1-2");
        for not_a_nevra in ["", "bash", "bash-5", "-5-1.x86_64", "bash--1", "a-x:1-2", "a b-1-2", "a-:1-2"] {
            assert_eq!(Nevra::parse(not_a_nevra), None, "{not_a_nevra:?}");
        }
    }

    #[test]
    fn malformed_lines_name_the_line() {
        let cases = [
            "bash\t0:5.1\tx86_64\tbash.src.rpm",
            "bash\t5.1-1\tx86_64\t(none)",
            "bash\tx:5.1-1\tx86_64\t(none)",
            "bash\t0:5.1-1\tx86_64",
            "\t0:5.1-1\tx86_64\t(none)",
            "bash",
            "bash 5.1-1",
        ];
        for line in cases {
            let text = format!("sed-4.9-1.x86_64\n{line}\n");
            assert!(matches!(parse_rpm_qa(&text), Err(ParseError::Line { line: 2, .. })), "{line:?}");
        }
        assert_eq!(parse_rpm_qa("\n").unwrap(), []);
    }
}
