use jiff::SignedDuration;
use tend_core::tenancy::Scope;
use tend_store::{AlertEventRecord, AlertUpdate, ChannelRow, NotificationIntent};

use crate::{at, client_with_host, each_backend};

#[tokio::test]
async fn an_alert_change_and_its_notifications_are_one_write_and_claimed_once() {
    each_backend(|store, db| async move {
        let (client_id, enrolled) = client_with_host(&store, "acme").await;
        let channel = ChannelRow {
            id: 0,
            client_id: Some(client_id),
            site_id: None,
            support_level: None,
            kind: "webhook".into(),
            target: "http://h".into(),
            min_severity: "warning".into(),
        };
        let channel = store.create_channel(&channel, at(0)).await.unwrap();
        let update = AlertUpdate {
            dedup_key: format!("{}/disk_usage//", enrolled.host_id),
            client_id,
            host_id: Some(enrolled.host_id),
            check: "disk_usage".into(),
            target: "/".into(),
            state: "firing".into(),
            severity: Some("critical".into()),
            summary: "disk usage of / is 97.0".into(),
            track: "{}".into(),
            evidence: "{}".into(),
            opened_at: Some(at(10)),
            escalated_to: None,
            at: at(10),
            events: vec![AlertEventRecord { at: at(10), event: "firing".into(), detail: "{}".into(), notified: true }],
            notifications: vec![NotificationIntent {
                channel_id: channel.id,
                event: "firing".into(),
                body: "{}".into(),
            }],
        };
        store.apply_alert_updates(std::slice::from_ref(&update)).await.unwrap();
        let alerts = store.list_alerts(Scope::Client(client_id), true, 10).await.unwrap();
        assert_eq!((alerts.len(), alerts[0].last_notified_at), (1, Some(at(10))));
        assert!(store.list_alerts(Scope::Client(client_id + 1), true, 10).await.unwrap().is_empty());

        let lease = SignedDuration::from_secs(60);
        let claimed = store.claim_notifications(at(11), lease, 10).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!((claimed[0].channel_kind.as_str(), claimed[0].event.as_str()), ("webhook", "firing"));
        assert!(store.claim_notifications(at(12), lease, 10).await.unwrap().is_empty(), "claimed once");
        // The claiming instance died: after its lease another takes the notification.
        let again = store.claim_notifications(at(72), lease, 10).await.unwrap();
        assert_eq!(again.len(), 1);
        store.record_delivery(&[again[0].id], at(73), None, None).await.unwrap();
        assert!(store.claim_notifications(at(500), lease, 10).await.unwrap().is_empty(), "delivered");
        let statuses = store.alert_notifications(Scope::AllClients, alerts[0].id).await.unwrap();
        assert_eq!(statuses[0].2, "sent");
        db
    })
    .await;
}
