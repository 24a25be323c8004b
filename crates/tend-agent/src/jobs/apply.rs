//! `apply_updates`: brings the host's packages up to date through its own package manager,
//! without a question asked, and says what changed.
//!
//! apt-get where it is installed, else dnf. apt runs with `DEBIAN_FRONTEND=noninteractive`,
//! `NEEDRESTART_MODE=a` (needrestart restarts services instead of asking), `LC_ALL=C`, no
//! standard input, and dpkg's `--force-confdef --force-confold`: a configuration file changed on
//! the host keeps the host's version, never a prompt. Only upgrades: named packages with
//! `--only-upgrade install` (a name that is not installed stays so), everything with
//! `apt-get upgrade` (which neither removes packages nor installs new ones).
//!
//! What changed is not parsed from the package manager's chatter but read from its database
//! before and after (`dpkg-query -W`, `rpm -qa`), so a run that failed half-way still says
//! which packages it did upgrade. Must not: run anything but the configured package manager
//! and its query tool, take parameters the job did not validate, or outlive
//! `apply_updates_timeout_secs` (every step shares that one deadline).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use tend_proto::jobs::{ApplyUpdatesParams, JobResult, MAX_PACKAGES, PackageChange};
use tokio::time::Instant;

use super::run_command_in;
use crate::collect::packages::parse_apt_simulate;
use crate::collect::tool;
use crate::config::JobsConfig;

/// The environment of every package manager run: no dialog, no needrestart prompt, untranslated
/// output.
const ENV: &[(&str, &str)] =
    &[("DEBIAN_FRONTEND", "noninteractive"), ("NEEDRESTART_MODE", "a"), ("LC_ALL", "C"), ("LANG", "C")];

/// Given to apt-get when it installs: keep the host's configuration files without asking, and
/// wait a while for apt's lock (apt-daily may hold it) instead of failing at once.
const APT_INSTALL_OPTIONS: &[&str] = &[
    "-y",
    "-q",
    "-o",
    "Dpkg::Options::=--force-confdef",
    "-o",
    "Dpkg::Options::=--force-confold",
    "-o",
    "DPkg::Lock::Timeout=120",
];

/// One line per package dpkg knows: name (with its architecture where several may be
/// installed), version, and status (`ii ` is installed).
const DPKG_QUERY_FORMAT: &str = "${binary:Package}\t${Version}\t${db:Status-Abbrev}\n";
const RPM_QUERY_FORMAT: &str = "%{NAME}.%{ARCH}\t%|EPOCH?{%{EPOCH}:}|%{VERSION}-%{RELEASE}\tii\n";
/// How long listing the installed packages may take.
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Manager {
    Apt,
    Dnf,
}

/// Runs an `apply_updates` job with `params` to its end or its deadline. The result's `changes`
/// is set whenever the packages could be listed afterwards.
pub(super) async fn apply_updates(config: &JobsConfig, params: &serde_json::Value) -> JobResult {
    let params = match ApplyUpdatesParams::from_value(params) {
        Ok(params) => params,
        Err(e) => return failure(format!("not run: invalid parameters: {e}")),
    };
    let deadline = Instant::now() + Duration::from_secs(config.apply_updates_timeout_secs);
    let manager = if on_path(&config.apt_get) {
        Manager::Apt
    } else if on_path(&config.dnf) {
        Manager::Dnf
    } else {
        return failure(format!(
            "not run: no package manager: neither {} nor {} is installed",
            config.apt_get, config.dnf
        ));
    };
    let before = match snapshot(config, manager).await {
        Ok(before) => before,
        Err(e) => return failure(format!("not run: cannot list the installed packages: {e}")),
    };
    let mut transcript = Transcript::new(deadline);
    match manager {
        Manager::Apt => apt(config, &params, &mut transcript).await,
        Manager::Dnf => dnf(config, &params, &mut transcript).await,
    }
    let mut result = transcript.finish();
    match snapshot(config, manager).await {
        Ok(after) => result.changes = Some(changes(&before, &after)),
        Err(e) => result.output.push_str(&format!("\ncannot list the installed packages afterwards: {e}")),
    }
    result
}

