//! Which sockets listen, from the kernel's tables in `/proc/net`, and which process holds each.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use serde::Serialize;
use tend_proto::inventory as inv;

use crate::Error;
use crate::collect::source::{ParseError, numbered_lines, parse_number, read_text_if_exists};

/// The kernel's socket tables and the protocol of each. A host without IPv6 has no `tcp6`/`udp6`.
const TABLES: [(&str, SocketProtocol); 4] = [
    ("net/tcp", SocketProtocol::Tcp),
    ("net/tcp6", SocketProtocol::Tcp),
    ("net/udp", SocketProtocol::Udp),
    ("net/udp6", SocketProtocol::Udp),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SocketProtocol {
    Tcp,
    Udp,
}

impl SocketProtocol {
    fn name(self) -> &'static str {
        match self {
            SocketProtocol::Tcp => "tcp",
            SocketProtocol::Udp => "udp",
        }
    }

    /// The `st` column of a socket that waits for peers: `TCP_LISTEN` (0A) for TCP; for UDP, which
    /// has no listening state, an unconnected socket, which the kernel shows as `TCP_CLOSE` (07).
    fn waiting_state(self) -> &'static str {
        match self {
            SocketProtocol::Tcp => "0A",
            SocketProtocol::Udp => "07",
        }
    }
}

/// A listening socket and the inode that ties it to the process holding it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListeningSocket {
    pub port: inv::ListeningPort,
    pub inode: u64,
}

/// Parses one of `/proc/net/{tcp,tcp6,udp,udp6}`, keeping the sockets that wait for peers.
///
/// Addresses are hex words in the host's byte order (the kernel prints the in-memory address as
/// a native integer), so they are decoded in the byte order of the host that wrote them: the
/// agent reads its own host's tables. A UDP socket on port 0 is not bound to anything yet.
pub fn parse_proc_net(text: &str, protocol: SocketProtocol) -> Result<Vec<ListeningSocket>, ParseError> {
    let mut sockets = Vec::new();
    for (number, line) in numbered_lines(text) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if matches!(fields.first(), None | Some(&"sl")) {
            continue;
        }
        let [_, local, _, state, _, _, _, _, _, inode, ..] = fields[..] else {
            return Err(ParseError::line(number, format!("expected at least 10 fields, got {}", fields.len())));
        };
        if !state.eq_ignore_ascii_case(protocol.waiting_state()) {
            continue;
        }
        let (address, port) = parse_endpoint(number, local)?;
        if port == 0 {
            continue;
        }
        sockets.push(ListeningSocket {
            port: inv::ListeningPort {
                protocol: protocol.name().to_owned(),
                address: address.to_string(),
                port,
                process: None,
                pid: None,
            },
            inode: parse_number(number, "inode", inode)?,
        })
    }
    Ok(sockets)
}

/// `0100007F:1F90` → 127.0.0.1, 8080.
fn parse_endpoint(number: usize, text: &str) -> Result<(IpAddr, u16), ParseError> {
    let bad = |what: &str| ParseError::line(number, format!("local address {text:?}: {what}"));
    let (address, port) = text.split_once(':').ok_or_else(|| bad("no ':' before the port"))?;
    if !address.bytes().chain(port.bytes()).all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("not hexadecimal"));
    }
    let port = u16::from_str_radix(port, 16).map_err(|_| bad("bad port"))?;
    // All ASCII, checked above, so slicing by bytes cannot split a character.
    let word = |i: usize| u32::from_str_radix(&address[i * 8..i * 8 + 8], 16).map(u32::to_ne_bytes);
    let address = match address.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0).map_err(|_| bad("bad IPv4 address"))?)),
        32 => {
            let mut octets = [0u8; 16];
            for (i, chunk) in octets.chunks_exact_mut(4).enumerate() {
                chunk.copy_from_slice(&word(i).map_err(|_| bad("bad IPv6 address"))?);
            }
            IpAddr::V6(Ipv6Addr::from(octets))
        }
        n => return Err(bad(&format!("{n} hex digits, expected 8 (IPv4) or 32 (IPv6)"))),
    };
    Ok((address, port))
}

/// A process holding a socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketOwner {
    pub pid: u32,
    /// `/proc/<pid>/comm`; absent when the process ended while being looked at.
    pub process: Option<String>,
}

