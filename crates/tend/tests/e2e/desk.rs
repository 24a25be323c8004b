//! The service desk end to end: customers file requests through the API, technicians work
//! them, SLA clocks escalate and notify through a real SMTP server, customers confirm, and
//! alerts open incidents.

use std::time::Duration;

use serde_json::{Value, json};
use tend_proto::api::User;
use tend_proto::tickets::{Ticket, TicketDetail};

use crate::harness::{Api, Server, each_backend, eventually, now};
use crate::monitoring::SmtpSink;

const PASSWORD: &str = "a long enough customer password";

/// A client with one host and a customer user logged in: (client id, host id, customer).
async fn client_with_customer(server: &Server, name: &str) -> (i64, i64, Api) {
    let (client_id, token) = server.client_with_token(name, 1).await;
    let hash = tend_server::auth::hash_secret(&token);
    let credential = tend_server::auth::hash_secret(&format!("cred-{name}"));
    let enrolled = server.store.enroll_agent(&hash, &format!("{name}-db1"), None, &credential, now()).await.unwrap();
    let body = json!({ "username": format!("{name}-it"), "password": PASSWORD, "role": "client_user", "client_id": client_id });
    let _: User = server.admin.post_ok("/api/v1/users", &body).await;
    (client_id, enrolled.host_id, Api::login(&server.url, &format!("{name}-it"), PASSWORD).await)
}

async fn technician(server: &Server, name: &str, level: &str) -> (i64, Api) {
    let body = json!({ "username": name, "password": PASSWORD, "role": "technician", "support_level": level });
    let user: User = server.admin.post_ok("/api/v1/users", &body).await;
    (user.id, Api::login(&server.url, name, PASSWORD).await)
}

#[tokio::test]
async fn structured_requests_are_validated_and_their_acknowledgements_kept() {
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let (client_id, host_id, customer) = client_with_customer(&server, "acme").await;
        let (_, _, other) = client_with_customer(&server, "globex").await;

        let reinstall = json!({ "kind": "os_reinstall", "subject": "reinstall db1", "host_ids": [host_id],
            "form": { "kind": "os_reinstall", "host_id": host_id, "os": "Debian", "version": "12", "edition": "server",
                      "partitioning": "LVM", "raid_layout": "RAID1" } });
        let refused = customer.post("/api/v1/tickets", &reinstall).await;
        let problem = refused.problem();
        assert_eq!((problem.status, problem.field.as_deref()), (422, Some("erase_acknowledged")), "{problem:?}");
        assert!(server.store.tickets(tend_store::Scope::System, &Default::default(), 10).await.unwrap().is_empty());

        let intervention = json!({ "kind": "intervention", "subject": "db1 hangs", "host_ids": [host_id],
            "impact": "high", "urgency": "high",
            "form": { "kind": "intervention", "server": { "host_id": host_id }, "problem": "db1 stopped answering",
                      "power_action": "reboot", "backup_statement": "current_backup_exists" } });
        let filed: Ticket = customer.post_ok("/api/v1/tickets", &intervention).await;
        assert_eq!((filed.client_id, filed.priority.as_str(), filed.support_level.as_str()), (client_id, "p1", "L1"));
        assert_eq!(filed.status, "new");
        let sla = filed.sla.expect("the standard SLA runs");
        assert_eq!((sla.response.state.as_str(), sla.response.target_minutes), ("running", 30));
        let detail: TicketDetail = customer.get_ok(&format!("/api/v1/tickets/{}", filed.id)).await;
        assert!(detail.acknowledgements.iter().any(|a| a.contains("backup")), "{:?}", detail.acknowledgements);

        // A customer cannot override the priority, nor see or file for another client.
        let mut override_priority = intervention.clone();
        override_priority["priority"] = json!("p4");
        override_priority["priority_reason"] = json!("not that urgent");
        assert_eq!(customer.post("/api/v1/tickets", &override_priority).await.status, 403);
        assert_eq!(other.get(&format!("/api/v1/tickets/{}", filed.id)).await.status, 404);
        let mut elsewhere = intervention.clone();
        elsewhere["client_id"] = json!(client_id);
        assert_eq!(other.post("/api/v1/tickets", &elsewhere).await.status, 404);
        server.stop().await;
        db
    })
    .await;
}

