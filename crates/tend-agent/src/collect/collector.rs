//! The contract every collector fulfils (see docs/collectors.md, "What every collector must do").

use std::time::Duration;

use tend_proto::agent::{HostFacts, Sample, Sections};
use tend_proto::inventory as inv;

use crate::Error;

/// Default longest run of a collector before it is abandoned and reported `failed`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// One source of knowledge about the host.
///
/// `collect` may block (read files, run a tool): the runner calls it on a blocking thread and
/// stops waiting after [`Collector::timeout`]. It returns its whole section or an error; it
/// never panics on odd input, and an item it cannot read is reported inside the section with
/// its `error` field rather than failing the section.
pub trait Collector: Send + 'static {
    /// Snake case, stable: it names the collector in reports, logs and configuration.
    fn name(&self) -> &'static str;

    fn timeout(&self) -> Duration {
        DEFAULT_TIMEOUT
    }

    /// Shortest time between two runs. Zero: every cycle. Slow-changing or costly sources
    /// (packages, SMART) run less often; their last section is not repeated in between.
    fn period(&self) -> Duration {
        Duration::ZERO
    }

    fn collect(&mut self) -> Result<Section, Error>;
}

/// What one collector produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Section {
    Facts(HostFacts),
    Metrics(Vec<Sample>),
    Disks(Vec<inv::Disk>),
    Raid(inv::Raid),
    Sensors(Vec<inv::Sensor>),
    Services(inv::Services),
    Packages(inv::Packages),
    Os(inv::OsSupport),
    Antivirus(inv::Antivirus),
    Time(inv::TimeSync),
    Certificates(Vec<inv::Certificate>),
}

impl Section {
    /// Puts the section into its place in a report.
    pub fn apply(self, sections: &mut Sections) {
        match self {
            Section::Facts(facts) => sections.facts = Some(facts),
            Section::Metrics(samples) => sections.metrics.extend(samples),
            Section::Disks(disks) => sections.disks = Some(disks),
            Section::Raid(raid) => sections.raid = Some(raid),
            Section::Sensors(sensors) => sections.sensors = Some(sensors),
            Section::Services(services) => sections.services = Some(services),
            Section::Packages(packages) => sections.packages = Some(packages),
            Section::Os(os) => sections.os = Some(os),
            Section::Antivirus(antivirus) => sections.antivirus = Some(antivirus),
            Section::Time(time) => sections.time = Some(time),
            Section::Certificates(certificates) => sections.certificates = Some(certificates),
        }
    }
}
