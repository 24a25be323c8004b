//! Development tasks: `cargo xtask <task>`.
//!
//! - `bench-agent [--cycles N]`: the agent's footprint beside Debian's prometheus-node-exporter.
//! - `fuzz [--seconds N] [TARGET…]`: every parser's fuzz target, briefly, with coverage.

mod agent_footprint;
mod fuzz;
mod process;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bench-agent") => agent_footprint::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask bench-agent [--cycles N] | fuzz [--seconds N] [TARGET…]");
            std::process::exit(2);
        }
    }
}
