//! The TCP probe: does the port accept a connection, and how fast.
//!
//! Owns nothing but the judgement; must not send a byte, so probing a service never looks
//! like a client to it.

use crate::net;
use crate::outcome::{Probe, Verdict, millis_f64};

pub(crate) async fn probe(host: &str, port: u16, p: &mut Probe) -> Verdict {
    let (_stream, took) = net::connect(p, host, port).await?;
    p.metric("tcp_connect_ms", millis_f64(took));
    Ok(format!("{host}:{port} accepted a connection in {:.1} ms", millis_f64(took)))
}
