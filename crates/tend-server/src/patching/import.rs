//! Advisories in: an uploaded file, or the configured sources read on a timer.
//!
//! Each import keeps when tend first learned of every advisory and entry
//! (`Advisory::refreshed`), writes what changed in one transaction and drops what its source
//! withdrew. Must not: judge hosts; that is `super::exposures_of_host`'s.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use tend_core::patching::{Advisory, Imported, MAX_IMPORT_BYTES, parse_debian_tracker, parse_osv};
use tend_proto::patching::{ImportSummary, SkippedRecord};
use tend_store::AdvisoryRow;

use crate::config::without_userinfo;
use crate::{AppState, Error};

/// How long fetching one URL source may take, body included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(300);

/// The file formats tend reads advisories from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Osv,
    DebianTracker,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Osv => "osv",
            Format::DebianTracker => "debian_tracker",
        }
    }

    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "osv" => Some(Format::Osv),
            "debian_tracker" => Some(Format::DebianTracker),
            _ => None,
        }
    }

    /// The format of `bytes`, from the first JSON value's shape alone: an array, or an object
    /// with an OSV record's `id` and `affected`/`modified`, is OSV; any other object is taken
    /// for the tracker's export (source package → CVE → releases). Only the keys are read.
    pub fn detect(bytes: &[u8]) -> Format {
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first == Some(&b'[') {
            return Format::Osv;
        }
        let keys = serde_json::Deserializer::from_slice(bytes)
            .into_iter::<std::collections::HashMap<String, serde::de::IgnoredAny>>()
            .next();
        match keys {
            Some(Ok(keys))
                if keys.contains_key("id") && (keys.contains_key("affected") || keys.contains_key("modified")) =>
            {
                Format::Osv
            }
            _ => Format::DebianTracker,
        }
    }
}

/// Reads `bytes` in `format` (detected when `None`) and stores what they say. A file that is
/// not of its format is refused whole, and nothing is written.
pub async fn import(
    state: &AppState,
    bytes: Vec<u8>,
    format: Option<Format>,
    now: Timestamp,
) -> Result<ImportSummary, Error> {
    let format = format.unwrap_or_else(|| Format::detect(&bytes));
    // Parsing the tracker's whole export takes seconds: not on the request threads.
    let imported = tokio::task::spawn_blocking(move || match format {
        Format::Osv => parse_osv(&bytes, now),
        Format::DebianTracker => parse_debian_tracker(&bytes, now),
    })
    .await
    .map_err(|e| Error::Internal(format!("advisory parsing stopped: {e}")))??;
    store(state, format, imported, now).await
}

async fn store(state: &AppState, format: Format, imported: Imported, now: Timestamp) -> Result<ImportSummary, Error> {
    let ids: Vec<String> = imported.advisories.iter().map(|a| a.id.clone()).collect();
    let known = state.store.advisories_by_id(&ids).await?;
    let mut known = known.into_iter().map(|row| (row.id.clone(), row)).collect::<std::collections::HashMap<_, _>>();
    let mut summary = ImportSummary {
        format: format.as_str().to_owned(),
        irrelevant: imported.irrelevant as u64,
        skipped: imported.skipped.into_iter().map(|s| SkippedRecord { record: s.record, reason: s.reason }).collect(),
        ..ImportSummary::default()
    };
    let mut rows = Vec::new();
    for fresh in imported.advisories {
        let advisory = match known.remove(&fresh.id) {
            Some(old) => match serde_json::from_str::<Advisory>(&old.body) {
                Ok(old) => {
                    let merged = old.refreshed(fresh)?;
                    if merged == old {
                        summary.unchanged += 1;
                        continue;
                    }
                    merged
                }
                // A body this tend cannot read is replaced, not kept forever.
                Err(_) => fresh,
            },
            None => fresh,
        };
        let body = serde_json::to_string(&advisory).map_err(|e| Error::Internal(e.to_string()))?;
        rows.push(AdvisoryRow {
            id: advisory.id.clone(),
            source: format.as_str().to_owned(),
            body,
            learned_at: advisory.learned_at,
            updated_at: now,
        });
    }
    let changes = state.store.upsert_advisories(&rows, &imported.withdrawn, now).await?;
    summary.added = changes.added;
    summary.updated = changes.updated;
    summary.withdrawn = changes.withdrawn;
    Ok(summary)
}

