//! The TLS probe: a handshake as a client would make it, the chain checked against the webpki
//! roots (and an extra CA file) for the expected name, and the days the certificate has left.
//!
//! Owns the handshake and its judgement. Must not send application data: the probe ends once
//! the handshake does.

use crate::certs;
use crate::net;
use crate::outcome::{Failure, Probe, Verdict, millis_f64};
use rustls::pki_types::ServerName;
use std::sync::Arc;
use std::time::Instant;

pub(crate) struct TlsTarget<'a> {
    pub(crate) host: &'a str,
    pub(crate) port: u16,
    pub(crate) server_name: Option<&'a str>,
    pub(crate) min_days: u32,
    pub(crate) ca_file: Option<&'a str>,
}

pub(crate) async fn probe(target: TlsTarget<'_>, p: &mut Probe) -> Verdict {
    let name = target.server_name.unwrap_or(target.host);
    let server_name =
        ServerName::try_from(name.to_owned()).map_err(|e| Failure(format!("server name {name:?}: {e}")))?;
    let extra = match target.ca_file {
        Some(path) => p.step(format!("CA file {path}"), certs::read_ca_file(path)).await?,
        None => Vec::new(),
    };
    let (config, verifier) = certs::client_config(extra).map_err(Failure)?;
    let (tcp, connect_took) = net::connect(p, target.host, target.port).await?;
    p.metric("tcp_connect_ms", millis_f64(connect_took));

    let started = Instant::now();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let handshake = p.step(format!("TLS handshake for {name}"), connector.connect(server_name, tcp)).await;
    let stream = match handshake {
        Ok(stream) => stream,
        Err(failure) => {
            certs::note_rejected(p, &verifier);
            return Err(failure);
        }
    };
    let took = started.elapsed();
    p.metric("tls_handshake_ms", millis_f64(took));
    let session = stream.get_ref().1;
    let version = session.protocol_version().map(|v| v.as_str().unwrap_or("unknown").to_owned());
    if let Some(version) = &version {
        p.evidence("tls_version", version);
    }
    if let Some(suite) = session.negotiated_cipher_suite() {
        p.evidence("tls_cipher", suite.suite().as_str().unwrap_or("unknown"));
    }
    let leaf = session
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|der| der.to_vec())
        .ok_or_else(|| Failure(format!("{name}: the server sent no certificate")))?;
    let days =
        certs::judge_expiry(p, &leaf, target.min_days).map_err(|Failure(why)| Failure(format!("{name}: {why}")))?;
    Ok(format!(
        "{} handshake for {name} in {:.1} ms, certificate valid {days} more days",
        version.as_deref().unwrap_or("TLS"),
        millis_f64(took)
    ))
}
