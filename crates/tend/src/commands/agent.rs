//! `tend agent enroll|run|collect|parse`.

use std::path::Path;

use anyhow::{Context, bail};
use tend_agent::collect::{self, CollectorSet};
use tend_agent::config::AgentConfig;
use tend_agent::run::{enroll, run as run_agent};
use tend_agent::state::StateDir;

use crate::cli::{AgentCommand, AgentRunArgs, AgentSettingsArgs, EnrollArgs};
use crate::output::{Table, json};

pub async fn run(command: AgentCommand) -> anyhow::Result<()> {
    match command {
        AgentCommand::Enroll(args) => enroll_command(args).await,
        AgentCommand::Run(args) => run_command(args).await,
        AgentCommand::Collect { once, settings, output } => {
            if !once {
                bail!("`tend agent collect` runs once: pass --once (use `tend agent run` to report continuously)");
            }
            collect_once(&config(&settings)?, output.json).await
        }
        AgentCommand::Parse { kind, file } => crate::commands::parse::run(&kind, file.as_deref()),
    }
}

/// The file's settings with the flags on top.
pub fn config(args: &AgentSettingsArgs) -> anyhow::Result<AgentConfig> {
    let mut config = match &args.config {
        Some(path) => load(path)?,
        None => AgentConfig::default(),
    };
    if let Some(dir) = &args.state_dir {
        config.state_dir = dir.clone();
    }
    config.collectors.watched_services.extend(args.watch_services.iter().cloned());
    config.collectors.certificate_files.extend(args.certificates.iter().cloned());
    config.collectors.disabled.extend(args.disabled.iter().cloned());
    Ok(config)
}

fn load(path: &Path) -> anyhow::Result<AgentConfig> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid agent configuration {}", path.display()))
}

async fn enroll_command(args: EnrollArgs) -> anyhow::Result<()> {
    let config = config(&args.settings)?;
    let state = StateDir::open(&config.state_dir)?;
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
    let mut config = config(&args.settings)?;
    config.interval_secs = args.interval.or(config.interval_secs);
    config.spool_max_bytes = args.spool_max_bytes.unwrap_or(config.spool_max_bytes);
    run_agent(&config, super::shutdown_signal()).await?;
    Ok(())
}

async fn collect_once(config: &AgentConfig, as_json: bool) -> anyhow::Result<()> {
    let mut collectors = CollectorSet::new(collect::all(&config.collectors));
    let sections = collectors.collect().await;
    if as_json {
        return json(&sections);
    }
    let mut table = Table::new(&["COLLECTOR", "OUTCOME", "MS", "DETAIL"]);
    for status in &sections.collectors {
        table.row(vec![
            status.name.clone(),
            status.outcome.clone(),
            status.duration_ms.to_string(),
            status.detail.clone().unwrap_or_default(),
        ]);
    }
    print!("{}", table.render());
    println!("\n{} samples; the whole snapshot: tend agent collect --once --json", sections.metrics.len());
    Ok(())
}
