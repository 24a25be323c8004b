//! Jobs: the agent asks the server for its host's next job (a long-poll, so that an authorized
//! reboot starts within seconds), runs it, and reports how it ended.
//!
//! The server chooses only the kind of a job; the command that carries it out comes from this
//! host's own configuration (`[jobs]`), and a free-form `script` runs only where that
//! configuration allows scripts, whatever the server says. Likewise a `restore` over the live
//! files (target `/`) runs only with `[backup] allow_restore_in_place`; a restore reads the
//! plan the backup runner keeps, never a repository or password from the job. The server has already checked the
//! customer's authorization; the agent's refusals are its own.
//!
//! What every job run must do:
//! - end with a result (ok, exit code, output of at most 64 KiB, duration), never with silence;
//! - never outlive its deadline: a command still running then is killed and the job failed;
//! - survive the agent: the result is written to `state_dir/jobs/` before it is sent and kept
//!   until the server took it. Before a command that takes the host down starts, a provisional
//!   result ("command issued") is written, which is what the server hears after the reboot if
//!   the agent did not live to send the real one.
//!
//! While the server cannot be reached the agent retries with exponential backoff and jitter
//! (1 s doubling to a minute); reports are not affected, they have their own path. Must not:
//! run anything the configuration does not name, or block the reporting loop.

mod apply;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tend_proto::api::Problem;
use tend_proto::jobs::{AgentJob, JobKind, JobResult, MAX_OUTPUT_BYTES, bounded_output};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use crate::Error;
use crate::config::{BackupConfig, JobsConfig};
use crate::run::{backoff, jitter};
use crate::state::Identity;
use crate::transport::describe;

/// Seconds the server may hold a poll open; below its 30 s ceiling.
const POLL_WAIT_SECS: u64 = 25;
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// How long a command's pipes are read after it exited (a daemon it forked may hold them).
const PIPE_GRACE: Duration = Duration::from_secs(2);

/// Polls for jobs and runs them until `stop` turns true (or its sender is gone). Ends early
/// only when the server refuses the agent's credential, which the reporting loop reports too.
pub async fn run(
    config: JobsConfig,
    backup: BackupConfig,
    identity: Identity,
    state_dir: PathBuf,
    stop: watch::Receiver<bool>,
) {
    run_telling(config, backup, identity, state_dir, stop, Arc::new(Notify::new())).await;
}

/// [`run`], notifying `packages_changed` after a job that may have changed the installed
/// packages, so that the reporting loop collects them again at once.
pub async fn run_telling(
    config: JobsConfig,
    backup: BackupConfig,
    identity: Identity,
    state_dir: PathBuf,
    mut stop: watch::Receiver<bool>,
    packages_changed: Arc<Notify>,
) {
    if !config.enabled {
        tracing::info!("jobs are disabled in this agent's configuration");
        return;
    }
    let mut runner = match Runner::new(config, backup, &identity, &state_dir) {
        Ok(runner) => Runner { packages_changed, ..runner },
        Err(e) => {
            tracing::error!(error = %e, "jobs cannot start; this agent will run none");
            return;
        }
    };
    let mut failures = 0u32;
    let mut failing: Option<String> = None;
    while !*stop.borrow() {
        let outcome = tokio::select! {
            outcome = runner.step() => outcome,
            _ = stop.changed() => break,
        };
        match outcome {
            Ok(()) => {
                failures = 0;
                if let Some(failure) = failing.take() {
                    tracing::info!(previous_failure = %failure, "jobs reach the server again");
                }
            }
            Err(Error::Unauthorized(detail)) => {
                tracing::error!(%detail, "the server refused this agent's credential; no more jobs");
                return;
            }
            Err(e) => {
                let delay = backoff(BACKOFF_MAX, failures, jitter());
                failures = failures.saturating_add(1);
                let reason = e.to_string();
                if failing.as_deref() != Some(reason.as_str()) {
                    let retry_in_secs = delay.as_secs_f32();
                    tracing::warn!(%reason, retry_in_secs, "cannot fetch jobs or send their results");
                    failing = Some(reason);
                }
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    _ = stop.changed() => break,
                }
            }
        }
    }
    tracing::debug!("jobs stopped");
}

struct Runner {
    config: JobsConfig,
    /// How restic runs on this host, for `restore` jobs.
    backup: BackupConfig,
    /// Where the backup runner keeps the plans a restore reads.
    backup_dir: PathBuf,
    server: JobsClient,
    results: ResultStore,
    packages_changed: Arc<Notify>,
}

