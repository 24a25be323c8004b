//! Restore jobs: files or a whole snapshot of one of this host's backup plans put back into a
//! directory, on a technician's request (`JobKind::Restore`). With no paths it is the
//! full-restore drill.
//!
//! The plan comes from the copy the backup runner keeps (`plans`): the server names a plan,
//! never a repository or a password. The snapshot is listed first, which resolves `latest` to
//! an id (so that what is counted is what is restored) and counts the files and bytes selected;
//! then `restic restore --verify` writes and reads them back. A restore in place (target `/`)
//! writes over the live files: this host's configuration must allow it, whatever the server
//! authorized.

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::time::Duration;

use tend_proto::jobs::{JobResult, RestoreParams};

use super::parse::{self, Listed};
use super::plans::PlanCache;
use super::restic::Restic;
use super::restore_test::escape_pattern;
use crate::config::BackupConfig;

/// Most restored files the result names; the counts cover them all.
const LISTED_FILES: usize = 100;

/// Runs a restore job with `params`, the plans read from `plans_dir`. Blocks until restic ends
/// or the backup deadline (`backup_timeout_secs`: a full restore moves as much as a backup).
pub fn restore(config: &BackupConfig, plans_dir: &Path, params: &serde_json::Value) -> JobResult {
    let failed = |output: String| JobResult { output, ..JobResult::default() };
    let params = match RestoreParams::from_value(params) {
        Ok(params) => params,
        Err(e) => return failed(format!("not run: invalid restore parameters: {e}")),
    };
    if params.restores_in_place() && !config.allow_restore_in_place {
        return JobResult {
            refused: true,
            output: "not run: a restore in place (target /) overwrites live files; this host's agent allows it only \
                     with `allow_restore_in_place = true` under [backup] in its own configuration"
                .into(),
            ..JobResult::default()
        };
    }
    let plans = match PlanCache::open(plans_dir) {
        Ok(plans) => plans,
        Err(e) => return failed(format!("not run: cannot read this agent's backup plans: {e}")),
    };
    let Some(plan) = plans.plans().iter().find(|plan| plan.name == params.plan) else {
        let known: Vec<&str> = plans.plans().iter().map(|plan| plan.name.as_str()).collect();
        return failed(format!(
            "not run: this agent has no backup plan {:?} (it knows: {})",
            params.plan,
            if known.is_empty() { "none".to_owned() } else { known.join(", ") }
        ));
    };
    let restic = match Restic::open(config, plan) {
        Ok(restic) => restic,
        Err(e) => return failed(format!("not run: {e}")),
    };
    let timeout = Duration::from_secs(config.backup_timeout_secs);
    let selection = match select(&restic, &params, timeout) {
        Ok(selection) => selection,
        Err(e) => return failed(format!("not run: {e}")),
    };
    if !params.restores_in_place()
        && let Err(e) = fs::DirBuilder::new().recursive(true).mode(0o700).create(&params.target)
    {
        return failed(format!("not run: cannot create {}: {e}", params.target));
    }

    let mut args = vec!["restore", selection.snapshot.as_str(), "--target", params.target.as_str(), "--verify"];
    let includes: Vec<String> = params.paths.iter().map(|path| escape_pattern(path)).collect();
    for include in &includes {
        args.extend(["--include", include.as_str()]);
    }
    // Only the exit code and stderr matter: the counts come from the listing, and the text
    // restic prints on stdout differs between versions.
    let ran = restic.stream(&args, timeout, |stdout| std::io::copy(stdout, &mut std::io::sink()));
    let ran = match ran {
        Ok(ran) => ran,
        Err(e) => return failed(e.to_string()),
    };
    let mut output = format!(
        "{} {} files, {} bytes, of snapshot {} (plan {}) into {}{}\n",
        if ran.ok() { "restored and verified" } else { "FAILED to restore" },
        selection.files,
        selection.bytes,
        selection.snapshot,
        plan.name,
        params.target,
        if params.paths.is_empty() { " (the whole snapshot)" } else { "" },
    );
    for path in &selection.listed {
        output.push_str(path);
        output.push('\n');
    }
    if selection.files > selection.listed.len() as u64 {
        output.push_str(&format!("… and {} more files\n", selection.files - selection.listed.len() as u64));
    }
    if !ran.ok() {
        output.push_str(&restic.failure("restore", &ran).to_string());
        for line in parse::error_lines(&ran.stderr) {
            output.push('\n');
            output.push_str(&line);
        }
    }
    JobResult { ok: ran.ok(), exit_code: ran.code, output, ..JobResult::default() }
}

/// What a restore selects in the snapshot: its id and the regular files under the paths.
struct Selection {
    snapshot: String,
    files: u64,
    bytes: u64,
    /// The first [`LISTED_FILES`] of them.
    listed: Vec<String>,
}

