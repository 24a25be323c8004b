use tend_core::tenancy::Scope;
use tend_store::{Error, JobRow, PatchPolicyRow, Queued, Store};

use crate::{at, client_with_host, each_backend};

fn policy(client_id: i64, site_id: Option<i64>, host_id: Option<i64>, body: &str) -> PatchPolicyRow {
    PatchPolicyRow { id: 0, client_id, site_id, host_id, body: body.into(), updated_by: None, updated_at: at(10) }
}

async fn set(store: &Store, scope: Scope, row: PatchPolicyRow) -> Result<PatchPolicyRow, Error> {
    store.set_patch_policy(scope, &row).await
}

#[tokio::test]
async fn a_policy_per_client_site_and_host_is_replaced_listed_and_deleted_within_the_callers_scope() {
    each_backend(|store, db| async move {
        let (acme, host) = client_with_host(&store, "acme").await;
        let (globex, other) = client_with_host(&store, "globex").await;
        let site = store.create_site(Scope::AllClients, acme, "berlin", at(0)).await.unwrap();
        let foreign_site = store.create_site(Scope::AllClients, globex, "paris", at(0)).await.unwrap();

        let of_host =
            set(&store, Scope::AllClients, policy(acme, None, Some(host.host_id), "{\"h\":1}")).await.unwrap();
        let of_site = set(&store, Scope::AllClients, policy(acme, Some(site.id), None, "{\"s\":1}")).await.unwrap();
        let of_client = set(&store, Scope::Client(acme), policy(acme, None, None, "{\"c\":1}")).await.unwrap();
        assert_eq!((of_site.site_id, of_site.host_id, of_site.body.as_str()), (Some(site.id), None, "{\"s\":1}"));
        assert_eq!(
            store.patch_policies(Scope::Client(acme), acme).await.unwrap(),
            [of_client.clone(), of_site.clone(), of_host.clone()]
        );

        // Setting it again replaces the body of the same row.
        let changed = PatchPolicyRow { updated_at: at(20), ..policy(acme, None, None, "{\"c\":2}") };
        let replaced = set(&store, Scope::AllClients, changed).await.unwrap();
        assert_eq!((replaced.id, replaced.body.as_str(), replaced.updated_at), (of_client.id, "{\"c\":2}", at(20)));
        assert_eq!(store.patch_policies(Scope::System, acme).await.unwrap().len(), 3);

        // Another client's policies, sites and hosts are not found or refused.
        assert!(matches!(store.patch_policies(Scope::Client(globex), acme).await, Err(Error::NotFound("client"))));
        let theirs = set(&store, Scope::Client(globex), policy(acme, None, None, "{}")).await;
        assert!(matches!(theirs, Err(Error::NotFound("client"))), "{theirs:?}");
        let foreign = set(&store, Scope::AllClients, policy(acme, Some(foreign_site.id), None, "{}")).await;
        assert!(matches!(foreign, Err(Error::Refused(_))), "{foreign:?}");
        let foreign = set(&store, Scope::AllClients, policy(acme, None, Some(other.host_id), "{}")).await;
        assert!(matches!(foreign, Err(Error::Refused(_))), "{foreign:?}");
        let both = set(&store, Scope::AllClients, policy(acme, Some(site.id), Some(host.host_id), "{}")).await;
        assert!(matches!(both, Err(Error::Refused(_))), "{both:?}");
        assert!(store.patch_policies(Scope::System, globex).await.unwrap().is_empty());

        let refused = store.delete_patch_policy(Scope::Client(globex), of_site.id).await;
        assert!(matches!(refused, Err(Error::NotFound("patch policy"))), "{refused:?}");
        assert_eq!(store.delete_patch_policy(Scope::AllClients, of_site.id).await.unwrap(), of_site);
        assert!(matches!(store.delete_patch_policy(Scope::AllClients, of_site.id).await, Err(Error::NotFound(_))));
        let left: Vec<i64> = store.patch_policies(Scope::System, acme).await.unwrap().iter().map(|p| p.id).collect();
        assert_eq!(left, [of_client.id, of_host.id]);
        db
    })
    .await;
}

#[tokio::test]
async fn the_last_succeeded_job_of_a_kind_is_read_per_host_for_a_page_of_hosts() {
    each_backend(|store, db| async move {
        let (acme, host) = client_with_host(&store, "acme").await;
        let (globex, other) = client_with_host(&store, "globex").await;
        let job = |client_id, host_id, kind: &str| JobRow {
            id: 0,
            client_id,
            host_id,
            ticket_id: None,
            kind: kind.into(),
            params: "{}".into(),
            status: String::new(),
            requested_by: None,
            created_at: at(1),
            claimed_at: None,
            finished_at: None,
            result: None,
        };
        let no_audit = Queued { audit: None, rollout_id: None };
        // On acme's host: apply_updates succeeded at 3 and 5, failed at 7, a reboot at 9.
        for (kind, status, finished) in
            [("apply_updates", "succeeded", 3), ("apply_updates", "succeeded", 5), ("apply_updates", "failed", 7)]
                .into_iter()
                .chain([("reboot", "succeeded", 9)])
        {
            let queued = store.queue_job(Scope::System, &job(acme, host.host_id, kind), &no_audit).await.unwrap();
            store.claim_job(host.host_id, at(finished - 1)).await.unwrap().unwrap();
            store.finish_job(host.host_id, queued.id, status, "{}", at(finished)).await.unwrap();
        }
        let theirs = job(globex, other.host_id, "apply_updates");
        let queued = store.queue_job(Scope::System, &theirs, &no_audit).await.unwrap();
        store.claim_job(other.host_id, at(10)).await.unwrap().unwrap();
        store.finish_job(other.host_id, queued.id, "succeeded", "{}", at(11)).await.unwrap();

        let (first, last) = (host.host_id.min(other.host_id), host.host_id.max(other.host_id));
        let all = store.last_succeeded_jobs(Scope::AllClients, "apply_updates", None, first - 1, last).await.unwrap();
        let mut expected = vec![(host.host_id, at(5)), (other.host_id, at(11))];
        expected.sort();
        assert_eq!(all, expected);
        let acme_only = store.last_succeeded_jobs(Scope::Client(acme), "apply_updates", None, 0, last).await;
        assert_eq!(acme_only.unwrap(), [(host.host_id, at(5))]);
        let narrowed = store.last_succeeded_jobs(Scope::AllClients, "apply_updates", Some(globex), 0, last).await;
        assert_eq!(narrowed.unwrap(), [(other.host_id, at(11))]);
        let outside = store.last_succeeded_jobs(Scope::AllClients, "apply_updates", None, last, last + 10).await;
        assert!(outside.unwrap().is_empty());
        db
    })
    .await;
}
