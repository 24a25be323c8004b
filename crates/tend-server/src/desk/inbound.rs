//! Customers' replies by e-mail: the desk's mailbox is read over IMAP, each unread message is
//! matched to its ticket by the secret token in the address it was sent to
//! (`support+<token>@…`, see [`super::mail::reply_address`]) or in its subject (`[ref:TOKEN]`),
//! stripped of the quoted earlier message, and added to the ticket as the customer's reply.
//!
//! Owns reading the mailbox and understanding a message (just enough MIME: multipart, base64
//! and quoted-printable, a few charsets, encoded subjects). Must not accept a reply by ticket
//! number alone: anyone can write to the desk, only the token proves the sender got the
//! ticket's e-mail. Must not add a message twice: it is flagged `\Deleted` before its reply is
//! written and expunged after, and polls list only messages not flagged so; a poll that dies in
//! between loses that reply rather than doubling it, and leaves the message for a person to see.
//! A message it cannot place (no valid token, automatic, too large, no plain text) stays in the
//! mailbox, marked read, for a person to look at. Several instances polling one mailbox at once
//! could each take a message: sharing background work is the scale issue's, like the rest of
//! the scheduler's.

use std::time::{Duration, Instant};

use base64::Engine;
use jiff::Timestamp;
use tend_core::tenancy::{Role, Scope};
use tend_probe::imap::{Fetched, Flag, Mailbox, MailboxError, Search};
use tend_store::TicketRow;

use super::mail::token_of_address;
use super::tickets::{self, Action, Who};
use crate::{AppState, Error};

/// Larger messages carry attachments nobody asked the desk to read; they stay for a person.
const MAX_MESSAGE_BYTES: u32 = 1 << 20;
/// Messages taken per poll; the rest wait for the next one, 15 s later.
const MAX_PER_POLL: usize = 50;
/// Each IMAP command, connecting included.
const IMAP_TIMEOUT: Duration = Duration::from_secs(15);
/// A poll stops taking messages after this long: it runs on the scheduler's loop.
const POLL_BUDGET: Duration = Duration::from_secs(20);
/// Candidate tokens looked up per message.
const MAX_TOKENS: usize = 8;
/// MIME nesting followed, and parts looked at per multipart.
const MAX_DEPTH: usize = 8;
const MAX_PARTS: usize = 64;
/// Room left in a reply's text for the sender's note.
const MAX_REPLY_CHARS: usize = tend_core::desk::MAX_TEXT_CHARS - 300;

/// Reads the desk's mailbox once, when one is configured (`desk.imap_host`): every unread reply
/// with a valid token lands on its ticket and leaves the mailbox.
pub async fn poll(state: &AppState, now: Timestamp) -> Result<(), Error> {
    let desk = &state.config.desk;
    if desk.imap_host.is_empty() {
        return Ok(());
    }
    let started = Instant::now();
    let mut mailbox = Mailbox::connect(
        &desk.imap_host,
        desk.imap_port,
        desk.imap_tls,
        &desk.imap_username,
        &desk.imap_password,
        IMAP_TIMEOUT,
    )
    .await
    .map_err(mailbox_error)?;
    let read = read_new(state, &mut mailbox, started, now).await;
    mailbox.logout().await;
    read
}

fn mailbox_error(e: MailboxError) -> Error {
    Error::Internal(format!("the desk's mailbox: {e}"))
}

async fn read_new(state: &AppState, mailbox: &mut Mailbox, started: Instant, now: Timestamp) -> Result<(), Error> {
    mailbox.select(&state.config.desk.imap_mailbox).await.map_err(mailbox_error)?;
    let uids = mailbox.search(Search::Unseen).await.map_err(mailbox_error)?;
    for uid in uids.into_iter().take(MAX_PER_POLL) {
        if started.elapsed() > POLL_BUDGET {
            break;
        }
        take(state, mailbox, uid, now).await?;
    }
    Ok(())
}

