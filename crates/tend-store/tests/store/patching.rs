use tend_core::tenancy::Scope;
use tend_store::{AdvisoryChanges, AdvisoryRow, Error, MitigationRow};

use crate::{at, client_with_host, each_backend};

fn advisory(id: &str, body: &str, learned_at: i64) -> AdvisoryRow {
    AdvisoryRow {
        id: id.into(),
        source: "debian_tracker".into(),
        body: body.into(),
        learned_at: at(learned_at),
        updated_at: at(0),
    }
}

fn mitigation(client_id: i64, host_id: Option<i64>, advisory_id: &str) -> MitigationRow {
    MitigationRow {
        id: 0,
        client_id,
        host_id,
        advisory_id: advisory_id.into(),
        kind: "service_stopped".into(),
        description: "bash scripts from outside no longer run".into(),
        owner: "alice".into(),
        review_at: at(86_400),
        created_by: None,
        created_at: at(0),
    }
}

#[tokio::test]
async fn advisories_upsert_replace_and_withdraw_in_one_import() {
    each_backend(|store, db| async move {
        let first = [advisory("CVE-1", "{\"v\":1}", 10), advisory("CVE-2", "{\"v\":1}", 10)];
        let changes = store.upsert_advisories(&first, &[], at(20)).await.unwrap();
        assert_eq!(changes, AdvisoryChanges { added: 2, updated: 0, withdrawn: 0 });

        let second = [advisory("CVE-2", "{\"v\":2}", 10), advisory("CVE-3", "{\"v\":1}", 30)];
        let withdrawn = ["CVE-1".to_owned(), "CVE-404".to_owned()];
        let changes = store.upsert_advisories(&second, &withdrawn, at(40)).await.unwrap();
        assert_eq!(changes, AdvisoryChanges { added: 1, updated: 1, withdrawn: 1 });

        let all = store.list_advisories().await.unwrap();
        let ids: Vec<&str> = all.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["CVE-2", "CVE-3"]);
        assert_eq!(all[0].body, "{\"v\":2}");
        assert_eq!(all[0].learned_at, at(10));
        assert_eq!(all[0].updated_at, at(40));

        let some = store.advisories_by_id(&["CVE-3".into(), "CVE-1".into()]).await.unwrap();
        assert_eq!(some.len(), 1);
        assert_eq!(some[0].id, "CVE-3");
        assert!(store.advisories_by_id(&[]).await.unwrap().is_empty());
        db
    })
    .await;
}

#[tokio::test]
async fn advisories_by_id_reads_more_ids_than_one_query_binds() {
    each_backend(|store, db| async move {
        let many: Vec<AdvisoryRow> = (0..1_200).map(|n| advisory(&format!("CVE-{n:05}"), "{}", 0)).collect();
        store.upsert_advisories(&many, &[], at(1)).await.unwrap();
        let ids: Vec<String> = (0..1_300).map(|n| format!("CVE-{n:05}")).collect();
        assert_eq!(store.advisories_by_id(&ids).await.unwrap().len(), 1_200);
        db
    })
    .await;
}

#[tokio::test]
async fn mitigations_are_scoped_by_client() {
    each_backend(|store, db| async move {
        let (acme, acme_host) = client_with_host(&store, "acme").await;
        let (globex, globex_host) = client_with_host(&store, "globex").await;

        let created = store
            .create_mitigation(Scope::AllClients, &mitigation(acme, Some(acme_host.host_id), "CVE-1"), at(5))
            .await
            .unwrap();
        assert!(created.id > 0);
        assert_eq!(created.created_at, at(5));
        store.create_mitigation(Scope::Client(globex), &mitigation(globex, None, "CVE-1"), at(6)).await.unwrap();

        // Another client's host, or another client altogether, is not found.
        let wrong_host = mitigation(acme, Some(globex_host.host_id), "CVE-1");
        assert!(matches!(
            store.create_mitigation(Scope::AllClients, &wrong_host, at(7)).await,
            Err(Error::NotFound("host"))
        ));
        assert!(matches!(
            store.create_mitigation(Scope::Client(globex), &mitigation(acme, None, "CVE-1"), at(7)).await,
            Err(Error::NotFound("client"))
        ));

        assert_eq!(store.list_mitigations(Scope::AllClients, None).await.unwrap().len(), 2);
        let of_acme = store.list_mitigations(Scope::AllClients, Some(acme)).await.unwrap();
        assert_eq!(of_acme, std::slice::from_ref(&created));
        let seen_by_globex = store.list_mitigations(Scope::Client(globex), Some(acme)).await.unwrap();
        assert!(seen_by_globex.is_empty());
        assert_eq!(store.mitigation(Scope::Client(acme), created.id).await.unwrap(), created);
        assert!(matches!(store.mitigation(Scope::Client(globex), created.id).await, Err(Error::NotFound(_))));

        assert!(matches!(store.delete_mitigation(Scope::Client(globex), created.id).await, Err(Error::NotFound(_))));
        store.delete_mitigation(Scope::Client(acme), created.id).await.unwrap();
        assert!(store.list_mitigations(Scope::AllClients, Some(acme)).await.unwrap().is_empty());
        db
    })
    .await;
}
