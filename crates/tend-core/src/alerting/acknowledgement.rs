//! Acknowledgements: a person taking an alert on, which holds back reminders and escalation
//! until it lapses or the problem ends.
//!
//! Owns when an alert can be acknowledged and when an acknowledgement holds. Must not decide
//! who may acknowledge (that is the tenancy's authorization) nor notify anyone.

use jiff::Timestamp;

use super::track::{Acknowledgement, AlertEvent, AlertState, AlertTrack};
use crate::Error;

impl Acknowledgement {
    /// Whether it still holds at `now`: until its `until`, exclusive, or for good without one.
    pub fn holds_at(&self, now: Timestamp) -> bool {
        self.until.is_none_or(|until| now < until)
    }
}

impl AlertTrack {
    /// Whether someone has taken the alert on at `now`. An acknowledgement past its `until`
    /// no longer counts even before [`expire_acknowledgement`] removes it.
    pub fn is_acknowledged(&self, now: Timestamp) -> bool {
        self.acknowledgement.as_ref().is_some_and(|ack| ack.holds_at(now))
    }
}

/// Records `ack` on an alert that has something to take on: pending, firing or flapping. A new
/// acknowledgement replaces an earlier one, so a colleague can take over or extend it.
pub fn acknowledge(track: &AlertTrack, ack: Acknowledgement) -> Result<(AlertTrack, Vec<AlertEvent>), Error> {
    match track.state {
        AlertState::Ok => return Err(Error::NothingToAcknowledge),
        AlertState::Pending | AlertState::Firing | AlertState::Flapping => {}
    }
    if !ack.holds_at(ack.at) {
        return Err(Error::Invalid {
            field: "until",
            reason: "an acknowledgement must last beyond the moment it is given".into(),
        });
    }
    let mut next = track.clone();
    next.acknowledgement = Some(ack);
    Ok((next, vec![AlertEvent::Acknowledged]))
}

