//! Reports waiting for the server, kept on disk so that neither a network cut nor an agent
//! crash loses them.
//!
//! The spool is a directory of append-only segment files named after their first sequence
//! number. Each record is `[length u32][crc32 u32][report JSON]`, written and fsynced before the
//! agent tries to send it. Acknowledged records are forgotten by raising the `acked` mark and
//! deleting segments wholly below it. The spool is bounded: beyond `max_bytes` the oldest
//! segment goes, and the reports lost with it are counted in `dropped` and reported to the
//! server. When the disk refuses writes (full, read-only), reports wait in a small memory
//! queue instead, and overflow is counted the same way.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use tend_proto::agent::Report;

use crate::Error;

/// Segments are rotated at this size (or a quarter of the bound, if smaller), so that dropping
/// the oldest one loses little.
const SEGMENT_BYTES: u64 = 1 << 20;
/// Reports kept in memory while the disk refuses writes.
const MEMORY_REPORTS: usize = 120;
const RECORD_HEADER: usize = 8;
/// A record larger than this is garbage, not a report.
const MAX_RECORD: usize = 64 << 20;

pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    segments: VecDeque<Segment>,
    acked: u64,
    dropped: u64,
    memory: VecDeque<Report>,
    /// The disk problem last logged, so that a lasting one is logged once.
    disk_problem: Option<String>,
}

#[derive(Debug)]
struct Segment {
    path: PathBuf,
    last_seq: u64,
    bytes: u64,
    records: u64,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::State { path: path.to_owned(), source }
}

impl Spool {
    /// Opens the spool in `dir`, creating it, and repairs a segment whose last write was torn
    /// by a crash.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Spool, Error> {
        fs::create_dir_all(dir).map_err(io_error(dir))?;
        let mut names: Vec<PathBuf> = fs::read_dir(dir)
            .map_err(io_error(dir))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "seg"))
            .collect();
        names.sort();
        let mut segments = VecDeque::new();
        for path in names {
            if let Some(segment) = scan_segment(&path)? {
                segments.push_back(segment);
            }
        }
        let spool = Spool {
            dir: dir.to_owned(),
            // Below a few records nothing useful fits.
            max_bytes: max_bytes.max(4096),
            segments,
            acked: read_counter(&dir.join("acked")),
            dropped: read_counter(&dir.join("dropped")),
            memory: VecDeque::new(),
            disk_problem: None,
        };
        Ok(spool)
    }

    /// Reports dropped since the spool was created.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.memory.is_empty() && self.segments.iter().all(|s| s.last_seq <= self.acked)
    }

    /// Keeps `report` until acknowledged. Never fails: a disk that refuses the write sends the
    /// report to the memory queue, and what no longer fits anywhere is counted as dropped.
    pub fn push(&mut self, report: &Report) {
        if self.memory.is_empty() {
            match self.append(report) {
                Ok(()) => {
                    if let Some(problem) = self.disk_problem.take() {
                        tracing::info!(%problem, "the spool is writable again");
                    }
                    self.enforce_bound();
                    return;
                }
                Err(e) => self.note_disk_problem(&e),
            }
        }
        if self.memory.len() >= MEMORY_REPORTS {
            self.memory.pop_front();
            self.count_dropped(1);
        }
        self.memory.push_back(report.clone());
    }

    /// Up to `max_reports` unacknowledged reports, oldest first, within about `max_bytes`.
    pub fn pending(&self, max_reports: usize, max_bytes: u64) -> Result<Vec<Report>, Error> {
        let mut reports = Vec::new();
        let mut bytes = 0;
        for segment in self.segments.iter().filter(|s| s.last_seq > self.acked) {
            for (record, size) in read_records(&segment.path)? {
                if record.seq <= self.acked {
                    continue;
                }
                if reports.len() >= max_reports || (bytes + size > max_bytes && !reports.is_empty()) {
                    return Ok(reports);
                }
                bytes += size;
                reports.push(record);
            }
        }
        let room = max_reports.saturating_sub(reports.len());
        reports.extend(self.memory.iter().filter(|r| r.seq > self.acked).take(room).cloned());
        Ok(reports)
    }

    /// Everything up to `seq` is stored by the server: forget it.
    pub fn acknowledge(&mut self, seq: u64) {
        if seq <= self.acked {
            return;
        }
        self.acked = seq;
        self.memory.retain(|r| r.seq > seq);
        if let Err(e) = write_counter(&self.dir.join("acked"), seq) {
            self.note_disk_problem(&e);
        }
        while self.segments.front().is_some_and(|s| s.last_seq <= seq && self.segments.len() > 1) {
            self.remove_oldest();
        }
        // The last segment stays as the one to append to, unless it is wholly acknowledged.
        if self.segments.len() == 1 && self.segments[0].last_seq <= seq {
            self.remove_oldest();
        }
    }

    /// Drops reports the server refused for good, counting them as lost.
    pub fn discard_through(&mut self, seq: u64, count: u64) {
        self.count_dropped(count);
        self.acknowledge(seq);
    }

    fn append(&mut self, report: &Report) -> Result<(), Error> {
        let payload = serde_json::to_vec(report).map_err(|e| Error::Failed(format!("encoding a report: {e}")))?;
        let rotate_at = SEGMENT_BYTES.min(self.max_bytes / 4).max(1);
        if self.segments.back().is_none_or(|s| s.bytes >= rotate_at) {
            let path = self.dir.join(format!("{:020}.seg", report.seq));
            self.segments.push_back(Segment { path, last_seq: 0, bytes: 0, records: 0 });
        }
        let segment = self.segments.back_mut().ok_or_else(|| Error::Failed("no segment".into()))?;
        let mut record = Vec::with_capacity(RECORD_HEADER + payload.len());
        record.extend_from_slice(&u32::try_from(payload.len()).unwrap_or(u32::MAX).to_le_bytes());
        record.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        record.extend_from_slice(&payload);
        let mut file =
            OpenOptions::new().create(true).append(true).open(&segment.path).map_err(io_error(&segment.path))?;
        file.write_all(&record).map_err(io_error(&segment.path))?;
        file.sync_data().map_err(io_error(&segment.path))?;
        segment.last_seq = report.seq;
        segment.bytes += record.len() as u64;
        segment.records += 1;
        Ok(())
    }

    fn enforce_bound(&mut self) {
        while self.bytes() > self.max_bytes && self.segments.len() > 1 {
            let oldest = &self.segments[0];
            let unacked = if oldest.last_seq <= self.acked { 0 } else { oldest.records };
            tracing::warn!(
                lost = unacked,
                bound = self.max_bytes,
                "spool full: dropped the oldest reports the server has not acknowledged"
            );
            self.remove_oldest();
            self.count_dropped(unacked);
        }
    }

    fn remove_oldest(&mut self) {
        if let Some(segment) = self.segments.pop_front()
            && let Err(e) = fs::remove_file(&segment.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            self.note_disk_problem(&Error::State { path: segment.path, source: e });
        }
    }

    fn count_dropped(&mut self, count: u64) {
        if count == 0 {
            return;
        }
        self.dropped += count;
        if let Err(e) = write_counter(&self.dir.join("dropped"), self.dropped) {
            self.note_disk_problem(&e);
        }
    }

    fn note_disk_problem(&mut self, error: &Error) {
        let problem = error.to_string();
        if self.disk_problem.as_deref() != Some(problem.as_str()) {
            tracing::error!(%problem, kept_in_memory = MEMORY_REPORTS, "cannot write the spool; keeping reports in memory");
            self.disk_problem = Some(problem);
        }
    }
}

