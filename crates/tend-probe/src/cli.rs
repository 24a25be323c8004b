//! `tend probe KIND TARGET [--option value]…` to a spec, for a technician's ad hoc run.
//!
//! Owns the option names and their defaults. Must not run anything; it reads the disk once,
//! for the system's nameserver when a DNS probe names none. Errors name the option (or the
//! target) at fault, in the words the technician typed.

use crate::spec::{
    DEFAULT_MAIL_TIMEOUT_SECS, DEFAULT_MIN_TLS_DAYS, DEFAULT_PING_COUNT, HttpSpec, MailSpec, ProbeSpec, Secret, inbox,
};
use crate::{Error, addr};
use std::collections::BTreeMap;
use std::str::FromStr;

const RESOLV_CONF: &str = "/etc/resolv.conf";

impl ProbeSpec {
    /// Builds a spec from the command line. Option names may be given with or without their
    /// leading `--`; flags (`--no-follow`, `--starttls`…) take an empty value or true/false.
    pub fn from_cli(kind: &str, target: &str, options: &BTreeMap<String, String>) -> Result<ProbeSpec, Error> {
        let (kind, known): (&'static str, &[&str]) = match kind {
            "http" | "https" => {
                ("http", &["method", "status", "contains", "regex", "max-ms", "no-follow", "min-tls-days", "ca-file"])
            }
            "tcp" => ("tcp", &[]),
            "tls" => ("tls", &["server-name", "min-days", "ca-file"]),
            "dns" => ("dns", &["server", "type", "expect", "nameservers"]),
            "ping" => ("ping", &["count"]),
            "mail" => (
                "mail",
                &[
                    "smtp",
                    "starttls",
                    "smtp-tls",
                    "smtp-user",
                    "smtp-password",
                    "from",
                    "imap",
                    "imap-tls",
                    "imap-starttls",
                    "imap-user",
                    "imap-password",
                    "mailbox",
                    "timeout-secs",
                    "ca-file",
                ],
            ),
            other => return Err(Error::UnknownKind(other.to_owned())),
        };
        let opts = Options::new(kind, known, options)?;
        let bad_target = |reason: String| Error::BadTarget { target: target.to_owned(), reason };
        let spec = match kind {
            "http" => ProbeSpec::Http(HttpSpec {
                // A bare host name means its https front page, as in a browser's address bar.
                url: if target.contains("://") { target.to_owned() } else { format!("https://{target}") },
                method: opts.parse("method")?.unwrap_or_default(),
                expect_status: opts.list::<u16>("status")?,
                body_contains: opts.text("contains"),
                body_regex: opts.text("regex"),
                max_response_ms: opts.parse("max-ms")?,
                follow_redirects: !opts.flag("no-follow")?,
                min_tls_days: opts.parse("min-tls-days")?,
                ca_file: opts.text("ca-file"),
            }),
            "tcp" => {
                let (host, port) = addr::host_port(target, None).map_err(bad_target)?;
                ProbeSpec::Tcp { host, port }
            }
            "tls" => {
                let (host, port) = addr::host_port(target, Some(443)).map_err(bad_target)?;
                ProbeSpec::Tls {
                    host,
                    port,
                    server_name: opts.text("server-name"),
                    min_days: opts.parse("min-days")?.unwrap_or(DEFAULT_MIN_TLS_DAYS),
                    ca_file: opts.text("ca-file"),
                }
            }
            "dns" => match opts.list::<String>("nameservers")? {
                Some(nameservers) => {
                    if let Some(clash) = ["server", "type", "expect"].into_iter().find(|o| opts.text(o).is_some()) {
                        return Err(opts.bad(clash, "does not go with --nameservers (an SOA serial comparison)".into()));
                    }
                    ProbeSpec::DnsSoaSerials { zone: target.to_owned(), nameservers }
                }
                None => ProbeSpec::Dns {
                    server: match opts.text("server") {
                        Some(server) => server,
                        None => system_nameserver()?,
                    },
                    name: target.to_owned(),
                    record_type: opts.parse("type")?.unwrap_or_default(),
                    expect: opts.list("expect")?.unwrap_or_default(),
                },
            },
            "ping" => {
                ProbeSpec::Ping { host: target.to_owned(), count: opts.parse("count")?.unwrap_or(DEFAULT_PING_COUNT) }
            }
            _ => {
                let imap_user = match opts.text("imap-user") {
                    Some(user) => user,
                    None => target.to_owned(),
                };
                ProbeSpec::Mail(MailSpec {
                    smtp: opts.required("smtp")?,
                    starttls: opts.flag("starttls")?,
                    smtp_tls: opts.flag("smtp-tls")?,
                    smtp_user: opts.text("smtp-user"),
                    smtp_password: opts.text("smtp-password").map(Secret::new),
                    from: opts.text("from").unwrap_or_else(|| target.to_owned()),
                    to: target.to_owned(),
                    imap: opts.required("imap")?,
                    imap_tls: opts.flag("imap-tls")?,
                    imap_starttls: opts.flag("imap-starttls")?,
                    imap_user,
                    imap_password: Secret::new(opts.required("imap-password")?),
                    mailbox: opts.text("mailbox").unwrap_or_else(inbox),
                    timeout_secs: opts.parse("timeout-secs")?.unwrap_or(DEFAULT_MAIL_TIMEOUT_SECS),
                    ca_file: opts.text("ca-file"),
                })
            }
        };
        spec.validate().map_err(|e| in_cli_words(e, target))?;
        Ok(spec)
    }
}

