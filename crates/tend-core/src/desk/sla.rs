//! SLA clocks: how much of the time the provider promised for a first response and for a
//! resolution a ticket has used, counted in the policy's business hours.
//!
//! The clocks are derived from the ticket's history every time, never stored: changing the
//! priority, the policy or its calendar recomputes them from the same events, and paused time
//! is never lost. The priority in force (the last one set) applies to the whole history: a
//! ticket raised to P1 is late if P1's target has passed since it was filed.
//!
//! - Response: runs from creation until the first public reply of the provider's staff, or
//!   until the ticket is resolved (a fix is an answer); paused while waiting on the customer.
//! - Resolution: runs from creation whenever the ticket is neither waiting on the customer nor
//!   resolved or closed; reopening resumes it where it stopped.
//!
//! Must not read the clock, store, or notify: [`alarms`] says which alarms a ticket's clocks
//! call for, and the server sends each (ticket, clock, level) once and remembers it did.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::calendar::BusinessCalendar;
use super::priority::Priority;
use super::ticket::TicketStatus;
use crate::Error;
use crate::tenancy::validate_name;

/// Share of a target after which a clock warns, unless the policy says otherwise.
pub const DEFAULT_WARN_AT: f64 = 0.75;

/// What the provider promises for one priority, in working time of the policy's calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub first_response: SignedDuration,
    pub resolution: SignedDuration,
}

/// A [`Target`] for every priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    pub p1: Target,
    pub p2: Target,
    pub p3: Target,
    pub p4: Target,
}

impl Targets {
    pub fn of(&self, priority: Priority) -> Target {
        match priority {
            Priority::P1 => self.p1,
            Priority::P2 => self.p2,
            Priority::P3 => self.p3,
            Priority::P4 => self.p4,
        }
    }
}

/// The promises made to a client: targets per priority, counted in `calendar`'s working time.
/// Durations are written as jiff writes them, "PT4H" or "4h".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicy {
    pub name: String,
    pub calendar: BusinessCalendar,
    pub targets: Targets,
    /// Share of a target (more than 0, at most 1) after which a clock warns.
    #[serde(default = "default_warn_at")]
    pub warn_at: f64,
}

fn default_warn_at() -> f64 {
    DEFAULT_WARN_AT
}

impl SlaPolicy {
    /// Refuses an empty name, a target that is not positive, a first response promised later than
    /// the resolution, and a warning share outside (0, 1]. The calendar was validated when built.
    pub fn validate(&self) -> Result<(), Error> {
        validate_name("name", &self.name)?;
        for priority in Priority::ALL {
            let target = self.targets.of(priority);
            let (response_field, resolution_field) = target_fields(priority);
            for (field, duration) in [(response_field, target.first_response), (resolution_field, target.resolution)] {
                if duration <= SignedDuration::ZERO {
                    return Err(Error::Invalid { field, reason: "must be more than zero".to_owned() });
                }
            }
            if target.first_response > target.resolution {
                return Err(Error::Invalid {
                    field: response_field,
                    reason: format!(
                        "a first response within {:#} comes after the resolution within {:#}",
                        target.first_response, target.resolution
                    ),
                });
            }
        }
        if !(self.warn_at > 0.0 && self.warn_at <= 1.0) {
            return Err(Error::Invalid {
                field: "warn_at",
                reason: format!("{} must be more than 0 and at most 1 (a share of the target)", self.warn_at),
            });
        }
        Ok(())
    }
}

fn target_fields(priority: Priority) -> (&'static str, &'static str) {
    match priority {
        Priority::P1 => ("targets.p1.first_response", "targets.p1.resolution"),
        Priority::P2 => ("targets.p2.first_response", "targets.p2.resolution"),
        Priority::P3 => ("targets.p3.first_response", "targets.p3.resolution"),
        Priority::P4 => ("targets.p4.first_response", "targets.p4.resolution"),
    }
}

/// One entry of a ticket's history, as far as SLA clocks care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketEvent {
    pub at: Timestamp,
    pub change: Change,
}

