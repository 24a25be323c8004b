//! What a probe checks: the serialized form the scheduler stores and `tend probe` builds.
//!
//! Owns the spec types and their defaults. Must not do I/O: validation (`validate.rs`) and
//! running (`run`) live elsewhere, so a spec can be read, stored and shown anywhere.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One synthetic check, tagged by `kind` when serialized (`{"kind": "tcp", "host": …}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ProbeSpec {
    /// A web page: status, body, response time, redirects, and the certificate for https.
    Http(HttpSpec),
    /// A TCP port accepts connections.
    Tcp { host: String, port: u16 },
    /// A TLS handshake: chain valid for the name, certificate not expiring within `min_days`.
    Tls {
        host: String,
        port: u16,
        /// The name the certificate must be valid for; `host` when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        server_name: Option<String>,
        #[serde(default = "default_min_days")]
        min_days: u32,
        /// A PEM file of CA certificates trusted besides the webpki roots.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ca_file: Option<String>,
    },
    /// One query to one nameserver.
    Dns {
        /// `ip:port`, or a bare IP for port 53.
        server: String,
        name: String,
        #[serde(default)]
        record_type: RecordType,
        /// Answers that must all be present; empty means any answer will do.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        expect: Vec<String>,
    },
    /// The SOA serial of `zone` is the same on every nameserver (`ip:port` or bare IP).
    DnsSoaSerials { zone: String, nameservers: Vec<String> },
    /// ICMP echo: loss and round-trip times.
    Ping {
        host: String,
        #[serde(default = "default_ping_count")]
        count: u32,
    },
    /// A message sent by SMTP arrives in an IMAP mailbox.
    Mail(MailSpec),
}

/// The fields of an HTTP probe. `HttpSpec { url, ..Default::default() }` checks for a 2xx/3xx
/// answer after following redirects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSpec {
    pub url: String,
    #[serde(default)]
    pub method: HttpMethod,
    /// Acceptable final statuses; any 2xx or 3xx when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_status: Option<Vec<u16>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_regex: Option<String>,
    /// The whole exchange, body included, must finish within this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_response_ms: Option<u64>,
    /// Follow up to `MAX_REDIRECTS` redirects; when false a 3xx is the final answer.
    #[serde(default = "yes")]
    pub follow_redirects: bool,
    /// For https: the final server's certificate must be valid at least this many more days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_tls_days: Option<u32>,
    /// A PEM file of CA certificates trusted besides the webpki roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
}

impl Default for HttpSpec {
    fn default() -> Self {
        HttpSpec {
            url: String::new(),
            method: HttpMethod::Get,
            expect_status: None,
            body_contains: None,
            body_regex: None,
            max_response_ms: None,
            follow_redirects: true,
            min_tls_days: None,
            ca_file: None,
        }
    }
}

/// The fields of a mail round trip: submit by SMTP, find it by IMAP, delete it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSpec {
    /// `host:port` of the SMTP server.
    pub smtp: String,
    /// Upgrade the SMTP session with STARTTLS (required, not opportunistic).
    #[serde(default)]
    pub starttls: bool,
    /// Speak SMTP inside TLS from the first byte (submissions on port 465).
    #[serde(default)]
    pub smtp_tls: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_password: Option<Secret>,
    pub from: String,
    pub to: String,
    /// `host:port` of the IMAP server.
    pub imap: String,
    /// Speak IMAP inside TLS from the first byte (port 993).
    #[serde(default)]
    pub imap_tls: bool,
    /// Upgrade the IMAP session with STARTTLS (required, not opportunistic).
    #[serde(default)]
    pub imap_starttls: bool,
    pub imap_user: String,
    pub imap_password: Secret,
    #[serde(default = "inbox")]
    pub mailbox: String,
    /// How long the message may take to arrive; also bounded by the timeout given to `run`.
    #[serde(default = "default_mail_timeout")]
    pub timeout_secs: u64,
    /// A PEM file of CA certificates trusted besides the webpki roots, for SMTP and IMAP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    #[default]
    Get,
    Head,
}

impl std::str::FromStr for HttpMethod {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "GET" => Ok(HttpMethod::Get),
            "HEAD" => Ok(HttpMethod::Head),
            _ => Err(format!("{s:?} is not GET or HEAD")),
        }
    }
}

