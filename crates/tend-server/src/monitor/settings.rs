//! Effective check settings of a host: the catalogue with the stored overrides applied.

use tend_core::checks::{self, CheckDefinition, Explained, HostContext, Layer, Override, PartialSettings};
use tend_store::{CheckOverrideRow, Store};

use crate::Error;

/// The layer names stored with overrides.
pub fn layer_of(layer: &str, id: i64) -> Option<Layer> {
    Some(match layer {
        "organisation" => Layer::Default,
        "client" => Layer::Client(id),
        "site" => Layer::Site(id),
        "host" => Layer::Host(id),
        _ => return None,
    })
}

pub fn overrides(rows: &[CheckOverrideRow]) -> Vec<Override> {
    rows.iter()
        .filter_map(|row| {
            let layer = layer_of(&row.layer, row.layer_id)?;
            let settings: PartialSettings = serde_json::from_str(&row.settings)
                .inspect_err(
                    |e| tracing::warn!(override_id = row.id, error = %e, "ignoring an unreadable check override"),
                )
                .ok()?;
            Some(Override { layer, check: row.check.clone(), settings })
        })
        .collect()
}

/// Every check of the catalogue with its effective settings for `host`.
pub async fn for_host(store: &Store, host: &HostContext) -> Result<Vec<(CheckDefinition, Explained)>, Error> {
    let overrides = overrides(&store.check_overrides().await?);
    Ok(checks::default_checks()
        .into_iter()
        .map(|definition| {
            let explained = checks::effective(&definition, &overrides, host);
            (definition, explained)
        })
        .collect())
}