/// A contract whose SLA runs out in seconds, so a test sees a breach.
fn hasty_contract() -> Value {
    let target = json!({ "first_response": "PT2S", "resolution": "PT1H" });
    json!({
        "model": "total", "delivery": "remote",
        "services": ["monitoring", "service_desk"], "support_levels": ["L1", "L2", "L3"],
        "sla_policy": { "name": "hasty", "calendar": { "kind": "always_open" }, "warn_at": 0.5,
                        "targets": { "p1": target, "p2": target, "p3": target, "p4": target } },
        "auto_close_days": 7,
    })
}

#[tokio::test]
async fn an_sla_breach_escalates_to_the_next_level_and_notifies_it() {
    let Some(smtp) = SmtpSink::start() else { return };
    let smtp = &smtp;
    each_backend(|db| async move {
        let server = Server::start_with(&db, |config| {
            config.notifications.smtp_host = "127.0.0.1".into();
            config.notifications.smtp_port = smtp.port;
            config.notifications.smtp_starttls = false;
            config.desk.manager_email = format!("manager-{:?}@provider.test", db.backend);
        })
        .await;
        let (client_id, host_id, customer) = client_with_customer(&server, "acme").await;
        let stored: Value = server
            .admin
            .request(
                reqwest::Method::PUT,
                &format!("/api/v1/clients/{client_id}/contract"),
                Some(hasty_contract().to_string().into_bytes()),
            )
            .await
            .body;
        assert_eq!(stored["sla_policy"]["name"], "hasty", "{stored}");
        let level2 = format!("l2-{:?}@provider.test", db.backend);
        let channel = json!({ "client_id": client_id, "kind": "email", "target": level2, "support_level": "L2" });
        let _: Value = server.admin.post_ok("/api/v1/notification-channels", &channel).await;

        let filed: Ticket = customer
            .post_ok(
                "/api/v1/tickets",
                &json!({ "kind": "incident", "subject": "mail is down", "host_ids": [host_id] }),
            )
            .await;
        let escalated = eventually(Duration::from_secs(30), "the breach escalating the ticket", || async {
            let detail: TicketDetail = server.admin.get_ok(&format!("/api/v1/tickets/{}", filed.id)).await;
            (detail.ticket.support_level == "L2").then_some(detail.ticket)
        })
        .await;
        assert_eq!(escalated.sla.unwrap().response.state, "breached");
        let detail: TicketDetail = server.admin.get_ok(&format!("/api/v1/tickets/{}", filed.id)).await;
        let escalation = detail.history.iter().find(|e| e.kind == "escalated").expect("an escalation entry");
        assert_eq!((escalation.body["from"].as_str(), escalation.body["to"].as_str()), (Some("L1"), Some("L2")));
        let mails = eventually(Duration::from_secs(15), "the breach mailed to L2 and the manager", || async {
            // Long subjects are folded onto continuation lines.
            let unfolded = smtp.messages().into_iter().map(|m| m.replace("\r\n ", " ").replace("\n ", " "));
            let mails: Vec<String> = unfolded.filter(|m| m.contains("SLA BREACHED")).collect();
            let told = |who: &str| mails.iter().any(|m| m.contains(who));
            (told(&level2) && told(&format!("manager-{:?}", db.backend))).then_some(mails)
        })
        .await;
        assert!(mails.iter().any(|m| m.contains(&format!("#{}", filed.id))), "{mails:?}");
        // The customer does not see internal escalations.
        let theirs: TicketDetail = customer.get_ok(&format!("/api/v1/tickets/{}", filed.id)).await;
        assert!(theirs.history.iter().all(|e| e.public), "{:?}", theirs.history);
        server.stop().await;
        db
    })
    .await;
}

