//! Names to addresses and TCP connections, within a probe's deadline.
//!
//! Owns resolution and connecting. Must not speak any protocol over the connection.

use crate::outcome::{Failure, Probe};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// Every address of `host` (an IP literal resolves to itself, without a lookup).
pub(crate) async fn resolve(p: &Probe, host: &str, port: u16) -> Result<Vec<SocketAddr>, Failure> {
    let what = format!("resolving {host}");
    let addrs: Vec<SocketAddr> = p.step(&what, tokio::net::lookup_host((host, port))).await?.collect();
    if addrs.is_empty() {
        return Err(Failure(format!("{what}: no addresses")));
    }
    Ok(addrs)
}

/// A connection to the first address of `host` that accepts one, trying them in the resolver's
/// order (so a service bound to 127.0.0.1 only is still found through `localhost`). Records the
/// address it reached.
pub(crate) async fn connect(p: &mut Probe, host: &str, port: u16) -> Result<(TcpStream, Duration), Failure> {
    let addrs = resolve(p, host, port).await?;
    let mut failure = None;
    for addr in addrs {
        let started = Instant::now();
        match p.step(format!("connecting to {addr}"), TcpStream::connect(addr)).await {
            Ok(stream) => {
                p.evidence("address", addr);
                return Ok((stream, started.elapsed()));
            }
            Err(f) => failure = Some(f),
        }
    }
    Err(failure.unwrap_or_else(|| Failure(format!("{host}: no address to connect to"))))
}