/// Places one message on its ticket, or sets it aside.
async fn take(state: &AppState, mailbox: &mut Mailbox, uid: u32, now: Timestamp) -> Result<(), Error> {
    let raw = match mailbox.fetch(uid, MAX_MESSAGE_BYTES).await.map_err(mailbox_error)? {
        Fetched::Message(raw) => raw,
        Fetched::Gone => return Ok(()),
        Fetched::TooLarge { size } => {
            tracing::info!(uid, ?size, "desk mailbox: message over 1 MiB set aside");
            return set_aside(mailbox, uid).await;
        }
    };
    let reply = parse(&raw);
    if reply.automatic {
        tracing::info!(uid, from = ?reply.from, subject = %reply.subject, "desk mailbox: automatic message set aside");
        return set_aside(mailbox, uid).await;
    }
    let Some(ticket) = ticket_of(state, &reply).await? else {
        tracing::info!(uid, from = ?reply.from, subject = %reply.subject, "desk mailbox: no valid token, set aside");
        return set_aside(mailbox, uid).await;
    };
    let Some(text) = &reply.text else {
        tracing::info!(uid, ticket = ticket.id, "desk mailbox: reply without plain text set aside");
        return set_aside(mailbox, uid).await;
    };
    let text = with_sender(state, &ticket, reply.from.as_deref(), text).await?;

    // Taken before the reply is written: if the poll dies in between, no later poll lists it.
    mailbox.flag(uid, Flag::Deleted, true).await.map_err(mailbox_error)?;
    let who = Who { user_id: None, role: Some(Role::ClientUser), scope: Scope::Client(ticket.client_id) };
    match tickets::act(state, who, ticket.id, Action::Reply(text), now).await {
        Ok(_) => {
            tracing::info!(uid, ticket = ticket.id, from = ?reply.from, "desk mailbox: reply added to its ticket");
            mailbox.expunge(uid).await.map_err(mailbox_error)
        }
        Err(e) => {
            put_back(mailbox, uid).await?;
            if retry_later(&e) {
                return Err(e);
            }
            tracing::warn!(uid, ticket = ticket.id, error = %e, "desk mailbox: reply refused, set aside");
            set_aside(mailbox, uid).await
        }
    }
}

/// Sets a message aside: marks it read, so later polls pass it by; a person finds it in the
/// mailbox.
async fn set_aside(mailbox: &mut Mailbox, uid: u32) -> Result<(), Error> {
    mailbox.flag(uid, Flag::Seen, true).await.map_err(mailbox_error)
}

/// Clears the `\Deleted` a message was taken with, when its reply was not written.
async fn put_back(mailbox: &mut Mailbox, uid: u32) -> Result<(), Error> {
    mailbox.flag(uid, Flag::Deleted, false).await.map_err(|e| {
        tracing::error!(uid, "desk mailbox: a reply not added stays flagged \\Deleted; clear it to retry");
        mailbox_error(e)
    })
}

/// Failures of the moment (the database, a concurrent change) rather than of the message.
fn retry_later(e: &Error) -> bool {
    use tend_store::Error as Store;
    matches!(e, Error::Store(Store::Database(_) | Store::Conflict(_)) | Error::Internal(_) | Error::Io(_))
}

/// The ticket of the first token that names one. A token from the subject that comes with a
/// ticket number counts only if the number is its ticket's.
async fn ticket_of(state: &AppState, reply: &Reply) -> Result<Option<TicketRow>, Error> {
    for candidate in &reply.tokens {
        let Some(ticket) = state.store.ticket_by_reply_token(&candidate.token).await? else { continue };
        if candidate.ticket_id.is_none_or(|id| id == ticket.id) {
            return Ok(Some(ticket));
        }
    }
    Ok(None)
}