#[tokio::test]
async fn a_resolved_ticket_closes_when_the_customer_confirms() {
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let (_, host_id, customer) = client_with_customer(&server, "acme").await;
        let (tech_id, tech) = technician(&server, "ada", "L1").await;
        let filed: Ticket =
            customer.post_ok("/api/v1/tickets", &json!({ "kind": "service_request", "subject": "new mailbox" })).await;
        let path = |action: &str| format!("/api/v1/tickets/{}/{action}", filed.id);
        let assigned: Ticket = tech.post_ok(&path("assign"), &json!({ "user_id": tech_id })).await;
        assert_eq!((assigned.status.as_str(), assigned.assignee_id), ("open", Some(tech_id)));
        let answered: Ticket = tech.post_ok(&path("replies"), &json!({ "text": "Which address?" })).await;
        assert_eq!(answered.sla.unwrap().response.state, "met", "the first public reply stops the response clock");
        let waiting: Ticket = tech.post_ok(&path("status"), &json!({ "status": "waiting_on_customer" })).await;
        assert_eq!(waiting.sla.unwrap().resolution.state, "paused");
        let back: Ticket = customer.post_ok(&path("replies"), &json!({ "text": "anna@acme.test" })).await;
        assert_eq!(back.status, "in_progress", "the customer's answer puts the ticket back in progress");
        assert_eq!(customer.post(&path("notes"), &json!({ "text": "sneaky" })).await.status, 403);
        assert_eq!(customer.post(&path("status"), &json!({ "status": "closed" })).await.status, 403);
        let empty = tech.post(&path("escalate"), &json!({ "text": "  " })).await;
        assert_eq!(empty.problem().field.as_deref(), Some("note"), "escalation needs its note");

        let vendor = json!({ "vendor": "Dell", "case_number": "SR-1234", "follow_up": "2020-01-01T00:00:00Z" });
        let body = Some(vendor.to_string().into_bytes());
        assert_eq!(tech.request(reqwest::Method::PUT, &path("vendor"), body).await.status, 200);
        eventually(Duration::from_secs(20), "the vendor follow-up reminder", || async {
            let detail: TicketDetail = tech.get_ok(&format!("/api/v1/tickets/{}", filed.id)).await;
            detail.history.iter().any(|e| e.body["text"].as_str().is_some_and(|t| t.contains("SR-1234"))).then_some(())
        })
        .await;
        assert!(assigned.host_ids.is_empty());
        let linked: Ticket = tech.post_ok(&path("links"), &json!({ "kind": "host", "id": host_id })).await;
        assert_eq!(linked.host_ids, vec![host_id], "a linked host becomes one of the ticket's hosts");
        let again: Ticket = tech.post_ok(&path("links"), &json!({ "kind": "host", "id": host_id })).await;
        assert_eq!(again.host_ids, vec![host_id], "linked once");
        let elsewhere = tech.post(&path("links"), &json!({ "kind": "ticket", "id": filed.id + 1000 })).await;
        assert_eq!(elsewhere.status, 404);
        let resolved: Ticket = tech.post_ok(&path("status"), &json!({ "status": "resolved", "note": "created" })).await;
        assert_eq!(resolved.status, "resolved");
        assert_eq!(tech.post(&path("confirm"), &json!({})).await.status, 403, "only the customer confirms");
        let bad = customer.post(&path("confirm"), &json!({ "rating": 9 })).await;
        assert_eq!(bad.problem().field.as_deref(), Some("rating"));
        let closed: Ticket =
            customer.post_ok(&path("confirm"), &json!({ "rating": 5, "comment": "quick and kind" })).await;
        assert_eq!((closed.status.as_str(), closed.rating), ("closed", Some(5)));
        assert!(closed.sla.is_some_and(|s| s.resolution.state == "met"));
        let reopen = customer.post(&path("reopen"), &json!({ "text": "again" })).await;
        assert_eq!(reopen.status, 403, "a closed ticket is reopened by the provider, not the customer");

        // The signed link in the resolution e-mail confirms without logging in.
        let second: Ticket =
            customer.post_ok("/api/v1/tickets", &json!({ "kind": "incident", "subject": "printer" })).await;
        let _: Ticket =
            tech.post_ok(&format!("/api/v1/tickets/{}/status", second.id), &json!({ "status": "resolved" })).await;
        let token = server.store.ticket(tend_store::Scope::System, second.id).await.unwrap().reply_token;
        let anonymous = Api::anonymous(&server.url);
        assert_eq!(anonymous.post("/api/v1/tickets/confirm/not-a-token", &json!({})).await.status, 404);
        let by_link: Ticket =
            anonymous.post_ok(&format!("/api/v1/tickets/confirm/{token}"), &json!({ "rating": 4 })).await;
        assert_eq!(by_link.status, "closed");
        server.stop().await;
        db
    })
    .await;
}

