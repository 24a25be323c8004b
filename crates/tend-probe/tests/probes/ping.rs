//! The ping probe on loopback. Nothing on loopback can be made not to answer, so loss is checked
//! on the parser and the arithmetic (unit tests in `ping::icmp`); here, real echoes.

use crate::support::{evidence, metric, skip};
use std::time::Duration;
use tend_probe::{ProbeOutcome, ProbeSpec, run};

async fn ping(host: &str) -> Option<ProbeOutcome> {
    let outcome = run(&ProbeSpec::Ping { host: host.into(), count: 3 }, Duration::from_secs(5)).await;
    if outcome.summary.starts_with("unavailable: ") {
        // Neither an unprivileged ICMP socket nor a raw one: the probe must say so, not panic.
        assert!(!outcome.ok);
        assert!(evidence(&outcome, "unavailable").is_some());
        skip(&outcome.summary);
        return None;
    }
    Some(outcome)
}

#[tokio::test]
async fn loopback_v4_answers_every_echo() {
    let Some(outcome) = ping("127.0.0.1").await else { return };
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(evidence(&outcome, "received"), Some("3"));
    assert_eq!(metric(&outcome, "ping_loss_pct"), Some(0.0));
    let (min, avg, max) = (
        metric(&outcome, "ping_rtt_min_ms").unwrap(),
        metric(&outcome, "ping_rtt_avg_ms").unwrap(),
        metric(&outcome, "ping_rtt_max_ms").unwrap(),
    );
    assert!(0.0 < min && min <= avg && avg <= max, "{min} {avg} {max}");
    assert!(outcome.summary.starts_with("127.0.0.1: 3/3 replies, 0% loss"), "{}", outcome.summary);
    // Three requests 200 ms apart, answered at once: well under the reply wait.
    assert!(outcome.duration_ms < 1000, "took {} ms", outcome.duration_ms);
}

#[tokio::test]
async fn loopback_v6_answers_too() {
    let Some(outcome) = ping("::1").await else { return };
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(evidence(&outcome, "address"), Some("::1"));
    assert_eq!(evidence(&outcome, "received"), Some("3"));
}
