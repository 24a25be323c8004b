//! Synthetic probes: what the provider promises to watch every minute (web pages, TLS
//! certificates, ports, nameservers, reachability, mail delivery), checked from the outside as a
//! customer's visitor would.
//!
//! The same code runs in the server's scheduler and in `tend probe KIND TARGET` on a
//! technician's shell: `ProbeSpec` says what to check (serialized, tagged by `kind`), `run`
//! checks it and returns a `ProbeOutcome`. A probe that finds a problem is a normal outcome with
//! `ok: false`; only a spec that cannot run is an `Error`.
//!
//! Invariants: `run` never panics and returns by its timeout (each step runs against one
//! deadline; a backstop `WRAP_UP` later cuts whatever is left); it talks only to the targets
//! the spec names (and, for HTTP, where they redirect) and never depends on the server, the
//! store or the agent.
//!
//! Besides the probes, `imap::Mailbox` lends the probes' IMAP client to readers of a mailbox:
//! the server reads customers' replies to tickets with it.

mod addr;
mod certs;
mod cli;
mod dns;
mod error;
mod http;
mod mail;
mod net;
mod outcome;
mod ping;
mod spec;
mod tcp;
mod tls;
mod validate;

pub use error::Error;
/// The IMAP client, for reading a mailbox outside the probes (the service desk's replies).
pub use mail::mailbox as imap;
pub use outcome::ProbeOutcome;
pub use spec::{HttpMethod, HttpSpec, MailSpec, ProbeSpec, RecordType, Secret};

use outcome::{Failure, Probe, Verdict};
use std::time::Duration;
use tokio::time::Instant;

/// Past the deadline, the time a probe gets to put its outcome together before the backstop
/// cuts it off; every step already stops at the deadline itself.
const WRAP_UP: Duration = Duration::from_millis(50);

/// Runs one probe within `timeout`. An invalid spec gives an outcome with `ok: false` naming
/// the fault; call `ProbeSpec::validate` first to refuse it earlier.
pub async fn run(spec: &ProbeSpec, timeout: Duration) -> ProbeOutcome {
    let mut probe = Probe::new(Instant::now(), timeout);
    let verdict = match spec.validate() {
        Err(e) => Err(Failure(format!("invalid probe: {e}"))),
        Ok(()) => match tokio::time::timeout(timeout + WRAP_UP, dispatch(spec, &mut probe)).await {
            Ok(verdict) => verdict,
            Err(_) => Err(probe.timed_out(kind(spec))),
        },
    };
    probe.finish(verdict)
}

async fn dispatch(spec: &ProbeSpec, p: &mut Probe) -> Verdict {
    match spec {
        ProbeSpec::Http(http) => http::probe(http, p).await,
        ProbeSpec::Tcp { host, port } => tcp::probe(host, *port, p).await,
        ProbeSpec::Tls { host, port, server_name, min_days, ca_file } => {
            let target = tls::TlsTarget {
                host,
                port: *port,
                server_name: server_name.as_deref(),
                min_days: *min_days,
                ca_file: ca_file.as_deref(),
            };
            tls::probe(target, p).await
        }
        ProbeSpec::Dns { server, name, record_type, expect } => dns::probe(server, name, *record_type, expect, p).await,
        ProbeSpec::DnsSoaSerials { zone, nameservers } => dns::soa_serials(zone, nameservers, p).await,
        ProbeSpec::Ping { host, count } => ping::probe(host, *count, p).await,
        ProbeSpec::Mail(mail) => mail::probe(mail, p).await,
    }
}

fn kind(spec: &ProbeSpec) -> &'static str {
    match spec {
        ProbeSpec::Http(_) => "http probe",
        ProbeSpec::Tcp { .. } => "tcp probe",
        ProbeSpec::Tls { .. } => "tls probe",
        ProbeSpec::Dns { .. } => "dns probe",
        ProbeSpec::DnsSoaSerials { .. } => "dns soa serials probe",
        ProbeSpec::Ping { .. } => "ping probe",
        ProbeSpec::Mail(_) => "mail probe",
    }
}
