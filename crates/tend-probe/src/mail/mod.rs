//! The mail round trip: log in to IMAP, submit a uniquely tagged message by SMTP, poll the
//! mailbox until it is there, delete it, and report how long delivery took.
//!
//! Owns the sequence and the message. IMAP is logged into before anything is sent, so a wrong
//! IMAP password fails the probe without leaving a message behind. Must not delete anything but
//! its own message: only its UID is flagged, and with UIDPLUS only its UID is expunged (a
//! server without UIDPLUS leaves no choice but a plain EXPUNGE, which also removes messages a
//! user had already flagged `\Deleted`, as their own client soon would).

pub(crate) mod imap;
pub mod mailbox;

use crate::certs::{self, RecordingVerifier};
use crate::outcome::{Failure, Probe, Verdict, millis, millis_f64};
use crate::spec::MailSpec;
use crate::{addr, net};
use imap::Imap;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use rustls::pki_types::{CertificateDer, ServerName};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};

/// The header that marks a probe's message, and what the mailbox is searched for.
const HEADER: &str = "X-Tend-Probe";
/// How often the mailbox is asked again; delivery on a healthy server takes about a second.
const POLL: Duration = Duration::from_millis(500);

/// Any stream an IMAP session runs over: TCP, or TLS over TCP.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

pub(crate) async fn probe(spec: &MailSpec, p: &mut Probe) -> Verdict {
    p.shorten(Duration::from_secs(spec.timeout_secs));
    let extra = match &spec.ca_file {
        Some(path) => p.step(format!("CA file {path}"), certs::read_ca_file(path)).await?,
        None => Vec::new(),
    };
    let mailbox = &spec.mailbox;
    let mut session = open_imap(spec, &extra, p).await?;
    let caps = p.step("IMAP CAPABILITY", session.command("CAPABILITY")).await?;
    p.step(format!("IMAP SELECT {mailbox}"), session.command(&format!("SELECT {}", imap::quote(mailbox)))).await?;

    let tag = new_tag().map_err(Failure)?;
    p.evidence("tag", &tag);
    let message = compose(spec, &tag);
    let sent = Instant::now();
    let smtp = submit(spec, &extra, &message, p).await?;
    let smtp_took = sent.elapsed();
    p.evidence("smtp_response", smtp);
    p.metric("smtp_ms", millis_f64(smtp_took));

    let search = format!("UID SEARCH HEADER {HEADER} {tag}");
    let waiting = async {
        loop {
            // NOOP lets the server notice new mail; some only look on a command that syncs.
            session.command("NOOP").await?;
            let uids = imap::search_results(&session.command(&search).await?);
            if !uids.is_empty() {
                return Ok::<_, String>(uids);
            }
            tokio::time::sleep(POLL).await;
        }
    };
    let uids = p.step(format!("waiting for the message in {mailbox}"), waiting).await?;
    let delivered = sent.elapsed();
    p.metric("mail_delivery_ms", millis_f64(delivered));
    let uid_set = uids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    p.evidence("uid", &uid_set);

    let store = format!("UID STORE {uid_set} +FLAGS.SILENT (\\Deleted)");
    p.step("IMAP STORE \\Deleted", session.command(&store)).await?;
    let expunge =
        if imap::has_capability(&caps, "UIDPLUS") { format!("UID EXPUNGE {uid_set}") } else { "EXPUNGE".into() };
    p.step("IMAP EXPUNGE", session.command(&expunge)).await?;
    // The probe has its answer; a server slow to say goodbye does not change it.
    let _ = p.step("IMAP LOGOUT", session.command("LOGOUT")).await;
    Ok(format!(
        "delivered to {} {mailbox} in {} ms (SMTP took {} ms), then deleted",
        spec.to,
        millis(delivered),
        millis(smtp_took)
    ))
}

