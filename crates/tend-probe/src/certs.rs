//! Trust and certificates, shared by the HTTP, TLS and mail probes: which roots a probe trusts,
//! a verifier that remembers what the server showed, and how long a certificate has left.
//!
//! Owns the rustls client configuration. Must not weaken verification: the recording verifier
//! only looks, it always defers to webpki's answer.

use crate::outcome::{Failure, Probe};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::{Arc, Mutex};
use x509_cert::der::Decode;

const SECONDS_PER_DAY: i64 = 86_400;

/// The process-wide crypto provider. rustls needs one chosen before any client is built, and the
/// workspace builds rustls with `ring` only; installing twice is harmless, hence the ignored
/// result.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The PEM certificates of an extra CA file, read when the probe runs. Errors do not repeat the
/// path: the caller names the step.
pub(crate) async fn read_ca_file(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = tokio::fs::read(path).await.map_err(|e| e.to_string())?;
    let certs = CertificateDer::pem_slice_iter(&pem).collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no PEM certificate in it".to_owned());
    }
    Ok(certs)
}

/// A client configuration trusting the webpki roots plus `extra`, and the verifier that will
/// remember the server's certificate.
pub(crate) fn client_config(
    extra: Vec<CertificateDer<'static>>,
) -> Result<(ClientConfig, Arc<RecordingVerifier>), String> {
    let provider = provider();
    let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    for cert in extra {
        roots.add(cert).map_err(|e| format!("extra CA certificate: {e}"))?;
    }
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("certificate verifier: {e}"))?;
    let verifier = Arc::new(RecordingVerifier { webpki, seen: Mutex::new(None) });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    Ok((config, verifier))
}

/// Webpki verification that keeps the last end-entity certificate it was shown, so that a failed
/// handshake can still report whose certificate it was and when it expires.
#[derive(Debug)]
pub(crate) struct RecordingVerifier {
    webpki: Arc<WebPkiServerVerifier>,
    seen: Mutex<Option<CertificateDer<'static>>>,
}

impl RecordingVerifier {
    pub(crate) fn last_seen(&self) -> Option<CertificateDer<'static>> {
        self.seen.lock().ok().and_then(|seen| seen.clone())
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(end_entity.clone().into_owned());
        }
        self.webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// What a technician wants to know of a server certificate.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CertInfo {
    pub(crate) subject: String,
    pub(crate) not_after: jiff::Timestamp,
}

impl CertInfo {
    pub(crate) fn parse(der: &[u8]) -> Result<CertInfo, String> {
        let cert = x509_cert::Certificate::from_der(der).map_err(|e| format!("unreadable certificate: {e}"))?;
        let tbs = cert.tbs_certificate;
        let not_after = tbs.validity.not_after.to_unix_duration();
        let seconds = i64::try_from(not_after.as_secs()).map_err(|_| "certificate expiry out of range".to_owned())?;
        let not_after = jiff::Timestamp::from_second(seconds).map_err(|e| format!("certificate expiry: {e}"))?;
        Ok(CertInfo { subject: tbs.subject.to_string(), not_after })
    }

    /// Whole days until expiry, rounded down; negative once expired.
    pub(crate) fn days_left(&self, now: jiff::Timestamp) -> i64 {
        (self.not_after.as_second() - now.as_second()).div_euclid(SECONDS_PER_DAY)
    }
}

/// After a failed handshake: records whose certificate the server showed, if it got that far.
pub(crate) fn note_rejected(probe: &mut Probe, verifier: &RecordingVerifier) {
    if let Some(info) = verifier.last_seen().and_then(|der| CertInfo::parse(&der).ok()) {
        probe.evidence("tls_subject", &info.subject);
        probe.evidence("tls_not_after", info.not_after);
        probe.evidence("tls_days_left", info.days_left(jiff::Timestamp::now()));
    }
}

/// Records the certificate as evidence and judges its remaining days against `min_days`.
pub(crate) fn judge_expiry(probe: &mut Probe, der: &[u8], min_days: u32) -> Result<i64, Failure> {
    let info = CertInfo::parse(der).map_err(Failure)?;
    let days = info.days_left(jiff::Timestamp::now());
    probe.evidence("tls_subject", &info.subject);
    probe.evidence("tls_not_after", info.not_after);
    probe.evidence("tls_days_left", days);
    // Day counts are small integers; f64 holds them exactly.
    probe.metric("tls_days_left", days as f64);
    if days < 0 {
        Err(Failure(format!("certificate expired {} days ago ({})", -days, info.not_after)))
    } else if days < i64::from(min_days) {
        Err(Failure(format!("certificate expires in {days} days, on {} (minimum {min_days})", info.not_after)))
    } else {
        Ok(days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_left_rounds_down_and_goes_negative() {
        let info =
            CertInfo { subject: "CN=a".into(), not_after: jiff::Timestamp::from_second(10 * SECONDS_PER_DAY).unwrap() };
        let at = |s: i64| jiff::Timestamp::from_second(s).unwrap();
        assert_eq!(info.days_left(at(0)), 10);
        assert_eq!(info.days_left(at(1)), 9);
        assert_eq!(info.days_left(at(10 * SECONDS_PER_DAY)), 0);
        assert_eq!(info.days_left(at(10 * SECONDS_PER_DAY + 1)), -1);
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert!(CertInfo::parse(b"not DER").is_err());
    }
}
