//! Installed packages, pending updates and whether a reboot is pending, as the report's
//! `packages` section: from dpkg and apt on Debian-family hosts, rpm and dnf (or yum) on Red
//! Hat-family ones.
//!
//! This module owns reading the package databases and asking the package managers what they
//! would do. It only ever asks: it must not take the package manager's lock, refresh its
//! metadata (the host's own timers do that; apt-daily, dnf-makecache), install, remove or
//! download anything, nor write a cache. Nor does it judge: whether an update is urgent is the
//! server's call; it reports what the archive calls a security update.

mod apt;
mod dnf;
mod dpkg;
mod reboot;
mod rpm;

use std::path::{Path, PathBuf};
use std::time::Duration;

use tend_proto::inventory as inv;

pub use apt::{parse_apt_simulate, parse_apt_upgradable};
pub use dnf::{merge_dnf_updates, parse_dnf_check_update, parse_dnf_updateinfo};
pub use dpkg::{DPKG_STATUS_PATH, parse_dpkg_status};
pub use reboot::{
    NOTIFIER_PATH, REBOOT_FLAG_DIR, RebootStatus, parse_needs_restarting, parse_reboot_required_pkgs, read_reboot_flag,
};
pub use rpm::{RPM_QUERY_FORMAT, parse_rpm_qa};

use super::source::parse_file;
use super::tool::{self, ToolOutput};
use super::{Collector, Section};
use crate::Error;

/// The collector's name, as reports and `CollectorSet::make_due` know it.
pub const NAME: &str = "packages";

/// Longest run of the whole collector; the tools' own limits below add up to less.
const TIMEOUT: Duration = Duration::from_secs(120);
/// Packages change when someone updates the host, which is rare next to a collection cycle, and
/// asking the package managers costs seconds of CPU.
const PERIOD: Duration = Duration::from_secs(3600);
const APT_TIMEOUT: Duration = Duration::from_secs(90);
const RPM_TIMEOUT: Duration = Duration::from_secs(15);
/// `dnf --version`, which tells whether dnf (or yum) is there.
const DNF_PROBE_TIMEOUT: Duration = Duration::from_secs(5);
const DNF_TIMEOUT: Duration = Duration::from_secs(30);
const NEEDS_RESTARTING_TIMEOUT: Duration = Duration::from_secs(10);

/// A simulated dist-upgrade (`-s`) changes nothing; without the lock (`Debug::NoLocking`) it
/// neither waits for nor blocks a running apt, and with both cache files switched off it builds
/// its cache in memory instead of writing `/var/cache/apt/*.bin`.
const APT_GET_ARGS: &[&str] = &[
    "-s",
    "-o",
    "Debug::NoLocking=1",
    "-o",
    "Dir::Cache::pkgcache=",
    "-o",
    "Dir::Cache::srcpkgcache=",
    "dist-upgrade",
];

/// Reports the host's packages through whichever package manager it has.
#[derive(Debug, Clone)]
pub struct PackagesCollector {
    dpkg_status: PathBuf,
    reboot_flag_dir: PathBuf,
    notifier: PathBuf,
    apt_get: String,
    rpm: String,
    /// Tried in order: dnf, then yum on hosts older than dnf.
    dnf: Vec<String>,
    needs_restarting: String,
}

impl PackagesCollector {
    pub fn new() -> Self {
        Self::default()
    }

    fn dpkg_packages(&self) -> Result<inv::Packages, Error> {
        let installed = parse_file(&self.dpkg_status, parse_dpkg_status)?;
        let mut problems = Vec::new();
        let updates = self.apt_updates().unwrap_or_else(|error| noted(&mut problems, "updates", error));
        let reboot = read_reboot_flag(&self.reboot_flag_dir, &self.notifier)
            .unwrap_or_else(|error| noted(&mut problems, "reboot", error));
        Ok(packages("dpkg", installed, updates, reboot, problems))
    }

    fn apt_updates(&self) -> Result<Vec<inv::PendingUpdate>, Error> {
        let output = succeeded(tool::run(&self.apt_get, APT_GET_ARGS, APT_TIMEOUT)?, "apt-get -s dist-upgrade", &[0])?;
        parse_apt_simulate(&output.stdout).map_err(|error| error.at(Path::new("apt-get -s dist-upgrade")))
    }

