//! The restore test: proof that the latest snapshot gives back what was backed up.
//!
//! A random sample of its regular files is restored into a fresh private directory
//! (`restic restore --verify`), then each restored file must have the snapshot's size and the
//! SHA-256 of what `restic dump` streams for it; where the live file still has the snapshot's
//! size and modification time, it must have the same hash too. The directory is removed
//! afterwards, whatever happened.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tend_proto::backups::{BackupEvent, BackupPlan, RestoreTestRun, bounded_errors};

use super::parse::{self, FileNode, Listed};
use super::restic::Restic;
use super::{elapsed_ms, start};
use crate::config::BackupConfig;

/// Restore-tests the plan's latest snapshot. `seed` chooses the sample: the scheduler passes a
/// random one; the same seed over the same snapshot picks the same files.
pub fn restore_test(config: &BackupConfig, plan: &BackupPlan, seed: u64) -> BackupEvent {
    let (started_at_ms, clock) = start();
    let mut run = RestoreTestRun { plan: plan.name.clone(), started_at_ms, ..RestoreTestRun::default() };
    let deadline = Instant::now() + Duration::from_secs(config.restore_test_timeout_secs);
    if let Err(error) = test(config, plan, seed, deadline, &mut run) {
        run.error = Some(error);
    }
    run.ok = run.error.is_none() && run.mismatches.is_empty() && run.files_verified == run.files_sampled;
    run.mismatches = bounded_errors(std::mem::take(&mut run.mismatches));
    run.duration_ms = elapsed_ms(clock);
    BackupEvent::RestoreTest(run)
}

fn test(
    config: &BackupConfig,
    plan: &BackupPlan,
    seed: u64,
    deadline: Instant,
    run: &mut RestoreTestRun,
) -> Result<(), String> {
    plan.validate().map_err(|invalid| format!("invalid plan: {invalid}"))?;
    let restic = Restic::open(config, plan).map_err(|e| e.to_string())?;
    let left = || deadline.saturating_duration_since(Instant::now());

    let hostname = rustix::system::uname().nodename().to_string_lossy().into_owned();
    let ls = ["ls", "--json", "--tag", restic.tag(), "--host", hostname.as_str(), "latest"];
    let listed = restic
        .stream(&ls, left(), |stdout| {
            let mut sample = Sample::new(plan.restore_test_files as usize, seed);
            let mut snapshot = None;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                match parse::listed(&line) {
                    Some(Listed::Snapshot { id }) => snapshot = Some(id),
                    Some(Listed::File(file)) => sample.offer(file),
                    _ => {}
                }
            }
            (snapshot, sample.chosen)
        })
        .map_err(|e| e.to_string())?;
    if !listed.ok() {
        return Err(restic.failure("ls", &listed).to_string());
    }
    let (Some(snapshot), files) = listed.stdout else {
        return Err("the plan has no snapshot to test yet".into());
    };
    run.snapshot_id = Some(snapshot.clone());
    if files.is_empty() {
        return Err("the latest snapshot holds no regular file to test".into());
    }
    run.files_sampled = files.len() as u64;

    let target = Scratch::create()?;
    let target_text = target.0.to_string_lossy().into_owned();
    let mut args = vec!["restore".to_owned(), snapshot.clone(), "--target".into(), target_text, "--verify".into()];
    for file in &files {
        args.extend(["--include".to_owned(), escape_pattern(&file.path)]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let restored = restic.run(&args, left()).map_err(|e| e.to_string())?;
    if !restored.ok() {
        // What was restored is still compared: the mismatches name the damaged files.
        run.error = Some(restic.failure("restore", &restored).to_string());
        run.mismatches.extend(parse::error_lines(&restored.stderr).into_iter().filter(|l| !l.starts_with("Fatal:")));
    }

    for file in &files {
        if left().is_zero() {
            return Err(format!("the restore test did not finish within {} s", config.restore_test_timeout_secs));
        }
        match verify(&restic, &snapshot, file, &target.0, left()) {
            Ok(live) => {
                run.files_verified += 1;
                run.files_compared_live += u64::from(live);
            }
            Err(mismatch) => run.mismatches.push(format!("{}: {mismatch}", file.path)),
        }
    }
    Ok(())
}

/// Checks one restored file; `Ok(true)` when the live file was compared too.
fn verify(
    restic: &Restic<'_>,
    snapshot: &str,
    file: &FileNode,
    target: &Path,
    timeout: Duration,
) -> Result<bool, String> {
    let restored_path = target.join(file.path.trim_start_matches('/'));
    let (restored_size, restored_hash) =
        fs::File::open(&restored_path).and_then(hash).map_err(|e| format!("not restored ({e})"))?;
    if restored_size != file.size {
        return Err(format!("restored {restored_size} bytes, the snapshot holds {}", file.size));
    }
    let dumped = restic
        .stream(&["dump", snapshot, file.path.as_str()], timeout, |stdout| hash(stdout))
        .map_err(|e| e.to_string())?;
    if !dumped.ok() {
        return Err(restic.failure("dump", &dumped).to_string());
    }
    let (dumped_size, dumped_hash) = dumped.stdout.map_err(|e| format!("reading restic dump: {e}"))?;
    if (dumped_size, &dumped_hash) != (file.size, &restored_hash) {
        return Err(format!("restored file differs from the repository's ({dumped_size} bytes, sha256 {dumped_hash})"));
    }
    if !unchanged_since(file) {
        return Ok(false);
    }
    let (_, live_hash) = fs::File::open(&file.path).and_then(hash).map_err(|e| format!("live file unreadable: {e}"))?;
    if live_hash != restored_hash {
        return Err(format!(
            "the live file has the snapshot's size and time but other content (sha256 {live_hash}, restored {restored_hash})"
        ));
    }
    Ok(true)
}

/// Whether the live file still has the snapshot's size and modification time, so that its
/// content must be the snapshot's.
fn unchanged_since(file: &FileNode) -> bool {
    let Ok(meta) = fs::metadata(&file.path) else { return false };
    let snapshot_time = file.mtime.parse::<jiff::Timestamp>().ok();
    let live_time = meta.modified().ok().and_then(|t| jiff::Timestamp::try_from(t).ok());
    meta.is_file() && meta.len() == file.size && snapshot_time.is_some() && snapshot_time == live_time
}

/// Size and SHA-256 (hex) of a stream, read in blocks, never held whole.
fn hash(mut source: impl Read) -> std::io::Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let size = std::io::copy(&mut source, &mut hasher)?;
    Ok((size, format!("{:x}", hasher.finalize())))
}

