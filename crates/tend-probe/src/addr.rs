//! Addresses as people write them: `host:port`, `[v6]:port`, a bare IP for a nameserver.
//!
//! Owns parsing only; must not resolve names (that happens when a probe runs, within its
//! deadline).

use std::net::{IpAddr, SocketAddr};

/// Splits `host:port` or `[v6]:port`; `default_port` applies when the port is left out.
pub(crate) fn host_port(s: &str, default_port: Option<u16>) -> Result<(String, u16), String> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(|| format!("{s:?}: unclosed '['"))?;
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => return Err(format!("{s:?}: expected ':port' after ']'")),
        }
    } else if s.parse::<IpAddr>().is_ok() {
        // A bare IPv6 address is full of colons; it has no port.
        (s, None)
    } else {
        match s.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (s, None),
        }
    };
    if host.is_empty() {
        return Err(format!("{s:?}: no host"));
    }
    let port = match (port, default_port) {
        (Some(port), _) => port.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| format!("{s:?}: bad port"))?,
        (None, Some(port)) => port,
        (None, None) => return Err(format!("{s:?}: no port (expected host:port)")),
    };
    Ok((host.to_owned(), port))
}

/// A nameserver: `ip:port`, `[v6]:port` or a bare IP meaning port 53. Names are refused: a DNS
/// probe must not depend on the resolver it may be checking.
pub(crate) fn nameserver(s: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    s.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("{s:?} is not an IP address with an optional port"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port() {
        assert_eq!(host_port("mx.test:25", None), Ok(("mx.test".into(), 25)));
        assert_eq!(host_port("[::1]:993", None), Ok(("::1".into(), 993)));
        assert_eq!(host_port("::1", Some(443)), Ok(("::1".into(), 443)));
        assert_eq!(host_port("a.test", Some(443)), Ok(("a.test".into(), 443)));
        assert!(host_port("a.test", None).is_err());
        assert!(host_port("a.test:0", None).is_err());
        assert!(host_port("a.test:http", None).is_err());
        assert!(host_port(":25", None).is_err());
        assert!(host_port("[::1", None).is_err());
    }

    #[test]
    fn nameservers() {
        assert_eq!(nameserver("127.0.0.1:5353"), Ok("127.0.0.1:5353".parse().unwrap()));
        assert_eq!(nameserver("::1"), Ok("[::1]:53".parse().unwrap()));
        assert!(nameserver("ns1.test").is_err());
    }
}