async fn apt(config: &JobsConfig, params: &ApplyUpdatesParams, transcript: &mut Transcript) {
    let apt_get = |args: &[&str]| -> Vec<String> {
        let mut command = vec![config.apt_get.clone()];
        command.extend(config.apt_options.iter().cloned());
        command.extend(args.iter().map(|arg| (*arg).to_owned()));
        command
    };
    if params.refresh && !transcript.run(&apt_get(&["-q", "update"])).await {
        return;
    }
    let mut named: Vec<&str> = params.packages.iter().map(String::as_str).collect();
    if params.security_only {
        // apt has no "security only" switch: ask what the same upgrade would install, keep
        // what comes from a security suite (as the inventory reports it), and name those.
        let mut simulate = vec!["-s", "-q", "-o", "Debug::NoLocking=1"];
        simulate.extend(only_upgrade(&named));
        let Some(plan) = transcript.capture(&apt_get(&simulate)).await else { return };
        let security = match parse_apt_simulate(&plan) {
            Ok(updates) => updates.into_iter().filter(|update| update.security).map(|update| update.name),
            Err(e) => return transcript.fail(e.at(Path::new("apt-get -s")).to_string()),
        };
        let security: Vec<String> = security.collect();
        if security.is_empty() {
            return transcript.note("no security update is pending");
        }
        let install = only_upgrade(&security.iter().map(String::as_str).collect::<Vec<_>>());
        let mut args = APT_INSTALL_OPTIONS.to_vec();
        args.extend(install);
        transcript.run(&apt_get(&args)).await;
        return;
    }
    named.dedup();
    let mut args = APT_INSTALL_OPTIONS.to_vec();
    args.extend(only_upgrade(&named));
    transcript.run(&apt_get(&args)).await;
}

/// apt-get's command that upgrades `packages`, or every package when none is named.
fn only_upgrade<'a>(packages: &[&'a str]) -> Vec<&'a str> {
    if packages.is_empty() {
        return vec!["upgrade"];
    }
    let mut args = vec!["--only-upgrade", "install"];
    args.extend_from_slice(packages);
    args
}

/// dnf's upgrade; untested beyond its command line, as the test machines run Debian.
async fn dnf(config: &JobsConfig, params: &ApplyUpdatesParams, transcript: &mut Transcript) {
    let mut command = vec![config.dnf.clone(), "-y".to_owned()];
    if params.refresh {
        command.push("--refresh".to_owned());
    }
    if params.security_only {
        command.push("--security".to_owned());
    }
    command.push("upgrade".to_owned());
    command.extend(params.packages.iter().cloned());
    transcript.run(&command).await;
}

/// The steps of one job, their output one after the other, under one deadline.
struct Transcript {
    deadline: Instant,
    output: String,
    ok: bool,
    exit_code: Option<i32>,
}

impl Transcript {
    fn new(deadline: Instant) -> Transcript {
        Transcript { deadline, output: String::new(), ok: true, exit_code: None }
    }

    /// Runs `command`, adds its output; whether it succeeded.
    async fn run(&mut self, command: &[String]) -> bool {
        self.capture(command).await.is_some()
    }

    /// Runs `command` and returns its output when it succeeded.
    async fn capture(&mut self, command: &[String]) -> Option<String> {
        self.line(format!("$ {}", command.join(" ")));
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            self.fail("the job's deadline passed before this step".into());
            return None;
        }
        let ran = run_command_in(command, ENV, left, true).await;
        self.output.push_str(&ran.output);
        self.ok &= ran.ok;
        self.exit_code = ran.exit_code;
        ran.ok.then_some(ran.output)
    }

    fn note(&mut self, note: &str) {
        self.line(note.to_owned());
    }

    fn fail(&mut self, why: String) {
        self.ok = false;
        self.line(why);
    }

    fn line(&mut self, line: String) {
        if !self.output.is_empty() && !self.output.ends_with('\n') {
            self.output.push('\n');
        }
        self.output.push_str(&line);
        self.output.push('\n');
    }

    fn finish(self) -> JobResult {
        JobResult { ok: self.ok, exit_code: self.exit_code, output: self.output, ..JobResult::default() }
    }
}

