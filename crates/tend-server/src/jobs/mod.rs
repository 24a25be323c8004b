//! Typed jobs on customers' hosts, and the gate in front of them.
//!
//! A power action or a destructive job is queued only when the customer's authorization holds
//! for that action on that host at that instant (`tend_core::desk::authorize_action`), and it
//! is checked again when the agent comes for the job, since a job queued inside a window may be
//! collected after it closed. The authorizations in force are the grants of the host's open
//! intervention tickets (their forms' power action and windows) and the standing
//! authorizations of the client's contract. Every decision is audited, allowed or refused, with
//! the ticket it concerns.
//!
//! - `agent`: the agent's long-poll for its next job and its result.
//!
//! Kinds map onto the domain's gated actions: reboot, shutdown and power cycle onto themselves;
//! a free-form `script` onto a destructive job, since nothing bounds what a script does. A
//! script must in addition be enabled in the agent's own configuration, which the server
//! cannot see: the agent refuses it otherwise.
//!
//! `apply_updates` is no gated action: installing updates is the patching service the customer
//! bought, so the client's contract must include `patching`, and no ticket is needed. The
//! updates' schedule (maintenance windows, rings) is the patching module's business, not the
//! gate's.
//!
//! A `restore` is gated by where it writes. Into another directory it changes no live file: it
//! is the backup service the customer bought, so the contract must include `backups`. In place
//! (target `/`, where restic puts every file back over the live one) it is a destructive job,
//! authorized like a script. Its parameters decide, so the gate reads them; parameters that
//! cannot be read count as in place (fails closed). The agent in addition refuses a restore in
//! place unless its own configuration allows it.
//!
//! Must not: talk to a host (agents call in), or decide which actions a grant permits (core's).

pub(crate) mod agent;

use std::fmt;

use jiff::civil::DateTime;
use jiff::{SignedDuration, Timestamp};
use tend_core::desk::{GatedAction, Grant, GrantSource, Refusal, TimeLimit, authorize_action, grant_from_intervention};
use tend_core::maintenance::{self, WindowSchedule};
use tend_proto::desk::TicketForm;
use tend_proto::jobs::{
    ApplyUpdatesParams, AuthorizedAction, JobKind, JobResult, MAX_SCRIPT_BYTES, RecurringWindow, RestoreParams,
    StandingAuthorization,
};
use tend_store::{AuditEntry, HostRow, JobRow, Scope, TicketRow};
use tokio::sync::Notify;

use crate::{AppState, Error};

/// The domain's action for a job (see the module documentation); none for jobs that a
/// contracted service allows instead.
pub fn gated_action(kind: JobKind, params: &serde_json::Value) -> Option<GatedAction> {
    match kind {
        JobKind::Reboot => Some(GatedAction::Reboot),
        JobKind::Shutdown => Some(GatedAction::Shutdown),
        JobKind::PowerCycle => Some(GatedAction::PowerCycle),
        JobKind::Script => Some(GatedAction::DestructiveJob),
        JobKind::Restore => restores_in_place(params).then_some(GatedAction::DestructiveJob),
        JobKind::ApplyUpdates => None,
    }
}

/// The contract's service that allows a job which is no gated action.
pub fn contracted_service(kind: JobKind, params: &serde_json::Value) -> Option<&'static str> {
    match kind {
        JobKind::ApplyUpdates => Some("patching"),
        JobKind::Restore => (!restores_in_place(params)).then_some("backups"),
        JobKind::Reboot | JobKind::Shutdown | JobKind::PowerCycle | JobKind::Script => None,
    }
}

/// Whether a restore's parameters write over the live files; unreadable ones do, for the gate.
fn restores_in_place(params: &serde_json::Value) -> bool {
    RestoreParams::from_value(params).ok().is_none_or(|read| read.restores_in_place())
}