/// Removes an acknowledgement whose `until` has come, so reminders and escalation resume.
pub fn expire_acknowledgement(track: &AlertTrack, now: Timestamp) -> (AlertTrack, Vec<AlertEvent>) {
    match &track.acknowledgement {
        Some(ack) if !ack.holds_at(now) => {
            let mut next = track.clone();
            next.acknowledgement = None;
            (next, vec![AlertEvent::AcknowledgementExpired])
        }
        _ => (track.clone(), Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::testing::{CRIT, HEALTHY, Seen, WARN, after, at, mins, walk};
    use crate::alerting::{AlertEvent as E, AlertPolicy, AlertState as S, Severity};

    fn ack(minute: i64, until: Option<i64>) -> Acknowledgement {
        Acknowledgement { by: 7, comment: "on it".into(), at: at(minute), until: until.map(at) }
    }

    fn toggling(minutes: std::ops::Range<i64>) -> Vec<Seen> {
        minutes.map(|minute| (minute, if minute % 2 == 0 { WARN } else { HEALTHY })).collect()
    }

    #[test]
    fn only_an_open_alert_can_be_acknowledged() {
        let policy = AlertPolicy::default();
        #[rustfmt::skip]
        let cases: Vec<(&str, Vec<Seen>, Result<S, Error>)> = vec![
            // (what, history, outcome)
            ("never seen", vec![], Err(Error::NothingToAcknowledge)),
            ("healthy", vec![(0, HEALTHY)], Err(Error::NothingToAcknowledge)),
            ("resolved", vec![(0, WARN), (2, WARN), (3, HEALTHY), (5, HEALTHY)], Err(Error::NothingToAcknowledge)),
            ("pending", vec![(0, WARN)], Ok(S::Pending)),
            ("firing", vec![(0, WARN), (2, WARN)], Ok(S::Firing)),
            ("firing, recovering", vec![(0, WARN), (2, WARN), (3, HEALTHY)], Ok(S::Firing)),
            ("flapping", toggling(0..6), Ok(S::Flapping)),
        ];
        for (what, history, outcome) in cases {
            let track = after(&policy, &history);
            let got = acknowledge(&track, ack(10, None));
            let expected = outcome.map(|state| {
                let acknowledged = AlertTrack { acknowledgement: Some(ack(10, None)), ..track.clone() };
                assert_eq!(acknowledged.state, state, "{what}");
                (acknowledged, vec![E::Acknowledged])
            });
            assert_eq!(got, expected, "{what}");
        }
    }

    #[test]
    fn an_acknowledgement_must_last() {
        let firing = after(&AlertPolicy::default(), &[(0, CRIT), (2, CRIT)]);
        for until in [Some(9), Some(10)] {
            let err = acknowledge(&firing, ack(10, until)).unwrap_err();
            assert!(matches!(err, Error::Invalid { field: "until", .. }), "until {until:?}: {err}");
        }
        assert!(acknowledge(&firing, ack(10, Some(11))).is_ok());
    }

    #[test]
    fn a_new_acknowledgement_replaces_the_last() {
        let firing = after(&AlertPolicy::default(), &[(0, CRIT), (2, CRIT)]);
        let first = acknowledge(&firing, ack(3, Some(30))).unwrap().0;
        let colleague = Acknowledgement { by: 8, comment: "taking over".into(), at: at(20), until: None };
        let (second, events) = acknowledge(&first, colleague.clone()).unwrap();
        assert_eq!((second.acknowledgement, events), (Some(colleague), vec![E::Acknowledged]));
    }

    #[test]
    fn an_acknowledgement_holds_until_its_until() {
        let firing = after(&AlertPolicy::default(), &[(0, CRIT), (2, CRIT)]);
        let for_good = acknowledge(&firing, ack(3, None)).unwrap().0;
        let for_an_hour = acknowledge(&firing, ack(3, Some(63))).unwrap().0;
        #[rustfmt::skip]
        let cases = [
            // (track, now, acknowledged, expiry events)
            (&firing, 3, false, vec![]),
            (&for_good, 3, true, vec![]),
            (&for_good, 100_000, true, vec![]),
            (&for_an_hour, 3, true, vec![]),
            (&for_an_hour, 62, true, vec![]),
            (&for_an_hour, 63, false, vec![E::AcknowledgementExpired]),
            (&for_an_hour, 600, false, vec![E::AcknowledgementExpired]),
        ];
        for (track, now, acknowledged, events) in cases {
            assert_eq!(track.is_acknowledged(at(now)), acknowledged, "at {now}: {track:?}");
            let (next, got) = expire_acknowledgement(track, at(now));
            assert_eq!(got, events, "expiry at {now}");
            let kept = if events.is_empty() { track.acknowledgement.clone() } else { None };
            assert_eq!(next, AlertTrack { acknowledgement: kept, ..(*track).clone() }, "at {now}");
        }
    }

    #[test]
    fn an_acknowledgement_ends_with_its_problem() {
        let policy = AlertPolicy::default();
        let firing = acknowledge(&after(&policy, &[(0, WARN), (2, WARN)]), ack(3, None)).unwrap().0;
        let resolved = walk(
            &policy,
            firing,
            vec![
                // Escalation and recovery keep it; resolution ends it.
                (3, CRIT, S::Firing, vec![E::Escalated { from: Severity::Warning, to: Severity::Critical }]),
                (4, HEALTHY, S::Firing, vec![]),
                (6, HEALTHY, S::Ok, vec![E::Resolved { duration: mins(4) }]),
            ],
        );
        assert_eq!(resolved.acknowledgement, None);

        let pending = acknowledge(&after(&policy, &[(0, WARN)]), ack(1, None)).unwrap().0;
        let fired =
            walk(&policy, pending.clone(), vec![(2, WARN, S::Firing, vec![E::Firing { severity: Severity::Warning }])]);
        assert!(fired.is_acknowledged(at(2)), "taken on while pending, still taken on when firing");
        let cleared = walk(&policy, pending, vec![(1, HEALTHY, S::Ok, vec![])]);
        assert_eq!(cleared.acknowledgement, None, "a pending problem that clears ends it too");
    }

    #[test]
    fn an_acknowledgement_outlives_flapping_only_if_the_problem_does() {
        let policy = AlertPolicy::default();
        let flapping = acknowledge(&after(&policy, &toggling(0..6)), ack(5, None)).unwrap().0;
        assert_eq!(flapping.state, S::Flapping);
        let settled_healthy = walk(
            &policy,
            flapping.clone(),
            vec![(6, HEALTHY, S::Flapping, vec![]), (35, HEALTHY, S::Ok, vec![E::FlappingStopped])],
        );
        assert_eq!(settled_healthy.acknowledgement, None);
        // Steady problem from minute 6: pending, firing at 8 (the last change), settled at 38.
        let settled_firing = walk(
            &policy,
            flapping,
            vec![
                (6, WARN, S::Flapping, vec![]),
                (8, WARN, S::Flapping, vec![]),
                (38, WARN, S::Firing, vec![E::FlappingStopped, E::Firing { severity: Severity::Warning }]),
            ],
        );
        assert!(settled_firing.is_acknowledged(at(38)));
    }
}
