//! What the probe tests share: peers on loopback (processes started and stopped per test), free
//! ports, a test CA, an HTTPS listener, and the way a test skips when a tool is missing.

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio_rustls::TlsAcceptor;

/// Unwraps what a test needs from the machine, or skips the test saying why. The reason goes
/// straight to stderr, past the harness's capture, so a skipped test is visible in the log.
macro_rules! require {
    ($needed:expr) => {
        match $needed {
            Ok(value) => value,
            Err(reason) => {
                $crate::support::skip(&reason);
                return;
            }
        }
    };
}
pub(crate) use require;

/// Says on stderr that the running test skips, and why. The harness names each test's thread
/// after the test.
pub fn skip(reason: &str) {
    let thread = std::thread::current();
    let _ = writeln!(std::io::stderr(), "SKIP {}: {reason}", thread.name().unwrap_or("a test"));
}

/// An installed tool: on PATH, or in the sbin and libexec places Debian puts daemons.
pub fn tool(name: &str, package: &str) -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/lib/dovecot"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| format!("{name} is not installed (Debian package {package})"))
}

/// A process the test started; stopped (TERM, then KILL) and reaped when dropped.
pub struct Peer {
    name: String,
    child: Child,
}

impl Peer {
    pub fn start(name: &str, command: &mut Command) -> Peer {
        let child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Peer { name: name.to_owned(), child }
    }

    /// Waits until `port` on 127.0.0.1 accepts TCP connections; panics with the peer's stderr if
    /// it exits or takes longer than ten seconds.
    pub fn wait_for_port(&mut self, port: u16) {
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut pipe) = self.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
                }
                panic!("{} exited ({status}) before listening on {port}: {stderr}", self.name);
            }
            assert!(started.elapsed() < Duration::from_secs(10), "{} not listening on {port} after 10 s", self.name);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // TERM first: dovecot's master takes its children down with it only when asked nicely.
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(3) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free for both TCP and UDP on 127.0.0.1 (a DNS server needs both).
pub fn free_port() -> u16 {
    free_ports::<1>()[0]
}

/// `N` distinct such ports: each is held until all are chosen, so none is handed out twice.
pub fn free_ports<const N: usize>() -> [u16; N] {
    let mut held = Vec::with_capacity(N);
    while held.len() < N {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a TCP port");
        let port = tcp.local_addr().expect("local address").port();
        if let Ok(udp) = std::net::UdpSocket::bind(("127.0.0.1", port)) {
            held.push((port, tcp, udp));
        }
    }
    std::array::from_fn(|i| held[i].0)
}

/// A temporary directory other users can traverse: dovecot's unprivileged processes and
/// dnsmasq after dropping root must reach what is inside.
pub fn shared_dir() -> TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

/// Midnight UTC of the day `days` from today, as rcgen dates certificates.
fn day(days: i64) -> (i32, u8, u8) {
    let date = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * days)).to_zoned(jiff::tz::TimeZone::UTC);
    (i32::from(date.year()), date.month().unsigned_abs(), date.day().unsigned_abs())
}

macro_rules! date {
    ($days:expr) => {{
        let (y, m, d) = day($days);
        rcgen::date_time_ymd(y, m, d)
    }};
}

/// A test certificate authority, its certificate in `ca_file`.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
    pub ca_file: PathBuf,
    _dir: TempDir,
}

/// A server certificate and its key, in the forms rustls and PEM-reading servers want.
pub struct Leaf {
    pub chain: Vec<CertificateDer<'static>>,
    pub key_der: Vec<u8>,
    pub cert_pem: String,
    pub key_pem: String,
}

impl Leaf {
    pub fn server_config(&self) -> rustls::ServerConfig {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone())))
            .expect("server certificate")
    }

    /// Writes the certificate and key as PEM files into `dir`.
    pub fn write_pem(&self, dir: &Path) -> (PathBuf, PathBuf) {
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, &self.cert_pem).expect("write cert");
        std::fs::write(&key, &self.key_pem).expect("write key");
        (cert, key)
    }
}

impl Ca {
    pub fn new() -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "tend probe test CA");
        params.not_before = date!(-1);
        params.not_after = date!(3650);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key")).expect("CA cert");
        let dir = shared_dir();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, issuer.pem()).expect("write CA file");
        Ca { issuer, ca_file, _dir: dir }
    }

    pub fn ca_file(&self) -> String {
        self.ca_file.display().to_string()
    }

    /// A certificate for `names` (DNS names or IPs) valid from `from` to `until` days from now.
    pub fn leaf(&self, names: &[&str], from: i64, until: i64) -> Leaf {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names.clone()).expect("leaf params");
        params.distinguished_name.push(DnType::CommonName, names[0].clone());
        params.not_before = date!(from);
        params.not_after = date!(until);
        let key = KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign leaf");
        Leaf {
            chain: vec![cert.der().clone()],
            key_der: key.serialize_der(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// Serves `router` over TLS with `leaf` on a fresh loopback port; lives as long as the test's
/// runtime.
pub async fn serve_https(router: axum::Router, leaf: &Leaf) -> SocketAddr {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = tcp.local_addr().expect("address");
    let listener = TlsListener { tcp, acceptor: TlsAcceptor::from(Arc::new(leaf.server_config())) };
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// Serves `router` over plain HTTP on a fresh loopback port.
pub async fn serve_http(router: axum::Router) -> SocketAddr {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = tcp.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(tcp, router).await });
    addr
}

struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else { continue };
            // A client that rejects the certificate fails its handshake; serve the next one.
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

/// The value of one piece of evidence.
pub fn evidence<'a>(outcome: &'a tend_probe::ProbeOutcome, key: &str) -> Option<&'a str> {
    outcome.evidence.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

pub fn metric(outcome: &tend_probe::ProbeOutcome, key: &str) -> Option<f64> {
    outcome.metrics.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
}
