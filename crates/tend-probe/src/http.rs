//! The HTTP probe: one request (and its redirects) through reqwest, judged on status, body,
//! time and, for https, the final server's certificate.
//!
//! Owns the request and its judgement. Must not follow more than `MAX_REDIRECTS` redirects or
//! keep more than `MAX_BODY` bytes of a body: a probe must stay cheap whatever the site does.

use crate::certs;
use crate::outcome::{Failure, Probe, Verdict, millis, millis_f64, root_cause};
use crate::spec::{HttpMethod, HttpSpec};
use reqwest::redirect::Policy;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const MAX_REDIRECTS: usize = 10;
/// Enough for any page a probe should match on; past it the body is cut, and matching sees the
/// first `MAX_BODY` bytes.
const MAX_BODY: usize = 1 << 20;

/// What came back, once the body is read.
struct Fetched {
    status: u16,
    redirects: usize,
    /// The final server's certificate, for https.
    certificate: Option<Vec<u8>>,
    body: Vec<u8>,
    total: Duration,
}

pub(crate) async fn probe(spec: &HttpSpec, p: &mut Probe) -> Verdict {
    let request = format!("{} {}", method(spec.method), spec.url);
    let fetched = fetch(spec, p).await.map_err(|Failure(why)| Failure(format!("{request}: {why}")))?;
    let mut failures = content_failures(spec, fetched.status, &fetched.body, fetched.total);
    let tls_days = match (&fetched.certificate, spec.min_tls_days) {
        (Some(der), min) => match certs::judge_expiry(p, der, min.unwrap_or(0)) {
            Ok(days) => Some(days),
            Err(Failure(why)) => {
                failures.push(why);
                None
            }
        },
        (None, Some(_)) => {
            failures.push("no TLS on the final URL, so no certificate to check".to_owned());
            None
        }
        (None, None) => None,
    };
    if !failures.is_empty() {
        return Err(Failure(format!("{request}: {}", failures.join("; "))));
    }
    let mut summary = format!("HTTP {} in {} ms", fetched.status, millis(fetched.total));
    match fetched.redirects {
        0 => {}
        1 => summary.push_str(" after 1 redirect"),
        n => summary.push_str(&format!(" after {n} redirects")),
    }
    if let Some(days) = tls_days {
        summary.push_str(&format!(", certificate valid {days} more days"));
    }
    Ok(summary)
}

