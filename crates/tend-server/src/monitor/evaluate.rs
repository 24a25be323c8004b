//! One host's findings through the alert lifecycle, into the store.

use std::collections::{BTreeMap, HashMap};

use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use tend_core::alerting::{
    self, AlertEvent, AlertPolicy, AlertState, AlertTrack, Direction, Observation, Severity, Threshold,
};
use tend_core::checks::{self, CheckKind, CheckSettings, Finding, HostContext, Inventory};
use tend_core::maintenance::{self, Target, WindowSchedule, WindowScope};
use tend_proto::agent::Sections;
use tend_store::{
    AlertEventRecord, AlertRow, AlertUpdate, ChannelRow, MaintenanceWindowRow, NotificationIntent, Scope,
};

use super::settings;
use crate::{AppState, Error};

/// What a set of findings is about: a host, or (probes of a web site) a client and site.
#[derive(Debug, Clone)]
pub struct Subject {
    pub host_id: Option<i64>,
    pub client_id: i64,
    pub site_id: Option<i64>,
    /// The host's name, or the probe's.
    pub name: String,
}

impl Subject {
    fn context(&self) -> HostContext {
        HostContext {
            client_id: self.client_id,
            site_id: self.site_id,
            groups: Vec::new(),
            host_id: self.host_id.unwrap_or(-1),
        }
    }

    /// The alert's dedup key: one alert per subject, check and target.
    fn key(&self, check: &str, target: &str) -> String {
        match self.host_id {
            Some(host) => dedup_key(host, check, target),
            None => format!("client{}/{check}/{target}", self.client_id),
        }
    }

    async fn alerts(&self, state: &AppState) -> Result<Vec<AlertRow>, Error> {
        match self.host_id {
            Some(host) => Ok(state.store.host_alerts(Scope::System, host).await?),
            None => Ok(Vec::new()),
        }
    }
}

/// Evaluates a freshly stored report: metric checks on its samples, state checks on its
/// inventory sections against the host's previous inventory.
pub async fn report(
    state: &AppState,
    subject: &Subject,
    sections: &Sections,
    previous: Option<Inventory>,
    cpu_cores: u32,
    now: Timestamp,
) -> Result<(), Error> {
    let settings = settings::for_host(&state.store, &subject.context()).await?;
    let by_name: BTreeMap<&str, CheckSettings> = settings.iter().map(|(d, e)| (d.name, e.settings.clone())).collect();
    let alerts = subject.alerts(state).await?;
    let mut findings = metric_findings(&settings, &alerts, sections, cpu_cores);
    let current = Inventory::from_sections(sections, now);
    let lookup = |name: &str| by_name.get(name).cloned().unwrap_or_else(disabled);
    findings.extend(checks::evaluate_inventory(previous.as_ref(), &current, &lookup, now));
    findings.extend(vanished_targets(&alerts, &findings, &checks::evaluated_checks(&current)));
    apply(state, subject, &by_name, &alerts, findings, now).await
}

/// Findings of one check computed outside a report (the heartbeat, disk-full forecasts) through
/// the lifecycle, when the check is enabled for the subject. Open alerts of the check whose
/// target has no finding any more are resolved: the thing they were about is gone.
pub async fn check_findings(
    state: &AppState,
    subject: &Subject,
    check: &str,
    findings: Vec<Finding>,
    now: Timestamp,
) -> Result<(), Error> {
    let settings = settings::for_host(&state.store, &subject.context()).await?;
    let by_name: BTreeMap<&str, CheckSettings> = settings.iter().map(|(d, e)| (d.name, e.settings.clone())).collect();
    if !by_name.get(check).is_some_and(|s| s.enabled) {
        return Ok(());
    }
    let alerts = subject.alerts(state).await?;
    let mut findings = findings;
    findings.extend(vanished_targets(&alerts, &findings, &[check]));
    apply(state, subject, &by_name, &alerts, findings, now).await
}

