//! The first page: login with CSRF protection, a dashboard that shows only what the user may see.

use serde_json::json;

use crate::harness::{ADMIN_PASSWORD, Server, each_backend, now};

/// A browser-like client that keeps cookies and does not follow redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn hidden_csrf(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a csrf field") + "name=\"csrf\" value=\"".len();
    html[start..start + 64].to_owned()
}

async fn log_in(server: &Server, browser: &reqwest::Client, user: &str, password: &str) -> reqwest::Response {
    let form = browser.get(format!("{}/login", server.url)).send().await.unwrap().text().await.unwrap();
    let csrf = hidden_csrf(&form);
    let fields = [("username", user), ("password", password), ("csrf", csrf.as_str())];
    browser.post(format!("{}/login", server.url)).form(&fields).send().await.unwrap()
}

#[tokio::test]
async fn the_dashboard_is_behind_a_csrf_protected_login_and_scoped() {
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        for name in ["acme", "globex"] {
            let (client_id, token) = server.client_with_token(name, 1).await;
            let hash = tend_server::auth::hash_secret(&token);
            server.store.enroll_agent(&hash, &format!("{name}-web1"), None, name, now()).await.unwrap();
            let user = json!({ "username": name, "password": "a-long-enough-password", "role": "client_user", "client_id": client_id });
            let _: serde_json::Value = server.admin.post_ok("/api/v1/users", &user).await;
        }

        let anonymous = browser();
        let redirect = anonymous.get(format!("{}/", server.url)).send().await.unwrap();
        assert_eq!((redirect.status().as_u16(), redirect.headers()["location"].to_str().unwrap()), (303, "/login"));

        // A login form posted from elsewhere carries no matching CSRF cookie.
        let forged = [("username", "admin"), ("password", ADMIN_PASSWORD), ("csrf", "0")];
        let refused = browser().post(format!("{}/login", server.url)).form(&forged).send().await.unwrap();
        assert_eq!(refused.status().as_u16(), 403);

        let wrong = log_in(&server, &browser(), "admin", "not-the-password").await;
        assert_eq!(wrong.status().as_u16(), 401);
        assert!(wrong.text().await.unwrap().contains("Wrong user name or password"));

        let admin = browser();
        let answer = log_in(&server, &admin, "admin", ADMIN_PASSWORD).await;
        assert_eq!(answer.status().as_u16(), 303);
        let cookie = answer.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
        let page = admin.get(format!("{}/", server.url)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("acme-web1") && page.contains("globex-web1"), "{page}");
        assert!(page.contains(r#"<span class="status pending">pending</span>"#));

        // The session cookie alone does not authorize changes through the API.
        let no_csrf = admin.post(format!("{}/api/v1/clients", server.url)).json(&json!({"name": "x"})).send().await.unwrap();
        assert_eq!(no_csrf.status().as_u16(), 403);
        let csrf = hidden_csrf(&page);
        let with_csrf = admin
            .post(format!("{}/api/v1/clients", server.url))
            .header("x-csrf-token", &csrf)
            .json(&json!({"name": "initech"}))
            .send()
            .await
            .unwrap();
        assert_eq!(with_csrf.status().as_u16(), 201);

        let customer = browser();
        log_in(&server, &customer, "acme", "a-long-enough-password").await;
        let page = customer.get(format!("{}/", server.url)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("acme-web1"), "{page}");
        assert!(!page.contains("globex") && !page.contains("initech"), "another client's data leaked: {page}");

        let logout = customer.post(format!("{}/logout", server.url)).form(&[("csrf", "forged")]).send().await.unwrap();
        assert_eq!(logout.status().as_u16(), 403);
        let csrf = hidden_csrf(&page);
        let logout = customer.post(format!("{}/logout", server.url)).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
        assert_eq!(logout.status().as_u16(), 303);
        let after = customer.get(format!("{}/", server.url)).send().await.unwrap();
        assert_eq!(after.status().as_u16(), 303, "logged out");
        server.stop().await;
        db
    })
    .await;
}