/// Finds the processes holding the sockets `inodes` by their open files (`/proc/<pid>/fd/*`
/// linking to `socket:[inode]`).
///
/// Processes are visited by ascending pid and the first holder wins, so a socket that a server
/// shares with the workers it forked is credited to the parent. Processes that end meanwhile, or
/// whose files the agent may not see, are skipped: their sockets stay without an owner.
pub fn socket_owners(proc_root: &Path, inodes: &BTreeSet<u64>) -> BTreeMap<u64, SocketOwner> {
    let mut owners = BTreeMap::new();
    let Ok(entries) = fs::read_dir(proc_root) else {
        return owners;
    };
    let mut pids: Vec<u32> = entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
    pids.sort_unstable();
    for pid in pids {
        if owners.len() == inodes.len() {
            break;
        }
        let process_dir = proc_root.join(pid.to_string());
        let Ok(fds) = fs::read_dir(process_dir.join("fd")) else {
            continue;
        };
        let held: Vec<u64> = fds
            .filter_map(|fd| socket_inode(fs::read_link(fd.ok()?.path()).ok()?.to_str()?))
            .filter(|inode| inodes.contains(inode) && !owners.contains_key(inode))
            .collect();
        if held.is_empty() {
            continue;
        }
        let process = fs::read_to_string(process_dir.join("comm")).ok().map(|comm| comm.trim_end().to_owned());
        for inode in held {
            owners.insert(inode, SocketOwner { pid, process: process.clone() });
        }
    }
    owners
}

/// `socket:[4808]` → 4808; other links (files, pipes) are not sockets.
fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
}