/// What allowed a job.
#[derive(Debug, Clone)]
pub enum Allowance {
    /// A ticket's or a standing authorization.
    Grant(Box<Grant>),
    /// The client's contract includes this service.
    Contract { service: &'static str },
}

impl fmt::Display for Allowance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Allowance::Grant(grant) => write!(f, "{}", grant.source),
            Allowance::Contract { service } => write!(f, "the client's contract ({service})"),
        }
    }
}

/// Why a job may not run, as the technician should be told.
#[derive(Debug, Clone, PartialEq)]
pub enum JobRefusal {
    Gate(Refusal),
    /// The client did not buy the service the job belongs to.
    NotContracted {
        service: &'static str,
    },
}

impl fmt::Display for JobRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobRefusal::Gate(refusal) => write!(f, "{refusal}"),
            JobRefusal::NotContracted { service } => write!(f, "the client's contract does not include {service}"),
        }
    }
}

fn authorized_action(action: AuthorizedAction) -> GatedAction {
    match action {
        AuthorizedAction::Reboot => GatedAction::Reboot,
        AuthorizedAction::PowerCycle => GatedAction::PowerCycle,
        AuthorizedAction::Shutdown => GatedAction::Shutdown,
        AuthorizedAction::DestructiveJob => GatedAction::DestructiveJob,
    }
}

const STANDING: &str = "standing_authorizations";

/// The schedule of a standing authorization's window, as maintenance windows are read.
pub fn window_schedule(window: &RecurringWindow) -> Result<WindowSchedule, Error> {
    let start: DateTime = window
        .start
        .trim()
        .parse()
        .map_err(|e| Error::invalid_field(STANDING, format!("window start '{}': {e}", window.start)))?;
    let rrule = window.rrule.as_deref().filter(|r| !r.trim().is_empty()).map(maintenance::parse_rrule).transpose()?;
    let minutes = window.duration_minutes;
    if !(1..=maintenance::MAX_DURATION.as_mins()).contains(&minutes) {
        return Err(Error::invalid_field(
            STANDING,
            format!("window of {minutes} minutes: expected 1 minute to 7 days"),
        ));
    }
    Ok(WindowSchedule::new(start, SignedDuration::from_mins(minutes), &window.time_zone, rrule)?)
}

/// The grant of one standing authorization.
pub fn standing_grant(authorization: &StandingAuthorization) -> Result<Grant, Error> {
    if authorization.actions.is_empty() {
        return Err(Error::invalid_field(STANDING, "an authorization names at least one action"));
    }
    let when = match &authorization.window {
        None => TimeLimit::Always,
        Some(window) => TimeLimit::Recurring(window_schedule(window)?),
    };
    Ok(Grant {
        source: GrantSource::Standing,
        host_id: authorization.host_id,
        actions: authorization.actions.iter().copied().map(authorized_action).collect(),
        when,
    })
}

/// Reads and checks a contract's standing authorizations as the API receives them, so that a
/// contract is refused with the reason rather than stored with an authorization that would
/// never hold.
pub fn validate_standing(values: &[serde_json::Value]) -> Result<Vec<StandingAuthorization>, Error> {
    let mut read = Vec::with_capacity(values.len());
    for (n, value) in (1..).zip(values) {
        let authorization: StandingAuthorization = serde_json::from_value(value.clone())
            .map_err(|e| Error::invalid_field(STANDING, format!("authorization {n}: {e}")))?;
        standing_grant(&authorization)
            .map_err(|e| Error::invalid_field(STANDING, format!("authorization {n}: {e}")))?;
        read.push(authorization);
    }
    Ok(read)
}

/// The grant of an open ticket's intervention form for `host_id`, if it gives one. A form that
/// cannot be read or names another host grants nothing.
fn ticket_grant(ticket: &TicketRow, host_id: i64) -> Option<Grant> {
    let form: TicketForm = match serde_json::from_str(ticket.form.as_deref()?) {
        Ok(form) => form,
        Err(e) => {
            tracing::warn!(ticket_id = ticket.id, error = %e, "a ticket's form cannot be read; it authorizes nothing");
            return None;
        }
    };
    let TicketForm::Intervention(form) = form else { return None };
    if form.server.host_id.is_some_and(|named| named != host_id) {
        return None;
    }
    match grant_from_intervention(ticket.id, host_id, &form) {
        Ok(grant) => grant,
        Err(e) => {
            tracing::warn!(ticket_id = ticket.id, error = %e, "a ticket's form is invalid; it authorizes nothing");
            None
        }
    }
}