/// Connects, secures (implicit TLS or STARTTLS) and logs in.
async fn open_imap(
    spec: &MailSpec,
    extra: &[CertificateDer<'static>],
    p: &mut Probe,
) -> Result<Imap<Box<dyn Stream>>, Failure> {
    let (host, port) = addr::host_port(&spec.imap, None).map_err(Failure)?;
    let (tcp, took) = net::connect(p, &host, port).await?;
    p.metric("imap_connect_ms", millis_f64(took));
    let mut session: Imap<Box<dyn Stream>> = if spec.imap_tls {
        let tls = start_tls(&host, extra, tcp, p).await?;
        p.step("IMAP greeting", Imap::greet(tls)).await?
    } else if spec.imap_starttls {
        let mut plain = p.step("IMAP greeting", Imap::greet(tcp)).await?;
        p.step("IMAP STARTTLS", plain.command("STARTTLS")).await?;
        Imap::resume(start_tls(&host, extra, plain.into_inner(), p).await?)
    } else {
        p.step("IMAP greeting", Imap::greet(Box::new(tcp) as Box<dyn Stream>)).await?
    };
    let login = format!("LOGIN {} {}", imap::quote(&spec.imap_user), imap::quote(spec.imap_password.expose()));
    p.step(format!("IMAP LOGIN as {}", spec.imap_user), session.command(&login)).await?;
    Ok(session)
}

async fn start_tls<S: Stream + 'static>(
    host: &str,
    extra: &[CertificateDer<'static>],
    stream: S,
    p: &mut Probe,
) -> Result<Box<dyn Stream>, Failure> {
    let name = ServerName::try_from(host.to_owned()).map_err(|e| Failure(format!("IMAP server name {host:?}: {e}")))?;
    let (config, verifier): (_, Arc<RecordingVerifier>) = certs::client_config(extra.to_vec()).map_err(Failure)?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    match p.step(format!("IMAP TLS handshake with {host}"), connector.connect(name, stream)).await {
        Ok(tls) => Ok(Box::new(tls)),
        Err(failure) => {
            certs::note_rejected(p, &verifier);
            Err(failure)
        }
    }
}

/// Hands the message to the SMTP server; returns its answer, as "250 2.0.0 Ok: queued as …".
async fn submit(
    spec: &MailSpec,
    extra: &[CertificateDer<'static>],
    message: &[u8],
    p: &Probe,
) -> Result<String, Failure> {
    let (host, port) = addr::host_port(&spec.smtp, None).map_err(Failure)?;
    let bad = |what: &str, e: &dyn std::fmt::Display| Failure(format!("{what}: {e}"));
    let from: Address = spec.from.parse().map_err(|e| bad("from", &e))?;
    let to: Address = spec.to.parse().map_err(|e| bad("to", &e))?;
    let envelope = lettre::address::Envelope::new(Some(from), vec![to]).map_err(|e| bad("envelope", &e))?;
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
        .port(port)
        .hello_name(ClientId::Domain(hostname()))
        // Each network read and write; the probe's deadline bounds the whole.
        .timeout(Some(p.remaining()));
    if spec.starttls || spec.smtp_tls {
        let mut params = TlsParameters::builder(host.clone()).certificate_store(CertificateStore::WebpkiRoots);
        for der in extra {
            params = params.add_root_certificate(Certificate::from_der(der.to_vec()).map_err(|e| bad("CA file", &e))?);
        }
        let params = params.build_rustls().map_err(|e| bad("SMTP TLS", &e))?;
        builder = builder.tls(if spec.smtp_tls { Tls::Wrapper(params) } else { Tls::Required(params) });
    }
    if let (Some(user), Some(password)) = (&spec.smtp_user, &spec.smtp_password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
    }
    let transport = builder.build();
    let response = p.step(format!("SMTP to {}", spec.smtp), transport.send_raw(&envelope, message)).await?;
    Ok(format!("{} {}", response.code(), response.message().collect::<Vec<_>>().join(" ")))
}

/// Twelve random bytes in hex: unique across every probe ever sent, and an IMAP atom.
fn new_tag() -> Result<String, String> {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness for a message tag: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The probe message. `Auto-Submitted` (RFC 3834) keeps vacation responders from answering it.
fn compose(spec: &MailSpec, tag: &str) -> Vec<u8> {
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let date = jiff::fmt::rfc2822::to_string(&now).unwrap_or_default();
    let domain = spec.from.rsplit_once('@').map_or("tend.invalid", |(_, d)| d);
    format!(
        "Date: {date}\r\n\
         From: {from}\r\n\
         To: {to}\r\n\
         Subject: tend delivery probe {tag}\r\n\
         Message-ID: <{tag}@{domain}>\r\n\
         {HEADER}: {tag}\r\n\
         Auto-Submitted: auto-generated\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\
         \r\n\
         tend sent this message to check that mail reaches this mailbox.\r\n\
         It deletes the message as soon as it finds it.\r\n",
        from = spec.from,
        to = spec.to,
    )
    .into_bytes()
}

/// This machine's name, for EHLO: the name a receiving server logs the probe under.
fn hostname() -> String {
    rustix::system::uname().nodename().to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Secret;

    #[test]
    fn the_message_carries_its_tag_and_headers() {
        let spec = MailSpec {
            smtp: "127.0.0.1:25".into(),
            starttls: false,
            smtp_tls: false,
            smtp_user: None,
            smtp_password: None,
            from: "probe@a.test".into(),
            to: "box@b.test".into(),
            imap: "127.0.0.1:143".into(),
            imap_tls: false,
            imap_starttls: false,
            imap_user: "box".into(),
            imap_password: Secret::new("pw"),
            mailbox: "INBOX".into(),
            timeout_secs: 10,
            ca_file: None,
        };
        let tag = new_tag().unwrap();
        assert_eq!(tag.len(), 24);
        assert_ne!(tag, new_tag().unwrap());
        let text = String::from_utf8(compose(&spec, &tag)).unwrap();
        assert!(text.contains(&format!("\r\nX-Tend-Probe: {tag}\r\n")), "{text}");
        assert!(text.contains(&format!("Message-ID: <{tag}@a.test>")));
        assert!(text.starts_with("Date: ") && text.contains("\r\n\r\n"));
        assert!(text.lines().all(|l| l.len() < 100 && l.is_ascii()));
    }
}