/// What happened to a ticket. Written as `{"created": {"priority": "p2"}}`,
/// `{"status": "resolved"}`, `{"priority": "p1"}` or `"staff_public_reply"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Filed, with a new status and this priority. Always the first event.
    Created {
        priority: Priority,
    },
    Status(TicketStatus),
    Priority(Priority),
    /// A reply of the provider's staff the customer sees (internal notes do not count).
    StaffPublicReply,
}

/// Which promise a clock measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockKind {
    Response,
    Resolution,
}

impl ClockKind {
    /// The name stored and sent on the wire, as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ClockKind::Response => "response",
            ClockKind::Resolution => "resolution",
        }
    }
}

/// Where a clock stands. Exactly one applies, the first that matches in this order:
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    /// More working time used than the target, whether the clock still runs or stopped late.
    Breached,
    /// Stopped within the target.
    Met,
    /// Not stopped, and at least the policy's warning share of the target used.
    Warning,
    /// Counting (during business hours) and below the warning share.
    Running,
    /// Waiting on the customer, below the warning share.
    Paused,
}

/// One SLA clock of a ticket at the instant asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    pub target: SignedDuration,
    /// Working time counted so far.
    pub elapsed: SignedDuration,
    /// `target - elapsed`: negative once breached.
    pub remaining: SignedDuration,
    pub state: ClockState,
    /// Set while the clock counts (neither paused nor stopped): the instant the target is reached
    /// if it keeps counting, which is in the past once it is breached. `None` while paused, since
    /// the deadline then depends on when the customer answers, and when the calendar has no
    /// working time left within its search horizon.
    pub due_at: Option<Timestamp>,
    /// When the clock stopped for good (first response given, ticket resolved); `None` while it
    /// runs or is paused.
    pub stopped_at: Option<Timestamp>,
}

/// A ticket's SLA clocks under the priority in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaClocks {
    pub priority: Priority,
    pub response: Clock,
    pub resolution: Clock,
}

/// A ticket's clocks at `now` under `policy`, from its history in the order it happened
/// (events after `now` are ignored). `None` when the history does not begin with
/// [`Change::Created`]: there is no ticket to measure.
pub fn clocks(history: &[TicketEvent], policy: &SlaPolicy, now: Timestamp) -> Option<SlaClocks> {
    let walk = Walk::through(history, now)?;
    let targets = policy.targets.of(walk.priority);
    Some(SlaClocks {
        priority: walk.priority,
        response: walk.clock(ClockKind::Response, targets.first_response, policy),
        resolution: walk.clock(ClockKind::Resolution, targets.resolution, policy),
    })
}

/// A stretch of a ticket's life in one status.
#[derive(Debug, Clone, Copy)]
struct Period {
    start: Timestamp,
    end: Timestamp,
    status: TicketStatus,
    /// Whether the first response had been given (or the ticket resolved) by `start`.
    answered: bool,
}

impl Period {
    fn counts_for(&self, kind: ClockKind) -> bool {
        use TicketStatus::*;
        match kind {
            ClockKind::Response => !self.answered && self.status != WaitingOnCustomer,
            ClockKind::Resolution => !matches!(self.status, WaitingOnCustomer | Resolved | Closed),
        }
    }
}

/// A ticket's history cut into periods up to `now`.
struct Walk {
    priority: Priority,
    /// Every period from creation to `now`, `last` included.
    periods: Vec<Period>,
    /// The period in progress at `now` (possibly empty, when an event happened at `now`).
    last: Period,
    answered_at: Option<Timestamp>,
    resolved_since: Option<Timestamp>,
    now: Timestamp,
}

impl Walk {
    fn through(history: &[TicketEvent], now: Timestamp) -> Option<Walk> {
        let (first, rest) = history.split_first()?;
        let Change::Created { priority } = first.change else { return None };
        // Measured from creation even if asked about an earlier instant.
        let now = now.max(first.at);
        let mut walk = Walk {
            priority,
            periods: Vec::new(),
            last: Period { start: first.at, end: now, status: TicketStatus::New, answered: false },
            answered_at: None,
            resolved_since: None,
            now,
        };
        for event in rest.iter().take_while(|event| event.at <= now) {
            // An event stamped before its predecessor (clock skew between writers) happened, for
            // the clocks, at the same instant as it.
            let at = event.at.max(walk.last.start);
            walk.periods.push(Period { end: at, ..walk.last });
            walk.last.start = at;
            walk.apply(event.change, at);
        }
        walk.periods.push(walk.last);
        Some(walk)
    }

