use tend_core::tenancy::Scope;
use tend_store::{IngestReport, IngestSample, MetricQuery, Store};

use crate::{at, client_with_host, each_backend};

fn sample(name: &str, labels: &str, value: f64) -> IngestSample {
    IngestSample { name: name.into(), labels: labels.into(), value }
}

fn report(seq: u64, secs: i64, load: f64) -> IngestReport {
    IngestReport {
        seq,
        collected_at: at(secs),
        stopping: false,
        interval_secs: None,
        facts: None,
        samples: vec![
            sample("load1", "{}", load),
            sample("fs_used_bytes", r#"{"mountpoint":"/"}"#, 30.0),
            sample("fs_total_bytes", r#"{"mountpoint":"/"}"#, 120.0),
        ],
        inventory: vec![("disks".into(), format!(r#"[{{"device":"/dev/sda","temperature_celsius":{load}}}]"#))],
        backups: vec![],
    }
}

async fn sample_count(store: &Store, db_url: &str) -> i64 {
    let _ = store;
    let pool = sqlx::AnyPool::connect(db_url).await.unwrap();
    let n: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM samples").fetch_one(&pool).await.unwrap();
    pool.close().await;
    n.0
}

#[tokio::test]
async fn a_replayed_batch_is_acknowledged_but_not_stored_twice() {
    each_backend(|store, db| async move {
        let (_, enrolled) = client_with_host(&store, "acme").await;
        let agent = store.agent_by_credential("cred-acme").await.unwrap().unwrap();
        let batch = [report(1, 10, 1.0), report(2, 20, 2.0)];

        let first = store.ingest(&agent, &batch, at(21)).await.unwrap();
        assert_eq!((first.acknowledged_seq, first.stored, first.duplicates, first.samples), (2, 2, 0, 6));
        assert_eq!(sample_count(&store, &db.url).await, 6);

        // The answer was lost; the agent sends the same batch and one more report.
        let replay = [report(1, 10, 1.0), report(2, 20, 2.0), report(3, 30, 3.0)];
        let second = store.ingest(&agent, &replay, at(31)).await.unwrap();
        assert_eq!((second.acknowledged_seq, second.stored, second.duplicates), (3, 1, 2));
        assert_eq!(sample_count(&store, &db.url).await, 9);

        let host = store.host(Scope::AllClients, enrolled.host_id).await.unwrap();
        assert_eq!(host.last_seen_at, Some(at(31)));
        assert!(!host.stopped);
        assert_eq!(host.headline.load1, Some(3.0));
        assert_eq!(host.headline.disk_used_percent, Some(25.0));

        let log = store.report_log(Scope::AllClients, enrolled.host_id, 10).await.unwrap();
        assert_eq!(log.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![3, 2, 1], "each report once");
        let inventory = store.inventory(Scope::AllClients, enrolled.host_id).await.unwrap();
        assert_eq!(inventory.len(), 1);
        assert_eq!(inventory[0].body, r#"[{"device":"/dev/sda","temperature_celsius":3}]"#);
        assert!(store.inventory(Scope::Client(-1), enrolled.host_id).await.is_err(), "scoped");
        db
    })
    .await;
}

#[tokio::test]
async fn facts_stopping_and_metric_steps() {
    each_backend(|store, db| async move {
        let (_, enrolled) = client_with_host(&store, "acme").await;
        let agent = store.agent_by_credential("cred-acme").await.unwrap().unwrap();
        let mut first = report(1, 0, 1.0);
        first.facts = Some(("srv-renamed".into(), r#"{"hostname":"srv-renamed"}"#.into()));
        let mut last = report(4, 90, 9.0);
        last.stopping = true;
        last.interval_secs = Some(15);
        let batch = [first, report(2, 30, 2.0), report(3, 60, 6.0), last];
        store.ingest(&agent, &batch, at(91)).await.unwrap();

        let host = store.host(Scope::AllClients, enrolled.host_id).await.unwrap();
        assert_eq!(host.hostname, "srv-renamed");
        assert_eq!(host.facts.as_deref(), Some(r#"{"hostname":"srv-renamed"}"#));
        assert!(host.stopped);
        assert_eq!(host.report_interval_secs, 15, "the heartbeat expects the agent's own interval");

        let query = MetricQuery { host_id: enrolled.host_id, name: "load1", from: at(0), to: at(120), step_secs: 60 };
        let series = store.metric_series(Scope::AllClients, &query).await.unwrap();
        assert_eq!(series.len(), 1);
        let step_start = |secs| {
            let ms = at(secs).as_millisecond();
            jiff::Timestamp::from_millisecond(ms - ms % 60_000).unwrap()
        };
        assert_eq!(series[0].points, vec![(step_start(0), 1.5), (step_start(60), 7.5)]);
        assert_eq!(series[0].labels, "{}");

        let latest = store.latest_values(Scope::AllClients, enrolled.host_id).await.unwrap();
        let load = latest.iter().find(|v| v.name == "load1").unwrap();
        assert_eq!((load.value, load.at), (9.0, at(90)));

        // A late replay of an old seq must not move the latest value back.
        let older = store.ingest(&agent, &[report(2, 30, 2.0)], at(100)).await.unwrap();
        assert_eq!((older.acknowledged_seq, older.duplicates), (4, 1));
        let host = store.host(Scope::AllClients, enrolled.host_id).await.unwrap();
        assert!(host.stopped, "a duplicate must not change the heartbeat");
        db
    })
    .await;
}
