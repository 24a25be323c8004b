//! The certificates section: for each configured PEM file, who its certificate names, who
//! issued it and when it expires.
//!
//! This module owns reading those files and decoding their first certificate. It must not
//! verify chains, fetch certificates over the network or touch private keys that share a file
//! with a certificate: how soon an expiry matters is the server's judgement.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use tend_proto::inventory as inv;
use x509_cert::Certificate;
use x509_cert::der::Decode;

use super::source::ParseError;
use super::{Collector, CollectorConfig, Section};
use crate::Error;

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";
const DAY_MS: i64 = 24 * 60 * 60 * 1000;
const READ_LIMIT_BYTES: u64 = 1024 * 1024;

/// Decodes the first certificate of a PEM file (the leaf, in the order servers are configured
/// with) and says how many whole days are left at `now_ms` (ms since the epoch), negative once
/// it has expired. Anything around the certificate blocks, such as the private key of a
/// combined file or openssl's `subject=` lines, is skipped. `path` is left for the caller, who
/// knows the file.
pub fn parse_certificate(pem: &[u8], now_ms: i64) -> Result<inv::Certificate, ParseError> {
    let text = String::from_utf8_lossy(pem);
    let (line, block) = first_certificate_block(&text)?;
    let invalid = |reason: String| ParseError::line(line, format!("invalid certificate: {reason}"));
    // The PEM armour is undone first, then the DER decoded from memory: the crate's streaming
    // PEM readers (`from_pem`, `load_pem_chain`) loop forever on some malformed blocks (found
    // by fuzzing: a body of "MIIC\r\r").
    let (_, der) = x509_cert::der::pem::decode_vec(block.as_bytes()).map_err(|e| invalid(e.to_string()))?;
    let leaf = Certificate::from_der(&der).map_err(|e| invalid(e.to_string()))?;
    let tbs = &leaf.tbs_certificate;
    let not_after_ms = i64::try_from(tbs.validity.not_after.to_unix_duration().as_millis())
        .map_err(|_| invalid("expiry out of range".to_owned()))?;
    Ok(inv::Certificate {
        path: String::new(),
        subject: Some(tbs.subject.to_string()),
        issuer: Some(tbs.issuer.to_string()),
        not_after_ms: Some(not_after_ms),
        days_left: Some(not_after_ms.saturating_sub(now_ms).div_euclid(DAY_MS)),
        error: None,
    })
}

/// The first `BEGIN CERTIFICATE` … `END CERTIFICATE` block and the line it starts on.
fn first_certificate_block(text: &str) -> Result<(usize, &str), ParseError> {
    let start = text.find(BEGIN).ok_or(ParseError::Missing { field: "PEM certificate" })?;
    let line = text[..start].matches('\n').count() + 1;
    let length = text[start..]
        .find(END)
        .ok_or_else(|| ParseError::line(line, format!("certificate block without its {END} line")))?;
    Ok((line, &text[start..start + length + END.len()]))
}

/// Reads and decodes one configured certificate file; a file that cannot be read or decoded is
/// reported with its `error`, never dropped.
pub fn read_certificate(path: &Path, now_ms: i64) -> inv::Certificate {
    let decoded = read_head(path)
        .map_err(|source| Error::Read { path: path.to_owned(), source })
        .and_then(|pem| parse_certificate(&pem, now_ms).map_err(|error| error.at(path)));
    let path_text = path.display().to_string();
    match decoded {
        Ok(certificate) => inv::Certificate { path: path_text, ..certificate },
        Err(error) => inv::Certificate { path: path_text, error: Some(error.to_string()), ..Default::default() },
    }
}

/// The first `READ_LIMIT_BYTES` of the file: a chain is a few kilobytes, and a path configured by
/// mistake (a log, `/dev/zero`) must not be read to its end.
fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(READ_LIMIT_BYTES).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Collects the certificates section hourly: expiry is counted in days.
pub struct CertificatesCollector {
    files: Vec<PathBuf>,
}

