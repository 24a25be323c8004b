//! Whether a spec can run at all: everything that can be known without the network.
//!
//! Owns `ProbeSpec::validate`. Must not do I/O: a CA file named in a spec is read when the probe
//! runs, and one that cannot be read then is a failed probe, not a bad spec.

use crate::spec::{HttpMethod, HttpSpec, MailSpec, ProbeSpec, RecordType};
use crate::{Error, addr, dns, mail};
use rustls::pki_types::ServerName;

/// Above this a "probe" is a flood.
const MAX_PING_COUNT: u32 = 100;

impl ProbeSpec {
    /// Checks the spec without touching the network; the error names the offending field.
    pub fn validate(&self) -> Result<(), Error> {
        match self {
            ProbeSpec::Http(http) => validate_http(http),
            ProbeSpec::Tcp { host, port } => {
                non_empty("host", host)?;
                nonzero_port(*port)
            }
            ProbeSpec::Tls { host, port, server_name, ca_file, .. } => {
                non_empty("host", host)?;
                nonzero_port(*port)?;
                let name = server_name.as_deref().unwrap_or(host);
                ServerName::try_from(name.to_owned()).map_err(|_| {
                    Error::invalid(
                        if server_name.is_some() { "server_name" } else { "host" },
                        format!("{name:?} is not a DNS name or IP address"),
                    )
                })?;
                ca_path(ca_file.as_deref())
            }
            ProbeSpec::Dns { server, name, record_type, expect } => {
                addr::nameserver(server).map_err(|e| Error::invalid("server", e))?;
                dns::message::encode_name(name, &mut Vec::new()).map_err(|e| Error::invalid("name", e))?;
                validate_expected(*record_type, expect)
            }
            ProbeSpec::DnsSoaSerials { zone, nameservers } => {
                dns::message::encode_name(zone, &mut Vec::new()).map_err(|e| Error::invalid("zone", e))?;
                if nameservers.is_empty() {
                    return Err(Error::invalid("nameservers", "list at least one nameserver"));
                }
                for server in nameservers {
                    addr::nameserver(server).map_err(|e| Error::invalid("nameservers", e))?;
                }
                Ok(())
            }
            ProbeSpec::Ping { host, count } => {
                non_empty("host", host)?;
                if !(1..=MAX_PING_COUNT).contains(count) {
                    return Err(Error::invalid("count", format!("must be 1 to {MAX_PING_COUNT}")));
                }
                Ok(())
            }
            ProbeSpec::Mail(m) => validate_mail(m),
        }
    }
}

fn validate_http(http: &HttpSpec) -> Result<(), Error> {
    let url = reqwest::Url::parse(&http.url).map_err(|e| Error::invalid("url", format!("{:?}: {e}", http.url)))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::invalid("url", format!("{:?}: expected an http:// or https:// URL", http.url)));
    }
    if let Some(statuses) = &http.expect_status {
        if statuses.is_empty() {
            return Err(Error::invalid("expect_status", "list at least one status, or leave it out for 2xx/3xx"));
        }
        if let Some(bad) = statuses.iter().find(|s| !(100..=599).contains(*s)) {
            return Err(Error::invalid("expect_status", format!("{bad} is not an HTTP status")));
        }
    }
    if http.method == HttpMethod::Head && (http.body_contains.is_some() || http.body_regex.is_some()) {
        return Err(Error::invalid("method", "a HEAD answer has no body to match"));
    }
    if let Some(pattern) = &http.body_regex {
        regex::Regex::new(pattern).map_err(|e| Error::invalid("body_regex", e.to_string()))?;
    }
    if http.max_response_ms == Some(0) {
        return Err(Error::invalid("max_response_ms", "must be above 0"));
    }
    ca_path(http.ca_file.as_deref())
}

fn validate_expected(record_type: RecordType, expect: &[String]) -> Result<(), Error> {
    for value in expect {
        non_empty("expect", value)?;
        let is_ip = match record_type {
            RecordType::A => value.parse::<std::net::Ipv4Addr>().is_ok(),
            RecordType::Aaaa => value.parse::<std::net::Ipv6Addr>().is_ok(),
            _ => true,
        };
        if !is_ip {
            return Err(Error::invalid("expect", format!("{value:?} is not an address for a {record_type} record")));
        }
    }
    Ok(())
}

fn validate_mail(m: &MailSpec) -> Result<(), Error> {
    addr::host_port(&m.smtp, None).map_err(|e| Error::invalid("smtp", e))?;
    addr::host_port(&m.imap, None).map_err(|e| Error::invalid("imap", e))?;
    for (field, address) in [("from", &m.from), ("to", &m.to)] {
        address.parse::<lettre::Address>().map_err(|e| Error::invalid(field, format!("{address:?}: {e}")))?;
    }
    if m.starttls && m.smtp_tls {
        return Err(Error::invalid("starttls", "choose STARTTLS or implicit TLS (smtp_tls), not both"));
    }
    if m.imap_starttls && m.imap_tls {
        return Err(Error::invalid("imap_starttls", "choose STARTTLS or implicit TLS (imap_tls), not both"));
    }
    if m.smtp_user.is_some() != m.smtp_password.is_some() {
        return Err(Error::invalid("smtp_user", "give both smtp_user and smtp_password, or neither"));
    }
    for (field, value) in
        [("imap_user", m.imap_user.as_str()), ("imap_password", m.imap_password.expose()), ("mailbox", &m.mailbox)]
    {
        non_empty(field, value)?;
        if !mail::imap::quotable(value) {
            return Err(Error::invalid(field, "only printable ASCII can be sent in an IMAP quoted string"));
        }
    }
    if m.timeout_secs == 0 {
        return Err(Error::invalid("timeout_secs", "must be above 0"));
    }
    ca_path(m.ca_file.as_deref())
}

