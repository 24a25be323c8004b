//! Running restic for one plan: the repository and its password go through the environment,
//! never the command line (which every user of the host can read in `/proc`); the C locale;
//! a deadline per run; stdout streamed to the caller, stderr bounded.
//!
//! Not `collect::tool::run`: that one can pass no environment and buffers all of stdout,
//! while a backup's JSON stream or a `dump` of a large file must be read as it comes; the wait
//! for the deadline is its [`tool::wait`].

use std::io::Read;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use tend_proto::backups::BackupPlan;

use super::parse::{self, Version};
use crate::Error;
use crate::collect::tool;
use crate::config::BackupConfig;

/// Most of stderr kept, from its end: restic's verdict (`Fatal: …`) comes last.
const STDERR_KEPT_BYTES: usize = 64 * 1024;
/// Most of stdout [`Restic::run`] keeps; larger listings are refused, not cut.
const STDOUT_MAX_BYTES: usize = 16 << 20;

/// How a restic run ended.
#[derive(Debug)]
pub(super) struct Ran<T> {
    /// None when restic died of a signal.
    pub code: Option<i32>,
    /// The end of stderr, with the password blanked should it ever appear.
    pub stderr: String,
    /// What the caller made of stdout.
    pub stdout: T,
}

impl<T> Ran<T> {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }
}

/// Why a run failed, where restic says it in a way worth telling apart.
#[derive(Debug, PartialEq)]
pub(super) enum Trouble {
    NoRepository,
    Locked,
    WrongPassword,
}

pub(super) struct Restic<'a> {
    program: &'a str,
    plan: &'a BackupPlan,
    version: Version,
    command_timeout: Duration,
    tag: String,
}

