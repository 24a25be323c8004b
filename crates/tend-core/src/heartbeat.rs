//! Whether a host's agent is reporting: up, overdue, stopped.

use jiff::{SignedDuration, Timestamp};

/// Extra time on top of two missed intervals before a host counts as overdue: absorbs clock
/// skew, a slow collection cycle and a retried request.
pub const GRACE: SignedDuration = SignedDuration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostStatus {
    Pending,
    Up,
    Overdue,
    Stopped,
    Revoked,
}

/// What the server knows of a host's agent at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    pub last_seen: Option<Timestamp>,
    /// The last report said the agent was stopping on purpose.
    pub stopped: bool,
    pub revoked: bool,
    pub interval_secs: u32,
}

impl Heartbeat {
    /// The latest time a next report may arrive before the host is overdue.
    pub fn overdue_after(&self) -> Option<Timestamp> {
        let allowed = SignedDuration::from_secs(2 * i64::from(self.interval_secs)) + GRACE;
        self.last_seen.map(|seen| seen.saturating_add(allowed).expect("duration is finite"))
    }

    pub fn status(&self, now: Timestamp) -> HostStatus {
        if self.revoked {
            return HostStatus::Revoked;
        }
        match self.overdue_after() {
            None => HostStatus::Pending,
            Some(_) if self.stopped => HostStatus::Stopped,
            Some(deadline) if now > deadline => HostStatus::Overdue,
            Some(_) => HostStatus::Up,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    fn beat(last_seen: Option<i64>, stopped: bool, revoked: bool) -> Heartbeat {
        Heartbeat { last_seen: last_seen.map(at), stopped, revoked, interval_secs: 60 }
    }

    #[test]
    fn status_table() {
        let cases = [
            // (last seen, stopped, revoked, now, expected)
            (None, false, false, 0, HostStatus::Pending),
            (Some(0), false, false, 0, HostStatus::Up),
            (Some(0), false, false, 59, HostStatus::Up),
            (Some(0), false, false, 150, HostStatus::Up),
            (Some(0), false, false, 151, HostStatus::Overdue),
            (Some(0), false, false, 86_400, HostStatus::Overdue),
            (Some(0), true, false, 86_400, HostStatus::Stopped),
            (Some(0), true, false, 1, HostStatus::Stopped),
            (Some(0), false, true, 1, HostStatus::Revoked),
            (None, false, true, 1, HostStatus::Revoked),
            // A report from the future (agent clock ahead) is simply up.
            (Some(100), false, false, 0, HostStatus::Up),
        ];
        for (seen, stopped, revoked, now, expected) in cases {
            let got = beat(seen, stopped, revoked).status(at(now));
            assert_eq!(got, expected, "seen={seen:?} stopped={stopped} now={now}");
        }
    }

    #[test]
    fn the_deadline_scales_with_the_interval() {
        let mut hb = beat(Some(0), false, false);
        hb.interval_secs = 10;
        assert_eq!(hb.status(at(50)), HostStatus::Up);
        assert_eq!(hb.status(at(51)), HostStatus::Overdue);
    }
}
