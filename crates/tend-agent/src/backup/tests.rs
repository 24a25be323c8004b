//! The engine against real restic repositories in temporary directories (skipped, saying so,
//! where restic is not installed), and against small fake restics for what the installed one
//! cannot show: newer releases' exit codes and a restic that hangs.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tend_proto::backups::{BackupEvent, BackupPlan, BackupRun, CheckRun, ForgetRun, RestoreTestRun, Retention, Secret};

use super::*;

const PASSWORD: &str = "correct-horse-battery-staple";

fn restic_missing() -> bool {
    let missing = Command::new("restic").arg("version").output().is_err();
    if missing {
        eprintln!("SKIPPED: restic is not on PATH; install restic to run the backup engine's real tests");
    }
    missing
}

struct Host {
    dir: tempfile::TempDir,
}

impl Host {
    fn new() -> Host {
        let host = Host { dir: tempfile::tempdir().unwrap() };
        fs::create_dir_all(host.src().join("etc/sub")).unwrap();
        for (name, content) in
            [("etc/hosts", "127.0.0.1 localhost\n"), ("etc/sub/a*b?.conf", "odd name\n"), ("etc/empty", "")]
        {
            fs::write(host.src().join(name), content).unwrap();
        }
        host
    }

    fn src(&self) -> PathBuf {
        self.dir.path().join("src")
    }

    fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn plan(&self) -> BackupPlan {
        BackupPlan {
            excludes: vec!["*.tmp".into()],
            read_data_subset: "100%".into(),
            ..BackupPlan::new(
                "nightly",
                &self.repo().to_string_lossy(),
                Secret::new(PASSWORD),
                vec![self.src().to_string_lossy().into_owned()],
            )
        }
    }

    /// `count` files of `size` pseudo-random bytes (incompressible, as restic sees real data).
    fn random_files(&self, dir: &str, count: usize, size: usize) {
        let dir = self.src().join(dir);
        fs::create_dir_all(&dir).unwrap();
        let mut state = 0x1234_5678_9abc_def0u64 ^ size as u64;
        for i in 0..count {
            let mut bytes = Vec::with_capacity(size);
            while bytes.len() < size {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                bytes.extend_from_slice(&state.to_le_bytes());
            }
            bytes.truncate(size);
            fs::write(dir.join(format!("file{i:04}.bin")), bytes).unwrap();
        }
    }

    /// Complete lock files: restic writes a temporary file first and renames it to its id,
    /// and a restic killed in between leaves the temporary one, which is no lock.
    fn lock_files(&self) -> usize {
        let is_id = |name: &str| name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit());
        fs::read_dir(self.repo().join("locks"))
            .map_or(0, |dir| dir.filter(|e| e.as_ref().is_ok_and(|e| is_id(&e.file_name().to_string_lossy()))).count())
    }
}

fn backup(config: &BackupConfig, plan: &BackupPlan) -> BackupRun {
    backup_with(config, plan, Repository::MayInitialise)
}

fn backup_with(config: &BackupConfig, plan: &BackupPlan, repository: Repository) -> BackupRun {
    match run_backup(config, plan, repository) {
        BackupEvent::Backup(run) => run,
        other => panic!("{other:?}"),
    }
}

fn retention(config: &BackupConfig, plan: &BackupPlan) -> ForgetRun {
    match apply_retention(config, plan) {
        BackupEvent::Forget(run) => run,
        other => panic!("{other:?}"),
    }
}

fn checked(config: &BackupConfig, plan: &BackupPlan) -> CheckRun {
    match check(config, plan) {
        BackupEvent::Check(run) => run,
        other => panic!("{other:?}"),
    }
}

