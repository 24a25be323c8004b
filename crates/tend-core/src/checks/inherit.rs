//! Overrides and their inheritance: the settings a check has on one host are the catalogue's
//! defaults changed by the overrides of the organisation, the host's client, site, host groups
//! and the host itself, in that order, the most specific last. The result carries every step,
//! so `tend check explain HOST CHECK` can say where each value comes from.
//!
//! This module owns the order and the explanation; it must not validate what an override sets
//! (the API does, where it can answer the person who typed it) nor look overrides up.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::{CheckDefinition, CheckSettings};

/// Where an override is set, from the most general to the most specific.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "layer", content = "id", rename_all = "snake_case")]
pub enum Layer {
    /// The organisation's own default for every host, above the built-in catalogue.
    Default,
    Client(i64),
    Site(i64),
    HostGroup(i64),
    Host(i64),
}

impl Layer {
    /// The position in the inheritance order. Host groups have no order of their own among
    /// themselves, so their ids give one that does not change with the order they were listed.
    fn rank(self) -> (u8, i64) {
        match self {
            Layer::Default => (0, 0),
            Layer::Client(_) => (1, 0),
            Layer::Site(_) => (2, 0),
            Layer::HostGroup(id) => (3, id),
            Layer::Host(_) => (4, 0),
        }
    }

    fn applies_to(self, host: &HostContext) -> bool {
        match self {
            Layer::Default => true,
            Layer::Client(id) => id == host.client_id,
            Layer::Site(id) => host.site_id == Some(id),
            Layer::HostGroup(id) => host.groups.contains(&id),
            Layer::Host(id) => id == host.host_id,
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layer::Default => write!(f, "organisation"),
            Layer::Client(id) => write!(f, "client {id}"),
            Layer::Site(id) => write!(f, "site {id}"),
            Layer::HostGroup(id) => write!(f, "host group {id}"),
            Layer::Host(id) => write!(f, "host {id}"),
        }
    }
}

/// What one override changes; whatever it leaves out is inherited.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PartialSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `Some(None)` (JSON `null`) removes the inherited threshold, e.g. to be told only of
    /// critical problems; absent (`None`) inherits it.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub warning: Option<Option<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub critical: Option<Option<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_for_secs: Option<u64>,
    /// Each named param is set; params not named are inherited.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, f64>,
    /// Each named list replaces the inherited list as a whole; lists not named are inherited.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lists: BTreeMap<String, Vec<String>>,
}

/// A present field, `null` included, is `Some`: serde alone would read `null` as absent.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Override {
    pub layer: Layer,
    pub check: String,
    pub settings: PartialSettings,
}

/// Where a host sits in the tenancy: which overrides apply to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostContext {
    pub client_id: i64,
    pub site_id: Option<i64>,
    pub groups: Vec<i64>,
    pub host_id: i64,
}

/// One value an override changed, as text: `warning` from `90` to `85`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// `enabled`, `warning`, `critical`, `pending_for_secs`, `params.NAME` or `lists.NAME`.
    pub field: String,
    pub old: String,
    pub new: String,
}

/// One override that applied to the host, and what it changed; an override that only repeats
/// inherited values changed nothing, which is worth showing too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplainStep {
    pub layer: Layer,
    pub changed: Vec<Change>,
}

/// The settings of a check on one host and how they came to be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explained {
    pub check: String,
    /// The built-in catalogue's settings, where the steps start.
    pub defaults: CheckSettings,
    pub settings: CheckSettings,
    pub steps: Vec<ExplainStep>,
}

/// The settings of `definition` on `host`: its defaults, then the overrides of that check that
/// apply to the host, organisation → client → site → host groups (by id) → host. Overrides of
/// one layer apply in the order given.
pub fn effective(definition: &CheckDefinition, overrides: &[Override], host: &HostContext) -> Explained {
    let mut applicable: Vec<&Override> = overrides
        .iter()
        .filter(|candidate| candidate.check == definition.name && candidate.layer.applies_to(host))
        .collect();
    // A stable sort keeps the given order within a layer.
    applicable.sort_by_key(|candidate| candidate.layer.rank());
    let mut settings = definition.defaults.clone();
    let steps = applicable
        .into_iter()
        .map(|step| ExplainStep { layer: step.layer, changed: apply(&mut settings, &step.settings) })
        .collect();
    Explained { check: definition.name.to_owned(), defaults: definition.defaults.clone(), settings, steps }
}

fn apply(settings: &mut CheckSettings, partial: &PartialSettings) -> Vec<Change> {
    let mut changes = Vec::new();
    // Compared as shown: an override repeating the inherited value is no change to a reader.
    let mut record = |field: String, old: String, new: String| {
        if old != new {
            changes.push(Change { field, old, new });
        }
    };
    if let Some(enabled) = partial.enabled {
        record("enabled".into(), settings.enabled.to_string(), enabled.to_string());
        settings.enabled = enabled;
    }
    if let Some(warning) = partial.warning {
        record("warning".into(), show_threshold(settings.warning), show_threshold(warning));
        settings.warning = warning;
    }
    if let Some(critical) = partial.critical {
        record("critical".into(), show_threshold(settings.critical), show_threshold(critical));
        settings.critical = critical;
    }
    if let Some(pending) = partial.pending_for_secs {
        record("pending_for_secs".into(), settings.pending_for_secs.to_string(), pending.to_string());
        settings.pending_for_secs = pending;
    }
    for (name, value) in &partial.params {
        let old = settings.params.insert(name.clone(), *value);
        record(format!("params.{name}"), show_threshold(old), show_threshold(Some(*value)));
    }
    for (name, values) in &partial.lists {
        let old = settings.lists.insert(name.clone(), values.clone());
        record(
            format!("lists.{name}"),
            old.map_or_else(|| "none".to_owned(), |old| show_list(&old)),
            show_list(values),
        );
    }
    changes
}

fn show_threshold(value: Option<f64>) -> String {
    value.map_or_else(|| "none".to_owned(), |value| value.to_string())
}

fn show_list(values: &[String]) -> String {
    format!("[{}]", values.join(", "))
}

/// Every value of the settings, as `field=value` words an override could set.
fn show_settings(settings: &CheckSettings) -> String {
    let mut words = vec![
        format!("enabled={}", settings.enabled),
        format!("warning={}", show_threshold(settings.warning)),
        format!("critical={}", show_threshold(settings.critical)),
        format!("pending_for_secs={}", settings.pending_for_secs),
    ];
    words.extend(settings.params.iter().map(|(name, value)| format!("params.{name}={value}")));
    words.extend(settings.lists.iter().map(|(name, values)| format!("lists.{name}={}", show_list(values))));
    words.join(" ")
}

fn show_changes(changes: &[Change]) -> String {
    if changes.is_empty() {
        return "no change (same as inherited)".to_owned();
    }
    let changes: Vec<String> = changes.iter().map(|c| format!("{} {} → {}", c.field, c.old, c.new)).collect();
    changes.join(", ")
}

/// The check's name, then one line per source of its values, the effective values last.
impl fmt::Display for Explained {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lines = vec![("built-in".to_owned(), show_settings(&self.defaults))];
        lines.extend(self.steps.iter().map(|step| (step.layer.to_string(), show_changes(&step.changed))));
        lines.push(("effective".to_owned(), show_settings(&self.settings)));
        let width = lines.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
        writeln!(f, "{}", self.check)?;
        for (label, text) in lines {
            writeln!(f, "  {label:<width$}  {text}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "inherit_tests.rs"]
mod tests;
