//! Reading what restic prints: pure functions over captured text, tested on real output of
//! restic 0.14 in `testdata/restic/`.

use serde::Deserialize;

/// A restic release, as `restic version` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl Version {
    /// The first release with the exit codes 10 (no repository), 11 (locked) and 12 (wrong
    /// password); older ones exit 1 and say it in words.
    pub const EXIT_CODES: Version = Version(0, 17, 0);
}

/// "restic 0.14.0 compiled with go1.19.8 on linux/amd64", "restic 0.19.0-dev (compiled
/// manually) …".
pub fn version(text: &str) -> Option<Version> {
    let number = text.trim_start().strip_prefix("restic ")?.split_whitespace().next()?;
    let mut parts = number.split(['.', '-']).map(str::parse::<u32>);
    match (parts.next(), parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor)), Some(Ok(patch))) => Some(Version(major, minor, patch)),
        _ => None,
    }
}

/// The `summary` message of `restic backup --json`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct BackupSummary {
    /// Short in 0.14 ("af62b1c5"), whole in newer releases.
    pub snapshot_id: Option<String>,
    #[serde(default)]
    pub files_new: u64,
    #[serde(default)]
    pub files_changed: u64,
    #[serde(default)]
    pub files_unmodified: u64,
    #[serde(default)]
    pub data_added: u64,
    #[serde(default)]
    pub total_bytes_processed: u64,
}

/// One line of `restic backup --json` that matters: the summary, or an error about one item.
/// Status lines and anything that is not a message give `None`.
#[derive(Debug, PartialEq)]
pub enum BackupMessage {
    Summary(BackupSummary),
    Error(String),
}

pub fn backup_message(line: &str) -> Option<BackupMessage> {
    #[derive(Deserialize)]
    struct Message {
        message_type: String,
        #[serde(default)]
        error: serde_json::Value,
        #[serde(default)]
        during: String,
        #[serde(default)]
        item: String,
    }
    let line = line.trim();
    if !line.starts_with('{') {
        return None;
    }
    let message: Message = serde_json::from_str(line).ok()?;
    match message.message_type.as_str() {
        "summary" => serde_json::from_str(line).ok().map(BackupMessage::Summary),
        "error" => {
            let what = error_text(&message.error);
            let during = if message.during.is_empty() { String::new() } else { format!(" ({})", message.during) };
            Some(BackupMessage::Error(format!("{}{during}: {what}", message.item)))
        }
        _ => None,
    }
}

/// restic 0.14 serializes the Go error value itself: `{}` for most, `{"Op","Path","Err"}` (an
/// errno) for a failed system call; newer releases write `{"message": "…"}`.
fn error_text(error: &serde_json::Value) -> String {
    if let Some(message) = error.get("message").and_then(|m| m.as_str()) {
        return message.to_owned();
    }
    match (error.get("Op").and_then(|o| o.as_str()), error.get("Err").and_then(|e| e.as_u64())) {
        (Some(op), Some(errno)) => format!("{op}: {}", errno_text(errno)),
        _ => "cannot be read".to_owned(),
    }
}

fn errno_text(errno: u64) -> String {
    match errno {
        1 => "operation not permitted".into(),
        2 => "no such file or directory".into(),
        5 => "input/output error".into(),
        13 => "permission denied".into(),
        other => format!("errno {other}"),
    }
}

/// A snapshot as `restic snapshots --json` lists it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Snapshot {
    pub id: String,
    pub short_id: String,
    /// RFC 3339 with nanoseconds, as restic writes it.
    pub time: String,
    pub paths: Vec<String>,
    pub hostname: String,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}

pub fn snapshots(json: &str) -> Result<Vec<Snapshot>, String> {
    serde_json::from_str::<Option<Vec<Snapshot>>>(json.trim())
        .map(Option::unwrap_or_default)
        .map_err(|e| format!("unreadable snapshot list from restic: {e}"))
}

/// How many snapshots `restic forget --json` removed and kept, over all groups. With `--prune`
/// restic 0.14 prints the prune's progress text after the JSON line, on stdout too.
pub fn forget(stdout: &str) -> Result<(u64, u64), String> {
    #[derive(Deserialize)]
    struct Group {
        #[serde(default)]
        keep: Option<Vec<serde_json::Value>>,
        #[serde(default)]
        remove: Option<Vec<serde_json::Value>>,
    }
    let Some(json) = stdout.lines().find(|line| line.starts_with('[')) else {
        return Err("restic forget printed no result".into());
    };
    let groups: Vec<Group> =
        serde_json::from_str(json).map_err(|e| format!("unreadable result of restic forget: {e}"))?;
    let count = |list: &Option<Vec<serde_json::Value>>| list.as_ref().map_or(0, |l| l.len() as u64);
    Ok(groups.iter().fold((0, 0), |(removed, kept), group| (removed + count(&group.remove), kept + count(&group.keep))))
}

/// The lines a failed command wrote to stderr that say what went wrong: restic writes progress
/// to stdout, so what is left on stderr are the errors, the last one usually `Fatal: …`.
pub fn error_lines(stderr: &str) -> Vec<String> {
    stderr.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_owned).collect()
}

/// One line of `restic ls --json`: the snapshot first, then one node per line.
#[derive(Debug, PartialEq)]
pub enum Listed {
    Snapshot {
        id: String,
    },
    File(FileNode),
    /// Directories, links, devices: never sampled.
    Other,
}

