//! The CLI against a real server: login, tables and JSON, exit codes.

use std::process::Command;

use crate::harness::{ADMIN_PASSWORD, Server, each_backend, run, run_with_input, tend, text};

fn cli(server: &Server, args: &[&str]) -> Command {
    let mut command = tend(server.dir.path());
    command.args(args);
    command
}

#[tokio::test]
async fn a_technician_works_from_the_command_line() {
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let login = cli(&server, &["login", "--server", &server.url, "--user", "admin", "--password-stdin"]);
        let wrong = run_with_input(login, "nope\n").await;
        assert_eq!(wrong.status.code(), Some(3), "{}", text(&wrong.stderr));
        assert!(text(&wrong.stderr).contains("wrong user name or password"));

        let not_yet = run(cli(&server, &["host", "list"])).await;
        assert_eq!(not_yet.status.code(), Some(3));
        assert!(text(&not_yet.stderr).contains("not logged in"));

        let login = cli(&server, &["login", "--server", &server.url, "--user", "admin", "--password-stdin"]);
        let ok = run_with_input(login, &format!("{ADMIN_PASSWORD}\n")).await;
        assert!(ok.status.success(), "{}", text(&ok.stderr));
        let saved = server.dir.path().join("config/tend/login.json");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&saved).unwrap().permissions().mode() & 0o777, 0o600);

        let added = run(cli(&server, &["client", "add", "Acme SA", "--json"])).await;
        assert!(added.status.success(), "{}", text(&added.stderr));
        let client: serde_json::Value = serde_json::from_slice(&added.stdout).unwrap();
        assert_eq!(client["name"], "Acme SA");
        let duplicate = run(cli(&server, &["client", "add", "Acme SA"])).await;
        assert_eq!(duplicate.status.code(), Some(6), "{}", text(&duplicate.stderr));

        let listed = run(cli(&server, &["client", "list"])).await;
        let table = text(&listed.stdout);
        assert!(table.starts_with("ID") && table.contains("Acme SA"), "{table}");

        let created =
            run(cli(&server, &["enroll-token", "create", "--client", "Acme SA", "--uses", "2", "--json"])).await;
        assert!(created.status.success(), "{}", text(&created.stderr));
        let token: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
        assert_eq!((token["uses_allowed"].as_u64(), token["client_id"].clone()), (Some(2), client["id"].clone()));
        let secret = token["token"].as_str().unwrap().to_owned();
        let human = run(cli(&server, &["enroll-token", "create", "--client", "Acme SA"])).await;
        assert!(text(&human.stdout).contains(&format!("tend agent enroll --server {}", server.url)));
        let unknown = run(cli(&server, &["enroll-token", "create", "--client", "Nobody"])).await;
        assert_eq!(unknown.status.code(), Some(4));

        let hash = tend_server::auth::hash_secret(&secret);
        server.store.enroll_agent(&hash, "db1.acme", None, "cred", crate::harness::now()).await.unwrap();
        let hosts = run(cli(&server, &["host", "list", "--client", "Acme SA", "--json"])).await;
        let hosts: serde_json::Value = serde_json::from_slice(&hosts.stdout).unwrap();
        assert_eq!(hosts[0]["hostname"], "db1.acme");
        assert_eq!(hosts[0]["status"], "pending");
        let shown = run(cli(&server, &["host", "show", "db1.acme"])).await;
        assert!(text(&shown.stdout).starts_with("db1.acme (host"), "{}", text(&shown.stdout));
        let missing = run(cli(&server, &["host", "show", "nowhere"])).await;
        assert_eq!(missing.status.code(), Some(4));

        let logout = run(cli(&server, &["logout"])).await;
        assert!(text(&logout.stdout).contains("token is revoked"), "{}", text(&logout.stdout));
        assert!(!saved.exists());
        let after = run(cli(&server, &["host", "list"])).await;
        assert_eq!(after.status.code(), Some(3));
        server.stop().await;
        db
    })
    .await;
}

#[tokio::test]
async fn start_up_errors_are_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tend.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:0\"\n[http]\nmax_body_bytes = \"big\"\n").unwrap();
    let bad_config = run({
        let mut c = tend(dir.path());
        c.arg("server").arg("--config").arg(&config);
        c
    })
    .await;
    let stderr = text(&bad_config.stderr);
    assert_eq!(bad_config.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("line 3") && stderr.contains("max_body_bytes"), "{stderr}");

    let unreachable = run({
        let mut c = tend(dir.path());
        c.args(["server", "--listen", "127.0.0.1:0", "--database-url", "postgres://tend:hunter2@127.0.0.1:1/tend"]);
        c.arg("--data-dir").arg(dir.path());
        c
    })
    .await;
    let stderr = text(&unreachable.stderr);
    assert_eq!(unreachable.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("cannot open the database postgres://tend:***@127.0.0.1:1/tend"), "{stderr}");
    assert!(!stderr.contains("hunter2") && !stderr.contains("panicked"), "{stderr}");

    let usage = run({
        let mut c = tend(dir.path());
        c.args(["host", "list", "--bogus"]);
        c
    })
    .await;
    assert_eq!(usage.status.code(), Some(2));
}

