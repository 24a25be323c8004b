//! The mail round trip against real servers on loopback: aiosmtpd (Debian's python3-aiosmtpd)
//! accepting SMTP and handing each message to dovecot-lda, and a dovecot IMAP instance with
//! its own configuration, users and Maildir in a temporary directory.

use crate::support::{Ca, Peer, evidence, free_ports, metric, require, shared_dir, tool};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tempfile::TempDir;
use tend_probe::{MailSpec, ProbeOutcome, ProbeSpec, Secret, run};

const USER: &str = "probe";
const IMAP_PASSWORD: &str = "imap-secret";
const SMTP_PASSWORD: &str = "smtp-secret";
/// The mail store's owner when the tests run as root (dovecot will not serve mail as root):
/// Debian's nobody and nogroup.
const NOBODY: u32 = 65534;

#[derive(Clone, Copy, PartialEq)]
enum Smtp {
    Plain,
    /// STARTTLS required, and AUTH with `SMTP_PASSWORD`.
    StarttlsAuth,
    Implicit,
    /// Accepts every message and delivers none.
    Discard,
}

struct MailLab {
    dir: TempDir,
    ca: Ca,
    smtp_port: u16,
    imap_port: u16,
    imaps_port: u16,
    // Declared last: stopped before the directory they use is removed.
    _smtp: Peer,
    _dovecot: Peer,
}

impl MailLab {
    fn start(smtp: Smtp) -> Result<MailLab, String> {
        let dovecot = tool("dovecot", "dovecot-imapd")?;
        let lda = tool("dovecot-lda", "dovecot-core")?;
        let python = python_with_aiosmtpd()?;
        let dir = shared_dir();
        let root = dir.path();
        let ca = Ca::new();
        let (cert, key) = ca.leaf(&["127.0.0.1", "localhost"], -1, 30).write_pem(root);
        let mail = root.join("mail");
        std::fs::create_dir(&mail).map_err(|e| e.to_string())?;
        let identity = Identity::of_this_process()?;
        if identity.uid == NOBODY {
            std::os::unix::fs::chown(&mail, Some(NOBODY), Some(NOBODY)).map_err(|e| e.to_string())?;
        }
        std::fs::write(root.join("passwd"), format!("{USER}:{{PLAIN}}{IMAP_PASSWORD}\n")).map_err(|e| e.to_string())?;
        let [imap_port, imaps_port, smtp_port] = free_ports();
        let config = root.join("dovecot.conf");
        std::fs::write(&config, dovecot_config(root, &identity, &cert, &key, imap_port, imaps_port))
            .map_err(|e| e.to_string())?;

        let mut dovecot_peer = Peer::start("dovecot", Command::new(dovecot).arg("-F").arg("-c").arg(&config));
        dovecot_peer.wait_for_port(imap_port);
        dovecot_peer.wait_for_port(imaps_port);

        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/probes/smtp_server.py");
        let mut command = Command::new(python);
        command.arg(script).arg("--port").arg(smtp_port.to_string()).arg("--lda").arg(lda);
        command.arg("--dovecot-config").arg(&config);
        match smtp {
            Smtp::Plain => {}
            Smtp::StarttlsAuth => {
                command.arg("--cert").arg(&cert).arg("--key").arg(&key);
                command.args(["--user", USER, "--password", SMTP_PASSWORD]);
            }
            Smtp::Implicit => {
                command.arg("--cert").arg(&cert).arg("--key").arg(&key).arg("--implicit-tls");
            }
            Smtp::Discard => {
                command.arg("--discard");
            }
        }
        let mut smtp_peer = Peer::start("aiosmtpd", &mut command);
        smtp_peer.wait_for_port(smtp_port);
        Ok(MailLab { dir, ca, smtp_port, imap_port, imaps_port, _smtp: smtp_peer, _dovecot: dovecot_peer })
    }

    /// Plain SMTP and plain IMAP; tests switch on what they exercise.
    fn spec(&self) -> MailSpec {
        MailSpec {
            smtp: format!("127.0.0.1:{}", self.smtp_port),
            starttls: false,
            smtp_tls: false,
            smtp_user: None,
            smtp_password: None,
            from: "monitor@tend.test".into(),
            to: format!("{USER}@localhost"),
            imap: format!("127.0.0.1:{}", self.imap_port),
            imap_tls: false,
            imap_starttls: false,
            imap_user: USER.into(),
            imap_password: Secret::new(IMAP_PASSWORD),
            mailbox: "INBOX".into(),
            timeout_secs: 20,
            ca_file: Some(self.ca.ca_file()),
        }
    }

    /// Messages in the Maildir, new or seen.
    fn messages(&self) -> usize {
        ["new", "cur"]
            .iter()
            .map(|sub| std::fs::read_dir(self.dir.path().join("mail").join(USER).join(sub)).map_or(0, |d| d.count()))
            .sum()
    }
}

/// Who dovecot runs as and who owns the mail.
struct Identity {
    uid: u32,
    gid: u32,
    /// Settings that let dovecot run without root: every internal process as this user.
    unprivileged: String,
}

impl Identity {
    fn of_this_process() -> Result<Identity, String> {
        let me = std::fs::metadata("/proc/self").map_err(|e| e.to_string())?;
        if me.uid() == 0 {
            // Root: dovecot's own users (dovecot, dovenull) run its processes; mail as nobody.
            return Ok(Identity { uid: NOBODY, gid: NOBODY, unprivileged: String::new() });
        }
        let id = |flag: &str| {
            Command::new("id")
                .arg(flag)
                .output()
                .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
                .map_err(|e| format!("id {flag}: {e}"))
        };
        let (user, group) = (id("-un")?, id("-gn")?);
        Ok(Identity {
            uid: me.uid(),
            gid: me.gid(),
            unprivileged: format!(
                "default_internal_user = {user}\ndefault_internal_group = {group}\ndefault_login_user = {user}\n"
            ),
        })
    }
}