/// The reply's text, noting the sender when they are neither the requester nor a contact of the
/// client: the token let them in, the history should say who it was.
async fn with_sender(state: &AppState, ticket: &TicketRow, from: Option<&str>, text: &str) -> Result<String, Error> {
    let known = match from {
        Some(from) if ticket.requester_email.as_deref().is_some_and(|r| r.eq_ignore_ascii_case(from)) => true,
        Some(from) => state
            .store
            .contacts(Scope::System, ticket.client_id)
            .await?
            .iter()
            .any(|c| c.email.eq_ignore_ascii_case(from)),
        None => false,
    };
    Ok(if known { text.to_owned() } else { format!("[e-mail from {}]\n\n{text}", from.unwrap_or("an unknown sender")) })
}

/// What the desk reads of an e-mail.
#[derive(Debug, Default, PartialEq)]
pub struct Reply {
    /// The sender's bare address.
    pub from: Option<String>,
    /// Decoded.
    pub subject: String,
    /// Candidate ticket tokens, most trustworthy first: the addresses it was delivered and sent
    /// to, then the subject's.
    pub tokens: Vec<Token>,
    /// The plain text without the quoted earlier message; `None` when nothing is left.
    pub text: Option<String>,
    /// An auto-reply or other machine mail (RFC 3834 `Auto-Submitted`): never a customer's
    /// answer, and answering it could loop.
    pub automatic: bool,
}

/// A ticket token found in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub token: String,
    /// The ticket number written next to it (`[tend #12 ref:TOKEN]`), which must then agree.
    pub ticket_id: Option<i64>,
}

/// Reads a message (RFC 5322 with MIME). Never fails: what it cannot read is missing.
pub fn parse(raw: &[u8]) -> Reply {
    let message = Entity::parse(raw);
    let mut tokens: Vec<Token> = Vec::new();
    let mut add = |token: Token| {
        if tokens.len() < MAX_TOKENS && !tokens.iter().any(|t| t.token == token.token) {
            tokens.push(token);
        }
    };
    for name in ["delivered-to", "x-original-to", "to", "cc"] {
        for value in message.headers(name) {
            for address in addresses(value) {
                if let Some(token) = token_of_address(&address).filter(|t| plausible_token(t)) {
                    add(Token { token: token.to_owned(), ticket_id: None });
                }
            }
        }
    }
    let subject = decode_words(message.header("subject").unwrap_or_default());
    subject_tokens(&subject).into_iter().for_each(add);
    let automatic = message.header("auto-submitted").is_some_and(|v| !v.trim().eq_ignore_ascii_case("no"));
    Reply {
        from: message.header("from").and_then(|v| addresses(v).into_iter().next()),
        subject,
        tokens,
        text: message.plain_text(0).map(|text| bounded(&strip_quoted(&text))).filter(|t| !t.is_empty()),
        automatic,
    }
}

/// Tokens are generated by the server: 64 hex digits today. Anything far from that is not one,
/// and not worth a lookup.
fn plausible_token(token: &str) -> bool {
    (16..=128).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `[ref:TOKEN]` and `[tend #12 ref:TOKEN]` in a subject. A ticket number alone is no token.
fn subject_tokens(subject: &str) -> Vec<Token> {
    let mut found = Vec::new();
    for group in subject.split('[').skip(1).filter_map(|rest| rest.split_once(']').map(|(inside, _)| inside)) {
        let mut token = None;
        let mut ticket_id = None;
        for word in group.split_whitespace() {
            if let Some(value) = word.get(..4).filter(|p| p.eq_ignore_ascii_case("ref:")).map(|_| &word[4..]) {
                token = Some(value);
            } else if let Some(number) = word.strip_prefix('#') {
                ticket_id = number.parse().ok();
            }
        }
        if let Some(token) = token.filter(|t| plausible_token(t)) {
            found.push(Token { token: token.to_owned(), ticket_id });
        }
    }
    found
}

/// At most [`MAX_REPLY_CHARS`], cut with a note; control characters other than line breaks and
/// tabs dropped.
fn bounded(text: &str) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control() || matches!(c, '\n' | '\t')).collect();
    if clean.chars().count() <= MAX_REPLY_CHARS {
        return clean;
    }
    let cut: String = clean.chars().take(MAX_REPLY_CHARS).collect();
    format!("{cut}\n[… cut: the e-mail was longer]")
}

