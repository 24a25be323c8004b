use tend_core::tenancy::Scope;
use tend_store::{NewTicketEvent, TicketChange, TicketFilter, TicketRow};

use crate::{at, client_with_host, each_backend};

fn ticket(client_id: i64, host_id: i64, alert_key: Option<&str>, due: i64) -> TicketRow {
    TicketRow {
        id: 0,
        client_id,
        kind: "incident".into(),
        subject: "disk full".into(),
        description: "/var is full".into(),
        requester_id: None,
        requester_email: None,
        impact: "high".into(),
        urgency: "high".into(),
        priority: "p1".into(),
        priority_reason: None,
        support_level: "L1".into(),
        assignee_id: None,
        status: "new".into(),
        form: None,
        alert_key: alert_key.map(str::to_owned),
        vendor: None,
        vendor_case: None,
        rma: None,
        vendor_follow_up: None,
        reply_token: format!("token-{due}-{}", alert_key.unwrap_or("none")),
        created_at: at(0),
        updated_at: at(0),
        resolved_at: None,
        closed_at: None,
        rating: None,
        rating_comment: None,
        sla_due_at: Some(at(due)),
        host_ids: vec![host_id],
    }
}

fn created(at_secs: i64) -> Vec<NewTicketEvent> {
    vec![NewTicketEvent { at: at(at_secs), actor_id: None, kind: "created".into(), body: "{}".into(), public: true }]
}

#[tokio::test]
async fn tickets_keep_their_history_sort_by_deadline_and_refuse_lost_updates() {
    each_backend(|store, db| async move {
        let (client_id, enrolled) = client_with_host(&store, "acme").await;
        let (other, _) = client_with_host(&store, "globex").await;
        let late = ticket(client_id, enrolled.host_id, Some("7/disk_usage//var"), 7200);
        let late =
            store.create_ticket(Scope::AllClients, &TicketChange { ticket: late, events: created(0) }).await.unwrap();
        let soon = ticket(client_id, enrolled.host_id, None, 600);
        let soon =
            store.create_ticket(Scope::AllClients, &TicketChange { ticket: soon, events: created(0) }).await.unwrap();
        assert_eq!(late.host_ids, vec![enrolled.host_id]);
        let again = ticket(client_id, enrolled.host_id, Some("7/disk_usage//var"), 60);
        let refused = store.create_ticket(Scope::AllClients, &TicketChange { ticket: again, events: created(0) }).await;
        assert!(matches!(refused, Err(tend_store::Error::Conflict(_))), "one open ticket per alert");
        let foreign = ticket(other, enrolled.host_id, None, 60);
        let refused =
            store.create_ticket(Scope::AllClients, &TicketChange { ticket: foreign, events: created(0) }).await;
        assert!(refused.is_err(), "a ticket cannot name another client's host");

        let queue = store.tickets(Scope::Client(client_id), &TicketFilter::default(), 10).await.unwrap();
        assert_eq!(queue.iter().map(|t| t.id).collect::<Vec<_>>(), vec![soon.id, late.id], "earliest deadline first");
        assert!(store.tickets(Scope::Client(other), &TicketFilter::default(), 10).await.unwrap().is_empty());
        let by_host = TicketFilter { host_id: Some(enrolled.host_id), open_only: true, ..TicketFilter::default() };
        assert_eq!(store.tickets(Scope::AllClients, &by_host, 10).await.unwrap().len(), 2);
        assert_eq!(store.ticket_for_alert("7/disk_usage//var").await.unwrap().map(|t| t.id), Some(late.id));

        let mut closed = late.clone();
        closed.status = "closed".into();
        closed.closed_at = Some(at(100));
        closed.updated_at = at(100);
        let events = vec![NewTicketEvent {
            at: at(100),
            actor_id: None,
            kind: "status".into(),
            body: r#"{"status":"closed"}"#.into(),
            public: true,
        }];
        let change = TicketChange { ticket: closed, events };
        store.update_ticket(Scope::AllClients, late.updated_at, &change).await.unwrap();
        let stale = store.update_ticket(Scope::AllClients, late.updated_at, &change).await;
        assert!(matches!(stale, Err(tend_store::Error::Conflict(_))), "a change on a stale read is refused");
        assert_eq!(store.ticket_for_alert("7/disk_usage//var").await.unwrap(), None, "closed: a new one may open");
        let history = store.ticket_events(Scope::Client(client_id), late.id, true).await.unwrap();
        assert_eq!(history.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["created", "status"]);
        assert_eq!(store.open_tickets().await.unwrap().len(), 1);

        assert!(store.record_sla_alarm(soon.id, "response", "warning", at(5)).await.unwrap());
        assert!(!store.record_sla_alarm(soon.id, "response", "warning", at(6)).await.unwrap(), "once");
        assert_eq!(store.ticket_by_reply_token(&soon.reply_token).await.unwrap().map(|t| t.id), Some(soon.id));
        db
    })
    .await;
}