/// The grants in force for a host of `client_id`: its open tickets' and the client's standing
/// authorizations. Those of `preferred` (a ticket) come first, so that when it allows the
/// action, it is the one the decision names. The caller has checked the host is in its scope.
pub async fn grants_for_host(
    state: &AppState,
    client_id: i64,
    host_id: i64,
    preferred: Option<i64>,
) -> Result<Vec<Grant>, Error> {
    let mut grants: Vec<Grant> = state
        .store
        .open_tickets_on_host(Scope::System, host_id)
        .await?
        .iter()
        .filter(|ticket| ticket.client_id == client_id)
        .filter_map(|ticket| ticket_grant(ticket, host_id))
        .collect();
    grants.sort_by_key(|grant| preferred.is_none_or(|id| grant.source != GrantSource::Ticket(id)));
    if let Some(contract) = state.store.contract(Scope::System, client_id).await? {
        // Fails closed: an authorization that cannot be read allows nothing, and says so in the log.
        match serde_json::from_str::<Vec<StandingAuthorization>>(&contract.standing_authorizations) {
            Ok(standing) => {
                for authorization in &standing {
                    match standing_grant(authorization) {
                        Ok(grant) => grants.push(grant),
                        Err(e) => tracing::warn!(client_id, error = %e, "a standing authorization is ignored"),
                    }
                }
            }
            Err(e) => tracing::warn!(client_id, error = %e, "the contract's standing authorizations cannot be read"),
        }
    }
    Ok(grants)
}

/// Whether a job of `kind` whose parameters do not matter to the gate (a power action) may run
/// on `host` at `at`; see [`authorize_job_with`].
pub async fn authorize_job(
    state: &AppState,
    host: &HostRow,
    kind: JobKind,
    ticket_id: Option<i64>,
    at: Timestamp,
) -> Result<Result<Allowance, JobRefusal>, Error> {
    authorize_job_with(state, host, kind, &serde_json::Value::Null, ticket_id, at).await
}

/// Whether a job of `kind` with `params` may run on `host` at `at`: what allows it, or the
/// refusal to show.
pub async fn authorize_job_with(
    state: &AppState,
    host: &HostRow,
    kind: JobKind,
    params: &serde_json::Value,
    ticket_id: Option<i64>,
    at: Timestamp,
) -> Result<Result<Allowance, JobRefusal>, Error> {
    if let Some(service) = contracted_service(kind, params) {
        let contract = crate::desk::contract::of_client(state, host.client_id).await?;
        return Ok(if contract.includes(service) {
            Ok(Allowance::Contract { service })
        } else {
            Err(JobRefusal::NotContracted { service })
        });
    }
    let Some(action) = gated_action(kind, params) else {
        return Err(Error::Internal(format!("job kind {} has neither a gated action nor a service", kind.as_str())));
    };
    let grants = grants_for_host(state, host.client_id, host.id, ticket_id).await?;
    Ok(authorize_action(&grants, host.id, action, at)
        .map(|grant| Allowance::Grant(Box::new(grant.clone())))
        .map_err(JobRefusal::Gate))
}

/// The ticket a decision concerns: the one named, else the one whose grant allowed the action
/// or would allow it later.
pub fn decision_ticket(decision: &Result<Allowance, JobRefusal>, named: Option<i64>) -> Option<i64> {
    let source = match decision {
        Ok(Allowance::Grant(grant)) => Some(grant.source),
        Err(JobRefusal::Gate(Refusal::OutsideWindow { source, .. })) => Some(*source),
        Ok(Allowance::Contract { .. }) | Err(_) => None,
    };
    named.or(match source {
        Some(GrantSource::Ticket(id)) => Some(id),
        _ => None,
    })
}

