//! `cargo xtask fuzz [--seconds N] [TARGET…]`: builds the fuzz targets with coverage
//! instrumentation (stable rustc: the same sanitizer-coverage passes cargo-fuzz uses, without
//! the address sanitizer, which needs nightly) and runs each for N seconds, seeded with the
//! captures in `crates/tend-agent/testdata`. A crash fails the task and leaves its input in
//! `fuzz/artifacts/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

const HOST: &str = "x86_64-unknown-linux-gnu";

const COVERAGE_FLAGS: &[&str] = &[
    "--cfg fuzzing",
    "-Cpasses=sancov-module",
    "-Cllvm-args=-sanitizer-coverage-level=4",
    "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
    "-Cllvm-args=-sanitizer-coverage-pc-table",
    "-Cllvm-args=-sanitizer-coverage-trace-compares",
    "-Cdebug-assertions",
    "-Coverflow-checks",
];

/// (target, seed directory under crates/tend-agent/testdata).
const SEEDS: &[(&str, &str)] = &[
    ("smartctl", "smartctl"),
    ("smartctl_scan", "smartctl"),
    ("mdstat", "raid"),
    ("mdadm_detail", "raid"),
    ("ipmitool_sdr", "sensors"),
    ("systemctl_units", "services"),
    ("proc_net_tcp", "services"),
    ("proc_net_udp", "services"),
    ("dpkg_status", "packages"),
    ("apt_upgradable", "packages"),
    ("apt_simulate", "packages"),
    ("rpm_qa", "packages"),
    ("dnf_updateinfo", "packages"),
    ("os_release", "os"),
    ("clamscan_log", "antivirus"),
    ("timedatectl", "time"),
    ("chronyc_tracking", "time"),
    ("meminfo", "proc"),
    ("cpuinfo", "proc"),
    ("loadavg", "proc"),
    ("mounts", "proc"),
    ("net_dev", "proc"),
    ("proc_stat", "proc"),
    ("cvd_header", "antivirus"),
    ("certificate", "certificates"),
    ("report_batch", "smartctl"),
];

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let (seconds, only) = match args {
        [flag, n, rest @ ..] if flag == "--seconds" => (n.parse::<u32>().context("--seconds N")?, rest),
        rest => (10, rest),
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().context("workspace root")?.to_owned();
    let target_dir = std::env::var("CARGO_TARGET_DIR").map_or_else(|_| root.join("target"), PathBuf::from).join("fuzz");
    // An explicit target keeps the coverage flags off build scripts and proc macros, which are
    // not linked with libFuzzer.
    let status = Command::new("cargo")
        .args(["build", "--release", "--quiet", "--target", HOST, "--manifest-path"])
        .arg(root.join("fuzz/Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("RUSTFLAGS", COVERAGE_FLAGS.join(" "))
        .status()?;
    if !status.success() {
        bail!("building the fuzz targets failed");
    }
    let artifacts = root.join("fuzz/artifacts");
    std::fs::create_dir_all(&artifacts)?;
    let mut failed = Vec::new();
    for (target, seeds) in SEEDS.iter().filter(|(t, _)| only.is_empty() || only.iter().any(|o| o == t)) {
        let corpus = target_dir.join("corpus").join(target);
        std::fs::create_dir_all(&corpus)?;
        let status = Command::new(target_dir.join(HOST).join("release").join(target))
            .arg(format!("-max_total_time={seconds}"))
            .arg(format!("-artifact_prefix={}/{target}-", artifacts.display()))
            .arg("-print_final_stats=0")
            // A hang is a bug too: an input that takes this long is reported as one.
            .arg("-timeout=10")
            .arg(&corpus)
            .arg(root.join("crates/tend-agent/testdata").join(seeds))
            .stderr(std::process::Stdio::null())
            .status()?;
        println!("{target:<18} {}", if status.success() { "ok" } else { "CRASH (see fuzz/artifacts)" });
        if !status.success() {
            failed.push(*target);
        }
    }
    if !failed.is_empty() {
        bail!("fuzzing found crashes in: {}", failed.join(", "));
    }
    Ok(())
}
