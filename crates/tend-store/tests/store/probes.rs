use jiff::SignedDuration;
use tend_core::tenancy::Scope;
use tend_store::{Error, ProbeRow};

use crate::{at, each_backend};

#[tokio::test]
async fn due_probes_are_claimed_once_until_finished_or_their_lease_runs_out() {
    each_backend(|store, db| async move {
        let client = store.create_client("acme", at(0)).await.unwrap();
        let probe = ProbeRow {
            id: 0,
            client_id: client.id,
            site_id: None,
            host_id: None,
            name: "shop".into(),
            spec: r#"{"kind":"tcp","host":"127.0.0.1","port":80}"#.into(),
            interval_secs: 60,
            timeout_secs: 10,
            pending_for_secs: 0,
            next_run_at: at(0),
            last_run_at: None,
            last_outcome: None,
        };
        let stored = store.create_probe(Scope::AllClients, &probe, at(0)).await.unwrap();
        assert!(matches!(store.create_probe(Scope::AllClients, &probe, at(0)).await, Err(Error::Conflict(_))));
        let lease = SignedDuration::from_secs(30);

        let first = store.claim_due_probes("a", at(1), lease, 10).await.unwrap();
        assert_eq!(first.iter().map(|p| p.id).collect::<Vec<_>>(), vec![stored.id]);
        assert!(store.claim_due_probes("b", at(2), lease, 10).await.unwrap().is_empty(), "leased to a");
        // a dies; after its lease, b takes the probe over.
        let taken_over = store.claim_due_probes("b", at(32), lease, 10).await.unwrap();
        assert_eq!(taken_over.len(), 1);
        store.finish_probe(stored.id, "a", r#"{"ok":true}"#, at(33), at(93)).await.unwrap();
        assert!(store.probes(Scope::AllClients).await.unwrap()[0].last_run_at.is_none(), "a no longer holds it");
        store.finish_probe(stored.id, "b", r#"{"ok":true}"#, at(33), at(93)).await.unwrap();
        assert!(store.claim_due_probes("b", at(34), lease, 10).await.unwrap().is_empty(), "next run at 93");
        assert_eq!(store.claim_due_probes("a", at(93), lease, 10).await.unwrap().len(), 1);

        assert!(store.probes(Scope::Client(client.id + 1)).await.unwrap().is_empty());
        assert!(store.delete_probe(Scope::Client(client.id + 1), stored.id).await.is_err());
        store.delete_probe(Scope::Client(client.id), stored.id).await.unwrap();
        db
    })
    .await;
}
