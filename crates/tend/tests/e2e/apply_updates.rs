//! `apply_updates` for real, on the test machine itself and with care: a dummy Debian package
//! `tend-test-dummy` 1.0 is built with dpkg-deb and installed, version 2.0 is served from a local
//! apt repository made with apt-ftparchive, and a real agent, whose apt-get sees only that
//! repository and keeps its lists apart from the machine's, upgrades it through a job. The job
//! is refused while the client's contract excludes patching. The dummy package is purged at
//! the end, whatever happens.
//!
//! Then a rollout through rings with two such agents, one in ring `test` and one in
//! `production`: an emergency update reaches production only after the test host applied it and
//! soaked; a later version whose postinst fills a filesystem fails the post-update health gate
//! on the test host through the real disk usage check, which halts the rollout with a ticket
//! before production. (A postinst that stops a listening service cannot be what fails the gate
//! here: without systemd as PID 1 the agent's services section, listening ports included, is
//! unavailable, so `listening_port_missing` has nothing to judge.)
//!
//! Needs root and dpkg-deb, apt-get and apt-ftparchive (apt-utils); the rollout also needs
//! mkfs.ext2 and loop mounts. Skipped without them.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use jiff::Timestamp;
use serde_json::json;
use tend_proto::api::{Alert, HostDetail};
use tend_proto::jobs::{Job, JobStatus, PackageChange};
use tend_proto::rollouts::Rollout;
use tend_proto::tickets::TicketDetail;
use tend_store::Scope;

use crate::harness::{Server, each_backend, eventually, signal, tend, text, wait_exit};
use crate::rollouts::{rollout_when, set_ring};

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

/// Why this machine cannot run the test, if it cannot: it needs root and the `tools`.
fn missing_prerequisite(tools: &[&str]) -> Option<String> {
    let uid = Command::new("id").arg("-u").output().map(|out| text(&out.stdout).trim().to_owned());
    if uid.as_deref().unwrap_or("") != "0" {
        return Some("not running as root".into());
    }
    ["dpkg-deb", "dpkg-query", "apt-get", "apt-ftparchive"]
        .iter()
        .chain(tools)
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

/// A version of the dummy package, with the shell script its postinst runs, if any.
#[derive(Clone, Copy)]
struct Dummy<'a> {
    version: &'a str,
    postinst: Option<&'a str>,
}

impl Dummy<'_> {
    const fn plain(version: &str) -> Dummy<'_> {
        Dummy { version, postinst: None }
    }
}