/// A regular file in a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct FileNode {
    /// Absolute, as it was on the host (plans back up absolute paths).
    pub path: String,
    pub size: u64,
    /// RFC 3339 with nanoseconds.
    pub mtime: String,
}

pub fn listed(line: &str) -> Option<Listed> {
    #[derive(Deserialize)]
    struct Line {
        struct_type: String,
        #[serde(default)]
        id: String,
        #[serde(default, rename = "type")]
        kind: String,
        #[serde(default)]
        path: String,
        #[serde(default)]
        size: u64,
        #[serde(default)]
        mtime: String,
    }
    let line: Line = serde_json::from_str(line.trim()).ok()?;
    Some(match (line.struct_type.as_str(), line.kind.as_str()) {
        ("snapshot", _) => Listed::Snapshot { id: line.id },
        ("node", "file") => Listed::File(FileNode { path: line.path, size: line.size, mtime: line.mtime }),
        _ => Listed::Other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(name: &str) -> String {
        let path = format!("{}/testdata/restic/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn versions_old_new_and_dev() {
        assert_eq!(version("restic 0.14.0 compiled with go1.19.8 on linux/amd64\n"), Some(Version(0, 14, 0)));
        assert_eq!(version("restic 0.19.0-dev (compiled manually) compiled with go1.26.4"), Some(Version(0, 19, 0)));
        assert!(version("restic 0.17.3 compiled").unwrap() >= Version::EXIT_CODES);
        assert_eq!(version("rustic 0.9"), None);
    }

    #[test]
    fn a_backup_gives_its_summary_and_skips_status_lines() {
        let messages: Vec<_> = capture("backup-0.14.stdout.jsonl").lines().filter_map(backup_message).collect();
        assert_eq!(messages.len(), 1, "{messages:?}");
        let BackupMessage::Summary(summary) = &messages[0] else { panic!("{messages:?}") };
        assert_eq!(summary.snapshot_id.as_deref().map(str::len), Some(8), "0.14 gives the short id");
        assert_eq!((summary.files_new, summary.files_changed, summary.files_unmodified), (0, 0, 5));
        assert_eq!((summary.data_added, summary.total_bytes_processed), (703, 21));
    }

    #[test]
    fn unreadable_files_are_named_with_why() {
        let errors: Vec<_> = capture("backup-exit3-0.14.stderr.txt")
            .lines()
            .filter_map(backup_message)
            .map(|m| match m {
                BackupMessage::Error(e) => e,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            errors,
            [
                "/tmp/rx2/src/closed (archival): cannot be read",
                "/tmp/rx2/src/closed (scan): cannot be read",
                "/tmp/rx2/src/private.txt (archival): open: permission denied",
            ]
        );
        let summary = capture("backup-exit3-0.14.stdout.jsonl").lines().find_map(backup_message);
        assert!(matches!(summary, Some(BackupMessage::Summary(s)) if s.snapshot_id.is_some()), "exit 3 still made one");
        let newer = r#"{"message_type":"error","error":{"message":"open /srv/x: permission denied"},"during":"archival","item":"/srv/x"}"#;
        assert_eq!(
            backup_message(newer),
            Some(BackupMessage::Error("/srv/x (archival): open /srv/x: permission denied".into()))
        );
    }

    #[test]
    fn snapshots_are_listed_with_ids_times_and_paths() {
        let listed = snapshots(&capture("snapshots-0.14.json")).unwrap();
        assert!(!listed.is_empty());
        for snapshot in &listed {
            assert_eq!(snapshot.id.len(), 64);
            assert!(snapshot.id.starts_with(&snapshot.short_id));
            assert!(snapshot.time.ends_with('Z') && !snapshot.paths.is_empty() && !snapshot.hostname.is_empty());
        }
        assert_eq!(snapshots("null").unwrap(), [], "restic prints null for an empty repository");
        assert!(snapshots("Fatal").is_err());
    }

    #[test]
    fn forget_counts_removed_and_kept_even_with_prune_text_after() {
        assert_eq!(forget(&capture("forget-prune-0.14.stdout.txt")).unwrap(), (2, 1));
        assert_eq!(forget(&capture("forget-0.14.stdout.json")).unwrap(), (4, 1));
        assert!(forget("loading indexes...\n").is_err());
    }

    #[test]
    fn check_errors_are_the_stderr_lines() {
        assert_eq!(error_lines(&capture("check-ok-0.14.stderr.txt")), Vec::<String>::new());
        let errors = error_lines(&capture("check-corrupt-0.14.stderr.txt"));
        assert!(errors[0].starts_with("Pack ID does not match"), "{errors:?}");
        assert_eq!(errors.last().unwrap(), "Fatal: repository contains errors");
    }

    #[test]
    fn a_listing_gives_the_snapshot_then_files() {
        let lines: Vec<_> = capture("ls-0.14.jsonl").lines().filter_map(listed).collect();
        assert!(matches!(&lines[0], Listed::Snapshot { id } if id.len() == 64));
        let files: Vec<_> = lines
            .iter()
            .filter_map(|l| match l {
                Listed::File(file) => Some(file),
                _ => None,
            })
            .collect();
        assert!(files.iter().any(|f| f.path.ends_with("/a.txt") && f.size == 6 && f.mtime.ends_with('Z')), "{files:?}");
        assert!(lines.contains(&Listed::Other), "directories are listed too");
    }
}
