//! The probes against real peers on loopback: an axum web server (plain and TLS), dnsmasq,
//! ICMP on 127.0.0.1 and ::1, aiosmtpd and dovecot. Tests whose peer is not installed print
//! `SKIP <test>: <reason>` to stderr and pass.

mod dns;
mod http;
mod mail;
mod ping;
mod run;
mod support;
mod tcp;
mod tls;