/// Builds `dummy` into `into`, returns the .deb's path.
fn build_dummy(work: &Path, dummy: &Dummy<'_>, into: &Path) -> PathBuf {
    let version = dummy.version;
    let root = work.join(format!("build-{version}"));
    // Built afresh: a version is built again, with or without its postinst, for each backend.
    if root.exists() {
        fs::remove_dir_all(&root).unwrap();
    }
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
    if let Some(script) = dummy.postinst {
        let postinst = root.join("DEBIAN/postinst");
        fs::write(&postinst, format!("#!/bin/sh\n{script}\nexit 0\n")).unwrap();
        fs::set_permissions(&postinst, fs::Permissions::from_mode(0o755)).unwrap();
    }
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

/// The work directory of an apt test: the dummy package's 1.0 to install with dpkg, and a local
/// apt repository that apt-get, run with [`AptFixture::apt_options`], sees alone, its lists and
/// downloads kept in the work directory rather than over the machine's.
struct AptFixture {
    work: tempfile::TempDir,
    old: PathBuf,
    apt_options: Vec<String>,
}

impl AptFixture {
    fn new() -> AptFixture {
        let work = tempfile::tempdir().unwrap();
        // apt fetches as the unprivileged `_apt`, which must reach the repository.
        fs::set_permissions(work.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let old = build_dummy(work.path(), &Dummy::plain("1.0"), work.path());
        let sources = work.path().join("sources.list");
        fs::write(&sources, format!("deb [trusted=yes] file:{} ./\n", work.path().join("repo").display())).unwrap();
        let lists = work.path().join("lists");
        let archives = work.path().join("archives");
        for dir in [lists.join("partial"), archives.join("partial")] {
            fs::create_dir_all(dir).unwrap();
        }
        let apt_options = [
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
        .collect();
        AptFixture { work, old, apt_options }
    }

    /// The repository serves exactly `dummies` from now on.
    fn serve(&self, dummies: &[Dummy<'_>]) {
        let repo = self.work.path().join("repo");
        if repo.exists() {
            fs::remove_dir_all(&repo).unwrap();
        }
        fs::create_dir_all(&repo).unwrap();
        for dummy in dummies {
            build_dummy(self.work.path(), dummy, &repo);
        }
        let packages = must(Command::new("apt-ftparchive").arg("packages").arg(".").current_dir(&repo));
        fs::write(repo.join("Packages"), packages).unwrap();
        let release = must(Command::new("apt-ftparchive").arg("release").arg(".").current_dir(&repo));
        fs::write(repo.join("Release"), release).unwrap();
    }

    /// Installs the dummy package's 1.0 with dpkg, downgrading a later version left installed.
    fn install_old(&self) {
        must(Command::new("dpkg").arg("-i").arg(&self.old));
        assert_eq!(installed_version().as_deref(), Some("1.0"));
    }
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
        Agent::start(server, dir, state_dir, host_id, apt_options)
    }

    /// Like [`Agent::enroll_and_start`], enrolled as another machine of this one: the server
    /// knows a machine by its machine id, so two agents enrolled from one machine are one host,
    /// the second taking over from the first. Its enrollment sees `machine_id` in
    /// /etc/machine-id, bind-mounted in a mount namespace of its own, which leaves the
    /// machine's as it is. (The id is sent only when enrolling.)
    async fn enroll_as_machine_and_start(
        server: &Server,
        token: &str,
        apt_options: &[String],
        machine_id: &str,
    ) -> Agent {
        let dir = tempfile::tempdir().unwrap();
        let id_file = dir.path().join("machine-id");
        fs::write(&id_file, format!("{machine_id}\n")).unwrap();
        let state_dir = dir.path().join("state");
        let mut enroll = tend(server.dir.path());
        enroll.args(["agent", "enroll", "--server", &server.url, "--token", token, "--state-dir"]).arg(&state_dir);
        let mut namespaced = Command::new("unshare");
        namespaced.args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            r#"mount --bind "$0" /etc/machine-id && exec "$@""#,
        ]);
        namespaced.arg(&id_file).arg(enroll.get_program()).args(enroll.get_args());
        for (name, value) in enroll.get_envs() {
            match value {
                Some(value) => namespaced.env(name, value),
                None => namespaced.env_remove(name),
            };
        }
        let output = crate::harness::run(namespaced).await;
        assert!(output.status.success(), "enroll failed: {}", text(&output.stderr));
        let stdout = text(&output.stdout);
        let host_id = stdout.split("(host ").nth(1).and_then(|rest| rest.split(')').next()).unwrap().parse().unwrap();
        Agent::start(server, dir, state_dir, host_id, apt_options)
    }

    fn start(
        server: &Server,
        dir: tempfile::TempDir,
        state_dir: PathBuf,
        host_id: i64,
        apt_options: &[String],
    ) -> Agent {
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

async fn put_ok(server: &Server, path: &str, body: &serde_json::Value) {
    let answer = server.admin.request(reqwest::Method::PUT, path, Some(body.to_string().into_bytes())).await;
    assert_eq!(answer.status, 200, "PUT {path}: {}", answer.body);
}

/// The client's contract with `services`, through the contract API.
async fn set_services(server: &Server, client_id: i64, services: &[&str]) {
    let path = format!("/api/v1/clients/{client_id}/contract");
    let mut contract: serde_json::Value = server.admin.get_ok(&path).await;
    contract["services"] = json!(services);
    put_ok(server, &path, &contract).await;
}

/// The version of `PACKAGE` in the packages inventory the server holds for `host`.
async fn inventory_version(server: &Server, host: i64) -> Option<String> {
    let detail: HostDetail = server.admin.get_ok(&format!("/api/v1/hosts/{host}")).await;
    let installed = detail.inventory.get("packages")?.body.get("installed")?.as_array()?.clone();
    let dummy = installed.iter().find(|package| package["name"] == PACKAGE)?;
    dummy["version"].as_str().map(str::to_owned)
}

/// Waits until the server's inventory of `host` holds `version` of the dummy package.
async fn inventory_shows(server: &Server, host: i64, version: &str) {
    eventually(Duration::from_secs(60), &format!("host {host}'s inventory to show {version}"), || async move {
        (inventory_version(server, host).await.as_deref() == Some(version)).then_some(())
    })
    .await;
}

/// The job once it ended.
async fn finished_job(server: &Server, id: i64) -> Job {
    eventually(Duration::from_secs(240), &format!("job {id} to end"), || async move {
        let job: Job = server.admin.get_ok(&format!("/api/v1/jobs/{id}")).await;
        job.status.is_finished().then_some(job)
    })
    .await
}

#[tokio::test]
async fn apply_updates_upgrades_from_a_local_repository_and_the_inventory_follows() {
    if let Some(missing) = missing_prerequisite(&[]) {
        eprintln!("SKIP apply_updates_upgrades_from_a_local_repository_and_the_inventory_follows: {missing}");
        return;
    }
    let _purge = PurgeDummy;
    let fixture = AptFixture::new();
    fixture.serve(&[Dummy::plain("2.0")]);
    let fixture = &fixture;

    each_backend(|db| async move {
        fixture.install_old();
        let server = Server::start(&db).await;
        let (client_id, token) = server.client_with_token("acme", 1).await;
        let mut agent = Agent::enroll_and_start(&server, &token, &fixture.apt_options).await;
        let host = agent.host_id;
        let jobs = format!("/api/v1/hosts/{host}/jobs");
        let request = json!({ "kind": "apply_updates", "params": { "packages": [PACKAGE] } });

        // A client that did not buy patching gets none, and the refusal is audited.
        set_services(&server, client_id, &["monitoring", "service_desk"]).await;
        let refused = server.admin.post(&jobs, &request).await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert_eq!(refused.problem().detail, "the client's contract does not include patching");
        let listed: Vec<Job> = server.admin.get_ok(&jobs).await;
        assert!(listed.is_empty(), "a refused job is not queued");
        let bad = json!({ "kind": "apply_updates", "params": { "packages": ["-oAPT::Evil=1"] } });
        assert_eq!(server.admin.post(&jobs, &bad).await.status, 422, "package names are checked");

        // With patching in the contract it runs without a ticket.
        set_services(&server, client_id, &["monitoring", "patching", "service_desk"]).await;
        let queued: Job = server.admin.post_ok(&jobs, &request).await;
        assert_eq!((queued.status, queued.ticket_id), (JobStatus::Queued, None));
        let job = finished_job(&server, queued.id).await;
        let result = job.result.clone().unwrap();
        assert_eq!(job.status, JobStatus::Succeeded, "{}\n{}", result.output, agent.log());
        assert_eq!(installed_version().as_deref(), Some("2.0"), "{}", result.output);
        let upgraded = PackageChange { package: PACKAGE.into(), from: Some("1.0".into()), to: Some("2.0".into()) };
        assert_eq!(result.changes, Some(vec![upgraded]), "{}", result.output);
        assert!(result.output.contains("--only-upgrade install tend-test-dummy"), "{}", result.output);

        // The agent collects its packages again at once: the server soon holds 2.0.
        inventory_shows(&server, host, "2.0").await;

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

/// A 4 MiB ext2 filesystem mounted from an image in `dir` (a loop mount: the agent measures
/// tmpfs as a pseudo filesystem), unmounted when dropped.
struct SmallFilesystem {
    mountpoint: PathBuf,
}

impl SmallFilesystem {
    /// Where the machine cannot loop-mount (no loop device, no CAP_SYS_ADMIN), why.
    fn mount(dir: &Path) -> Result<SmallFilesystem, String> {
        let image = dir.join("small.img");
        File::create(&image).unwrap().set_len(4 << 20).unwrap();
        // No blocks reserved for root: the postinst, run as root, fills it to 100 % as df counts.
        must(Command::new("mkfs.ext2").args(["-q", "-F", "-m", "0"]).arg(&image));
        let mountpoint = dir.join("small");
        fs::create_dir_all(&mountpoint).unwrap();
        let mounted = Command::new("mount").args(["-o", "loop"]).arg(&image).arg(&mountpoint).output().unwrap();
        if !mounted.status.success() {
            return Err(format!("cannot loop-mount a filesystem: {}", text(&mounted.stderr).trim()));
        }
        Ok(SmallFilesystem { mountpoint })
    }

    fn filler(&self) -> PathBuf {
        self.mountpoint.join("filler")
    }

    /// The percentage of the filesystem used, as the agent (and df) count it.
    fn used_percent(&self) -> u64 {
        let df = must(Command::new("df").args(["--output=pcent"]).arg(&self.mountpoint));
        df.lines().nth(1).and_then(|line| line.trim().trim_end_matches('%').parse().ok()).unwrap()
    }

    fn empty(&self) {
        match fs::remove_file(self.filler()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => panic!("{}: {e}", self.filler().display()),
            _ => {}
        }
        assert!(self.used_percent() < 50, "{} is empty", self.mountpoint.display());
    }
}

impl Drop for SmallFilesystem {
    fn drop(&mut self) {
        let unmounted = Command::new("umount").arg(&self.mountpoint).status();
        if !unmounted.is_ok_and(|status| status.success()) {
            eprintln!("could not unmount {}; unmount it by hand", self.mountpoint.display());
        }
    }
}

async fn create_rollout(server: &Server, client_id: i64, name: &str) -> Rollout {
    let new = json!({ "client_id": client_id, "name": name, "packages": [PACKAGE], "urgency": "emergency",
        "soak_secs": 2 });
    let created: Rollout = server.admin.post_ok("/api/v1/rollouts", &new).await;
    assert_eq!((created.status.as_str(), created.rings.len()), ("running", 2), "{created:?}");
    created
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[tokio::test]
async fn rollout_real_agents_patch_the_test_ring_then_production_and_a_broken_update_halts() {
    let name = "rollout_real_agents_patch_the_test_ring_then_production_and_a_broken_update_halts";
    if let Some(missing) = missing_prerequisite(&["mkfs.ext2", "mount", "umount", "df", "unshare"]) {
        eprintln!("SKIP {name}: {missing}");
        return;
    }
    let _purge = PurgeDummy;
    let fixture = AptFixture::new();
    let small = match SmallFilesystem::mount(fixture.work.path()) {
        Ok(small) => small,
        Err(missing) => {
            eprintln!("SKIP {name}: {missing}");
            return;
        }
    };
    // The update that breaks the host: its postinst fills a filesystem the host watches.
    let filling = format!("dd if=/dev/zero of={} bs=64k 2>/dev/null || true", small.filler().display());
    let broken = Dummy { version: "3.0", postinst: Some(&filling) };
    let (fixture, small, broken) = (&fixture, &small, &broken);

    each_backend(|db| async move {
        fixture.serve(&[Dummy::plain("2.0")]);
        fixture.install_old();
        small.empty();
        let server = Server::start(&db).await;
        let (client_id, token) = server.client_with_token("acme", 2).await;
        let mut test = Agent::enroll_and_start(&server, &token, &fixture.apt_options).await;
        let other_machine = "0123456789abcdef0123456789abcdef";
        let mut prod = Agent::enroll_as_machine_and_start(&server, &token, &fixture.apt_options, other_machine).await;
        assert_ne!(test.host_id, prod.host_id, "two hosts");
        set_ring(&server, test.host_id, "test").await;
        set_ring(&server, prod.host_id, "production").await;
        // A healthy host passes the gate as soon as it reported after its update; a broken one
        // fails it when the gate closes, 20 s after the update.
        put_ok(
            &server,
            &format!("/api/v1/clients/{client_id}/patch-policy"),
            &json!({ "policy": {
            "health_gate_secs": 20 } }),
        )
        .await;
        // A full filesystem is critical at once rather than after five minutes. Only a
        // filesystem at least 99 % used counts, so that no other of this machine's does.
        let disk = json!({ "layer": "host", "settings": { "pending_for_secs": 0, "warning": 99.0, "critical": 99.5 } });
        put_ok(&server, &format!("/api/v1/hosts/{}/checks/disk_usage", test.host_id), &disk).await;
        // Both agents reported once before the rollouts: what fires from a first report is no
        // verdict on an update.
        for agent in [&test, &prod] {
            inventory_shows(&server, agent.host_id, "1.0").await;
        }

        // 1. The security update reaches the test host at once, production after the soak.
        let first = create_rollout(&server, client_id, "tend-test-dummy 2.0").await;
        let done = rollout_when(&server, first.id, "the first rollout done", |r| r["status"] == "done").await;
        let done: Rollout = serde_json::from_value(done).unwrap();
        let (test_ring, prod_ring) = (&done.rings[0], &done.rings[1]);
        assert_eq!((test_ring.name.as_str(), prod_ring.name.as_str()), ("test", "production"));
        let (tested, produced) = (&test_ring.hosts[0], &prod_ring.hosts[0]);
        assert_eq!((tested.host_id, tested.state.as_str()), (test.host_id, "applied"), "{done:?}");
        assert_eq!((produced.host_id, produced.state.as_str()), (prod.host_id, "applied"), "{done:?}");
        assert_eq!(installed_version().as_deref(), Some("2.0"));
        let test_job = finished_job(&server, tested.job_id.unwrap()).await;
        let result = test_job.result.clone().unwrap();
        assert_eq!(test_job.status, JobStatus::Succeeded, "{}\n{}", result.output, test.log());
        let upgraded = PackageChange { package: PACKAGE.into(), from: Some("1.0".into()), to: Some("2.0".into()) };
        assert_eq!(result.changes, Some(vec![upgraded]), "{}", result.output);
        // Production's apt finds the package already at 2.0 on this shared machine: a no-op.
        let prod_job = finished_job(&server, produced.job_id.unwrap()).await;
        let result = prod_job.result.clone().unwrap();
        assert_eq!(prod_job.status, JobStatus::Succeeded, "{}\n{}", result.output, prod.log());
        assert_eq!(result.changes, Some(vec![]), "{}", result.output);
        // Production's job was queued only once the test host had applied the update and soaked.
        let applied = at(tested.at.as_deref().unwrap());
        let soaked = at(test_ring.soak_until.as_deref().unwrap());
        let queued = at(&prod_job.created_at);
        assert!(at(&test_job.finished_at.clone().unwrap()) <= applied, "{test_job:?} {done:?}");
        assert!(applied + jiff::SignedDuration::from_secs(2) <= soaked && soaked <= queued, "{done:?} {prod_job:?}");
        inventory_shows(&server, test.host_id, "2.0").await;

        // 2. The next update fills a filesystem: the test host's next report shows it full, the
        // disk usage alert fires, the gate fails, the rollout halts and production gets nothing.
        fixture.serve(&[Dummy::plain("2.0"), *broken]);
        let second = create_rollout(&server, client_id, "tend-test-dummy 3.0").await;
        let halted = rollout_when(&server, second.id, "the second rollout halted", |r| r["status"] == "halted").await;
        let halted: Rollout = serde_json::from_value(halted).unwrap();
        let host = &halted.rings[0].hosts[0];
        let job = finished_job(&server, host.job_id.unwrap()).await;
        let output = job.result.map(|result| result.output).unwrap_or_default();
        assert_eq!(job.status, JobStatus::Succeeded, "apt itself succeeded: {output}");
        assert_eq!(installed_version().as_deref(), Some("3.0"), "{output}");
        assert_eq!(small.used_percent(), 100, "the postinst filled {}", small.mountpoint.display());
        let reason = halted.halt_reason.clone().unwrap();
        let problem = format!("disk_usage {}", small.mountpoint.display());
        assert!(reason.contains("post-update health gate closed after 20s") && reason.contains(&problem), "{reason}");
        assert_eq!(host.state, "failed", "{halted:?}");
        let host_reason = host.reason.as_deref().unwrap_or_default();
        assert!(host_reason.starts_with("post-update health gate") && reason.ends_with(host_reason), "{halted:?}");
        let alerts: Vec<Alert> = server.admin.get_ok("/api/v1/alerts").await;
        let alert = alerts.iter().find(|a| a.check == "disk_usage" && a.host_id == Some(test.host_id));
        let alert = alert.unwrap_or_else(|| panic!("the alert that failed the gate is open: {alerts:?}"));
        assert_eq!((alert.state.as_str(), alert.severity.as_deref()), ("firing", Some("critical")), "{alert:?}");
        let ticket_id = halted.ticket_id.expect("the halt opens a ticket");
        let ticket: TicketDetail = server.admin.get_ok(&format!("/api/v1/tickets/{ticket_id}")).await;
        let ticket = ticket.ticket;
        assert_eq!((ticket.kind.as_str(), ticket.host_ids.as_slice()), ("incident", &[test.host_id][..]), "{ticket:?}");
        assert!(ticket.description.contains("post-update health gate"), "{ticket:?}");
        assert_eq!(halted.rings[1].hosts[0].state, "pending", "{halted:?}");
        let prod_jobs: Vec<Job> = server.admin.get_ok(&format!("/api/v1/hosts/{}/jobs", prod.host_id)).await;
        assert_eq!(
            prod_jobs.iter().map(|job| job.id).collect::<Vec<_>>(),
            [prod_job.id],
            "production never gets a job"
        );

        test.stop().await;
        prod.stop().await;
        server.stop().await;
        db
    })
    .await;
}
