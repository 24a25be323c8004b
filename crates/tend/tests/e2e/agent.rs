//! A real agent process enrolls, reports, stops gracefully and is refused once revoked.

use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Stdio};
use std::time::Duration;

use tend_proto::api::{Host, HostDetail, HostStatus, MetricSeries, Page};

use crate::harness::{
    Api, Server, each_backend, each_backend_at_once, eventually, now, run, signal, tend, text, wait_exit,
};

async fn enroll(server: &Server, token: &str, name: &str) -> std::path::PathBuf {
    let state_dir = server.state_dir(name);
    let mut command = tend(server.dir.path());
    command.args(["agent", "enroll", "--server", &server.url, "--token", token, "--state-dir"]).arg(&state_dir);
    let output = run(command).await;
    assert!(output.status.success(), "enroll failed: {}", text(&output.stderr));
    assert!(text(&output.stdout).contains("Enrolled as agent"), "{}", text(&output.stdout));
    state_dir
}

fn start_agent(server: &Server, state_dir: &std::path::Path) -> (Child, std::path::PathBuf) {
    let log = state_dir.join("agent.log");
    let mut command = tend(server.dir.path());
    command.args(["agent", "run", "--interval", "10", "--state-dir"]).arg(state_dir);
    command.stdout(Stdio::null()).stderr(File::create(&log).unwrap());
    (command.spawn().expect("agent starts"), log)
}

async fn host_with_status(server: &Server, status: HostStatus) -> Host {
    host_with_status_within(server, status, Duration::from_secs(20)).await
}

#[tokio::test]
async fn an_agent_enrolls_reports_its_host_and_stops_without_an_outage() {
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let (client_id, token) = server.client_with_token("acme", 1).await;
        let state_dir = enroll(&server, &token, "agent").await;
        let credential = std::fs::metadata(state_dir.join("agent.json")).unwrap();
        assert_eq!(credential.permissions().mode() & 0o777, 0o600, "the credential is private");

        let (mut agent, log) = start_agent(&server, &state_dir);
        let host = host_with_status(&server, HostStatus::Up).await;
        assert_eq!(host.client_id, client_id);
        let hostname = rustix::system::uname().nodename().to_string_lossy().into_owned();
        assert_eq!(host.hostname, hostname);

        let detail: HostDetail = server.admin.get_ok(&format!("/api/v1/hosts/{}", host.id)).await;
        let facts = detail.facts.expect("facts reported");
        assert_eq!(facts.hostname, hostname);
        assert!(facts.cpu_cores >= 1 && facts.memory_total_bytes > 0, "{facts:?}");
        assert!(facts.os_name.len() > 2 && !facts.kernel.is_empty());
        let names: Vec<&str> = detail.latest.iter().map(|s| s.name.as_str()).collect();
        for expected in
            ["load1", "memory_used_bytes", "swap_total_bytes", "fs_used_bytes", "fs_inodes_total", "net_rx_bytes"]
        {
            assert!(names.contains(&expected), "{expected} missing from {names:?}");
        }
        let root = detail.latest.iter().find(|s| s.name == "fs_total_bytes" && s.labels["mountpoint"] == "/");
        assert!(root.is_some_and(|s| s.value > 0.0), "the root filesystem is measured");

        let series: Vec<MetricSeries> =
            server.admin.get_ok(&format!("/api/v1/hosts/{}/metrics?name=memory_total_bytes&step=60", host.id)).await;
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].points.last().unwrap().value, facts.memory_total_bytes as f64);

        signal(&agent, "TERM");
        let status = wait_exit(&mut agent, Duration::from_secs(15)).await;
        assert!(status.success(), "agent exit {status:?}: {}", std::fs::read_to_string(&log).unwrap());
        let stopped = host_with_status(&server, HostStatus::Stopped).await;
        assert_eq!(stopped.id, host.id);
        server.stop().await;
        db
    })
    .await;
}

/// The heartbeat alert of a host, if it has one open.
async fn heartbeat_alert(server: &Server, host_id: i64) -> Option<serde_json::Value> {
    let open: Vec<serde_json::Value> = server.admin.get_ok("/api/v1/alerts").await;
    open.into_iter().find(|a| a["check"] == "heartbeat" && a["host_id"] == host_id)
}