fn restore_tested(config: &BackupConfig, plan: &BackupPlan, seed: u64) -> RestoreTestRun {
    match restore_test(config, plan, seed) {
        BackupEvent::RestoreTest(run) => run,
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_first_backup_initializes_and_the_second_finds_nothing_new() {
    if restic_missing() {
        return;
    }
    let host = Host::new();
    fs::write(host.src().join("etc/skipped.tmp"), "excluded").unwrap();
    let (config, plan) = (BackupConfig::default(), host.plan());
    let first = backup(&config, &plan);
    assert!(first.ok && first.exit_code == Some(0) && first.errors.is_empty(), "{first:?}");
    assert_eq!((first.files_new, first.files_changed, first.files_unmodified), (3, 0, 0), "the .tmp is excluded");
    assert!(first.snapshot_id.is_some() && first.data_added_bytes > 0 && first.total_bytes_processed > 0);
    assert!(host.repo().join("config").exists(), "initialized");

    let second = backup(&config, &plan);
    assert!(second.ok, "{second:?}");
    assert_eq!((second.files_new, second.files_changed, second.files_unmodified), (0, 0, 3));

    let gone = host.dir.path().join("gone").to_string_lossy().into_owned();
    let missing_path = BackupPlan { paths: vec![plan.paths[0].clone(), gone.clone()], ..plan.clone() };
    let third = backup(&config, &missing_path);
    assert!(!third.ok && third.snapshot_id.is_some(), "{third:?}");
    assert_eq!(third.errors, [format!("{gone} does not exist, skipping")]);

    let mut listed = snapshots(&config, &plan).unwrap();
    assert_eq!(listed.len(), 3);
    listed.pop();
    let ids: Vec<_> = listed.iter().map(|s| s.short_id.clone()).collect();
    assert_eq!(ids, [first.snapshot_id.unwrap(), second.snapshot_id.unwrap()], "oldest first");
    assert_eq!(listed[0].paths, plan.paths);
    assert_eq!(listed[0].tags.as_deref(), Some(&["tend:nightly".to_owned()][..]));

    // The repository vanishes (an unmounted disk): a plan that made snapshots fails rather than
    // starting afresh in an empty one.
    fs::remove_dir_all(host.repo()).unwrap();
    let vanished = backup_with(&config, &plan, Repository::MustExist);
    assert!(!vanished.ok && vanished.snapshot_id.is_none(), "{vanished:?}");
    assert!(vanished.errors[0].contains("cat config"), "{vanished:?}");
    assert!(!host.repo().exists(), "no new repository");
}

#[test]
fn retention_keeps_the_last_snapshot_prunes_the_rest_and_the_check_passes() {
    if restic_missing() {
        return;
    }
    let host = Host::new();
    let config = BackupConfig::default();
    let mut plan = host.plan();
    for round in 0..3 {
        fs::write(host.src().join("etc/changing"), format!("round {round}\n")).unwrap();
        assert!(backup(&config, &plan).ok);
    }
    // Three snapshots of today: one daily snapshot is kept, the last.
    plan.retention = Retention { keep_daily: 1, keep_weekly: 0, keep_monthly: 0, keep_within_days: 0 };
    let forget = retention(&config, &plan);
    assert!(forget.ok && forget.error.is_none(), "{forget:?}");
    assert_eq!((forget.removed_snapshots, forget.kept_snapshots, forget.pruned), (2, 1, true));
    let left = snapshots(&config, &plan).unwrap();
    assert_eq!(left.len(), 1);

    let again = retention(&config, &plan);
    assert_eq!((again.ok, again.removed_snapshots, again.kept_snapshots, again.pruned), (true, 0, 1, false));

    let check = checked(&config, &plan);
    assert!(check.ok && check.errors.is_empty() && check.read_data_subset == "100%", "{check:?}");
}

#[test]
fn a_restore_test_proves_the_backup_and_catches_a_corrupted_pack() {
    if restic_missing() {
        return;
    }
    let host = Host::new();
    host.random_files("data", 3, 1 << 20);
    let config = BackupConfig::default();
    let plan = host.plan();
    assert!(backup(&config, &plan).ok);

    let good = restored_ok(&config, &plan);
    assert_eq!(good.files_sampled, 6, "fewer files than asked: all of them");
    assert_eq!(good.files_compared_live, 6, "nothing changed since the backup");
    let scratch_dirs = || {
        fs::read_dir(std::env::temp_dir())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with(&format!("tend-restore-test-{}-", std::process::id()))
            })
            .count()
    };

    // A file changed since the backup is verified against the repository only.
    fs::write(host.src().join("etc/hosts"), "changed since\n").unwrap();
    let changed = restored_ok(&config, &plan);
    assert_eq!(changed.files_compared_live, 5);

    // One flipped byte in the largest pack: a data pack of the random files.
    let pack = largest_file(&host.repo().join("data"));
    let mut bytes = fs::read(&pack).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    fs::set_permissions(&pack, fs::Permissions::from_mode(0o600)).unwrap();
    fs::write(&pack, bytes).unwrap();
    let bad = restore_tested(&config, &plan, 1);
    assert!(!bad.ok, "{bad:?}");
    assert!(bad.files_verified < bad.files_sampled, "{bad:?}");
    let error = bad.error.as_deref().unwrap_or_default();
    assert!(error.starts_with("restic restore failed (exit code 1)"), "{error}");
    let said = bad.mismatches.join("\n");
    assert!(said.contains("/data/file") && said.contains("ciphertext verification failed"), "{said}");
    assert_eq!(scratch_dirs(), 0, "the restore directories are gone, even after a failure");

    // And the check, reading all data, finds it too.
    let check = checked(&config, &plan);
    assert!(!check.ok && check.errors.iter().any(|e| e.contains("Pack ID does not match")), "{check:?}");
    assert!(check.errors.last().unwrap().starts_with("restic check failed (exit code 1)"), "{check:?}");
}

