//! The ping probe: ICMP echo without the setuid `ping` binary.
//!
//! Uses an unprivileged ICMP datagram socket (`SOCK_DGRAM`/`IPPROTO_ICMP`, allowed when
//! `net.ipv4.ping_group_range` covers one of the process's groups), and a raw socket when that
//! is refused but the process holds CAP_NET_RAW (root in a container whose group range is
//! empty). When neither is allowed the probe says "unavailable" rather than "down": the host
//! may well answer. Must not send more than `count` requests, `INTERVAL` apart.

mod icmp;

use crate::net;
use crate::outcome::{Failure, Probe, Verdict};
use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::time::Instant;

/// What `ping -i 0.2` allows without privileges; a probe has no reason to be faster.
const INTERVAL: Duration = Duration::from_millis(200);
/// How long a reply may take after the last request before it counts as lost.
const REPLY_WAIT: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, PartialEq)]
enum SocketKind {
    Datagram,
    Raw,
}

pub(crate) async fn probe(host: &str, count: u32, p: &mut Probe) -> Verdict {
    let addrs = net::resolve(p, host, 0).await?;
    // IPv4 first: it is what a technician means by "ping the host" when it has both.
    let ip = addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .map(SocketAddr::ip)
        .ok_or_else(|| Failure(format!("resolving {host}: no addresses")))?;
    p.evidence("address", ip);
    let (socket, kind) = match open(ip) {
        Ok(opened) => opened,
        Err(why) => {
            p.evidence("unavailable", &why);
            return Err(Failure(format!("unavailable: {why}")));
        }
    };
    p.evidence("socket", if kind == SocketKind::Raw { "raw" } else { "datagram" });
    let count = fitting(usize::try_from(count).unwrap_or(usize::MAX), p.remaining());
    let round_trips =
        exchange(&socket, kind, ip, count, p.deadline()).await.map_err(|e| Failure(format!("pinging {ip}: {e}")))?;

    let s = icmp::summarize(&round_trips);
    p.evidence("transmitted", s.sent);
    p.evidence("received", s.received);
    p.metric("ping_loss_pct", s.loss_pct);
    let Some((min, avg, max)) = s.rtt_ms else {
        return Err(Failure(format!("{ip}: no reply to {} echo requests (100% loss)", s.sent)));
    };
    p.metric("ping_rtt_min_ms", min);
    p.metric("ping_rtt_avg_ms", avg);
    p.metric("ping_rtt_max_ms", max);
    Ok(format!(
        "{ip}: {}/{} replies, {:.0}% loss, rtt min/avg/max {min:.3}/{avg:.3}/{max:.3} ms",
        s.received, s.sent, s.loss_pct
    ))
}

/// How many of `count` requests to send so that the last still has `REPLY_WAIT` for its answer
/// before the deadline: a request sent too late for an answer would be counted as lost. At
/// least one.
fn fitting(count: usize, remaining: Duration) -> usize {
    let spare = remaining.saturating_sub(REPLY_WAIT).as_millis() / INTERVAL.as_millis();
    count.min(usize::try_from(spare).unwrap_or(usize::MAX).saturating_add(1))
}

/// An ICMP socket for `ip`'s family: the unprivileged kind if allowed, else raw.
fn open(ip: IpAddr) -> Result<(UdpSocket, SocketKind), String> {
    let (domain, protocol) = match ip {
        IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4),
        IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6),
    };
    let (socket, kind) = match Socket::new(domain, Type::DGRAM, Some(protocol)) {
        Ok(socket) => (socket, SocketKind::Datagram),
        Err(dgram) if denied(&dgram) => match Socket::new(domain, Type::RAW, Some(protocol)) {
            Ok(socket) => (socket, SocketKind::Raw),
            Err(raw) if denied(&raw) => {
                return Err("ICMP sockets are not permitted: net.ipv4.ping_group_range does not include this \
                     process's groups, and it lacks CAP_NET_RAW for a raw socket"
                    .to_owned());
            }
            Err(raw) => return Err(format!("raw ICMP socket: {raw}")),
        },
        Err(dgram) => return Err(format!("ICMP datagram socket: {dgram}")),
    };
    socket.set_nonblocking(true).map_err(|e| format!("ICMP socket: {e}"))?;
    // An ICMP socket sends and receives datagrams like a UDP one, so tokio's UDP socket drives
    // it without any unsafe registration of a raw descriptor.
    let socket = UdpSocket::from_std(socket.into()).map_err(|e| format!("ICMP socket: {e}"))?;
    Ok((socket, kind))
}

/// EACCES (outside the group range) and EPERM (no CAP_NET_RAW) both map to PermissionDenied.
fn denied(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::PermissionDenied
}

/// Sends `count` requests `INTERVAL` apart while collecting replies, until every request is
/// answered, `REPLY_WAIT` has passed since the last one, or the deadline. One entry per request.
async fn exchange(
    socket: &UdpSocket,
    kind: SocketKind,
    ip: IpAddr,
    count: usize,
    deadline: Instant,
) -> io::Result<Vec<Option<Duration>>> {
    let v6 = ip.is_ipv6();
    // A datagram socket's kernel rewrites the id and routes only our replies to us; a raw
    // socket sees every echo reply on the host. The random token in the payload tells ours
    // apart either way.
    let mut token = [0u8; 8];
    getrandom::fill(&mut token).map_err(|e| io::Error::other(e.to_string()))?;
    let id = u16::from_be_bytes([token[0], token[1]]);
    let target = SocketAddr::new(ip, 0);
    let mut sent_at: Vec<Instant> = Vec::with_capacity(count);
    let mut round_trips = vec![None; count];
    let mut buf = vec![0u8; 2048];
    let mut next_send = Instant::now();
    loop {
        let all_sent = sent_at.len() == count;
        if all_sent && round_trips.iter().all(Option::is_some) {
            break;
        }
        let wake = match sent_at.last() {
            Some(last) if all_sent => (*last + REPLY_WAIT).min(deadline),
            _ => next_send.min(deadline),
        };
        tokio::select! {
            () = tokio::time::sleep_until(wake) => {
                if all_sent || Instant::now() >= deadline {
                    break;
                }
                // At most a hundred requests: the sequence fits.
                let seq = sent_at.len() as u16;
                let request = icmp::echo_request(v6, id, seq, &token);
                socket.send_to(&request, target).await?;
                sent_at.push(Instant::now());
                next_send += INTERVAL;
            }
            received = socket.recv(&mut buf) => {
                let n = received?;
                let ip_header = kind == SocketKind::Raw && !v6;
                let Some(reply) = icmp::parse_reply(&buf[..n], v6, ip_header) else { continue };
                let seq = usize::from(reply.seq);
                if reply.payload.starts_with(&token)
                    && let (Some(sent), Some(slot @ None)) = (sent_at.get(seq), round_trips.get_mut(seq))
                {
                    *slot = Some(sent.elapsed());
                }
            }
        }
    }
    round_trips.truncate(sent_at.len());
    Ok(round_trips)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_only_what_can_be_answered_in_time() {
        assert_eq!(fitting(3, Duration::from_secs(10)), 3);
        assert_eq!(fitting(100, Duration::from_secs(5)), 21); // 4 s of sending at 200 ms, plus one
        assert_eq!(fitting(5, Duration::from_millis(1400)), 3);
        assert_eq!(fitting(5, Duration::from_millis(300)), 1);
    }
}
