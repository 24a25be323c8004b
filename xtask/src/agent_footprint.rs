//! `cargo xtask bench-agent`: RSS and CPU per cycle of `tend agent` beside
//! `prometheus-node-exporter` scraped at the same pace, on the same machine, in one run.
//!
//! Both are release builds or packages, both do their work every 10 s for the same number of
//! cycles; CPU counts the process and the tools it ran (children it waited for).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::process::{cpu_seconds, free_port, http_get, output, rss_kib, spawn, wait_for};

const NODE_EXPORTER: &str = "/usr/bin/prometheus-node-exporter";
const INTERVAL: Duration = Duration::from_secs(10);
const PASSWORD: &str = "benchmark-password";

struct Measured {
    cpu_per_cycle_ms: f64,
    rss_kib: u64,
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let cycles: u32 = match args {
        [flag, n] if flag == "--cycles" => n.parse().context("--cycles N")?,
        [] => 12,
        _ => bail!("usage: cargo xtask bench-agent [--cycles N]"),
    };
    if !Path::new(NODE_EXPORTER).exists() {
        bail!("install the peer first: apt-get install -y prometheus-node-exporter");
    }
    let status = Command::new("cargo").args(["build", "--release", "--quiet", "-p", "tend"]).status()?;
    if !status.success() {
        bail!("cargo build --release failed");
    }
    let tend = release_binary()?;
    let work = std::env::temp_dir().join(format!("tend-bench-agent-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let result = measure_both(&tend, &work, cycles);
    let _ = std::fs::remove_dir_all(&work);
    let (agent, exporter) = result?;
    print_report(cycles, &agent, &exporter);
    Ok(())
}

fn release_binary() -> anyhow::Result<String> {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let path = Path::new(&target).join("release/tend");
    Ok(path.canonicalize().with_context(|| format!("{} after the build", path.display()))?.display().to_string())
}

fn measure_both(tend: &str, work: &Path, cycles: u32) -> anyhow::Result<(Measured, Measured)> {
    let port = free_port()?;
    let url = format!("http://127.0.0.1:{port}");
    let data = work.join("server");
    let env = [("TEND_ADMIN_PASSWORD", PASSWORD), ("XDG_CONFIG_HOME", work.to_str().context("path")?)];
    let server = spawn(
        tend,
        &["server", "--listen", &format!("127.0.0.1:{port}"), "--data-dir", data.to_str().context("path")?],
        &env,
    )?;
    let _server = Killed(server);
    wait_for("the tend server", Duration::from_secs(20), || {
        http_get(&format!("127.0.0.1:{port}"), "/healthz").is_ok()
    })?;
    output(tend, &["login", "--server", &url, "--user", "admin", "--password-stdin"], &env, Some(PASSWORD))?;
    output(tend, &["client", "add", "bench"], &env, None)?;
    let token: serde_json::Value =
        serde_json::from_str(&output(tend, &["enroll-token", "create", "--client", "bench", "--json"], &env, None)?)?;
    let token = token["token"].as_str().context("token")?;
    let state = work.join("agent");
    let state = state.to_str().context("path")?;
    output(tend, &["agent", "enroll", "--server", &url, "--token", token, "--state-dir", state], &env, None)?;

    let exporter_port = free_port()?;
    let exporter_address = format!("127.0.0.1:{exporter_port}");
    let exporter = Killed(spawn(NODE_EXPORTER, &[&format!("--web.listen-address={exporter_address}")], &[])?);
    wait_for("node_exporter", Duration::from_secs(20), || http_get(&exporter_address, "/metrics").is_ok())?;
    let agent = Killed(spawn(tend, &["agent", "run", "--interval", "10", "--state-dir", state], &env)?);

    // One warm-up cycle each, then the measured ones, side by side.
    std::thread::sleep(INTERVAL);
    http_get(&exporter_address, "/metrics")?;
    let (agent_pid, exporter_pid) = (agent.0.id(), exporter.0.id());
    let (agent_cpu, exporter_cpu) = (cpu_seconds(agent_pid)?, cpu_seconds(exporter_pid)?);
    let (mut agent_rss, mut exporter_rss) = (0, 0);
    let started = Instant::now();
    for cycle in 1..=cycles {
        let bytes = http_get(&exporter_address, "/metrics")?;
        agent_rss = agent_rss.max(rss_kib(agent_pid)?);
        exporter_rss = exporter_rss.max(rss_kib(exporter_pid)?);
        eprintln!("cycle {cycle}/{cycles}: scraped {bytes} bytes");
        std::thread::sleep((started + INTERVAL * cycle).saturating_duration_since(Instant::now()));
    }
    let per_cycle = |used: f64| used * 1000.0 / f64::from(cycles);
    Ok((
        Measured { cpu_per_cycle_ms: per_cycle(cpu_seconds(agent_pid)? - agent_cpu), rss_kib: agent_rss },
        Measured { cpu_per_cycle_ms: per_cycle(cpu_seconds(exporter_pid)? - exporter_cpu), rss_kib: exporter_rss },
    ))
}

/// A child process killed when dropped, so a failing benchmark leaves nothing running.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn print_report(cycles: u32, agent: &Measured, exporter: &Measured) {
    let machine = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    println!(
        "agent footprint, {cycles} cycles of 10 s, {machine}, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| | peak RSS | CPU per cycle / scrape |");
    println!("| --- | ---: | ---: |");
    println!("| tend agent | {:.1} MiB | {:.1} ms |", agent.rss_kib as f64 / 1024.0, agent.cpu_per_cycle_ms);
    println!(
        "| prometheus-node-exporter | {:.1} MiB | {:.1} ms |",
        exporter.rss_kib as f64 / 1024.0,
        exporter.cpu_per_cycle_ms
    );
    println!(
        "ratio: RSS {:.2} (target ≤ 0.5), CPU {:.2} (target ≤ 1.0)",
        agent.rss_kib as f64 / exporter.rss_kib as f64,
        agent.cpu_per_cycle_ms / exporter.cpu_per_cycle_ms
    );
}