impl CertificatesCollector {
    pub fn new(config: &CollectorConfig) -> Self {
        CertificatesCollector { files: config.certificate_files.clone() }
    }
}

impl Collector for CertificatesCollector {
    fn name(&self) -> &'static str {
        "certificates"
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(10)
    }

    fn period(&self) -> Duration {
        Duration::from_secs(60 * 60)
    }

    fn collect(&mut self) -> Result<Section, Error> {
        let now_ms = Timestamp::now().as_millisecond();
        Ok(Section::Certificates(self.files.iter().map(|path| read_certificate(path, now_ms)).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::compliance;

    const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/certificates");
    /// Generated here with openssl 3.0 (testdata README); the expiries are what
    /// `openssl x509 -enddate` says of them.
    const SELF_SIGNED: &[u8] = include_bytes!("../../testdata/certificates/selfsigned-30d.pem");
    const SELF_SIGNED_EXPIRES_MS: i64 = 1_797_914_608_000; // Dec 22 04:43:28 2026 GMT
    const EXPIRED: &[u8] = include_bytes!("../../testdata/certificates/expired.pem");
    const EXPIRED_EXPIRES_MS: i64 = 1_706_702_400_000; // Jan 31 12:00:00 2024 GMT
    const CHAIN: &[u8] = include_bytes!("../../testdata/certificates/chain.pem");
    const LEAF_EXPIRES_MS: i64 = 1_803_098_608_000; // Feb 20 04:43:28 2027 GMT

    fn decoded(subject: &str, issuer: &str, not_after_ms: i64, days_left: i64) -> inv::Certificate {
        inv::Certificate {
            path: String::new(),
            subject: Some(subject.into()),
            issuer: Some(issuer.into()),
            not_after_ms: Some(not_after_ms),
            days_left: Some(days_left),
            error: None,
        }
    }

    #[test]
    fn a_self_signed_certificate_valid_thirty_days() {
        // Issued at Nov 22 04:43:28 2026 GMT, thirty days before its expiry.
        let issued_ms = SELF_SIGNED_EXPIRES_MS - 30 * DAY_MS;
        let subject = "CN=www.example.test,O=Example Hosting\\, Inc.,C=DE";
        assert_eq!(
            parse_certificate(SELF_SIGNED, issued_ms).unwrap(),
            decoded(subject, subject, SELF_SIGNED_EXPIRES_MS, 30)
        );
        // One millisecond short of a whole day is not a day.
        assert_eq!(parse_certificate(SELF_SIGNED, SELF_SIGNED_EXPIRES_MS - DAY_MS + 1).unwrap().days_left, Some(0));
    }

    #[test]
    fn an_expired_certificate_has_negative_days_left() {
        let expired = parse_certificate(EXPIRED, EXPIRED_EXPIRES_MS + 1).unwrap();
        assert_eq!(
            expired,
            decoded("CN=old.example.test,O=Tend Test", "CN=Tend Test Root CA,O=Tend Test", EXPIRED_EXPIRES_MS, -1)
        );
        let a_year_on = parse_certificate(EXPIRED, EXPIRED_EXPIRES_MS + 366 * DAY_MS).unwrap();
        assert_eq!(a_year_on.days_left, Some(-366));
    }

    #[test]
    fn the_leaf_of_a_chain_and_of_a_combined_certificate_and_key() {
        let now = LEAF_EXPIRES_MS - 90 * DAY_MS;
        let leaf =
            decoded("CN=mail.example.test,O=Tend Test,C=NL", "CN=Tend Test Root CA,O=Tend Test", LEAF_EXPIRES_MS, 90);
        assert_eq!(parse_certificate(CHAIN, now).unwrap(), leaf);
        let combined = include_bytes!("../../testdata/certificates/cert-and-key.pem");
        assert_eq!(parse_certificate(combined, now).unwrap(), leaf);
        // Hand-made variants: the key first, Windows line endings, openssl's text before the block.
        let text = String::from_utf8_lossy(combined);
        let (certificate, key) = text.split_at(text.find("-----BEGIN PRIVATE KEY-----").unwrap());
        for variant in [format!("{key}{certificate}"), text.replace('\n', "\r\n"), format!("subject=CN = x\n\n{text}")]
        {
            assert_eq!(parse_certificate(variant.as_bytes(), now).unwrap(), leaf, "{variant}");
        }
    }

    #[test]
    fn a_malformed_block_that_once_hung_the_decoder_is_an_error() {
        let found_by_fuzzing = b"-----BEGIN CERTIFICATE-----\nMIIC\r\r-----END CERTIFICATE-----\n";
        assert!(parse_certificate(found_by_fuzzing, 0).is_err());
    }

    #[test]
    fn what_is_not_a_pem_certificate() {
        let der = include_bytes!("../../testdata/certificates/selfsigned-30d.der");
        for not_pem in [&der[..], b"", b"\n", b"-----BEGIN PRIVATE KEY-----\nMC4CAQAw\n-----END PRIVATE KEY-----\n"] {
            assert_eq!(parse_certificate(not_pem, 0), Err(ParseError::Missing { field: "PEM certificate" }));
        }
        let text = String::from_utf8_lossy(SELF_SIGNED).into_owned();
        let truncated = &text[..text.len() / 2];
        assert!(matches!(parse_certificate(truncated.as_bytes(), 0), Err(ParseError::Line { line: 1, .. })));
        let garbled = format!("# comment\n{}", text.replacen("MII", "MI!", 1));
        match parse_certificate(garbled.as_bytes(), 0) {
            Err(ParseError::Line { line: 2, reason }) => assert!(reason.starts_with("invalid certificate"), "{reason}"),
            other => panic!("{other:?}"),
        }
        let not_der = format!("{BEGIN}\naGVsbG8gd29ybGQ=\n{END}\n");
        assert!(matches!(parse_certificate(not_der.as_bytes(), 0), Err(ParseError::Line { line: 1, .. })));
    }

    #[test]
    fn every_prefix_of_a_certificate_decodes_or_is_an_error() {
        let combined = include_bytes!("../../testdata/certificates/cert-and-key.pem");
        for end in 0..=combined.len() {
            let _ = parse_certificate(&combined[..end], 0);
        }
    }

    #[test]
    fn files_that_cannot_be_read_or_decoded_carry_their_error() {
        let missing = read_certificate(Path::new("/nonexistent/cert.pem"), 0);
        assert_eq!(missing.path, "/nonexistent/cert.pem");
        assert!(missing.error.as_deref().unwrap().starts_with("cannot read /nonexistent/cert.pem"), "{missing:?}");
        assert_eq!((missing.subject, missing.not_after_ms, missing.days_left), (None, None, None));
        let der = Path::new(TESTDATA).join("selfsigned-30d.der");
        let error = read_certificate(&der, 0).error.unwrap();
        assert_eq!(error, format!("{}: no PEM certificate", der.display()));
        let endless = read_certificate(Path::new("/dev/zero"), 0).error.unwrap();
        assert_eq!(endless, "/dev/zero: no PEM certificate");
        let good = read_certificate(&Path::new(TESTDATA).join("expired.pem"), EXPIRED_EXPIRES_MS);
        assert_eq!((good.path.ends_with("expired.pem"), good.days_left, good.error), (true, Some(0), None));
    }

    #[test]
    fn the_collector_keeps_the_contract_on_this_machine() {
        let mut nothing_configured = CertificatesCollector::new(&CollectorConfig::default());
        assert!(matches!(compliance::check(&mut nothing_configured), Ok(Section::Certificates(c)) if c.is_empty()));
        let files = ["selfsigned-30d.pem", "absent.pem"].map(|name| Path::new(TESTDATA).join(name)).to_vec();
        let mut collector =
            CertificatesCollector::new(&CollectorConfig { certificate_files: files, ..Default::default() });
        let Ok(Section::Certificates(certificates)) = compliance::check(&mut collector) else {
            panic!("no certificates section");
        };
        assert_eq!(certificates.len(), 2);
        assert!(certificates[0].error.is_none() && certificates[1].error.is_some());
    }
}
