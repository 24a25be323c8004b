//! Development tasks: `cargo xtask <task>`.
//!
//! - `bench-agent [--cycles N]`: the agent's footprint beside Debian's prometheus-node-exporter.
//! - `fuzz [--seconds N] [TARGET…]`: every parser's fuzz target, briefly, with coverage.
//! - `bench-probes [--probes N] [--seconds S]`: the server's probe scheduler under load.

mod agent_footprint;
mod fuzz;
mod probe_scheduler;
mod process;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bench-agent") => agent_footprint::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("bench-probes") => probe_scheduler::run(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask bench-agent [--cycles N] | fuzz [--seconds N] [TARGET…] | bench-probes [--probes N] [--seconds S]"
            );
            std::process::exit(2);
        }
    }
}