/// Reads a segment's records, truncating the file at the first torn or corrupt one.
fn scan_segment(path: &Path) -> Result<Option<Segment>, Error> {
    let records = read_records(path)?;
    let valid_bytes: u64 = records.iter().map(|(_, size)| *size).sum();
    let length = fs::metadata(path).map_err(io_error(path))?.len();
    if valid_bytes < length {
        tracing::warn!(path = %path.display(), lost_bytes = length - valid_bytes, "repairing a torn spool segment");
        let file = OpenOptions::new().write(true).open(path).map_err(io_error(path))?;
        file.set_len(valid_bytes).map_err(io_error(path))?;
        file.sync_all().map_err(io_error(path))?;
    }
    let Some(last) = records.last() else {
        fs::remove_file(path).map_err(io_error(path))?;
        return Ok(None);
    };
    Ok(Some(Segment { path: path.to_owned(), last_seq: last.0.seq, bytes: valid_bytes, records: records.len() as u64 }))
}

/// The intact records of a segment with their sizes on disk, up to the first damaged one.
fn read_records(path: &Path) -> Result<Vec<(Report, u64)>, Error> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        // Removed under the agent's feet: its reports are gone, the others are not.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(path)(e)),
    };
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(io_error(path))?;
    Ok(decode_records(&bytes))
}

fn decode_records(mut bytes: &[u8]) -> Vec<(Report, u64)> {
    let mut records = Vec::new();
    while bytes.len() >= RECORD_HEADER {
        let length = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        let crc = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        let Some(payload) = bytes.get(RECORD_HEADER..RECORD_HEADER + length).filter(|_| length <= MAX_RECORD) else {
            break;
        };
        if crc32fast::hash(payload) != crc {
            break;
        }
        let Ok(report) = serde_json::from_slice::<Report>(payload) else { break };
        records.push((report, (RECORD_HEADER + length) as u64));
        bytes = &bytes[RECORD_HEADER + length..];
    }
    records
}