/// A probe's outcome as a finding on its own alert; a failure is critical (the service is down
/// for its users), after the probe's own `pending_for`.
pub async fn probe(
    state: &AppState,
    probe: &tend_store::ProbeRow,
    outcome: &tend_probe::ProbeOutcome,
    now: Timestamp,
) -> Result<(), Error> {
    let subject = Subject {
        host_id: probe.host_id,
        client_id: probe.client_id,
        site_id: probe.site_id,
        name: probe.name.clone(),
    };
    let finding = Finding {
        check: "probe".into(),
        target: probe.name.clone(),
        problem: (!outcome.ok).then_some(Severity::Critical),
        summary: outcome.summary.clone(),
        evidence: serde_json::to_value(outcome).unwrap_or_default(),
    };
    own_check(state, &subject, finding, u64::from(probe.pending_for_secs), now).await
}

/// A finding of a check that carries its own settings (a probe, a heartbeat ping check) rather
/// than the catalogue's: always enabled, pending for `pending_for_secs`, on its own alert.
pub async fn own_check(
    state: &AppState,
    subject: &Subject,
    finding: Finding,
    pending_for_secs: u64,
    now: Timestamp,
) -> Result<(), Error> {
    let key = subject.key(&finding.check, &finding.target);
    let alerts: Vec<AlertRow> = match state.store.alert_by_key(&key).await? {
        Some(row) => vec![row],
        None => Vec::new(),
    };
    let check = finding.check.clone();
    let settings = CheckSettings { enabled: true, pending_for_secs, ..disabled() };
    let by_name = BTreeMap::from([(check.as_str(), settings)]);
    apply(state, subject, &by_name, &alerts, vec![finding], now).await
}

pub(super) fn metric_findings(
    settings: &[(checks::CheckDefinition, checks::Explained)],
    alerts: &[AlertRow],
    sections: &Sections,
    cpu_cores: u32,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (definition, explained) in settings {
        let CheckKind::Metric { .. } = definition.kind else { continue };
        let settings = &explained.settings;
        if !settings.enabled {
            continue;
        }
        let threshold = Threshold {
            warning: settings.warning,
            critical: settings.critical,
            direction: Direction::Above,
            hysteresis: settings.param("hysteresis").unwrap_or(0.0),
        };
        for (target, value) in checks::metric_value(definition.name, &sections.metrics, cpu_cores) {
            let current = alerts
                .iter()
                .find(|a| a.check == definition.name && a.target == target)
                .and_then(|a| a.severity.as_deref().and_then(severity_of));
            let problem = alerting::classify(value, &threshold, current);
            findings.push(Finding {
                check: definition.name.to_owned(),
                summary: format!("{} of {target} is {value:.1}", definition.name.replace('_', " ")),
                target,
                problem,
                evidence: json!({ "value": value, "warning": settings.warning, "critical": settings.critical }),
            });
        }
    }
    findings
}

/// Open alerts of checks evaluated this time whose target is gone (a recovered unit drops out of
/// the agent's list): their problem is over.
fn vanished_targets(alerts: &[AlertRow], findings: &[Finding], evaluated: &[&str]) -> Vec<Finding> {
    alerts
        .iter()
        .filter(|a| a.state != "ok" && evaluated.contains(&a.check.as_str()))
        .filter(|a| !findings.iter().any(|f| f.check == a.check && f.target == a.target))
        .map(|a| Finding {
            check: a.check.clone(),
            target: a.target.clone(),
            problem: None,
            summary: format!("{} is no longer reported", a.target),
            evidence: json!({ "vanished": true }),
        })
        .collect()
}

async fn apply(
    state: &AppState,
    subject: &Subject,
    settings: &BTreeMap<&str, CheckSettings>,
    alerts: &[AlertRow],
    findings: Vec<Finding>,
    now: Timestamp,
) -> Result<(), Error> {
    let existing: HashMap<&str, &AlertRow> = alerts.iter().map(|a| (a.dedup_key.as_str(), a)).collect();
    let mut changed = Vec::new();
    for finding in findings {
        let key = subject.key(&finding.check, &finding.target);
        let row = existing.get(key.as_str()).copied();
        let track = match row {
            Some(row) => serde_json::from_str(&row.track).unwrap_or_else(|_| AlertTrack::new()),
            None => AlertTrack::new(),
        };
        let policy = policy(settings.get(finding.check.as_str()));
        let observation = Observation { at: now, severity: finding.problem, summary: finding.summary.clone() };
        let (next, events) = alerting::observe(&track, &observation, &policy);
        if !events.is_empty() || next.state != AlertState::Ok {
            changed.push((finding, key, row, track, next, events));
        }
    }
    // Most reports change nothing: windows and channels are read only when something does.
    if changed.is_empty() {
        return Ok(());
    }
    let windows = windows(&state.store.maintenance_windows(Scope::System, Some(subject.client_id)).await?, now);
    let channels = state.store.channels_for_client(subject.client_id).await?;
    let mut updates = Vec::with_capacity(changed.len());
    for (finding, key, row, track, next, events) in changed {
        let target = Target {
            client_id: subject.client_id,
            site_id: subject.site_id,
            host_id: subject.host_id,
            check: finding.check.clone(),
        };
        let suppressed = maintenance::suppresses(&windows, &target, now);
        updates.push(update(subject, &finding, key, row, &track, next, &events, suppressed, &channels, now)?);
    }
    state.store.apply_alert_updates(&updates).await?;
    // The alerts are stored whatever the desk does with them.
    if let Err(e) = crate::desk::incidents::follow(state, &updates, now).await {
        tracing::error!(client = subject.client_id, error = %e, "opening incident tickets failed");
    }
    Ok(())
}