/// restic's `--include` takes patterns (`*`, `?`, `[…]`, `\` escapes): a file whose name
/// holds one must still match only itself.
pub(super) fn escape_pattern(path: &str) -> String {
    let mut escaped = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// A uniform random sample of at most `size` files from a listing of unknown length, in
/// memory bounded by `size` (reservoir sampling, Algorithm R).
struct Sample {
    size: usize,
    seen: u64,
    rng: SplitMix64,
    chosen: Vec<FileNode>,
}

impl Sample {
    fn new(size: usize, seed: u64) -> Sample {
        Sample { size, seen: 0, rng: SplitMix64(seed), chosen: Vec::with_capacity(size.min(1024)) }
    }

    fn offer(&mut self, file: FileNode) {
        self.seen += 1;
        if self.chosen.len() < self.size {
            self.chosen.push(file);
        } else if let Ok(slot) = usize::try_from(self.rng.next() % self.seen)
            && slot < self.size
        {
            self.chosen[slot] = file;
        }
    }
}

/// A small seeded generator: the sample must be reproducible from its seed, not secret.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A directory only the agent may read (restored files may be secrets), removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn create() -> Result<Scratch, String> {
        let unique = format!(
            "tend-restore-test-{}-{}",
            std::process::id(),
            SplitMix64(jiff::Timestamp::now().as_nanosecond() as u64).next()
        );
        let path = std::env::temp_dir().join(unique);
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(Scratch(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_dir_all(&self.0) {
            tracing::warn!(path = %self.0.display(), error = %e, "cannot remove a restore test's directory");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(i: usize) -> FileNode {
        FileNode { path: format!("/srv/f{i}"), size: 1, mtime: String::new() }
    }

    fn sample(size: usize, of: usize, seed: u64) -> Vec<String> {
        let mut sample = Sample::new(size, seed);
        (0..of).for_each(|i| sample.offer(node(i)));
        sample.chosen.into_iter().map(|f| f.path).collect()
    }

    #[test]
    fn a_sample_is_bounded_reproducible_and_spread() {
        assert_eq!(sample(20, 5, 1).len(), 5, "fewer files than asked: all of them");
        assert_eq!(sample(20, 10_000, 7), sample(20, 10_000, 7));
        assert_ne!(sample(20, 10_000, 7), sample(20, 10_000, 8));
        let late = sample(20, 10_000, 7).iter().filter(|p| p[6..].parse::<usize>().unwrap() >= 5000).count();
        assert!((4..=16).contains(&late), "about half from the second half, not the first 20: {late}");
    }

    #[test]
    fn patterns_match_only_their_file() {
        assert_eq!(escape_pattern("/srv/a*b?[c]\\d"), "/srv/a\\*b\\?\\[c\\]\\\\d");
        assert_eq!(escape_pattern("/etc/hosts"), "/etc/hosts");
    }

    #[test]
    fn hashing_streams() {
        let (size, hex) = hash(&b"abc"[..]).unwrap();
        assert_eq!((size, hex.as_str()), (3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    }
}
