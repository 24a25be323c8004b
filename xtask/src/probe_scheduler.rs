//! `cargo xtask bench-probes [--probes N] [--seconds S]`: the server's probe scheduler with N
//! HTTP probes at a 60 s interval against a local HTTP server, measured from the server's own
//! `/metrics` (start lateness of every run), plus the time from a failing probe's result to its
//! webhook notification arriving.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::process::{cpu_seconds, free_port, http_get, http_request, output, rss_kib, spawn, wait_for};

const PASSWORD: &str = "benchmark-password";

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut probes = 10_000u32;
    let mut seconds = 180u64;
    let mut words = args.iter();
    while let Some(flag) = words.next() {
        let value = words.next().context("a flag needs a value")?;
        match flag.as_str() {
            "--probes" => probes = value.parse()?,
            "--seconds" => seconds = value.parse()?,
            other => bail!("unknown flag {other}; usage: cargo xtask bench-probes [--probes N] [--seconds S]"),
        }
    }
    let status = std::process::Command::new("cargo").args(["build", "--release", "--quiet", "-p", "tend"]).status()?;
    if !status.success() {
        bail!("cargo build --release failed");
    }
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let tend = Path::new(&target).join("release/tend").canonicalize()?.display().to_string();
    let work = std::env::temp_dir().join(format!("tend-bench-probes-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let result = measure(&tend, &work, probes, seconds);
    let _ = std::fs::remove_dir_all(&work);
    result
}

/// A minimal HTTP target: every connection gets `200 ok` and is closed.
fn serve_target() -> anyhow::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?.to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer(stream, "ok"));
        }
    });
    Ok(address)
}

fn answer(mut stream: std::net::TcpStream, body: &str) {
    let mut request = [0u8; 4096];
    let _ = stream.read(&mut request);
    let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
}

/// A webhook that notes when each notification arrived.
fn serve_webhook(arrivals: Arc<Mutex<Vec<Instant>>>) -> anyhow::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?.to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            arrivals.lock().map(|mut a| a.push(Instant::now())).ok();
            answer(stream, "");
        }
    });
    Ok(address)
}

fn measure(tend: &str, work: &Path, probes: u32, seconds: u64) -> anyhow::Result<()> {
    let target = serve_target()?;
    let port = free_port()?;
    let address = format!("127.0.0.1:{port}");
    let url = format!("http://{address}");
    let config_home = work.to_str().context("path")?;
    let env = [("TEND_ADMIN_PASSWORD", PASSWORD), ("XDG_CONFIG_HOME", config_home)];
    let data = work.join("server");
    let server =
        Killed(spawn(tend, &["server", "--listen", &address, "--data-dir", data.to_str().context("path")?], &env)?);
    wait_for("the tend server", Duration::from_secs(30), || http_get(&address, "/healthz").is_ok())?;
    output(tend, &["login", "--server", &url, "--user", "admin", "--password-stdin"], &env, Some(PASSWORD))?;
    let login: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(work.join("tend/login.json"))?)?;
    let token = login["token"].as_str().context("token")?.to_owned();
    let client: serde_json::Value =
        serde_json::from_str(&output(tend, &["client", "add", "bench", "--json"], &env, None)?)?;
    let client_id = client["id"].as_i64().context("client id")?;

    let created = Instant::now();
    for n in 0..probes {
        let body = serde_json::json!({ "client_id": client_id, "name": format!("site {n}"), "interval_secs": 60,
            "timeout_secs": 5, "spec": { "kind": "http", "url": format!("http://{target}/{n}") } });
        let (status, answer) = http_request(&address, "POST", "/api/v1/probes", Some(&token), Some(&body.to_string()))?;
        if status != 201 {
            bail!("creating probe {n}: {status} {answer}");
        }
    }
    eprintln!("created {probes} probes in {:.1} s", created.elapsed().as_secs_f64());

    // Settle one full interval, then measure.
    std::thread::sleep(Duration::from_secs(60));
    let before = histogram(&address)?;
    let cpu_before = cpu_seconds(server.0.id())?;
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    let after = histogram(&address)?;
    let cpu = cpu_seconds(server.0.id())? - cpu_before;
    let rss = rss_kib(server.0.id())?;
    let runs = after.count - before.count;
    let per_minute = runs as f64 * 60.0 / started.elapsed().as_secs_f64();
    let notification = notification_latency(&address, &token, client_id)?;
    println!("probe scheduler, {probes} HTTP probes every 60 s, {seconds} s measured, embedded SQLite");
    println!(
        "| runs per minute | start lateness p50 | p99 | max bucket | server CPU | server RSS | failure → webhook |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    println!(
        "| {per_minute:.0} | ≤ {} | ≤ {} | ≤ {} | {:.0} % of one core | {:.0} MiB | {:.0} ms |",
        after.quantile(&before, 0.50),
        after.quantile(&before, 0.99),
        after.quantile(&before, 1.0),
        cpu * 100.0 / started.elapsed().as_secs_f64(),
        rss as f64 / 1024.0,
        notification.as_secs_f64() * 1000.0,
    );
    Ok(())
}