fn restored_ok(config: &BackupConfig, plan: &BackupPlan) -> RestoreTestRun {
    let run = restore_tested(config, plan, 42);
    assert!(run.ok && run.error.is_none() && run.mismatches.is_empty(), "{run:?}");
    assert_eq!(run.files_verified, run.files_sampled);
    assert_eq!(run.snapshot_id.as_ref().map(String::len), Some(64));
    run
}

fn largest_file(dir: &Path) -> PathBuf {
    let mut files = Vec::new();
    for sub in fs::read_dir(dir).unwrap() {
        for file in fs::read_dir(sub.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            files.push((fs::metadata(&path).unwrap().len(), path));
        }
    }
    files.into_iter().max().unwrap().1
}

#[test]
fn a_killed_backup_leaves_a_stale_lock_that_the_next_runs_clear() {
    if restic_missing() {
        return;
    }
    let host = Host::new();
    let config = BackupConfig::default();
    let plan = host.plan();
    assert!(backup(&config, &plan).ok, "a repository to interrupt a backup into");
    host.random_files("bulk", 150, 1 << 20);

    let mut killed = Command::new("restic")
        .args(["backup", "--json", "--tag", "tend:nightly"])
        .arg(host.src())
        .env("RESTIC_REPOSITORY", host.repo())
        .env("RESTIC_PASSWORD", PASSWORD)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let waited = Instant::now();
    while host.lock_files() == 0 && waited.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(killed.try_wait().unwrap().is_none(), "restic must still be running when it is killed");
    killed.kill().unwrap();
    killed.wait().unwrap();
    assert_eq!(host.lock_files(), 1, "the killed restic left its lock");

    // forget takes an exclusive lock, which the stale one blocks until it is removed.
    let forget = retention(&config, &plan);
    assert!(forget.ok, "{forget:?}");
    let after = backup(&config, &plan);
    assert!(after.ok, "{after:?}");
    assert!(after.files_new >= 150, "the interrupted files are in this snapshot: {after:?}");
    assert_eq!(host.lock_files(), 0);
}

#[test]
fn a_wrong_password_is_named_without_showing_it() {
    if restic_missing() {
        return;
    }
    let host = Host::new();
    let config = BackupConfig::default();
    assert!(backup(&config, &host.plan()).ok);
    let wrong = BackupPlan { password: Secret::new("not-the-secret-x9"), ..host.plan() };
    let run = backup(&config, &wrong);
    assert!(!run.ok && run.snapshot_id.is_none(), "{run:?}");
    let said = run.errors.join("\n");
    assert!(said.contains("the password of the plan does not open this repository"), "{said}");
    let everything = format!("{run:?} {wrong:?} {}", serde_json::to_string(&run).unwrap());
    assert!(!everything.contains("not-the-secret-x9") && !everything.contains(PASSWORD), "{everything}");
    let check = checked(&config, &wrong);
    assert!(!check.ok && check.errors.join("\n").contains("does not open"), "{check:?}");
}

