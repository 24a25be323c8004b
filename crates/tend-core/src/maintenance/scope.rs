//! What a maintenance window covers, and whether any window silences an alert right now.
//!
//! Owns the coverage rule only; the server stores windows and builds [`Target`]s from alerts.
//! Must not decide what happens to a suppressed alert beyond "do not notify": it is still
//! recorded.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::schedule::WindowSchedule;

/// Why a window exists. Both suppress alike; the distinction is for reports to the customer
/// (planned work is announced ahead, emergency work is explained afterwards).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    Planned,
    Emergency,
}

/// What a window covers. Each field narrows it; a field left out means "all": a window for a
/// client covers all its sites, hosts and checks; one naming a check covers only that check
/// (on the hosts the other fields select). A scope with every field empty covers everything
/// the organisation monitors.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WindowScope {
    pub client_id: Option<i64>,
    pub site_id: Option<i64>,
    pub host_id: Option<i64>,
    pub check: Option<String>,
}

/// What an alert is about: the check that fired, where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub client_id: i64,
    pub site_id: Option<i64>,
    pub host_id: Option<i64>,
    pub check: String,
}

impl WindowScope {
    /// Whether every field the scope names matches the target. A scope naming a site or host
    /// does not cover a target that has none (a client-wide check), since the window was meant
    /// for one machine only.
    pub fn covers(&self, target: &Target) -> bool {
        self.client_id.is_none_or(|id| id == target.client_id)
            && self.site_id.is_none_or(|id| target.site_id == Some(id))
            && self.host_id.is_none_or(|id| target.host_id == Some(id))
            && self.check.as_ref().is_none_or(|check| *check == target.check)
    }
}

/// Whether an alert on `target` at `at` should be recorded without notifying anyone: some
/// window covering it is open.
pub fn suppresses(windows: &[(WindowScope, WindowSchedule)], target: &Target, at: Timestamp) -> bool {
    windows.iter().any(|(scope, schedule)| scope.covers(target) && schedule.active_at(at).is_some())
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;
    use jiff::civil::date;

    use super::*;

    fn target(client_id: i64, site_id: Option<i64>, host_id: Option<i64>, check: &str) -> Target {
        Target { client_id, site_id, host_id, check: check.into() }
    }

    fn scope(client_id: Option<i64>, site_id: Option<i64>, host_id: Option<i64>, check: Option<&str>) -> WindowScope {
        WindowScope { client_id, site_id, host_id, check: check.map(Into::into) }
    }

    #[test]
    fn covers_table() {
        let disk_on_host_7 = target(1, Some(3), Some(7), "disk");
        let client_check = target(1, None, None, "backup");
        let cases = [
            // (scope, target, covered)
            (scope(None, None, None, None), &disk_on_host_7, true),
            (scope(Some(1), None, None, None), &disk_on_host_7, true),
            (scope(Some(2), None, None, None), &disk_on_host_7, false),
            (scope(Some(1), Some(3), None, None), &disk_on_host_7, true),
            (scope(Some(1), Some(4), None, None), &disk_on_host_7, false),
            (scope(Some(1), Some(3), Some(7), None), &disk_on_host_7, true),
            (scope(Some(1), Some(3), Some(8), None), &disk_on_host_7, false),
            (scope(None, None, Some(7), None), &disk_on_host_7, true),
            (scope(Some(1), None, None, Some("disk")), &disk_on_host_7, true),
            (scope(Some(1), None, None, Some("load")), &disk_on_host_7, false),
            (scope(Some(1), None, Some(7), Some("disk")), &disk_on_host_7, true),
            (scope(Some(1), None, Some(7), Some("load")), &disk_on_host_7, false),
            (scope(None, None, None, Some("disk")), &disk_on_host_7, true),
            // A host's or site's window says nothing about checks that belong to no host.
            (scope(Some(1), None, None, None), &client_check, true),
            (scope(Some(1), Some(3), None, None), &client_check, false),
            (scope(Some(1), None, Some(7), None), &client_check, false),
            (scope(Some(1), None, None, Some("backup")), &client_check, true),
        ];
        for (scope, target, expected) in cases {
            assert_eq!(scope.covers(target), expected, "{scope:?} covering {target:?}");
        }
    }

    #[test]
    fn suppresses_when_a_covering_window_is_open() {
        let at = |hour| date(2025, 6, 2).at(hour, 0, 0, 0).to_zoned(jiff::tz::TimeZone::UTC).unwrap().timestamp();
        let once = |hour| {
            let start = date(2025, 6, 2).at(hour, 0, 0, 0);
            WindowSchedule::new(start, SignedDuration::from_hours(2), "UTC", None).unwrap()
        };
        let windows = [
            (scope(Some(1), None, Some(7), None), once(10)), // host 7: 10:00–12:00
            (scope(Some(2), None, None, None), once(14)),    // another client: 14:00–16:00
            (scope(Some(1), None, None, Some("disk")), once(20)), // disk checks: 20:00–22:00
        ];
        let disk_7 = target(1, Some(3), Some(7), "disk");
        let load_8 = target(1, Some(3), Some(8), "load");
        let cases = [
            // (target, hour, suppressed)
            (&disk_7, 9, false),
            (&disk_7, 10, true),
            (&disk_7, 11, true),
            (&disk_7, 12, false),
            (&load_8, 11, false),
            (&disk_7, 15, false),
            (&disk_7, 21, true),
            (&load_8, 21, false),
            (&disk_7, 22, false),
        ];
        for (target, hour, expected) in cases {
            assert_eq!(suppresses(&windows, target, at(hour)), expected, "{target:?} at {hour}:00");
        }
        assert!(!suppresses(&[], &disk_7, at(11)), "no windows, no silence");
    }
}
