//! The HTTP probe against an axum server on loopback, plain and over TLS with a test CA.

use crate::support::{Ca, evidence, metric, serve_http, serve_https};
use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use std::time::Duration;
use tend_probe::{HttpSpec, ProbeOutcome, ProbeSpec, run};

const TIMEOUT: Duration = Duration::from_secs(5);

fn site() -> Router {
    Router::new()
        .route("/", get(|| async { "Welcome to tend, build 42" }))
        .route("/fail", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(400)).await;
                "finally"
            }),
        )
        .route("/loop", get(|| async { Redirect::to("/loop") }))
        .route("/r/{n}", get(|Path(n): Path<u32>| async move { hop(n) }))
}

/// `/r/3` redirects to `/r/2` … to `/r/0`, which answers.
fn hop(n: u32) -> Response {
    if n == 0 { "landed".into_response() } else { Redirect::to(&format!("/r/{}", n - 1)).into_response() }
}

fn spec(url: String) -> HttpSpec {
    HttpSpec { url, ..Default::default() }
}

async fn probe(http: HttpSpec) -> ProbeOutcome {
    run(&ProbeSpec::Http(http), TIMEOUT).await
}

#[tokio::test]
async fn a_page_that_answers_with_the_expected_body() {
    let addr = serve_http(site()).await;
    let outcome = probe(HttpSpec {
        body_contains: Some("Welcome".into()),
        body_regex: Some(r"build \d+$".into()),
        expect_status: Some(vec![200]),
        max_response_ms: Some(2_000),
        ..spec(format!("http://{addr}/"))
    })
    .await;
    assert!(outcome.ok, "{outcome:?}");
    assert!(outcome.summary.starts_with("HTTP 200 in "), "{}", outcome.summary);
    assert_eq!(evidence(&outcome, "status"), Some("200"));
    assert_eq!(evidence(&outcome, "redirects"), Some("0"));
    assert_eq!(evidence(&outcome, "body_bytes"), Some("25"));
    assert!(metric(&outcome, "http_response_ms").is_some_and(|ms| ms > 0.0));
}

