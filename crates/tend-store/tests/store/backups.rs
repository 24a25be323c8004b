use tend_core::tenancy::Scope;
use tend_store::{BackupPlanRow, Error, IngestReport, NewBackupEvent};

use crate::{at, client_with_host, each_backend};

fn plan(client_id: i64, host_id: i64, name: &str, body: &str, secs: i64) -> BackupPlanRow {
    BackupPlanRow {
        id: 0,
        client_id,
        host_id,
        name: name.into(),
        body: body.into(),
        password_sealed: "v1:sealed".into(),
        created_by: None,
        created_at: at(secs),
        updated_at: at(secs),
    }
}

fn event(plan: &str, kind: &str, ok: bool, secs: i64) -> NewBackupEvent {
    NewBackupEvent {
        plan: plan.into(),
        kind: kind.into(),
        ok,
        started_at: at(secs),
        duration_ms: 1000,
        body: format!("{{\"kind\":\"{kind}\",\"plan\":\"{plan}\",\"at\":{secs}}}"),
    }
}

fn report(seq: u64, secs: i64, backups: Vec<NewBackupEvent>) -> IngestReport {
    IngestReport {
        seq,
        collected_at: at(secs),
        stopping: false,
        interval_secs: None,
        facts: None,
        samples: vec![],
        inventory: vec![],
        backups,
    }
}

#[tokio::test]
async fn plans_are_set_replaced_listed_and_deleted_within_the_callers_scope() {
    each_backend(|store, db| async move {
        let (acme, host) = client_with_host(&store, "acme").await;
        let (globex, other) = client_with_host(&store, "globex").await;

        let daily =
            store.set_backup_plan(Scope::AllClients, &plan(acme, host.host_id, "daily", "{}", 10)).await.unwrap();
        let etc = store.set_backup_plan(Scope::AllClients, &plan(acme, host.host_id, "etc", "{}", 10)).await.unwrap();
        let replaced = store
            .set_backup_plan(Scope::AllClients, &plan(acme, host.host_id, "daily", "{\"v\":2}", 20))
            .await
            .unwrap();
        assert_eq!((replaced.id, replaced.body.as_str()), (daily.id, "{\"v\":2}"));
        assert_eq!((replaced.created_at, replaced.updated_at), (at(10), at(20)));
        assert_eq!(store.backup_plans(Scope::Client(acme), host.host_id).await.unwrap(), [replaced.clone(), etc]);
        assert_eq!(store.backup_plan(Scope::System, host.host_id, "daily").await.unwrap(), Some(replaced.clone()));
        assert_eq!(store.backup_plan(Scope::System, host.host_id, "none").await.unwrap(), None);

        // Another client's users see nothing and change nothing; a plan names its host's client.
        let theirs = store.backup_plans(Scope::Client(globex), host.host_id).await;
        assert!(matches!(theirs, Err(Error::NotFound("host"))), "{theirs:?}");
        let foreign = store.set_backup_plan(Scope::Client(globex), &plan(acme, host.host_id, "x", "{}", 30)).await;
        assert!(matches!(foreign, Err(Error::NotFound("host"))), "{foreign:?}");
        let mismatched = store.set_backup_plan(Scope::AllClients, &plan(acme, other.host_id, "x", "{}", 30)).await;
        assert!(matches!(mismatched, Err(Error::NotFound("host"))), "{mismatched:?}");
        let refused = store.delete_backup_plan(Scope::Client(globex), host.host_id, "daily").await;
        assert!(matches!(refused, Err(Error::NotFound("backup plan"))), "{refused:?}");

        // Both hosts' backups are judged on the clock until the other's agent is revoked.
        store.set_backup_plan(Scope::AllClients, &plan(globex, other.host_id, "daily", "{}", 10)).await.unwrap();
        assert_eq!(store.backup_plan_hosts(Scope::System).await.unwrap(), [host.host_id, other.host_id]);
        assert_eq!(store.backup_plan_hosts(Scope::Client(acme)).await.unwrap(), [host.host_id]);
        store.revoke_agent(Scope::System, other.agent_id, at(40)).await.unwrap();
        assert_eq!(store.backup_plan_hosts(Scope::System).await.unwrap(), [host.host_id]);

        assert_eq!(store.delete_backup_plan(Scope::Client(acme), host.host_id, "daily").await.unwrap(), replaced);
        let left = store.backup_plans(Scope::System, host.host_id).await.unwrap();
        assert_eq!(left.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["etc"]);
        db
    })
    .await;
}