impl Runner {
    fn new(config: JobsConfig, backup: BackupConfig, identity: &Identity, state_dir: &Path) -> Result<Runner, Error> {
        Ok(Runner {
            config,
            backup,
            backup_dir: state_dir.join("backup"),
            server: JobsClient::new(identity)?,
            results: ResultStore::open(&state_dir.join("jobs"))?,
            packages_changed: Arc::new(Notify::new()),
        })
    }

    /// Sends results still owed, then waits for one job and runs it.
    async fn step(&mut self) -> Result<(), Error> {
        self.deliver_results().await?;
        let Some(job) = self.server.next_job(POLL_WAIT_SECS).await? else { return Ok(()) };
        tracing::info!(job_id = job.id, kind = job.kind.as_str(), "running a job");
        let result = self.execute(&job).await?;
        let (ok, refused) = (result.ok, result.refused);
        tracing::info!(job_id = job.id, ok, refused, exit_code = ?result.exit_code, "job done");
        self.results.save(job.id, &result)?;
        self.deliver_results().await
    }

    async fn deliver_results(&mut self) -> Result<(), Error> {
        for (id, result) in self.results.pending()? {
            match self.server.send_result(id, &result).await {
                Ok(()) => {}
                Err(Error::Rejected { status, detail }) => {
                    // The server does not know the job (or not as ours): keeping it would
                    // block every later result.
                    tracing::error!(job_id = id, status, %detail, "the server refused a job's result; dropping it");
                }
                Err(other) => return Err(other),
            }
            self.results.remove(id)?;
        }
        Ok(())
    }

    async fn execute(&self, job: &AgentJob) -> Result<JobResult, Error> {
        let started = Instant::now();
        let mut result = match job.kind {
            JobKind::Reboot | JobKind::Shutdown | JobKind::PowerCycle => {
                let command = match job.kind {
                    JobKind::Reboot => &self.config.reboot_command,
                    JobKind::Shutdown => &self.config.shutdown_command,
                    _ => &self.config.power_cycle_command,
                };
                let provisional = JobResult {
                    ok: true,
                    output: format!(
                        "{} command issued ({}); the agent stopped before it returned, as the host went down",
                        job.kind.as_str(),
                        command.join(" ")
                    ),
                    ..JobResult::default()
                };
                self.results.save(job.id, &provisional)?;
                let timeout = Duration::from_secs(self.config.power_command_timeout_secs);
                let mut ran = run_command(command, timeout, false).await;
                if ran.ok {
                    let issued = format!("{} command issued ({})", job.kind.as_str(), command.join(" "));
                    ran.output = if ran.output.is_empty() { issued } else { format!("{issued}\n{}", ran.output) };
                }
                ran
            }
            JobKind::Script if !self.config.allow_scripts => JobResult {
                ok: false,
                refused: true,
                output: "not run: scripts are disabled on this host; its agent runs them only with \
                         `allow_scripts = true` under [jobs] in its own configuration"
                    .into(),
                ..JobResult::default()
            },
            JobKind::Script => match job.params.get("script").and_then(serde_json::Value::as_str) {
                None => JobResult { output: "not run: the job carries no script".into(), ..JobResult::default() },
                Some(script) => {
                    let provisional = JobResult {
                        output: "the agent stopped while the script ran; the script was killed".into(),
                        ..JobResult::default()
                    };
                    self.results.save(job.id, &provisional)?;
                    let command = ["/bin/sh".to_owned(), "-c".to_owned(), script.to_owned()];
                    run_command(&command, Duration::from_secs(self.config.script_timeout_secs), true).await
                }
            },
            JobKind::ApplyUpdates => {
                let provisional = JobResult {
                    output: "the agent stopped while the package manager ran; it was killed".into(),
                    ..JobResult::default()
                };
                self.results.save(job.id, &provisional)?;
                let result = apply::apply_updates(&self.config, &job.params).await;
                // Always, even when nothing changed or the run failed half-way: the server's
                // post-update health gate waits for the inventory collected after the job.
                self.packages_changed.notify_one();
                result
            }
            JobKind::Restore => {
                let provisional = JobResult {
                    output: "the agent stopped while restic restored; the restore may be incomplete".into(),
                    ..JobResult::default()
                };
                self.results.save(job.id, &provisional)?;
                let (config, dir, params) = (self.backup.clone(), self.backup_dir.clone(), job.params.clone());
                tokio::task::spawn_blocking(move || crate::backup::restore(&config, &dir, &params))
                    .await
                    .unwrap_or_else(|e| JobResult {
                        output: format!("the restore stopped: {e}"),
                        ..JobResult::default()
                    })
            }
        };
        result.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        result.output = bounded_output(std::mem::take(&mut result.output));
        Ok(result)
    }
}