    fn apply(&mut self, change: Change, at: Timestamp) {
        use TicketStatus::{Closed, Resolved};
        match change {
            Change::Created { .. } => {}
            Change::Priority(priority) => self.priority = priority,
            Change::StaffPublicReply => self.answer(at),
            Change::Status(status) => {
                let was_done = matches!(self.last.status, Resolved | Closed);
                let done = matches!(status, Resolved | Closed);
                if done {
                    self.answer(at);
                }
                if done && !was_done {
                    self.resolved_since = Some(at);
                } else if !done {
                    self.resolved_since = None;
                }
                self.last.status = status;
            }
        }
    }

    fn answer(&mut self, at: Timestamp) {
        if !self.last.answered {
            self.last.answered = true;
            self.answered_at = Some(at);
        }
    }

    fn stopped_at(&self, kind: ClockKind) -> Option<Timestamp> {
        match kind {
            ClockKind::Response => self.answered_at,
            ClockKind::Resolution => self.resolved_since,
        }
    }

    /// The clock of `kind`, counting the working time of the periods in which it ran.
    fn clock(&self, kind: ClockKind, target: SignedDuration, policy: &SlaPolicy) -> Clock {
        let calendar = &policy.calendar;
        let stopped_at = self.stopped_at(kind);
        let running = stopped_at.is_none() && self.last.counts_for(kind);
        let mut elapsed = SignedDuration::ZERO;
        let mut reached_at = None;
        for period in self.periods.iter().filter(|period| period.counts_for(kind)) {
            let worked = calendar.working_time_between(period.start, period.end);
            if reached_at.is_none() && elapsed < target && target <= elapsed + worked {
                reached_at = calendar.add_working_time(period.start, target - elapsed);
            }
            elapsed += worked;
        }
        let remaining = target - elapsed;
        let state = if elapsed > target {
            ClockState::Breached
        } else if stopped_at.is_some() {
            ClockState::Met
        } else if elapsed.as_secs_f64() >= policy.warn_at * target.as_secs_f64() {
            ClockState::Warning
        } else if running {
            ClockState::Running
        } else {
            ClockState::Paused
        };
        let due_at = match (running, reached_at) {
            (false, _) => None,
            (true, Some(reached_at)) => Some(reached_at),
            (true, None) => calendar.add_working_time(self.now, remaining),
        };
        Clock { target, elapsed, remaining, state, due_at, stopped_at }
    }
}

/// How loud an alarm is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmLevel {
    Warning,
    Breach,
}

impl AlarmLevel {
    /// The name stored and sent on the wire, as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmLevel::Warning => "warning",
            AlarmLevel::Breach => "breach",
        }
    }
}

/// An alarm a ticket's clock calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SlaAlarm {
    pub clock: ClockKind,
    pub level: AlarmLevel,
}

/// The alarms `clocks` call for: a warning for a clock in [`ClockState::Warning`], a breach for
/// a breached one, response first. Only clocks that have not stopped: an alarm asks someone to
/// act, and a response given late or a ticket resolved late leaves nothing to act on (reports
/// show it). Only the current level: a warning sent after the breach would be noise. The server
/// sends each (ticket, clock, level) once, so a clock back under its target after a priority
/// change does not warn twice.
pub fn alarms(clocks: &SlaClocks) -> Vec<SlaAlarm> {
    [(ClockKind::Response, &clocks.response), (ClockKind::Resolution, &clocks.resolution)]
        .into_iter()
        .filter(|(_, clock)| clock.stopped_at.is_none())
        .filter_map(|(kind, clock)| {
            let level = match clock.state {
                ClockState::Warning => AlarmLevel::Warning,
                ClockState::Breached => AlarmLevel::Breach,
                ClockState::Met | ClockState::Running | ClockState::Paused => return None,
            };
            Some(SlaAlarm { clock: kind, level })
        })
        .collect()
}

#[cfg(test)]
mod tests;
