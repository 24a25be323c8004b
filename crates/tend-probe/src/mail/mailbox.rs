//! A mailbox read over IMAP, for callers outside the probes: the server reads customers' replies
//! to tickets from the service desk's mailbox with it. Exported as `tend_probe::imap`.
//!
//! Owns the session: connecting (plain or implicit TLS), logging in, and one method per thing
//! a mailbox reader does, by UID. Every command runs within the session's timeout, so a server
//! that stops answering costs at most that long. Must not show the password: errors name the
//! step and quote the server, never the command.

use super::Stream;
use super::imap::{self, Imap};
use crate::certs;
use rustls::pki_types::ServerName;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

/// What went wrong, in the words of the step that failed and of the server or the network. After
/// an error the session is in an unknown state: drop it and connect again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{step}: {reason}")]
pub struct MailboxError {
    pub step: String,
    pub reason: String,
}

fn failed(step: impl Into<String>, reason: impl Into<String>) -> MailboxError {
    MailboxError { step: step.into(), reason: reason.into() }
}

/// Which messages [`Mailbox::search`] lists. Neither lists messages flagged `\Deleted`: they are
/// on their way out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Search {
    /// Messages nobody has read yet (no `\Seen` flag).
    Unseen,
    All,
}

/// The system flags a reader sets and clears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    Seen,
    Deleted,
}

impl Flag {
    fn as_imap(self) -> &'static str {
        match self {
            Flag::Seen => "\\Seen",
            Flag::Deleted => "\\Deleted",
        }
    }
}

/// A message asked for by [`Mailbox::fetch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// Its full RFC 5322 text, headers and body.
    Message(Vec<u8>),
    /// Longer than the limit asked for; `size` is what the server says it is, if it said.
    TooLarge { size: Option<u64> },
    /// No message with that UID any more (another client expunged it).
    Gone,
}

/// A logged-in IMAP session.
pub struct Mailbox {
    imap: Imap<Box<dyn Stream>>,
    timeout: Duration,
    uidplus: bool,
}

/// `future`, or a timeout error, with `step` naming what was being done.
async fn within<T>(
    timeout: Duration,
    step: &str,
    future: impl Future<Output = Result<T, String>>,
) -> Result<T, MailboxError> {
    match tokio::time::timeout(timeout, future).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(reason)) => Err(failed(step, reason)),
        Err(_) => Err(failed(step, format!("no answer within {} s", timeout.as_secs_f64()))),
    }
}

/// `text` as an IMAP quoted string, or an error naming `what` when it cannot be one.
fn quoted(what: &str, text: &str) -> Result<String, MailboxError> {
    if imap::quotable(text) { Ok(imap::quote(text)) } else { Err(failed(what, "only printable ASCII can be sent")) }
}

impl Mailbox {
    /// Connects to `host:port` (implicit TLS when `tls`, verified against the webpki roots) and
    /// logs in. Each step, and later each command, gets `timeout`.
    pub async fn connect(
        host: &str,
        port: u16,
        tls: bool,
        user: &str,
        password: &str,
        timeout: Duration,
    ) -> Result<Mailbox, MailboxError> {
        let login = format!("LOGIN {} {}", quoted("IMAP user name", user)?, quoted("IMAP password", password)?);
        let connecting = format!("connecting to {host}:{port}");
        let tcp =
            within(timeout, &connecting, async { TcpStream::connect((host, port)).await.map_err(|e| e.to_string()) })
                .await?;
        let stream: Box<dyn Stream> = if tls {
            let name = ServerName::try_from(host.to_owned()).map_err(|e| failed("IMAP server name", e.to_string()))?;
            let (config, _) = certs::client_config(Vec::new()).map_err(|e| failed("TLS configuration", e))?;
            let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
            let handshake = async { connector.connect(name, tcp).await.map_err(|e| e.to_string()) };
            Box::new(within(timeout, &format!("IMAP TLS handshake with {host}"), handshake).await?)
        } else {
            Box::new(tcp)
        };
        let mut imap = within(timeout, "IMAP greeting", Imap::greet(stream)).await?;
        within(timeout, &format!("IMAP LOGIN as {user}"), imap.command(&login)).await?;
        let caps = within(timeout, "IMAP CAPABILITY", imap.command("CAPABILITY")).await?;
        let uidplus = imap::has_capability(&caps, "UIDPLUS");
        Ok(Mailbox { imap, timeout, uidplus })
    }

    /// Opens `mailbox` (e.g. "INBOX") read-write; the other methods act on it.
    pub async fn select(&mut self, mailbox: &str) -> Result<(), MailboxError> {
        let command = format!("SELECT {}", quoted("mailbox name", mailbox)?);
        within(self.timeout, &format!("IMAP SELECT {mailbox}"), self.imap.command(&command)).await.map(drop)
    }

