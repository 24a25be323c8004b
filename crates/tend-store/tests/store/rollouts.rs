use tend_core::tenancy::Scope;
use tend_store::{Error, JobRow, Queued, RolloutRow};

use crate::{at, client_with_host, each_backend};

pub(crate) fn rollout(client_id: i64) -> RolloutRow {
    RolloutRow {
        id: 0,
        client_id,
        name: "openssl".into(),
        urgency: "emergency".into(),
        packages: "[\"openssl\"]".into(),
        state: "{\"v\":1}".into(),
        status: "running".into(),
        halt_reason: None,
        ticket_id: None,
        reboot_ticket_id: None,
        created_by: None,
        created_at: at(0),
        updated_at: at(0),
    }
}

#[tokio::test]
async fn a_host_ring_is_set_moved_and_cleared_within_the_callers_scope() {
    each_backend(|store, db| async move {
        let (acme, host) = client_with_host(&store, "acme").await;
        let (globex, other) = client_with_host(&store, "globex").await;
        assert_eq!(store.host_ring(Scope::System, host.host_id).await.unwrap(), None);
        store.set_host_ring(Scope::Client(acme), host.host_id, Some("test")).await.unwrap();
        store.set_host_ring(Scope::System, other.host_id, Some("production")).await.unwrap();
        assert_eq!(store.host_ring(Scope::System, host.host_id).await.unwrap().as_deref(), Some("test"));
        store.set_host_ring(Scope::System, host.host_id, Some("production")).await.unwrap();
        assert_eq!(store.client_rings(Scope::System, acme).await.unwrap(), [(host.host_id, "production".to_owned())]);
        assert_eq!(
            store.client_rings(Scope::System, globex).await.unwrap(),
            [(other.host_id, "production".to_owned())]
        );

        let refused = store.set_host_ring(Scope::Client(globex), host.host_id, Some("test")).await;
        assert!(matches!(refused, Err(Error::NotFound("host"))), "{refused:?}");
        assert!(matches!(store.client_rings(Scope::Client(globex), acme).await, Err(Error::NotFound(_))));

        store.set_host_ring(Scope::System, host.host_id, None).await.unwrap();
        assert!(store.client_rings(Scope::System, acme).await.unwrap().is_empty());
        db
    })
    .await;
}

#[tokio::test]
async fn rollouts_update_optimistically_and_record_their_jobs_with_the_state() {
    each_backend(|store, db| async move {
        let (acme, host) = client_with_host(&store, "acme").await;
        let (globex, _) = client_with_host(&store, "globex").await;
        let created = store.create_rollout(Scope::AllClients, &rollout(acme)).await.unwrap();
        assert_eq!(store.rollout(Scope::Client(acme), created.id).await.unwrap(), created);
        assert!(matches!(store.rollout(Scope::Client(globex), created.id).await, Err(Error::NotFound("rollout"))));
        assert!(store.create_rollout(Scope::Client(globex), &rollout(acme)).await.is_err());

        let job = JobRow {
            id: 0,
            client_id: acme,
            host_id: host.host_id,
            ticket_id: None,
            kind: "apply_updates".into(),
            params: "{\"packages\":[\"openssl\"]}".into(),
            status: String::new(),
            requested_by: None,
            created_at: at(1),
            claimed_at: None,
            finished_at: None,
            result: None,
        };
        let job =
            store.queue_job(Scope::System, &job, &Queued { audit: None, rollout_id: Some(created.id) }).await.unwrap();
        let jobs = store.rollout_jobs(Scope::System, created.id).await.unwrap();
        assert_eq!((jobs.len(), jobs[0].status.as_str(), jobs[0].recorded), (1, "queued", false));
        store.claim_job(host.host_id, at(2)).await.unwrap().unwrap();
        store.finish_job(host.host_id, job.id, "succeeded", "{}", at(3)).await.unwrap();

        let mut changed = created.clone();
        changed.state = "{\"v\":2}".into();
        changed.updated_at = at(4);
        let stored = store.update_rollout(Scope::System, created.updated_at, &changed, &[job.id]).await.unwrap();
        assert_eq!(stored, changed);
        let jobs = store.rollout_jobs(Scope::System, created.id).await.unwrap();
        assert_eq!((jobs[0].status.as_str(), jobs[0].recorded, jobs[0].finished_at), ("succeeded", true, Some(at(3))));

        // A writer that read the old version loses, and marks nothing.
        let mut stale = created.clone();
        stale.status = "halted".into();
        stale.updated_at = at(5);
        let lost = store.update_rollout(Scope::System, created.updated_at, &stale, &[]).await;
        assert!(matches!(lost, Err(Error::Conflict(_))), "{lost:?}");
        assert_eq!(store.rollout(Scope::System, created.id).await.unwrap().status, "running");

        let second = store.create_rollout(Scope::System, &RolloutRow { status: "done".into(), ..rollout(acme) }).await;
        let second = second.unwrap();
        let ids = |rows: Vec<RolloutRow>| rows.iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids(store.rollouts(Scope::System, Some(acme), None, 10).await.unwrap()), [second.id, created.id]);
        assert_eq!(ids(store.rollouts(Scope::System, None, Some("running"), 10).await.unwrap()), [created.id]);
        assert!(store.rollouts(Scope::Client(globex), None, None, 10).await.unwrap().is_empty());
        assert!(store.rollouts(Scope::System, Some(globex), None, 10).await.unwrap().is_empty());
        db
    })
    .await;
}
