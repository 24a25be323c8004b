//! Jobs gated by the customer's authorization, run by a real agent: a reboot refused before the
//! intervention's window and run inside it, a shutdown allowed by the contract's standing
//! authorization, a script refused by an agent that does not enable scripts, and the audit
//! trail of it all.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tend_proto::jobs::{Job, JobStatus};
use tend_store::{AuditEntry, Scope};

use crate::harness::{
    ADMIN_PASSWORD, Server, cli_login, each_backend, eventually, now, run, signal, tend, text, wait_exit,
};

/// An agent whose power commands only record that they were called, in `calls`. Its state
/// lives apart from the server's directory, so that it outlives the server.
struct RecordingAgent {
    dir: tempfile::TempDir,
    child: Child,
    log: PathBuf,
    calls: PathBuf,
    host_id: i64,
}

impl RecordingAgent {
    async fn enroll_and_start(server: &Server, token: &str) -> RecordingAgent {
        let dir = tempfile::tempdir().unwrap();
        let (state_dir, host_id) = crate::harness::enroll_agent(server, token, dir.path()).await;

        let calls = dir.path().join("calls");
        let record = |what: &str| format!(r#"["/bin/sh", "-c", "echo {what} >> '{}'"]"#, calls.display());
        let config = dir.path().join("agent.toml");
        let mut file = File::create(&config).unwrap();
        writeln!(file, "[jobs]").unwrap();
        writeln!(file, "reboot_command = {}", record("rebooted")).unwrap();
        writeln!(file, "shutdown_command = {}", record("shut down")).unwrap();
        writeln!(file, "power_cycle_command = {}", record("power cycled")).unwrap();

        let log = state_dir.join("agent.log");
        let mut command = tend(server.dir.path());
        command.args(["agent", "run", "--interval", "10", "--config"]).arg(&config).arg("--state-dir").arg(&state_dir);
        command.stdout(Stdio::null()).stderr(File::create(&log).unwrap());
        RecordingAgent { child: command.spawn().expect("agent starts"), dir, log, calls, host_id }
    }

    fn calls(&self) -> String {
        std::fs::read_to_string(&self.calls).unwrap_or_default()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn stop(&mut self) {
        signal(&self.child, "TERM");
        let status = wait_exit(&mut self.child, Duration::from_secs(15)).await;
        assert!(status.success(), "agent exit {status:?}: {}", self.log());
    }
}

/// An open intervention ticket whose form authorizes `power_action` on `host_id` between
/// `start` and `end`.
async fn intervention(
    server: &Server,
    client_id: i64,
    host_id: i64,
    power_action: &str,
    start: Timestamp,
    end: Timestamp,
) -> i64 {
    let form = serde_json::json!({
        "kind": "intervention",
        "server": { "host_id": host_id },
        "problem": "apply the kernel update",
        "power_action": power_action,
        "power_windows": [{ "start": start.to_string(), "end": end.to_string() }],
        "backup_statement": "current_backup_exists",
    });
    // The customer files it, through the API, as in the portal.
    let username = format!("it-{client_id}-{}", start.as_millisecond());
    let user = serde_json::json!({ "username": username, "password": CUSTOMER_PASSWORD, "role": "client_user",
                                   "client_id": client_id });
    let _: serde_json::Value = server.admin.post_ok("/api/v1/users", &user).await;
    let customer = crate::harness::Api::login(&server.url, &username, CUSTOMER_PASSWORD).await;
    let request = serde_json::json!({ "kind": "intervention", "subject": "kernel update on web1",
        "description": "please reboot tonight", "host_ids": [host_id], "form": form });
    let filed: serde_json::Value = customer.post_ok("/api/v1/tickets", &request).await;
    filed["id"].as_i64().unwrap()
}

const CUSTOMER_PASSWORD: &str = "a long enough customer password";

async fn job_ended(server: &Server, id: i64) -> Job {
    eventually(Duration::from_secs(30), &format!("job {id} to end"), || async move {
        let job: Job = server.admin.get_ok(&format!("/api/v1/jobs/{id}")).await;
        job.status.is_finished().then_some(job)
    })
    .await
}

/// The contract's standing authorizations replaced by `standing`, through the contract API.
async fn set_standing(server: &Server, client_id: i64, standing: serde_json::Value) {
    let path = format!("/api/v1/clients/{client_id}/contract");
    let mut contract: serde_json::Value = server.admin.get_ok(&path).await;
    contract["standing_authorizations"] = standing;
    let answer = server.admin.request(reqwest::Method::PUT, &path, Some(contract.to_string().into_bytes())).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

/// A window of the contract in UTC local time, `YYYY-MM-DDTHH:MM`, from `start` for an hour.
fn window_from(start: Timestamp) -> serde_json::Value {
    let local = start.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    serde_json::json!({ "start": local.strftime("%Y-%m-%dT%H:%M").to_string(), "time_zone": "UTC",
        "duration_minutes": 60 })
}

fn audit_of(entries: &[AuditEntry], outcome: &str) -> Vec<AuditEntry> {
    entries.iter().filter(|e| e.outcome == outcome).cloned().collect()
}

#[tokio::test]
async fn a_reboot_is_refused_before_the_customers_window_and_runs_inside_it() {
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let (client_id, token) = server.client_with_token("acme", 1).await;
        let mut agent = RecordingAgent::enroll_and_start(&server, &token).await;
        let host = agent.host_id;
        let jobs = format!("/api/v1/hosts/{host}/jobs");

        // Tonight's window, brought forward to a few seconds from now.
        let opens = now() + SignedDuration::from_secs(5);
        let ticket =
            intervention(&server, client_id, host, "reboot", opens, opens + SignedDuration::from_hours(1)).await;
        let reboot = serde_json::json!({ "kind": "reboot", "ticket_id": ticket });
        let early = server.admin.post(&jobs, &reboot).await;
        assert!(now() < opens, "the machine was too slow to ask before the window");
        assert_eq!(early.status, 403, "{}", early.body);
        let detail = early.problem().detail;
        assert!(
            detail.starts_with(&format!("ticket {ticket} authorizes a reboot only inside its windows")),
            "{detail}"
        );
        assert!(detail.contains("the next one starts at"), "{detail}");
        let listed: Vec<Job> = server.admin.get_ok(&jobs).await;
        assert!(listed.is_empty(), "a refused job is not queued");

        tokio::time::sleep(opens.duration_since(now()).unsigned_abs() + Duration::from_millis(200)).await;
        let job: Job = server.admin.post_ok(&jobs, &reboot).await;
        assert_eq!((job.status, job.ticket_id), (JobStatus::Queued, Some(ticket)));
        let job = job_ended(&server, job.id).await;
        assert_eq!(job.status, JobStatus::Succeeded, "{job:?}\n{}", agent.log());
        let result = job.result.unwrap();
        assert!(result.ok && result.output.starts_with("reboot command issued"), "{result:?}");
        assert_eq!(agent.calls(), "rebooted\n", "the agent ran its configured reboot command once");

        // The audit trail has the refusal, the authorization and the outcome, each with the ticket.
        let trail = server.store.audit_entries(Scope::AllClients, Some(host), 100).await.unwrap();
        let trail: Vec<AuditEntry> = trail.into_iter().filter(|e| e.action == "job.reboot").collect();
        for (outcome, says) in [
            ("refused", "only inside its windows"),
            ("allowed", &*format!("authorized by ticket {ticket}")),
            ("succeeded", "reboot command issued"),
        ] {
            let entries = audit_of(&trail, outcome);
            assert_eq!(entries.len(), 1, "{outcome}: {trail:?}");
            assert_eq!(entries[0].ticket_id, Some(ticket), "{outcome}");
            assert_eq!(entries[0].client_id, Some(client_id));
            assert!(entries[0].detail.contains(says), "{outcome}: {}", entries[0].detail);
        }
        assert!(audit_of(&trail, "refused")[0].actor_id.is_some(), "who asked is recorded");
        let history = server.store.ticket_events(Scope::AllClients, ticket, false).await.unwrap();
        let statuses: Vec<String> = history
            .iter()
            .filter(|e| e.kind == "job")
            .map(|e| serde_json::from_str::<serde_json::Value>(&e.body).unwrap()["status"].as_str().unwrap().into())
            .collect();
        assert_eq!(statuses, ["queued", "succeeded"], "the ticket tells of the job");

        // The ticket authorizes a reboot, nothing else: a script is refused by the server.
        let script = serde_json::json!({ "kind": "script", "params": { "script": "rm -rf /srv/data" } });
        let refused = server.admin.post(&jobs, &script).await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        let detail = refused.problem().detail;
        assert!(detail.contains("authorized only reboot on this host, not a destructive job"), "{detail}");

        // Another client's host, which nobody authorized anything on.
        let (other_client, other_token) = server.client_with_token("globex", 1).await;
        let credential = tend_server::auth::hash_secret("tnd_a_globex-agent");
        let other = server
            .store
            .enroll_agent(&tend_server::auth::hash_secret(&other_token), "db1", None, &credential, now())
            .await
            .unwrap();
        let nothing = server.admin.post(&format!("/api/v1/hosts/{}/jobs", other.host_id), &reboot_of(None)).await;
        assert_eq!(nothing.status, 403, "{}", nothing.body);
        assert!(nothing.problem().detail.starts_with("nothing authorizes a reboot of this host"), "{}", nothing.body);
        let trail = server.store.audit_entries(Scope::Client(other_client), None, 10).await.unwrap();
        assert_eq!((trail[0].action.as_str(), trail[0].outcome.as_str()), ("job.reboot", "refused"));

        // The same refusal from the command line: exit 3 with the reason.
        cli_login(server.dir.path(), &server.url, "admin", ADMIN_PASSWORD).await;
        let mut cli = tend(server.dir.path());
        cli.args(["job", "run", &other.host_id.to_string(), "reboot"]);
        let refused = run(cli).await;
        assert_eq!(refused.status.code(), Some(3), "{}", text(&refused.stderr));
        assert!(text(&refused.stderr).contains("nothing authorizes a reboot"), "{}", text(&refused.stderr));
        let mut cli = tend(server.dir.path());
        cli.args(["job", "list", &host.to_string(), "--json"]);
        let listed = run(cli).await;
        assert!(listed.status.success(), "{}", text(&listed.stderr));
        let listed: Vec<Job> = serde_json::from_slice(&listed.stdout).unwrap();
        assert_eq!(listed.iter().map(|j| j.id).collect::<Vec<_>>(), vec![job.id]);

        // A server stopping answers the agent's pending long-poll rather than wait it out.
        let stopping = std::time::Instant::now();
        server.stop().await;
        assert!(stopping.elapsed() < Duration::from_secs(10), "stopping took {:?}", stopping.elapsed());
        agent.stop().await;
        db
    })
    .await;
}

fn reboot_of(ticket: Option<i64>) -> serde_json::Value {
    serde_json::json!({ "kind": "reboot", "ticket_id": ticket })
}

#[tokio::test]
async fn the_contracts_standing_authorization_allows_a_shutdown_in_its_window_and_the_agent_refuses_scripts() {
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let (client_id, token) = server.client_with_token("acme", 1).await;
        let mut agent = RecordingAgent::enroll_and_start(&server, &token).await;
        let host = agent.host_id;
        let jobs = format!("/api/v1/hosts/{host}/jobs");
        let shutdown = serde_json::json!({ "kind": "shutdown" });

        // Agreed for every host of the client, tomorrow at this time.
        let tomorrow = window_from(now() + SignedDuration::from_hours(24));
        let tomorrow = serde_json::json!([{ "actions": ["shutdown"], "window": tomorrow }]);
        set_standing(&server, client_id, tomorrow).await;
        let early = server.admin.post(&jobs, &shutdown).await;
        assert_eq!(early.status, 403, "{}", early.body);
        let detail = early.problem().detail;
        assert!(
            detail.starts_with("the standing authorization authorizes a shutdown only inside its windows"),
            "{detail}"
        );

        // For this host, in a window open now; destructive jobs too.
        let open_now = window_from(now() - SignedDuration::from_mins(1));
        let standing =
            serde_json::json!([{ "host_id": host, "actions": ["shutdown", "destructive_job"], "window": open_now }]);
        set_standing(&server, client_id, standing).await;
        let job: Job = server.admin.post_ok(&jobs, &shutdown).await;
        assert_eq!(job.ticket_id, None, "a standing authorization needs no ticket");
        let job = job_ended(&server, job.id).await;
        assert_eq!(job.status, JobStatus::Succeeded, "{job:?}\n{}", agent.log());
        assert_eq!(agent.calls(), "shut down\n");

        // The server allows the script; the agent, whose configuration does not enable scripts,
        // refuses it and says how to enable them.
        let script = serde_json::json!({ "kind": "script", "params": { "script": "echo should not run" } });
        let job: Job = server.admin.post_ok(&jobs, &script).await;
        let job = job_ended(&server, job.id).await;
        assert_eq!(job.status, JobStatus::Refused, "{job:?}");
        let result = job.result.unwrap();
        assert!(result.refused && result.output.contains("allow_scripts = true"), "{result:?}");

        let trail = server.store.audit_entries(Scope::AllClients, Some(host), 100).await.unwrap();
        let find = |action: &str, outcome: &str| {
            trail
                .iter()
                .find(|e| e.action == action && e.outcome == outcome)
                .unwrap_or_else(|| panic!("{trail:?}"))
                .clone()
        };
        assert!(find("job.shutdown", "refused").detail.contains("the standing authorization"));
        assert!(find("job.shutdown", "allowed").detail.contains("authorized by the standing authorization"));
        assert!(find("job.script", "allowed").ticket_id.is_none());
        assert!(find("job.script", "refused").detail.contains("scripts are disabled on this host"));

        // A job that waits for an agent outlives its window: checked again when it is collected.
        agent.stop().await;
        set_standing(&server, client_id, serde_json::json!([{ "host_id": host, "actions": ["shutdown"] }])).await;
        let waiting: Job = server.admin.post_ok(&jobs, &shutdown).await;
        set_standing(&server, client_id, serde_json::json!([])).await;
        let answer = as_agent(&server, &agent).get("/api/agent/v1/jobs/next").await;
        assert_eq!(answer.status, 204, "{}", answer.body);
        let lapsed: Job = server.admin.get_ok(&format!("/api/v1/jobs/{}", waiting.id)).await;
        assert_eq!(lapsed.status, JobStatus::Refused);
        let output = lapsed.result.unwrap().output;
        assert!(output.contains("when the agent came for it, nothing authorizes a shutdown"), "{output}");

        server.stop().await;
        db
    })
    .await;
}

/// The API as `agent`, with its credential.
fn as_agent(server: &Server, agent: &RecordingAgent) -> crate::harness::Api {
    let identity = std::fs::read_to_string(agent.dir.path().join("state/agent.json")).unwrap();
    let identity: serde_json::Value = serde_json::from_str(&identity).unwrap();
    crate::harness::Api::anonymous(&server.url).with_token(identity["credential"].as_str().unwrap())
}