fn read_counter(path: &Path) -> u64 {
    fs::read_to_string(path).ok().and_then(|text| text.trim().parse().ok()).unwrap_or(0)
}

fn write_counter(path: &Path, value: u64) -> Result<(), Error> {
    let temporary = path.with_extension("tmp");
    fs::write(&temporary, format!("{value}\n")).map_err(io_error(&temporary))?;
    fs::rename(&temporary, path).map_err(io_error(path))
}

#[cfg(test)]
mod tests {
    use tend_proto::agent::{Sample, Sections};

    use super::*;

    fn report(seq: u64) -> Report {
        Report {
            seq,
            collected_at_ms: 1_800_000_000_000 + seq as i64,
            schema_version: 1,
            stopping: false,
            interval_secs: None,
            sections: Sections { metrics: vec![Sample::new("load1", seq as f64)], ..Sections::default() },
        }
    }

    fn seqs(reports: &[Report]) -> Vec<u64> {
        reports.iter().map(|r| r.seq).collect()
    }

    #[test]
    fn reports_survive_a_restart_until_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 1 << 20).unwrap();
        for seq in 1..=5 {
            spool.push(&report(seq));
        }
        spool.acknowledge(2);
        drop(spool);
        let mut spool = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(seqs(&spool.pending(100, u64::MAX).unwrap()), vec![3, 4, 5]);
        assert_eq!(seqs(&spool.pending(2, u64::MAX).unwrap()), vec![3, 4]);
        spool.acknowledge(5);
        assert!(spool.is_empty());
        assert!(spool.pending(100, u64::MAX).unwrap().is_empty());
        spool.push(&report(6));
        assert_eq!(seqs(&spool.pending(100, u64::MAX).unwrap()), vec![6]);
    }

    #[test]
    fn a_torn_last_write_is_cut_off_and_the_rest_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 1 << 20).unwrap();
        for seq in 1..=3 {
            spool.push(&report(seq));
        }
        let segment = spool.segments[0].path.clone();
        drop(spool);
        let length = fs::metadata(&segment).unwrap().len();
        OpenOptions::new().write(true).open(&segment).unwrap().set_len(length - 7).unwrap();
        let mut spool = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(seqs(&spool.pending(100, u64::MAX).unwrap()), vec![1, 2]);
        spool.push(&report(4));
        assert_eq!(seqs(&spool.pending(100, u64::MAX).unwrap()), vec![1, 2, 4], "appends after the cut");
    }

    #[test]
    fn a_full_spool_drops_the_oldest_and_counts_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 4096).unwrap();
        for seq in 1..=200 {
            spool.push(&report(seq));
        }
        assert!(spool.bytes() <= 4096, "bounded: {} bytes", spool.bytes());
        let pending = seqs(&spool.pending(100, u64::MAX).unwrap());
        assert_eq!(*pending.last().unwrap(), 200, "the newest are kept");
        assert_eq!(spool.dropped() + pending.len() as u64, 200, "every loss is counted");
        drop(spool);
        assert!(Spool::open(dir.path(), 4096).unwrap().dropped() > 0, "the count survives a restart");
    }

    #[test]
    fn an_unwritable_disk_falls_back_to_memory_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 1 << 20).unwrap();
        spool.push(&report(1));
        // The directory disappears under the agent: every write fails.
        fs::remove_dir_all(dir.path()).unwrap();
        for seq in 2..=(MEMORY_REPORTS as u64 + 11) {
            spool.push(&report(seq));
        }
        assert_eq!(spool.dropped(), 10);
        let pending = seqs(&spool.pending(usize::MAX, u64::MAX).unwrap());
        assert_eq!(pending, (12..=MEMORY_REPORTS as u64 + 11).collect::<Vec<_>>(), "the newest, in order");
        spool.acknowledge(MEMORY_REPORTS as u64 + 11);
        assert!(spool.memory.is_empty());
    }

    #[test]
    fn garbage_is_never_a_report() {
        assert!(decode_records(&[0xff; 64]).is_empty());
        assert!(decode_records(&[4, 0, 0, 0, 0, 0, 0, 0, b'n', b'u', b'l', b'l']).is_empty());
        let mut bytes = Vec::new();
        let payload = serde_json::to_vec(&report(9)).unwrap();
        bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        bytes.extend_from_slice(&payload);
        assert_eq!(decode_records(&bytes).len(), 1);
        bytes[RECORD_HEADER + 3] ^= 1;
        assert!(decode_records(&bytes).is_empty(), "a flipped bit fails the checksum");
    }
}