/// Set while a refresh runs, so a slow source never makes two overlap.
static REFRESHING: AtomicBool = AtomicBool::new(false);

/// Starts reading the configured sources on a task of its own, unless a reading still runs or
/// none is configured; the scheduler calls it every `patching.refresh_hours`.
pub fn refresh_in_background(state: &AppState) {
    if state.config.patching.advisory_sources.is_empty() || REFRESHING.swap(true, Ordering::AcqRel) {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move {
        refresh(&state).await;
        REFRESHING.store(false, Ordering::Release);
    });
}

/// Reads every configured source once, then starts the automatic security rollouts the new
/// fixes call for. A failing source is logged and costs no other.
pub async fn refresh(state: &AppState) {
    for source in &state.config.patching.advisory_sources {
        let shown = without_userinfo(source);
        match read_source(source).await {
            Ok(files) => {
                for (name, bytes) in files {
                    match import(state, bytes, None, Timestamp::now()).await {
                        Ok(s) => tracing::info!(
                            source = %shown, file = %name, format = s.format, added = s.added, updated = s.updated,
                            withdrawn = s.withdrawn, skipped = s.skipped.len(), "advisories refreshed"
                        ),
                        Err(e) => tracing::warn!(source = %shown, file = %name, error = %e, "advisory import failed"),
                    }
                }
            }
            Err(e) => tracing::warn!(source = %shown, error = %e, "advisory source unreadable"),
        }
    }
    // New fixes start their automatic rollouts now rather than at the next hourly pass: the
    // promise's clock started when they were imported.
    if let Err(e) = super::auto::run(state, Timestamp::now()).await {
        tracing::error!(error = %e, "automatic security rollouts after the advisory refresh failed");
    }
}

/// The files of one source, each with a name for the log: a URL's body, a file, or every
/// `*.json` and `*.jsonl` of a directory (not recursive), by name.
async fn read_source(source: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    if source.starts_with("http://") || source.starts_with("https://") {
        let client = reqwest::Client::builder().timeout(FETCH_TIMEOUT).build().map_err(|e| e.to_string())?;
        let response = client.get(source).send().await.map_err(|e| e.without_url().to_string())?;
        if !response.status().is_success() {
            return Err(format!("answered {}", response.status()));
        }
        if response.content_length().is_some_and(|n| n > MAX_IMPORT_BYTES as u64) {
            return Err(format!("more than the {MAX_IMPORT_BYTES} bytes tend reads"));
        }
        let bytes = response.bytes().await.map_err(|e| e.without_url().to_string())?;
        return Ok(vec![(without_userinfo(source), bytes.to_vec())]);
    }
    let path = Path::new(source).to_owned();
    tokio::task::spawn_blocking(move || read_path(&path)).await.map_err(|e| e.to_string())?
}

fn read_path(path: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    let read = |p: &Path| -> Result<(String, Vec<u8>), String> {
        let size = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?.len();
        if size > MAX_IMPORT_BYTES as u64 {
            return Err(format!("{}: more than the {MAX_IMPORT_BYTES} bytes tend reads", p.display()));
        }
        Ok((p.display().to_string(), std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?))
    };
    if !path.is_dir() {
        return Ok(vec![read(path)?]);
    }
    let mut files: Vec<_> = std::fs::read_dir(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|ext| ext == "json" || ext == "jsonl"))
        .collect();
    files.sort();
    files.iter().map(|p| read(p)).collect()
}

#[cfg(test)]
mod tests {
    use super::Format;

    #[test]
    fn formats_are_told_apart_by_their_first_value() {
        let samples = concat!(env!("CARGO_MANIFEST_DIR"), "/../tend-core/testdata/patching/");
        for (file, format) in [
            ("debian-tracker.json", Format::DebianTracker),
            ("osv-dsa.json", Format::Osv),
            ("osv-ubuntu.jsonl", Format::Osv),
        ] {
            let bytes = std::fs::read(format!("{samples}{file}")).unwrap();
            assert_eq!(Format::detect(&bytes), format, "{file}");
        }
        assert_eq!(Format::detect(b" [{\"id\":\"X\"}]"), Format::Osv);
        assert_eq!(Format::detect(b"not json"), Format::DebianTracker);
    }
}
