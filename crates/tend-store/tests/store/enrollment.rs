use tend_core::enrollment::Refusal;
use tend_core::tenancy::Scope;
use tend_store::{Error, NewEnrollmentToken};

use crate::{at, each_backend};

fn refusal(err: Error) -> Refusal {
    match err {
        Error::Refused(tend_core::Error::EnrollmentRefused(r)) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn tokens_are_spent_and_refused_with_the_reason() {
    each_backend(|store, db| async move {
        let client = store.create_client("acme", at(0)).await.unwrap();
        let token = |hash, uses| NewEnrollmentToken {
            client_id: client.id,
            site_id: None,
            token_hash: hash,
            created_by: None,
            expires_at: at(100),
            uses,
        };
        store.create_enrollment_token(Scope::AllClients, token("single", 1), at(0)).await.unwrap();
        let multi = store.create_enrollment_token(Scope::AllClients, token("multi", 3), at(0)).await.unwrap();

        store.enroll_agent("single", "a", None, "cred-a", at(1)).await.unwrap();
        assert_eq!(
            refusal(store.enroll_agent("single", "b", None, "cred-b", at(2)).await.unwrap_err()),
            Refusal::Exhausted
        );
        assert_eq!(
            refusal(store.enroll_agent("nope", "b", None, "cred-b", at(2)).await.unwrap_err()),
            Refusal::Unknown
        );
        assert_eq!(
            refusal(store.enroll_agent("multi", "b", None, "cred-b", at(100)).await.unwrap_err()),
            Refusal::Expired
        );

        store.enroll_agent("multi", "b", None, "cred-b", at(3)).await.unwrap();
        store.revoke_enrollment_token(Scope::AllClients, multi.id, at(4)).await.unwrap();
        assert_eq!(
            refusal(store.enroll_agent("multi", "c", None, "cred-c", at(5)).await.unwrap_err()),
            Refusal::Revoked
        );

        let listed = store.list_enrollment_tokens(Scope::AllClients).await.unwrap();
        let multi = listed.iter().find(|t| t.id == multi.id).unwrap();
        assert_eq!((multi.uses_allowed, multi.uses_left, multi.revoked), (3, 2, true));
        db
    })
    .await;
}

#[tokio::test]
async fn a_reenrolled_machine_keeps_its_host_and_the_old_credential_dies() {
    each_backend(|store, db| async move {
        let client = store.create_client("acme", at(0)).await.unwrap();
        let token = NewEnrollmentToken {
            client_id: client.id,
            site_id: None,
            token_hash: "t",
            created_by: None,
            expires_at: at(100),
            uses: 2,
        };
        store.create_enrollment_token(Scope::AllClients, token, at(0)).await.unwrap();
        let first = store.enroll_agent("t", "srv", Some("m-1"), "cred-1", at(1)).await.unwrap();
        let second = store.enroll_agent("t", "srv", Some("m-1"), "cred-2", at(2)).await.unwrap();
        assert_eq!(first.host_id, second.host_id);
        assert_ne!(first.agent_id, second.agent_id);
        assert!(store.agent_by_credential("cred-1").await.unwrap().unwrap().revoked);
        let live = store.agent_by_credential("cred-2").await.unwrap().unwrap();
        assert!(!live.revoked);
        assert_eq!((live.host_id, live.client_id, live.report_interval_secs), (first.host_id, client.id, 60));
        assert!(store.agent_by_credential("cred-x").await.unwrap().is_none());

        store.revoke_agent(Scope::AllClients, second.agent_id, at(3)).await.unwrap();
        assert!(store.agent_by_credential("cred-2").await.unwrap().unwrap().revoked);
        assert!(store.host(Scope::AllClients, first.host_id).await.unwrap().agent_revoked);
        db
    })
    .await;
}