/// Every listening socket of this host with its owner, sorted and without repeats (sockets
/// sharing a port through `SO_REUSEPORT` are one port).
pub(super) fn listening_ports(proc_root: &Path) -> Result<Vec<inv::ListeningPort>, Error> {
    let mut sockets = Vec::new();
    for (table, protocol) in TABLES {
        let path = proc_root.join(table);
        if let Some(text) = read_text_if_exists(&path)? {
            sockets.extend(parse_proc_net(&text, protocol).map_err(|error| error.at(&path))?);
        }
    }
    let inodes = sockets.iter().map(|socket| socket.inode).collect();
    let owners = socket_owners(proc_root, &inodes);
    let mut ports: Vec<inv::ListeningPort> = sockets
        .into_iter()
        .map(|socket| {
            let owner = owners.get(&socket.inode);
            inv::ListeningPort {
                pid: owner.map(|owner| owner.pid),
                process: owner.and_then(|owner| owner.process.clone()),
                ..socket.port
            }
        })
        .collect();
    let key = |p: &inv::ListeningPort| (p.protocol.clone(), p.port, p.address.clone());
    // Owned sockets first within a port, so that the repeat dropped is an unowned one.
    ports.sort_by_key(|p| (key(p), p.pid.is_none()));
    ports.dedup_by_key(|p| key(p));
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured on this project's test machine with a few listeners of our own (testdata README);
    // ss-lntup.txt, taken at the same moment, says what they must decode to.
    const TCP: &str = include_str!("../../../testdata/services/proc-net-tcp");
    const TCP6: &str = include_str!("../../../testdata/services/proc-net-tcp6");
    const UDP: &str = include_str!("../../../testdata/services/proc-net-udp");
    const UDP6: &str = include_str!("../../../testdata/services/proc-net-udp6");

    fn endpoints(sockets: &[ListeningSocket]) -> Vec<(String, u16, u64)> {
        sockets.iter().map(|s| (s.port.address.clone(), s.port.port, s.inode)).collect()
    }

    fn owned(list: &[(&str, u16, u64)]) -> Vec<(String, u16, u64)> {
        list.iter().map(|(address, port, inode)| (address.to_string(), *port, *inode)).collect()
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn tcp_listeners_of_the_captured_table() {
        let sockets = parse_proc_net(TCP, SocketProtocol::Tcp).unwrap();
        assert_eq!(
            endpoints(&sockets),
            owned(&[
                ("127.0.0.1", 6379, 4808),
                ("127.0.0.1", 5672, 8277),
                ("127.0.0.1", 5432, 4695),
                ("0.0.0.0", 2024, 1065),
                ("192.0.2.2", 40007, 62926),
                ("127.0.0.1", 4222, 6791),
                ("127.0.0.1", 4369, 6088),
                ("127.0.0.1", 3306, 8132),
                ("127.0.0.1", 1883, 6144),
                ("127.0.0.1", 25672, 7064),
            ])
        );
        assert!(sockets.iter().all(|s| s.port.protocol == "tcp" && s.port.pid.is_none()));
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn ipv6_listeners_of_the_captured_tables() {
        let tcp6 = parse_proc_net(TCP6, SocketProtocol::Tcp).unwrap();
        assert_eq!(
            endpoints(&tcp6),
            owned(&[
                ("fd00::2", 40005, 62924),
                ("fe80::fc:ff:fe00:1", 40008, 62928),
                ("::", 40003, 62921),
                ("::1", 4369, 6089),
                ("::1", 6379, 4809),
            ])
        );
        let udp6 = parse_proc_net(UDP6, SocketProtocol::Udp).unwrap();
        assert_eq!(endpoints(&udp6), owned(&[("::", 40002, 62920), ("::1", 40004, 62922), ("fd00::2", 40006, 62925)]));
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn connected_udp_sockets_do_not_listen() {
        let udp = parse_proc_net(UDP, SocketProtocol::Udp).unwrap();
        assert_eq!(endpoints(&udp), owned(&[("0.0.0.0", 40001, 62919)]));
        assert_eq!(udp[0].port.protocol, "udp");
    }

    #[test]
    fn headers_and_blank_lines_only_is_no_socket() {
        let header = TCP.lines().next().unwrap();
        assert_eq!(parse_proc_net(&format!("{header}\n\n"), SocketProtocol::Tcp).unwrap(), []);
        assert_eq!(parse_proc_net("", SocketProtocol::Udp).unwrap(), []);
    }

    #[test]
    fn garbled_rows_are_errors_with_their_line() {
        let header = TCP.lines().next().unwrap();
        let row = |local: &str, inode: &str| {
            format!(
                "{header}\n   0: {local} 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 {inode} 1 0 100 0 0 10 0\n"
            )
        };
        for (text, reason) in [
            (format!("{header}\n   0: 0100007F:18EB 00000000:0000 0A 00000000:00000000\n"), "expected at least 10"),
            (row("0100007F18EB", "4808"), "no ':'"),
            (row("0100007F:18EG", "4808"), "not hexadecimal"),
            (row("0100007F:118EB", "4808"), "bad port"),
            (row("00007F:18EB", "4808"), "6 hex digits"),
            (row("0100007F:18EB", "-1"), "inode"),
            (row("ü100007F:18EB", "4808"), "not hexadecimal"),
            (row("0100007F:", "4808"), "bad port"),
        ] {
            match parse_proc_net(&text, SocketProtocol::Tcp) {
                Err(ParseError::Line { line: 2, reason: r }) => assert!(r.contains(reason), "{r}"),
                other => panic!("{text:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn every_prefix_of_the_captures_parses_or_is_an_error() {
        for (text, protocol) in [(TCP, SocketProtocol::Tcp), (TCP6, SocketProtocol::Tcp), (UDP6, SocketProtocol::Udp)] {
            for end in (0..=text.len()).filter(|end| text.is_char_boundary(*end)) {
                let _ = parse_proc_net(&text[..end], protocol);
            }
        }
    }

    #[test]
    fn socket_links() {
        assert_eq!(socket_inode("socket:[62926]"), Some(62926));
        for other in ["pipe:[61761]", "/dev/null", "socket:[]", "socket:[12", "anon_inode:[eventfd]"] {
            assert_eq!(socket_inode(other), None, "{other}");
        }
    }

    #[test]
    fn owners_of_this_process_sockets() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let ports = listening_ports(Path::new("/proc")).unwrap();
        let ours = ports.iter().find(|p| p.protocol == "tcp" && p.port == port && p.address == "127.0.0.1").unwrap();
        assert_eq!(ours.pid, Some(std::process::id()));
        assert!(ours.process.is_some());
        assert!(socket_owners(Path::new("/nonexistent-proc"), &BTreeSet::from([1])).is_empty());
    }
}
