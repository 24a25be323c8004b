//! The Debian security tracker's JSON export (<https://security-tracker.debian.org/tracker/data/json>)
//! as advisories.
//!
//! The export, as the tracker's `tracker_service.py` writes it (read for its shape; tend's
//! sample in `testdata/patching/` is hand-written in it):
//!
//! ```text
//! { "<source package>": { "<CVE-… or TEMP-…>": {
//!     "description": "…", "debianbug": 123, "scope": "local" | "remote",
//!     "releases": { "<code name>": {
//!         "status": "resolved" | "open" | "undetermined",
//!         "repositories": { "<suite>": "<version there>" },
//!         "fixed_version": "…",          (when resolved; "0" when never affected)
//!         "urgency": "low" | "medium" | "high" | "unimportant" | "not yet assigned" | …,
//!         "nodsa": "…", "nodsa_reason": "" | "ignored" | "postponed",
//!         "next_point_update": true } } } } }
//! ```
//! Fields absent when empty (the tracker drops nulls). Mapped as:
//! - `resolved` with a fixed version: [`FixStatus::Fixed`]; with `0` or none:
//!   [`FixStatus::NotAffected`].
//! - `open` with `nodsa`: by `nodsa_reason`, [`FixStatus::Ignored`], [`FixStatus::Postponed`],
//!   else (an empty reason) [`FixStatus::NoDsa`]; open and `unimportant`:
//!   [`FixStatus::Unimportant`]; any other open issue (an `end-of-life` urgency included, which
//!   means no fix will come): [`FixStatus::Unfixed`].
//! - `undetermined` (the tracker does not know yet whether the release is affected):
//!   [`FixStatus::Unfixed`], since the provider answers for what may affect a host.
//! - One advisory per issue id, gathering every source package that lists it; its severity the
//!   highest urgency the tracker gives it in any release (`not yet assigned`: unknown).
//! - `repositories`, `debianbug`, `scope` and `next_point_update` are not used.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Deserialize;

use super::{Imported, MAX_AFFECTED, check_size, checked, summary};
use crate::Error;
use crate::patching::advisory::{Advisory, AffectedPackage, FixStatus, Severity};
use crate::patching::validate_token;

#[derive(Deserialize)]
struct Issue {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    releases: BTreeMap<String, Release>,
}

#[derive(Deserialize)]
struct Release {
    status: String,
    #[serde(default)]
    fixed_version: Option<String>,
    #[serde(default)]
    urgency: Option<String>,
    #[serde(default)]
    nodsa: Option<String>,
    #[serde(default)]
    nodsa_reason: Option<String>,
}

/// Advisories from the Debian security tracker's JSON export. `learned_at` is now, for the
/// server: when tend learned of what it reads.
pub fn parse_debian_tracker(bytes: &[u8], learned_at: Timestamp) -> Result<Imported, Error> {
    check_size("debian_tracker", bytes)?;
    let export: BTreeMap<String, BTreeMap<String, Issue>> =
        serde_json::from_slice(bytes).map_err(|e| Error::Invalid {
            field: "debian_tracker",
            reason: format!("not the Debian security tracker's JSON export: {e}"),
        })?;
    let mut imported = Imported::default();
    let mut advisories: BTreeMap<String, Advisory> = BTreeMap::new();
    for (package, issues) in export {
        for (id, issue) in issues {
            if let Err(e) = validate_token("id", &id) {
                imported.skip(format!("{package} {id:?}"), e.to_string());
                continue;
            }
            let advisory = advisories.entry(id.clone()).or_insert_with(|| Advisory {
                id: id.clone(),
                aliases: Vec::new(),
                severity: Severity::Unknown,
                summary: String::new(),
                learned_at,
                affected: Vec::new(),
            });
            if advisory.summary.is_empty() {
                advisory.summary = summary(issue.description.as_deref().unwrap_or_default());
            }
            for (release, state) in issue.releases {
                if let Some(severity) = state.urgency.as_deref().and_then(Severity::from_word) {
                    advisory.severity = advisory.severity.max(severity);
                }
                let entry = entry(&package, release, state, learned_at).and_then(checked);
                match entry {
                    Ok(entry) if advisory.affected.len() < MAX_AFFECTED => advisory.affected.push(entry),
                    Ok(_) => imported.skip(&id, format!("more than {MAX_AFFECTED} entries; the rest is left out")),
                    Err(reason) => imported.skip(&id, reason),
                }
            }
        }
    }
    for advisory in advisories.into_values() {
        if advisory.affected.is_empty() {
            imported.irrelevant += 1;
        } else {
            imported.advisories.push(advisory);
        }
    }
    Ok(imported)
}

fn entry(package: &str, release: String, state: Release, learned_at: Timestamp) -> Result<AffectedPackage, String> {
    let (status, fixed) = match state.status.as_str() {
        "resolved" => match state.fixed_version {
            Some(version) if version != "0" => (FixStatus::Fixed, Some(version)),
            _ => (FixStatus::NotAffected, None),
        },
        "open" => {
            let status = match (&state.nodsa, state.nodsa_reason.as_deref()) {
                (Some(_), Some("ignored")) => FixStatus::Ignored,
                (Some(_), Some("postponed")) => FixStatus::Postponed,
                (Some(_), _) => FixStatus::NoDsa,
                (None, _) if state.urgency.as_deref() == Some("unimportant") => FixStatus::Unimportant,
                (None, _) => FixStatus::Unfixed,
            };
            (status, None)
        }
        "undetermined" => (FixStatus::Unfixed, None),
        other => return Err(format!("{package} {release}: unknown status {other:?}")),
    };
    Ok(AffectedPackage {
        distribution: "debian".to_owned(),
        release,
        package: package.to_owned(),
        introduced: None,
        fixed,
        status,
        learned_at,
    })
}
