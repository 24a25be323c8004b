//! `tend up`: the README's one command for a first look.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use tend_proto::api::{Host, HostStatus, Page};

use crate::harness::{Api, eventually, signal, tend, wait_exit};

const PASSWORD: &str = "first-look-password";

/// Starts `tend up`, returns the process and the URL it prints.
fn start(data: &std::path::Path) -> (std::process::Child, String) {
    let mut command = tend(data);
    command.args(["up", "--listen", "127.0.0.1:0", "--data"]).arg(data.join("tend-data"));
    command.env("TEND_ADMIN_PASSWORD", PASSWORD).stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = command.spawn().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut url = None;
    let mut lines = stdout.lines();
    for line in lines.by_ref() {
        if let Some(found) = line.unwrap().strip_prefix("tend is running: open ") {
            url = Some(found.to_owned());
            break;
        }
    }
    // Keep draining what it prints, like a terminal would.
    std::thread::spawn(move || lines.for_each(drop));
    (child, url.expect("tend up prints its URL"))
}

#[tokio::test]
async fn tend_up_monitors_this_machine_and_reuses_everything_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (mut first, url) = start(dir.path());
    let admin = Api::login(&url, "admin", PASSWORD).await;
    let host = eventually(Duration::from_secs(20), "the local host reporting", || async {
        let page: Page<Host> = admin.get_ok("/api/v1/hosts").await;
        page.items.into_iter().find(|h| h.status == HostStatus::Up)
    })
    .await;
    assert_eq!(host.client_name, "Local");
    let page = reqwest::get(format!("{url}/")).await.unwrap();
    assert!(page.url().path().ends_with("/login"), "the dashboard asks for a login first");
    signal(&first, "INT");
    assert!(wait_exit(&mut first, Duration::from_secs(15)).await.success());

    let (mut second, url) = start(dir.path());
    let admin = Api::login(&url, "admin", PASSWORD).await;
    let hosts = eventually(Duration::from_secs(20), "the host up again", || async {
        let page: Page<Host> = admin.get_ok("/api/v1/hosts").await;
        page.items.iter().any(|h| h.status == HostStatus::Up).then_some(page.items)
    })
    .await;
    assert_eq!(hosts.len(), 1, "the same host, not a second one");
    assert_eq!(hosts[0].id, host.id);
    signal(&second, "INT");
    assert!(wait_exit(&mut second, Duration::from_secs(15)).await.success());
    // The server is gone; read the database the stop left behind.
    let url = format!("sqlite://{}", dir.path().join("tend-data/tend.db").display());
    let store = tend_store::Store::open(&url).await.unwrap();
    let rows = store.list_hosts(tend_store::Scope::System, None, 0, 10).await.unwrap();
    assert!(rows[0].stopped, "Ctrl-C flushed a last report marked stopping");
    store.close().await;
}