#[tokio::test]
async fn a_killed_agent_goes_overdue_and_alerts_a_stopped_one_does_not() {
    each_backend_at_once(|db| async move {
        let server = Server::start(&db).await;
        let (client_id, token) = server.client_with_token("acme", 1).await;
        let state_dir = enroll(&server, &token, "agent").await;
        let (mut agent, _log) = start_agent(&server, &state_dir);
        let host = host_with_status(&server, HostStatus::Up).await;

        // A second host whose agent says goodbye, through the same protocol, at the same time.
        let (_, goodbye) = server.client_with_token("globex", 1).await;
        let credential = "tnd_a_stopped-agent";
        let hash = tend_server::auth::hash_secret(&goodbye);
        let stopped =
            server.store.enroll_agent(&hash, "web1", None, &tend_server::auth::hash_secret(credential), now()).await;
        let stopped = stopped.unwrap();
        let last_words = serde_json::json!({ "reports": [{
            "seq": 1, "collected_at_ms": now().as_millisecond(), "stopping": true,
            "schema_version": tend_proto::REPORT_SCHEMA_VERSION, "sections": {}
        }]});
        let answer = Api::anonymous(&server.url).with_token(credential).post("/api/agent/v1/report", &last_words).await;
        assert_eq!(answer.status, 200, "{}", answer.body);

        signal(&agent, "KILL");
        let _ = wait_exit(&mut agent, Duration::from_secs(5)).await;
        // Two missed reports of 10 s and the 30 s grace, then the next heartbeat pass.
        let overdue = host_with_status_within(&server, HostStatus::Overdue, Duration::from_secs(90)).await;
        assert_eq!(overdue.id, host.id);
        let alert =
            eventually(Duration::from_secs(30), "the heartbeat alert", || heartbeat_alert(&server, host.id)).await;
        assert_eq!(alert["client_id"], client_id);
        let summary = alert["summary"].as_str().unwrap();
        // This machine is up: asked from outside, it answers, so the agent alone is down.
        assert!(summary.contains("overdue") && summary.contains("the host answers"), "{alert}");
        assert_eq!(alert["severity"], "warning", "{alert}");
        assert!(heartbeat_alert(&server, stopped.host_id).await.is_none(), "a graceful stop raises nothing");
        let page: Page<Host> = server.admin.get_ok("/api/v1/hosts").await;
        let web1 = page.items.iter().find(|h| h.id == stopped.host_id).unwrap();
        assert_eq!(web1.status, HostStatus::Stopped);
        server.stop().await;
        db
    })
    .await;
}

async fn host_with_status_within(server: &Server, status: HostStatus, limit: Duration) -> Host {
    eventually(limit, &format!("a host {status:?}"), || async {
        let page: Page<Host> = server.admin.get_ok("/api/v1/hosts").await;
        page.items.into_iter().find(|h| h.status == status)
    })
    .await
}

#[tokio::test]
async fn a_revoked_agent_is_refused_and_says_so() {
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let (_, token) = server.client_with_token("acme", 1).await;
        let state_dir = enroll(&server, &token, "agent").await;
        let (mut agent, log) = start_agent(&server, &state_dir);
        let host = host_with_status(&server, HostStatus::Up).await;
        let detail: HostDetail = server.admin.get_ok(&format!("/api/v1/hosts/{}", host.id)).await;

        let revoke = server.admin.post(&format!("/api/v1/agents/{}/revoke", detail.agent_id.unwrap()), &()).await;
        assert_eq!(revoke.status, 204, "{}", revoke.body);
        // The stop makes the agent send one more report, which is refused.
        signal(&agent, "TERM");
        let status = wait_exit(&mut agent, Duration::from_secs(15)).await;
        let log = std::fs::read_to_string(&log).unwrap();
        assert_eq!(status.code(), Some(3), "{log}");
        assert!(log.contains("refused this agent's credential"), "{log}");
        host_with_status(&server, HostStatus::Revoked).await;
        server.stop().await;
        db
    })
    .await;
}

