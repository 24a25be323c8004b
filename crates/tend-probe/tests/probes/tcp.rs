//! The TCP probe against a listener on loopback, and a port nobody listens on.

use crate::support::{evidence, free_port, metric};
use std::time::Duration;
use tend_probe::{ProbeSpec, run};

#[tokio::test]
async fn an_open_port_reports_its_connect_time() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let outcome = run(&ProbeSpec::Tcp { host: "127.0.0.1".into(), port }, Duration::from_secs(2)).await;
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(evidence(&outcome, "address"), Some(format!("127.0.0.1:{port}").as_str()));
    assert!(metric(&outcome, "tcp_connect_ms").is_some());
}

#[tokio::test]
async fn localhost_finds_a_listener_bound_to_one_family() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let outcome = run(&ProbeSpec::Tcp { host: "localhost".into(), port }, Duration::from_secs(2)).await;
    assert!(outcome.ok, "{outcome:?}");
}

#[tokio::test]
async fn a_closed_port_is_refused() {
    let port = free_port();
    let outcome = run(&ProbeSpec::Tcp { host: "127.0.0.1".into(), port }, Duration::from_secs(2)).await;
    assert!(!outcome.ok);
    assert!(outcome.summary.starts_with(&format!("connecting to 127.0.0.1:{port}: ")), "{}", outcome.summary);
    assert!(outcome.summary.to_lowercase().contains("refused"), "{}", outcome.summary);
}