/// Runs `command` (program and arguments) to its end or its deadline. `kill_on_drop`: kill it
/// when the agent abandons it (stopping); a power command is left to finish what it started.
async fn run_command(command: &[String], timeout: Duration, kill_on_drop: bool) -> JobResult {
    run_command_in(command, &[], timeout, kill_on_drop).await
}

/// [`run_command`] with `env` added to the agent's environment.
async fn run_command_in(command: &[String], env: &[(&str, &str)], timeout: Duration, kill_on_drop: bool) -> JobResult {
    let Some((program, args)) = command.split_first() else {
        return JobResult { output: "no command is configured for this kind of job".into(), ..JobResult::default() };
    };
    let spawned = tokio::process::Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(kill_on_drop)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => return JobResult { output: format!("cannot start {program}: {e}"), ..JobResult::default() },
    };
    let stdout = child.stdout.take().map(|pipe| tokio::spawn(read_bounded(pipe)));
    let stderr = child.stderr.take().map(|pipe| tokio::spawn(read_bounded(pipe)));
    let (status, mut notes) = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => (Some(status), Vec::new()),
        Ok(Err(e)) => (None, vec![format!("waiting for {program}: {e}")]),
        Err(_) => {
            let _ = child.start_kill();
            let _ = child.wait().await;
            (None, vec![format!("{program} did not finish within {} s and was killed", timeout.as_secs())])
        }
    };
    let mut output = String::new();
    for pipe in [stdout, stderr].into_iter().flatten() {
        let abort = pipe.abort_handle();
        match tokio::time::timeout(PIPE_GRACE, pipe).await {
            Ok(Ok(text)) => output.push_str(&text),
            _ => {
                abort.abort();
                notes.push("(output left open by a process the command started; not waited for)".into());
            }
        }
    }
    for note in notes {
        if !output.is_empty() && !output.ends_with('\n') {
            output.push('\n');
        }
        output.push_str(&note);
    }
    let exit_code = status.and_then(|s| s.code());
    JobResult { ok: status.is_some_and(|s| s.success()), exit_code, output, ..JobResult::default() }
}

/// Reads a pipe to its end, keeping its first [`MAX_OUTPUT_BYTES`].
async fn read_bounded(mut pipe: impl AsyncRead + Unpin) -> String {
    let mut kept = Vec::new();
    let mut buffer = [0u8; 8192];
    while let Ok(n @ 1..) = pipe.read(&mut buffer).await {
        let room = MAX_OUTPUT_BYTES.saturating_sub(kept.len());
        kept.extend_from_slice(&buffer[..n.min(room)]);
    }
    String::from_utf8_lossy(&kept).into_owned()
}

/// Results not yet taken by the server, one file per job, written atomically.
struct ResultStore {
    dir: PathBuf,
}

fn state_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::State { path: path.to_owned(), source }
}

impl ResultStore {
    fn open(dir: &Path) -> Result<ResultStore, Error> {
        fs::create_dir_all(dir).map_err(state_error(dir))?;
        Ok(ResultStore { dir: dir.to_owned() })
    }

    fn path(&self, id: i64) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    fn save(&self, id: i64, result: &JobResult) -> Result<(), Error> {
        let target = self.path(id);
        let bytes = serde_json::to_vec(result)
            .map_err(|e| Error::StateCorrupt { path: target.clone(), reason: e.to_string() })?;
        crate::state::replace_privately(&target, &bytes)
    }

    /// Results owed, oldest job first. An unreadable file is set aside (renamed `.bad`), not
    /// retried forever.
    fn pending(&self) -> Result<Vec<(i64, JobResult)>, Error> {
        let mut pending = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(state_error(&self.dir))? {
            let path = entry.map_err(state_error(&self.dir))?.path();
            let Some(id) = path.file_name().and_then(|n| n.to_str()?.strip_suffix(".json")?.parse::<i64>().ok()) else {
                continue;
            };
            let read = fs::read(&path).map_err(state_error(&path))?;
            match serde_json::from_slice(&read) {
                Ok(result) => pending.push((id, result)),
                Err(e) => {
                    tracing::error!(path = %path.display(), error = %e, "a saved job result is unreadable; set aside");
                    fs::rename(&path, path.with_extension("bad")).map_err(state_error(&path))?;
                }
            }
        }
        pending.sort_by_key(|(id, _)| *id);
        Ok(pending)
    }