/// The installed packages and their versions, from the package manager's database.
async fn snapshot(config: &JobsConfig, manager: Manager) -> Result<BTreeMap<String, String>, String> {
    let (program, args) = match manager {
        Manager::Apt => {
            (config.dpkg_query.clone(), vec!["-W".to_owned(), "-f".to_owned(), DPKG_QUERY_FORMAT.to_owned()])
        }
        Manager::Dnf => {
            ("rpm".to_owned(), vec!["-qa".to_owned(), "--queryformat".to_owned(), RPM_QUERY_FORMAT.to_owned()])
        }
    };
    let listed = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        tool::run(&program, &args, SNAPSHOT_TIMEOUT).map_err(|e| e.to_string()).and_then(|out| {
            if out.status.success() {
                Ok(out.stdout)
            } else {
                Err(format!("{program} exited with {}: {}", out.status, out.stderr.trim()))
            }
        })
    })
    .await
    .map_err(|e| e.to_string())??;
    Ok(installed_versions(&listed))
}

/// Name → version of the installed packages in a listing of `name\tversion\tstatus` lines;
/// packages dpkg knows but has not installed (removed with their configuration left, `rc`) are
/// not.
fn installed_versions(listing: &str) -> BTreeMap<String, String> {
    listing
        .lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let (name, version, status) = (fields.next()?, fields.next()?, fields.next().unwrap_or("ii"));
            let installed = matches!(status.as_bytes().get(1), Some(b'i' | b'U' | b'F' | b'W' | b't'));
            (installed && !name.is_empty() && !version.is_empty()).then(|| (name.to_owned(), version.to_owned()))
        })
        .collect()
}

