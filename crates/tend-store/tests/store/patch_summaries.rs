use jiff::SignedDuration;
use tend_core::tenancy::Scope;
use tend_store::{ContactRow, Error};

use crate::rollouts::rollout;
use crate::{at, client_with_host, each_backend};

fn contact(client_id: i64, name: &str, email: &str, notices: bool) -> ContactRow {
    ContactRow {
        id: 0,
        client_id,
        name: name.into(),
        email: email.into(),
        phone: String::new(),
        role: "IT manager".into(),
        maintenance_notices: notices,
    }
}

#[tokio::test]
async fn summaries_are_written_once_per_ring_and_contact_and_delivered_with_retries() {
    each_backend(|store, db| async move {
        let (acme, _) = client_with_host(&store, "acme").await;
        let (globex, _) = client_with_host(&store, "globex").await;
        store.create_contact(Scope::AllClients, &contact(acme, "Ada", "ada@acme.test", true), at(0)).await.unwrap();
        store.create_contact(Scope::AllClients, &contact(acme, "Quiet", "q@acme.test", false), at(0)).await.unwrap();
        store.create_contact(Scope::AllClients, &contact(globex, "Bob", "bob@globex.test", true), at(0)).await.unwrap();
        let id = store.create_rollout(Scope::AllClients, &rollout(acme)).await.unwrap().id;

        let added = store.write_patch_summaries(id, "test", "Updates applied", "web1: pkg 1.0 → 2.0", at(1)).await;
        assert_eq!(added.unwrap(), 1, "only the client's contact who takes maintenance mail");
        assert_eq!(store.write_patch_summaries(id, "test", "again", "again", at(2)).await.unwrap(), 0, "idempotent");
        assert_eq!(store.write_patch_summaries(id, "production", "Prod", "db1", at(3)).await.unwrap(), 1);

        let lease = SignedDuration::from_secs(60);
        let claimed = store.claim_patch_summaries(at(4), lease, 10).await.unwrap();
        let seen: Vec<_> =
            claimed.iter().map(|s| (s.ring.as_str(), s.contact_name.as_str(), s.contact_email.as_str())).collect();
        assert_eq!(seen, [("test", "Ada", "ada@acme.test"), ("production", "Ada", "ada@acme.test")]);
        assert_eq!(claimed[0].body, "web1: pkg 1.0 → 2.0", "the first text written stays");
        assert!(store.claim_patch_summaries(at(5), lease, 10).await.unwrap().is_empty(), "claimed once");

        store.record_patch_summary(claimed[0].id, at(6), None, None).await.unwrap();
        store.record_patch_summary(claimed[1].id, at(6), Some("relay down"), Some(at(100))).await.unwrap();
        assert!(store.claim_patch_summaries(at(99), lease, 10).await.unwrap().is_empty(), "not due before its retry");
        let retried = store.claim_patch_summaries(at(100), lease, 10).await.unwrap();
        assert_eq!((retried.len(), retried[0].attempts), (1, 1));
        store.record_patch_summary(retried[0].id, at(101), Some("relay down"), None).await.unwrap();

        let listed = store.patch_summaries(Scope::Client(acme), id).await.unwrap();
        let states: Vec<_> =
            listed.iter().map(|s| (s.status.as_str(), s.attempts, s.sent_at, s.last_error.as_deref())).collect();
        assert_eq!(states, [("sent", 1, Some(at(6)), None), ("failed", 2, None, Some("relay down"))]);
        let refused = store.patch_summaries(Scope::Client(globex), id).await;
        assert!(matches!(refused, Err(Error::NotFound("rollout"))), "{refused:?}");
        db
    })
    .await;
}
