//! Classification of a metric's value into a severity, for checks that compare a number with
//! limits (disk usage, free memory, certificate days left).
//!
//! Owns the limits and their hysteresis. Must not judge time: how long a severity must last
//! before it fires is the alert policy's business, in `observe`.

use serde::{Deserialize, Serialize};

use super::track::Severity;

/// Which side of a limit is a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Values at or above a limit are a problem (disk usage, load).
    Above,
    /// Values at or below a limit are a problem (free memory, days until a certificate expires).
    Below,
}

/// The limits of a metric check. A missing limit means that severity is never raised.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    pub warning: Option<f64>,
    pub critical: Option<f64>,
    pub direction: Direction,
    /// How far back past a limit a value must come before the severity it raised is left, so a
    /// value hovering at the limit does not toggle the alert on every sample. Negative counts
    /// as zero.
    pub hysteresis: f64,
}

/// The severity of `value`, given the severity the check currently has: a severity already
/// held is kept until the value comes back `hysteresis` past its limit. With disk usage warning
/// at 90 and hysteresis 2, 90 raises a warning and it holds down to 88, clearing below it.
///
/// A value that is not a number says nothing about the target, so it keeps `current`.
pub fn classify(value: f64, threshold: &Threshold, current: Option<Severity>) -> Option<Severity> {
    if !value.is_finite() {
        return current;
    }
    [(Severity::Critical, threshold.critical), (Severity::Warning, threshold.warning)]
        .into_iter()
        .find(|&(severity, limit)| {
            let held = current.is_some_and(|current| current >= severity);
            limit.is_some_and(|limit| reaches(value, limit, held, threshold))
        })
        .map(|(severity, _)| severity)
}

/// Whether `value` is at or past `limit`; a limit already `held` moves back by the hysteresis.
fn reaches(value: f64, limit: f64, held: bool, threshold: &Threshold) -> bool {
    // `max` also turns a NaN hysteresis into zero.
    let slack = if held { threshold.hysteresis.max(0.0) } else { 0.0 };
    match threshold.direction {
        Direction::Above => value >= limit - slack,
        Direction::Below => value <= limit + slack,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: Option<Severity> = Some(Severity::Warning);
    const C: Option<Severity> = Some(Severity::Critical);

    /// Disk usage in percent: warning at 90, critical at 95, hysteresis 2.
    const DISK: Threshold =
        Threshold { warning: Some(90.0), critical: Some(95.0), direction: Direction::Above, hysteresis: 2.0 };
    /// Free memory in percent: warning at 10, critical at 5, hysteresis 2.
    const FREE_MEMORY: Threshold =
        Threshold { warning: Some(10.0), critical: Some(5.0), direction: Direction::Below, hysteresis: 2.0 };

    fn check_table(threshold: &Threshold, cases: &[(f64, Option<Severity>, Option<Severity>)]) {
        for &(value, current, expected) in cases {
            assert_eq!(classify(value, threshold, current), expected, "value {value} while {current:?}");
        }
    }

    #[test]
    fn above_rises_at_the_limits() {
        check_table(
            &DISK,
            &[
                // (value, current, expected)
                (0.0, None, None),
                (89.9, None, None),
                (90.0, None, W),
                (94.9, None, W),
                (95.0, None, C),
                (100.0, None, C),
                (95.0, W, C),
            ],
        );
    }

    #[test]
    fn above_falls_only_past_the_hysteresis() {
        check_table(
            &DISK,
            &[
                // Warning holds down to 88 and clears below it.
                (89.0, W, W),
                (88.0, W, W),
                (87.9, W, None),
                // Critical holds down to 93, then warning holds down to 88.
                (94.0, C, C),
                (93.0, C, C),
                (92.9, C, W),
                (88.0, C, W),
                (87.9, C, None),
                // Without the severity held, no slack: 93 is only a warning.
                (93.0, W, W),
                (89.0, None, None),
            ],
        );
    }

    #[test]
    fn below_mirrors_above() {
        check_table(
            &FREE_MEMORY,
            &[
                (50.0, None, None),
                (10.1, None, None),
                (10.0, None, W),
                (5.1, None, W),
                (5.0, None, C),
                (0.0, W, C),
                // Clearing: warning holds up to 12, critical up to 7.
                (12.0, W, W),
                (12.1, W, None),
                (7.0, C, C),
                (7.1, C, W),
                (12.1, C, None),
                (11.0, None, None),
            ],
        );
    }

    #[test]
    fn missing_limits_are_never_raised() {
        let critical_only = Threshold { warning: None, ..DISK };
        check_table(&critical_only, &[(92.0, None, None), (95.0, None, C), (93.0, C, C), (92.9, C, None)]);
        let warning_only = Threshold { critical: None, ..DISK };
        check_table(&warning_only, &[(100.0, None, W), (100.0, C, W), (88.0, C, W), (87.9, W, None)]);
        let none = Threshold { warning: None, critical: None, ..DISK };
        check_table(&none, &[(f64::MAX, None, None), (100.0, C, None)]);
    }

    #[test]
    fn a_value_that_is_no_number_keeps_the_current_severity() {
        for current in [None, W, C] {
            for value in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                assert_eq!(classify(value, &DISK, current), current, "{value} while {current:?}");
            }
        }
    }

    #[test]
    fn negative_or_missing_hysteresis_counts_as_zero() {
        for hysteresis in [0.0, -5.0, f64::NAN] {
            let sharp = Threshold { hysteresis, ..DISK };
            check_table(&sharp, &[(90.0, W, W), (89.9, W, None), (95.0, C, C), (94.9, C, W)]);
        }
    }
}
