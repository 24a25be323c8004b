//! The customer portal through a browser-like client: a customer sees their servers and planned
//! maintenance, files a reinstall that is refused until they acknowledge the erasure, follows it
//! to its resolution and confirms it; another client sees nothing of it; the signed link of the
//! resolution e-mail confirms without logging in; forms without their CSRF token are refused.

use serde_json::json;
use tend_proto::api::User;
use tend_proto::tickets::{Ticket, TicketDetail};
use tend_store::Scope;

use crate::harness::{Api, Server, each_backend, now};

const PASSWORD: &str = "a long enough customer password";

/// A browser-like client that keeps cookies and does not follow redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The first CSRF field of a page (every portal page has the session's in its logout form).
fn hidden_csrf(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a csrf field") + "name=\"csrf\" value=\"".len();
    html[start..start + 64].to_owned()
}

/// A client with one enrolled host and a customer user: (client id, host id, username).
async fn client_with_host(server: &Server, name: &str) -> (i64, i64, String) {
    let (client_id, token) = server.client_with_token(name, 1).await;
    let hash = tend_server::auth::hash_secret(&token);
    let credential = tend_server::auth::hash_secret(&format!("cred-{name}"));
    let enrolled = server.store.enroll_agent(&hash, &format!("{name}-db1"), None, &credential, now()).await.unwrap();
    let username = format!("{name}-it");
    let body = json!({ "username": username, "password": PASSWORD, "role": "client_user", "client_id": client_id });
    let _: User = server.admin.post_ok("/api/v1/users", &body).await;
    (client_id, enrolled.host_id, username)
}

/// A browser logged in through the login form.
async fn logged_in(server: &Server, username: &str, password: &str) -> reqwest::Client {
    let browser = browser();
    let form = browser.get(format!("{}/login", server.url)).send().await.unwrap().text().await.unwrap();
    let csrf = hidden_csrf(&form);
    let fields = [("username", username), ("password", password), ("csrf", csrf.as_str())];
    let answer = browser.post(format!("{}/login", server.url)).form(&fields).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 303, "{username} logs in");
    browser
}

async fn get(browser: &reqwest::Client, server: &Server, path: &str) -> (u16, String) {
    let answer = browser.get(format!("{}{path}", server.url)).send().await.unwrap();
    (answer.status().as_u16(), answer.text().await.unwrap())
}

/// Posts a form; (status, Location header, body).
async fn post(
    browser: &reqwest::Client,
    server: &Server,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, String, String) {
    let answer = browser.post(format!("{}{path}", server.url)).form(fields).send().await.unwrap();
    let location = answer.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (answer.status().as_u16(), location, answer.text().await.unwrap())
}

async fn technician(server: &Server) -> Api {
    let body = json!({ "username": "ada", "password": PASSWORD, "role": "technician", "support_level": "L1" });
    let _: User = server.admin.post_ok("/api/v1/users", &body).await;
    Api::login(&server.url, "ada", PASSWORD).await
}

async fn resolve(tech: &Api, id: i64) {
    let body = json!({ "status": "resolved", "note": "Done: please check." });
    let resolved: Ticket = tech.post_ok(&format!("/api/v1/tickets/{id}/status"), &body).await;
    assert_eq!(resolved.status, "resolved");
}

