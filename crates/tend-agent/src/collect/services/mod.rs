//! The services section: systemd's service units (how many, which failed, the watched ones and
//! their restart counts) and the sockets listening for peers, with the process holding each.
//!
//! This module owns asking systemd (`systemctl`) and reading the kernel's socket tables
//! (`/proc/net/*`, `/proc/<pid>/fd`). It must not start, stop or otherwise change a unit, nor
//! judge a state: whether a failed unit or an open port matters is the server's call. A host
//! without systemd as PID 1 has no service manager to ask: the section is unavailable there.

use std::path::Path;
use std::time::Duration;

use tend_proto::inventory as inv;

use super::{Collector, CollectorConfig, Section};
use crate::Error;

mod sockets;
mod systemd;

pub use sockets::{ListeningSocket, SocketOwner, SocketProtocol, parse_proc_net, socket_owners};
pub(crate) use systemd::run_systemd_tool;
pub use systemd::{parse_systemctl_restarts, parse_systemctl_units};

/// Collects the services section every cycle: a failed unit is news that should not wait.
pub struct ServicesCollector {
    watched: Vec<String>,
}

impl ServicesCollector {
    pub fn new(config: &CollectorConfig) -> Self {
        ServicesCollector { watched: config.watched_services.clone() }
    }
}

impl Collector for ServicesCollector {
    fn name(&self) -> &'static str {
        "services"
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(20)
    }

    fn collect(&mut self) -> Result<Section, Error> {
        let mut services = match systemd::list_units(&self.watched) {
            Ok(mut services) => {
                // Restart counts are a detail of units already reported: without them the
                // units still are, with `restarts` absent, rather than the whole section lost.
                if let Err(error) = systemd::add_restart_counts(&mut services.units) {
                    tracing::debug!(%error, "service restart counts omitted");
                }
                services
            }
            // Without systemd (a container, another init) the listening sockets still matter.
            Err(Error::Unavailable(reason)) => inv::Services { units_unavailable: Some(reason), ..Default::default() },
            Err(other) => return Err(other),
        };
        services.listening = sockets::listening_ports(Path::new("/proc"))?;
        Ok(Section::Services(services))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::compliance;

    #[test]
    fn the_collector_keeps_the_contract_on_this_machine() {
        let config = CollectorConfig { watched_services: vec!["ssh.service".into()], ..CollectorConfig::default() };
        let mut collector = ServicesCollector::new(&config);
        match compliance::check(&mut collector) {
            Ok(Section::Services(services)) => {
                match &services.units_unavailable {
                    // No systemd here: no units, the sockets all the same.
                    Some(reason) => {
                        assert!(reason.contains("systemd") || reason.contains("systemctl"), "{reason}");
                        assert!(services.units.is_empty());
                    }
                    None => assert!(services.units.iter().any(|unit| unit.name == "ssh.service" && unit.watched)),
                }
                assert!(services.listening.iter().all(|port| port.port != 0));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
