//! Agent reports from the wire into the store: validated whole before anything is written.

use std::time::Instant;

use jiff::Timestamp;
use tend_core::checks::Inventory;
use tend_proto::REPORT_SCHEMA_VERSION;
use tend_proto::agent::{Report, ReportBatch};
use tend_proto::backups::{BackupEvent, is_name};
use tend_store::{AgentIdentity, IngestOutcome, IngestReport, IngestSample, InventorySection, NewBackupEvent, Scope};

use crate::monitor::evaluate::Subject;
use crate::{AppState, Error};

mod derived;

/// Bounds that keep one agent from flooding the database, whatever its body size.
pub const MAX_REPORTS_PER_BATCH: usize = 1_000;
pub const MAX_SAMPLES_PER_REPORT: usize = 20_000;
const MAX_METRIC_NAME: usize = 128;
const MAX_LABELS: usize = 16;
const MAX_LABEL_TEXT: usize = 256;
/// The reporting intervals an agent may announce: the heartbeat is judged by them.
const MIN_INTERVAL_SECS: u32 = 10;
const MAX_INTERVAL_SECS: u32 = 86_400;
/// An agent reports each piece of backup work once, a few a day per plan: more is a loop.
const MAX_BACKUP_EVENTS_PER_REPORT: usize = 100;
/// An event's JSON: its error lines are bounded by the agent (20 of 1 KiB), the rest is small.
const MAX_BACKUP_EVENT_BYTES: usize = 32 * 1024;

pub async fn ingest(state: &AppState, agent: &AgentIdentity, batch: ReportBatch) -> Result<IngestOutcome, Error> {
    let newest = batch.reports.iter().max_by_key(|r| r.seq).map(|r| (r.seq, r.sections.clone()));
    // Backup events may ride in any report of the batch, not only the newest.
    let carries_backups = batch.reports.iter().any(|r| !r.sections.backups.is_empty());
    let reports = convert_batch(batch)?;
    // Only the disk and RAID checks compare with the previous inventory (sectors growing,
    // resync stuck): read it, before this batch replaces it, only when they will run.
    let compares = newest.as_ref().is_some_and(|(_, s)| s.disks.is_some() || s.raid.is_some());
    let previous = if compares { state.store.inventory(Scope::System, agent.host_id).await? } else { Vec::new() };
    let started = Instant::now();
    let outcome = state.store.ingest(agent, &reports, Timestamp::now()).await?;
    let telemetry = &state.telemetry;
    telemetry.observe_db("ingest", started);
    telemetry.reports_ingested.inc_by(u64::from(outcome.stored));
    telemetry.report_duplicates.inc_by(u64::from(outcome.duplicates));
    telemetry.samples_ingested.inc_by(outcome.samples);
    // The report is stored and will be acknowledged whatever evaluating it does.
    if let Some((seq, sections)) = newest.filter(|(seq, _)| outcome.stored > 0 && *seq == outcome.acknowledged_seq)
        && let Err(e) = evaluate(state, agent, &sections, &previous).await
    {
        tracing::error!(host_id = agent.host_id, seq, error = %e, "evaluating a report failed");
    }
    if carries_backups
        && outcome.stored > 0
        && let Err(e) = crate::monitor::backups::evaluate_host(state, agent.host_id, Timestamp::now()).await
    {
        tracing::error!(host_id = agent.host_id, error = %e, "judging backups after a report failed");
    }
    Ok(outcome)
}

/// Runs the host's checks over its newest report.
async fn evaluate(
    state: &AppState,
    agent: &AgentIdentity,
    sections: &tend_proto::agent::Sections,
    previous: &[InventorySection],
) -> Result<(), Error> {
    let host = state.store.host(Scope::System, agent.host_id).await?;
    let facts: Option<tend_proto::agent::HostFacts> = host.facts.as_deref().and_then(|f| serde_json::from_str(f).ok());
    let subject =
        Subject { host_id: Some(host.id), client_id: host.client_id, site_id: host.site_id, name: host.hostname };
    let previous = stored_inventory(previous);
    let cores = facts.map_or(1, |f| f.cpu_cores.max(1));
    crate::monitor::evaluate::report(state, &subject, sections, previous, cores, Timestamp::now()).await
}

