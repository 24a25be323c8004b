use tend_core::tenancy::{Role, Scope, SupportLevel};
use tend_store::{Error, NewTicketEvent, NewUser, Store, TicketChange, TicketRow, VaultCredentialRow};

use crate::{at, client_with_host, each_backend};

fn credential(client_id: i64, host_id: i64, ticket_id: Option<i64>, name: &str) -> VaultCredentialRow {
    VaultCredentialRow {
        id: 0,
        client_id,
        host_id,
        ticket_id,
        name: name.into(),
        kind: "password".into(),
        username: "root".into(),
        sealed: format!("v1:sealed-{name}"),
        created_by: None,
        created_at: at(0),
        purged_at: None,
    }
}

/// An open ticket on `host_id` assigned to `assignee`.
async fn ticket(store: &Store, client_id: i64, host_id: i64, assignee: Option<i64>, token: &str) -> TicketRow {
    let ticket = TicketRow {
        id: 0,
        client_id,
        kind: "intervention".into(),
        subject: "replace a disk".into(),
        description: String::new(),
        requester_id: None,
        requester_email: None,
        impact: "low".into(),
        urgency: "low".into(),
        priority: "p4".into(),
        priority_reason: None,
        support_level: "L2".into(),
        assignee_id: assignee,
        status: "in_progress".into(),
        form: None,
        alert_key: None,
        vendor: None,
        vendor_case: None,
        rma: None,
        vendor_follow_up: None,
        reply_token: token.into(),
        created_at: at(0),
        updated_at: at(0),
        resolved_at: None,
        closed_at: None,
        rating: None,
        rating_comment: None,
        sla_due_at: None,
        host_ids: vec![host_id],
    };
    let events =
        vec![NewTicketEvent { at: at(0), actor_id: None, kind: "created".into(), body: "{}".into(), public: true }];
    store.create_ticket(Scope::AllClients, &TicketChange { ticket, events }).await.unwrap()
}

async fn technician(store: &Store, name: &str) -> i64 {
    let user =
        NewUser { username: name, password_hash: "h", role: Role::Technician(SupportLevel::L2), client_id: None };
    store.create_user(user, at(0)).await.unwrap().id
}

#[tokio::test]
async fn vault_credentials_are_scoped_unique_per_host_and_listed_with_their_ticket() {
    each_backend(|store, db| async move {
        let (acme, enrolled) = client_with_host(&store, "acme").await;
        let (globex, globex_host) = client_with_host(&store, "globex").await;
        let host = enrolled.host_id;
        let ticket = ticket(&store, acme, host, None, "t1").await;

        let root = credential(acme, host, Some(ticket.id), "root");
        let stored = store.create_credential(Scope::Client(acme), &root, at(5)).await.unwrap();
        assert_eq!((stored.created_at, stored.purged_at), (at(5), None));
        let fetched = store.credential(Scope::Client(acme), stored.id).await.unwrap();
        assert_eq!(fetched, stored);
        assert_eq!(store.credential(Scope::AllClients, stored.id).await.unwrap().sealed, "v1:sealed-root");

        let again = store.create_credential(Scope::AllClients, &credential(acme, host, None, "root"), at(6)).await;
        assert!(matches!(again, Err(Error::Conflict(_))), "the name is bound into the sealed text: unique");
        let ipmi = store.create_credential(Scope::AllClients, &credential(acme, host, None, "ipmi"), at(7)).await;
        assert!(ipmi.is_ok());

        let foreign_host = credential(acme, globex_host.host_id, None, "x");
        let refused = store.create_credential(Scope::AllClients, &foreign_host, at(8)).await;
        assert!(matches!(refused, Err(Error::NotFound("host"))), "the host must be the client's");
        let elsewhere = store.create_credential(Scope::Client(globex), &credential(acme, host, None, "y"), at(8)).await;
        assert!(matches!(elsewhere, Err(Error::NotFound(_))), "another client's host does not exist for them");
        let other_ticket = ticket_of(&store, globex, globex_host.host_id).await;
        let wrong_ticket = credential(acme, host, Some(other_ticket), "z");
        let refused = store.create_credential(Scope::AllClients, &wrong_ticket, at(8)).await;
        assert!(matches!(refused, Err(Error::NotFound("ticket"))), "the ticket must be the client's");

        let listed = store.credentials_of_host(Scope::Client(acme), host).await.unwrap();
        assert_eq!(listed.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["root", "ipmi"]);
        assert!(store.credentials_of_host(Scope::Client(globex), host).await.is_err());
        assert!(matches!(store.credential(Scope::Client(globex), stored.id).await, Err(Error::NotFound(_))));
        let of_ticket = store.credentials_of_ticket(Scope::AllClients, ticket.id).await.unwrap();
        assert_eq!(of_ticket.iter().map(|c| c.id).collect::<Vec<_>>(), [stored.id]);
        db
    })
    .await;
}

