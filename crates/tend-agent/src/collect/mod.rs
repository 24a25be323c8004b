//! Collectors: what the agent learns about its own host from the kernel and a few well-known
//! files, turned into the wire types of `tend-proto`.
//!
//! This module owns reading and parsing those sources (`/proc`, os-release, machine-id, statvfs,
//! the interface list) and nothing else. It must not use the network, know about the server or
//! the report that carries its results, or judge what a value means: thresholds and alerts are
//! the server's. Nor may it let one cycle hang on a source that might not answer, which is why
//! network filesystems are never measured.
//!
//! Every parser is a pure function over the text of its source, kept apart from the reading so
//! that it can be tested on captured files (`testdata/`) and fuzzed. Parsers check the lines they
//! use and ignore the rest, since the kernel adds fields over time.

pub mod antivirus;
pub mod certificates;
mod collector;
#[cfg(test)]
pub mod compliance;
pub mod config;
pub mod facts;
pub mod meminfo;
pub mod metrics;
pub mod os;
pub mod packages;
pub mod parse;
pub mod raid;
mod runner;
pub mod sensors;
pub mod services;
pub mod smart;
mod source;
pub mod time;
pub mod tool;

pub use collector::{Collector, DEFAULT_TIMEOUT, Section};
pub use config::CollectorConfig;
pub use facts::collect_facts;
pub use metrics::MetricsCollector;
pub use runner::CollectorSet;
pub use source::ParseError;

/// Every collector this agent runs, minus those the configuration disables.
pub fn all(config: &CollectorConfig) -> Vec<Box<dyn Collector>> {
    let collectors: Vec<Box<dyn Collector>> = vec![
        Box::new(facts::FactsCollector),
        Box::new(MetricsCollector::new()),
        Box::new(smart::SmartCollector::new()),
        Box::new(raid::RaidCollector::new()),
        Box::new(sensors::SensorsCollector::new()),
        Box::new(services::ServicesCollector::new(config)),
        Box::new(packages::PackagesCollector::new()),
        Box::new(os::OsCollector),
        Box::new(antivirus::AntivirusCollector::new(config)),
        Box::new(time::TimeCollector),
        Box::new(certificates::CertificatesCollector::new(config)),
    ];
    collectors.into_iter().filter(|c| !config.disabled.iter().any(|name| name == c.name())).collect()
}