    /// The UIDs of the selected mailbox's messages, oldest first.
    pub async fn search(&mut self, which: Search) -> Result<Vec<u32>, MailboxError> {
        let command = match which {
            Search::Unseen => "UID SEARCH UNSEEN UNDELETED",
            Search::All => "UID SEARCH UNDELETED",
        };
        let mut uids = imap::search_results(&within(self.timeout, "IMAP SEARCH", self.imap.command(command)).await?);
        uids.sort_unstable();
        Ok(uids)
    }

    /// The text of message `uid`, if it is at most `max_bytes` long. Peeks: the message stays
    /// unread. Only `max_bytes + 1` bytes travel, whatever the message's size.
    pub async fn fetch(&mut self, uid: u32, max_bytes: u32) -> Result<Fetched, MailboxError> {
        let asked = u64::from(max_bytes) + 1;
        let command = format!("UID FETCH {uid} (RFC822.SIZE BODY.PEEK[]<0.{asked}>)");
        let responses = within(self.timeout, "IMAP FETCH", self.imap.command_keeping_literals(&command, asked)).await?;
        let ours = responses.into_iter().find(|r| r.line.contains(" FETCH ") && r.line.contains("BODY[]"));
        let Some(mut response) = ours else { return Ok(Fetched::Gone) };
        let size = number_after(&response.line, "RFC822.SIZE ");
        let Some(text) = response.literals.pop() else {
            return Err(failed("IMAP FETCH", format!("no message text in: {}", response.line)));
        };
        if u64::try_from(text.len()).unwrap_or(u64::MAX) > u64::from(max_bytes)
            || size.is_some_and(|size| size > u64::from(max_bytes))
        {
            return Ok(Fetched::TooLarge { size });
        }
        Ok(Fetched::Message(text))
    }

    /// Sets (`on`) or clears `flag` on message `uid`.
    pub async fn flag(&mut self, uid: u32, flag: Flag, on: bool) -> Result<(), MailboxError> {
        let sign = if on { '+' } else { '-' };
        let command = format!("UID STORE {uid} {sign}FLAGS.SILENT ({})", flag.as_imap());
        within(self.timeout, &format!("IMAP STORE {sign}{}", flag.as_imap()), self.imap.command(&command))
            .await
            .map(drop)
    }

    /// Removes message `uid`, which must be flagged `\Deleted` already. Without UIDPLUS the
    /// server offers only a plain EXPUNGE, which also removes every other message flagged
    /// `\Deleted` in the mailbox, as any mail client's would.
    pub async fn expunge(&mut self, uid: u32) -> Result<(), MailboxError> {
        let command = if self.uidplus { format!("UID EXPUNGE {uid}") } else { "EXPUNGE".to_owned() };
        within(self.timeout, "IMAP EXPUNGE", self.imap.command(&command)).await.map(drop)
    }

    /// Flags message `uid` `\Deleted` and expunges it.
    pub async fn delete(&mut self, uid: u32) -> Result<(), MailboxError> {
        self.flag(uid, Flag::Deleted, true).await?;
        self.expunge(uid).await
    }

    /// Adds `message` (RFC 5322 text with CRLF line ends) to `mailbox`.
    pub async fn append(&mut self, mailbox: &str, message: &[u8]) -> Result<(), MailboxError> {
        quoted("mailbox name", mailbox)?;
        within(self.timeout, &format!("IMAP APPEND to {mailbox}"), self.imap.append(mailbox, message)).await
    }

    /// Says goodbye. The server's answer changes nothing, so it is not waited for long.
    pub async fn logout(mut self) {
        let _ = within(self.timeout.min(Duration::from_secs(2)), "IMAP LOGOUT", self.imap.command("LOGOUT")).await;
    }
}

/// The number following `key` in `line`, as in "RFC822.SIZE 1234".
fn number_after(line: &str, key: &str) -> Option<u64> {
    let rest = &line[line.find(key)? + key.len()..];
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_size_of_a_fetch() {
        assert_eq!(number_after("* 1 FETCH (UID 4 RFC822.SIZE 1234 BODY[]<0> {1234})", "RFC822.SIZE "), Some(1234));
        assert_eq!(number_after("* 1 FETCH (UID 4 RFC822.SIZE 99)", "RFC822.SIZE "), Some(99));
        assert_eq!(number_after("* 1 FETCH (UID 4)", "RFC822.SIZE "), None);
    }

    #[tokio::test]
    async fn a_silent_server_costs_the_timeout_not_more() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let _accepting = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(socket);
        });
        let started = std::time::Instant::now();
        let error = Mailbox::connect("127.0.0.1", port, false, "desk", "secret", Duration::from_millis(200))
            .await
            .err()
            .unwrap();
        assert_eq!(error.step, "IMAP greeting");
        assert!(error.reason.starts_with("no answer within 0.2 s"), "{error}");
        assert!(started.elapsed() < Duration::from_secs(2));
        let refused = Mailbox::connect("127.0.0.1", port, false, "desk", "pässword", Duration::from_secs(1)).await;
        assert_eq!(
            refused.err().map(|e| e.to_string()),
            Some("IMAP password: only printable ASCII can be sent".into())
        );
    }
}
