//! Store rows to API bodies.

use std::collections::BTreeMap;

use jiff::Timestamp;
use tend_core::heartbeat::{self, Heartbeat};
use tend_core::tenancy::{Role, SupportLevel};
use tend_proto::api;
use tend_store::{
    ClientRow, EnrollmentTokenRow, HostRow, InventorySection, LatestValue, ReportLogEntry, SiteRow, UserRow,
};

use crate::Error;

pub fn timestamp_text(at: Timestamp) -> String {
    at.to_string()
}

pub fn host_status(host: &HostRow, now: Timestamp) -> api::HostStatus {
    let beat = Heartbeat {
        last_seen: host.last_seen_at,
        stopped: host.stopped,
        revoked: host.agent_revoked,
        interval_secs: host.report_interval_secs,
    };
    match beat.status(now) {
        heartbeat::HostStatus::Pending => api::HostStatus::Pending,
        heartbeat::HostStatus::Up => api::HostStatus::Up,
        heartbeat::HostStatus::Overdue => api::HostStatus::Overdue,
        heartbeat::HostStatus::Stopped => api::HostStatus::Stopped,
        heartbeat::HostStatus::Revoked => api::HostStatus::Revoked,
    }
}

pub fn host_summary(host: &HostRow, now: Timestamp) -> api::Host {
    let os_name = host
        .facts
        .as_deref()
        .and_then(|f| serde_json::from_str::<tend_proto::agent::HostFacts>(f).ok())
        .map(|f| f.os_name);
    api::Host {
        id: host.id,
        client_id: host.client_id,
        client_name: host.client_name.clone(),
        site_id: host.site_id,
        site_name: host.site_name.clone(),
        hostname: host.hostname.clone(),
        status: host_status(host, now),
        last_seen: host.last_seen_at.map(timestamp_text),
        os_name,
        cpu_percent: host.headline.cpu_percent,
        memory_used_percent: host.headline.memory_used_percent,
        disk_used_percent: host.headline.disk_used_percent,
        load1: host.headline.load1,
    }
}

pub fn host_detail(
    host: &HostRow,
    latest: &[LatestValue],
    inventory: &[InventorySection],
    now: Timestamp,
) -> Result<api::HostDetail, Error> {
    let facts = host
        .facts
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| Error::Internal(format!("stored facts of host {}: {e}", host.id)))?;
    let latest = latest
        .iter()
        .map(|v| {
            Ok(api::LatestSample {
                name: v.name.clone(),
                labels: labels(&v.labels)?,
                value: v.value,
                at: timestamp_text(v.at),
            })
        })
        .collect::<Result<_, Error>>()?;
    Ok(api::HostDetail {
        host: host_summary(host, now),
        agent_id: host.agent_id,
        report_interval_secs: host.report_interval_secs,
        facts,
        latest,
        inventory: inventory
            .iter()
            .map(|section| {
                let body = serde_json::from_str(&section.body)
                    .map_err(|e| Error::Internal(format!("stored {} of host {}: {e}", section.section, host.id)))?;
                let entry = api::InventoryEntry { collected_at: timestamp_text(section.collected_at), body };
                Ok((section.section.clone(), entry))
            })
            .collect::<Result<_, Error>>()?,
    })
}

pub fn received_report(entry: &ReportLogEntry) -> api::ReceivedReport {
    api::ReceivedReport {
        agent_id: entry.agent_id,
        seq: entry.seq,
        collected_at: timestamp_text(entry.collected_at),
        received_at: timestamp_text(entry.received_at),
        stopping: entry.stopping,
    }
}

pub fn labels(json: &str) -> Result<BTreeMap<String, String>, Error> {
    serde_json::from_str(json).map_err(|e| Error::Internal(format!("stored labels {json}: {e}")))
}

pub fn client(row: &ClientRow) -> api::Client {
    api::Client {
        id: row.id,
        name: row.name.clone(),
        created_at: timestamp_text(row.created_at),
        host_count: row.host_count,
    }
}

pub fn site(row: &SiteRow) -> api::Site {
    api::Site { id: row.id, client_id: row.client_id, name: row.name.clone() }
}

pub fn user(row: &UserRow) -> api::User {
    let (role, support_level) = match row.role {
        Role::Admin => (api::Role::Admin, None),
        Role::Technician(level) => (api::Role::Technician, Some(support_level(level))),
        Role::ClientAdmin => (api::Role::ClientAdmin, None),
        Role::ClientUser => (api::Role::ClientUser, None),
    };
    api::User { id: row.id, username: row.username.clone(), role, support_level, client_id: row.client_id }
}

/// A support level as stored: `L1`, `L2`, `L3`.
pub fn support_level_text(level: api::SupportLevel) -> &'static str {
    match level {
        api::SupportLevel::L1 => "L1",
        api::SupportLevel::L2 => "L2",
        api::SupportLevel::L3 => "L3",
    }
}

pub fn support_level_of(text: &str) -> Option<api::SupportLevel> {
    [api::SupportLevel::L1, api::SupportLevel::L2, api::SupportLevel::L3]
        .into_iter()
        .find(|level| support_level_text(*level) == text)
}

fn support_level(level: SupportLevel) -> api::SupportLevel {
    match level {
        SupportLevel::L1 => api::SupportLevel::L1,
        SupportLevel::L2 => api::SupportLevel::L2,
        SupportLevel::L3 => api::SupportLevel::L3,
    }
}

/// The domain role of a requested user; technicians need their support level.
pub fn role(role: api::Role, level: Option<api::SupportLevel>) -> Result<Role, Error> {
    Ok(match (role, level) {
        (api::Role::Admin, _) => Role::Admin,
        (api::Role::Technician, Some(api::SupportLevel::L1)) => Role::Technician(SupportLevel::L1),
        (api::Role::Technician, Some(api::SupportLevel::L2)) => Role::Technician(SupportLevel::L2),
        (api::Role::Technician, Some(api::SupportLevel::L3)) => Role::Technician(SupportLevel::L3),
        (api::Role::Technician, None) => {
            return Err(Error::invalid_field("support_level", "a technician needs a support level: L1, L2 or L3"));
        }
        (api::Role::ClientAdmin, _) => Role::ClientAdmin,
        (api::Role::ClientUser, _) => Role::ClientUser,
    })
}

pub fn enrollment_token(row: &EnrollmentTokenRow, token: Option<String>) -> api::EnrollmentToken {
    api::EnrollmentToken {
        id: row.id,
        client_id: row.client_id,
        site_id: row.site_id,
        expires_at: timestamp_text(row.expires_at),
        uses_allowed: row.uses_allowed,
        uses_left: row.uses_left,
        revoked: row.revoked,
        token,
    }
}
