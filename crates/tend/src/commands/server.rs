//! `tend server`: the control plane alone.

use anyhow::Context;
use tend_server::{AppState, Config, setup};
use tend_store::Store;

use crate::cli::ServerArgs;

/// Chooses the first administrator's password (first start only).
pub const ADMIN_PASSWORD_VAR: &str = "TEND_ADMIN_PASSWORD";

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
    std::fs::create_dir_all(&config.data_dir).with_context(|| format!("creating {}", config.data_dir.display()))?;
    let store = Store::open(&config.database_url()).await?;
    first_administrator(&store).await?;
    tend_server::serve(AppState::new(store.clone(), config), listener, super::shutdown_signal()).await?;
    store.close().await;
    Ok(())
}

/// A fresh database has nobody to log in: the first start creates `admin` with the password in
/// `TEND_ADMIN_PASSWORD`. Without it the server still starts and says how to get in; it never
/// invents a password that would have to be printed into a log.
async fn first_administrator(store: &Store) -> anyhow::Result<()> {
    if store.count_users().await? > 0 {
        return Ok(());
    }
    match std::env::var(ADMIN_PASSWORD_VAR).ok().filter(|p| !p.is_empty()) {
        Some(password) => {
            setup::ensure_admin(store, Some(password)).await?;
            tracing::info!(user = setup::ADMIN_USERNAME, "created the first administrator");
        }
        None => tracing::warn!(
            "no users yet: restart once with {ADMIN_PASSWORD_VAR} set to create the administrator '{}'",
            setup::ADMIN_USERNAME
        ),
    }
    Ok(())
}
