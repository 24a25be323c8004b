//! One DNS exchange with one server: UDP, resent every `RESEND` while unanswered, and TCP when
//! the UDP answer comes back truncated.
//!
//! Owns the sockets. Must not keep a deadline of its own: callers bound it (and dropping it
//! cancels it), so that one exchange per nameserver can run concurrently under the probe's
//! deadline.

use super::message::{self, Response};
use crate::spec::RecordType;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// UDP may drop a datagram; a resolver that waits a second before asking again is the norm.
const RESEND: Duration = Duration::from_secs(1);
/// Room for anything a server sends over UDP, EDNS or not.
const UDP_BUFFER: usize = 4096;

pub(crate) struct Exchange {
    pub(crate) response: Response,
    pub(crate) over_tcp: bool,
    pub(crate) took: Duration,
}

pub(crate) async fn exchange(server: SocketAddr, name: &str, record_type: RecordType) -> Result<Exchange, String> {
    let id = getrandom::u32().map_err(|e| format!("no randomness for a query id: {e}"))?;
    // The low half of a random word; the truncation is the point.
    let id = id as u16;
    let query = message::query(id, name, record_type)?;
    let started = Instant::now();
    let response = over_udp(server, id, &query).await?;
    let (response, over_tcp) =
        if response.truncated { (over_tcp(server, id, &query).await?, true) } else { (response, false) };
    check_question(&response, name, record_type)?;
    Ok(Exchange { response, over_tcp, took: started.elapsed() })
}

async fn over_udp(server: SocketAddr, id: u16, query: &[u8]) -> Result<Response, String> {
    let local: SocketAddr =
        if server.is_ipv4() { (Ipv4Addr::UNSPECIFIED, 0).into() } else { (Ipv6Addr::UNSPECIFIED, 0).into() };
    let socket = UdpSocket::bind(local).await.map_err(|e| format!("UDP socket: {e}"))?;
    // Connected: datagrams from anyone else are dropped by the kernel, and a closed port comes
    // back as "connection refused" instead of silence.
    socket.connect(server).await.map_err(|e| format!("UDP to {server}: {e}"))?;
    let mut buf = vec![0; UDP_BUFFER];
    loop {
        socket.send(query).await.map_err(|e| format!("sending over UDP: {e}"))?;
        let answered = tokio::time::timeout(RESEND, async {
            loop {
                let n = socket.recv(&mut buf).await.map_err(|e| format!("UDP: {e}"))?;
                match message::parse(&buf[..n]) {
                    Ok(response) if response.id == id => return Ok::<_, String>(response),
                    Ok(_) => continue, // a stale answer to someone else's id
                    Err(e) => return Err(format!("unreadable answer: {e}")),
                }
            }
        })
        .await;
        if let Ok(response) = answered {
            return response;
        }
    }
}

/// RFC 1035 §4.2.2: each message is preceded by its length in two bytes.
async fn over_tcp(server: SocketAddr, id: u16, query: &[u8]) -> Result<Response, String> {
    let mut stream = TcpStream::connect(server).await.map_err(|e| format!("TCP to {server}: {e}"))?;
    let len = u16::try_from(query.len()).map_err(|_| "query too long".to_owned())?;
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(query);
    stream.write_all(&framed).await.map_err(|e| format!("sending over TCP: {e}"))?;
    let len = stream.read_u16().await.map_err(|e| format!("reading over TCP: {e}"))?;
    let mut msg = vec![0; usize::from(len)];
    stream.read_exact(&mut msg).await.map_err(|e| format!("reading over TCP: {e}"))?;
    let response = message::parse(&msg).map_err(|e| format!("unreadable answer over TCP: {e}"))?;
    if response.id != id {
        return Err(format!("answer over TCP has id {} instead of {id}", response.id));
    }
    Ok(response)
}

/// An answer to another question is no answer (a confused or spoofing server).
fn check_question(response: &Response, name: &str, record_type: RecordType) -> Result<(), String> {
    let asked = name.strip_suffix('.').unwrap_or(name);
    match &response.question {
        Some((echoed, code)) if echoed.eq_ignore_ascii_case(asked) && *code == record_type.code() => Ok(()),
        // RFC 1035 lets a server omit the question; a REFUSED often does.
        None => Ok(()),
        Some((echoed, code)) => Err(format!("answer is for {echoed} type {code}, not {asked} {record_type}")),
    }
}
