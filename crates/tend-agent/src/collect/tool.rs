//! Running the host's own tools (smartctl, systemctl, apt-get, …) with a deadline.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::Error;

/// What a tool printed and how it ended.
#[derive(Debug)]
pub struct ToolOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `program` with `args` in the C locale (tool output is parsed, so it must not be
/// translated), killing it at `timeout`.
///
/// A missing program or one the agent may not run is [`Error::Unavailable`]; a non-zero exit is
/// returned as it is, since some tools (smartctl) encode findings in their exit status.
pub fn run(program: &str, args: &[&str], timeout: Duration) -> Result<ToolOutput, Error> {
    let mut child = Command::new(program)
        .args(args)
        .env("LC_ALL", "C")
        .env("LANG", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::Unavailable(format!("{program} is not installed")),
            std::io::ErrorKind::PermissionDenied => Error::Unavailable(format!("{program}: permission denied")),
            _ => Error::Failed(format!("cannot start {program}: {e}")),
        })?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait(&mut child, program, timeout, Duration::from_millis(5))?;
    Ok(ToolOutput { status, stdout: joined(stdout), stderr: joined(stderr) })
}

/// Waits for `child` (named `tool` in errors), looking every `poll`; at `timeout` it is killed
/// with SIGKILL and reaped, and the answer is [`Error::TimedOut`].
pub(crate) fn wait(child: &mut Child, tool: &str, timeout: Duration, poll: Duration) -> Result<ExitStatus, Error> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(poll),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::TimedOut { tool: tool.to_owned(), seconds: timeout.as_secs() });
            }
            Err(e) => return Err(Error::Failed(format!("waiting for {tool}: {e}"))),
        }
    }
}

/// Reads a pipe to its end on a thread of its own, so a chatty tool never blocks on a full pipe.
fn drain(pipe: Option<impl Read + Send + 'static>) -> Option<thread::JoinHandle<String>> {
    pipe.map(|mut pipe| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    })
}

fn joined(handle: Option<thread::JoinHandle<String>>) -> String {
    handle.and_then(|h| h.join().ok()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_and_status_come_back() {
        let out = run("sh", &["-c", "echo out; echo err >&2; exit 3"], Duration::from_secs(5)).unwrap();
        assert_eq!((out.stdout.as_str(), out.stderr.as_str(), out.status.code()), ("out\n", "err\n", Some(3)));
    }

    #[test]
    fn a_missing_tool_is_unavailable() {
        let err = run("tend-no-such-tool", &[], Duration::from_secs(1)).unwrap_err();
        assert_eq!(err.collector_outcome(), "unavailable");
        assert!(err.to_string().contains("not installed"), "{err}");
    }

    #[test]
    fn a_hanging_tool_is_killed_at_the_deadline() {
        let started = Instant::now();
        let err = run("sleep", &["30"], Duration::from_millis(200)).unwrap_err();
        assert!(matches!(err, Error::TimedOut { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn the_locale_is_c() {
        let out = run("sh", &["-c", "echo $LC_ALL"], Duration::from_secs(5)).unwrap();
        assert_eq!(out.stdout.trim(), "C");
    }
}