async fn ticket_of(store: &Store, client_id: i64, host_id: i64) -> i64 {
    ticket(store, client_id, host_id, None, &format!("t-{client_id}-{host_id}")).await.id
}

#[tokio::test]
async fn vault_assignment_counts_only_open_tickets_on_the_host() {
    each_backend(|store, db| async move {
        let (acme, enrolled) = client_with_host(&store, "acme").await;
        let (_, other) = client_with_host(&store, "globex").await;
        let host = enrolled.host_id;
        let alice = technician(&store, "alice").await;
        let bob = technician(&store, "bob").await;
        assert!(store.assigned_open_ticket(alice, host, None).await.unwrap().is_none(), "no ticket yet");

        let first = ticket(&store, acme, host, Some(alice), "t1").await;
        let second = ticket(&store, acme, host, Some(alice), "t2").await;
        assert!(store.assigned_open_ticket(alice, host, None).await.unwrap().is_some());
        assert!(store.assigned_open_ticket(bob, host, None).await.unwrap().is_none(), "not the assignee");
        assert!(store.assigned_open_ticket(alice, other.host_id, None).await.unwrap().is_none(), "another host");
        assert_eq!(store.assigned_open_ticket(alice, host, None).await.unwrap(), Some(first.id), "the oldest");
        assert_eq!(store.assigned_open_ticket(alice, host, Some(second.id)).await.unwrap(), Some(second.id));

        for (ticket, status) in [(&first, "resolved"), (&second, "closed")] {
            let mut changed = ticket.clone();
            changed.status = status.into();
            changed.updated_at = at(10);
            let change = TicketChange { ticket: changed, events: Vec::new() };
            store.update_ticket(Scope::AllClients, ticket.updated_at, &change).await.unwrap();
        }
        assert!(
            store.assigned_open_ticket(alice, host, None).await.unwrap().is_none(),
            "resolved and closed do not count"
        );
        db
    })
    .await;
}

#[tokio::test]
async fn vault_purge_overwrites_the_sealed_text_of_the_tickets_credentials_once() {
    each_backend(|store, db| async move {
        let (acme, enrolled) = client_with_host(&store, "acme").await;
        let (globex, _) = client_with_host(&store, "globex").await;
        let host = enrolled.host_id;
        let ticket = ticket(&store, acme, host, None, "t1").await;
        let (given, standing) = (credential(acme, host, Some(ticket.id), "root"), credential(acme, host, None, "ipmi"));
        let given = store.create_credential(Scope::AllClients, &given, at(1)).await.unwrap();
        let standing = store.create_credential(Scope::AllClients, &standing, at(1)).await.unwrap();

        assert_eq!(store.purge_ticket_credentials(Scope::Client(globex), ticket.id, at(9)).await.unwrap(), 0);
        assert_eq!(store.purge_ticket_credentials(Scope::System, ticket.id, at(10)).await.unwrap(), 1);
        assert_eq!(store.purge_ticket_credentials(Scope::System, ticket.id, at(11)).await.unwrap(), 0, "once");
        let purged = store.credential(Scope::AllClients, given.id).await.unwrap();
        assert_eq!((purged.sealed.as_str(), purged.purged_at), ("", Some(at(10))));
        let kept = store.credential(Scope::AllClients, standing.id).await.unwrap();
        assert_eq!((kept.sealed.as_str(), kept.purged_at), ("v1:sealed-ipmi", None), "not given for the ticket");
        assert!(store.credentials_of_ticket(Scope::AllClients, ticket.id).await.unwrap().is_empty());

        let reused = store.create_credential(Scope::AllClients, &credential(acme, host, None, "root"), at(12)).await;
        assert!(reused.is_ok(), "a purged credential's name may be given again");
        db
    })
    .await;
}