/// The options given, checked against those `kind` knows.
struct Options<'a> {
    kind: &'static str,
    given: BTreeMap<&'a str, &'a str>,
}

impl<'a> Options<'a> {
    fn new(kind: &'static str, known: &[&str], options: &'a BTreeMap<String, String>) -> Result<Options<'a>, Error> {
        let mut given = BTreeMap::new();
        for (name, value) in options {
            let name = name.trim_start_matches('-');
            if !known.contains(&name) {
                let known = if known.is_empty() { "none".to_owned() } else { known.join(", ") };
                return Err(Error::UnknownOption { kind, option: name.to_owned(), known });
            }
            given.insert(name, value.as_str());
        }
        Ok(Options { kind, given })
    }

    fn text(&self, name: &str) -> Option<String> {
        self.given.get(name).map(|v| (*v).to_owned())
    }

    fn required(&self, name: &'static str) -> Result<String, Error> {
        self.text(name).ok_or(Error::MissingOption { kind: self.kind, option: name })
    }

    fn parse<T: FromStr<Err: std::fmt::Display>>(&self, name: &str) -> Result<Option<T>, Error> {
        self.given
            .get(name)
            .map(|v| v.trim().parse::<T>().map_err(|e| self.bad(name, format!("{v:?}: {e}"))))
            .transpose()
    }

    /// A comma-separated list: `--status 200,301`.
    fn list<T: FromStr<Err: std::fmt::Display>>(&self, name: &str) -> Result<Option<Vec<T>>, Error> {
        let Some(value) = self.given.get(name) else { return Ok(None) };
        value
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| item.parse::<T>().map_err(|e| self.bad(name, format!("{item:?}: {e}"))))
            .collect::<Result<Vec<T>, Error>>()
            .map(Some)
    }

    fn flag(&self, name: &str) -> Result<bool, Error> {
        match self.given.get(name).map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None => Ok(false),
            Some("" | "true" | "yes" | "1") => Ok(true),
            Some("false" | "no" | "0") => Ok(false),
            Some(other) => Err(self.bad(name, format!("{other:?}: a flag takes no value, or true/false"))),
        }
    }

    fn bad(&self, name: &str, reason: String) -> Error {
        Error::BadOption { option: name.to_owned(), reason }
    }
}

/// Puts a validation error in the technician's terms: the option they typed, or the target.
fn in_cli_words(error: Error, target: &str) -> Error {
    let Error::InvalidSpec { field, reason } = error else { return error };
    let option = match field {
        "url" | "host" | "port" | "name" | "zone" | "to" => {
            return Error::BadTarget { target: target.to_owned(), reason };
        }
        "expect_status" => "status",
        "body_contains" => "contains",
        "body_regex" => "regex",
        "max_response_ms" => "max-ms",
        "record_type" => "type",
        other => return Error::BadOption { option: other.replace('_', "-"), reason },
    };
    Error::BadOption { option: option.to_owned(), reason }
}

/// The first nameserver of the system's resolver configuration.
fn system_nameserver() -> Result<String, Error> {
    let missing = |reason: String| Error::BadOption { option: "server".to_owned(), reason };
    let text = std::fs::read_to_string(RESOLV_CONF)
        .map_err(|e| missing(format!("not given, and {RESOLV_CONF} cannot be read: {e}")))?;
    first_nameserver(&text).ok_or_else(|| missing(format!("not given, and {RESOLV_CONF} lists no nameserver")))
}