fn non_empty(field: &'static str, value: &str) -> Result<(), Error> {
    if value.trim().is_empty() { Err(Error::invalid(field, "must not be empty")) } else { Ok(()) }
}

fn nonzero_port(port: u16) -> Result<(), Error> {
    if port == 0 { Err(Error::invalid("port", "must be 1 to 65535")) } else { Ok(()) }
}

fn ca_path(ca_file: Option<&str>) -> Result<(), Error> {
    match ca_file {
        Some(path) => non_empty("ca_file", path),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Secret;

    fn field(spec: ProbeSpec) -> &'static str {
        match spec.validate() {
            Err(Error::InvalidSpec { field, .. }) => field,
            other => panic!("expected an invalid spec, got {other:?}"),
        }
    }

    fn http(url: &str) -> HttpSpec {
        HttpSpec { url: url.into(), ..Default::default() }
    }

    fn mail() -> MailSpec {
        MailSpec {
            smtp: "127.0.0.1:25".into(),
            starttls: false,
            smtp_tls: false,
            smtp_user: None,
            smtp_password: None,
            from: "a@a.test".into(),
            to: "b@b.test".into(),
            imap: "127.0.0.1:143".into(),
            imap_tls: false,
            imap_starttls: false,
            imap_user: "b".into(),
            imap_password: Secret::new("pw"),
            mailbox: "INBOX".into(),
            timeout_secs: 10,
            ca_file: None,
        }
    }

    #[test]
    fn good_specs_pass() {
        assert_eq!(ProbeSpec::Http(http("https://a.test/x")).validate(), Ok(()));
        assert_eq!(ProbeSpec::Tcp { host: "::1".into(), port: 22 }.validate(), Ok(()));
        assert_eq!(ProbeSpec::Mail(mail()).validate(), Ok(()));
        let dns = ProbeSpec::Dns {
            server: "127.0.0.1:5353".into(),
            name: "a.test.".into(),
            record_type: RecordType::A,
            expect: vec!["192.0.2.1".into()],
        };
        assert_eq!(dns.validate(), Ok(()));
    }

    #[test]
    fn each_bad_field_is_named() {
        assert_eq!(field(ProbeSpec::Http(http("ftp://a.test/"))), "url");
        assert_eq!(field(ProbeSpec::Http(http("not a url"))), "url");
        assert_eq!(
            field(ProbeSpec::Http(HttpSpec { expect_status: Some(vec![999]), ..http("http://a") })),
            "expect_status"
        );
        assert_eq!(field(ProbeSpec::Http(HttpSpec { body_regex: Some("(".into()), ..http("http://a") })), "body_regex");
        let head = HttpSpec { method: HttpMethod::Head, body_contains: Some("x".into()), ..http("http://a") };
        assert_eq!(field(ProbeSpec::Http(head)), "method");
        assert_eq!(field(ProbeSpec::Tcp { host: "a".into(), port: 0 }), "port");
        assert_eq!(field(ProbeSpec::Tcp { host: " ".into(), port: 1 }), "host");
        let tls = ProbeSpec::Tls {
            host: "a.test".into(),
            port: 443,
            server_name: Some("bad name!".into()),
            min_days: 1,
            ca_file: None,
        };
        assert_eq!(field(tls), "server_name");
        let dns = |server: &str, name: &str, t, expect: &[&str]| ProbeSpec::Dns {
            server: server.into(),
            name: name.into(),
            record_type: t,
            expect: expect.iter().map(|s| s.to_string()).collect(),
        };
        assert_eq!(field(dns("ns.test", "a.test", RecordType::A, &[])), "server");
        assert_eq!(field(dns("127.0.0.1", "a..test", RecordType::A, &[])), "name");
        assert_eq!(field(dns("127.0.0.1", "a.test", RecordType::A, &["::1"])), "expect");
        assert_eq!(field(ProbeSpec::DnsSoaSerials { zone: "a.test".into(), nameservers: vec![] }), "nameservers");
        assert_eq!(field(ProbeSpec::Ping { host: "a".into(), count: 0 }), "count");
        assert_eq!(field(ProbeSpec::Mail(MailSpec { to: "nobody".into(), ..mail() })), "to");
        assert_eq!(field(ProbeSpec::Mail(MailSpec { smtp: "mx".into(), ..mail() })), "smtp");
        assert_eq!(field(ProbeSpec::Mail(MailSpec { imap_tls: true, imap_starttls: true, ..mail() })), "imap_starttls");
        assert_eq!(field(ProbeSpec::Mail(MailSpec { smtp_user: Some("u".into()), ..mail() })), "smtp_user");
        assert_eq!(
            field(ProbeSpec::Mail(MailSpec { imap_password: Secret::new("a\r\nb"), ..mail() })),
            "imap_password"
        );
    }
}