/// A host's stored inventory as the checks read it (before a report: the previous one).
pub fn stored_inventory(stored: &[InventorySection]) -> Option<Inventory> {
    let newest = stored.iter().map(|s| s.collected_at).max()?;
    let mut sections = serde_json::Map::new();
    for section in stored {
        if let Ok(body) = serde_json::from_str::<serde_json::Value>(&section.body) {
            sections.insert(section.section.clone(), body);
        }
    }
    let sections: tend_proto::agent::Sections = serde_json::from_value(serde_json::Value::Object(sections)).ok()?;
    Some(Inventory::from_sections(&sections, newest))
}

fn convert_batch(batch: ReportBatch) -> Result<Vec<IngestReport>, Error> {
    if batch.reports.is_empty() {
        return Err(Error::invalid_field("reports", "a batch needs at least one report"));
    }
    if batch.reports.len() > MAX_REPORTS_PER_BATCH {
        return Err(Error::invalid_field("reports", format!("at most {MAX_REPORTS_PER_BATCH} reports per batch")));
    }
    batch.reports.into_iter().map(convert_report).collect()
}

fn convert_report(report: Report) -> Result<IngestReport, Error> {
    let seq = report.seq;
    let invalid = |field: &str, reason: String| Error::invalid_field(field, format!("report {seq}: {reason}"));
    if seq == 0 || i64::try_from(seq).is_err() {
        return Err(invalid("seq", "sequence numbers start at 1 and fit in 63 bits".into()));
    }
    if report.schema_version == 0 || report.schema_version > REPORT_SCHEMA_VERSION {
        return Err(invalid(
            "schema_version",
            format!(
                "schema {} is unknown here; this server reads up to {REPORT_SCHEMA_VERSION}",
                report.schema_version
            ),
        ));
    }
    let collected_at =
        Timestamp::from_millisecond(report.collected_at_ms).map_err(|e| invalid("collected_at_ms", e.to_string()))?;
    let mut sections = report.sections;
    let inventory = derived::inventory(&sections).map_err(|e| invalid("sections", e.to_string()))?;
    let derived = derived::samples(&sections);
    sections.metrics.extend(derived);
    if sections.metrics.len() > MAX_SAMPLES_PER_REPORT {
        return Err(invalid("metrics", format!("at most {MAX_SAMPLES_PER_REPORT} samples per report")));
    }
    let facts = sections
        .facts
        .map(|facts| {
            let json = serde_json::to_string(&facts).map_err(|e| invalid("facts", e.to_string()))?;
            Ok::<_, Error>((facts.hostname, json))
        })
        .transpose()?;
    let samples = sections
        .metrics
        .into_iter()
        .map(|sample| {
            if sample.name.is_empty() || sample.name.len() > MAX_METRIC_NAME {
                return Err(invalid("metrics", format!("metric names have 1 to {MAX_METRIC_NAME} bytes")));
            }
            if !sample.value.is_finite() {
                return Err(invalid("metrics", format!("{} is not a finite number", sample.name)));
            }
            let too_long = sample.labels.iter().any(|(k, v)| k.len() > MAX_LABEL_TEXT || v.len() > MAX_LABEL_TEXT);
            if sample.labels.len() > MAX_LABELS || too_long {
                return Err(invalid("metrics", format!("{}: too many or too long labels", sample.name)));
            }
            // BTreeMap serializes with sorted keys: the same label set always gives the same text.
            let labels = serde_json::to_string(&sample.labels).map_err(|e| invalid("metrics", e.to_string()))?;
            Ok(IngestSample { name: sample.name, labels, value: sample.value })
        })
        .collect::<Result<_, _>>()?;
    let interval_secs = report.interval_secs;
    if interval_secs.is_some_and(|secs| !(MIN_INTERVAL_SECS..=MAX_INTERVAL_SECS).contains(&secs)) {
        return Err(invalid(
            "interval_secs",
            format!("agents report every {MIN_INTERVAL_SECS} to {MAX_INTERVAL_SECS} seconds"),
        ));
    }
    let backups = backup_events(sections.backups).map_err(|reason| invalid("backups", reason))?;
    Ok(IngestReport { seq, collected_at, stopping: report.stopping, interval_secs, facts, samples, inventory, backups })
}

