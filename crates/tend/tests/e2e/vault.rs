//! The credential vault end to end: a customer hands over a credential, only the technician
//! assigned to an open ticket on the host reveals it, every attempt is audited, the secret is
//! sealed in the database and absent from the logs, and it is purged when the ticket closes.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tend_proto::api::{AuditEntry, Credential, RevealedCredential, User};
use tend_server::{AppState, Config};
use tend_store::{NewTicketEvent, Scope, Store, TicketChange, TicketRow};

use crate::harness::{Api, Server, each_backend, now, run, run_with_input, tend, text};

const PASSWORD: &str = "a long enough vault test password";
/// Unmistakable, so that finding it anywhere it must not be is a finding.
const SECRET: &str = "Tr0ub4dor&3-vault-e2e-secret";

/// A client with one host and a logged-in customer user: (client id, host id, user).
async fn client_with_user(server: &Server, name: &str) -> (i64, i64, Api) {
    let (client_id, token) = server.client_with_token(name, 1).await;
    let hash = tend_server::auth::hash_secret(&token);
    let credential = tend_server::auth::hash_secret(&format!("cred-{name}"));
    let enrolled = server.store.enroll_agent(&hash, &format!("{name}-db1"), None, &credential, now()).await.unwrap();
    let user = format!("{name}-it");
    let body = json!({ "username": user, "password": PASSWORD, "role": "client_user", "client_id": client_id });
    let _: User = server.admin.post_ok("/api/v1/users", &body).await;
    (client_id, enrolled.host_id, Api::login(&server.url, &user, PASSWORD).await)
}

async fn technician(server: &Server, name: &str, level: &str) -> (i64, Api) {
    let body = json!({ "username": name, "password": PASSWORD, "role": "technician", "support_level": level });
    let user: User = server.admin.post_ok("/api/v1/users", &body).await;
    (user.id, Api::login(&server.url, name, PASSWORD).await)
}

static TICKETS: AtomicU32 = AtomicU32::new(0);

/// An open intervention ticket on the host, assigned to `assignee`, filed through the store.
async fn open_ticket(store: &Store, client_id: i64, host_id: i64, assignee: i64) -> TicketRow {
    let at = now();
    let ticket = TicketRow {
        id: 0,
        client_id,
        kind: "intervention".into(),
        subject: "replace the failed disk".into(),
        description: String::new(),
        requester_id: None,
        requester_email: None,
        impact: "medium".into(),
        urgency: "medium".into(),
        priority: "p3".into(),
        priority_reason: None,
        support_level: "L2".into(),
        assignee_id: Some(assignee),
        status: "in_progress".into(),
        form: None,
        alert_key: None,
        vendor: None,
        vendor_case: None,
        rma: None,
        vendor_follow_up: None,
        reply_token: format!("vault-e2e-{}", TICKETS.fetch_add(1, Ordering::Relaxed)),
        created_at: at,
        updated_at: at,
        resolved_at: None,
        closed_at: None,
        rating: None,
        rating_comment: None,
        sla_due_at: None,
        host_ids: vec![host_id],
    };
    let events = vec![NewTicketEvent { at, actor_id: None, kind: "created".into(), body: "{}".into(), public: true }];
    store.create_ticket(Scope::System, &TicketChange { ticket, events }).await.unwrap()
}

/// Closes a ticket through the store and runs the hook the ticket code runs after a close.
async fn close(server: &Server, ticket: &TicketRow) {
    let at = now();
    let closed = TicketRow { status: "closed".into(), closed_at: Some(at), updated_at: at, ..ticket.clone() };
    let events = vec![NewTicketEvent {
        at,
        actor_id: None,
        kind: "status".into(),
        body: r#"{"status":"closed"}"#.into(),
        public: true,
    }];
    let change = TicketChange { ticket: closed, events };
    let closed = server.store.update_ticket(Scope::System, ticket.updated_at, &change).await.unwrap();
    // The same data directory, so the same vault key as the running server.
    let config = Config { data_dir: server.dir.path().to_owned(), ..Config::default() };
    let state = AppState::new(server.store.clone(), config);
    tend_server::vault::purge_after_close(&state, &closed).await.unwrap();
}

