//! `tend server`: the control plane alone.

use anyhow::Context;
use tend_server::Config;

use crate::cli::ServerArgs;

/// Loads the configuration (file, environment, flags) without starting anything.
pub fn config(args: &ServerArgs) -> anyhow::Result<Config> {
    let mut config = Config::load(args.config.as_deref(), std::env::vars())?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(url) = &args.database_url {
        config.database_url = url.clone();
    }
    if let Some(dir) = &args.data_dir {
        config.data_dir = dir.clone();
    }
    config.validate()?;
    Ok(config)
}

pub async fn run(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    tend_server::run(config, listener, super::shutdown_signal()).await?;
    Ok(())
}
