//! Backup events on their way into a report: a small queue on disk
//! (`state_dir/backup/pending.json`), so an event survives a restart of the agent between the
//! run that made it and the report that carries it.
//!
//! The reporting loop takes the queued events into the report it builds and removes them only
//! after that report is in the spool, which from there on keeps it until the server has it. A
//! crash in between sends an event twice (the server sees two equal events), never zero times.
//!
//! Bounded: at most [`MAX_PENDING`] events wait; when more come (the reporting loop cannot
//! write reports for days) the oldest go, counted and logged.

use std::collections::VecDeque;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tend_proto::backups::BackupEvent;

use crate::Error;
use crate::state::{StateDir, replace_privately};

/// Most events waiting for a report. A plan makes two to four a day and the reporting loop
/// takes them every interval, so this is reached only when reports cannot be written at all.
pub const MAX_PENDING: usize = 256;
/// Most events one report carries, so a backlog does not make one report too large.
pub const MAX_PER_REPORT: usize = 64;

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct Queue {
    /// The id the next event gets; ids only grow, so "remove through id" never removes an
    /// event queued after the report was built.
    next_id: u64,
    events: VecDeque<(u64, BackupEvent)>,
    /// Events dropped because the queue was full, since the queue was created.
    dropped: u64,
}

/// The queue, shared by the backup runner (which adds) and the reporting loop (which takes).
#[derive(Debug)]
pub struct PendingEvents {
    path: PathBuf,
    queue: Mutex<Queue>,
}

impl PendingEvents {
    /// Opens the queue in `dir` (created 0700). An unreadable queue is logged and started
    /// empty rather than stopping the agent's reports.
    pub fn open(dir: &Path) -> Result<PendingEvents, Error> {
        StateDir::open(dir)?;
        let path = dir.join("pending.json");
        let queue = match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::error!(path = %path.display(), error = %e, "unreadable queue of backup events; starting empty");
                Queue::default()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Queue::default(),
            Err(source) => return Err(Error::State { path, source }),
        };
        Ok(PendingEvents { path, queue: Mutex::new(queue) })
    }

    /// Queues `event` for the next report, dropping the oldest when the queue is full.
    pub fn push(&self, event: BackupEvent) {
        let mut queue = self.lock();
        if queue.events.len() >= MAX_PENDING {
            queue.events.pop_front();
            queue.dropped = queue.dropped.saturating_add(1);
            tracing::warn!(dropped = queue.dropped, "the queue of backup events is full; dropped the oldest");
        }
        let id = queue.next_id;
        // Read back from a file: a tampered one must not make the agent panic.
        queue.next_id = queue.next_id.saturating_add(1);
        queue.events.push_back((id, event));
        self.persist(&queue);
    }

    /// The oldest events (at most [`MAX_PER_REPORT`]) and the id to pass to
    /// [`remove_through`](Self::remove_through) once they are in a spooled report.
    pub fn peek(&self) -> (Vec<BackupEvent>, Option<u64>) {
        let queue = self.lock();
        let taken: Vec<_> = queue.events.iter().take(MAX_PER_REPORT).collect();
        (taken.iter().map(|(_, event)| event.clone()).collect(), taken.last().map(|(id, _)| *id))
    }

    /// Forgets the events up to `id`, which a spooled report now carries.
    pub fn remove_through(&self, id: u64) {
        let mut queue = self.lock();
        queue.events.retain(|(queued, _)| *queued > id);
        self.persist(&queue);
    }

    /// Events dropped because the queue was full; reported in every report's agent status.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic while holding the lock cannot leave the queue half-changed: every change is
        // one push, pop or retain.
        self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Writes the queue; on failure it stays in memory, where the next report still finds it.
    fn persist(&self, queue: &Queue) {
        let written = serde_json::to_vec(queue)
            .map_err(|e| Error::StateCorrupt { path: self.path.clone(), reason: e.to_string() })
            .and_then(|bytes| replace_privately(&self.path, &bytes));
        if let Err(e) = written {
            tracing::error!(error = %e, "cannot save the queue of backup events; it is kept in memory");
        }
    }
}

#[cfg(test)]
mod tests {
    use tend_proto::backups::{BackupRun, CheckRun};

    use super::*;

    fn backup(plan: &str) -> BackupEvent {
        BackupEvent::Backup(BackupRun { plan: plan.into(), ok: true, ..BackupRun::default() })
    }

    #[test]
    fn backup_events_survive_a_restart_and_leave_once_taken() {
        let dir = tempfile::tempdir().unwrap();
        let queue = PendingEvents::open(dir.path()).unwrap();
        assert_eq!(queue.peek(), (Vec::new(), None));
        queue.push(backup("a"));
        queue.push(backup("b"));
        let (events, through) = queue.peek();
        // An event that arrives while the report is being written stays for the next one.
        queue.push(BackupEvent::Check(CheckRun { plan: "a".into(), ..CheckRun::default() }));
        queue.remove_through(through.unwrap());
        assert_eq!(events, [backup("a"), backup("b")]);

        let reopened = PendingEvents::open(dir.path()).unwrap();
        let (events, through) = reopened.peek();
        assert!(matches!(events.as_slice(), [BackupEvent::Check(_)]), "{events:?}");
        reopened.remove_through(through.unwrap());
        assert_eq!(PendingEvents::open(dir.path()).unwrap().peek(), (Vec::new(), None));
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &fs::metadata(dir.path().join("pending.json")).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_full_backup_queue_drops_the_oldest_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        let queue = PendingEvents::open(dir.path()).unwrap();
        for i in 0..MAX_PENDING + 3 {
            queue.push(backup(&format!("p{i}")));
        }
        assert_eq!(queue.dropped(), 3);
        let (events, _) = queue.peek();
        assert_eq!(events.len(), MAX_PER_REPORT);
        assert_eq!(events[0], backup("p3"));
        assert_eq!(PendingEvents::open(dir.path()).unwrap().dropped(), 3);
    }
}
