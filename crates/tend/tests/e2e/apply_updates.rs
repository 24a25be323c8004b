//! `apply_updates` for real, on the test machine itself and with care: a dummy Debian package
//! `tend-test-dummy` 1.0 is built with dpkg-deb and installed, version 2.0 is served from a local
//! apt repository made with apt-ftparchive, and a real agent, whose apt-get sees only that
//! repository and keeps its lists apart from the machine's, upgrades it through a job. The job
//! is refused while the client's contract excludes patching. The dummy package is purged at
//! the end, whatever happens.
//!
//! Needs root and dpkg-deb, apt-get and apt-ftparchive (apt-utils); skipped without them.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tend_proto::api::HostDetail;
use tend_proto::jobs::{Job, JobStatus, PackageChange};
use tend_store::Scope;

use crate::harness::{Server, each_backend, eventually, signal, tend, text, wait_exit};

const PACKAGE: &str = "tend-test-dummy";

/// Purges the dummy package when dropped, even when the test failed half-way.
struct PurgeDummy;

impl Drop for PurgeDummy {
    fn drop(&mut self) {
        let purged = Command::new("dpkg").args(["--purge", PACKAGE]).stdout(Stdio::null()).status();
        if !purged.is_ok_and(|status| status.success()) {
            eprintln!("could not purge {PACKAGE}; remove it with `dpkg --purge {PACKAGE}`");
        }
    }
}

/// Why this machine cannot run the test, if it cannot.
fn missing_prerequisite() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().map(|out| text(&out.stdout).trim().to_owned());
    if uid.as_deref().unwrap_or("") != "0" {
        return Some("not running as root".into());
    }
    ["dpkg-deb", "dpkg-query", "apt-get", "apt-ftparchive"]
        .into_iter()
        .find(|tool| {
            let found = Command::new("sh").args(["-c", &format!("command -v {tool}")]).stdout(Stdio::null()).status();
            !found.is_ok_and(|s| s.success())
        })
        .map(|tool| format!("{tool} is not installed (apt-ftparchive is in apt-utils)"))
}

fn must(command: &mut Command) -> String {
    let output = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(output.status.success(), "{command:?}: {}{}", text(&output.stdout), text(&output.stderr));
    text(&output.stdout)
}