    fn remove(&self, id: i64) -> Result<(), Error> {
        let path = self.path(id);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(state_error(&path)(e)),
            _ => Ok(()),
        }
    }
}

/// The two job endpoints. Separate from `transport` because a long-poll needs a longer timeout
/// than a report, and a 204 means "no job", not an answer to parse.
struct JobsClient {
    http: reqwest::Client,
    base: String,
    credential: String,
}

impl JobsClient {
    fn new(identity: &Identity) -> Result<JobsClient, Error> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("tend-agent/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Unreachable(e.to_string()))?;
        Ok(JobsClient {
            http,
            base: identity.server_url.trim_end_matches('/').to_owned(),
            credential: identity.credential.clone(),
        })
    }

    async fn next_job(&self, wait_secs: u64) -> Result<Option<AgentJob>, Error> {
        let request = self
            .http
            .get(format!("{}/api/agent/v1/jobs/next?wait={wait_secs}", self.base))
            .timeout(Duration::from_secs(wait_secs + 15));
        let response = self.send(request).await?;
        if response.status() == reqwest::StatusCode::NO_CONTENT {
            return Ok(None);
        }
        response.json().await.map(Some).map_err(|e| Error::Unreachable(format!("unreadable job: {e}")))
    }

    async fn send_result(&self, id: i64, result: &JobResult) -> Result<(), Error> {
        let request = self
            .http
            .post(format!("{}/api/agent/v1/jobs/{id}/result", self.base))
            .json(result)
            .timeout(Duration::from_secs(30));
        self.send(request).await.map(drop)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, Error> {
        let response =
            request.bearer_auth(&self.credential).send().await.map_err(|e| Error::Unreachable(describe(&e)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let detail = match response.json::<Problem>().await {
            Ok(problem) => problem.detail,
            Err(_) => status.canonical_reason().unwrap_or("no reason given").to_owned(),
        };
        Err(match status.as_u16() {
            401 => Error::Unauthorized(detail),
            // A server without jobs (older than this agent) is waited for like one that is away.
            404 | 405 | 408 | 429 | 500..=599 => Error::Unreachable(format!("{status}: {detail}")),
            code => Error::Rejected { status: code, detail },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    fn runner(config: JobsConfig, dir: &Path) -> Runner {
        let identity =
            Identity { server_url: "http://127.0.0.1:9".into(), agent_id: 1, host_id: 1, credential: "c".into() };
        Runner::new(config, BackupConfig::default(), &identity, dir).unwrap()
    }

    fn job(kind: JobKind, params: serde_json::Value) -> AgentJob {
        AgentJob { id: 7, kind, params, requested_at_ms: 0 }
    }

    /// The contract every job run keeps (see the module documentation).
    fn check(result: &JobResult, deadline: Duration) {
        assert!(result.output.len() <= MAX_OUTPUT_BYTES);
        assert!(Duration::from_millis(result.duration_ms) <= deadline + PIPE_GRACE + Duration::from_secs(1));
        if !result.ok {
            assert!(!result.output.trim().is_empty(), "a failure says why");
        }
        assert!(!(result.ok && result.refused));
    }

    #[tokio::test]
    async fn a_power_job_runs_the_configured_command_and_says_it_was_issued() {
        let dir = tempfile::tempdir().unwrap();
        let calls = dir.path().join("calls");
        let config = JobsConfig {
            reboot_command: words(&["/bin/sh", "-c", &format!("echo rebooted >> {}", calls.display())]),
            ..JobsConfig::default()
        };
        let runner = runner(config, dir.path());
        let result = runner.execute(&job(JobKind::Reboot, serde_json::json!({}))).await.unwrap();
        check(&result, Duration::from_secs(60));
        assert!(result.ok && result.exit_code == Some(0), "{result:?}");
        assert!(result.output.starts_with("reboot command issued (/bin/sh -c echo rebooted"), "{}", result.output);
        assert_eq!(fs::read_to_string(&calls).unwrap(), "rebooted\n");
        let owed = runner.results.pending().unwrap();
        assert_eq!(owed.len(), 1, "the provisional result waits until the real one replaces it");
        assert!(owed[0].1.output.contains("the agent stopped before it returned"));
    }

    #[tokio::test]
    async fn a_failing_or_hanging_command_fails_the_job_with_its_output() {
        let dir = tempfile::tempdir().unwrap();
        let config = JobsConfig {
            shutdown_command: words(&["/bin/sh", "-c", "echo no permission >&2; exit 4"]),
            power_cycle_command: words(&["sleep", "30"]),
            power_command_timeout_secs: 1,
            reboot_command: words(&["/nonexistent/tend-reboot"]),
            ..JobsConfig::default()
        };
        let runner = runner(config, dir.path());
        let failed = runner.execute(&job(JobKind::Shutdown, serde_json::json!({}))).await.unwrap();
        check(&failed, Duration::from_secs(1));
        assert_eq!((failed.ok, failed.exit_code, failed.output.as_str()), (false, Some(4), "no permission\n"));
        let hung = runner.execute(&job(JobKind::PowerCycle, serde_json::json!({}))).await.unwrap();
        check(&hung, Duration::from_secs(1));
        assert!(!hung.ok && hung.output.contains("did not finish within 1 s"), "{hung:?}");
        let missing = runner.execute(&job(JobKind::Reboot, serde_json::json!({}))).await.unwrap();
        assert!(!missing.ok && missing.output.contains("cannot start /nonexistent/tend-reboot"), "{missing:?}");
    }

    #[tokio::test]
    async fn scripts_run_only_where_the_agent_allows_them() {
        let dir = tempfile::tempdir().unwrap();
        let script = job(JobKind::Script, serde_json::json!({"script": "echo from a script; exit 0"}));
        let refused = runner(JobsConfig::default(), dir.path()).execute(&script).await.unwrap();
        check(&refused, Duration::from_secs(1));
        assert!(refused.refused && refused.output.contains("allow_scripts = true"), "{refused:?}");

        let allowed = runner(JobsConfig { allow_scripts: true, ..JobsConfig::default() }, dir.path());
        let ran = allowed.execute(&script).await.unwrap();
        assert!(ran.ok && !ran.refused && ran.output == "from a script\n", "{ran:?}");
        let chatty = job(JobKind::Script, serde_json::json!({"script": "yes tend | head -c 200000"}));
        let bounded = allowed.execute(&chatty).await.unwrap();
        check(&bounded, Duration::from_secs(600));
        assert!(bounded.ok && bounded.output.len() <= MAX_OUTPUT_BYTES, "{}", bounded.output.len());
        let empty = allowed.execute(&job(JobKind::Script, serde_json::json!({}))).await.unwrap();
        assert!(!empty.ok && empty.output.contains("no script"));
    }

    #[test]
    fn results_wait_on_disk_until_taken() {
        let dir = tempfile::tempdir().unwrap();
        let store = ResultStore::open(&dir.path().join("jobs")).unwrap();
        let ok = JobResult { ok: true, exit_code: Some(0), ..JobResult::default() };
        store.save(12, &ok).unwrap();
        store.save(3, &JobResult::default()).unwrap();
        store.save(12, &JobResult { output: "replaced".into(), ..ok.clone() }).unwrap();
        fs::write(dir.path().join("jobs/5.json"), "{garbled").unwrap();
        let reopened = ResultStore::open(&dir.path().join("jobs")).unwrap();
        let pending = reopened.pending().unwrap();
        assert_eq!(pending.iter().map(|(id, _)| *id).collect::<Vec<_>>(), vec![3, 12]);
        assert_eq!(pending[1].1.output, "replaced");
        assert!(dir.path().join("jobs/5.bad").exists(), "set aside, not retried forever");
        reopened.remove(3).unwrap();
        reopened.remove(3).unwrap();
        assert_eq!(reopened.pending().unwrap().len(), 1);
    }

    #[test]
    fn backoff_doubles_to_a_minute() {
        assert_eq!(backoff(BACKOFF_MAX, 0, 1.0), Duration::from_secs(1));
        assert_eq!(backoff(BACKOFF_MAX, 4, 1.0), Duration::from_secs(16));
        assert_eq!(backoff(BACKOFF_MAX, 30, 1.0), BACKOFF_MAX);
        assert_eq!(backoff(BACKOFF_MAX, 2, 0.5), Duration::from_secs(2));
    }

    #[tokio::test]
    async fn an_unreachable_server_is_backed_off_and_a_stop_ends_the_loop() {
        let dir = tempfile::tempdir().unwrap();
        let identity =
            Identity { server_url: "http://127.0.0.1:9".into(), agent_id: 1, host_id: 1, credential: "c".into() };
        let (stop, stopped) = watch::channel(false);
        let task =
            tokio::spawn(run(JobsConfig::default(), BackupConfig::default(), identity, dir.path().to_owned(), stopped));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!task.is_finished(), "keeps trying");
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), task).await.expect("stops promptly").unwrap();
    }
}