    fn rpm_packages(&self) -> Result<inv::Packages, Error> {
        let query = ["-qa", "--queryformat", RPM_QUERY_FORMAT];
        let output = match tool::run(&self.rpm, &query, RPM_TIMEOUT) {
            Err(Error::Unavailable(_)) => {
                return Err(Error::Unavailable(format!(
                    "no package manager: neither {} nor {} exists",
                    self.dpkg_status.display(),
                    self.rpm
                )));
            }
            other => succeeded(other?, "rpm -qa", &[0])?,
        };
        let installed = parse_rpm_qa(&output.stdout).map_err(|error| error.at(Path::new("rpm -qa")))?;
        let mut problems = Vec::new();
        let updates = self.dnf_updates(&installed).unwrap_or_else(|error| noted(&mut problems, "updates", error));
        let reboot = self.rpm_reboot().unwrap_or_else(|error| noted(&mut problems, "reboot", error));
        Ok(packages("rpm", installed, updates, reboot, problems))
    }

    /// Every update dnf would install, marked security when an advisory says so. Both lists
    /// come from dnf's cache (`-C`), which the host's dnf-makecache timer keeps current.
    fn dnf_updates(&self, installed: &[inv::InstalledPackage]) -> Result<Vec<inv::PendingUpdate>, Error> {
        let program = self.dnf_program()?;
        let name = Path::new(program).file_name().map_or(program.into(), |name| name.to_string_lossy());
        // dnf check-update exits 100 when there are updates, 0 when there are none.
        let what = format!("{name} check-update");
        let check = succeeded(tool::run(program, &["-q", "-C", "check-update"], DNF_TIMEOUT)?, &what, &[0, 100])?;
        let updates = parse_dnf_check_update(&check.stdout).map_err(|error| error.at(Path::new(&what)))?;
        // yum only knows the older positional form.
        let security = if name == "yum" { "security" } else { "--security" };
        let what = format!("{name} updateinfo list");
        let advisories = tool::run(program, &["-q", "-C", "updateinfo", "list", security], DNF_TIMEOUT)?;
        let advisories = succeeded(advisories, &what, &[0])?;
        let advisories = parse_dnf_updateinfo(&advisories.stdout).map_err(|error| error.at(Path::new(&what)))?;
        Ok(merge_dnf_updates(updates, &advisories, installed))
    }

    fn dnf_program(&self) -> Result<&str, Error> {
        let installed = |program: &&String| tool::run(program, &["--version"], DNF_PROBE_TIMEOUT).is_ok();
        let names = self.dnf.join(" nor ");
        self.dnf
            .iter()
            .find(installed)
            .map(String::as_str)
            .ok_or_else(|| Error::Unavailable(format!("neither {names} is installed")))
    }

    /// `needs-restarting -r`, or dnf 5's `dnf needs-restarting -r` where the former is gone; the
    /// reboot is unknown where neither exists.
    fn rpm_reboot(&self) -> Result<RebootStatus, Error> {
        let output = match tool::run(&self.needs_restarting, &["-r"], NEEDS_RESTARTING_TIMEOUT) {
            Err(Error::Unavailable(_)) => match self.dnf_program() {
                Ok(dnf) => tool::run(dnf, &["-q", "needs-restarting", "-r"], NEEDS_RESTARTING_TIMEOUT)?,
                Err(_) => return Ok(RebootStatus::default()),
            },
            other => other?,
        };
        parse_needs_restarting(&output.stdout).map_err(|error| {
            let said = first_line(&output.stderr).unwrap_or("no message");
            Error::Failed(format!("{} ({}): {said}", error.at(Path::new("needs-restarting -r")), output.status))
        })
    }
}

impl Default for PackagesCollector {
    fn default() -> Self {
        PackagesCollector {
            dpkg_status: PathBuf::from(DPKG_STATUS_PATH),
            reboot_flag_dir: PathBuf::from(REBOOT_FLAG_DIR),
            notifier: PathBuf::from(NOTIFIER_PATH),
            apt_get: "apt-get".to_owned(),
            rpm: "rpm".to_owned(),
            dnf: vec!["dnf".to_owned(), "yum".to_owned()],
            needs_restarting: "needs-restarting".to_owned(),
        }
    }
}

impl Collector for PackagesCollector {
    fn name(&self) -> &'static str {
        NAME
    }

    fn timeout(&self) -> Duration {
        TIMEOUT
    }

    fn period(&self) -> Duration {
        PERIOD
    }

    /// dpkg when its database exists (a Debian host may have rpm installed as a tool), rpm
    /// otherwise. The installed packages are the section: without them it fails. Updates and
    /// the reboot are extras; when they cannot be read the section says why in its `error`.
    fn collect(&mut self) -> Result<Section, Error> {
        let packages = if self.dpkg_status.exists() { self.dpkg_packages()? } else { self.rpm_packages()? };
        Ok(Section::Packages(packages))
    }
}