/// One entry of the audit trail about a job on a host.
pub struct JobAudit<'a> {
    pub at: Timestamp,
    pub actor_id: Option<i64>,
    pub client_id: i64,
    pub host_id: i64,
    pub ticket_id: Option<i64>,
    pub kind: JobKind,
    pub outcome: &'a str,
    pub detail: String,
}

impl JobAudit<'_> {
    /// The audit entry, as action `job.<kind>`.
    pub fn entry(self) -> AuditEntry {
        AuditEntry {
            id: 0,
            at: self.at,
            actor_id: self.actor_id,
            client_id: Some(self.client_id),
            host_id: Some(self.host_id),
            ticket_id: self.ticket_id,
            action: format!("job.{}", self.kind.as_str()),
            outcome: self.outcome.to_owned(),
            detail: self.detail,
        }
    }
}

/// Appends `entry` to the audit trail as action `job.<kind>`.
pub async fn audit(state: &AppState, entry: JobAudit<'_>) -> Result<(), Error> {
    state.store.audit(&entry.entry()).await?;
    Ok(())
}

/// Checks a job's parameters and returns them as stored: none for power actions, a non-empty
/// `script` of bounded size for scripts, the typed parameters of `apply_updates` and `restore`.
pub fn validate_params(kind: JobKind, params: &serde_json::Value) -> Result<serde_json::Value, Error> {
    let object = match params {
        serde_json::Value::Null => serde_json::Map::new(),
        serde_json::Value::Object(object) => object.clone(),
        _ => return Err(Error::invalid_field("params", "expected an object")),
    };
    match kind {
        JobKind::ApplyUpdates => return typed(ApplyUpdatesParams::from_value(&serde_json::Value::Object(object))),
        JobKind::Restore => return typed(RestoreParams::from_value(&serde_json::Value::Object(object))),
        _ => {}
    }
    let allowed: &[&str] = match kind {
        JobKind::Script => &["script"],
        _ => &[],
    };
    if let Some(unknown) = object.keys().find(|key| !allowed.contains(&key.as_str())) {
        return Err(Error::invalid_field("params", format!("a {} job takes no parameter '{unknown}'", kind.as_str())));
    }
    if kind == JobKind::Script {
        let script = object.get("script").and_then(serde_json::Value::as_str).unwrap_or_default();
        if script.trim().is_empty() {
            return Err(Error::invalid_field("params", "a script job needs the script to run: {\"script\": \"…\"}"));
        }
        if script.len() > MAX_SCRIPT_BYTES {
            return Err(Error::invalid_field("params", format!("a script is at most {MAX_SCRIPT_BYTES} bytes")));
        }
    }
    Ok(serde_json::Value::Object(object))
}

/// Typed parameters as stored, with their defaults written out; or why they were refused.
fn typed<T: serde::Serialize>(read: Result<T, String>) -> Result<serde_json::Value, Error> {
    let read = read.map_err(|e| Error::invalid_field("params", e))?;
    serde_json::to_value(read).map_err(|e| Error::Internal(e.to_string()))
}

/// The kind of a stored job.
pub fn stored_kind(job: &JobRow) -> Result<JobKind, Error> {
    JobKind::from_name(&job.kind).ok_or_else(|| Error::Internal(format!("job {}: unknown kind '{}'", job.id, job.kind)))
}

/// The result of a stored job, if it has one that can be read.
pub fn stored_result(job: &JobRow) -> Option<JobResult> {
    serde_json::from_str(job.result.as_deref()?).ok()
}

/// Wakes the long-polls of this process: when a job is queued (they look for it at once
/// instead of at their next periodic look, which is how other instances find it), and when a
/// server stops (they answer "no job" instead of holding the graceful shutdown up for the rest
/// of their wait). Process-wide, so that it needs no place in the state: waking a poll too
/// many costs one read.
pub(crate) struct Wakeups;

static QUEUED: Notify = Notify::const_new();
static STOPPING: Notify = Notify::const_new();

