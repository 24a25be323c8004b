//! The `tend` binary: control plane, agent and CLI in one.
//!
//! This crate parses the command line, sets up logging and maps errors to exit codes; the work
//! itself lives in the library crates.

mod cli;
mod client;
mod commands;
mod duration;
mod exit;
mod output;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use cli::{Cli, Command, ConfigCommand, LogFormat};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE } else { 0 });
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            exit::code(&e)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // The agent is the lightest thing on a customer's server: one thread does.
    let single_threaded = matches!(cli.command, Command::Agent(_));
    let runtime = if single_threaded {
        tokio::runtime::Builder::new_current_thread().enable_all().build()?
    } else {
        tokio::runtime::Builder::new_multi_thread().enable_all().build()?
    };
    let done = runtime.block_on(dispatch(cli));
    // Work on blocking threads (a backup's restic run) must not keep a stopping agent alive
    // until the service manager kills it: restic's lock left behind is cleared by the next run.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    done
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let format = cli.log_format;
    let done = match cli.command {
        Command::Probe(args) => {
            init_logging(format.unwrap_or(LogFormat::Text), "warn");
            return commands::probe::run(args).await;
        }
        Command::Up(args) => {
            init_logging(format.unwrap_or(LogFormat::Text), "info");
            commands::up::run(args).await
        }
        Command::Server(args) => {
            let config = commands::server::config(&args)?;
            let configured = match config.log_format {
                tend_server::config::LogFormat::Text => LogFormat::Text,
                tend_server::config::LogFormat::Json => LogFormat::Json,
            };
            init_logging(format.unwrap_or(configured), "info");
            commands::server::run(config).await
        }
        Command::Agent(command) => {
            init_logging(format.unwrap_or(LogFormat::Text), "info");
            commands::agent::run(command).await
        }
        command => {
            init_logging(format.unwrap_or(LogFormat::Text), "warn");
            cli_command(command).await
        }
    };
    done.map(|()| ExitCode::SUCCESS)
}

async fn cli_command(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Login(args) => commands::session::login(args).await,
        Command::Logout => commands::session::logout().await,
        Command::Host(command) => commands::hosts::run(command).await,
        Command::Client(command) => commands::clients::run(command).await,
        Command::EnrollToken(command) => commands::enroll_token::run(command).await,
        Command::Alert(command) => commands::monitoring::alerts(command).await,
        Command::Maintenance(command) => commands::monitoring::maintenance(command).await,
        Command::Check(command) => commands::monitoring::checks(command).await,
        Command::Ticket(command) => commands::tickets::run(command).await,
        Command::Vault(command) => commands::vault::run(command).await,
        Command::Audit(command) => commands::vault::audit(command).await,
        Command::Job(command) => commands::jobs::run(command).await,
        Command::Advisory(command) => commands::patching::advisory(command).await,
        Command::Patch(command) => commands::patching::patch(command).await,
        Command::Db(command) => commands::db::run(command).await,
        Command::Backup(command) => commands::backups::run(command).await,
        Command::Ping(command) => commands::pings::run(command).await,
        Command::Config(ConfigCommand::Example) => {
            print!("{}", tend_server::Config::example());
            Ok(())
        }
        Command::Up(_) | Command::Server(_) | Command::Agent(_) | Command::Probe(_) => {
            unreachable!("dispatched above")
        }
    }
}

/// Logs go to standard error; `TEND_LOG` sets levels (e.g. `debug`, `tend_server=debug`).
fn init_logging(format: LogFormat, default_level: &str) {
    let filter = EnvFilter::try_from_env("TEND_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
