//! Time series derived from inventory sections, so that trends (disk temperature, reallocated
//! sectors, pending updates) chart and alert like any metric.

use tend_proto::agent::{Sample, Sections};

/// The samples the server adds to a report from its inventory sections.
pub fn samples(sections: &Sections) -> Vec<Sample> {
    let mut samples = Vec::new();
    if let Some(agent) = &sections.agent {
        samples.push(Sample::new("agent_dropped_reports", agent.dropped_reports as f64));
        samples.push(Sample::new("agent_spool_bytes", agent.spool_bytes as f64));
        samples.push(Sample::new("agent_dropped_backup_events", agent.dropped_backup_events as f64));
    }
    for disk in sections.disks.iter().flatten() {
        let labelled = |name: &str, value: f64| Sample::new(name, value).with_label("device", &disk.device);
        let values = [
            ("disk_temperature_celsius", disk.temperature_celsius),
            ("disk_power_on_hours", disk.power_on_hours.map(|v| v as f64)),
            ("disk_reallocated_sectors", disk.reallocated_sectors.map(|v| v as f64)),
            ("disk_pending_sectors", disk.pending_sectors.map(|v| v as f64)),
            ("disk_percentage_used", disk.percentage_used.map(|v| v as f64)),
            ("disk_media_errors", disk.media_errors.map(|v| v as f64)),
        ];
        samples.extend(values.into_iter().filter_map(|(name, value)| value.map(|v| labelled(name, v))));
    }
    for sensor in sections.sensors.iter().flatten() {
        let name = match sensor.kind.as_str() {
            "temperature" => "sensor_temperature_celsius",
            "fan" => "sensor_fan_rpm",
            "voltage" => "sensor_voltage_volts",
            _ => continue,
        };
        if let Some(value) = sensor.value {
            samples.push(Sample::new(name, value).with_label("chip", &sensor.chip).with_label("label", &sensor.label));
        }
    }
    if let Some(packages) = &sections.packages {
        let security = packages.updates.iter().filter(|u| u.security).count();
        samples.push(Sample::new("packages_updates_pending", packages.updates.len() as f64));
        samples.push(Sample::new("packages_security_updates_pending", security as f64));
    }
    if let Some(offset) = sections.time.as_ref().and_then(|t| t.offset_seconds) {
        samples.push(Sample::new("time_offset_seconds", offset));
    }
    samples
}

/// The inventory sections present in a report, by name, as JSON.
pub fn inventory(sections: &Sections) -> Result<Vec<(String, String)>, serde_json::Error> {
    let mut found = Vec::new();
    let mut add = |name: &str, value: Option<serde_json::Value>| {
        if let Some(value) = value {
            found.push((name.to_owned(), value.to_string()));
        }
    };
    add("disks", sections.disks.as_ref().map(serde_json::to_value).transpose()?);
    add("raid", sections.raid.as_ref().map(serde_json::to_value).transpose()?);
    add("sensors", sections.sensors.as_ref().map(serde_json::to_value).transpose()?);
    add("services", sections.services.as_ref().map(serde_json::to_value).transpose()?);
    add("packages", sections.packages.as_ref().map(serde_json::to_value).transpose()?);
    add("os", sections.os.as_ref().map(serde_json::to_value).transpose()?);
    add("antivirus", sections.antivirus.as_ref().map(serde_json::to_value).transpose()?);
    add("time", sections.time.as_ref().map(serde_json::to_value).transpose()?);
    add("certificates", sections.certificates.as_ref().map(serde_json::to_value).transpose()?);
    add("agent", sections.agent.as_ref().map(serde_json::to_value).transpose()?);
    let collectors = (!sections.collectors.is_empty()).then(|| serde_json::to_value(&sections.collectors));
    add("collectors", collectors.transpose()?);
    Ok(found)
}

#[cfg(test)]
mod tests {
    use tend_proto::inventory::{AgentStatus, Disk, Packages, PendingUpdate};

    use super::*;

    #[test]
    fn disks_packages_and_the_agent_become_series() {
        let sections = Sections {
            disks: Some(vec![Disk {
                device: "/dev/sda".into(),
                temperature_celsius: Some(41.0),
                reallocated_sectors: Some(8),
                ..Disk::default()
            }]),
            packages: Some(Packages {
                updates: vec![
                    PendingUpdate { name: "openssl".into(), security: true, ..PendingUpdate::default() },
                    PendingUpdate { name: "vim".into(), ..PendingUpdate::default() },
                ],
                ..Packages::default()
            }),
            agent: Some(AgentStatus {
                version: "0.1.0".into(),
                dropped_reports: 2,
                spool_bytes: 10,
                dropped_backup_events: 1,
            }),
            ..Sections::default()
        };
        let found = samples(&sections);
        let value = |name: &str| found.iter().find(|s| s.name == name).map(|s| s.value);
        assert_eq!(value("disk_temperature_celsius"), Some(41.0));
        assert_eq!(value("disk_reallocated_sectors"), Some(8.0));
        assert_eq!(value("disk_pending_sectors"), None, "absent stays absent");
        assert_eq!(value("packages_security_updates_pending"), Some(1.0));
        assert_eq!(value("agent_dropped_reports"), Some(2.0));
        assert_eq!(value("agent_dropped_backup_events"), Some(1.0));
        let names: Vec<String> = inventory(&sections).unwrap().into_iter().map(|s| s.0).collect();
        assert_eq!(names, vec!["disks", "packages", "agent"]);
    }
}
