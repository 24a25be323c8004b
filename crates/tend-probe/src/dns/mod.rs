//! The DNS probes: one query judged on its answers, and a zone's SOA serial compared across its
//! nameservers.
//!
//! DNS is spoken here rather than through a resolver crate: a probe needs one query, seven
//! record types and a TCP retry, a few hundred lines that test on bytes, where hickory-proto
//! would add a large dependency to every build of the binary. Must not use the system resolver:
//! the probe asks exactly the server it names.

pub(crate) mod message;
mod transport;

use crate::addr;
use crate::outcome::{Failure, Probe, Verdict, millis_f64};
use crate::spec::RecordType;
use message::{Rdata, Record};
use std::net::IpAddr;
use tokio::task::JoinSet;

pub(crate) async fn probe(
    server: &str,
    name: &str,
    record_type: RecordType,
    expect: &[String],
    p: &mut Probe,
) -> Verdict {
    let server = addr::nameserver(server).map_err(Failure)?;
    let asked = format!("{name} {record_type} at {server}");
    let exchange = p.step(format!("asking for {asked}"), transport::exchange(server, name, record_type)).await?;
    let response = &exchange.response;
    p.metric("dns_response_ms", millis_f64(exchange.took));
    p.evidence("rcode", message::rcode_name(response.rcode));
    p.evidence("authoritative", response.authoritative);
    p.evidence("transport", if exchange.over_tcp { "tcp" } else { "udp" });
    if !response.answers.is_empty() {
        p.evidence("answers", response.answers.iter().map(describe).collect::<Vec<_>>().join("; "));
    }
    if response.rcode != 0 {
        return Err(Failure(format!("{asked}: {}", message::rcode_name(response.rcode))));
    }
    let relevant: Vec<&Rdata> =
        response.answers.iter().filter(|r| r.type_code == record_type.code()).map(|r| &r.data).collect();
    if relevant.is_empty() {
        return Err(Failure(format!("{asked}: no {record_type} record (NOERROR, empty answer)")));
    }
    if let Some(ttl) = response.answers.iter().filter(|r| r.type_code == record_type.code()).map(|r| r.ttl).min() {
        p.evidence("ttl", ttl);
    }
    let found = relevant.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ");
    let missing: Vec<&str> =
        expect.iter().filter(|want| !relevant.iter().any(|d| matches(want, d))).map(String::as_str).collect();
    if !missing.is_empty() {
        return Err(Failure(format!("{asked}: expected {} not among the answers ({found})", missing.join(", "))));
    }
    Ok(format!("{name} {record_type}: {found} in {:.1} ms", millis_f64(exchange.took)))
}

/// Asks every nameserver for the zone's SOA at once; they must all answer, with one serial.
pub(crate) async fn soa_serials(zone: &str, nameservers: &[String], p: &mut Probe) -> Verdict {
    let mut servers = Vec::with_capacity(nameservers.len());
    for server in nameservers {
        servers.push(addr::nameserver(server).map_err(Failure)?);
    }
    let deadline = p.deadline();
    let mut queries = JoinSet::new();
    for (index, server) in servers.iter().copied().enumerate() {
        let zone = zone.to_owned();
        queries.spawn(async move {
            let answer = tokio::time::timeout_at(deadline, transport::exchange(server, &zone, RecordType::Soa)).await;
            (index, answer)
        });
    }
    let mut answers = vec![None; servers.len()];
    while let Some(joined) = queries.join_next().await {
        let (index, answer) = joined.map_err(|e| Failure(format!("SOA query task: {e}")))?;
        let serial = match answer {
            Err(_) => Err(format!("timed out after {} ms", p.elapsed_ms())),
            Ok(Err(e)) => Err(e),
            Ok(Ok(exchange)) => serial_of(&exchange.response),
        };
        answers[index] = Some(serial);
    }

    let mut problems = Vec::new();
    let mut serials = Vec::new();
    for (server, answer) in servers.iter().zip(answers) {
        match answer.unwrap_or_else(|| Err("no answer".to_owned())) {
            Ok(serial) => {
                p.evidence(&format!("serial {server}"), serial);
                serials.push((server, serial));
            }
            Err(e) => {
                p.evidence(&format!("error {server}"), &e);
                problems.push(format!("{server}: {e}"));
            }
        }
    }
    let first = serials.first().map(|(_, s)| *s);
    if serials.iter().any(|(_, s)| Some(*s) != first) {
        let listed = serials.iter().map(|(server, s)| format!("{server} has {s}")).collect::<Vec<_>>().join(", ");
        problems.insert(0, format!("SOA serials of {zone} disagree: {listed}"));
    }
    match (problems.is_empty(), first) {
        (true, Some(serial)) => Ok(format!("all {} nameservers serve {zone} at serial {serial}", servers.len())),
        _ => Err(Failure(problems.join("; "))),
    }
}

fn serial_of(response: &message::Response) -> Result<u32, String> {
    if response.rcode != 0 {
        return Err(message::rcode_name(response.rcode));
    }
    response
        .answers
        .iter()
        .find_map(|r| match r.data {
            Rdata::Soa { serial, .. } => Some(serial),
            _ => None,
        })
        .ok_or_else(|| "no SOA record in the answer (not authoritative for the zone?)".to_owned())
}

/// "alias.test CNAME probe.test", as a technician reads an answer section.
fn describe(record: &Record) -> String {
    let type_name = RecordType::ALL
        .into_iter()
        .find(|t| t.code() == record.type_code)
        .map_or_else(|| format!("TYPE{}", record.type_code), |t| t.name().to_owned());
    format!("{} {type_name} {}", record.name, record.data)
}

/// Whether an answer is the expected value. Names compare without case or trailing dot;
/// addresses as addresses; an MX matches on its exchange alone or with its preference.
fn matches(expected: &str, data: &Rdata) -> bool {
    let name_eq = |a: &str, b: &str| a.trim_end_matches('.').eq_ignore_ascii_case(b.trim_end_matches('.'));
    let expected = expected.trim();
    match data {
        Rdata::A(ip) => expected.parse::<IpAddr>().is_ok_and(|e| e == IpAddr::V4(*ip)),
        Rdata::Aaaa(ip) => expected.parse::<IpAddr>().is_ok_and(|e| e == IpAddr::V6(*ip)),
        Rdata::Name(name) => name_eq(expected, name),
        Rdata::Mx { preference, exchange } => match expected.split_once(' ') {
            Some((pref, host)) => pref.parse() == Ok(*preference) && name_eq(host.trim(), exchange),
            None => name_eq(expected, exchange),
        },
        Rdata::Txt(text) => expected == text,
        Rdata::Soa { .. } | Rdata::Other => expected.eq_ignore_ascii_case(&data.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn expected_values_match_as_people_write_them() {
        assert!(matches("192.0.2.1", &Rdata::A(Ipv4Addr::new(192, 0, 2, 1))));
        assert!(!matches("192.0.2.2", &Rdata::A(Ipv4Addr::new(192, 0, 2, 1))));
        assert!(matches("2001:DB8::0:1", &Rdata::Aaaa(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))));
        assert!(matches("Probe.Test.", &Rdata::Name("probe.test".into())));
        let mx = Rdata::Mx { preference: 10, exchange: "mail.probe.test".into() };
        assert!(matches("mail.probe.test.", &mx));
        assert!(matches("10 mail.probe.test", &mx));
        assert!(!matches("20 mail.probe.test", &mx));
        assert!(matches("v=spf1 -all", &Rdata::Txt("v=spf1 -all".into())));
        assert!(!matches("V=SPF1 -ALL", &Rdata::Txt("v=spf1 -all".into())));
    }
}
