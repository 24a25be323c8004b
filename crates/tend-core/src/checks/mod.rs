//! The check catalogue: which checks every host gets without anyone configuring them, how a
//! client, site, host group or host overrides their settings (and why a host ends up with the
//! values it has), and what a reading means against those settings: state checks judged from
//! inventory, the values of metric checks, the disk-full forecast.
//!
//! This module owns what a check *is* and whether a target is healthy. It must not decide what
//! happens next: opening, escalating and resolving alerts belong to `alerting`, muting to
//! `maintenance`. Like the whole crate it never reads the clock; `now` is an argument.

mod catalogue;
mod forecast;
mod inherit;
mod metric;
mod state;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use catalogue::default_checks;
pub use forecast::{forecast_finding, forecast_full};
pub use inherit::{Change, ExplainStep, Explained, HostContext, Layer, Override, PartialSettings, effective};
pub use metric::metric_value;
pub use state::{Inventory, evaluate_inventory, evaluated_checks};

/// One check of the catalogue, as every new host gets it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckDefinition {
    /// Snake case, stable: overrides and alerts refer to it, e.g. `disk_usage`.
    pub name: &'static str,
    /// What the check watches and what its thresholds mean, for technicians.
    pub description: &'static str,
    pub kind: CheckKind,
    pub defaults: CheckSettings,
}

/// Where a check's readings come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CheckKind {
    /// A value per target computed from the report's samples by [`metric_value`] and compared
    /// with the thresholds, at or above them being worse.
    Metric {
        /// The name of the computed value, e.g. `fs_used_percent`.
        metric: String,
        /// The sample labels that name a target: `["mountpoint"]` makes one alert per
        /// filesystem; empty means one per host.
        labels_of_target: Vec<String>,
    },
    /// Judged from the inventory sections by [`evaluate_inventory`].
    State,
    /// Whether the agent reports on time: the heartbeat status.
    Heartbeat,
    /// A trend over the stored series, judged by [`forecast_finding`].
    Forecast,
    /// Judged from the host's backup runs by [`crate::backups`]; its thresholds are the server's
    /// backup policy, not the check's settings.
    Backup,
}

/// The settings of one check for one host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckSettings {
    pub enabled: bool,
    /// Threshold of a warning; its direction (at or above, at or below) is the check's, as its
    /// description says.
    pub warning: Option<f64>,
    pub critical: Option<f64>,
    /// How long a problem must last before it is one: absorbs spikes.
    pub pending_for_secs: u64,
    /// Further numbers a check reads, e.g. `resync_stuck_minutes`.
    #[serde(default)]
    pub params: BTreeMap<String, f64>,
    /// Lists a check reads, e.g. `ports` of `listening_port_missing`.
    #[serde(default)]
    pub lists: BTreeMap<String, Vec<String>>,
}

impl CheckSettings {
    /// The level a value reaches where higher is worse (usage, age, temperature).
    pub fn level_at_least(&self, value: f64) -> Option<Level> {
        self.level_where(|threshold| value >= threshold)
    }

    /// The level a value reaches where lower is worse (days left).
    pub fn level_at_most(&self, value: f64) -> Option<Level> {
        self.level_where(|threshold| value <= threshold)
    }

    fn level_where(&self, reached: impl Fn(f64) -> bool) -> Option<Level> {
        // Critical first: a value past both thresholds is critical, not merely warning.
        if self.critical.is_some_and(&reached) {
            Some(Level::Critical)
        } else if self.warning.is_some_and(&reached) {
            Some(Level::Warning)
        } else {
            None
        }
    }

    pub fn param(&self, name: &str) -> Option<f64> {
        self.params.get(name).copied()
    }

    /// A list setting; a list nobody set is empty.
    pub fn list(&self, name: &str) -> &[String] {
        self.lists.get(name).map_or(&[], Vec::as_slice)
    }
}

/// How bad a problem is: the alerting module's severity, so a finding becomes an observation
/// without translation. Ordered: `Warning < Critical`, so the worst of several is their `max`.
pub use crate::alerting::Severity as Level;

/// The verdict of one check on one target: healthy ones too, so that an alert whose problem
/// went away can be resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub check: String,
    /// What the verdict is about, e.g. `/dev/sda`, `md0`, `nginx.service`, `/var`.
    pub target: String,
    /// `None`: healthy.
    pub problem: Option<Level>,
    /// One line for people: what is wrong or that all is well, with the numbers.
    pub summary: String,
    /// The readings the verdict rests on, for the alert's detail.
    pub evidence: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thresholds(warning: Option<f64>, critical: Option<f64>) -> CheckSettings {
        CheckSettings {
            enabled: true,
            warning,
            critical,
            pending_for_secs: 0,
            params: BTreeMap::new(),
            lists: BTreeMap::new(),
        }
    }

    #[test]
    fn levels_where_higher_is_worse() {
        let cases = [
            // (warning, critical, value, expected)
            (Some(90.0), Some(95.0), 89.9, None),
            (Some(90.0), Some(95.0), 90.0, Some(Level::Warning)),
            (Some(90.0), Some(95.0), 94.9, Some(Level::Warning)),
            (Some(90.0), Some(95.0), 95.0, Some(Level::Critical)),
            (Some(90.0), Some(95.0), 100.0, Some(Level::Critical)),
            (None, Some(95.0), 94.0, None),
            (None, Some(95.0), 96.0, Some(Level::Critical)),
            (Some(90.0), None, 99.0, Some(Level::Warning)),
            (None, None, 1e9, None),
            (Some(90.0), Some(95.0), f64::NAN, None),
        ];
        for (warning, critical, value, expected) in cases {
            assert_eq!(
                thresholds(warning, critical).level_at_least(value),
                expected,
                "{warning:?} {critical:?} {value}"
            );
        }
    }

    #[test]
    fn levels_where_lower_is_worse() {
        let cases = [
            // (warning, critical, days left, expected)
            (Some(21.0), Some(7.0), 30.0, None),
            (Some(21.0), Some(7.0), 21.0, Some(Level::Warning)),
            (Some(21.0), Some(7.0), 8.0, Some(Level::Warning)),
            (Some(21.0), Some(7.0), 7.0, Some(Level::Critical)),
            (Some(21.0), Some(7.0), -3.0, Some(Level::Critical)),
            (Some(21.0), None, -3.0, Some(Level::Warning)),
            (None, None, -3.0, None),
        ];
        for (warning, critical, value, expected) in cases {
            assert_eq!(
                thresholds(warning, critical).level_at_most(value),
                expected,
                "{warning:?} {critical:?} {value}"
            );
        }
    }

    #[test]
    fn the_worst_level_is_the_maximum() {
        assert!(Level::Warning < Level::Critical);
        assert_eq!(
            [Some(Level::Warning), None, Some(Level::Critical)].into_iter().flatten().max(),
            Some(Level::Critical)
        );
    }

    #[test]
    fn settings_without_params_or_lists_deserialize() {
        let json = r#"{"enabled":true,"warning":90.0,"critical":null,"pending_for_secs":300}"#;
        let settings: CheckSettings = serde_json::from_str(json).unwrap();
        assert_eq!(settings, thresholds(Some(90.0), None).with_pending(300));
        assert_eq!(settings.list("ports"), &[] as &[String]);
        assert_eq!(settings.param("days"), None);
    }

    impl CheckSettings {
        fn with_pending(mut self, secs: u64) -> Self {
            self.pending_for_secs = secs;
            self
        }
    }
}