#[tokio::test]
async fn a_body_mismatch_says_what_was_missing() {
    let addr = serve_http(site()).await;
    let outcome = probe(HttpSpec {
        body_contains: Some("Goodbye".into()),
        body_regex: Some("^build".into()),
        ..spec(format!("http://{addr}/"))
    })
    .await;
    assert!(!outcome.ok);
    assert!(outcome.summary.contains(r#"body does not contain "Goodbye""#), "{}", outcome.summary);
    assert!(outcome.summary.contains("body does not match /^build/"), "{}", outcome.summary);
    assert_eq!(evidence(&outcome, "status"), Some("200"));
}

#[tokio::test]
async fn a_server_error_fails_unless_expected() {
    let addr = serve_http(site()).await;
    let outcome = probe(spec(format!("http://{addr}/fail"))).await;
    assert!(!outcome.ok);
    assert_eq!(outcome.summary, format!("GET http://{addr}/fail: HTTP 500, expected 2xx or 3xx"));
    let expected = probe(HttpSpec { expect_status: Some(vec![500]), ..spec(format!("http://{addr}/fail")) }).await;
    assert!(expected.ok, "{expected:?}");
}

#[tokio::test]
async fn redirects_are_followed_and_counted() {
    let addr = serve_http(site()).await;
    let outcome = probe(HttpSpec { body_contains: Some("landed".into()), ..spec(format!("http://{addr}/r/3")) }).await;
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(evidence(&outcome, "redirects"), Some("3"));
    assert_eq!(evidence(&outcome, "final_url"), Some(format!("http://{addr}/r/0").as_str()));
    assert!(outcome.summary.contains("after 3 redirects"), "{}", outcome.summary);

    let not_followed = probe(HttpSpec { follow_redirects: false, ..spec(format!("http://{addr}/r/3")) }).await;
    assert!(not_followed.ok, "a 3xx is fine by default: {not_followed:?}");
    assert_eq!(evidence(&not_followed, "status"), Some("303"));
    assert_eq!(evidence(&not_followed, "location"), Some("/r/2"));

    let too_many = probe(spec(format!("http://{addr}/r/11"))).await;
    assert!(!too_many.ok);
    assert!(too_many.summary.contains("more than 10 redirects"), "{}", too_many.summary);
    let looping = probe(spec(format!("http://{addr}/loop"))).await;
    assert!(looping.summary.contains("redirect loop"), "{}", looping.summary);
}

#[tokio::test]
async fn a_slow_answer_fails_the_time_limit_and_never_outlasts_the_timeout() {
    let addr = serve_http(site()).await;
    let outcome = probe(HttpSpec { max_response_ms: Some(100), ..spec(format!("http://{addr}/slow")) }).await;
    assert!(!outcome.ok);
    assert!(outcome.summary.contains("(limit 100 ms)"), "{}", outcome.summary);
    assert!(outcome.duration_ms >= 400);

    let cut = run(&ProbeSpec::Http(spec(format!("http://{addr}/slow"))), Duration::from_millis(150)).await;
    assert!(!cut.ok);
    assert!(cut.summary.contains("timed out after"), "{}", cut.summary);
    assert!(cut.duration_ms < 400, "took {} ms", cut.duration_ms);
}

#[tokio::test]
async fn a_refused_connection_is_named() {
    let port = crate::support::free_port();
    let outcome = probe(spec(format!("http://127.0.0.1:{port}/"))).await;
    assert!(!outcome.ok);
    let prefix = format!("GET http://127.0.0.1:{port}/: sending the request: connection failed: ");
    assert!(outcome.summary.starts_with(&prefix), "{}", outcome.summary);
    assert!(outcome.summary.to_lowercase().contains("refused"), "{}", outcome.summary);
}

#[tokio::test]
async fn https_reports_the_days_the_certificate_has_left() {
    let ca = Ca::new();
    let addr = serve_https(site(), &ca.leaf(&["127.0.0.1"], -1, 90)).await;
    let url = format!("https://{addr}/");
    let outcome = probe(HttpSpec { min_tls_days: Some(30), ca_file: Some(ca.ca_file()), ..spec(url.clone()) }).await;
    assert!(outcome.ok, "{outcome:?}");
    let days: i64 = evidence(&outcome, "tls_days_left").unwrap().parse().unwrap();
    assert!((88..=90).contains(&days), "{days}");
    assert_eq!(metric(&outcome, "tls_days_left"), Some(days as f64));
    assert!(outcome.summary.contains(&format!("certificate valid {days} more days")), "{}", outcome.summary);

    let untrusted = probe(spec(url)).await;
    assert!(!untrusted.ok);
    assert!(untrusted.summary.contains("UnknownIssuer"), "{}", untrusted.summary);
    assert!(evidence(&untrusted, "tls_not_after").is_some(), "the rejected certificate is still described");
}

#[tokio::test]
async fn https_with_a_certificate_about_to_expire_fails() {
    let ca = Ca::new();
    let addr = serve_https(site(), &ca.leaf(&["127.0.0.1"], -30, 5)).await;
    let outcome =
        probe(HttpSpec { min_tls_days: Some(14), ca_file: Some(ca.ca_file()), ..spec(format!("https://{addr}/")) })
            .await;
    assert!(!outcome.ok);
    assert!(outcome.summary.contains("certificate expires in"), "{}", outcome.summary);
    assert!(outcome.summary.contains("(minimum 14)"), "{}", outcome.summary);
    assert_eq!(evidence(&outcome, "status"), Some("200"), "the page itself answered");
}

#[tokio::test]
async fn https_with_an_expired_certificate_fails() {
    let ca = Ca::new();
    let addr = serve_https(site(), &ca.leaf(&["127.0.0.1"], -60, -2)).await;
    let outcome = probe(HttpSpec { ca_file: Some(ca.ca_file()), ..spec(format!("https://{addr}/")) }).await;
    assert!(!outcome.ok);
    assert!(outcome.summary.contains("expired"), "{}", outcome.summary);
    assert!(evidence(&outcome, "tls_days_left").is_some_and(|d| d.starts_with('-')), "{outcome:?}");
}

#[tokio::test]
async fn a_missing_ca_file_is_a_failed_probe() {
    let outcome =
        probe(HttpSpec { ca_file: Some("/nonexistent/ca.pem".into()), ..spec("https://127.0.0.1:1/".into()) }).await;
    assert!(!outcome.ok);
    assert_eq!(
        outcome.summary,
        "GET https://127.0.0.1:1/: CA file /nonexistent/ca.pem: No such file or directory (os error 2)"
    );
}