#[tokio::test]
async fn probe_exit_codes_follow_the_verdict() {
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "tend welcomes you" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let dir = tempfile::tempdir().unwrap();
    let probe = |args: Vec<String>| {
        let mut command = tend(dir.path());
        command.arg("probe").args(args);
        run(command)
    };
    let url = format!("http://{address}/");
    let pass = probe(vec!["http".into(), url.clone(), "--contains".into(), "welcomes".into(), "--json".into()]).await;
    assert_eq!(pass.status.code(), Some(0), "{}", text(&pass.stderr));
    let outcome: serde_json::Value = serde_json::from_slice(&pass.stdout).unwrap();
    assert_eq!(outcome["ok"], true);
    let fail = probe(vec!["http".into(), url, "--contains".into(), "goodbye".into()]).await;
    assert_eq!(fail.status.code(), Some(1));
    assert!(text(&fail.stdout).starts_with("FAIL"), "{}", text(&fail.stdout));
    let closed = probe(vec!["tcp".into(), "127.0.0.1:1".into()]).await;
    assert_eq!(closed.status.code(), Some(1));
    let bad = probe(vec!["gopher".into(), "x".into()]).await;
    assert_eq!(bad.status.code(), Some(2));
}

#[tokio::test]
async fn monitoring_from_the_command_line() {
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let login = cli(&server, &["login", "--server", &server.url, "--user", "admin", "--password-stdin"]);
        assert!(run_with_input(login, &format!("{ADMIN_PASSWORD}\n")).await.status.success());
        let (_, token) = server.client_with_token("acme", 1).await;
        let credential = "tnd_a_cli-monitoring";
        let hash = tend_server::auth::hash_secret(&token);
        let secret_hash = tend_server::auth::hash_secret(credential);
        server.store.enroll_agent(&hash, "web1", None, &secret_hash, crate::harness::now()).await.unwrap();

        let listed = run(cli(&server, &["check", "list"])).await;
        assert!(text(&listed.stdout).contains("disk_usage"), "{}", text(&listed.stderr));
        let set = run(cli(&server, &["check", "set", "web1", "memory_usage", "--layer", "client", "--warning", "10", "--pending", "0"])).await;
        assert!(set.status.success(), "{}", text(&set.stderr));
        let explained = run(cli(&server, &["check", "explain", "web1", "memory_usage", "--json"])).await;
        let explained: serde_json::Value = serde_json::from_slice(&explained.stdout).unwrap();
        assert_eq!(explained["settings"]["warning"], 10.0);
        assert!(explained["explanation"].as_str().unwrap().contains("client"), "{explained}");

        let agent = crate::harness::Api::anonymous(&server.url).with_token(credential);
        let report = serde_json::json!({ "reports": [{
            "seq": 1, "collected_at_ms": crate::harness::now().as_millisecond(), "schema_version": 1,
            "sections": { "metrics": [
                { "name": "memory_used_bytes", "value": 50.0 }, { "name": "memory_total_bytes", "value": 100.0 } ] } }]});
        assert_eq!(agent.post("/api/agent/v1/report", &report).await.status, 200);
        // `check test` runs the check now on the stored data and exits 1 on a problem.
        let test = run(cli(&server, &["check", "test", "web1", "memory_usage"])).await;
        assert_eq!(test.status.code(), Some(1), "{}", text(&test.stderr));
        let table = text(&test.stdout);
        assert!(table.contains("WARNING") && table.contains("memory usage of memory is 50.0"), "{table}");
        assert!(table.contains("memory_usage on host") && table.contains(" ms."), "{table}");
        let tested = run(cli(&server, &["check", "test", "web1", "swap_usage", "--json"])).await;
        assert!(tested.status.success(), "no swap reported, nothing wrong: {}", text(&tested.stderr));
        let tested: serde_json::Value = serde_json::from_slice(&tested.stdout).unwrap();
        assert_eq!((tested["check"].as_str(), tested["findings"].as_array().map(Vec::len)), (Some("swap_usage"), Some(0)));
        let unknown = run(cli(&server, &["check", "test", "web1", "no_such_check"])).await;
        assert_eq!(unknown.status.code(), Some(4), "{}", text(&unknown.stderr));

        let contact = run(cli(&server, &["client", "add-contact", "acme", "--name", "Ada", "--email", "ada@acme.test"])).await;
        assert!(contact.status.success(), "{}", text(&contact.stderr));
        let contacts = text(&run(cli(&server, &["client", "contacts", "acme"])).await.stdout);
        assert!(contacts.contains("ada@acme.test") && contacts.contains("yes"), "{contacts}");

        let alerts = run(cli(&server, &["alert", "list", "--json"])).await;
        let alerts: serde_json::Value = serde_json::from_slice(&alerts.stdout).unwrap();
        assert_eq!(alerts[0]["check"], "memory_usage", "{alerts}");
        let id = alerts[0]["id"].to_string();
        let ack = run(cli(&server, &["alert", "ack", &id, "--comment", "known leak, restart tonight"])).await;
        assert!(ack.status.success(), "{}", text(&ack.stderr));
        let table = text(&run(cli(&server, &["alert", "list"])).await.stdout);
        assert!(table.contains("memory_usage") && table.contains("yes"), "{table}");

        let add = run(cli(&server, &[
            "maintenance", "add", "--client", "acme", "--title", "patch night", "--start", "2026-12-08T22:00",
            "--time-zone", "Europe/Paris", "--duration", "240", "--rrule", "FREQ=MONTHLY;BYDAY=2TU", "--json",
        ]))
        .await;
        assert!(add.status.success(), "{}", text(&add.stderr));
        let window: serde_json::Value = serde_json::from_slice(&add.stdout).unwrap();
        assert!(window["next"][0].as_str().unwrap().ends_with("21:00:00Z"), "22:00 Paris is 21:00 UTC in winter: {window}");
        let bad = run(cli(&server, &[
            "maintenance", "add", "--client", "acme", "--title", "x", "--start", "2026-12-08T22:00",
            "--time-zone", "Mars/Olympus", "--duration", "60",
        ]))
        .await;
        assert_eq!(bad.status.code(), Some(6), "{}", text(&bad.stderr));
        assert!(text(&bad.stderr).contains("time_zone") || text(&bad.stderr).contains("Mars"), "{}", text(&bad.stderr));
        let list = text(&run(cli(&server, &["maintenance", "list", "--client", "acme"])).await.stdout);
        assert!(list.contains("patch night") && list.contains("FREQ=MONTHLY;BYDAY=2TU"), "{list}");
        let end = run(cli(&server, &["maintenance", "end", &window["id"].to_string()])).await;
        assert!(end.status.success(), "{}", text(&end.stderr));
        server.stop().await;
        db
    })
    .await;
}

