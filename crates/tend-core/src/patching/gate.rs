//! After the update: the post-update health gate, and when a host that needs it reboots.
//!
//! A host that applied a patch set counts as patched only once it has shown it is well: it
//! reported again after the update (after its reboot, when it rebooted, with a boot time that
//! proves the reboot happened), and no problem fires on it that was not there when the work
//! began. It has the policy's health gate time for that; past it, the update failed on the host
//! and the rollout halts. A problem already firing before the update is no verdict on the
//! update and is left out.
//!
//! Reboots are spread over the maintenance window when several hosts share it, so that a
//! client's servers do not all go down at the same minute, and each leaves the health gate's
//! time before the window closes for the host to come back.
//!
//! Must not: read the clock, queue reboots or judge authorizations (the server does).

use jiff::{SignedDuration, Timestamp};

use crate::maintenance::Occurrence;

/// A problem firing on the host now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firing {
    /// What fires, for people: the check and its target.
    pub name: String,
    pub opened_at: Timestamp,
}

/// What the server knows of a host after its update.
#[derive(Debug, Clone, PartialEq)]
pub struct AfterUpdate<'a> {
    /// When the work on the host began (its update job was queued): problems opened before are
    /// not the update's.
    pub began: Timestamp,
    /// When the last step ended: the update job, or the reboot job after it. The gate's time
    /// runs from here.
    pub since: Timestamp,
    /// A report counts if it was collected after this instant: when the agent took the last
    /// step's job. (Not `since`: the agent collects its inventory again as soon as the package
    /// manager is done, which may be before the server records the job as ended, and its clock
    /// is not the server's; the job's own run lies between the two.)
    pub fresh_after: Timestamp,
    /// Set when the host was rebooted: it must have booted after this instant.
    pub rebooted_after: Option<Timestamp>,
    pub last_report_at: Option<Timestamp>,
    /// The boot time in the host's latest facts.
    pub booted_at: Option<Timestamp>,
    /// Problems (warning or worse) firing on the host now.
    pub firing: &'a [Firing],
}

/// The gate's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The host is well: the update succeeded on it.
    Healthy,
    /// Not yet: `why`, and the gate closes at `until`.
    Waiting { until: Timestamp, why: String },
    /// The gate closed on `reason`: the update failed on the host.
    Unhealthy { reason: String },
}

/// The health gate of `host` at `now`, with `gate` as the policy's time.
pub fn health_gate(host: &AfterUpdate<'_>, gate: SignedDuration, now: Timestamp) -> Verdict {
    let until = host.since.checked_add(gate).unwrap_or(Timestamp::MAX);
    let why = match not_yet_well(host) {
        None => return Verdict::Healthy,
        Some(why) => why,
    };
    if now < until {
        Verdict::Waiting { until, why }
    } else {
        Verdict::Unhealthy { reason: format!("post-update health gate closed after {gate:#}: {why}") }
    }
}

/// Why the host has not shown it is well yet, if it has not.
fn not_yet_well(host: &AfterUpdate<'_>) -> Option<String> {
    if let Some(asked) = host.rebooted_after
        && host.booted_at.is_none_or(|booted| booted <= asked)
    {
        return Some(format!("the host has not come back from its reboot of {asked}"));
    }
    if host.last_report_at.is_none_or(|at| at <= host.fresh_after) {
        return Some(format!("the host has not reported since {}", host.fresh_after));
    }
    let mut new: Vec<&Firing> = host.firing.iter().filter(|alert| alert.opened_at >= host.began).collect();
    if new.is_empty() {
        return None;
    }
    new.sort_by(|a, b| a.opened_at.cmp(&b.opened_at).then_with(|| a.name.cmp(&b.name)));
    let names: Vec<String> = new.iter().map(|alert| format!("{} (since {})", alert.name, alert.opened_at)).collect();
    Some(format!("new problems fire: {}", names.join(", ")))
}

