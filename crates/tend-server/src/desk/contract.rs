//! A client's contract as the domain reads it. A client without a recorded contract gets the
//! provider's defaults: every service in scope, all three support levels, a 24×7 SLA.

use jiff::SignedDuration;
use tend_core::alerting::Severity;
use tend_core::desk::{BusinessCalendar, PriorityMatrix, SlaPolicy, Target, Targets};
use tend_proto::tickets as wire;
use tend_store::{ContractRow, Scope};

use crate::monitor::evaluate::severity_of;
use crate::{AppState, Error};

pub const SERVICES: [&str; 5] = ["monitoring", "patching", "backups", "service_desk", "reports"];
const LEVELS: [&str; 3] = ["L1", "L2", "L3"];

/// What the desk needs of a contract.
#[derive(Debug, Clone)]
pub struct Contract {
    pub model: String,
    pub delivery: String,
    pub services: Vec<String>,
    pub support_levels: Vec<String>,
    pub sla: SlaPolicy,
    pub matrix: PriorityMatrix,
    pub standing_authorizations: Vec<serde_json::Value>,
    pub auto_close_after: SignedDuration,
    pub keep_credentials: bool,
    pub incident_min_severity: Severity,
}

impl Contract {
    pub fn includes(&self, service: &str) -> bool {
        self.services.iter().any(|s| s == service)
    }
}

fn target(response_mins: i64, resolution_hours: i64) -> Target {
    Target {
        first_response: SignedDuration::from_mins(response_mins),
        resolution: SignedDuration::from_hours(resolution_hours),
    }
}

/// The provider's standard terms, for clients without a contract of their own.
pub fn standard() -> Contract {
    Contract {
        model: "total".into(),
        delivery: "remote".into(),
        services: SERVICES.iter().map(|s| (*s).to_owned()).collect(),
        support_levels: LEVELS.iter().map(|s| (*s).to_owned()).collect(),
        sla: SlaPolicy {
            name: "standard 24×7".into(),
            calendar: BusinessCalendar::always_open(),
            targets: Targets { p1: target(30, 4), p2: target(60, 8), p3: target(240, 72), p4: target(480, 120) },
            warn_at: tend_core::desk::DEFAULT_WARN_AT,
        },
        matrix: PriorityMatrix::default(),
        standing_authorizations: Vec::new(),
        auto_close_after: SignedDuration::from_hours(24 * 7),
        keep_credentials: false,
        incident_min_severity: Severity::Critical,
    }
}

/// The client's contract, or the standard one.
pub async fn of_client(state: &AppState, client_id: i64) -> Result<Contract, Error> {
    match state.store.contract(Scope::System, client_id).await? {
        Some(row) => from_row(&row),
        None => Ok(standard()),
    }
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("stored contract: {what}: {e}"))
}

fn from_row(row: &ContractRow) -> Result<Contract, Error> {
    Ok(Contract {
        model: row.model.clone(),
        delivery: row.delivery.clone(),
        services: serde_json::from_str(&row.services).map_err(|e| corrupt("services", e))?,
        support_levels: serde_json::from_str(&row.support_levels).map_err(|e| corrupt("support levels", e))?,
        sla: serde_json::from_str(&row.sla_policy).map_err(|e| corrupt("SLA policy", e))?,
        matrix: serde_json::from_str(&row.priority_matrix).map_err(|e| corrupt("priority matrix", e))?,
        standing_authorizations: serde_json::from_str(&row.standing_authorizations)
            .map_err(|e| corrupt("standing authorizations", e))?,
        auto_close_after: SignedDuration::from_hours(24 * row.auto_close_days),
        keep_credentials: row.keep_credentials,
        incident_min_severity: severity_of(&row.incident_min_severity).unwrap_or(Severity::Critical),
    })
}

/// A contract from the API, validated field by field, as stored.
pub fn validate(client_id: i64, contract: &wire::Contract) -> Result<ContractRow, Error> {
    let one_of = |field: &str, value: &str, allowed: &[&str]| {
        if allowed.contains(&value) {
            Ok(())
        } else {
            Err(Error::invalid_field(field, format!("'{value}': expected one of {}", allowed.join(", "))))
        }
    };
    one_of("model", &contract.model, &["partial", "total", "specialised"])?;
    one_of("delivery", &contract.delivery, &["remote", "on_site", "both"])?;
    for service in &contract.services {
        one_of("services", service, &SERVICES)?;
    }
    for level in &contract.support_levels {
        one_of("support_levels", level, &LEVELS)?;
    }
    one_of("incident_min_severity", &contract.incident_min_severity, &["warning", "critical"])?;
    let sla: SlaPolicy = serde_json::from_value(contract.sla_policy.clone())
        .map_err(|e| Error::invalid_field("sla_policy", e.to_string()))?;
    sla.validate()?;
    let matrix: PriorityMatrix = match &contract.priority_matrix {
        Some(value) => {
            serde_json::from_value(value.clone()).map_err(|e| Error::invalid_field("priority_matrix", e.to_string()))?
        }
        None => PriorityMatrix::default(),
    };
    matrix.validate()?;
    crate::jobs::validate_standing(&contract.standing_authorizations)?;
    if !(1..=365).contains(&contract.auto_close_days) {
        return Err(Error::invalid_field("auto_close_days", "expected 1 to 365 days"));
    }
    Ok(ContractRow {
        client_id,
        model: contract.model.clone(),
        delivery: contract.delivery.clone(),
        services: json(&contract.services),
        support_levels: json(&contract.support_levels),
        sla_policy: json(&sla),
        priority_matrix: json(&matrix),
        standing_authorizations: json(&contract.standing_authorizations),
        auto_close_days: i64::from(contract.auto_close_days),
        keep_credentials: contract.keep_credentials,
        incident_min_severity: contract.incident_min_severity.clone(),
        updated_at: jiff::Timestamp::now(),
    })
}

/// The stored contract as the API shows it; the standard one for a client without its own.
pub fn to_wire(client_id: i64, contract: &Contract, updated_at: Option<String>) -> wire::Contract {
    wire::Contract {
        client_id,
        model: contract.model.clone(),
        delivery: contract.delivery.clone(),
        services: contract.services.clone(),
        support_levels: contract.support_levels.clone(),
        sla_policy: serde_json::to_value(&contract.sla).unwrap_or_default(),
        priority_matrix: serde_json::to_value(contract.matrix).ok(),
        standing_authorizations: contract.standing_authorizations.clone(),
        auto_close_days: u32::try_from(contract.auto_close_after.as_hours() / 24).unwrap_or(7),
        keep_credentials: contract.keep_credentials,
        incident_min_severity: crate::monitor::evaluate::severity_text(contract.incident_min_severity),
        updated_at,
    }
}

/// Serializing what was just validated cannot fail.
fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