/// A report's backup events, bounded in number and size, with valid plan names and times.
fn backup_events(events: Vec<BackupEvent>) -> Result<Vec<NewBackupEvent>, String> {
    if events.len() > MAX_BACKUP_EVENTS_PER_REPORT {
        return Err(format!("at most {MAX_BACKUP_EVENTS_PER_REPORT} backup events per report"));
    }
    events
        .into_iter()
        .map(|event| {
            let (plan, started_at_ms, duration_ms) = event.run();
            if !is_name(plan) {
                return Err(format!("plan {plan:?}: a plan is named by 1 to 64 of a-z, 0-9, '-' and '_'"));
            }
            let started_at =
                Timestamp::from_millisecond(started_at_ms).map_err(|e| format!("plan {plan}: started_at_ms: {e}"))?;
            let duration_ms =
                i64::try_from(duration_ms).map_err(|_| format!("plan {plan}: duration_ms is too large"))?;
            let body = serde_json::to_string(&event).map_err(|e| e.to_string())?;
            if body.len() > MAX_BACKUP_EVENT_BYTES {
                return Err(format!("plan {plan}: an event has at most {MAX_BACKUP_EVENT_BYTES} bytes"));
            }
            Ok(NewBackupEvent {
                plan: plan.to_owned(),
                kind: event.kind().to_owned(),
                ok: event.ok(),
                started_at,
                duration_ms,
                body,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use tend_proto::agent::{Sample, Sections};

    use super::*;

    fn report(seq: u64) -> Report {
        Report {
            seq,
            collected_at_ms: 1_800_000_000_000,
            schema_version: REPORT_SCHEMA_VERSION,
            stopping: false,
            interval_secs: None,
            sections: Sections {
                metrics: vec![Sample::new("load1", 0.5).with_label("b", "2").with_label("a", "1")],
                ..Sections::default()
            },
        }
    }

    fn refused_field(batch: ReportBatch) -> String {
        match convert_batch(batch) {
            Err(Error::Invalid { field: Some(field), .. }) => field,
            other => panic!("expected a refused field, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_report_converts_with_canonical_labels() {
        let converted = convert_batch(ReportBatch { reports: vec![report(1)] }).unwrap();
        assert_eq!(converted[0].samples[0].labels, r#"{"a":"1","b":"2"}"#);
    }

    #[test]
    fn bad_reports_name_the_field() {
        assert_eq!(refused_field(ReportBatch { reports: vec![] }), "reports");
        assert_eq!(refused_field(ReportBatch { reports: vec![report(0)] }), "seq");
        let mut future = report(1);
        future.schema_version = REPORT_SCHEMA_VERSION + 1;
        assert_eq!(refused_field(ReportBatch { reports: vec![future] }), "schema_version");
        let mut nan = report(1);
        nan.sections.metrics[0].value = f64::NAN;
        assert_eq!(refused_field(ReportBatch { reports: vec![report(1), nan] }), "metrics");
        let mut far = report(1);
        far.collected_at_ms = i64::MAX;
        assert_eq!(refused_field(ReportBatch { reports: vec![far] }), "collected_at_ms");
        let many = ReportBatch { reports: (1..=MAX_REPORTS_PER_BATCH as u64 + 1).map(report).collect() };
        assert_eq!(refused_field(many), "reports");
    }

    #[test]
    fn backup_events_are_bounded_in_number_and_size_and_name_their_plan() {
        use tend_proto::backups::{BackupRun, CheckRun};
        let run = |plan: &str| {
            BackupEvent::Backup(BackupRun {
                plan: plan.into(),
                started_at_ms: 1_800_000_000_000,
                ok: true,
                ..BackupRun::default()
            })
        };
        let with = |backups: Vec<BackupEvent>| {
            let mut report = report(1);
            report.sections.backups = backups;
            ReportBatch { reports: vec![report] }
        };
        let converted = convert_batch(with(vec![run("daily")])).unwrap();
        let event = &converted[0].backups[0];
        assert_eq!((event.plan.as_str(), event.kind.as_str(), event.ok), ("daily", "backup", true));
        assert_eq!(event.started_at, Timestamp::from_millisecond(1_800_000_000_000).unwrap());

        assert_eq!(refused_field(with(vec![run("Daily Backup")])), "backups");
        assert_eq!(refused_field(with(vec![run("daily"); MAX_BACKUP_EVENTS_PER_REPORT + 1])), "backups");
        let huge =
            CheckRun { plan: "daily".into(), errors: vec!["x".repeat(MAX_BACKUP_EVENT_BYTES)], ..CheckRun::default() };
        assert_eq!(refused_field(with(vec![BackupEvent::Check(huge)])), "backups");
        let far = BackupRun { plan: "daily".into(), started_at_ms: i64::MAX, ..BackupRun::default() };
        assert_eq!(refused_field(with(vec![BackupEvent::Backup(far)])), "backups");
    }
}
