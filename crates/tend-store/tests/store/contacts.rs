use jiff::SignedDuration;
use tend_core::tenancy::Scope;
use tend_store::{ContactRow, MaintenanceWindowRow};

use crate::{at, each_backend};

fn window(client_id: i64) -> MaintenanceWindowRow {
    MaintenanceWindowRow {
        id: 0,
        client_id,
        site_id: None,
        host_id: None,
        check: None,
        kind: "planned".into(),
        title: "Kernel updates".into(),
        description: "Servers reboot one after the other.".into(),
        start_local: "2027-01-10T22:00:00".into(),
        time_zone: "Europe/Paris".into(),
        duration_secs: 7200,
        rrule: None,
        ended_at: None,
        notice_days: Some(3),
    }
}

fn contact(client_id: i64, email: &str, notices: bool) -> ContactRow {
    ContactRow {
        id: 0,
        client_id,
        name: "Ada".into(),
        email: email.into(),
        phone: String::new(),
        role: "IT manager".into(),
        maintenance_notices: notices,
    }
}

#[tokio::test]
async fn notices_are_written_once_per_occurrence_and_contact_and_delivered_once() {
    each_backend(|store, db| async move {
        let acme = store.create_client("acme", at(0)).await.unwrap().id;
        let other = store.create_client("other", at(0)).await.unwrap().id;
        store.create_contact(Scope::AllClients, &contact(acme, "ada@acme.test", true), at(0)).await.unwrap();
        store.create_contact(Scope::AllClients, &contact(acme, "quiet@acme.test", false), at(0)).await.unwrap();
        store.create_contact(Scope::AllClients, &contact(other, "bob@other.test", true), at(0)).await.unwrap();
        let refused = store.create_contact(Scope::Client(other), &contact(acme, "x@y.test", true), at(0)).await;
        assert!(refused.is_err(), "a client's user cannot add contacts to another client");
        assert_eq!(store.contacts(Scope::Client(acme), acme).await.unwrap().len(), 2);

        let window = store.create_maintenance_window(Scope::AllClients, &window(acme), None, at(0)).await.unwrap();
        assert_eq!(store.last_noticed_start(window.id).await.unwrap(), None);
        assert_eq!(
            store.write_notices(window.id, at(1000), at(1)).await.unwrap(),
            1,
            "only the contact who takes them"
        );
        assert_eq!(store.write_notices(window.id, at(1000), at(2)).await.unwrap(), 0, "idempotent");
        assert_eq!(store.last_noticed_start(window.id).await.unwrap(), Some(at(1000)));

        let lease = SignedDuration::from_secs(60);
        let claimed = store.claim_notices(at(3), lease, 10).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!((claimed[0].contact_email.as_str(), claimed[0].title.as_str()), ("ada@acme.test", "Kernel updates"));
        assert!(store.claim_notices(at(4), lease, 10).await.unwrap().is_empty(), "claimed once");
        store.record_notice(claimed[0].id, at(5), None, None).await.unwrap();
        let notices = store.window_notices(Scope::Client(acme), window.id).await.unwrap();
        assert_eq!((notices[0].status.as_str(), notices[0].sent_at), ("sent", Some(at(5))));
        assert!(store.window_notices(Scope::Client(other), window.id).await.unwrap().is_empty());
        db
    })
    .await;
}
