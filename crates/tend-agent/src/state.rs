//! What the agent keeps on disk between runs: its identity and its sequence counter.
//!
//! The credential file is written 0600 and replaced atomically (write, fsync, rename), so a
//! crash never leaves a half-written identity behind.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;

const IDENTITY_FILE: &str = "agent.json";
const SEQ_FILE: &str = "seq";

/// Who this agent is to its server.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct Identity {
    pub server_url: String,
    pub agent_id: i64,
    pub host_id: i64,
    pub credential: String,
}

/// The credential must never reach a log line.
impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("server_url", &self.server_url)
            .field("agent_id", &self.agent_id)
            .field("host_id", &self.host_id)
            .field("credential", &"<hidden>")
            .finish()
    }
}

/// The agent's state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    path: PathBuf,
}

fn state_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::State { path: path.to_owned(), source }
}

impl StateDir {
    /// Opens (creating it, 0700) the state directory.
    pub fn open(path: &Path) -> Result<StateDir, Error> {
        fs::create_dir_all(path).map_err(state_error(path))?;
        fs::set_permissions(path, fs::Permissions::from_mode(0o700)).map_err(state_error(path))?;
        Ok(StateDir { path: path.to_owned() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn identity(&self) -> Result<Identity, Error> {
        let path = self.path.join(IDENTITY_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Error::NotEnrolled(path)),
            Err(e) => return Err(state_error(&path)(e)),
        };
        serde_json::from_str(&text).map_err(|e| Error::StateCorrupt { path, reason: e.to_string() })
    }

    pub fn is_enrolled(&self) -> bool {
        self.path.join(IDENTITY_FILE).exists()
    }

    pub fn save_identity(&self, identity: &Identity) -> Result<(), Error> {
        let text = serde_json::to_vec_pretty(identity)
            .map_err(|e| Error::StateCorrupt { path: self.path.join(IDENTITY_FILE), reason: e.to_string() })?;
        self.replace(IDENTITY_FILE, &text)
    }

    /// The next sequence number, reserved on disk before it is used: a crash after sending can
    /// never make the agent reuse a number, which the server would take for a duplicate.
    pub fn reserve_seq(&self) -> Result<u64, Error> {
        let path = self.path.join(SEQ_FILE);
        let next = match fs::read_to_string(&path) {
            Ok(text) => text
                .trim()
                .parse::<u64>()
                .map_err(|e| Error::StateCorrupt { path: path.clone(), reason: e.to_string() })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 1,
            Err(e) => return Err(state_error(&path)(e)),
        };
        self.replace(SEQ_FILE, format!("{}\n", next + 1).as_bytes())?;
        Ok(next)
    }

    fn replace(&self, name: &str, contents: &[u8]) -> Result<(), Error> {
        replace_privately(&self.path.join(name), contents)
    }
}

/// Writes `contents` to `target` readable by the agent alone, through a synced temporary file
/// renamed over it, so a crash leaves the old contents or the new, never half of either.
pub(crate) fn replace_privately(target: &Path, contents: &[u8]) -> Result<(), Error> {
    let name = target.file_name().and_then(|n| n.to_str()).unwrap_or("state");
    let temporary = target.with_file_name(format!(".{name}.tmp"));
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .map_err(state_error(&temporary))?;
    file.write_all(contents).map_err(state_error(&temporary))?;
    file.sync_all().map_err(state_error(&temporary))?;
    fs::rename(&temporary, target).map_err(state_error(target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_round_trips_privately_and_seq_only_grows() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(&dir.path().join("agent")).unwrap();
        assert!(matches!(state.identity(), Err(Error::NotEnrolled(_))));
        let identity = Identity {
            server_url: "http://127.0.0.1:8080".into(),
            agent_id: 3,
            host_id: 4,
            credential: "tnd_a_secret".into(),
        };
        state.save_identity(&identity).unwrap();
        assert_eq!(state.identity().unwrap(), identity);
        let mode = fs::metadata(state.path().join(IDENTITY_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!format!("{identity:?}").contains("secret"));

        assert_eq!(state.reserve_seq().unwrap(), 1);
        assert_eq!(state.reserve_seq().unwrap(), 2);
        let reopened = StateDir::open(state.path()).unwrap();
        assert_eq!(reopened.reserve_seq().unwrap(), 3);
    }

    #[test]
    fn a_garbled_state_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(dir.path()).unwrap();
        fs::write(dir.path().join(SEQ_FILE), "twelve").unwrap();
        let err = state.reserve_seq().unwrap_err().to_string();
        assert!(err.contains("seq"), "{err}");
    }
}