/// The settings of a check the catalogue does not know: off.
pub(super) fn disabled() -> CheckSettings {
    CheckSettings {
        enabled: false,
        warning: None,
        critical: None,
        pending_for_secs: 0,
        params: BTreeMap::new(),
        lists: BTreeMap::new(),
    }
}

/// Maintenance windows as the domain reads them; a window that no longer parses is skipped.
pub fn windows(rows: &[MaintenanceWindowRow], now: Timestamp) -> Vec<(WindowScope, WindowSchedule)> {
    rows.iter()
        .filter(|w| w.ended_at.is_none_or(|ended| ended > now))
        .filter_map(|w| {
            let schedule = super::scheduler::schedule_of(w).ok()?;
            let scope = WindowScope {
                client_id: Some(w.client_id),
                site_id: w.site_id,
                host_id: w.host_id,
                check: w.check.clone(),
            };
            Some((scope, schedule))
        })
        .collect()
}

/// A problem must last `pending_for` to fire and be gone as long to resolve: the same patience
/// both ways keeps a noisy check from paging on every blip and from resolving between two.
fn policy(settings: Option<&CheckSettings>) -> AlertPolicy {
    let defaults = AlertPolicy::default();
    let Some(settings) = settings else { return defaults };
    let pending = SignedDuration::from_secs(i64::try_from(settings.pending_for_secs).unwrap_or(i64::MAX));
    AlertPolicy { pending_for: pending, recover_for: pending, ..defaults }
}

pub fn dedup_key(host_id: i64, check: &str, target: &str) -> String {
    format!("{host_id}/{check}/{target}")
}

pub fn severity_of(text: &str) -> Option<Severity> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
}