#[test]
fn hooks_are_the_hosts_own_and_a_failing_pre_hook_runs_no_restic() {
    let host = Host::new();
    let marker = host.dir.path().join("post-hook-ran");
    let config = BackupConfig {
        hooks: BTreeMap::from([
            ("dump-db".to_owned(), vec!["sh".into(), "-c".into(), "echo cannot reach the database >&2; exit 2".into()]),
            ("restart".to_owned(), vec!["touch".into(), marker.to_string_lossy().into_owned()]),
        ]),
        // Were restic run, this would fail differently.
        restic: "/nonexistent/restic".into(),
        ..BackupConfig::default()
    };
    let plan = BackupPlan { pre_hook: Some("dump-db".into()), post_hook: Some("restart".into()), ..host.plan() };
    let run = backup(&config, &plan);
    assert!(!run.ok && run.exit_code.is_none(), "{run:?}");
    assert_eq!(run.errors.len(), 1, "{run:?}");
    assert!(run.errors[0].starts_with("pre hook failed, restic not run: dump-db (sh)"), "{run:?}");
    assert!(run.errors[0].ends_with("cannot reach the database"), "{run:?}");
    assert!(marker.exists(), "the post hook undoes the pre hook's work even so");

    let unknown = BackupPlan { pre_hook: Some("not-configured".into()), post_hook: None, ..host.plan() };
    let run = backup(&config, &unknown);
    assert!(run.errors[0].contains("no hook \"not-configured\" in this agent's [backup.hooks]"), "{run:?}");
    let invalid = BackupPlan { paths: vec!["relative".into()], ..host.plan() };
    assert!(backup(&config, &invalid).errors[0].starts_with("invalid plan: paths"));
}

/// A fake restic: a shell script answering `version` as `version` says, then running `body`
/// with the command in `$1`, logging every call.
fn fake_restic(dir: &Path, version: &str, body: &str) -> BackupConfig {
    let path = dir.join("restic");
    let log = dir.join("calls");
    let script = format!(
        "#!/bin/sh\necho \"$* repo=$RESTIC_REPOSITORY\" >> '{}'\nif [ \"$1\" = version ]; then echo 'restic {version} compiled with go1.22 on linux/amd64'; exit 0; fi\n{body}\n",
        log.display()
    );
    let mut file = fs::File::create(&path).unwrap();
    file.write_all(script.as_bytes()).unwrap();
    drop(file);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    BackupConfig { restic: path.to_string_lossy().into_owned(), command_timeout_secs: 5, ..BackupConfig::default() }
}

fn calls(dir: &Path) -> Vec<String> {
    fs::read_to_string(dir.join("calls"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .collect()
}

#[test]
fn newer_restics_say_no_repository_and_locked_by_exit_code() {
    let host = Host::new();
    let dir = host.dir.path();
    // restic 0.17+: exit 10 when there is no repository, 11 when locked; an unlocked second
    // attempt succeeds and prints the whole snapshot id.
    let config = fake_restic(
        dir,
        "0.17.3",
        &format!(
            r#"case "$1" in
  cat) exit 10 ;;
  init) exit 0 ;;
  unlock) touch '{0}/unlocked'; exit 0 ;;
  backup) [ -e '{0}/unlocked' ] || exit 11
    echo '{{"message_type":"summary","files_new":2,"files_changed":0,"files_unmodified":0,"data_added":10,"total_bytes_processed":10,"snapshot_id":"{1}"}}' ;;
esac"#,
            dir.display(),
            "ab".repeat(32)
        ),
    );
    let run = backup(&config, &host.plan());
    assert!(run.ok, "{run:?}");
    assert_eq!(run.snapshot_id.as_deref().map(str::len), Some(64));
    assert_eq!(calls(dir), ["version", "cat", "init", "backup", "unlock", "backup"]);

    // The same exit codes from 0.14 mean nothing special: 10 there is just a failure.
    let old = fake_restic(dir, "0.14.0", r#"[ "$1" = cat ] && exit 10; exit 0"#);
    let run = backup(&old, &host.plan());
    assert!(run.errors[0].starts_with("restic cat config failed (exit code 10)"), "{run:?}");
}

#[test]
fn a_hung_restic_is_killed_at_its_deadline() {
    let host = Host::new();
    let config = BackupConfig { command_timeout_secs: 1, ..fake_restic(host.dir.path(), "0.14.0", "exec sleep 30") };
    let started = Instant::now();
    let run = backup(&config, &host.plan());
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(run.errors, ["restic cat did not finish within 1 s"], "{run:?}");
    let missing = BackupConfig { restic: "/nonexistent/restic".into(), ..BackupConfig::default() };
    let check = checked(&missing, &host.plan());
    assert_eq!(check.errors, ["unavailable: /nonexistent/restic is not installed"]);
}