/// The customer's own words: without lines quoted with `>` and without everything from the
/// attribution of the quoted message on ("On … wrote:", Outlook's "-----Original Message-----"
/// or "From: … Sent: …" block, and their German and French forms).
pub fn strip_quoted(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let lines: Vec<&str> = text.lines().collect();
    let mut kept: Vec<&str> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim();
        if quote_begins(trimmed, lines.get(i + 1).map_or("", |next| next.trim())) {
            break;
        }
        if !trimmed.starts_with('>') {
            kept.push(line.trim_end());
        }
    }
    kept.join("\n").trim().to_owned()
}

/// Whether the quoted earlier message starts at `line` (`next` is the line after it).
fn quote_begins(line: &str, next: &str) -> bool {
    let lower = line.to_lowercase();
    let attribution = |start: &str, ends: &[&str]| {
        lower.starts_with(start) && {
            let joined = format!("{lower} {}", next.to_lowercase());
            ends.iter().any(|end| lower.ends_with(end) || joined.ends_with(end))
        }
    };
    attribution("on ", &["wrote:"])
        || attribution("am ", &["schrieb:"])
        || (lower.starts_with("am ") && lower.contains(" schrieb ") && lower.ends_with(':'))
        || attribution("le ", &["a écrit :", "a écrit:"])
        || (lower.starts_with("-----")
            && ["original message", "ursprüngliche nachricht", "message d'origine"].iter().any(|m| lower.contains(m)))
        || (line.len() >= 10 && line.bytes().all(|b| b == b'_') && starts_header(next, &["from:", "von:", "de :"]))
        || (starts_header(line, &["from:", "von:"]) && starts_header(next, &["sent:", "gesendet:", "date:", "datum:"]))
}

fn starts_header(line: &str, names: &[&str]) -> bool {
    let lower = line.to_lowercase();
    names.iter().any(|name| lower.starts_with(name))
}

/// One MIME entity: its headers, unfolded, and its undecoded body.
struct Entity<'a> {
    headers: Vec<(String, String)>,
    body: &'a [u8],
}