/// A report whose root filesystem is `percent` full.
fn disk_report(seq: u64, percent: f64) -> Value {
    let labels = json!({ "mountpoint": "/", "device": "/dev/sda1", "fstype": "ext4" });
    json!({ "reports": [{
        "seq": seq, "collected_at_ms": now().as_millisecond(), "schema_version": tend_proto::REPORT_SCHEMA_VERSION,
        "sections": { "metrics": [
            { "name": "fs_used_bytes", "labels": labels, "value": percent },
            { "name": "fs_avail_bytes", "labels": labels, "value": 100.0 - percent },
            { "name": "fs_total_bytes", "labels": labels, "value": 100.0 },
        ]}
    }]})
}

#[tokio::test]
async fn a_firing_alert_opens_one_incident_and_its_recovery_resolves_it() {
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let (_, host_id, customer) = client_with_customer(&server, "acme").await;
        let agent = Api::anonymous(&server.url).with_token("cred-acme");
        let fast = json!({ "layer": "host", "settings": { "pending_for_secs": 0 } });
        let path = format!("/api/v1/hosts/{host_id}/checks/disk_usage");
        assert_eq!(
            server.admin.request(reqwest::Method::PUT, &path, Some(fast.to_string().into_bytes())).await.status,
            200
        );

        assert_eq!(agent.post("/api/agent/v1/report", &disk_report(1, 97.0)).await.status, 200);
        let incident = eventually(Duration::from_secs(10), "an incident ticket", || async {
            let tickets: Vec<Ticket> = server.admin.get_ok("/api/v1/tickets").await;
            tickets.into_iter().next()
        })
        .await;
        assert_eq!((incident.kind.as_str(), incident.host_ids.as_slice()), ("incident", &[host_id][..]));
        assert!(incident.alert_key.as_deref().is_some_and(|k| k.contains("disk_usage")), "{incident:?}");
        assert_eq!(incident.priority, "p1");
        // The customer sees the incident about their host.
        let theirs: Vec<Ticket> = customer.get_ok("/api/v1/tickets").await;
        assert_eq!(theirs.len(), 1);

        // It recovers, and fires again: still the one ticket, which recovery then resolves.
        assert_eq!(agent.post("/api/agent/v1/report", &disk_report(2, 40.0)).await.status, 200);
        let resolved = eventually(Duration::from_secs(10), "the incident resolved", || async {
            let detail: TicketDetail = server.admin.get_ok(&format!("/api/v1/tickets/{}", incident.id)).await;
            (detail.ticket.status == "resolved").then_some(detail)
        })
        .await;
        assert!(
            resolved.history.iter().any(|e| e.kind == "note" && e.body["text"].as_str().unwrap().contains("recovered"))
        );
        let all: Vec<Ticket> = server.admin.get_ok("/api/v1/tickets?open=false").await;
        assert_eq!(all.len(), 1, "never a ticket per notification");
        server.stop().await;
        db
    })
    .await;
}