/// A dovecot serving IMAP on 127.0.0.1 only (plain with STARTTLS, and implicit TLS), its
/// sockets, state and log inside `root`, users from a passwd-file, mail in `root/mail/<user>`.
fn dovecot_config(root: &Path, identity: &Identity, cert: &Path, key: &Path, imap: u16, imaps: u16) -> String {
    let root = root.display();
    let Identity { uid, gid, unprivileged } = identity;
    format!(
        r#"{unprivileged}base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
mail_location = maildir:{root}/mail/%n
auth_username_format = %Ln
disable_plaintext_auth = no
postmaster_address = postmaster@localhost
passdb {{
  driver = passwd-file
  args = {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%n
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = {imaps}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"#,
        cert = cert.display(),
        key = key.display(),
    )
}

/// A Python that can import aiosmtpd: Debian's python3-aiosmtpd installs it for /usr/bin/python3,
/// which need not be the python3 first on PATH.
fn python_with_aiosmtpd() -> Result<PathBuf, String> {
    ["python3", "/usr/bin/python3"]
        .into_iter()
        .map(PathBuf::from)
        .find(|python| {
            Command::new(python).args(["-c", "import aiosmtpd"]).output().is_ok_and(|out| out.status.success())
        })
        .ok_or_else(|| "no python3 can import aiosmtpd (Debian package python3-aiosmtpd)".to_owned())
}

async fn probe(spec: MailSpec) -> ProbeOutcome {
    run(&ProbeSpec::Mail(spec), Duration::from_secs(30)).await
}

#[tokio::test]
async fn a_message_goes_round_and_is_deleted() {
    let lab = require!(MailLab::start(Smtp::Plain));
    let outcome = probe(lab.spec()).await;
    assert!(outcome.ok, "{outcome:?}");
    assert!(outcome.summary.starts_with("delivered to probe@localhost INBOX in "), "{}", outcome.summary);
    assert!(outcome.summary.ends_with("then deleted"), "{}", outcome.summary);
    assert!(metric(&outcome, "mail_delivery_ms").is_some_and(|ms| ms > 0.0));
    assert!(metric(&outcome, "smtp_ms").is_some());
    assert!(evidence(&outcome, "smtp_response").is_some_and(|r| r.starts_with("250 ")), "{outcome:?}");
    assert_eq!(evidence(&outcome, "tag").map(str::len), Some(24));
    assert_eq!(lab.messages(), 0, "the probe message must be expunged");

    // A second run finds its own message, not the first one's.
    let again = probe(lab.spec()).await;
    assert!(again.ok, "{again:?}");
    assert_ne!(evidence(&again, "tag"), evidence(&outcome, "tag"));
}

#[tokio::test]
async fn starttls_with_auth_for_smtp_and_implicit_tls_for_imap() {
    let lab = require!(MailLab::start(Smtp::StarttlsAuth));
    let spec = MailSpec {
        starttls: true,
        smtp_user: Some(USER.into()),
        smtp_password: Some(Secret::new(SMTP_PASSWORD)),
        imap: format!("127.0.0.1:{}", lab.imaps_port),
        imap_tls: true,
        ..lab.spec()
    };
    let outcome = probe(spec.clone()).await;
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(lab.messages(), 0);

    let refused = probe(MailSpec { smtp_password: Some(Secret::new("wrong")), ..spec }).await;
    assert!(!refused.ok);
    assert!(refused.summary.starts_with(&format!("SMTP to 127.0.0.1:{}: ", lab.smtp_port)), "{}", refused.summary);
    assert!(refused.summary.contains("535"), "{}", refused.summary);
}

#[tokio::test]
async fn implicit_tls_for_smtp_and_starttls_for_imap() {
    let lab = require!(MailLab::start(Smtp::Implicit));
    let outcome = probe(MailSpec { smtp_tls: true, imap_starttls: true, ..lab.spec() }).await;
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(lab.messages(), 0);

    let untrusted = probe(MailSpec { imap_starttls: true, ca_file: None, ..lab.spec() }).await;
    assert!(!untrusted.ok);
    assert!(untrusted.summary.starts_with("IMAP TLS handshake with 127.0.0.1: "), "{}", untrusted.summary);
    assert!(untrusted.summary.contains("UnknownIssuer"), "{}", untrusted.summary);
}

#[tokio::test]
async fn a_wrong_imap_password_fails_before_anything_is_sent() {
    let lab = require!(MailLab::start(Smtp::Plain));
    let outcome = probe(MailSpec { imap_password: Secret::new("wrong"), ..lab.spec() }).await;
    assert!(!outcome.ok);
    assert!(outcome.summary.starts_with("IMAP LOGIN as probe: NO "), "{}", outcome.summary);
    assert!(!outcome.summary.contains("wrong"), "the password must not show: {}", outcome.summary);
    assert_eq!(evidence(&outcome, "tag"), None, "nothing was sent");
    assert_eq!(lab.messages(), 0);
}

#[tokio::test]
async fn a_message_that_never_arrives_times_out() {
    let lab = require!(MailLab::start(Smtp::Discard));
    let outcome = probe(MailSpec { timeout_secs: 2, ..lab.spec() }).await;
    assert!(!outcome.ok);
    assert!(outcome.summary.starts_with("waiting for the message in INBOX: timed out after 2"), "{}", outcome.summary);
    assert!((2000..3000).contains(&outcome.duration_ms), "took {} ms", outcome.duration_ms);
    assert!(evidence(&outcome, "smtp_response").is_some(), "the submission itself succeeded");
}
