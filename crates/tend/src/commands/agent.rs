//! `tend agent enroll|run`.

use std::time::Duration;

use tend_agent::run::{RunOptions, enroll, run as run_agent};
use tend_agent::state::StateDir;

use crate::cli::{AgentCommand, AgentRunArgs, EnrollArgs};

pub async fn run(command: AgentCommand) -> anyhow::Result<()> {
    match command {
        AgentCommand::Enroll(args) => enroll_command(args).await,
        AgentCommand::Run(args) => run_command(args).await,
    }
}

async fn enroll_command(args: EnrollArgs) -> anyhow::Result<()> {
    let state = StateDir::open(&args.state_dir)?;
    let identity = enroll(&args.server, &args.token, &state).await?;
    println!(
        "Enrolled as agent {} (host {}); credential saved in {}.",
        identity.agent_id,
        identity.host_id,
        state.path().display()
    );
    Ok(())
}

async fn run_command(args: AgentRunArgs) -> anyhow::Result<()> {
    let state = StateDir::open(&args.state_dir)?;
    let options = RunOptions { interval: args.interval.map(Duration::from_secs) };
    run_agent(&state, options, super::shutdown_signal()).await?;
    Ok(())
}
