//! `tend up`: the control plane and an agent for this machine in one process, for a first
//! look. A second start on the same data directory reuses everything.

use std::io::Write;
use std::net::SocketAddr;

use anyhow::Context;
use tend_agent::config::AgentConfig;
use tend_agent::run::{enroll, run as run_agent};
use tend_agent::state::StateDir;
use tend_server::{AppState, Config, setup};
use tend_store::Store;
use tokio::sync::watch;

use super::server::ADMIN_PASSWORD_VAR;
use crate::cli::UpArgs;

/// The client the local machine is enrolled in.
const LOCAL_CLIENT: &str = "Local";

pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data).with_context(|| format!("creating {}", args.data.display()))?;
    let data = args.data.canonicalize()?;
    let config = Config { listen: args.listen, data_dir: data.clone(), ..Config::default() };
    let store = Store::open(&config.database_url()).await?;
    let password = std::env::var(ADMIN_PASSWORD_VAR).ok().filter(|p| !p.is_empty());
    let chosen = password.is_some();
    let (admin, generated) = setup::ensure_admin(&store, password).await?;
    let client = setup::ensure_client(&store, LOCAL_CLIENT).await?;

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {} (is another tend running? try --listen)", args.listen))?;
    let url = base_url(listener.local_addr()?);
    let (stop_server, server_stopped) = watch::channel(false);
    let state = AppState::new(store.clone(), Config { public_url: url.clone(), ..config });
    let server = tokio::spawn(tend_server::serve(state, listener, wait_for(server_stopped)));

    let agent = AgentConfig { state_dir: data.join("agent"), ..AgentConfig::default() };
    let agent_state = StateDir::open(&agent.state_dir)?;
    if agent_state.is_enrolled() {
        // Another --listen than last time: the local agent follows its server.
        let mut identity = agent_state.identity()?;
        if identity.server_url != url {
            identity.server_url = url.clone();
            agent_state.save_identity(&identity)?;
        }
    } else {
        let token = setup::enrollment_token(&store, &admin, &client).await?;
        enroll(&url, &token, &agent_state).await.context("enrolling the local agent")?;
    }
    greet(&url, generated.as_deref(), chosen);

    let agent_result = run_agent(&agent, super::shutdown_signal()).await;
    let _ = stop_server.send(true);
    server.await.context("the server task failed")??;
    store.close().await;
    agent_result?;
    Ok(())
}

fn base_url(address: SocketAddr) -> String {
    format!("http://{address}")
}

async fn wait_for(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// Written with `writeln!` and errors ignored: a closed standard output must not stop tend.
fn greet(url: &str, generated_password: Option<&str>, chosen: bool) {
    let admin = setup::ADMIN_USERNAME;
    let login = match generated_password {
        Some(password) => format!(
            "Log in as '{admin}' with the password {password}\n(shown only this once; set {ADMIN_PASSWORD_VAR} to choose it)"
        ),
        None if chosen => format!("Log in as '{admin}' with the password from {ADMIN_PASSWORD_VAR}."),
        None => format!("Log in as '{admin}' with the password shown at the first start."),
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "\ntend is running: open {url}\n{login}\nThis machine reports as a host of the client '{LOCAL_CLIENT}'. Stop with Ctrl-C.\n"
    );
    let _ = out.flush();
}