/// Sends the request, follows redirects and reads the body, recording what it sees.
async fn fetch(spec: &HttpSpec, p: &mut Probe) -> Result<Fetched, Failure> {
    let extra = match &spec.ca_file {
        Some(path) => p.step(format!("CA file {path}"), certs::read_ca_file(path)).await?,
        None => Vec::new(),
    };
    let (tls, verifier) = certs::client_config(extra).map_err(Failure)?;
    let redirects = Arc::new(AtomicUsize::new(0));
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .tls_info(true)
        .redirect(redirect_policy(spec.follow_redirects, redirects.clone()))
        // A probe measures the path from this machine to the site; an inherited proxy would
        // measure something else.
        .no_proxy()
        .user_agent(concat!("tend-probe/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Failure(format!("HTTP client: {e}")))?;

    let started = Instant::now();
    let sending = async { client.request(method(spec.method), &spec.url).send().await.map_err(describe) };
    let mut response = match p.step("sending the request", sending).await {
        Ok(response) => response,
        Err(failure) => {
            // A failed handshake still tells whose certificate it was and when it expires.
            certs::note_rejected(p, &verifier);
            return Err(failure);
        }
    };
    let ttfb = started.elapsed();
    let status = response.status().as_u16();
    let redirects = redirects.load(Ordering::Relaxed);
    p.evidence("status", status);
    p.evidence("redirects", redirects);
    if redirects > 0 {
        p.evidence("final_url", response.url());
    }
    if let Some(location) = response.headers().get(reqwest::header::LOCATION).and_then(|l| l.to_str().ok()) {
        p.evidence("location", location);
    }
    let certificate = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .map(<[u8]>::to_vec);

    let mut body = Vec::new();
    let reading = async {
        while let Some(chunk) = response.chunk().await.map_err(describe)? {
            body.extend_from_slice(&chunk);
            if body.len() >= MAX_BODY {
                body.truncate(MAX_BODY);
                return Ok::<_, String>(true);
            }
        }
        Ok(false)
    };
    let truncated = p.step("reading the body", reading).await?;
    let total = started.elapsed();
    p.evidence("body_bytes", if truncated { format!("more than {MAX_BODY}") } else { body.len().to_string() });
    p.metric("http_ttfb_ms", millis_f64(ttfb));
    p.metric("http_response_ms", millis_f64(total));
    Ok(Fetched { status, redirects, certificate, body, total })
}

/// Everything wrong with the answer itself: status, body and time.
fn content_failures(spec: &HttpSpec, status: u16, body: &[u8], total: Duration) -> Vec<String> {
    let mut failures = Vec::new();
    if !status_ok(status, spec.expect_status.as_deref()) {
        failures.push(format!("HTTP {status}, expected {}", expected(spec.expect_status.as_deref())));
    }
    let text = String::from_utf8_lossy(body);
    if let Some(needle) = &spec.body_contains
        && !text.contains(needle.as_str())
    {
        failures.push(format!("body does not contain {needle:?}"));
    }
    if let Some(pattern) = &spec.body_regex {
        // Validation compiled it already; a pattern that fails here fails the probe, not `run`.
        match regex::Regex::new(pattern) {
            Ok(regex) if regex.is_match(&text) => {}
            Ok(_) => failures.push(format!("body does not match /{pattern}/")),
            Err(e) => failures.push(format!("body_regex: {e}")),
        }
    }
    if let Some(limit) = spec.max_response_ms
        && millis(total) > limit
    {
        failures.push(format!("response took {} ms (limit {limit} ms)", millis(total)));
    }
    failures
}

fn method(method: HttpMethod) -> reqwest::Method {
    match method {
        HttpMethod::Get => reqwest::Method::GET,
        HttpMethod::Head => reqwest::Method::HEAD,
    }
}

/// Follows up to `MAX_REDIRECTS` redirects, counting them; or none, so a 3xx is the answer.
fn redirect_policy(follow: bool, count: Arc<AtomicUsize>) -> Policy {
    if !follow {
        return Policy::none();
    }
    Policy::custom(move |attempt| {
        // `previous` holds the first URL and every redirect already followed.
        let followed = attempt.previous().len();
        if followed > MAX_REDIRECTS {
            attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
        } else if attempt.previous().contains(attempt.url()) {
            let url = attempt.url().to_string();
            attempt.error(format!("redirect loop back to {url}"))
        } else {
            count.store(followed, Ordering::Relaxed);
            attempt.follow()
        }
    })
}

fn status_ok(status: u16, expected: Option<&[u16]>) -> bool {
    match expected {
        Some(list) => list.contains(&status),
        None => (200..400).contains(&status),
    }
}

fn expected(expected: Option<&[u16]>) -> String {
    match expected {
        Some(list) => list.iter().map(u16::to_string).collect::<Vec<_>>().join(" or "),
        None => "2xx or 3xx".to_owned(),
    }
}

/// reqwest's errors wrap the cause several layers deep, under a message that repeats the URL;
/// say what actually went wrong.
fn describe(e: reqwest::Error) -> String {
    let cause = root_cause(&e);
    if e.is_connect() { format!("connection failed: {cause}") } else { cause }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_statuses_are_2xx_and_3xx() {
        assert!(status_ok(200, None));
        assert!(status_ok(301, None));
        assert!(!status_ok(404, None));
        assert!(!status_ok(500, None));
        assert!(status_ok(404, Some(&[404, 410])));
        assert!(!status_ok(200, Some(&[204])));
        assert_eq!(expected(Some(&[200, 204])), "200 or 204");
    }

    #[test]
    fn content_failures_list_every_problem() {
        let spec = HttpSpec {
            url: "http://a.test/".into(),
            body_contains: Some("Welcome".into()),
            body_regex: Some(r"build \d+".into()),
            max_response_ms: Some(100),
            ..Default::default()
        };
        let fast = Duration::from_millis(20);
        assert!(content_failures(&spec, 200, b"Welcome, build 7", fast).is_empty());
        assert_eq!(
            content_failures(&spec, 503, b"Sorry", Duration::from_millis(250)),
            [
                "HTTP 503, expected 2xx or 3xx",
                r#"body does not contain "Welcome""#,
                r"body does not match /build \d+/",
                "response took 250 ms (limit 100 ms)",
            ]
        );
        // Matching sees text even where the page is not valid UTF-8.
        assert!(content_failures(&spec, 200, b"Welcome \xff build 9", fast).is_empty());
    }
}