impl<'a> Entity<'a> {
    fn parse(raw: &'a [u8]) -> Entity<'a> {
        let mut headers: Vec<(String, String)> = Vec::new();
        let mut offset = 0;
        let mut body: &[u8] = &[];
        for line in raw.split_inclusive(|&b| b == b'\n') {
            offset += line.len();
            let text = line.strip_suffix(b"\n").unwrap_or(line);
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            if text.is_empty() {
                body = &raw[offset..];
                break;
            }
            let text = String::from_utf8_lossy(text);
            if text.starts_with([' ', '\t']) {
                if let Some((_, value)) = headers.last_mut() {
                    value.push_str(&text);
                }
            } else if let Some((name, value)) = text.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        Entity { headers, body }
    }

    fn headers(&self, name: &'static str) -> impl Iterator<Item = &str> {
        self.headers.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn header(&self, name: &'static str) -> Option<&str> {
        self.headers(name).next()
    }

    /// The first plain text of the entity: itself, or the first part of a multipart that has
    /// one (the text/plain of an alternative comes before its HTML). Attachments are skipped.
    fn plain_text(&self, depth: usize) -> Option<String> {
        let disposition = self.header("content-disposition").unwrap_or_default();
        if depth > MAX_DEPTH || disposition.trim_start().to_ascii_lowercase().starts_with("attachment") {
            return None;
        }
        let (kind, params) = content_type(self.header("content-type").unwrap_or("text/plain"));
        if kind == "text/plain" {
            let encoding = self.header("content-transfer-encoding").unwrap_or_default();
            let charset = params.iter().find(|(name, _)| name == "charset").map_or("", |(_, v)| v.as_str());
            return Some(decode_charset(&decode_transfer(self.body, encoding), charset));
        }
        if !kind.starts_with("multipart/") {
            return None;
        }
        let boundary = params.iter().find(|(name, _)| name == "boundary").map(|(_, v)| v.as_str())?;
        parts(self.body, boundary).into_iter().find_map(|part| Entity::parse(part).plain_text(depth + 1))
    }
}

/// The lower-case type of a Content-Type value and its parameters (names lower-case, values
/// unquoted).
fn content_type(value: &str) -> (String, Vec<(String, String)>) {
    let mut pieces = split_outside_quotes(value, ';').into_iter();
    let kind = pieces.next().unwrap_or_default().trim().to_ascii_lowercase();
    let params = pieces
        .filter_map(|piece| {
            let (name, value) = piece.split_once('=')?;
            Some((name.trim().to_ascii_lowercase(), unquote(value.trim())))
        })
        .collect();
    (if kind.is_empty() { "text/plain".to_owned() } else { kind }, params)
}

fn unquote(value: &str) -> String {
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else { return value.to_owned() };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        out.push(if c == '\\' { chars.next().unwrap_or('\\') } else { c });
    }
    out
}

/// `value` split at `separator` where it is not inside a quoted string, an angle address or a
/// comment.
fn split_outside_quotes(value: &str, separator: char) -> Vec<&str> {
    let mut pieces = Vec::new();
    let (mut start, mut quoted, mut escaped, mut angle, mut comment) = (0, false, false, false, 0u32);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            '(' if !quoted => comment += 1,
            ')' if !quoted => comment = comment.saturating_sub(1),
            c if c == separator && !quoted && !angle && comment == 0 => {
                pieces.push(&value[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    pieces.push(&value[start..]);
    pieces
}

/// The bare addresses of an address-list header: `"Doe, Jane" <jane@x>, bob@y` gives `jane@x`
/// and `bob@y`.
fn addresses(value: &str) -> Vec<String> {
    split_outside_quotes(value, ',')
        .into_iter()
        .filter_map(|item| {
            let address = match (item.rfind('<'), item.rfind('>')) {
                (Some(open), Some(close)) if open < close => &item[open + 1..close],
                _ => {
                    // A bare address, perhaps after a group's name, with a comment to drop.
                    let item = item.rsplit(':').next().unwrap_or(item).trim_end_matches(';');
                    item.split('(').next().unwrap_or(item)
                }
            };
            let address = address.trim();
            let fine = address.contains('@')
                && address.len() <= 254
                && !address.chars().any(|c| c.is_whitespace() || c.is_control());
            fine.then(|| address.to_owned())
        })
        .collect()
}

/// The parts of a multipart body, between its `--boundary` lines.
fn parts<'a>(body: &'a [u8], boundary: &str) -> Vec<&'a [u8]> {
    let delimiter = format!("--{boundary}");
    let closing = format!("--{boundary}--");
    let mut found = Vec::new();
    let (mut offset, mut start) = (0, None::<usize>);
    for line in body.split_inclusive(|&b| b == b'\n') {
        let line_start = offset;
        offset += line.len();
        let text = line.trim_ascii_end();
        let is_closing = text == closing.as_bytes();
        if !is_closing && text != delimiter.as_bytes() {
            continue;
        }
        if let Some(start) = start {
            // The line break before a delimiter belongs to the delimiter.
            let part = &body[start..line_start.max(start)];
            let part = part.strip_suffix(b"\n").unwrap_or(part);
            found.push(part.strip_suffix(b"\r").unwrap_or(part));
        }
        if is_closing || found.len() >= MAX_PARTS {
            break;
        }
        start = Some(offset);
    }
    found
}

/// The body's bytes after its Content-Transfer-Encoding.
fn decode_transfer(body: &[u8], encoding: &str) -> Vec<u8> {
    match encoding.trim().to_ascii_lowercase().as_str() {
        "base64" => decode_base64(body).unwrap_or_default(),
        "quoted-printable" => decode_quoted_printable(body, false),
        _ => body.to_vec(),
    }
}

/// Base64 as mail carries it: wrapped, padded or not.
fn decode_base64(text: &[u8]) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let clean: Vec<u8> =
        text.iter().copied().filter(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/').collect();
    LENIENT.decode(clean).ok()
}

/// Quoted-printable (RFC 2045), or the Q encoding of encoded words (RFC 2047) when `q`: `_` is
/// a space there. A malformed escape is kept as it is.
fn decode_quoted_printable(text: &[u8], q: bool) -> Vec<u8> {
    let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16)).and_then(|d| u8::try_from(d).ok());
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        if b == b'_' && q {
            out.push(b' ');
            i += 1;
        } else if b != b'=' {
            out.push(b);
            i += 1;
        } else if let (Some(high), Some(low)) = (hex(text.get(i + 1)), hex(text.get(i + 2))) {
            out.push((high << 4) | low);
            i += 3;
        } else {
            // A soft line break: `=`, perhaps trailing blanks, the line's end.
            let rest = &text[i + 1..];
            let blanks = rest.iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
            let after = &rest[blanks..];
            let line_end = if after.starts_with(b"\r\n") {
                Some(2)
            } else if after.starts_with(b"\n") || after.is_empty() {
                Some(after.len().min(1))
            } else {
                None
            };
            match line_end {
                Some(end) => i += 1 + blanks + end,
                None => {
                    out.push(b'=');
                    i += 1;
                }
            }
        }
    }
    out
}