#[tokio::test]
async fn portal_files_a_reinstall_only_once_the_erasure_is_acknowledged_and_confirms_it() {
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let (client_id, host_id, username) = client_with_host(&server, "acme").await;
        let (_, _, other_username) = client_with_host(&server, "globex").await;
        let start =
            (now() + jiff::SignedDuration::from_hours(48)).to_zoned(jiff::tz::TimeZone::get("Europe/Paris").unwrap());
        let window = json!({
            "client_id": client_id, "title": "Kernel updates", "description": "Servers reboot one after the other.",
            "start": start.datetime().round(jiff::Unit::Minute).unwrap().to_string(), "time_zone": "Europe/Paris",
            "duration_minutes": 120,
        });
        let _: serde_json::Value = server.admin.post_ok("/api/v1/maintenance", &window).await;

        // Visitors log in first; the provider's staff have their own pages.
        let (status, _, _) = post(&browser(), &server, "/portal/tickets/new", &[("kind", "incident")]).await;
        assert_eq!(status, 303);
        let admin = logged_in(&server, "admin", crate::harness::ADMIN_PASSWORD).await;
        let staff = admin.get(format!("{}/portal", server.url)).send().await.unwrap();
        assert_eq!((staff.status().as_u16(), staff.headers()["location"].to_str().unwrap()), (303, "/"));

        let customer = logged_in(&server, &username, PASSWORD).await;
        let (status, home) = get(&customer, &server, "/portal").await;
        assert_eq!(status, 200, "{home}");
        assert!(home.contains("acme-db1") && home.contains("Kernel updates"), "{home}");
        assert!(home.contains("(Europe/Paris)"), "the window in its own time zone: {home}");
        assert!(!home.contains("globex"), "another client's data leaked: {home}");

        let (status, form) = get(&customer, &server, "/portal/tickets/new?kind=os_reinstall").await;
        assert_eq!(status, 200);
        assert!(form.contains("I understand that reinstalling erases all data on this server"), "{form}");
        let csrf = hidden_csrf(&form);
        let host = host_id.to_string();
        let mut fields = vec![
            ("csrf", csrf.as_str()),
            ("kind", "os_reinstall"),
            ("subject", "Reinstall db1"),
            ("host_id", host.as_str()),
            ("os", "Debian"),
            ("version", "13"),
            ("raid_layout", "RAID 1 over both disks"),
            ("impact", "medium"),
            ("urgency", "low"),
        ];
        let (status, _, refused) = post(&customer, &server, "/portal/tickets/new", &fields).await;
        assert_eq!(status, 422, "{refused}");
        let message = refused.find(r#"id="erase_acknowledged-error""#).expect("the message next to the checkbox");
        let checkbox = refused.find(r#"id="erase_acknowledged" name="erase_acknowledged""#).expect("the checkbox");
        assert!(message < checkbox && checkbox - message < 400, "the message sits with its field: {refused}");
        assert!(refused[message..checkbox].contains("acknowledge that reinstalling erases all data"), "{refused}");
        assert!(refused.contains(r#"value="Debian""#) && refused.contains("RAID 1 over both disks"), "kept: {refused}");
        assert!(server.store.tickets(Scope::System, &Default::default(), 10).await.unwrap().is_empty());

        // Without the session's CSRF token nothing is filed either.
        let forged: Vec<(&str, &str)> = fields.iter().copied().filter(|(k, _)| *k != "csrf").collect();
        let (status, _, _) = post(&customer, &server, "/portal/tickets/new", &forged).await;
        assert_eq!(status, 403);
        assert!(server.store.tickets(Scope::System, &Default::default(), 10).await.unwrap().is_empty());

        fields.push(("erase_acknowledged", "true"));
        let (status, location, _) = post(&customer, &server, "/portal/tickets/new", &fields).await;
        assert_eq!(status, 303);
        let id: i64 = location.strip_prefix("/portal/tickets/").expect("the ticket's page").parse().unwrap();
        let (status, page) = get(&customer, &server, &location).await;
        assert_eq!(status, 200);
        assert!(page.contains("The customer acknowledges that reinstalling erases all data on acme-db1."), "{page}");
        assert!(page.contains("Response:"), "the SLA clocks: {page}");

        let tech = technician(&server).await;
        resolve(&tech, id).await;
        let (_, page) = get(&customer, &server, &location).await;
        assert!(page.contains("Is it fixed?") && page.contains("Done: please check."), "{page}");
        let confirm = format!("{location}/confirm");
        let (status, _, _) = post(&customer, &server, &confirm, &[("rating", "5")]).await;
        assert_eq!(status, 403, "a confirmation without the CSRF token");
        let (status, back, _) = post(&customer, &server, &confirm, &[("csrf", &csrf), ("rating", "5")]).await;
        assert_eq!((status, back.as_str()), (303, location.as_str()));
        let detail: TicketDetail = server.admin.get_ok(&format!("/api/v1/tickets/{id}")).await;
        assert_eq!((detail.ticket.status.as_str(), detail.ticket.rating), ("closed", Some(5)));
        let (_, page) = get(&customer, &server, &location).await;
        assert!(page.contains("5 out of 5") && !page.contains("Is it fixed?"), "{page}");

        // Another client's user finds no such page.
        let other = logged_in(&server, &other_username, PASSWORD).await;
        let (status, page) = get(&other, &server, &location).await;
        assert_eq!(status, 404);
        assert!(!page.contains("Reinstall db1"), "{page}");
        let other_csrf = hidden_csrf(&get(&other, &server, "/portal").await.1);
        let (status, _, _) =
            post(&other, &server, &format!("{location}/reply"), &[("csrf", &other_csrf), ("reply", "hello?")]).await;
        assert_eq!(status, 404);
        server.stop().await;
        db
    })
    .await;
}

#[tokio::test]
async fn portal_link_confirms_without_login_behind_its_cookie() {
    each_backend(|db| async move {
        let server = Server::start(&db).await;
        let (_, host_id, username) = client_with_host(&server, "acme").await;
        let customer = logged_in(&server, &username, PASSWORD).await;
        let csrf = hidden_csrf(&get(&customer, &server, "/portal/tickets/new?kind=incident").await.1);
        let host = host_id.to_string();
        let incident = [
            ("csrf", csrf.as_str()),
            ("kind", "incident"),
            ("subject", "The printer is on fire"),
            ("description", "Smoke since 9:00."),
            ("host_ids", host.as_str()),
            ("impact", "high"),
            ("urgency", "high"),
        ];
        let (status, location, body) = post(&customer, &server, "/portal/tickets/new", &incident).await;
        assert_eq!(status, 303, "{body}");
        let id: i64 = location.strip_prefix("/portal/tickets/").unwrap().parse().unwrap();
        let filed = server.store.ticket(Scope::System, id).await.unwrap();
        assert_eq!((filed.priority.as_str(), filed.host_ids.as_slice()), ("p1", &[host_id][..]));
        resolve(&technician(&server).await, id).await;

        let link = format!("/tickets/confirm/{}", filed.reply_token);
        let (status, _) = get(&browser(), &server, "/tickets/confirm/not-a-token").await;
        assert_eq!(status, 404);
        let anonymous = browser();
        let answer = anonymous.get(format!("{}{link}", server.url)).send().await.unwrap();
        assert_eq!(answer.headers()["referrer-policy"], "no-referrer");
        let page = answer.text().await.unwrap();
        assert!(page.contains("The printer is on fire") && !page.contains("Smoke since"), "{page}");
        let link_csrf = hidden_csrf(&page);

        // A form posted from elsewhere carries no matching cookie.
        let confirm = [("csrf", link_csrf.as_str()), ("action", "confirm"), ("rating", "4")];
        let (status, _, _) = post(&browser(), &server, &link, &confirm).await;
        assert_eq!(status, 403);
        let (status, _, _) = post(&anonymous, &server, &link, &[("action", "confirm"), ("rating", "4")]).await;
        assert_eq!(status, 403);
        assert_eq!(server.store.ticket(Scope::System, id).await.unwrap().status, "resolved");

        let page = anonymous.get(format!("{}{link}", server.url)).send().await.unwrap().text().await.unwrap();
        let link_csrf = hidden_csrf(&page);
        let bad = [("csrf", link_csrf.as_str()), ("action", "confirm"), ("rating", "9")];
        let (status, _, refused) = post(&anonymous, &server, &link, &bad).await;
        assert_eq!(status, 422);
        assert!(refused.contains(r#"id="rating-error""#), "{refused}");
        let link_csrf = hidden_csrf(&refused);
        let confirm = [("csrf", link_csrf.as_str()), ("action", "confirm"), ("rating", "4"), ("comment", "Quick")];
        let (status, back, _) = post(&anonymous, &server, &link, &confirm).await;
        assert_eq!((status, back.as_str()), (303, link.as_str()));
        let closed = server.store.ticket(Scope::System, id).await.unwrap();
        assert_eq!((closed.status.as_str(), closed.rating), ("closed", Some(4)));
        let (_, page) = get(&anonymous, &server, &link).await;
        assert!(page.contains("This request is closed") && !page.contains("Confirm and close"), "{page}");
        server.stop().await;
        db
    })
    .await;
}
