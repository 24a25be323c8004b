//! Replies by e-mail end to end: a real dovecot serves the desk's mailbox over IMAP on loopback,
//! the test puts customers' replies into it by IMAP APPEND, and the server's timer reads them
//! onto their tickets.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tend_probe::imap::{Fetched, Mailbox, Search};
use tend_proto::api::User;
use tend_proto::tickets::{Ticket, TicketDetail};

use crate::harness::{Api, Server, each_backend_at_once, eventually};

const USER: &str = "desk";
const IMAP_PASSWORD: &str = "desk-imap-secret";
const PASSWORD: &str = "a long enough customer password";
/// The mail's owner when the tests run as root (dovecot will not serve mail as root): Debian's
/// nobody and nogroup.
const NOBODY: u32 = 65534;

/// A dovecot serving plain IMAP on 127.0.0.1, its configuration, users, state and Maildir in a
/// temporary directory; stopped when dropped.
struct Dovecot {
    port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

fn dovecot_binary() -> Option<PathBuf> {
    ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"].into_iter().map(PathBuf::from).find(|p| p.is_file())
}

impl Dovecot {
    fn start(binary: &Path) -> Dovecot {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // Dovecot's unprivileged processes must reach what is inside.
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mail = root.join("mail");
        std::fs::create_dir(&mail).unwrap();
        let me = std::fs::metadata("/proc/self").unwrap();
        let (uid, gid, unprivileged) = if me.uid() == 0 {
            std::os::unix::fs::chown(&mail, Some(NOBODY), Some(NOBODY)).unwrap();
            (NOBODY, NOBODY, String::new())
        } else {
            let id = |flag: &str| {
                String::from_utf8_lossy(&Command::new("id").arg(flag).output().unwrap().stdout).trim().to_owned()
            };
            let (user, group) = (id("-un"), id("-gn"));
            let settings = format!(
                "default_internal_user = {user}\ndefault_internal_group = {group}\ndefault_login_user = {user}\n"
            );
            (me.uid(), me.gid(), settings)
        };
        std::fs::write(root.join("passwd"), format!("{USER}:{{PLAIN}}{IMAP_PASSWORD}\n")).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let r = root.display();
        let config = format!(
            r#"{unprivileged}base_dir = {r}/run
state_dir = {r}/state
log_path = {r}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
mail_location = maildir:{r}/mail/%n
auth_username_format = %Ln
disable_plaintext_auth = no
passdb {{
  driver = passwd-file
  args = {r}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={r}/mail/%n
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"#
        );
        std::fs::write(root.join("dovecot.conf"), config).unwrap();
        let mut child = Command::new(binary)
            .arg("-F")
            .arg("-c")
            .arg(root.join("dovecot.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(root.join("dovecot.log")).unwrap_or_default();
                panic!("dovecot exited ({status}) before listening on {port}: {log}");
            }
            assert!(started.elapsed() < Duration::from_secs(10), "dovecot not listening on {port} after 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        Dovecot { port, child, _dir: dir }
    }

    async fn open(&self) -> Mailbox {
        let mut mailbox = Mailbox::connect("127.0.0.1", self.port, false, USER, IMAP_PASSWORD, Duration::from_secs(10))
            .await
            .unwrap();
        mailbox.select("INBOX").await.unwrap();
        mailbox
    }

    async fn deliver(&self, message: &str) {
        let mut mailbox = self.open().await;
        let message = message.replace("\r\n", "\n").replace('\n', "\r\n");
        mailbox.append("INBOX", message.as_bytes()).await.unwrap();
        mailbox.logout().await;
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // TERM first: dovecot's master takes its children down with it only when asked nicely.
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(3) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A reply as a mail client writes it: plain text in quoted-printable beside HTML, the earlier
/// message quoted below an attribution line.
fn reply_mail(from: &str, to: &str, ticket_id: i64, text_qp: &str) -> String {
    format!(
        "From: {from}\n\
         To: \"tend support\" <{to}>\n\
         Subject: Re: [tend #{ticket_id}] Update: printer jams\n\
         Date: Mon, 3 Mar 2025 10:05:00 +0100\n\
         Message-ID: <{ticket_id}.{}@acme.test>\n\
         MIME-Version: 1.0\n\
         Content-Type: multipart/alternative; boundary=\"b1\"\n\
         \n\
         --b1\n\
         Content-Type: text/plain; charset=utf-8\n\
         Content-Transfer-Encoding: quoted-printable\n\
         \n\
         {text_qp}\n\
         \n\
         On Mon, 3 Mar 2025 at 10:00, tend <{to}> wrote:\n\
         > Does it still jam?\n\
         --b1\n\
         Content-Type: text/html; charset=utf-8\n\
         \n\
         <p>html version</p>\n\
         --b1--\n",
        text_qp.len()
    )
}

#[tokio::test]
async fn a_customer_reply_by_e_mail_lands_on_its_ticket_once() {
    let Some(binary) = dovecot_binary() else {
        eprintln!("SKIP a_customer_reply_by_e_mail_lands_on_its_ticket_once: dovecot is not installed (dovecot-imapd)");
        return;
    };
    let binary = &binary;
    each_backend_at_once(|db| async move {
        let dovecot = Dovecot::start(binary);
        let server = Server::start_with(&db, |config| {
            config.desk.reply_address = "support@provider.test".into();
            config.desk.imap_host = "127.0.0.1".into();
            config.desk.imap_port = dovecot.port;
            config.desk.imap_tls = false;
            config.desk.imap_username = USER.into();
            config.desk.imap_password = IMAP_PASSWORD.into();
        })
        .await;
        let client: Value = server.admin.post_ok("/api/v1/clients", &json!({ "name": "acme" })).await;
        let client_id = client["id"].as_i64().unwrap();
        let contact = json!({ "name": "Bob Contact", "email": "bob@acme.test" });
        let _: Value = server.admin.post_ok(&format!("/api/v1/clients/{client_id}/contacts"), &contact).await;
        let user =
            json!({ "username": "acme-it", "password": PASSWORD, "role": "client_user", "client_id": client_id });
        let _: User = server.admin.post_ok("/api/v1/users", &user).await;
        let customer = Api::login(&server.url, "acme-it", PASSWORD).await;

        let filed: Ticket =
            customer.post_ok("/api/v1/tickets", &json!({ "kind": "incident", "subject": "printer jams" })).await;
        let status = format!("/api/v1/tickets/{}/status", filed.id);
        let _: Ticket = server.admin.post_ok(&status, &json!({ "status": "open" })).await;
        let waiting = json!({ "status": "waiting_on_customer", "note": "Does it still jam?" });
        let _: Ticket = server.admin.post_ok(&status, &waiting).await;
        let token = server.store.ticket(tend_store::Scope::System, filed.id).await.unwrap().reply_token;
        let address = format!("support+{token}@provider.test");

        // Set aside, not applied: the ticket's number alone, and a token of no ticket.
        let by_number = reply_mail("mallory@evil.test", "support@provider.test", filed.id, "Close it, by number.");
        dovecot.deliver(&by_number).await;
        let wrong = format!("support+{}@provider.test", "0".repeat(64));
        dovecot.deliver(&reply_mail("mallory@evil.test", &wrong, filed.id, "Close it, by guess.")).await;
        // Applied: the contact's reply, then one from someone the desk does not know.
        dovecot
            .deliver(&reply_mail("Bob Contact <Bob@acme.test>", &address, filed.id, "It works again =E2=80=93 thanks!"))
            .await;
        let from_stranger = "Anna Example <anna@elsewhere.test>";
        dovecot.deliver(&reply_mail(from_stranger, &address, filed.id, "Conf=\nirmed.")).await;

        let path = format!("/api/v1/tickets/{}", filed.id);
        let replies = eventually(Duration::from_secs(40), "both e-mail replies on the ticket", || async {
            let detail: TicketDetail = server.admin.get_ok(&path).await;
            let replies: Vec<String> = detail
                .history
                .iter()
                .filter(|e| e.kind == "reply" && e.body["staff"] == false)
                .map(|e| e.body["text"].as_str().unwrap_or_default().to_owned())
                .collect();
            (replies.len() >= 2).then_some(replies)
        })
        .await;
        assert_eq!(
            replies,
            vec!["It works again – thanks!".to_owned(), "[e-mail from anna@elsewhere.test]\n\nConfirmed.".to_owned()],
            "quotes stripped, the stranger named, nothing else applied"
        );
        let detail: TicketDetail = customer.get_ok(&path).await;
        assert_eq!(detail.ticket.status, "in_progress", "the customer's answer puts the ticket back in progress");

        // The applied messages are gone; the two set aside stay, marked read.
        let mut mailbox = dovecot.open().await;
        assert_eq!(mailbox.search(Search::Unseen).await.unwrap(), Vec::<u32>::new());
        let left = mailbox.search(Search::All).await.unwrap();
        assert_eq!(left.len(), 2, "{left:?}");
        for uid in left {
            let Fetched::Message(text) = mailbox.fetch(uid, 1 << 20).await.unwrap() else { panic!("message {uid}") };
            assert!(String::from_utf8_lossy(&text).contains("mallory@evil.test"));
        }
        mailbox.logout().await;

        server.stop().await;
        db
    })
    .await;
}