/// What differs between two listings, by package name, at most [`MAX_PACKAGES`].
fn changes(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<PackageChange> {
    let mut changes: Vec<PackageChange> = after
        .iter()
        .filter(|(name, version)| before.get(*name) != Some(*version))
        .map(|(name, version)| PackageChange {
            package: name.clone(),
            from: before.get(name).cloned(),
            to: Some(version.clone()),
        })
        .chain(before.iter().filter(|(name, _)| !after.contains_key(*name)).map(|(name, version)| PackageChange {
            package: name.clone(),
            from: Some(version.clone()),
            to: None,
        }))
        .take(MAX_PACKAGES)
        .collect();
    changes.sort_by(|a, b| a.package.cmp(&b.package));
    changes
}

/// Whether `program` can be started: a path that exists, or a name found on `PATH`.
fn on_path(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

fn failure(output: String) -> JobResult {
    JobResult { output, ..JobResult::default() }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_listing_keeps_installed_packages_only() {
        let listing = "openssl\t3.0.11-1~deb12u2\tii \nold-conf\t1.0\trc \nlibc6:amd64\t2.36-9\tii \n\
                       held\t2\thi \nhalf\t1\tiU \nbroken line\n";
        let read = installed_versions(listing);
        let names: Vec<&str> = read.keys().map(String::as_str).collect();
        assert_eq!(names, ["half", "held", "libc6:amd64", "openssl"]);
        assert_eq!(read["openssl"], "3.0.11-1~deb12u2");
    }

    #[test]
    fn changes_name_upgrades_new_packages_and_removals() {
        let before = installed_versions("a\t1\tii \nb\t1\tii \ngone\t5\tii \n");
        let after = installed_versions("a\t2\tii \nb\t1\tii \nnew\t1\tii \n");
        let change = |package: &str, from: Option<&str>, to: Option<&str>| PackageChange {
            package: package.into(),
            from: from.map(Into::into),
            to: to.map(Into::into),
        };
        assert_eq!(
            changes(&before, &after),
            vec![change("a", Some("1"), Some("2")), change("gone", Some("5"), None), change("new", None, Some("1"))]
        );
        assert!(changes(&after, &after).is_empty());
    }

    #[test]
    fn apt_commands_only_upgrade() {
        assert_eq!(only_upgrade(&[]), ["upgrade"]);
        assert_eq!(only_upgrade(&["openssl", "libssl3"]), ["--only-upgrade", "install", "openssl", "libssl3"]);
    }

    /// A fake apt-get that records its arguments and environment and "upgrades" by rewriting
    /// the listing a fake dpkg-query prints.
    fn fake_tools(dir: &Path, apt_body: &str) -> JobsConfig {
        let listing = dir.join("listing");
        fs::write(&listing, "dummy\t1.0\tii \nother\t3\tii \n").unwrap();
        let script = |name: &str, body: String| {
            let path = dir.join(name);
            fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
            path.display().to_string()
        };
        let calls = dir.join("calls");
        let apt_get = script(
            "apt-get",
            format!(
                "echo \"$* | $DEBIAN_FRONTEND $NEEDRESTART_MODE $LC_ALL\" >> '{calls}'\n{apt_body}",
                calls = calls.display(),
            ),
        );
        let dpkg_query = script("dpkg-query", format!("cat '{}'", listing.display()));
        JobsConfig {
            apt_get,
            dpkg_query,
            apt_options: vec!["-o".into(), "Dir::Etc::SourceParts=/dev/null".into()],
            ..JobsConfig::default()
        }
    }

    #[tokio::test]
    async fn apt_runs_without_questions_and_reports_what_changed() {
        let dir = tempfile::tempdir().unwrap();
        let listing = dir.path().join("listing");
        let upgrade = format!(
            "case \"$*\" in *install*) printf 'dummy\\t2.0\\tii \\nother\\t3\\tii \\n' > '{}'; echo upgraded;; esac",
            listing.display()
        );
        let config = fake_tools(dir.path(), &upgrade);
        let params = serde_json::json!({ "packages": ["dummy"] });
        let result = apply_updates(&config, &params).await;
        assert!(result.ok && result.exit_code == Some(0), "{result:?}");
        let change = PackageChange { package: "dummy".into(), from: Some("1.0".into()), to: Some("2.0".into()) };
        assert_eq!(result.changes, Some(vec![change]));
        let calls = fs::read_to_string(dir.path().join("calls")).unwrap();
        let calls: Vec<&str> = calls.lines().collect();
        assert_eq!(calls[0], "-o Dir::Etc::SourceParts=/dev/null -q update | noninteractive a C");
        assert!(
            calls[1].starts_with("-o Dir::Etc::SourceParts=/dev/null -y -q -o Dpkg::Options::=--force-confdef")
                && calls[1].contains("--force-confold")
                && calls[1].ends_with("--only-upgrade install dummy | noninteractive a C"),
            "{}",
            calls[1]
        );
        assert!(result.output.contains("$ ") && result.output.contains("upgraded"), "{}", result.output);
    }

    #[tokio::test]
    async fn a_failing_step_stops_the_job_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let config = fake_tools(dir.path(), "echo 'E: Could not get lock' >&2; exit 100");
        let result = apply_updates(&config, &serde_json::json!({})).await;
        assert!(!result.ok && result.exit_code == Some(100), "{result:?}");
        assert!(result.output.contains("Could not get lock"), "{}", result.output);
        assert_eq!(result.changes, Some(vec![]));
        let calls = fs::read_to_string(dir.path().join("calls")).unwrap();
        assert_eq!(calls.lines().count(), 1, "no upgrade after a failed update: {calls}");
    }

    #[tokio::test]
    async fn security_only_installs_what_the_plan_marks_security() {
        let dir = tempfile::tempdir().unwrap();
        let plan = "case \"$*\" in *' -s '*) \
                    echo 'Inst openssl [3.0.1] (3.0.2 Debian-Security:12/stable-security [amd64])'; \
                    echo 'Inst tzdata [2024a] (2024b Debian:12.5/stable [all])';; esac";
        let config = fake_tools(dir.path(), plan);
        let params = serde_json::json!({ "security_only": true, "refresh": false });
        let result = apply_updates(&config, &params).await;
        assert!(result.ok, "{result:?}");
        let calls = fs::read_to_string(dir.path().join("calls")).unwrap();
        let calls: Vec<&str> = calls.lines().collect();
        assert_eq!(calls.len(), 2, "{calls:?}");
        assert!(calls[0].contains(" -s ") && calls[0].contains(" upgrade |"), "{}", calls[0]);
        assert!(calls[1].contains("--only-upgrade install openssl |"), "{}", calls[1]);
    }

    #[tokio::test]
    async fn bad_parameters_or_no_package_manager_run_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let config = fake_tools(dir.path(), "");
        let result = apply_updates(&config, &serde_json::json!({ "packages": ["-oAPT::Bad=1"] })).await;
        assert!(!result.ok && result.output.starts_with("not run: invalid parameters"), "{result:?}");
        assert!(!dir.path().join("calls").exists());
        let missing = JobsConfig { apt_get: "/nonexistent/apt-get".into(), dnf: "/nonexistent/dnf".into(), ..config };
        let result = apply_updates(&missing, &serde_json::json!({})).await;
        assert!(!result.ok && result.output.contains("no package manager"), "{result:?}");
    }
}
