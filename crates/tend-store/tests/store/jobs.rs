use jiff::Timestamp;
use tend_core::tenancy::Scope;
use tend_store::{JobRow, NewTicketEvent, Queued, TicketChange, TicketRow};

use crate::{at, client_with_host, each_backend};

fn job(client_id: i64, host_id: i64, ticket_id: Option<i64>, kind: &str, created: Timestamp) -> JobRow {
    JobRow {
        id: 0,
        client_id,
        host_id,
        ticket_id,
        kind: kind.into(),
        params: "{}".into(),
        status: String::new(),
        requested_by: None,
        created_at: created,
        claimed_at: None,
        finished_at: None,
        result: None,
    }
}

fn intervention(client_id: i64, host_id: i64, status: &str) -> TicketRow {
    TicketRow {
        id: 0,
        client_id,
        kind: "intervention".into(),
        subject: "reboot web1".into(),
        description: "kernel update".into(),
        requester_id: None,
        requester_email: None,
        impact: "low".into(),
        urgency: "low".into(),
        priority: "p4".into(),
        priority_reason: None,
        support_level: "L1".into(),
        assignee_id: None,
        status: status.into(),
        form: Some(r#"{"kind":"intervention","power_action":"reboot"}"#.into()),
        alert_key: None,
        vendor: None,
        vendor_case: None,
        rma: None,
        vendor_follow_up: None,
        reply_token: format!("reply-{status}-{host_id}"),
        created_at: at(0),
        updated_at: at(0),
        resolved_at: None,
        closed_at: (status == "closed").then(|| at(0)),
        rating: None,
        rating_comment: None,
        sla_due_at: None,
        host_ids: vec![host_id],
    }
}

fn created() -> Vec<NewTicketEvent> {
    vec![NewTicketEvent { at: at(0), actor_id: None, kind: "created".into(), body: "{}".into(), public: true }]
}

#[tokio::test]
async fn jobs_queue_per_host_are_claimed_once_and_finish_once() {
    each_backend(|store, db| async move {
        let (client_id, enrolled) = client_with_host(&store, "acme").await;
        let (other_client, other) = client_with_host(&store, "globex").await;
        let host = enrolled.host_id;

        let first = store
            .queue_job(Scope::AllClients, &job(client_id, host, None, "reboot", at(10)), &Queued::default())
            .await
            .unwrap();
        let second = store
            .queue_job(Scope::AllClients, &job(client_id, host, None, "shutdown", at(11)), &Queued::default())
            .await
            .unwrap();
        assert_eq!((first.status.as_str(), first.kind.as_str()), ("queued", "reboot"));
        let mismatched = store
            .queue_job(Scope::AllClients, &job(other_client, host, None, "reboot", at(12)), &Queued::default())
            .await;
        assert!(matches!(mismatched, Err(tend_store::Error::NotFound("host"))), "a host of another client");
        let hidden = store
            .queue_job(Scope::Client(other_client), &job(client_id, host, None, "reboot", at(12)), &Queued::default())
            .await;
        assert!(matches!(hidden, Err(tend_store::Error::NotFound(_))), "out of scope");

        let listed = store.host_jobs(Scope::Client(client_id), host, 10).await.unwrap();
        assert_eq!(listed.iter().map(|j| j.id).collect::<Vec<_>>(), vec![second.id, first.id], "newest first");
        assert!(store.host_jobs(Scope::Client(other_client), host, 10).await.is_err());
        assert!(store.job(Scope::Client(other_client), first.id).await.is_err());
        assert_eq!(store.job(Scope::Client(client_id), first.id).await.unwrap(), first);

        // Concurrent polls of the same host: each job goes to one of them, oldest first.
        assert!(store.has_queued_job(host).await.unwrap());
        assert!(!store.has_queued_job(other.host_id).await.unwrap());
        let claims = concurrent_claims(&store, host, 4).await;
        let mut claimed: Vec<JobRow> = claims.into_iter().flatten().collect();
        claimed.sort_by_key(|j| j.id);
        assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), vec![first.id, second.id]);
        assert!(claimed.iter().all(|j| j.status == "running" && j.claimed_at == Some(at(20))));
        assert!(store.claim_job(host, at(21)).await.unwrap().is_none());
        assert!(!store.has_queued_job(host).await.unwrap());

        let result = r#"{"ok":true,"exit_code":0,"output":"","duration_ms":5}"#;
        let finished = store.finish_job(host, first.id, "succeeded", result, at(30)).await.unwrap();
        assert_eq!(finished.status, "succeeded");
        assert_eq!(finished.finished_at, Some(at(30)));
        assert_eq!(finished.result.as_deref(), Some(result));
        let again = store.finish_job(host, first.id, "failed", "{}", at(40)).await.unwrap();
        assert_eq!(again, finished, "a repeated report changes nothing");
        let foreign = store.finish_job(other.host_id, second.id, "succeeded", result, at(30)).await;
        assert!(matches!(foreign, Err(tend_store::Error::NotFound("job"))), "another host's job");

        let queued = store
            .queue_job(Scope::AllClients, &job(client_id, host, None, "reboot", at(50)), &Queued::default())
            .await
            .unwrap();
        let early = store.finish_job(host, queued.id, "succeeded", result, at(51)).await;
        assert!(matches!(early, Err(tend_store::Error::Conflict(_))), "not handed out yet");
        db
    })
    .await;
}