pub fn severity_text(severity: Severity) -> String {
    serde_json::to_value(severity).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

pub fn state_text(state: AlertState) -> String {
    serde_json::to_value(state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Events that reach people; the others are history only.
fn notifies(event: &AlertEvent) -> bool {
    matches!(
        event,
        AlertEvent::Firing { .. }
            | AlertEvent::Escalated { .. }
            | AlertEvent::Resolved { .. }
            | AlertEvent::FlappingStarted
    )
}

pub fn event_name(event: &AlertEvent) -> String {
    serde_json::to_value(event)
        .ok()
        .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "event".into())
}

#[allow(clippy::too_many_arguments)]
fn update(
    subject: &Subject,
    finding: &Finding,
    dedup_key: String,
    row: Option<&AlertRow>,
    before: &AlertTrack,
    next: AlertTrack,
    events: &[AlertEvent],
    suppressed: bool,
    channels: &[ChannelRow],
    now: Timestamp,
) -> Result<AlertUpdate, Error> {
    // Resolution is announced at the severity people were told about.
    let severity = next.severity.or(before.announced_severity).or(before.severity);
    let mut notifications = Vec::new();
    let mut records = Vec::new();
    let level = row.and_then(|r| r.escalated_to.as_deref()).unwrap_or(FIRST_LEVEL);
    for event in events {
        let notify = notifies(event) && !suppressed;
        let name = event_name(event);
        records.push(AlertEventRecord {
            at: now,
            event: name.clone(),
            detail: serde_json::to_string(event).map_err(|e| Error::Internal(e.to_string()))?,
            notified: notify,
        });
        if notify {
            let message =
                Message { subject, check: &finding.check, target: &finding.target, summary: &finding.summary };
            notifications.extend(intents(&message, &name, severity, channels, Audience::UpTo(level), now));
        }
    }
    let opened_at = match next.state {
        AlertState::Ok => None,
        _ => row.and_then(|r| r.opened_at).or(next.problem_since).or(Some(now)),
    };
    // A new problem starts at the first level again.
    let escalated_to = match next.state {
        AlertState::Ok => None,
        _ => row.and_then(|r| r.escalated_to.clone()),
    };
    Ok(AlertUpdate {
        dedup_key,
        client_id: subject.client_id,
        host_id: subject.host_id,
        check: finding.check.clone(),
        target: finding.target.clone(),
        state: state_text(next.state),
        severity: next.severity.map(severity_text),
        summary: finding.summary.clone(),
        evidence: finding.evidence.to_string(),
        track: serde_json::to_string(&next).map_err(|e| Error::Internal(e.to_string()))?,
        opened_at,
        escalated_to,
        at: now,
        events: records,
        notifications,
    })
}

/// What a notification says, whatever caused it.
pub(super) struct Message<'a> {
    pub subject: &'a Subject,
    pub check: &'a str,
    pub target: &'a str,
    pub summary: &'a str,
}

/// The support level alerts start at; escalation moves them on.
pub(super) const FIRST_LEVEL: &str = "L1";

/// Which support levels hear a notification. Levels are `L1`, `L2`, `L3` (validated where
/// channels are made), so their text sorts as they rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Audience<'a> {
    /// Channels of no level and of every level up to this one: those already on the alert.
    UpTo(&'a str),
    /// The channels of this level alone: the ones an escalation brings in.
    Only(&'a str),
}

/// One notification per channel that takes this severity, site and audience.
pub(super) fn intents(
    message: &Message<'_>,
    event: &str,
    severity: Option<Severity>,
    channels: &[ChannelRow],
    audience: Audience<'_>,
    now: Timestamp,
) -> Vec<NotificationIntent> {
    let body = json!({
        "event": event,
        "client_id": message.subject.client_id,
        "site_id": message.subject.site_id,
        "host_id": message.subject.host_id,
        "host": message.subject.name,
        "check": message.check,
        "target": message.target,
        "severity": severity.map(severity_text),
        "summary": message.summary,
        "at": now.to_string(),
    })
    .to_string();
    channels
        .iter()
        .filter(|c| reaches(c, severity, message.subject.site_id, audience))
        .map(|c| NotificationIntent { channel_id: c.id, event: event.to_owned(), body: body.clone() })
        .collect()
}

/// Alerts that began firing inside a maintenance window and still fire once it is over are
/// announced then: the window hid the start of a problem, not the problem.
pub async fn announce_after_maintenance(state: &AppState, now: Timestamp) -> Result<(), Error> {
    let unannounced: Vec<AlertRow> = state
        .store
        .list_alerts(Scope::System, true, 100_000)
        .await?
        .into_iter()
        // Not told since this problem began.
        .filter(|a| a.state == "firing" && a.last_notified_at.is_none_or(|told| a.opened_at.is_some_and(|o| told < o)))
        .collect();
    let mut updates = Vec::new();
    for alert in unannounced {
        let site_id = match alert.host_id {
            Some(host) => state.store.host(Scope::System, host).await?.site_id,
            None => None,
        };
        let target = Target { client_id: alert.client_id, site_id, host_id: alert.host_id, check: alert.check.clone() };
        let rows = state.store.maintenance_windows(Scope::System, Some(alert.client_id)).await?;
        if maintenance::suppresses(&windows(&rows, now), &target, now) {
            continue;
        }
        let channels = state.store.channels_for_client(alert.client_id).await?;
        let subject =
            Subject { host_id: alert.host_id, client_id: alert.client_id, site_id, name: alert.target.clone() };
        let message =
            Message { subject: &subject, check: &alert.check, target: &alert.target, summary: &alert.summary };
        let severity = alert.severity.as_deref().and_then(severity_of);
        let level = alert.escalated_to.as_deref().unwrap_or(FIRST_LEVEL);
        let notifications = intents(&message, "firing", severity, &channels, Audience::UpTo(level), now);
        if notifications.is_empty() {
            continue;
        }
        let event = AlertEventRecord {
            at: now,
            event: "firing".into(),
            detail: "{\"after_maintenance\":true}".into(),
            notified: true,
        };
        updates.push(AlertUpdate { at: now, events: vec![event], notifications, ..update_of(&alert) });
    }
    state.store.apply_alert_updates(&updates).await?;
    Ok(())
}

/// An update that leaves the alert as it is.
pub fn update_of(alert: &AlertRow) -> AlertUpdate {
    AlertUpdate {
        dedup_key: alert.dedup_key.clone(),
        client_id: alert.client_id,
        host_id: alert.host_id,
        check: alert.check.clone(),
        target: alert.target.clone(),
        state: alert.state.clone(),
        severity: alert.severity.clone(),
        summary: alert.summary.clone(),
        track: alert.track.clone(),
        evidence: alert.evidence.clone(),
        opened_at: alert.opened_at,
        escalated_to: alert.escalated_to.clone(),
        at: alert.updated_at,
        events: Vec::new(),
        notifications: Vec::new(),
    }
}

fn reaches(channel: &ChannelRow, severity: Option<Severity>, site_id: Option<i64>, audience: Audience<'_>) -> bool {
    let minimum = severity_of(&channel.min_severity).unwrap_or(Severity::Warning);
    let site = channel.site_id.is_none_or(|site| Some(site) == site_id);
    let level = channel.support_level.as_deref();
    let heard = match audience {
        Audience::UpTo(top) => level.is_none_or(|level| level <= top),
        Audience::Only(only) => level == Some(only),
    };
    severity.is_some_and(|s| s >= minimum) && site && heard
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_text() {
        assert_eq!(severity_of(&severity_text(Severity::Critical)), Some(Severity::Critical));
        assert_eq!(severity_of("nonsense"), None);
        assert_eq!(state_text(AlertState::Firing), "firing");
        assert_eq!(event_name(&AlertEvent::Resolved { duration: SignedDuration::from_mins(3) }), "resolved");
        assert_eq!(dedup_key(4, "disk_usage", "/var"), "4/disk_usage//var");
    }

    fn channel(min: &str, site_id: Option<i64>, level: Option<&str>) -> ChannelRow {
        ChannelRow {
            id: 1,
            client_id: None,
            site_id,
            support_level: level.map(str::to_owned),
            kind: "webhook".into(),
            target: "http://x".into(),
            min_severity: min.into(),
        }
    }

    #[test]
    fn channels_take_what_is_at_least_their_severity() {
        let all = Audience::UpTo(FIRST_LEVEL);
        assert!(reaches(&channel("warning", None, None), Some(Severity::Warning), None, all));
        assert!(!reaches(&channel("critical", None, None), Some(Severity::Warning), None, all));
        assert!(reaches(&channel("critical", None, None), Some(Severity::Critical), None, all));
        assert!(!reaches(&channel("warning", None, None), None, None, all));
    }

    #[test]
    fn channels_are_routed_by_site_and_support_level() {
        let critical = Some(Severity::Critical);
        let first = Audience::UpTo(FIRST_LEVEL);
        // A site's channel hears that site alone; a channel of no site hears every site.
        assert!(reaches(&channel("warning", Some(7), None), critical, Some(7), first));
        assert!(!reaches(&channel("warning", Some(7), None), critical, Some(8), first));
        assert!(!reaches(&channel("warning", Some(7), None), critical, None, first));
        assert!(reaches(&channel("warning", None, None), critical, Some(8), first));
        // L2 hears an alert once it is escalated to L2, and from then on its reminders.
        assert!(reaches(&channel("warning", None, Some("L1")), critical, None, first));
        assert!(!reaches(&channel("warning", None, Some("L2")), critical, None, first));
        assert!(reaches(&channel("warning", None, Some("L2")), critical, None, Audience::Only("L2")));
        assert!(!reaches(&channel("warning", None, Some("L1")), critical, None, Audience::Only("L2")));
        assert!(!reaches(&channel("warning", None, None), critical, None, Audience::Only("L2")));
        assert!(reaches(&channel("warning", None, Some("L1")), critical, None, Audience::UpTo("L2")));
        assert!(!reaches(&channel("warning", None, Some("L3")), critical, None, Audience::UpTo("L2")));
    }
}