/// When host number `index` of the `count` sharing the `window` occurrence reboots: evenly
/// spread from the window's start over the part of it that leaves the last one `gate` to come
/// back (all at the start when the window is shorter than the gate).
pub fn reboot_slot(window: &Occurrence, index: usize, count: usize, gate: SignedDuration) -> Timestamp {
    let usable = (window.end.duration_since(window.start) - gate).max(SignedDuration::ZERO);
    let count = count.max(1);
    let index = index.min(count - 1);
    // Whole seconds: a slot is a schedule for people too, and i128 keeps the product exact.
    let offset = usable.as_secs() as i128 * index as i128 / count as i128;
    window.start.checked_add(SignedDuration::from_secs(offset as i64)).unwrap_or(window.start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    const GATE: SignedDuration = SignedDuration::from_mins(30);

    fn host<'a>(firing: &'a [Firing]) -> AfterUpdate<'a> {
        AfterUpdate {
            began: at("2026-11-10T22:00:00Z"),
            since: at("2026-11-10T22:05:00Z"),
            fresh_after: at("2026-11-10T22:01:00Z"),
            rebooted_after: None,
            last_report_at: Some(at("2026-11-10T22:06:00Z")),
            booted_at: Some(at("2026-10-01T08:00:00Z")),
            firing,
        }
    }

    fn firing(name: &str, opened_at: &str) -> Firing {
        Firing { name: name.into(), opened_at: at(opened_at) }
    }

    #[test]
    fn a_host_that_reported_with_no_new_problem_is_healthy() {
        let old = [firing("disk_usage /var", "2026-11-09T10:00:00Z")];
        assert_eq!(health_gate(&host(&old), GATE, at("2026-11-10T22:06:30Z")), Verdict::Healthy);
    }

    #[test]
    fn a_host_that_has_not_reported_since_waits_then_fails() {
        let mut silent = host(&[]);
        silent.last_report_at = Some(at("2026-11-10T22:01:00Z"));
        let waiting = health_gate(&silent, GATE, at("2026-11-10T22:20:00Z"));
        let Verdict::Waiting { until, why } = waiting else { panic!("{waiting:?}") };
        assert_eq!(until, at("2026-11-10T22:35:00Z"));
        assert!(why.contains("not reported since"), "{why}");
        // The instant the gate closes, it fails.
        let Verdict::Unhealthy { reason } = health_gate(&silent, GATE, until) else { panic!() };
        assert!(reason.starts_with("post-update health gate closed after 30m"), "{reason}");
        silent.last_report_at = None;
        assert!(matches!(health_gate(&silent, GATE, until), Verdict::Unhealthy { .. }));
    }

    #[test]
    fn a_new_problem_keeps_the_gate_shut_and_is_named() {
        let new = [firing("service_failed nginx", "2026-11-10T22:05:30Z"), firing("cpu", "2026-11-10T22:00:00Z")];
        let Verdict::Unhealthy { reason } = health_gate(&host(&new), GATE, at("2026-11-10T22:40:00Z")) else {
            panic!()
        };
        // Both opened at or after the work began, the earliest first.
        assert!(
            reason.ends_with(
                "new problems fire: cpu (since 2026-11-10T22:00:00Z), service_failed nginx (since 2026-11-10T22:05:30Z)"
            ),
            "{reason}"
        );
        assert!(matches!(health_gate(&host(&new), GATE, at("2026-11-10T22:10:00Z")), Verdict::Waiting { .. }));
    }

    #[test]
    fn a_rebooted_host_must_have_booted_after_the_reboot() {
        let mut rebooted = host(&[]);
        rebooted.rebooted_after = Some(at("2026-11-10T22:05:00Z"));
        let Verdict::Waiting { why, .. } = health_gate(&rebooted, GATE, at("2026-11-10T22:07:00Z")) else { panic!() };
        assert!(why.contains("has not come back from its reboot"), "{why}");
        rebooted.booted_at = Some(at("2026-11-10T22:05:40Z"));
        assert_eq!(health_gate(&rebooted, GATE, at("2026-11-10T22:07:00Z")), Verdict::Healthy);
        rebooted.booted_at = None;
        assert!(matches!(health_gate(&rebooted, GATE, at("2026-11-10T23:00:00Z")), Verdict::Unhealthy { .. }));
    }

    #[test]
    fn a_report_collected_while_the_job_ran_counts() {
        // Collected after the agent took the job, before the server heard it ended.
        let early = AfterUpdate { last_report_at: Some(at("2026-11-10T22:04:59Z")), ..host(&[]) };
        assert_eq!(health_gate(&early, GATE, at("2026-11-10T22:05:01Z")), Verdict::Healthy);
    }

    #[test]
    fn a_zero_gate_judges_at_once() {
        let silent = AfterUpdate { last_report_at: None, ..host(&[]) };
        assert!(matches!(health_gate(&silent, SignedDuration::ZERO, silent.since), Verdict::Unhealthy { .. }));
        assert_eq!(health_gate(&host(&[]), SignedDuration::ZERO, at("2026-11-10T22:06:00Z")), Verdict::Healthy);
    }

    #[test]
    fn reboots_spread_over_the_window_leaving_the_gate_at_its_end() {
        let window = Occurrence { start: at("2026-11-10T22:00:00Z"), end: at("2026-11-11T02:00:00Z") };
        let slots: Vec<Timestamp> = (0..4).map(|i| reboot_slot(&window, i, 4, GATE)).collect();
        // 3h30 usable, in four slots of 52m30.
        assert_eq!(
            slots,
            ["2026-11-10T22:00:00Z", "2026-11-10T22:52:30Z", "2026-11-10T23:45:00Z", "2026-11-11T00:37:30Z"]
                .map(at)
                .to_vec()
        );
        assert!(slots[3] + GATE < window.end);
        assert_eq!(reboot_slot(&window, 0, 1, GATE), window.start);
        // Out of range and absurd counts stay inside the window.
        assert_eq!(reboot_slot(&window, 9, 4, GATE), slots[3]);
        assert_eq!(reboot_slot(&window, 0, 0, GATE), window.start);
        let short = Occurrence { start: window.start, end: window.start + SignedDuration::from_mins(10) };
        assert_eq!(reboot_slot(&short, 3, 4, GATE), window.start);
    }
}
