//! The DNS probes against dnsmasq on loopback (Debian's dnsmasq-base), and a server that never
//! answers.

use crate::support::{Peer, evidence, free_port, metric, require, tool};
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;
use tend_probe::{ProbeOutcome, ProbeSpec, RecordType, run};

const TIMEOUT: Duration = Duration::from_secs(5);

/// dnsmasq, authoritative for `probe.test` with the given SOA serial, on a free port.
struct Dnsmasq {
    addr: SocketAddr,
    _peer: Peer,
}

impl Dnsmasq {
    fn start(serial: u32) -> Result<Dnsmasq, String> {
        let dnsmasq = tool("dnsmasq", "dnsmasq-base")?;
        let port = free_port();
        let mut command = Command::new(dnsmasq);
        command.args([
            "--keep-in-foreground",
            "--log-facility=-",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--listen-address=127.0.0.1",
            "--pid-file=",
            &format!("--port={port}"),
            "--host-record=probe.test,192.0.2.1,2001:db8::1",
            "--host-record=mail.probe.test,192.0.2.25",
            "--mx-host=probe.test,mail.probe.test,10",
            "--txt-record=probe.test,v=spf1 -all",
            "--cname=alias.probe.test,probe.test",
            "--auth-server=ns1.probe.test,127.0.0.1",
            "--auth-zone=probe.test",
            &format!("--auth-soa={serial},hostmaster.probe.test"),
        ]);
        // Twenty long TXT strings: more than 512 bytes, so the UDP answer comes back truncated.
        for i in 0..20 {
            command.arg(format!("--txt-record=big.probe.test,record {i:02} {}", "x".repeat(50)));
        }
        let mut peer = Peer::start("dnsmasq", &mut command);
        peer.wait_for_port(port);
        Ok(Dnsmasq { addr: SocketAddr::from(([127, 0, 0, 1], port)), _peer: peer })
    }

    async fn ask(&self, name: &str, record_type: RecordType, expect: &[&str]) -> ProbeOutcome {
        let spec = ProbeSpec::Dns {
            server: self.addr.to_string(),
            name: name.into(),
            record_type,
            expect: expect.iter().map(|s| (*s).to_owned()).collect(),
        };
        run(&spec, TIMEOUT).await
    }
}

#[tokio::test]
async fn answers_of_each_type() {
    let dns = require!(Dnsmasq::start(2024010101));
    let a = dns.ask("probe.test", RecordType::A, &["192.0.2.1"]).await;
    assert!(a.ok, "{a:?}");
    assert_eq!(a.summary.split(" in ").next(), Some("probe.test A: 192.0.2.1"));
    assert_eq!(evidence(&a, "rcode"), Some("NOERROR"));
    assert_eq!(evidence(&a, "authoritative"), Some("true"));
    assert_eq!(evidence(&a, "transport"), Some("udp"));
    assert!(metric(&a, "dns_response_ms").is_some());

    let aaaa = dns.ask("probe.test", RecordType::Aaaa, &["2001:db8::1"]).await;
    assert!(aaaa.ok, "{aaaa:?}");
    let mx = dns.ask("probe.test", RecordType::Mx, &["10 mail.probe.test"]).await;
    assert!(mx.ok, "{mx:?}");
    let txt = dns.ask("probe.test", RecordType::Txt, &["v=spf1 -all"]).await;
    assert!(txt.ok, "{txt:?}");
    let ns = dns.ask("probe.test", RecordType::Ns, &["ns1.probe.test"]).await;
    assert!(ns.ok, "{ns:?}");
    let soa = dns.ask("probe.test", RecordType::Soa, &[]).await;
    assert!(soa.summary.contains(" 2024010101 "), "{soa:?}");
    let alias = dns.ask("alias.probe.test", RecordType::A, &["192.0.2.1"]).await;
    assert!(alias.ok, "{alias:?}");
    assert!(evidence(&alias, "answers").unwrap().starts_with("alias.probe.test CNAME probe.test; "), "{alias:?}");
}