/// Lists the snapshot (`latest`: the plan's newest of this host) and counts what the paths
/// select. A path that selects no file is surely a mistake, and refused before anything is
/// written.
fn select(restic: &Restic<'_>, params: &RestoreParams, timeout: Duration) -> Result<Selection, String> {
    let hostname = rustix::system::uname().nodename().to_string_lossy().into_owned();
    let ls = ["ls", "--json", "--tag", restic.tag(), "--host", hostname.as_str(), params.snapshot.as_str()];
    let listed = restic
        .stream(&ls, timeout, |stdout| {
            let mut selection = Selection { snapshot: String::new(), files: 0, bytes: 0, listed: Vec::new() };
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                match parse::listed(&line) {
                    Some(Listed::Snapshot { id }) => selection.snapshot = id,
                    Some(Listed::File(file))
                        if params.paths.is_empty() || params.paths.iter().any(|wanted| under(&file.path, wanted)) =>
                    {
                        selection.files += 1;
                        selection.bytes = selection.bytes.saturating_add(file.size);
                        if selection.listed.len() < LISTED_FILES {
                            selection.listed.push(file.path);
                        }
                    }
                    _ => {}
                }
            }
            selection
        })
        .map_err(|e| e.to_string())?;
    if !listed.ok() {
        return Err(restic.failure("ls", &listed).to_string());
    }
    let selection = listed.stdout;
    if selection.snapshot.is_empty() {
        return Err(format!("the plan has no snapshot {:?} of this host", params.snapshot));
    }
    if !params.paths.is_empty() && selection.files == 0 {
        return Err(format!("snapshot {} holds no file under {}", selection.snapshot, params.paths.join(", ")));
    }
    Ok(selection)
}

/// Whether `path` is `wanted` or inside it, as restic's `--include` selects.
fn under(path: &str, wanted: &str) -> bool {
    let wanted = wanted.trim_end_matches('/');
    path.strip_prefix(wanted).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use tend_proto::backups::{BackupEvent, BackupPlan, Secret};

    use super::super::{Repository, run_backup};
    use super::*;

    const PASSWORD: &str = "restore-test-password";

    /// A host with one plan backing up `src`, kept where the backup runner keeps plans.
    fn host(dir: &Path) -> (BackupConfig, BackupPlan) {
        fs::create_dir_all(dir.join("src/etc")).unwrap();
        fs::write(dir.join("src/etc/hosts"), "127.0.0.1 localhost\n").unwrap();
        fs::write(dir.join("src/etc/other"), "not asked for\n").unwrap();
        let plan = BackupPlan {
            read_data_subset: "100%".into(),
            ..BackupPlan::new(
                "nightly",
                &dir.join("repo").to_string_lossy(),
                Secret::new(PASSWORD),
                vec![dir.join("src").to_string_lossy().into_owned()],
            )
        };
        let cached = serde_json::json!({ "plans": [plan] });
        fs::write(dir.join(super::super::plans::FILE), cached.to_string()).unwrap();
        (BackupConfig::default(), plan)
    }

    #[test]
    fn one_file_comes_back_into_a_new_private_directory() {
        if std::process::Command::new("restic").arg("version").output().is_err() {
            eprintln!("SKIPPED: restic is not on PATH");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let (config, plan) = host(dir.path());
        match run_backup(&config, &plan, Repository::MayInitialise) {
            BackupEvent::Backup(run) => assert!(run.ok, "{run:?}"),
            other => panic!("{other:?}"),
        }
        let wanted = dir.path().join("src/etc/hosts").to_string_lossy().into_owned();
        let target = dir.path().join("restored/here");
        let params = serde_json::json!({"plan": "nightly", "paths": [wanted], "target": target});
        let result = restore(&config, dir.path(), &params);
        assert!(result.ok && result.exit_code == Some(0), "{result:?}");
        assert!(
            result.output.starts_with("restored and verified 1 files, 20 bytes, of snapshot "),
            "{}",
            result.output
        );
        assert!(result.output.contains(&wanted) && !result.output.contains(PASSWORD), "{}", result.output);
        let restored = target.join(wanted.trim_start_matches('/'));
        assert_eq!(fs::read_to_string(restored).unwrap(), "127.0.0.1 localhost\n");
        assert!(
            !target.join(dir.path().join("src/etc/other").strip_prefix("/").unwrap()).exists(),
            "only what was asked"
        );
        let mode = std::os::unix::fs::PermissionsExt::mode(&fs::metadata(&target).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o700);

        let drill = dir.path().join("drill");
        let whole = restore(&config, dir.path(), &serde_json::json!({"plan": "nightly", "target": drill}));
        assert!(whole.ok && whole.output.contains("2 files, 34 bytes") && whole.output.contains("the whole snapshot"));

        let missing = serde_json::json!({"plan": "nightly", "paths": ["/no/such"], "target": drill});
        let result = restore(&config, dir.path(), &missing);
        assert!(!result.ok && result.output.contains("holds no file under /no/such"), "{result:?}");
        let unknown = restore(&config, dir.path(), &serde_json::json!({"plan": "weekly", "target": drill}));
        assert!(!unknown.ok && unknown.output.contains("no backup plan \"weekly\" (it knows: nightly)"), "{unknown:?}");
    }

    #[test]
    fn a_restore_in_place_is_refused_unless_this_host_allows_it() {
        let dir = tempfile::tempdir().unwrap();
        let (config, _) = host(dir.path());
        let in_place = serde_json::json!({"plan": "nightly", "paths": ["/etc/hosts"], "target": "/"});
        let result = restore(&config, dir.path(), &in_place);
        assert!(result.refused && !result.ok, "{result:?}");
        assert!(result.output.contains("allow_restore_in_place = true"), "{}", result.output);
        let allowing = BackupConfig { allow_restore_in_place: true, restic: "/nonexistent/restic".into(), ..config };
        let result = restore(&allowing, dir.path(), &in_place);
        assert!(
            !result.refused && result.output.contains("not installed"),
            "allowed, then restic is looked for: {result:?}"
        );
    }

    #[test]
    fn a_path_selects_itself_and_what_is_inside() {
        assert!(under("/etc/hosts", "/etc/hosts"));
        assert!(under("/etc/ssh/sshd_config", "/etc/ssh/"));
        assert!(under("/etc/hosts", "/"));
        assert!(!under("/etc/hostsfile", "/etc/hosts"));
        assert!(!under("/srv", "/srv/data"));
    }
}
