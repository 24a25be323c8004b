//! The TLS probe against a TLS listener on loopback with certificates from a test CA.

use crate::support::{Ca, evidence, serve_https};
use axum::Router;
use std::time::Duration;
use tend_probe::{ProbeOutcome, ProbeSpec, run};

async fn probe(port: u16, server_name: Option<&str>, min_days: u32, ca: &Ca) -> ProbeOutcome {
    let spec = ProbeSpec::Tls {
        host: "127.0.0.1".into(),
        port,
        server_name: server_name.map(str::to_owned),
        min_days,
        ca_file: Some(ca.ca_file()),
    };
    run(&spec, Duration::from_secs(5)).await
}

#[tokio::test]
async fn a_valid_chain_reports_version_and_days_left() {
    let ca = Ca::new();
    let addr = serve_https(Router::new(), &ca.leaf(&["probe.test", "127.0.0.1"], -1, 60)).await;
    let outcome = probe(addr.port(), Some("probe.test"), 14, &ca).await;
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(evidence(&outcome, "tls_version"), Some("TLSv1_3"));
    assert_eq!(evidence(&outcome, "tls_subject"), Some("CN=probe.test"));
    let days: i64 = evidence(&outcome, "tls_days_left").unwrap().parse().unwrap();
    assert!((58..=60).contains(&days), "{days}");
    assert!(outcome.summary.contains("handshake for probe.test"), "{}", outcome.summary);
}

#[tokio::test]
async fn a_certificate_for_another_name_fails() {
    let ca = Ca::new();
    let addr = serve_https(Router::new(), &ca.leaf(&["probe.test"], -1, 60)).await;
    let outcome = probe(addr.port(), Some("other.test"), 14, &ca).await;
    assert!(!outcome.ok);
    assert!(outcome.summary.contains("TLS handshake for other.test"), "{}", outcome.summary);
    assert!(outcome.summary.contains("not valid for name"), "{}", outcome.summary);
    assert_eq!(evidence(&outcome, "tls_subject"), Some("CN=probe.test"));
}

#[tokio::test]
async fn expiring_and_expired_certificates_fail() {
    let ca = Ca::new();
    let soon = serve_https(Router::new(), &ca.leaf(&["probe.test"], -80, 10)).await;
    let outcome = probe(soon.port(), Some("probe.test"), 14, &ca).await;
    assert!(!outcome.ok);
    assert!(outcome.summary.contains("certificate expires in"), "{}", outcome.summary);
    assert!(probe(soon.port(), Some("probe.test"), 7, &ca).await.ok, "10 days left is enough for 7");

    let expired = serve_https(Router::new(), &ca.leaf(&["probe.test"], -90, -1)).await;
    let outcome = probe(expired.port(), Some("probe.test"), 0, &ca).await;
    assert!(!outcome.ok);
    assert!(outcome.summary.contains("expired"), "{}", outcome.summary);
    assert!(evidence(&outcome, "tls_not_after").is_some());
}

#[tokio::test]
async fn a_server_that_never_speaks_tls_times_out_on_time() {
    let ca = Ca::new();
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let spec =
        ProbeSpec::Tls { host: "127.0.0.1".into(), port, server_name: None, min_days: 1, ca_file: Some(ca.ca_file()) };
    let outcome = run(&spec, Duration::from_millis(300)).await;
    assert!(!outcome.ok);
    assert!(outcome.summary.starts_with("TLS handshake for 127.0.0.1: timed out after"), "{}", outcome.summary);
    assert!(outcome.duration_ms < 500, "took {} ms", outcome.duration_ms);
    drop(silent);
}
