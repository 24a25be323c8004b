//! A minimal IMAP4rev1 client (RFC 3501): the handful of commands a delivery probe and the
//! service desk's mailbox need, over any byte stream, plain or TLS.
//!
//! Written here rather than taken from a crate: the probe needs LOGIN, SELECT, SEARCH, STORE,
//! EXPUNGE and LOGOUT, the desk FETCH and the tests APPEND, a few hundred lines over tokio, where
//! async-imap brings its own parser stack and runtime glue. Owns the command/response exchange.
//! Must not send a password anywhere an error message could show it: errors quote the server,
//! never the command.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// Longer than any line a probe's commands provoke; a server sending more is misbehaving.
const MAX_LINE: u64 = 64 * 1024;
/// Literals a command did not ask to keep (they appear in responses nobody asked for): skipped,
/// within reason.
const MAX_LITERAL: u64 = 1 << 20;

/// Whether `s` can travel in a quoted string: printable ASCII only. Anything else would need a
/// literal, which this client does not send.
pub(crate) fn quotable(s: &str) -> bool {
    s.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// `s` as an IMAP quoted string; `s` must be `quotable`.
pub(crate) fn quote(s: &str) -> String {
    let mut quoted = String::with_capacity(s.len() + 2);
    quoted.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// An IMAP connection: tagged commands in, untagged lines out.
pub(crate) struct Imap<S> {
    io: BufReader<S>,
    next_tag: u32,
}

/// One untagged response: its text with literals replaced by `{n}` markers, and the literals a
/// command asked to keep, in order.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Response {
    pub(crate) line: String,
    pub(crate) literals: Vec<Vec<u8>>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Imap<S> {
    /// A session on a stream whose greeting was already read (after STARTTLS there is none).
    pub(crate) fn resume(stream: S) -> Imap<S> {
        Imap { io: BufReader::new(stream), next_tag: 1 }
    }

    /// A new connection: reads the server's greeting.
    pub(crate) async fn greet(stream: S) -> Result<Imap<S>, String> {
        let mut imap = Imap::resume(stream);
        let greeting = imap.response(None).await?.line;
        match greeting.split_once(' ').map(|(_, rest)| rest) {
            Some(rest) if starts_with_word(rest, "OK") || starts_with_word(rest, "PREAUTH") => Ok(imap),
            _ => Err(format!("greeting: {greeting}")),
        }
    }

    /// Sends one command and reads up to its tagged completion. Returns the untagged lines on
    /// OK; NO and BAD become errors carrying the server's text.
    pub(crate) async fn command(&mut self, command: &str) -> Result<Vec<String>, String> {
        let tag = self.send(command).await?;
        let responses = self.complete(&tag, None).await?;
        Ok(responses.into_iter().map(|r| r.line).collect())
    }

    /// Like [`Imap::command`], keeping the literals of the responses (a FETCH's message text)
    /// up to `max_literal` bytes each; a longer literal fails the command.
    pub(crate) async fn command_keeping_literals(
        &mut self,
        command: &str,
        max_literal: u64,
    ) -> Result<Vec<Response>, String> {
        let tag = self.send(command).await?;
        self.complete(&tag, Some(max_literal)).await
    }

    /// APPENDs `message` to `mailbox` (which must be `quotable`) as a synchronizing literal:
    /// the message goes only after the server's go-ahead.
    pub(crate) async fn append(&mut self, mailbox: &str, message: &[u8]) -> Result<(), String> {
        let tag = self.send(&format!("APPEND {} {{{}}}", quote(mailbox), message.len())).await?;
        loop {
            let line = self.response(None).await?.line;
            if line.starts_with('+') {
                break;
            }
            if let Some(status) = line.strip_prefix(&tag).and_then(|rest| rest.strip_prefix(' ')) {
                return Err(status.to_owned());
            }
        }
        let io = self.io.get_mut();
        io.write_all(message).await.map_err(|e| e.to_string())?;
        io.write_all(b"\r\n").await.map_err(|e| e.to_string())?;
        io.flush().await.map_err(|e| e.to_string())?;
        self.complete(&tag, None).await.map(drop)
    }

    /// The stream back, for a TLS upgrade after STARTTLS. Anything buffered beyond the tagged
    /// OK is dropped on purpose: data sent before the handshake must not be trusted after it.
    pub(crate) fn into_inner(self) -> S {
        self.io.into_inner()
    }

    /// Writes a tagged command; returns its tag.
    async fn send(&mut self, command: &str) -> Result<String, String> {
        let tag = format!("t{}", self.next_tag);
        self.next_tag += 1;
        let io = self.io.get_mut();
        io.write_all(format!("{tag} {command}\r\n").as_bytes()).await.map_err(|e| e.to_string())?;
        io.flush().await.map_err(|e| e.to_string())?;
        Ok(tag)
    }

    /// The untagged responses up to the tagged completion of `tag`.
    async fn complete(&mut self, tag: &str, keep: Option<u64>) -> Result<Vec<Response>, String> {
        let mut untagged = Vec::new();
        loop {
            let response = self.response(keep).await?;
            if let Some(status) = response.line.strip_prefix(tag).and_then(|rest| rest.strip_prefix(' ')) {
                return if starts_with_word(status, "OK") { Ok(untagged) } else { Err(status.to_owned()) };
            }
            if response.line.starts_with('+') {
                return Err(format!("unexpected continuation request: {}", response.line));
            }
            untagged.push(response);
        }
    }

    /// One response line without its CRLF, literals replaced by `{n}` markers; literals are kept
    /// (up to `keep` bytes each) or skipped.
    async fn response(&mut self, keep: Option<u64>) -> Result<Response, String> {
        let mut response = Response::default();
        let mut line = Vec::new();
        loop {
            let mut chunk = Vec::new();
            let n = (&mut self.io).take(MAX_LINE).read_until(b'\n', &mut chunk).await.map_err(|e| e.to_string())?;
            if n == 0 {
                let said = String::from_utf8_lossy(&line).into_owned();
                return Err(if said.is_empty() { "connection closed".to_owned() } else { format!("closed: {said}") });
            }
            if !chunk.ends_with(b"\n") {
                return Err(format!("a response line longer than {MAX_LINE} bytes"));
            }
            let text = chunk.strip_suffix(b"\r\n").or_else(|| chunk.strip_suffix(b"\n")).unwrap_or(&chunk);
            line.extend_from_slice(text);
            let Some(len) = literal_length(text) else {
                response.line = String::from_utf8_lossy(&line).into_owned();
                return Ok(response);
            };
            let limit = keep.unwrap_or(MAX_LITERAL);
            if len > limit {
                return Err(format!("a literal of {len} bytes (at most {limit} expected)"));
            }
            let mut literal = Vec::new();
            let read = if keep.is_some() {
                (&mut self.io).take(len).read_to_end(&mut literal).await.map_err(|e| e.to_string())? as u64
            } else {
                tokio::io::copy(&mut (&mut self.io).take(len), &mut tokio::io::sink())
                    .await
                    .map_err(|e| e.to_string())?
            };
            if read < len {
                return Err("connection closed inside a literal".to_owned());
            }
            if keep.is_some() {
                response.literals.push(literal);
            }
        }
    }
}

/// The `n` of a line ending in `{n}` (or `{n+}`), announcing n bytes of literal to follow.
fn literal_length(line: &[u8]) -> Option<u64> {
    let open = line.iter().rposition(|&b| b == b'{')?;
    let inner = line.get(open + 1..)?.strip_suffix(b"}")?;
    let digits = inner.strip_suffix(b"+").unwrap_or(inner);
    std::str::from_utf8(digits).ok()?.parse().ok()
}

fn starts_with_word(s: &str, word: &str) -> bool {
    s.get(..word.len()).is_some_and(|w| w.eq_ignore_ascii_case(word))
        && s[word.len()..].chars().next().is_none_or(|c| c == ' ')
}

/// The numbers of `* SEARCH 3 5` lines.
pub(crate) fn search_results(untagged: &[String]) -> Vec<u32> {
    untagged
        .iter()
        .filter_map(|line| {
            let rest = line.strip_prefix("* ")?;
            (starts_with_word(rest, "SEARCH")).then(|| rest[6..].split_whitespace().filter_map(|n| n.parse().ok()))
        })
        .flatten()
        .collect()
}

/// Whether a `* CAPABILITY …` line lists `capability`.
pub(crate) fn has_capability(untagged: &[String], capability: &str) -> bool {
    untagged
        .iter()
        .filter_map(|line| line.strip_prefix("* CAPABILITY "))
        .any(|caps| caps.split_whitespace().any(|c| c.eq_ignore_ascii_case(capability)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::duplex;

    /// Plays a server: answers each expected client line with the scripted lines.
    async fn serve(mut server: tokio::io::DuplexStream, script: &'static [(&'static str, &'static str)]) {
        let (read, mut write) = tokio::io::split(&mut server);
        let mut lines = BufReader::new(read).lines();
        write.write_all(b"* OK ready\r\n").await.unwrap();
        for (expect, reply) in script {
            let got = lines.next_line().await.unwrap().unwrap();
            assert_eq!(&got, expect);
            write.write_all(reply.as_bytes()).await.unwrap();
        }
    }

    #[tokio::test]
    async fn runs_commands_and_collects_untagged_lines() {
        let (client, server) = duplex(4096);
        let script: &[(&str, &str)] = &[
            ("t1 LOGIN \"probe\" \"p\\\"w\"", "t1 OK [CAPABILITY IMAP4rev1 UIDPLUS] Logged in\r\n"),
            ("t2 UID SEARCH HEADER X-Tend-Probe abc", "* SEARCH 4 9\r\nt2 OK done\r\n"),
            ("t3 LIST \"\" *", "* LIST () \"/\" {5}\r\nINBOX\r\nt3 OK done\r\n"),
            ("t4 SELECT \"Nope\"", "t4 NO [NONEXISTENT] Mailbox doesn't exist\r\n"),
        ];
        let server = tokio::spawn(serve(server, script));
        let mut imap = Imap::greet(client).await.unwrap();
        imap.command(&format!("LOGIN {} {}", quote("probe"), quote("p\"w"))).await.unwrap();
        let found = imap.command("UID SEARCH HEADER X-Tend-Probe abc").await.unwrap();
        assert_eq!(search_results(&found), vec![4, 9]);
        let listed = imap.command("LIST \"\" *").await.unwrap();
        assert_eq!(listed, vec!["* LIST () \"/\" {5}".to_owned()]);
        let refused = imap.command("SELECT \"Nope\"").await.unwrap_err();
        assert_eq!(refused, "NO [NONEXISTENT] Mailbox doesn't exist");
        server.await.unwrap();
    }

    #[tokio::test]
    async fn keeps_the_literals_asked_for_and_appends_after_the_go_ahead() {
        let (client, server) = duplex(4096);
        let script: &[(&str, &str)] = &[
            (
                "t1 UID FETCH 7 (BODY.PEEK[]<0.11>)",
                "* 3 FETCH (UID 7 BODY[]<0> {10}\r\nab\r\ncd\r\nef RFC822.SIZE 10)\r\n* 4 FETCH (FLAGS (\\Seen))\r\nt1 OK done\r\n",
            ),
            ("t2 UID FETCH 8 (BODY.PEEK[]<0.11>)", "* 5 FETCH (UID 8 BODY[]<0> {12}\r\n"),
        ];
        let server = tokio::spawn(serve(server, script));
        let mut imap = Imap::greet(client).await.unwrap();
        let fetched = imap.command_keeping_literals("UID FETCH 7 (BODY.PEEK[]<0.11>)", 11).await.unwrap();
        assert_eq!(
            fetched,
            vec![
                Response {
                    line: "* 3 FETCH (UID 7 BODY[]<0> {10} RFC822.SIZE 10)".into(),
                    literals: vec![b"ab\r\ncd\r\nef".to_vec()]
                },
                Response { line: "* 4 FETCH (FLAGS (\\Seen))".into(), literals: vec![] },
            ]
        );
        let too_long = imap.command_keeping_literals("UID FETCH 8 (BODY.PEEK[]<0.11>)", 11).await.unwrap_err();
        assert_eq!(too_long, "a literal of 12 bytes (at most 11 expected)");
        server.await.unwrap();

        let (client, server) = duplex(4096);
        let script: &[(&str, &str)] = &[
            ("t1 APPEND \"INBOX\" {5}", "+ Ready for literal data\r\n"),
            ("hello", "* 1 EXISTS\r\nt1 OK [APPENDUID 1 1] Append completed.\r\n"),
            ("t2 APPEND \"Full\" {2}", "t2 NO [OVERQUOTA] Quota exceeded\r\n"),
        ];
        let server = tokio::spawn(serve(server, script));
        let mut imap = Imap::greet(client).await.unwrap();
        imap.append("INBOX", b"hello").await.unwrap();
        assert_eq!(imap.append("Full", b"hi").await.unwrap_err(), "NO [OVERQUOTA] Quota exceeded");
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_closed_connection_is_an_error_not_a_hang() {
        let (client, mut server) = duplex(1024);
        server.write_all(b"* BYE shutting down\r\n").await.unwrap();
        drop(server);
        assert_eq!(Imap::greet(client).await.err(), Some("greeting: * BYE shutting down".to_owned()));
    }

    #[test]
    fn reads_response_pieces() {
        assert_eq!(literal_length(b"* LIST () \"/\" {12}"), Some(12));
        assert_eq!(literal_length(b"* 1 FETCH (BODY[] {3+}"), Some(3));
        assert_eq!(literal_length(b"* OK {not a literal"), None);
        assert_eq!(search_results(&["* SEARCH".into()]), Vec::<u32>::new());
        assert_eq!(search_results(&["* SEARCHING 1".into(), "* 3 EXISTS".into()]), Vec::<u32>::new());
        assert!(has_capability(&["* CAPABILITY IMAP4rev1 UIDPLUS IDLE".into()], "uidplus"));
        assert!(!has_capability(&["* CAPABILITY IMAP4rev1".into()], "UIDPLUS"));
        assert!(quotable("p@ss w0rd!") && !quotable("pässword") && !quotable("a\r\nb"));
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