/// The record types a DNS probe can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RecordType {
    #[default]
    A,
    Aaaa,
    Cname,
    Mx,
    Txt,
    Ns,
    Soa,
}

impl RecordType {
    pub const ALL: [RecordType; 7] = [
        RecordType::A,
        RecordType::Aaaa,
        RecordType::Cname,
        RecordType::Mx,
        RecordType::Txt,
        RecordType::Ns,
        RecordType::Soa,
    ];

    /// The TYPE code on the wire (RFC 1035, RFC 3596).
    pub fn code(self) -> u16 {
        match self {
            RecordType::A => 1,
            RecordType::Ns => 2,
            RecordType::Cname => 5,
            RecordType::Soa => 6,
            RecordType::Mx => 15,
            RecordType::Txt => 16,
            RecordType::Aaaa => 28,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Cname => "CNAME",
            RecordType::Mx => "MX",
            RecordType::Txt => "TXT",
            RecordType::Ns => "NS",
            RecordType::Soa => "SOA",
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for RecordType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RecordType::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown record type {s:?} (known: A, AAAA, CNAME, MX, TXT, NS, SOA)"))
    }
}

/// A password: serialized as is (the scheduler must store it), but never shown by `Debug`, so
/// specs can be logged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

pub(crate) const DEFAULT_MIN_TLS_DAYS: u32 = 14;
pub(crate) const DEFAULT_PING_COUNT: u32 = 3;
pub(crate) const DEFAULT_MAIL_TIMEOUT_SECS: u64 = 60;

fn default_min_days() -> u32 {
    DEFAULT_MIN_TLS_DAYS
}

fn default_ping_count() -> u32 {
    DEFAULT_PING_COUNT
}

fn default_mail_timeout() -> u64 {
    DEFAULT_MAIL_TIMEOUT_SECS
}

fn yes() -> bool {
    true
}

pub(crate) fn inbox() -> String {
    "INBOX".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_are_tagged_by_kind_and_fill_defaults() {
        let spec: ProbeSpec = serde_json::from_str(r#"{"kind":"http","url":"https://example.net/"}"#).unwrap();
        assert_eq!(spec, ProbeSpec::Http(HttpSpec { url: "https://example.net/".into(), ..Default::default() }));

        let spec: ProbeSpec =
            serde_json::from_str(r#"{"kind":"dns","server":"127.0.0.1:53","name":"a.test","record_type":"AAAA"}"#)
                .unwrap();
        assert_eq!(
            spec,
            ProbeSpec::Dns {
                server: "127.0.0.1:53".into(),
                name: "a.test".into(),
                record_type: RecordType::Aaaa,
                expect: vec![]
            }
        );

        let spec: ProbeSpec = serde_json::from_str(r#"{"kind":"tls","host":"a.test","port":443}"#).unwrap();
        assert!(matches!(spec, ProbeSpec::Tls { min_days: 14, .. }));
        assert!(serde_json::from_str::<ProbeSpec>(r#"{"kind":"tcp","host":"a","port":1,"typo":1}"#).is_err());
    }

    #[test]
    fn specs_round_trip() {
        let spec = ProbeSpec::Mail(MailSpec {
            smtp: "mx.test:25".into(),
            starttls: true,
            smtp_tls: false,
            smtp_user: None,
            smtp_password: None,
            from: "probe@a.test".into(),
            to: "probe@b.test".into(),
            imap: "imap.b.test:993".into(),
            imap_tls: true,
            imap_starttls: false,
            imap_user: "probe".into(),
            imap_password: Secret::new("hunter2"),
            mailbox: inbox(),
            timeout_secs: 30,
            ca_file: None,
        });
        let json = serde_json::to_string(&spec).unwrap();
        assert!(json.starts_with(r#"{"kind":"mail","#), "{json}");
        assert_eq!(serde_json::from_str::<ProbeSpec>(&json).unwrap(), spec);
    }

    #[test]
    fn debug_hides_passwords() {
        let shown = format!("{:?}", Secret::new("hunter2"));
        assert!(!shown.contains("hunter2"));
    }

    #[test]
    fn record_types_parse_in_any_case() {
        assert_eq!("aaaa".parse::<RecordType>(), Ok(RecordType::Aaaa));
        assert!("SRV".parse::<RecordType>().is_err());
        for t in RecordType::ALL {
            assert_eq!(t.name().parse::<RecordType>(), Ok(t));
        }
    }
}