impl Wakeups {
    pub(crate) fn job_queued() {
        QUEUED.notify_waiters();
    }

    /// Called when a server of this process begins its graceful shutdown.
    pub fn server_stopping() {
        STOPPING.notify_waiters();
    }
}

/// Wraps a server's shutdown signal so that long-polls are released when it fires.
pub async fn releasing_long_polls(shutdown: impl Future<Output = ()>) {
    shutdown.await;
    Wakeups::server_stopping();
}

#[cfg(test)]
mod tests {
    use tend_proto::jobs::AuthorizedAction;

    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn kinds_map_onto_gated_actions() {
        let table = [
            (JobKind::Reboot, GatedAction::Reboot),
            (JobKind::Shutdown, GatedAction::Shutdown),
            (JobKind::PowerCycle, GatedAction::PowerCycle),
            (JobKind::Script, GatedAction::DestructiveJob),
        ];
        let none = &serde_json::Value::Null;
        for (kind, action) in table {
            assert_eq!(gated_action(kind, none), Some(action), "{kind:?}");
            assert_eq!(contracted_service(kind, none), None, "{kind:?}");
        }
        assert_eq!(gated_action(JobKind::ApplyUpdates, none), None, "not a power action");
        assert_eq!(contracted_service(JobKind::ApplyUpdates, none), Some("patching"));
        let aside = serde_json::json!({"plan": "nightly", "target": "/var/tmp/drill"});
        let in_place = serde_json::json!({"plan": "nightly", "paths": ["/etc/hosts"], "target": "/"});
        assert_eq!(contracted_service(JobKind::Restore, &aside), Some("backups"));
        assert_eq!(gated_action(JobKind::Restore, &in_place), Some(GatedAction::DestructiveJob));
        assert_eq!(gated_action(JobKind::Restore, none), Some(GatedAction::DestructiveJob), "unreadable: fails closed");
        for params in [none, &aside, &in_place] {
            for kind in JobKind::ALL {
                let gates = (gated_action(kind, params).is_some(), contracted_service(kind, params).is_some());
                assert!(gates.0 != gates.1, "{kind:?} {params}: exactly one gate");
            }
        }
    }

