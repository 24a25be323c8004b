//! A report path that never loses data: the server killed and restarted, the agent killed
//! while it holds unsent reports; afterwards every report is stored exactly once.

use std::fs::File;
use std::process::{Child, Stdio};
use std::time::Duration;

use tend_store::{NewEnrollmentToken, Scope, Store};

use crate::harness::{each_backend, eventually, now, run, signal, tend, text, wait_exit};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A `tend server` process, so that it can be killed like a real one.
fn start_server(dir: &std::path::Path, database_url: &str, port: u16) -> Child {
    let mut command = tend(dir);
    command.args(["server", "--listen", &format!("127.0.0.1:{port}"), "--database-url", database_url]);
    command.arg("--data-dir").arg(dir).stdout(Stdio::null());
    command.stderr(File::options().create(true).append(true).open(dir.join("server.log")).unwrap());
    command.spawn().unwrap()
}

async fn wait_healthy(url: &str) {
    eventually(Duration::from_secs(20), "the server answering", || async {
        reqwest::get(format!("{url}/healthz")).await.ok().filter(|r| r.status().is_success())
    })
    .await;
}

async fn stored_seqs(store: &Store, host_id: i64) -> Vec<u64> {
    let mut seqs: Vec<u64> =
        store.report_log(Scope::System, host_id, 1000).await.unwrap().iter().map(|r| r.seq).collect();
    seqs.sort_unstable();
    seqs
}

fn start_agent(dir: &std::path::Path, state: &std::path::Path) -> Child {
    let mut command = tend(dir);
    command.args(["agent", "run", "--interval", "10", "--disable-collector", "packages", "--state-dir"]).arg(state);
    command.stdout(Stdio::null());
    command.stderr(File::options().create(true).append(true).open(dir.join("agent.log")).unwrap());
    command.spawn().unwrap()
}

fn reserved(state: &std::path::Path) -> u64 {
    std::fs::read_to_string(state.join("seq")).unwrap().trim().parse::<u64>().unwrap() - 1
}

#[tokio::test]
async fn killed_server_and_agent_lose_nothing_and_duplicate_nothing() {
    each_backend(|db| async move {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let mut server = start_server(dir.path(), &db.url, port);
        wait_healthy(&url).await;

        let store = Store::open(&db.url).await.unwrap();
        let client = store.create_client("acme", now()).await.unwrap();
        let secret = "tnd_e_spool-test";
        let token = NewEnrollmentToken {
            client_id: client.id,
            site_id: None,
            token_hash: &tend_server::auth::hash_secret(secret),
            created_by: None,
            expires_at: now() + jiff::SignedDuration::from_hours(1),
            uses: 1,
        };
        store.create_enrollment_token(Scope::System, token, now()).await.unwrap();
        let state = dir.path().join("agent");
        let mut enroll = tend(dir.path());
        enroll.args(["agent", "enroll", "--server", &url, "--token", secret, "--state-dir"]).arg(&state);
        let enrolled = run(enroll).await;
        assert!(enrolled.status.success(), "{}", text(&enrolled.stderr));
        let host_id = store.list_hosts(Scope::System, None, 0, 1).await.unwrap()[0].id;

        let mut agent = start_agent(dir.path(), &state);
        eventually(Duration::from_secs(20), "a first report", || async {
            (!stored_seqs(&store, host_id).await.is_empty()).then_some(())
        })
        .await;

        // The server dies without warning; the agent keeps collecting into its spool.
        signal(&server, "KILL");
        wait_exit(&mut server, Duration::from_secs(5)).await;
        let before_cut = reserved(&state);
        eventually(Duration::from_secs(40), "two reports spooled during the outage", || async {
            (reserved(&state) >= before_cut + 2).then_some(())
        })
        .await;
        // The agent dies too, holding unsent reports; a new one takes over its spool.
        signal(&agent, "KILL");
        wait_exit(&mut agent, Duration::from_secs(5)).await;
        let mut agent = start_agent(dir.path(), &state);
        tokio::time::sleep(Duration::from_secs(2)).await;

        let mut server = start_server(dir.path(), &db.url, port);
        wait_healthy(&url).await;
        eventually(Duration::from_secs(60), "the spool delivered", || async {
            let seqs = stored_seqs(&store, host_id).await;
            (seqs.len() as u64 >= reserved(&state) && reserved(&state) >= before_cut + 3).then_some(())
        })
        .await;

        signal(&agent, "TERM");
        assert!(wait_exit(&mut agent, Duration::from_secs(15)).await.success());
        let last = reserved(&state);
        let seqs = stored_seqs(&store, host_id).await;
        let log = std::fs::read_to_string(dir.path().join("agent.log")).unwrap();
        assert_eq!(seqs, (1..=last).collect::<Vec<_>>(), "every report once, none lost: {log}");
        assert!(log.contains("cannot deliver reports"), "the outage was logged: {log}");
        let host = store.host(Scope::System, host_id).await.unwrap();
        assert!(host.stopped, "the last report said goodbye");

        signal(&server, "TERM");
        wait_exit(&mut server, Duration::from_secs(15)).await;
        store.close().await;
        db
    })
    .await;
}