impl<'a> Restic<'a> {
    /// Finds out which restic this is (once per piece of work: the exit codes differ).
    pub fn open(config: &'a BackupConfig, plan: &'a BackupPlan) -> Result<Restic<'a>, Error> {
        let mut restic = Restic {
            program: &config.restic,
            plan,
            version: Version(0, 0, 0),
            command_timeout: Duration::from_secs(config.command_timeout_secs),
            tag: format!("tend:{}", plan.name),
        };
        let ran = restic.attempt(&["version"], restic.command_timeout, &mut read_bounded)?;
        restic.version = match (ran.ok(), parse::version(&ran.stdout)) {
            (true, Some(version)) => version,
            _ => return Err(Error::Failed(format!("{} is not a restic this agent understands", config.restic))),
        };
        Ok(restic)
    }

    /// The tag on this plan's snapshots, so that plans sharing a repository keep apart.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    pub fn command_timeout(&self) -> Duration {
        self.command_timeout
    }

    /// Runs restic with `args`, its stdout read by `read`, whose result comes back. A run that
    /// fails on a lock is retried once after `restic unlock`, which removes only stale locks
    /// (those of a process that no longer exists, such as a run killed at its deadline).
    pub fn stream<T: Send>(
        &self,
        args: &[&str],
        timeout: Duration,
        mut read: impl FnMut(&mut dyn Read) -> T + Send,
    ) -> Result<Ran<T>, Error> {
        let ran = self.attempt(args, timeout, &mut read)?;
        if self.trouble(&ran) != Some(Trouble::Locked) {
            return Ok(ran);
        }
        let unlocked = self.attempt(&["unlock"], self.command_timeout, &mut read_bounded)?;
        tracing::warn!(plan = %self.plan.name, unlocked = unlocked.ok(), "the repository was locked; removed stale locks and trying again");
        self.attempt(args, timeout, &mut read)
    }

    /// [`Restic::stream`] keeping stdout as text.
    pub fn run(&self, args: &[&str], timeout: Duration) -> Result<Ran<String>, Error> {
        let ran = self.stream(args, timeout, read_bounded)?;
        if ran.stdout.len() > STDOUT_MAX_BYTES {
            return Err(Error::Failed(format!("{} printed more than {STDOUT_MAX_BYTES} bytes", what(args))));
        }
        Ok(ran)
    }

    /// Makes sure the repository exists, initializing it when restic says there is none.
    pub fn ensure_repository(&self, may_initialise: bool) -> Result<(), Error> {
        let config = self.attempt(&["cat", "config"], self.command_timeout, &mut read_bounded)?;
        if config.ok() {
            return Ok(());
        }
        if !may_initialise || self.trouble(&config) != Some(Trouble::NoRepository) {
            return Err(self.failure("cat config", &config));
        }
        tracing::info!(plan = %self.plan.name, "initializing the plan's restic repository");
        let init = self.attempt(&["init"], self.command_timeout, &mut read_bounded)?;
        if init.ok() { Ok(()) } else { Err(self.failure("init", &init)) }
    }

    /// Why a run failed, where it matters: from the exit code since 0.17, from the text before.
    pub fn trouble<T>(&self, ran: &Ran<T>) -> Option<Trouble> {
        if self.version >= Version::EXIT_CODES {
            match ran.code {
                Some(10) => return Some(Trouble::NoRepository),
                Some(11) => return Some(Trouble::Locked),
                Some(12) => return Some(Trouble::WrongPassword),
                _ => {}
            }
        }
        let said = |text: &str| ran.stderr.contains(text);
        if ran.ok() {
            None
        } else if said("Is there a repository at the following location?") {
            Some(Trouble::NoRepository)
        } else if said("repository is already locked") {
            Some(Trouble::Locked)
        } else if said("wrong password or no key found") {
            Some(Trouble::WrongPassword)
        } else {
            None
        }
    }

    /// A failed run in words: what restic said last, or what the exit code means.
    pub fn failure<T>(&self, what: &str, ran: &Ran<T>) -> Error {
        let code = ran.code.map_or("killed by a signal".to_owned(), |code| format!("exit code {code}"));
        let said = match self.trouble(ran) {
            Some(Trouble::WrongPassword) => "the password of the plan does not open this repository".to_owned(),
            Some(Trouble::NoRepository) => "there is no repository at the plan's location".to_owned(),
            Some(Trouble::Locked) => "the repository is locked by another restic that is still running".to_owned(),
            None => parse::error_lines(&ran.stderr).pop().unwrap_or_else(|| "it said nothing".to_owned()),
        };
        Error::Failed(format!("restic {what} failed ({code}): {said}"))
    }

    /// One run, no retry.
    fn attempt<T: Send>(
        &self,
        args: &[&str],
        timeout: Duration,
        read: &mut (impl FnMut(&mut dyn Read) -> T + Send),
    ) -> Result<Ran<T>, Error> {
        let what = what(args);
        let mut child = Command::new(self.program)
            .args(args)
            .env("RESTIC_REPOSITORY", &self.plan.repository)
            .env("RESTIC_PASSWORD", self.plan.password.expose())
            // Any of these in the agent's own environment would override the plan's.
            .env_remove("RESTIC_REPOSITORY_FILE")
            .env_remove("RESTIC_PASSWORD_FILE")
            .env_remove("RESTIC_PASSWORD_COMMAND")
            .env("LC_ALL", "C")
            .env("LANG", "C")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Error::Unavailable(format!("{} is not installed", self.program)),
                _ => Error::Failed(format!("cannot start {}: {e}", self.program)),
            })?;
        let (Some(mut stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(Error::Failed(format!("{what}: no pipes")));
        };
        thread::scope(|scope| {
            let stdout = scope.spawn(move || read(&mut stdout));
            let stderr = scope.spawn(move || read_tail(&mut stderr));
            // Killed at the deadline with SIGKILL: restic leaves a stale lock, which the next
            // run removes.
            let status = tool::wait(&mut child, &what, timeout, Duration::from_millis(20));
            let stdout = stdout.join().map_err(|_| Error::Failed(format!("reading {what} failed")));
            let stderr = stderr.join().unwrap_or_default();
            Ok(Ran { code: status?.code(), stderr: self.redact(stderr), stdout: stdout? })
        })
    }

    /// restic never prints the password; this makes sure nothing that reaches a report does.
    fn redact(&self, text: String) -> String {
        let password = self.plan.password.expose();
        if password.is_empty() || !text.contains(password) { text } else { text.replace(password, "***") }
    }
}

/// "restic SUBCOMMAND", for errors.
fn what(args: &[&str]) -> String {
    format!("restic {}", args.first().copied().unwrap_or_default())
}

fn read_bounded(pipe: &mut dyn Read) -> String {
    let mut kept = Vec::new();
    // One byte more than allowed tells "too long" from "just fits"; the rest is drained so
    // that restic never blocks on a full pipe.
    let _ = pipe.take(STDOUT_MAX_BYTES as u64 + 1).read_to_end(&mut kept);
    let _ = std::io::copy(pipe, &mut std::io::sink());
    String::from_utf8_lossy(&kept).into_owned()
}

fn read_tail(pipe: &mut dyn Read) -> String {
    let mut kept = Vec::new();
    let mut buffer = [0u8; 8192];
    while let Ok(n @ 1..) = pipe.read(&mut buffer) {
        kept.extend_from_slice(&buffer[..n]);
        if kept.len() > 2 * STDERR_KEPT_BYTES {
            kept.drain(..kept.len() - STDERR_KEPT_BYTES);
        }
    }
    if kept.len() > STDERR_KEPT_BYTES {
        kept.drain(..kept.len() - STDERR_KEPT_BYTES);
    }
    String::from_utf8_lossy(&kept).into_owned()
}