/// Windows-1252's characters for 0x80–0x9F, where it differs from ISO 8859-1 (undefined ones
/// stay the C1 controls, later dropped).
const WINDOWS_1252_C1: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}', '\u{90}', '‘', '’',
    '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
];

/// Text in `charset`: UTF-8 and ASCII, ISO 8859-1 and -15, Windows-1252; anything else is read
/// as UTF-8, which the rest mostly is.
fn decode_charset(bytes: &[u8], charset: &str) -> String {
    let latin = |map: fn(u8) -> char| bytes.iter().map(|&b| map(b)).collect::<String>();
    match charset.trim().to_ascii_lowercase().as_str() {
        "iso-8859-1" | "iso8859-1" | "latin1" | "l1" => latin(char::from),
        "iso-8859-15" | "iso8859-15" | "latin9" => latin(|b| if b == 0xa4 { '€' } else { char::from(b) }),
        "windows-1252" | "cp1252" => {
            latin(|b| if (0x80..0xa0).contains(&b) { WINDOWS_1252_C1[usize::from(b - 0x80)] } else { char::from(b) })
        }
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// A header value with its RFC 2047 encoded words (`=?utf-8?Q?Ger=C3=A4t?=`) decoded; blanks
/// between two encoded words go, as the RFC says.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, word) = rest.split_at(start);
        match encoded_word(word) {
            Some((decoded, len)) => {
                if !(after_word && before.trim().is_empty()) {
                    out.push_str(before);
                }
                out.push_str(&decoded);
                rest = &word[len..];
                after_word = true;
            }
            None => {
                out.push_str(before);
                out.push_str("=?");
                rest = &word[2..];
                after_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The text of the encoded word `word` starts with, and how many bytes it took.
fn encoded_word(word: &str) -> Option<(String, usize)> {
    let inner = word.strip_prefix("=?")?;
    let (charset, rest) = inner.split_once('?')?;
    let (encoding, rest) = rest.split_once('?')?;
    let end = rest.find("?=")?;
    let text = &rest[..end];
    let bytes = match encoding {
        "B" | "b" => decode_base64(text.as_bytes())?,
        "Q" | "q" => decode_quoted_printable(text.as_bytes(), true),
        _ => return None,
    };
    let len = "=?".len() + charset.len() + 1 + encoding.len() + 1 + end + "?=".len();
    // RFC 2231 lets a language follow the charset: `utf-8*de`.
    let charset = charset.split('*').next().unwrap_or(charset);
    Some((decode_charset(&bytes, charset), len))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn message(headers: &str, body: &str) -> Vec<u8> {
        format!("{headers}\r\n\r\n{body}").replace("\r\n", "\n").replace('\n', "\r\n").into_bytes()
    }

    #[test]
    fn finds_the_token_in_the_addresses_before_the_subject() {
        let raw = message(
            &format!(
                "Delivered-To: support+{TOKEN}@provider.test\n\
                 From: \"Doe, Anna\" <Anna@Acme.test>\n\
                 To: \"Support\" <support+other0000000000000000@provider.test>, bob@acme.test\n\
                 Cc: someone+short@acme.test\n\
                 Subject: Re: [tend #12 ref:fedcba9876543210fedcba98] Update: printer"
            ),
            "Works now.",
        );
        let reply = parse(&raw);
        assert_eq!(reply.from.as_deref(), Some("Anna@Acme.test"));
        let tokens: Vec<(&str, Option<i64>)> = reply.tokens.iter().map(|t| (t.token.as_str(), t.ticket_id)).collect();
        assert_eq!(
            tokens,
            vec![(TOKEN, None), ("other0000000000000000", None), ("fedcba9876543210fedcba98", Some(12))],
            "'short' is too short to be a token"
        );
        assert_eq!(reply.text.as_deref(), Some("Works now."));
        assert!(!reply.automatic);
    }

    #[test]
    fn a_ticket_number_alone_is_no_token() {
        let raw = message("To: support@provider.test\nSubject: Re: [tend #12] Update: printer", "Hello");
        assert_eq!(parse(&raw).tokens, vec![]);
        assert_eq!(
            subject_tokens("[REF:abcdefabcdefabcdef] x [ref:]"),
            vec![Token { token: "abcdefabcdefabcdef".into(), ticket_id: None }]
        );
    }

    #[test]
    fn reads_the_plain_text_of_an_alternative_in_quoted_printable() {
        let raw = message(
            &format!(
                "To: support+{TOKEN}@provider.test\nSubject: =?UTF-8?Q?Re=3A_Ger=C3=A4t?= =?utf-8?B?IGthcHV0dA==?=\n\
                 MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"outer\""
            ),
            "preamble\n\
             --outer\n\
             Content-Type: multipart/alternative; boundary=inner\n\
             \n\
             --inner\n\
             Content-Type: text/plain; charset=\"utf-8\"\n\
             Content-Transfer-Encoding: quoted-printable\n\
             \n\
             Das Ger=C3=A4t l=C3=A4uft wieder, danke! Ein sehr langer Satz, der umgebro=\n\
             chen wurde.\n\
             \n\
             Am 01.02.2024 um 10:00 schrieb Support <support@provider.test>:\n\
             > Bitte testen Sie.\n\
             --inner\n\
             Content-Type: text/html; charset=utf-8\n\
             \n\
             <p>Das Ger&auml;t</p>\n\
             --inner--\n\
             --outer\n\
             Content-Type: text/plain; name=log.txt\n\
             Content-Disposition: attachment; filename=log.txt\n\
             \n\
             not the reply\n\
             --outer--\n",
        );
        let reply = parse(&raw);
        assert_eq!(reply.subject, "Re: Gerät kaputt");
        assert_eq!(
            reply.text.as_deref(),
            Some("Das Gerät läuft wieder, danke! Ein sehr langer Satz, der umgebrochen wurde.")
        );
    }

    #[test]
    fn reads_base64_and_legacy_charsets() {
        let raw = message(
            "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64",
            "SGFsbG8gV2VsdCwg\nw6TDtsO8\n",
        );
        assert_eq!(parse(&raw).text.as_deref(), Some("Hallo Welt, äöü"));
        let latin = b"Content-Type: text/plain; charset=ISO-8859-1\r\n\r\nGr\xfc\xdfe\r\n".to_vec();
        assert_eq!(parse(&latin).text.as_deref(), Some("Grüße"));
        let windows = b"Content-Type: text/plain; charset=windows-1252\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=93Fixed=94 =80 5=\r\n".to_vec();
        assert_eq!(parse(&windows).text.as_deref(), Some("“Fixed” € 5"));
        assert_eq!(WINDOWS_1252_C1.len(), 32);
        assert_eq!(parse(&message("Content-Type: text/html", "<p>only html</p>")).text, None);
        assert_eq!(decode_quoted_printable(b"a=3Db =ZZ c=\r\nd=", false), b"a=b =ZZ cd".to_vec());
    }

    #[test]
    fn strips_the_quoted_earlier_message() {
        let cases: &[(&str, &str)] = &[
            ("Thanks!\n\nOn Mon, 1 Jan 2024, Support <s@p.test> wrote:\n> Is it fixed?\n> yes", "Thanks!"),
            ("Thanks!\n\nOn Mon, 1 Jan 2024 at 10:00, Support <support+abc@provider.test>\nwrote:\n\nold", "Thanks!"),
            ("Top\n> quoted inline\nBottom", "Top\nBottom"),
            ("Merci\nLe lun. 1 janv. 2024, Support a écrit :\nold", "Merci"),
            ("Done.\n\n-----Original Message-----\nFrom: Support\nold", "Done."),
            ("Done.\n________________________________\nFrom: Support <s@p.test>\nSent: Monday\nold", "Done."),
            ("Done.\nFrom: Support <s@p.test>\nSent: Monday\nold", "Done."),
            ("On my way to the server room now.\nBack soon.", "On my way to the server room now.\nBack soon."),
            ("> only quoted\n> text", ""),
        ];
        for (text, expected) in cases {
            assert_eq!(strip_quoted(text), *expected, "{text:?}");
        }
    }

    #[test]
    fn auto_replies_are_recognised() {
        let raw = message(&format!("To: support+{TOKEN}@provider.test\nAuto-Submitted: auto-replied"), "Away");
        assert!(parse(&raw).automatic);
        let raw = message(&format!("To: support+{TOKEN}@provider.test\nAuto-Submitted: no"), "Here");
        assert!(!parse(&raw).automatic);
    }

    #[test]
    fn long_replies_are_cut_and_controls_dropped() {
        let long = "x".repeat(MAX_REPLY_CHARS + 10);
        let cut = bounded(&long);
        assert!(
            cut.ends_with("[… cut: the e-mail was longer]") && cut.chars().count() < tend_core::desk::MAX_TEXT_CHARS
        );
        assert_eq!(bounded("a\u{7}b\tc\nd"), "ab\tc\nd");
    }

    #[test]
    fn reads_address_lists_and_odd_headers() {
        assert_eq!(
            addresses("\"Doe, Jane\" <jane@x.test>, bob@y.test (Bob), team: carl@z.test;, undisclosed-recipients:;"),
            vec!["jane@x.test", "bob@y.test", "carl@z.test"]
        );
        let raw = b"From x\r\nSubject: a\r\n  folded\r\nContent-Type: text/plain\r\n\r\nbody".to_vec();
        let reply = parse(&raw);
        assert_eq!((reply.subject.as_str(), reply.text.as_deref()), ("a  folded", Some("body")));
        assert_eq!(decode_words("=?utf-8?x?broken?= =?"), "=?utf-8?x?broken?= =?");
        assert_eq!(parse(b"no header end"), Reply::default());
    }
}
