//! What a probe found, and the bookkeeping every probe shares while it runs: one deadline,
//! evidence and metrics gathered as it goes.
//!
//! Owns `ProbeOutcome` and `Probe`. Must not know any protocol: the probe modules decide what
//! is evidence and what failed.

use serde::{Deserialize, Serialize};
use std::fmt::Display;
use std::time::Duration;
use tokio::time::Instant;

/// The result of one probe run. `ok: false` covers everything the probe found wrong, from a
/// refused connection to a certificate about to expire; `summary` says what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeOutcome {
    pub ok: bool,
    pub summary: String,
    pub duration_ms: u64,
    /// Facts a technician reads: `("status", "200")`, `("tls_days_left", "41")`.
    pub evidence: Vec<(String, String)>,
    /// Numbers the server can chart: `("http_response_ms", 12.0)`.
    pub metrics: Vec<(String, f64)>,
}

/// Why a probe failed, as the summary will say it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure(pub(crate) String);

/// A probe's own word on how it went: `Ok(summary)` or what failed.
pub(crate) type Verdict = Result<String, Failure>;

/// A running probe: its deadline and what it has gathered so far. Evidence recorded before a
/// failure stays in the outcome, so a body mismatch still shows the status and the timing.
pub(crate) struct Probe {
    started: Instant,
    deadline: Instant,
    evidence: Vec<(String, String)>,
    metrics: Vec<(String, f64)>,
}

impl Probe {
    pub(crate) fn new(started: Instant, timeout: Duration) -> Probe {
        Probe { started, deadline: started + timeout, evidence: Vec::new(), metrics: Vec::new() }
    }

    pub(crate) fn evidence(&mut self, key: &str, value: impl Display) {
        self.evidence.push((key.to_owned(), value.to_string()));
    }

    pub(crate) fn metric(&mut self, key: &str, value: f64) {
        self.metrics.push((key.to_owned(), value));
    }

    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Moves the deadline closer (a mail probe's own delivery limit); never further.
    pub(crate) fn shorten(&mut self, limit: Duration) {
        self.deadline = self.deadline.min(self.started + limit);
    }

    pub(crate) fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    pub(crate) fn elapsed_ms(&self) -> u64 {
        millis(self.started.elapsed())
    }

    /// Runs one step within the deadline. A failure names the step: "connecting to
    /// 127.0.0.1:80: Connection refused", "reading the answer: timed out after 5000 ms".
    pub(crate) async fn step<T, E: Display>(
        &self,
        what: impl Display,
        step: impl Future<Output = Result<T, E>>,
    ) -> Result<T, Failure> {
        match tokio::time::timeout_at(self.deadline, step).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(Failure(format!("{what}: {e}"))),
            Err(_) => Err(self.timed_out(what)),
        }
    }

    pub(crate) fn timed_out(&self, what: impl Display) -> Failure {
        Failure(format!("{what}: timed out after {} ms", self.elapsed_ms()))
    }

    pub(crate) fn finish(self, verdict: Verdict) -> ProbeOutcome {
        let (ok, summary) = match verdict {
            Ok(summary) => (true, summary),
            Err(Failure(summary)) => (false, summary),
        };
        ProbeOutcome {
            ok,
            summary,
            duration_ms: millis(self.started.elapsed()),
            evidence: self.evidence,
            metrics: self.metrics,
        }
    }
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Milliseconds with microsecond resolution, for metrics: loopback answers take well under one.
pub(crate) fn millis_f64(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The deepest error in a chain: the errno under "connection failed", the rustls verdict under
/// "error sending request".
pub(crate) fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut deepest = error;
    while let Some(source) = deepest.source() {
        deepest = source;
    }
    deepest.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_step_past_the_deadline_fails_naming_the_step() {
        let mut probe = Probe::new(Instant::now(), Duration::from_millis(100));
        probe.evidence("status", 200);
        let slow = async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok::<(), String>(())
        };
        let failure = probe.step("reading the body", slow).await.unwrap_err();
        assert_eq!(failure, Failure("reading the body: timed out after 100 ms".into()));
        let outcome = probe.finish(Err(failure));
        assert!(!outcome.ok);
        assert_eq!(outcome.evidence, vec![("status".to_owned(), "200".to_owned())]);
    }

    #[test]
    fn root_cause_is_the_deepest_error() {
        #[derive(Debug, thiserror::Error)]
        #[error("sending request")]
        struct Outer(#[source] std::io::Error);
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(root_cause(&Outer(io)), "refused");
    }

    #[tokio::test(start_paused = true)]
    async fn shorten_never_extends() {
        let mut probe = Probe::new(Instant::now(), Duration::from_secs(10));
        probe.shorten(Duration::from_secs(60));
        assert_eq!(probe.remaining(), Duration::from_secs(10));
        probe.shorten(Duration::from_secs(2));
        assert_eq!(probe.remaining(), Duration::from_secs(2));
    }
}