/// Builds the dummy package at `version` into `into`, returns the .deb's path.
fn build_dummy(work: &Path, version: &str, into: &Path) -> PathBuf {
    let root = work.join(format!("build-{version}"));
    fs::create_dir_all(root.join("DEBIAN")).unwrap();
    fs::create_dir_all(root.join("usr/share").join(PACKAGE)).unwrap();
    fs::write(root.join("usr/share").join(PACKAGE).join("version"), format!("{version}\n")).unwrap();
    fs::write(
        root.join("DEBIAN/control"),
        format!(
            "Package: {PACKAGE}\nVersion: {version}\nArchitecture: all\nMaintainer: tend tests <tests@tend.invalid>\n\
             Description: a package tend's tests install and upgrade\n"
        ),
    )
    .unwrap();
    for dir in [
        root.clone(),
        root.join("DEBIAN"),
        root.join("usr"),
        root.join("usr/share"),
        root.join("usr/share").join(PACKAGE),
    ] {
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let deb = into.join(format!("{PACKAGE}_{version}_all.deb"));
    must(Command::new("dpkg-deb").args(["--root-owner-group", "--build"]).arg(&root).arg(&deb));
    deb
}

fn installed_version() -> Option<String> {
    let output = Command::new("dpkg-query").args(["-W", "-f", "${Version}", PACKAGE]).output().ok()?;
    output.status.success().then(|| text(&output.stdout))
}

/// The arguments that make apt-get see only `repo`, with its lists and downloads in `work`.
fn apt_options(work: &Path, repo: &Path) -> Vec<String> {
    let sources = work.join("sources.list");
    fs::write(&sources, format!("deb [trusted=yes] file:{} ./\n", repo.display())).unwrap();
    let lists = work.join("lists");
    let archives = work.join("archives");
    for dir in [lists.join("partial"), archives.join("partial")] {
        fs::create_dir_all(dir).unwrap();
    }
    [
        format!("Dir::Etc::SourceList={}", sources.display()),
        "Dir::Etc::SourceParts=/dev/null".to_owned(),
        format!("Dir::State::Lists={}", lists.display()),
        format!("Dir::Cache::Archives={}", archives.display()),
        // The package cache is built in memory, not written over the machine's.
        "Dir::Cache::pkgcache=".to_owned(),
        "Dir::Cache::srcpkgcache=".to_owned(),
        "APT::Get::List-Cleanup=0".to_owned(),
    ]
    .into_iter()
    .flat_map(|option| ["-o".to_owned(), option])
    .collect()
}

/// A real agent enrolled with `token`, whose `[jobs]` runs apt-get with `apt_options`.
struct Agent {
    child: Child,
    log: PathBuf,
    host_id: i64,
    _dir: tempfile::TempDir,
}

impl Agent {
    async fn enroll_and_start(server: &Server, token: &str, apt_options: &[String]) -> Agent {
        let dir = tempfile::tempdir().unwrap();
        let (state_dir, host_id) = crate::harness::enroll_agent(server, token, dir.path()).await;
        let config = dir.path().join("agent.toml");
        let mut file = File::create(&config).unwrap();
        writeln!(file, "[jobs]").unwrap();
        writeln!(file, "apply_updates_timeout_secs = 300").unwrap();
        writeln!(file, "apt_options = {}", serde_json::to_string(apt_options).unwrap()).unwrap();
        let log = state_dir.join("agent.log");
        let mut command = tend(server.dir.path());
        command.args(["agent", "run", "--interval", "10", "--config"]).arg(&config).arg("--state-dir").arg(&state_dir);
        command.stdout(Stdio::null()).stderr(File::create(&log).unwrap());
        Agent { child: command.spawn().expect("agent starts"), log, host_id, _dir: dir }
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn stop(&mut self) {
        signal(&self.child, "TERM");
        let status = wait_exit(&mut self.child, Duration::from_secs(15)).await;
        assert!(status.success(), "agent exit {status:?}: {}", self.log());
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        // Stopped already, or the test failed: no agent outlives it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The client's contract with `services`, through the contract API.
async fn set_services(server: &Server, client_id: i64, services: &[&str]) {
    let path = format!("/api/v1/clients/{client_id}/contract");
    let mut contract: serde_json::Value = server.admin.get_ok(&path).await;
    contract["services"] = serde_json::json!(services);
    let answer = server.admin.request(reqwest::Method::PUT, &path, Some(contract.to_string().into_bytes())).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

/// The version of `PACKAGE` in the packages inventory the server holds for `host`.
async fn inventory_version(server: &Server, host: i64) -> Option<String> {
    let detail: HostDetail = server.admin.get_ok(&format!("/api/v1/hosts/{host}")).await;
    let installed = detail.inventory.get("packages")?.body.get("installed")?.as_array()?.clone();
    let dummy = installed.iter().find(|package| package["name"] == PACKAGE)?;
    dummy["version"].as_str().map(str::to_owned)
}

#[tokio::test]
async fn apply_updates_upgrades_from_a_local_repository_and_the_inventory_follows() {
    if let Some(missing) = missing_prerequisite() {
        eprintln!("SKIP apply_updates_upgrades_from_a_local_repository_and_the_inventory_follows: {missing}");
        return;
    }
    let _purge = PurgeDummy;
    let work = tempfile::tempdir().unwrap();
    // apt fetches as the unprivileged `_apt`, which must reach the repository.
    fs::set_permissions(work.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let old = build_dummy(work.path(), "1.0", work.path());
    let repo = work.path().join("repo");
    fs::create_dir_all(&repo).unwrap();
    build_dummy(work.path(), "2.0", &repo);
    let packages = must(Command::new("apt-ftparchive").arg("packages").arg(".").current_dir(&repo));
    fs::write(repo.join("Packages"), packages).unwrap();
    let release = must(Command::new("apt-ftparchive").arg("release").arg(".").current_dir(&repo));
    fs::write(repo.join("Release"), release).unwrap();
    let apt_options = apt_options(work.path(), &repo);
    let (old, apt_options) = (&old, &apt_options);

    each_backend(|db| async move {
        must(Command::new("dpkg").arg("-i").arg(old));
        assert_eq!(installed_version().as_deref(), Some("1.0"));
        let server = Server::start(&db).await;
        let (client_id, token) = server.client_with_token("acme", 1).await;
        let mut agent = Agent::enroll_and_start(&server, &token, apt_options).await;
        let host = agent.host_id;
        let jobs = format!("/api/v1/hosts/{host}/jobs");
        let request = serde_json::json!({ "kind": "apply_updates", "params": { "packages": [PACKAGE] } });

        // A client that did not buy patching gets none, and the refusal is audited.
        set_services(&server, client_id, &["monitoring", "service_desk"]).await;
        let refused = server.admin.post(&jobs, &request).await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert_eq!(refused.problem().detail, "the client's contract does not include patching");
        let listed: Vec<Job> = server.admin.get_ok(&jobs).await;
        assert!(listed.is_empty(), "a refused job is not queued");
        let bad = serde_json::json!({ "kind": "apply_updates", "params": { "packages": ["-oAPT::Evil=1"] } });
        assert_eq!(server.admin.post(&jobs, &bad).await.status, 422, "package names are checked");

        // With patching in the contract it runs without a ticket.
        set_services(&server, client_id, &["monitoring", "patching", "service_desk"]).await;
        let queued: Job = server.admin.post_ok(&jobs, &request).await;
        assert_eq!((queued.status, queued.ticket_id), (JobStatus::Queued, None));
        let job = eventually(Duration::from_secs(240), "the apply_updates job to end", || {
            let server = &server;
            async move {
                let job: Job = server.admin.get_ok(&format!("/api/v1/jobs/{}", queued.id)).await;
                job.status.is_finished().then_some(job)
            }
        })
        .await;
        let result = job.result.clone().unwrap();
        assert_eq!(job.status, JobStatus::Succeeded, "{}\n{}", result.output, agent.log());
        assert_eq!(installed_version().as_deref(), Some("2.0"), "{}", result.output);
        let upgraded = PackageChange { package: PACKAGE.into(), from: Some("1.0".into()), to: Some("2.0".into()) };
        assert_eq!(result.changes, Some(vec![upgraded]), "{}", result.output);
        assert!(result.output.contains("--only-upgrade install tend-test-dummy"), "{}", result.output);

        // The agent collects its packages again at once: the server soon holds 2.0.
        eventually(Duration::from_secs(60), "the inventory to show 2.0", || {
            let server = &server;
            async move { (inventory_version(server, host).await.as_deref() == Some("2.0")).then_some(()) }
        })
        .await;

        let trail = server.store.audit_entries(Scope::AllClients, Some(host), 100).await.unwrap();
        let outcomes: Vec<(&str, &str)> = trail
            .iter()
            .filter(|entry| entry.action == "job.apply_updates")
            .map(|entry| (entry.outcome.as_str(), entry.detail.as_str()))
            .collect();
        for (outcome, says) in [
            ("refused", "does not include patching"),
            ("allowed", "authorized by the client's contract (patching)"),
            ("succeeded", "succeeded"),
        ] {
            assert!(outcomes.iter().any(|(o, d)| *o == outcome && d.contains(says)), "{outcome}: {outcomes:?}");
        }

        agent.stop().await;
        server.stop().await;
        db
    })
    .await;
}