fn first_nameserver(resolv_conf: &str) -> Option<String> {
    resolv_conf.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        (words.next() == Some("nameserver")).then(|| words.next().map(str::to_owned)).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::RecordType;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn http_with_options() {
        let spec = ProbeSpec::from_cli(
            "http",
            "https://example.net",
            &opts(&[("--contains", "Welcome"), ("--status", "200, 301"), ("no-follow", ""), ("--max-ms", "800")]),
        )
        .unwrap();
        let ProbeSpec::Http(http) = spec else { panic!("{spec:?}") };
        assert_eq!(http.url, "https://example.net");
        assert_eq!(http.body_contains.as_deref(), Some("Welcome"));
        assert_eq!(http.expect_status, Some(vec![200, 301]));
        assert!(!http.follow_redirects);
        assert_eq!(http.max_response_ms, Some(800));
        let bare = ProbeSpec::from_cli("http", "example.net", &opts(&[])).unwrap();
        assert!(matches!(bare, ProbeSpec::Http(HttpSpec { ref url, .. }) if url == "https://example.net"));
    }

    #[test]
    fn dns_tcp_tls_ping_mail() {
        let dns = ProbeSpec::from_cli(
            "dns",
            "example.net",
            &opts(&[("--server", "127.0.0.1:5353"), ("--type", "mx"), ("--expect", "mx1.example.net")]),
        )
        .unwrap();
        assert_eq!(
            dns,
            ProbeSpec::Dns {
                server: "127.0.0.1:5353".into(),
                name: "example.net".into(),
                record_type: RecordType::Mx,
                expect: vec!["mx1.example.net".into()]
            }
        );
        let serials = ProbeSpec::from_cli("dns", "example.net", &opts(&[("nameservers", "192.0.2.1,192.0.2.2:53")]));
        assert_eq!(
            serials,
            Ok(ProbeSpec::DnsSoaSerials {
                zone: "example.net".into(),
                nameservers: vec!["192.0.2.1".into(), "192.0.2.2:53".into()]
            })
        );
        assert_eq!(
            ProbeSpec::from_cli("tcp", "127.0.0.1:22", &opts(&[])),
            Ok(ProbeSpec::Tcp { host: "127.0.0.1".into(), port: 22 })
        );
        assert!(matches!(
            ProbeSpec::from_cli("tls", "example.net", &opts(&[])),
            Ok(ProbeSpec::Tls { port: 443, min_days: 14, .. })
        ));
        assert_eq!(
            ProbeSpec::from_cli("ping", "::1", &opts(&[("count", "5")])),
            Ok(ProbeSpec::Ping { host: "::1".into(), count: 5 })
        );
        let mail = ProbeSpec::from_cli(
            "mail",
            "probe@example.net",
            &opts(&[
                ("smtp", "mx.example.net:25"),
                ("starttls", ""),
                ("imap", "imap.example.net:993"),
                ("imap-tls", "true"),
                ("imap-password", "pw"),
            ]),
        )
        .unwrap();
        let ProbeSpec::Mail(mail) = mail else { panic!("{mail:?}") };
        assert_eq!(
            (mail.from.as_str(), mail.imap_user.as_str(), mail.mailbox.as_str()),
            ("probe@example.net", "probe@example.net", "INBOX")
        );
        assert!(mail.starttls && mail.imap_tls && !mail.imap_starttls);
    }

    #[test]
    fn errors_name_the_option_at_fault() {
        let err = |kind, target, pairs: &[(&str, &str)]| ProbeSpec::from_cli(kind, target, &opts(pairs)).unwrap_err();
        assert_eq!(err("smtp", "x", &[]), Error::UnknownKind("smtp".into()));
        assert!(
            matches!(err("tcp", "a:1", &[("--count", "3")]), Error::UnknownOption { option, .. } if option == "count")
        );
        assert!(
            matches!(err("http", "http://a", &[("--status", "2OO")]), Error::BadOption { option, .. } if option == "status")
        );
        assert!(
            matches!(err("http", "http://a", &[("--regex", "(")]), Error::BadOption { option, .. } if option == "regex")
        );
        assert!(
            matches!(err("http", "http://a", &[("--no-follow", "maybe")]), Error::BadOption { option, .. } if option == "no-follow")
        );
        assert!(matches!(err("http", "ftp://a", &[]), Error::BadTarget { .. }));
        assert!(matches!(err("tcp", "a", &[]), Error::BadTarget { .. }));
        assert!(
            matches!(err("dns", "a.test", &[("server", "ns1")]), Error::BadOption { option, .. } if option == "server")
        );
        assert!(
            matches!(err("dns", "a.test", &[("server", "::1"), ("type", "SRV")]), Error::BadOption { option, .. } if option == "type")
        );
        assert!(
            matches!(err("dns", "a.test", &[("nameservers", "::1"), ("type", "A")]), Error::BadOption { option, .. } if option == "type")
        );
        assert!(matches!(err("ping", "a", &[("count", "0")]), Error::BadOption { option, .. } if option == "count"));
        assert_eq!(err("mail", "a@b.test", &[("imap", "h:1")]), Error::MissingOption { kind: "mail", option: "smtp" });
        let both_tls =
            [("smtp", "h:25"), ("imap", "h:1"), ("imap-password", "p"), ("imap-tls", ""), ("imap-starttls", "")];
        assert!(
            matches!(err("mail", "a@b.test", &both_tls), Error::BadOption { option, .. } if option == "imap-starttls")
        );
    }

    #[test]
    fn reads_the_system_nameserver() {
        let conf = "# generated\nsearch example.net\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n";
        assert_eq!(first_nameserver(conf), Some("192.0.2.53".into()));
        assert_eq!(first_nameserver("search x\n"), None);
    }
}
