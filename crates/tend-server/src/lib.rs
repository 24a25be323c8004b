//! tend's control plane: the HTTP API, the web pages, agent ingest.
//!
//! Entry points: [`run`] serves a [`Config`] on a listener until a shutdown future resolves;
//! [`router`] builds the whole HTTP surface for tests that want to call it directly.
//!
//! Architecture invariants:
//! - Handlers reach data only through the store with the scope of the authenticated caller
//!   (see [`auth`]); authorization decisions come from `tend_core`.
//! - The server never talks to a customer's machine on its own: agents call in.

pub mod auth;
pub mod config;
pub mod desk;
pub mod setup;
pub mod vault;

mod agent_api;
pub(crate) mod api;
mod error;
mod extract;
mod ingest;
pub mod jobs;
pub mod monitor;
pub mod patching;
mod self_backup;
mod telemetry;
mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tend_store::Store;
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;

pub use api::openapi;
pub use config::Config;
pub use error::Error;
pub use telemetry::Telemetry;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub telemetry: Arc<Telemetry>,
    /// The credential vault's key, loaded on first use (`serve` loads it before listening).
    pub vault: Arc<vault::Vault>,
}

impl AppState {
    pub fn new(store: Store, config: Config) -> AppState {
        let vault = Arc::new(vault::Vault::new(&config));
        AppState { store, config: Arc::new(config), telemetry: Arc::new(Telemetry::new()), vault }
    }
}

/// Opens the configured database and serves until `shutdown` resolves.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| Error::Config(format!("data_dir {}: {e}", config.data_dir.display())))?;
    let store = Store::open(&config.database_url()).await?;
    serve(AppState::new(store.clone(), config), listener, shutdown).await?;
    store.close().await;
    Ok(())
}

/// Serves an already opened state; for callers that prepared the store themselves (`tend up`).
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    // A missing or unsafe vault key stops the server here, not at the first reveal.
    state.vault.key()?;
    tracing::info!(address = %listener.local_addr()?, backend = state.store.backend().name(), "tend server listening");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let self_backups = tokio::spawn(self_backup::run(state.clone(), stopped.clone()));
    let background = tokio::spawn(monitor::scheduler::run(state.clone(), stopped));
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app).with_graceful_shutdown(jobs::releasing_long_polls(shutdown)).await;
    let _ = stop.send(true);
    let _ = background.await;
    let _ = self_backups.await;
    served?;
    tracing::info!("tend server stopped");
    Ok(())
}

/// The whole HTTP surface: API, agent endpoints, pages, health and metrics.
pub fn router(state: AppState) -> Router {
    let timeout = Duration::from_secs(state.config.http.request_timeout_secs);
    let body_limit = state.config.http.max_body_bytes;
    let (api, _) = api::router(state.config.http.max_report_bytes).split_for_parts();
    Router::new()
        .merge(api)
        .merge(api::pings::public_routes())
        .merge(web::router())
        .merge(telemetry::router())
        .fallback(api::not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), telemetry::track))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, timeout))
        .with_state(state)
}