#[tokio::test]
async fn events_come_with_reports_once_and_the_overview_shows_the_latest_per_plan() {
    each_backend(|store, db| async move {
        let (acme, host) = client_with_host(&store, "acme").await;
        let (globex, _other) = client_with_host(&store, "globex").await;
        store.set_backup_plan(Scope::AllClients, &plan(acme, host.host_id, "daily", "{}", 0)).await.unwrap();
        let agent = store.agent_by_credential("cred-acme").await.unwrap().unwrap();

        let first = report(1, 100, vec![event("daily", "backup", true, 50), event("daily", "check", false, 60)]);
        let second =
            report(2, 200, vec![event("daily", "backup", false, 150), event("daily", "restore_test", true, 160)]);
        store.ingest(&agent, &[first.clone(), second.clone()], at(200)).await.unwrap();
        // The same reports again: duplicates, nothing stored twice.
        let again = store.ingest(&agent, &[first, second], at(210)).await.unwrap();
        assert_eq!((again.stored, again.duplicates), (0, 2));

        let events = store.backup_events(Scope::Client(acme), host.host_id, 10).await.unwrap();
        let seen: Vec<(&str, i64)> = events.iter().map(|e| (e.kind.as_str(), e.started_at.as_second())).collect();
        let base = at(0).as_second();
        assert_eq!(
            seen,
            [("restore_test", base + 160), ("backup", base + 150), ("check", base + 60), ("backup", base + 50)]
        );
        assert_eq!(store.backup_events(Scope::System, host.host_id, 2).await.unwrap().len(), 2);
        let theirs = store.backup_events(Scope::Client(globex), host.host_id, 10).await;
        assert!(matches!(theirs, Err(Error::NotFound("host"))), "{theirs:?}");

        let overview = store.backup_overview(Scope::AllClients, None).await.unwrap();
        assert_eq!(overview.len(), 2, "{overview:?}");
        let acme_row = overview.iter().find(|r| r.host_id == host.host_id).unwrap();
        assert_eq!(acme_row.plan.as_deref(), Some("daily"));
        let time = |e: &Option<tend_store::BackupEventRow>| e.as_ref().map(|e| (e.started_at, e.ok));
        assert_eq!(time(&acme_row.last_backup), Some((at(150), false)));
        assert_eq!(time(&acme_row.last_good_backup), Some((at(50), true)));
        assert_eq!(acme_row.last_good_backup.as_ref().unwrap().body, event("daily", "backup", true, 50).body);
        assert_eq!(time(&acme_row.last_check), Some((at(60), false)));
        assert_eq!(time(&acme_row.last_restore_test), Some((at(160), true)));
        // A host without plans is listed once, without one.
        let globex_row = overview.iter().find(|r| r.client_id == globex).unwrap();
        assert_eq!((globex_row.plan.as_deref(), globex_row.last_backup.as_ref()), (None, None));

        // Scoped: a client's users, or a client filter, see that client's hosts only.
        let own = store.backup_overview(Scope::Client(globex), None).await.unwrap();
        assert_eq!(own.iter().map(|r| r.client_id).collect::<Vec<_>>(), [globex]);
        let filtered = store.backup_overview(Scope::AllClients, Some(acme)).await.unwrap();
        assert_eq!(filtered.iter().map(|r| r.host_id).collect::<Vec<_>>(), [host.host_id]);
        assert!(store.backup_overview(Scope::Client(globex), Some(acme)).await.unwrap().is_empty());
        db
    })
    .await;
}
