//! `run` as the scheduler uses it: specs read from JSON, outcomes written as JSON, bad specs
//! refused without touching the network.

use std::time::Duration;
use tend_probe::{ProbeSpec, run};

#[tokio::test]
async fn a_stored_spec_runs_and_its_outcome_serializes() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let spec: ProbeSpec =
        serde_json::from_str(&format!(r#"{{"kind":"tcp","host":"127.0.0.1","port":{port}}}"#)).unwrap();
    let outcome = run(&spec, Duration::from_secs(2)).await;
    let json = serde_json::to_value(&outcome).unwrap();
    assert_eq!(json["ok"], true, "{json}");
    assert_eq!(json["evidence"][0], serde_json::json!(["address", format!("127.0.0.1:{port}")]));
    assert_eq!(json["metrics"][0][0], "tcp_connect_ms");
    assert!(json["duration_ms"].is_u64());
}

#[tokio::test]
async fn an_invalid_spec_is_refused_before_any_io() {
    let spec = ProbeSpec::Tcp { host: "127.0.0.1".into(), port: 0 };
    assert!(spec.validate().is_err());
    let outcome = run(&spec, Duration::from_secs(2)).await;
    assert!(!outcome.ok);
    assert_eq!(outcome.summary, "invalid probe: port: must be 1 to 65535");
    assert!(outcome.evidence.is_empty() && outcome.metrics.is_empty());
}