/// A failing probe with a webhook: from the alert's firing (its history time) to arrival.
fn notification_latency(address: &str, token: &str, client_id: i64) -> anyhow::Result<Duration> {
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let hook = serve_webhook(arrivals.clone())?;
    let channel = serde_json::json!({ "client_id": client_id, "kind": "webhook", "target": format!("http://{hook}/") });
    http_request(address, "POST", "/api/v1/notification-channels", Some(token), Some(&channel.to_string()))?;
    let closed = free_port()?;
    let probe = serde_json::json!({ "client_id": client_id, "name": "failing", "interval_secs": 60, "timeout_secs": 2,
        "spec": { "kind": "tcp", "host": "127.0.0.1", "port": closed } });
    http_request(address, "POST", "/api/v1/probes", Some(token), Some(&probe.to_string()))?;
    wait_for("the webhook", Duration::from_secs(30), || arrivals.lock().is_ok_and(|a| !a.is_empty()))?;
    let arrived = arrivals.lock().map_err(|_| anyhow::anyhow!("poisoned"))?[0];
    // The alert's firing moment, in the server's history, against the same wall clock.
    let (_, alerts) = http_request(address, "GET", "/api/v1/alerts", Some(token), None)?;
    let alerts: serde_json::Value = serde_json::from_str(&alerts)?;
    let id =
        alerts.as_array().and_then(|a| a.iter().find(|x| x["target"] == "failing")).context("the alert")?["id"].clone();
    let (_, detail) = http_request(address, "GET", &format!("/api/v1/alerts/{id}"), Some(token), None)?;
    let detail: serde_json::Value = serde_json::from_str(&detail)?;
    let fired: jiff::Timestamp = detail["history"][0]["at"].as_str().context("history")?.parse()?;
    let arrived_at = jiff::Timestamp::now() - jiff::SignedDuration::try_from(arrived.elapsed())?;
    Ok(Duration::try_from(arrived_at.duration_since(fired)).unwrap_or_default())
}

struct Histogram {
    /// (upper bound in seconds, cumulative count)
    buckets: Vec<(f64, u64)>,
    count: u64,
}

impl Histogram {
    /// The smallest bucket bound holding `q` of the runs between `before` and `self`.
    fn quantile(&self, before: &Histogram, q: f64) -> String {
        let total = self.count.saturating_sub(before.count);
        for ((bound, after), (_, earlier)) in self.buckets.iter().zip(&before.buckets) {
            if (after - earlier) as f64 >= q * total as f64 {
                return if bound.is_infinite() { "+Inf".into() } else { format!("{:.0} ms", bound * 1000.0) };
            }
        }
        "+Inf".into()
    }
}

fn histogram(address: &str) -> anyhow::Result<Histogram> {
    let (_, text) = http_request(address, "GET", "/metrics", None, None)?;
    let mut buckets = Vec::new();
    let mut count = 0;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("tend_probe_start_lateness_seconds_bucket{le=\"") {
            let (bound, value) = rest.split_once("\"} ").context("bucket line")?;
            let bound = if bound == "+Inf" { f64::INFINITY } else { bound.parse()? };
            buckets.push((bound, value.trim().parse()?));
        } else if let Some(value) = line.strip_prefix("tend_probe_start_lateness_seconds_count ") {
            count = value.trim().parse()?;
        }
    }
    Ok(Histogram { buckets, count })
}

/// A child process killed when dropped.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
