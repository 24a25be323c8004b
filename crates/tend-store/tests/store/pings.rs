use tend_core::tenancy::Scope;
use tend_store::{Error, NewPingCheck, PINGS_KEPT, PingRow};

use crate::{at, each_backend};

fn ping(check_id: i64, kind: &str, exit_status: Option<i64>, secs: i64) -> PingRow {
    PingRow {
        id: 0,
        check_id,
        kind: kind.into(),
        exit_status,
        body: format!("{kind} at {secs}"),
        received_at: at(secs),
        remote_addr: Some("192.0.2.7".into()),
    }
}

#[tokio::test]
async fn checks_are_scoped_found_by_token_hash_and_keep_their_last_pings() {
    each_backend(|store, db| async move {
        let acme = store.create_client("acme", at(0)).await.unwrap();
        let other = store.create_client("other", at(0)).await.unwrap();
        let new = NewPingCheck {
            client_id: acme.id,
            host_id: None,
            name: "nightly-dump".into(),
            period_secs: 86_400,
            grace_secs: 3_600,
        };
        let check = store.create_ping_check(Scope::AllClients, &new, "hash-1", at(0)).await.unwrap();
        assert_eq!((check.last_start, check.last_success, check.last_failure), (None, None, None));
        let again = store.create_ping_check(Scope::AllClients, &new, "hash-2", at(0)).await;
        assert!(matches!(again, Err(Error::Conflict(_))), "{again:?}");
        let foreign = store.create_ping_check(Scope::Client(other.id), &new, "hash-3", at(0)).await;
        assert!(matches!(foreign, Err(Error::NotFound(_))), "{foreign:?}");

        assert!(store.ping_checks(Scope::Client(other.id), None).await.unwrap().is_empty());
        assert!(matches!(store.ping_check(Scope::Client(other.id), check.id).await, Err(Error::NotFound(_))));
        assert!(matches!(store.pings(Scope::Client(other.id), check.id).await, Err(Error::NotFound(_))));
        assert_eq!(store.ping_checks(Scope::Client(acme.id), Some(acme.id)).await.unwrap().len(), 1);
        assert!(store.ping_checks(Scope::AllClients, Some(other.id)).await.unwrap().is_empty());
        assert_eq!(store.ping_check_by_token("hash-1").await.unwrap().map(|c| c.id), Some(check.id));
        assert_eq!(store.ping_check_by_token("hash-2").await.unwrap(), None);

        store.record_ping(&ping(check.id, "start", None, 1)).await.unwrap();
        store.record_ping(&ping(check.id, "fail", Some(3), 2)).await.unwrap();
        store.record_ping(&ping(check.id, "log", None, 3)).await.unwrap();
        for i in 0..PINGS_KEPT {
            store.record_ping(&ping(check.id, "success", Some(0), 10 + i)).await.unwrap();
        }
        let kept = store.pings(Scope::Client(acme.id), check.id).await.unwrap();
        assert_eq!(kept.len() as i64, PINGS_KEPT, "older pings are dropped with each insert");
        assert_eq!(kept[0].received_at, at(10 + PINGS_KEPT - 1), "newest first");
        assert!(kept.iter().all(|p| p.kind == "success"));

        store.record_ping(&ping(check.id, "start", None, 500)).await.unwrap();
        store.record_ping(&ping(check.id, "fail", Some(1), 501)).await.unwrap();
        let read = store.ping_check(Scope::AllClients, check.id).await.unwrap();
        assert_eq!(read.last_start, Some(at(500)));
        assert_eq!(read.last_success, Some(at(10 + PINGS_KEPT - 1)));
        assert_eq!((read.last_failure, read.last_failure_exit), (Some(at(501)), Some(1)));

        assert!(matches!(store.delete_ping_check(Scope::Client(other.id), check.id).await, Err(Error::NotFound(_))));
        assert_eq!(store.delete_ping_check(Scope::Client(acme.id), check.id).await.unwrap().id, check.id);
        assert!(store.ping_checks(Scope::AllClients, None).await.unwrap().is_empty());
        db
    })
    .await;
}