#[tokio::test]
async fn tickets_from_the_command_line() {
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let login = cli(&server, &["login", "--server", &server.url, "--user", "admin", "--password-stdin"]);
        assert!(run_with_input(login, &format!("{ADMIN_PASSWORD}\n")).await.status.success());
        let (_, token) = server.client_with_token("acme", 1).await;
        let hash = tend_server::auth::hash_secret(&token);
        let secret_hash = tend_server::auth::hash_secret("tnd_a_cli-desk");
        server.store.enroll_agent(&hash, "db1", None, &secret_hash, crate::harness::now()).await.unwrap();

        let filed = run(cli(
            &server,
            &["ticket", "new", "--client", "acme", "--subject", "backups slow", "--host", "db1", "--impact", "low"],
        ))
        .await;
        assert!(filed.status.success(), "{}", text(&filed.stderr));
        assert!(
            text(&filed.stdout).contains("Filed ticket #") && text(&filed.stdout).contains("P4"),
            "{}",
            text(&filed.stdout)
        );
        let listed: serde_json::Value =
            serde_json::from_slice(&run(cli(&server, &["ticket", "list", "--json"])).await.stdout).unwrap();
        let id = listed[0]["id"].to_string();
        let table = text(&run(cli(&server, &["ticket", "list"])).await.stdout);
        assert!(table.contains("backups slow") && table.contains("SLA LEFT") && table.contains("running"), "{table}");

        let escalate = run(cli(&server, &["ticket", "escalate", &id, "needs a database specialist"])).await;
        assert!(escalate.status.success(), "{}", text(&escalate.stderr));
        let shown: serde_json::Value =
            serde_json::from_slice(&run(cli(&server, &["ticket", "show", &id, "--json"])).await.stdout).unwrap();
        assert_eq!(shown["ticket"]["support_level"], "L2");
        let human = text(&run(cli(&server, &["ticket", "show", &id])).await.stdout);
        assert!(human.contains("escalated (internal)") && human.contains("SLA standard"), "{human}");

        let form = r#"{"kind":"os_reinstall","host_id":1,"os":"Debian","version":"12"}"#;
        let refused = run(cli(
            &server,
            &["ticket", "new", "--client", "acme", "--kind", "os_reinstall", "--subject", "reinstall", "--form", form],
        ))
        .await;
        assert_eq!(refused.status.code(), Some(6), "{}", text(&refused.stderr));
        assert!(text(&refused.stderr).contains("erase"), "{}", text(&refused.stderr));

        let resolved = run(cli(&server, &["ticket", "resolve", &id, "tuned the backup window"])).await;
        assert!(text(&resolved.stdout).contains("resolved"), "{}", text(&resolved.stderr));
        let confirm = run(cli(&server, &["ticket", "confirm", &id, "--rating", "5"])).await;
        assert_eq!(confirm.status.code(), Some(3), "only the customer confirms: {}", text(&confirm.stderr));
        server.stop().await;
        db
    })
    .await;
}