fn packages(
    manager: &str,
    installed: Vec<inv::InstalledPackage>,
    updates: Vec<inv::PendingUpdate>,
    reboot: RebootStatus,
    problems: Vec<String>,
) -> inv::Packages {
    inv::Packages {
        manager: manager.to_owned(),
        installed,
        updates,
        reboot_required: reboot.required,
        reboot_required_packages: reboot.packages,
        reboot_required_since_ms: reboot.since_ms,
        error: (!problems.is_empty()).then(|| problems.join("; ")),
    }
}

/// Records why a part of the section is missing, and stands in an empty value for it.
fn noted<T: Default>(problems: &mut Vec<String>, part: &str, error: Error) -> T {
    problems.push(format!("{part}: {error}"));
    T::default()
}

/// The output of a tool that exited with one of the statuses it uses for success.
fn succeeded(output: ToolOutput, what: &str, ok: &[i32]) -> Result<ToolOutput, Error> {
    if output.status.code().is_some_and(|code| ok.contains(&code)) {
        return Ok(output);
    }
    let said = first_line(&output.stderr).or_else(|| first_line(&output.stdout)).unwrap_or("no message");
    Err(Error::Failed(format!("{what} failed ({}): {said}", output.status)))
}

fn first_line(text: &str) -> Option<&str> {
    text.lines().map(str::trim).find(|line| !line.is_empty())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::collect::compliance;

    const RPM_QA: &str = include_str!("../../../testdata/packages/rpm/qa-nevra-rhel7.txt");
    const CHECK_UPDATE: &str = include_str!("../../../testdata/packages/dnf/yum-check-update-fedora15.txt");
    const UPDATEINFO: &str = include_str!("../../../testdata/packages/dnf/dnf4-updateinfo-list-all-security.txt");
    const NEEDS_RESTARTING: &str = include_str!("../../../testdata/packages/dnf/needs-restarting-reboot.txt");
    const DPKG_STATUS: &str = include_str!("../../../testdata/packages/dpkg/status");

    /// A stand-in program that prints `stdout` and exits with `status`.
    fn fake(dir: &Path, name: &str, stdout: &str, status: i32) -> String {
        let output = dir.join(format!("{name}.out"));
        std::fs::write(&output, stdout).unwrap();
        let program = dir.join(name);
        std::fs::write(&program, format!("#!/bin/sh\ncat '{}'\nexit {status}\n", output.display())).unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        program.display().to_string()
    }

    /// A collector that finds nothing real: no dpkg database, no tools.
    fn on_nothing(dir: &Path) -> PackagesCollector {
        PackagesCollector {
            dpkg_status: dir.join("no-dpkg-status"),
            reboot_flag_dir: dir.to_owned(),
            notifier: dir.join("no-notifier"),
            apt_get: "tend-no-such-apt-get".into(),
            rpm: "tend-no-such-rpm".into(),
            dnf: vec!["tend-no-such-dnf".into()],
            needs_restarting: "tend-no-such-needs-restarting".into(),
        }
    }

    #[test]
    fn meets_the_collector_contract_on_this_machine() {
        match compliance::check(&mut PackagesCollector::new()) {
            Ok(Section::Packages(packages)) => {
                assert!(["dpkg", "rpm"].contains(&packages.manager.as_str()), "{}", packages.manager);
                assert!(!packages.installed.is_empty());
                assert!(
                    packages.updates.iter().all(|update| !update.name.is_empty() && !update.new_version.is_empty())
                );
            }
            Err(Error::Unavailable(_)) => {}
            other => panic!("expected packages or unavailable, got {other:?}"),
        }
    }

    #[test]
    fn without_a_package_manager_the_collector_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let error = on_nothing(dir.path()).collect().unwrap_err();
        assert!(matches!(error, Error::Unavailable(_)), "{error}");
        assert!(error.to_string().contains("no package manager"), "{error}");
    }

    /// A stand-in dnf that answers check-update and updateinfo with captured outputs.
    fn fake_dnf(dir: &Path, check_update: &str, updateinfo: &str) -> String {
        std::fs::write(dir.join("check-update.out"), check_update).unwrap();
        std::fs::write(dir.join("updateinfo.out"), updateinfo).unwrap();
        let script = format!(
            "#!/bin/sh\n\
             case \"$*\" in\n\
             *check-update*) cat '{dir}/check-update.out'; exit 100 ;;\n\
             *updateinfo*) cat '{dir}/updateinfo.out'; exit 0 ;;\n\
             --version) echo 4.14.0 ;;\n\
             *) exit 1 ;;\n\
             esac\n",
            dir = dir.display()
        );
        let program = dir.join("dnf");
        std::fs::write(&program, script).unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        program.display().to_string()
    }

    #[test]
    fn an_rpm_host_reports_installed_updates_advisories_and_the_reboot() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path();
        // The captured advisory is for CQRlib, which the captured check-update does not list.
        let check_update = format!("{CHECK_UPDATE}CQRlib.x86_64    1.1.2-16.fc29    updates\n");
        let mut collector = PackagesCollector {
            rpm: fake(path, "rpm", RPM_QA, 0),
            dnf: vec!["tend-no-such-dnf".into(), fake_dnf(path, &check_update, UPDATEINFO)],
            needs_restarting: fake(path, "needs-restarting", NEEDS_RESTARTING, 1),
            ..on_nothing(path)
        };
        let Ok(Section::Packages(packages)) = collector.collect() else { panic!("no packages") };
        assert_eq!((packages.manager.as_str(), packages.installed.len(), packages.error), ("rpm", 34, None));
        assert_eq!(packages.updates.len(), 16);
        let yum = packages.updates.iter().find(|u| u.name == "yum").unwrap();
        assert_eq!((yum.current_version.as_deref(), yum.security), (Some("3.4.3-158.el7"), false));
        let kernel = packages.updates.iter().find(|u| u.name == "kernel").unwrap();
        assert_eq!(kernel.current_version, None, "two kernels are installed");
        let cqrlib = packages.updates.last().unwrap();
        assert_eq!((cqrlib.security, cqrlib.origin.as_deref()), (true, Some("FEDORA-2018-318f184113")));
        assert_eq!(packages.reboot_required, Some(true));
        assert_eq!(packages.reboot_required_packages, ["glibc", "kernel"]);
    }

    #[test]
    fn a_failing_dnf_costs_only_the_updates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path();
        let mut collector = PackagesCollector {
            rpm: fake(path, "rpm", RPM_QA, 0),
            dnf: vec![fake(path, "dnf", "Error: Cache-only enabled but no cache for 'baseos'\n", 1)],
            needs_restarting: fake(path, "needs-restarting", "No such command\n", 1),
            ..on_nothing(path)
        };
        let Ok(Section::Packages(packages)) = collector.collect() else { panic!("no packages") };
        assert_eq!((packages.installed.len(), packages.updates.len(), packages.reboot_required), (34, 0, None));
        let error = packages.error.unwrap_or_default();
        assert!(error.starts_with("updates: dnf check-update failed (exit status: 1): Error: Cache-only"), "{error}");
        assert!(error.contains("; reboot: needs-restarting -r: no reboot verdict"), "{error}");
    }

    #[test]
    fn an_rpm_host_without_dnf_or_needs_restarting_still_reports_its_packages() {
        let dir = tempfile::tempdir().unwrap();
        let collector = PackagesCollector { rpm: fake(dir.path(), "rpm", RPM_QA, 0), ..on_nothing(dir.path()) };
        let Ok(Section::Packages(packages)) = collector.clone().collect() else { panic!("no packages") };
        assert_eq!((packages.installed.len(), packages.updates.len(), packages.reboot_required), (34, 0, None));
        assert_eq!(packages.error.as_deref(), Some("updates: unavailable: neither tend-no-such-dnf is installed"));
    }

    #[test]
    fn a_dpkg_host_whose_apt_fails_reports_why() {
        let dir = tempfile::tempdir().unwrap();
        let status = dir.path().join("status");
        std::fs::write(&status, DPKG_STATUS).unwrap();
        let apt_get = fake(dir.path(), "apt-get", "E: Unmet dependencies.\n", 100);
        let mut collector = PackagesCollector { dpkg_status: status, apt_get, ..on_nothing(dir.path()) };
        let Ok(Section::Packages(packages)) = collector.collect() else { panic!("no packages") };
        assert_eq!((packages.manager.as_str(), packages.installed.len()), ("dpkg", 17));
        let error = packages.error.unwrap_or_default();
        assert!(error.starts_with("updates: apt-get -s dist-upgrade failed (exit status: 100): E: Unmet"), "{error}");
        assert_eq!(packages.reboot_required, None, "no notifier, no flag: unknown");
    }

    #[test]
    fn a_broken_rpm_database_fails_the_collector() {
        let dir = tempfile::tempdir().unwrap();
        let rpm = fake(dir.path(), "rpm", "error: rpmdb: BDB0113 Thread/process failed\n", 1);
        let error = PackagesCollector { rpm, ..on_nothing(dir.path()) }.collect().unwrap_err();
        assert_eq!(error.collector_outcome(), "failed");
        assert!(error.to_string().starts_with("rpm -qa failed (exit status: 1): error: rpmdb"), "{error}");
    }
}