/// Everything the server logs at debug level and above while the guard lives. Tests run on one
/// thread, so the server's tasks log into it too.
#[derive(Clone, Default)]
struct CapturedLog(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLog {
    fn start(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn vault_reveals_only_to_the_assigned_technician_audits_every_attempt_and_purges_on_close() {
    each_backend(|db| async move {
        let log = CapturedLog::default();
        let _guard = log.start();
        let server = Server::start(&db).await;
        let (acme, host, customer) = client_with_user(&server, "acme").await;
        let (_, _, outsider) = client_with_user(&server, "globex").await;
        let (ada_id, ada) = technician(&server, "ada", "L1").await;
        let (bob_id, bob) = technician(&server, "bob", "L2").await;
        let ticket = open_ticket(&server.store, acme, host, bob_id).await;

        // The customer hands over root's password for the ticket.
        let path = format!("/api/v1/hosts/{host}/credentials");
        let new = json!({ "name": "root", "kind": "password", "username": "root", "secret": SECRET,
            "ticket_id": ticket.id });
        let stored: Credential = customer.post_ok(&path, &new).await;
        assert_eq!((stored.host_id, stored.client_id, stored.ticket_id), (host, acme, Some(ticket.id)));
        for (body, field) in [
            (json!({ "name": "x", "kind": "password", "secret": "" }), "secret"),
            (json!({ "name": "x", "kind": "password", "secret": "s".repeat(16 * 1024 + 1) }), "secret"),
            (json!({ "name": "x", "kind": "telnet", "secret": "s" }), "kind"),
        ] {
            let problem = customer.post(&path, &body).await.problem();
            assert_eq!((problem.status, problem.field.as_deref()), (422, Some(field)), "{problem:?}");
        }
        assert_eq!(customer.post(&path, &new).await.problem().status, 409, "one live credential per name");

        // Lists show what is there, never the secret; the row holds only sealed text.
        let listed = customer.get(&path).await;
        assert_eq!(listed.status, 200);
        assert!(!listed.body.to_string().contains(SECRET));
        assert_eq!(listed.body[0]["name"], "root");
        let sealed = server.store.credential(Scope::System, stored.id).await.unwrap().sealed;
        assert!(sealed.starts_with("v1:") && !sealed.contains(SECRET) && !sealed.contains("Tr0ub4dor"), "{sealed}");

        // An unassigned technician is refused, and says why.
        let reveal = format!("/api/v1/credentials/{}/reveal", stored.id);
        let refused = ada.post(&reveal, &json!({ "reason": "curious" })).await.problem();
        assert_eq!(refused.status, 403);
        assert_eq!(refused.detail, "you are not assigned to an open ticket on this host");
        // Neither the customer, nor the assignee without a reason.
        assert_eq!(customer.post(&reveal, &json!({ "reason": "mine" })).await.problem().status, 403);
        let no_reason = bob.post(&reveal, &json!({})).await.problem();
        assert_eq!((no_reason.status, no_reason.field.as_deref()), (422, Some("reason")));

        // The assignee gets the secret, under the ticket.
        let revealed: RevealedCredential = bob.post_ok(&reveal, &json!({ "reason": "swap disk, T-1" })).await;
        assert_eq!((revealed.secret.as_str(), revealed.ticket_id), (SECRET, ticket.id));
        assert_eq!(revealed.credential.username, "root");

        // Another client's user: it does not exist for them.
        assert_eq!(outsider.post(&reveal, &json!({ "reason": "probing" })).await.problem().status, 404);
        assert_eq!(outsider.get(&path).await.status, 404);
        let foreign = json!({ "name": "x", "kind": "password", "secret": "s" });
        assert_eq!(outsider.post(&path, &foreign).await.status, 404);

        // Every attempt is in the audit log, with actor, host, ticket and reason.
        let entries: Vec<AuditEntry> = server.admin.get_ok(&format!("/api/v1/audit?host={host}")).await;
        let reveals: Vec<&AuditEntry> = entries.iter().filter(|e| e.action == "vault.reveal").collect();
        let ada_refused = reveals.iter().find(|e| e.actor_id == Some(ada_id)).expect("ada's refusal is audited");
        assert_eq!((ada_refused.outcome.as_str(), ada_refused.host_id), ("refused", Some(host)));
        assert!(ada_refused.detail.contains("not assigned") && ada_refused.detail.contains("curious"));
        let allowed = reveals.iter().find(|e| e.outcome == "allowed").expect("the reveal is audited");
        assert_eq!(
            (allowed.actor_id, allowed.ticket_id, allowed.client_id),
            (Some(bob_id), Some(ticket.id), Some(acme))
        );
        assert!(allowed.detail.contains("swap disk, T-1"));
        assert_eq!(reveals.len(), 4, "ada, the customer, bob without a reason, bob: {reveals:#?}");
        assert!(entries.iter().any(|e| e.action == "vault.store" && e.outcome == "allowed"));
        let everything: Vec<AuditEntry> = server.admin.get_ok("/api/v1/audit").await;
        assert!(everything.iter().any(|e| e.detail.contains("probing") && e.client_id.is_none()));
        assert!(everything.iter().all(|e| !e.detail.contains(SECRET)));
        // The customer sees their own client's trail; the outsider sees none of it.
        let own: Vec<AuditEntry> = customer.get_ok("/api/v1/audit").await;
        assert!(own.iter().any(|e| e.outcome == "allowed") && own.iter().all(|e| e.client_id == Some(acme)));
        let theirs: Vec<AuditEntry> = outsider.get_ok("/api/v1/audit").await;
        assert!(theirs.iter().all(|e| e.client_id != Some(acme)), "{theirs:?}");
        assert_eq!(outsider.get(&format!("/api/v1/audit?host={host}")).await.status, 404);

        // Closing the ticket purges it: nothing left to decrypt, and reveals say so.
        close(&server, &ticket).await;
        let purged = server.store.credential(Scope::System, stored.id).await.unwrap();
        assert!(purged.sealed.is_empty() && purged.purged_at.is_some());
        let gone = bob.post(&reveal, &json!({ "reason": "once more" })).await.problem();
        assert_eq!(gone.status, 410);
        assert!(gone.detail.contains("purged"), "{}", gone.detail);
        let entries: Vec<AuditEntry> = server.admin.get_ok(&format!("/api/v1/audit?host={host}")).await;
        assert!(entries.iter().any(|e| e.action == "vault.purge" && e.outcome == "purged"));

        server.stop().await;
        let logged = log.text();
        assert!(logged.contains("revealed a credential"), "the log was captured");
        assert!(!logged.contains(SECRET), "the secret is in the server's log");
        db
    })
    .await;
}

#[tokio::test]
async fn vault_credentials_survive_a_close_when_the_contract_keeps_them() {
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let (acme, host, customer) = client_with_user(&server, "acme").await;
        let (bob_id, bob) = technician(&server, "bob", "L2").await;
        let contract_path = format!("/api/v1/clients/{acme}/contract");
        let mut contract: Value = server.admin.get_ok(&contract_path).await;
        contract["keep_credentials"] = json!(true);
        let put = server.admin.request(reqwest::Method::PUT, &contract_path, Some(contract.to_string().into_bytes()));
        assert_eq!(put.await.status, 200);

        let first = open_ticket(&server.store, acme, host, bob_id).await;
        let new =
            json!({ "name": "ipmi", "kind": "ipmi", "username": "ADMIN", "secret": SECRET, "ticket_id": first.id });
        let stored: Credential = customer.post_ok(&format!("/api/v1/hosts/{host}/credentials"), &new).await;
        close(&server, &first).await;
        let kept = server.store.credential(Scope::System, stored.id).await.unwrap();
        assert!(kept.purged_at.is_none() && kept.sealed.starts_with("v1:"));
        let entries: Vec<AuditEntry> = server.admin.get_ok(&format!("/api/v1/audit?host={host}")).await;
        assert!(entries.iter().any(|e| e.action == "vault.purge" && e.outcome == "kept"), "{entries:#?}");

        // Kept, but revealed only while its technician has an open ticket on the host.
        let reveal = format!("/api/v1/credentials/{}/reveal", stored.id);
        assert_eq!(bob.post(&reveal, &json!({ "reason": "follow-up" })).await.status, 403);
        let second = open_ticket(&server.store, acme, host, bob_id).await;
        let revealed: RevealedCredential = bob.post_ok(&reveal, &json!({ "reason": "follow-up" })).await;
        assert_eq!((revealed.secret.as_str(), revealed.ticket_id), (SECRET, second.id));
        server.stop().await;
        db
    })
    .await;
}

/// A `tend` command run as `user`, whose login lives in their own config directory.
fn cli(server: &Server, user: &str, args: &[&str]) -> Command {
    let mut command = tend(&server.dir.path().join(user));
    command.args(args);
    command
}

async fn cli_login(server: &Server, user: &str) {
    crate::harness::cli_login(&server.dir.path().join(user), &server.url, user, PASSWORD).await;
}

#[tokio::test]
async fn vault_from_the_command_line_reads_the_secret_from_stdin_only() {
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let (acme, host, _) = client_with_user(&server, "acme").await;
        let (bob_id, _) = technician(&server, "bob", "L2").await;
        technician(&server, "ada", "L1").await;
        let ticket = open_ticket(&server.store, acme, host, bob_id).await;
        for user in ["acme-it", "bob", "ada"] {
            cli_login(&server, user).await;
        }
        let host_arg = host.to_string();

        let ticket_arg = ticket.id.to_string();
        let put = ["vault", "put", &host_arg, "--name", "root", "--kind", "password", "--username", "root"];
        let put = cli(&server, "acme-it", &[&put[..], &["--ticket", &ticket_arg, "--json"]].concat());
        let stored = run_with_input(put, &format!("{SECRET}\n")).await;
        assert!(stored.status.success(), "{}", text(&stored.stderr));
        let stored: Credential = serde_json::from_slice(&stored.stdout).unwrap();
        let empty = cli(&server, "acme-it", &["vault", "put", &host_arg, "--name", "x", "--kind", "password"]);
        let empty = run_with_input(empty, "").await;
        assert_eq!(empty.status.code(), Some(1), "{}", text(&empty.stderr));
        assert!(text(&empty.stderr).contains("no secret on standard input"));

        let listed = run_with_input(cli(&server, "bob", &["vault", "list", &host_arg]), "").await;
        assert!(listed.status.success(), "{}", text(&listed.stderr));
        let table = text(&listed.stdout);
        assert!(table.contains("root") && table.contains("password") && !table.contains(SECRET), "{table}");

        let id = stored.id.to_string();
        let refused = run_with_input(cli(&server, "ada", &["vault", "reveal", &id, "--reason", "curious"]), "").await;
        assert_eq!(refused.status.code(), Some(3), "{}", text(&refused.stderr));
        assert!(text(&refused.stderr).contains("not assigned to an open ticket"));

        let revealed =
            run_with_input(cli(&server, "bob", &["vault", "reveal", &id, "--reason", "swap disk"]), "").await;
        assert!(revealed.status.success(), "{}", text(&revealed.stderr));
        assert_eq!(text(&revealed.stdout), format!("{SECRET}\n"), "the trailing newline was the shell's");
        assert!(!text(&revealed.stderr).contains(SECRET));

        let audit = run_with_input(cli(&server, "bob", &["audit", "list", "--host", &host_arg, "--json"]), "").await;
        assert!(audit.status.success(), "{}", text(&audit.stderr));
        let entries: Vec<AuditEntry> = serde_json::from_slice(&audit.stdout).unwrap();
        let outcomes: Vec<&str> =
            entries.iter().filter(|e| e.action == "vault.reveal").map(|e| e.outcome.as_str()).collect();
        assert_eq!(outcomes, ["allowed", "refused"], "newest first");
        server.stop().await;
        db
    })
    .await;
}

#[tokio::test]
async fn vault_key_that_is_unsafe_or_malformed_stops_the_server_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("vault.key");
    std::fs::write(&key, [7u8; 32]).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let server = |key_var: Option<&str>| {
        let mut c = tend(dir.path());
        c.args(["server", "--listen", "127.0.0.1:0"]).arg("--data-dir").arg(dir.path());
        if let Some(value) = key_var {
            c.env("TEND_VAULT_KEY", value);
        }
        c
    };
    let open_to_others = run(server(None)).await;
    let stderr = text(&open_to_others.stderr);
    assert_eq!(open_to_others.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("vault key file") && stderr.contains("chmod 600"), "{stderr}");

    let malformed = run(server(Some("not-a-key-but-a-secret"))).await;
    let stderr = text(&malformed.stderr);
    assert_eq!(malformed.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("vault.key") && !stderr.contains("not-a-key-but-a-secret"), "{stderr}");
}