#[tokio::test]
async fn missing_answers_and_names_fail() {
    let dns = require!(Dnsmasq::start(1));
    let wrong = dns.ask("probe.test", RecordType::A, &["192.0.2.1", "192.0.2.99"]).await;
    assert!(!wrong.ok);
    assert!(wrong.summary.ends_with("expected 192.0.2.99 not among the answers (192.0.2.1)"), "{}", wrong.summary);
    let nx = dns.ask("nothing.probe.test", RecordType::A, &[]).await;
    assert!(!nx.ok);
    assert_eq!(nx.summary, format!("nothing.probe.test A at {}: NXDOMAIN", dns.addr));
    let nodata = dns.ask("mail.probe.test", RecordType::Mx, &[]).await;
    assert!(!nodata.ok);
    assert!(nodata.summary.ends_with("no MX record (NOERROR, empty answer)"), "{}", nodata.summary);
}

#[tokio::test]
async fn a_truncated_answer_is_asked_again_over_tcp() {
    let dns = require!(Dnsmasq::start(1));
    let big = dns.ask("big.probe.test", RecordType::Txt, &[&format!("record 19 {}", "x".repeat(50))]).await;
    assert!(big.ok, "{big:?}");
    assert_eq!(evidence(&big, "transport"), Some("tcp"));
    assert_eq!(big.summary.matches("record ").count(), 20);
}

#[tokio::test]
async fn soa_serials_agree_or_disagree() {
    let first = require!(Dnsmasq::start(2024010101));
    let second = require!(Dnsmasq::start(2024010101));
    let behind = require!(Dnsmasq::start(2023123199));
    let serials = |servers: &[&Dnsmasq]| ProbeSpec::DnsSoaSerials {
        zone: "probe.test".into(),
        nameservers: servers.iter().map(|d| d.addr.to_string()).collect(),
    };
    let agree = run(&serials(&[&first, &second]), TIMEOUT).await;
    assert!(agree.ok, "{agree:?}");
    assert_eq!(agree.summary, "all 2 nameservers serve probe.test at serial 2024010101");
    assert_eq!(evidence(&agree, &format!("serial {}", second.addr)), Some("2024010101"));

    let disagree = run(&serials(&[&first, &second, &behind]), TIMEOUT).await;
    assert!(!disagree.ok);
    assert!(
        disagree.summary.ends_with(&format!("{} has 2024010101, {} has 2023123199", second.addr, behind.addr)),
        "{}",
        disagree.summary
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_on_time() {
    // Bound and never read: queries vanish as into a firewalled nameserver.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let spec = ProbeSpec::Dns {
        server: silent.local_addr().unwrap().to_string(),
        name: "probe.test".into(),
        record_type: RecordType::A,
        expect: vec![],
    };
    let outcome = run(&spec, Duration::from_millis(1500)).await;
    assert!(!outcome.ok);
    assert!(outcome.summary.contains(": timed out after 15"), "{}", outcome.summary);
    assert!(outcome.duration_ms < 1700, "took {} ms", outcome.duration_ms);

    let serials = ProbeSpec::DnsSoaSerials { zone: "probe.test".into(), nameservers: vec![spec_server(&spec)] };
    let outcome = run(&serials, Duration::from_millis(500)).await;
    assert!(!outcome.ok);
    assert!(outcome.summary.contains("timed out"), "{}", outcome.summary);
}

fn spec_server(spec: &ProbeSpec) -> String {
    match spec {
        ProbeSpec::Dns { server, .. } => server.clone(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_closed_port_is_refused_at_once() {
    let port = free_port();
    let spec = ProbeSpec::Dns {
        server: format!("127.0.0.1:{port}"),
        name: "probe.test".into(),
        record_type: RecordType::A,
        expect: vec![],
    };
    let outcome = run(&spec, TIMEOUT).await;
    assert!(!outcome.ok);
    assert!(outcome.summary.to_lowercase().contains("refused"), "{}", outcome.summary);
    assert!(outcome.duration_ms < 1000);
}