/// Claims from `polls` concurrent pollers at `at(20)`.
async fn concurrent_claims(store: &tend_store::Store, host: i64, polls: usize) -> Vec<Option<JobRow>> {
    let tasks: Vec<_> = (0..polls)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.claim_job(host, at(20)).await.unwrap() })
        })
        .collect();
    let mut claims = Vec::new();
    for task in tasks {
        claims.push(task.await.unwrap());
    }
    claims
}

#[tokio::test]
async fn a_job_on_a_ticket_is_written_to_its_history_and_only_open_tickets_grant() {
    each_backend(|store, db| async move {
        let (client_id, enrolled) = client_with_host(&store, "acme").await;
        let host = enrolled.host_id;
        let mut ids = Vec::new();
        for status in ["open", "resolved", "closed", "in_progress"] {
            let change = TicketChange { ticket: intervention(client_id, host, status), events: created() };
            ids.push(store.create_ticket(Scope::AllClients, &change).await.unwrap().id);
        }
        let open = store.open_tickets_on_host(Scope::AllClients, host).await.unwrap();
        let mut open_ids: Vec<i64> = open.iter().map(|t| t.id).collect();
        open_ids.sort_unstable();
        assert_eq!(open_ids, vec![ids[0], ids[3]], "resolved and closed tickets authorize nothing");
        assert!(open.iter().all(|t| t.form.is_some() && t.host_ids == vec![host]));
        let (other_client, _) = client_with_host(&store, "globex").await;
        assert!(store.open_tickets_on_host(Scope::Client(other_client), host).await.unwrap().is_empty());

        let on_ticket = job(client_id, host, Some(ids[0]), "reboot", at(10));
        let queued = store.queue_job(Scope::AllClients, &on_ticket, &Queued::default()).await.unwrap();
        assert_eq!(queued.ticket_id, Some(ids[0]));
        let claimed = store.claim_job(host, at(11)).await.unwrap().unwrap();
        assert_eq!(claimed.id, queued.id);
        store.finish_job(host, queued.id, "succeeded", r#"{"ok":true}"#, at(12)).await.unwrap();

        let events = store.ticket_events(Scope::AllClients, ids[0], false).await.unwrap();
        let jobs: Vec<serde_json::Value> = events
            .iter()
            .filter(|e| e.kind == "job")
            .inspect(|e| assert!(!e.public, "job entries are internal"))
            .map(|e| serde_json::from_str(&e.body).unwrap())
            .collect();
        assert_eq!(jobs.len(), 2, "{events:?}");
        assert_eq!(jobs[0], serde_json::json!({ "job_id": queued.id, "kind": "reboot", "status": "queued" }));
        assert_eq!(jobs[1]["status"], "succeeded");
        assert!(store.ticket_events(Scope::AllClients, ids[0], true).await.unwrap().iter().all(|e| e.kind != "job"));

        let foreign_ticket = job(other_client, host, Some(ids[0]), "reboot", at(10));
        assert!(store.queue_job(Scope::AllClients, &foreign_ticket, &Queued::default()).await.is_err());
        db
    })
    .await;
}