    #[test]
    fn a_standing_authorization_holds_inside_its_recurring_window() {
        // Saturdays 22:00–02:00 Paris time, every host of the client.
        let weekly = StandingAuthorization {
            host_id: None,
            actions: vec![AuthorizedAction::Shutdown],
            window: Some(RecurringWindow {
                start: "2026-03-07T22:00".into(),
                time_zone: "Europe/Paris".into(),
                duration_minutes: 240,
                rrule: Some("FREQ=WEEKLY;BYDAY=SA".into()),
            }),
        };
        let grants = vec![standing_grant(&weekly).unwrap()];
        let shutdown = GatedAction::Shutdown;
        // 2026-03-28 is the Saturday before Paris moves to summer time (UTC+1 that evening).
        assert!(authorize_action(&grants, 9, shutdown, at("2026-03-28T21:30:00Z")).is_ok());
        assert!(authorize_action(&grants, 9, shutdown, at("2026-03-29T00:30:00Z")).is_ok(), "past midnight");
        let refusal = authorize_action(&grants, 9, shutdown, at("2026-03-30T12:00:00Z")).unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "the standing authorization authorizes a shutdown only inside its windows; the next one starts at \
             2026-04-04T20:00:00Z"
        );
        let refusal = authorize_action(&grants, 9, GatedAction::Reboot, at("2026-03-28T21:30:00Z")).unwrap_err();
        assert!(matches!(refusal, Refusal::WrongAction { .. }), "{refusal}");
    }

    #[test]
    fn standing_authorizations_are_checked_before_they_are_stored() {
        let good = serde_json::json!({"host_id": 3, "actions": ["reboot"]});
        let read = validate_standing(&[good]).unwrap();
        assert_eq!(standing_grant(&read[0]).unwrap().when, TimeLimit::Always);
        for (bad, says) in [
            (serde_json::json!({"actions": []}), "at least one action"),
            (serde_json::json!({"actions": ["format_disk"]}), "unknown variant"),
            (
                serde_json::json!({"actions": ["reboot"], "window": {"start": "2026-01-01T22:00",
                    "time_zone": "Mars/Olympus", "duration_minutes": 60}}),
                "time zone",
            ),
            (
                serde_json::json!({"actions": ["reboot"], "window": {"start": "tonight",
                    "time_zone": "UTC", "duration_minutes": 60}}),
                "window start",
            ),
            (
                serde_json::json!({"actions": ["reboot"], "window": {"start": "2026-01-01T22:00",
                    "time_zone": "UTC", "duration_minutes": 0}}),
                "1 minute to 7 days",
            ),
        ] {
            let err = validate_standing(&[bad]).unwrap_err().to_string();
            assert!(err.contains("authorization 1") && err.contains(says), "{err}");
        }
    }

    #[test]
    fn params_are_checked_per_kind() {
        assert_eq!(validate_params(JobKind::Reboot, &serde_json::Value::Null).unwrap(), serde_json::json!({}));
        assert!(validate_params(JobKind::Reboot, &serde_json::json!({"delay": 5})).is_err());
        assert!(validate_params(JobKind::Script, &serde_json::json!({})).is_err());
        assert!(validate_params(JobKind::Script, &serde_json::json!([1])).is_err());
        let script = serde_json::json!({"script": "df -h"});
        assert_eq!(validate_params(JobKind::Script, &script).unwrap(), script);
        let huge = serde_json::json!({"script": "x".repeat(MAX_SCRIPT_BYTES + 1)});
        assert!(validate_params(JobKind::Script, &huge).is_err());
        let apply = validate_params(JobKind::ApplyUpdates, &serde_json::json!({"packages": ["openssl"]})).unwrap();
        assert_eq!(apply, serde_json::json!({"packages": ["openssl"], "security_only": false, "refresh": true}));
        assert!(validate_params(JobKind::ApplyUpdates, &serde_json::json!({"packages": ["rm -rf"]})).is_err());
        assert!(validate_params(JobKind::ApplyUpdates, &serde_json::json!({"script": "x"})).is_err());
        let restore = validate_params(JobKind::Restore, &serde_json::json!({"plan": "p", "target": "/tmp/r"})).unwrap();
        assert_eq!(restore, serde_json::json!({"plan": "p", "snapshot": "latest", "paths": [], "target": "/tmp/r"}));
        assert!(validate_params(JobKind::Restore, &serde_json::json!({"plan": "p", "target": "/tmp/../r"})).is_err());
    }

    #[test]
    fn a_decision_names_its_ticket() {
        let grant =
            Grant { source: GrantSource::Ticket(4), host_id: Some(1), actions: vec![], when: TimeLimit::Always };
        assert_eq!(decision_ticket(&Ok(Allowance::Grant(Box::new(grant.clone()))), None), Some(4));
        assert_eq!(decision_ticket(&Ok(Allowance::Grant(Box::new(grant))), Some(9)), Some(9), "the ticket named wins");
        let later =
            Refusal::OutsideWindow { action: GatedAction::Reboot, source: GrantSource::Ticket(5), next_start: None };
        assert_eq!(decision_ticket(&Err(JobRefusal::Gate(later)), None), Some(5));
        let none = Refusal::NoAuthorization { action: GatedAction::Reboot };
        assert_eq!(decision_ticket(&Err(JobRefusal::Gate(none)), None), None);
        let contract = Allowance::Contract { service: "patching" };
        assert_eq!(decision_ticket(&Ok(contract.clone()), None), None);
        assert_eq!(contract.to_string(), "the client's contract (patching)");
        let excluded = JobRefusal::NotContracted { service: "patching" };
        assert_eq!(excluded.to_string(), "the client's contract does not include patching");
        assert_eq!(decision_ticket(&Err(excluded), None), None);
    }
}