#[tokio::test]
async fn enrollment_refusals_name_their_reason() {
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let (client_id, token) = server.client_with_token("acme", 1).await;
        enroll(&server, &token, "first").await;

        let expired = "tnd_e_expired";
        let past = tend_store::NewEnrollmentToken {
            client_id,
            site_id: None,
            token_hash: &tend_server::auth::hash_secret(expired),
            created_by: None,
            expires_at: crate::harness::now() - jiff::SignedDuration::from_secs(1),
            uses: 5,
        };
        let scope = tend_store::Scope::AllClients;
        server.store.create_enrollment_token(scope, past, crate::harness::now()).await.unwrap();
        let (_, revoked) = server.client_with_token("globex", 1).await;
        let tokens: Vec<tend_proto::api::EnrollmentToken> = server.admin.get_ok("/api/v1/enrollment-tokens").await;
        let globex = tokens.iter().find(|t| t.client_id != client_id).unwrap();
        let answer = server
            .admin
            .request(reqwest::Method::DELETE, &format!("/api/v1/enrollment-tokens/{}", globex.id), None)
            .await;
        assert_eq!(answer.status, 204);

        for (token, reason) in [
            (token.as_str(), "has no uses left"),
            ("tnd_e_nonsense", "is unknown"),
            (expired, "has expired"),
            (revoked.as_str(), "was revoked"),
        ] {
            let mut command = tend(server.dir.path());
            command.args(["agent", "enroll", "--server", &server.url, "--token", token, "--state-dir"]);
            command.arg(server.state_dir("refused"));
            let output = run(command).await;
            let stderr = text(&output.stderr);
            assert_eq!(output.status.code(), Some(3), "{reason}: {stderr}");
            assert!(stderr.contains(&format!("enrollment token {reason}")), "{reason}: {stderr}");
        }
        assert!(!server.state_dir("refused").join("agent.json").exists());
        server.stop().await;
        db
    })
    .await;
}

#[tokio::test]
async fn collect_once_reports_every_collector_and_parse_reads_captures() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = tend(dir.path());
    command.args(["agent", "collect", "--once", "--json", "--state-dir"]).arg(dir.path());
    let output = run(command).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let snapshot: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(snapshot["facts"]["hostname"].as_str().is_some_and(|h| !h.is_empty()));
    assert!(snapshot["metrics"].as_array().is_some_and(|m| m.len() > 5));
    let statuses = snapshot["collectors"].as_array().unwrap();
    let names: Vec<&str> = statuses.iter().map(|s| s["name"].as_str().unwrap()).collect();
    for expected in [
        "facts",
        "metrics",
        "smart",
        "raid",
        "sensors",
        "services",
        "packages",
        "os",
        "antivirus",
        "time",
        "certificates",
    ] {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
    for status in statuses {
        let outcome = status["outcome"].as_str().unwrap();
        assert!(["ok", "unavailable", "failed"].contains(&outcome), "{status}");
        assert_eq!(outcome == "ok", status["detail"].is_null(), "a problem says why: {status}");
    }
    assert_eq!(snapshot["os"]["id"], snapshot["facts"]["os_id"], "the os section read this machine");

    let testdata = concat!(env!("CARGO_MANIFEST_DIR"), "/../tend-agent/testdata");
    let parse = |kind: &str, file: &str| {
        let mut command = tend(dir.path());
        command.args(["agent", "parse", kind, file]);
        run(command)
    };
    let smart = parse("smartctl", &format!("{testdata}/smartctl/WDC_WD20EFRX-68EUZN0_17.json")).await;
    assert!(smart.status.success(), "{}", text(&smart.stderr));
    let disk: serde_json::Value = serde_json::from_slice(&smart.stdout).unwrap();
    assert_eq!(disk["protocol"], "ATA");
    assert!(disk["power_on_hours"].as_u64().is_some_and(|h| h > 0), "{disk}");

    let truncated = dir.path().join("truncated.json");
    std::fs::write(&truncated, "{\n  \"smartctl\": {\n    \"version\": [7,").unwrap();
    let refused = parse("smartctl", truncated.to_str().unwrap()).await;
    let stderr = text(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("truncated.json:3"), "names the file and line: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let unknown = parse("nonsense", truncated.to_str().unwrap()).await;
    assert_eq!(unknown.status.code(), Some(1));
    assert!(text(&unknown.stderr).contains("unknown kind"));
    let mut list = tend(dir.path());
    list.args(["agent", "parse", "list"]);
    let listed = run(list).await;
    assert!(text(&listed.stdout).contains("apt-simulate"), "{}", text(&listed.stderr));
}
