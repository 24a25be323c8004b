use tend_core::tenancy::{Role, Scope, SupportLevel};
use tend_store::{Error, NewUser};

use crate::{at, each_backend};

#[tokio::test]
async fn users_tokens_and_sessions() {
    each_backend(|store, db| async move {
        let client = store.create_client("acme", at(0)).await.unwrap();
        let tech = NewUser {
            username: "tech",
            password_hash: "h1",
            role: Role::Technician(SupportLevel::L2),
            client_id: None,
        };
        let tech = store.create_user(tech, at(0)).await.unwrap();
        let customer =
            NewUser { username: "bob", password_hash: "h2", role: Role::ClientUser, client_id: Some(client.id) };
        store.create_user(customer.clone(), at(0)).await.unwrap();
        assert!(matches!(store.create_user(customer, at(0)).await, Err(Error::Conflict(_))));
        assert_eq!(store.count_users().await.unwrap(), 2);

        let found = store.user_by_username("tech").await.unwrap().unwrap();
        assert_eq!(found.role, Role::Technician(SupportLevel::L2));
        assert_eq!(found.principal().scope(), Scope::AllClients);
        let users = store.list_users(Scope::Client(client.id)).await.unwrap();
        assert_eq!(users.iter().map(|u| u.username.as_str()).collect::<Vec<_>>(), vec!["bob"]);

        let token_id = store.create_api_token(tech.id, "cli", "th", at(1)).await.unwrap();
        let (user, id) = store.user_by_api_token("th", at(2)).await.unwrap().unwrap();
        assert_eq!((user.id, id), (tech.id, token_id));
        let listed = store.list_api_tokens(tech.id).await.unwrap();
        assert_eq!(listed[0].last_used_at, Some(at(2)));
        assert!(store.revoke_api_token(tech.id + 1, token_id, at(3)).await.is_err(), "only the owner revokes");
        store.revoke_api_token(tech.id, token_id, at(3)).await.unwrap();
        assert!(store.user_by_api_token("th", at(4)).await.unwrap().is_none());

        store.create_session(tech.id, "sh", "csrf", at(0), at(100)).await.unwrap();
        assert_eq!(store.session("sh", at(50)).await.unwrap().unwrap().csrf_token, "csrf");
        assert!(store.session("sh", at(100)).await.unwrap().is_none(), "expired");
        store.delete_session("sh", at(50)).await.unwrap();
        assert!(store.session("sh", at(50)).await.unwrap().is_none());
        db
    })
    .await;
}
