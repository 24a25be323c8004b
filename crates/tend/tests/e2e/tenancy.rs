//! A client's users see their own client and nothing of any other.

use serde_json::json;
use tend_proto::api::{Client, Host, Page, User};

use crate::harness::{Api, Server, each_backend, now};

const PASSWORD: &str = "a-long-enough-password";

/// Enrolls a host into a new client through the store, and a user of that client.
async fn client_with_host_and_user(server: &Server, name: &str) -> (i64, i64, Api) {
    let (client_id, token) = server.client_with_token(name, 1).await;
    let hash = tend_server::auth::hash_secret(&token);
    let credential = format!("cred-{name}");
    let enrolled = server.store.enroll_agent(&hash, &format!("{name}-db1"), None, &credential, now()).await.unwrap();
    let body = json!({ "username": format!("{name}-user"), "password": PASSWORD, "role": "client_user", "client_id": client_id });
    let _: User = server.admin.post_ok("/api/v1/users", &body).await;
    let user = Api::login(&server.url, &format!("{name}-user"), PASSWORD).await;
    (client_id, enrolled.host_id, user)
}

#[tokio::test]
async fn a_client_user_can_neither_list_nor_fetch_another_clients_data() {
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let (acme, acme_host, acme_user) = client_with_host_and_user(&server, "acme").await;
        let (globex, globex_host, _) = client_with_host_and_user(&server, "globex").await;

        let hosts: Page<Host> = acme_user.get_ok("/api/v1/hosts").await;
        assert_eq!(hosts.items.iter().map(|h| h.id).collect::<Vec<_>>(), vec![acme_host]);
        let filtered: Page<Host> = acme_user.get_ok(&format!("/api/v1/hosts?client={globex}")).await;
        assert!(filtered.items.is_empty());
        let clients: Page<Client> = acme_user.get_ok("/api/v1/clients").await;
        assert_eq!(clients.items.iter().map(|c| c.id).collect::<Vec<_>>(), vec![acme]);
        let users: Vec<User> = acme_user.get_ok("/api/v1/users").await;
        assert!(users.iter().all(|u| u.client_id == Some(acme)));

        for path in [
            format!("/api/v1/hosts/{globex_host}"),
            format!("/api/v1/hosts/{globex_host}/metrics?name=load1"),
            format!("/api/v1/clients/{globex}"),
            format!("/api/v1/clients/{globex}/sites"),
        ] {
            let answer = acme_user.get(&path).await;
            assert_eq!(answer.status, 404, "{path}: {}", answer.body);
            answer.problem();
        }
        let tokens: Vec<serde_json::Value> = acme_user.get_ok("/api/v1/enrollment-tokens").await;
        assert!(tokens.iter().all(|t| t["client_id"] == json!(acme)), "{tokens:?}");

        // Writes: refused for another client (404, it does not exist for them) and for their own.
        let other_token = acme_user.post("/api/v1/enrollment-tokens", &json!({ "client_id": globex })).await;
        assert_eq!(other_token.status, 404);
        let own_token = acme_user.post("/api/v1/enrollment-tokens", &json!({ "client_id": acme })).await;
        assert_eq!(own_token.status, 403);
        assert_eq!(acme_user.post("/api/v1/clients", &json!({ "name": "mine" })).await.status, 403);
        let user_elsewhere =
            json!({ "username": "spy", "password": PASSWORD, "role": "client_user", "client_id": globex });
        assert_eq!(acme_user.post("/api/v1/users", &user_elsewhere).await.status, 404);
        let admin = json!({ "username": "boss", "password": PASSWORD, "role": "admin" });
        assert_eq!(acme_user.post("/api/v1/users", &admin).await.problem().status, 403);
        let agents = server.store.agent_by_credential("cred-globex").await.unwrap().unwrap();
        let revoke = acme_user.post(&format!("/api/v1/agents/{}/revoke", agents.agent_id), &()).await;
        assert_eq!(revoke.status, 404);
        server.stop().await;
        db
    })
    .await;
}
