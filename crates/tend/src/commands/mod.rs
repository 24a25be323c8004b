//! One module per command group.

pub mod agent;
pub mod backups;
pub mod clients;
pub mod db;
pub mod enroll_token;
pub mod hosts;
pub mod jobs;
pub mod monitoring;
pub mod parse;
pub mod patching;
pub mod pings;
pub mod probe;
pub mod rollouts;
pub mod server;
pub mod session;
pub mod tickets;
pub mod up;
pub mod vault;

/// Resolves on Ctrl-C or SIGTERM: how service managers and people ask tend to stop.
pub async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
    tracing::info!("stop requested");
}
