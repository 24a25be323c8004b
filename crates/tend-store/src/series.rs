//! Reading time series back: averaged per step over a time range.

use std::collections::BTreeMap;

use jiff::Timestamp;
use sqlx::Row;

use crate::{Error, Result, Scope, Store, millis, timestamp};

#[derive(Debug, Clone, PartialEq)]
pub struct MetricQuery<'a> {
    pub host_id: i64,
    pub name: &'a str,
    pub from: Timestamp,
    pub to: Timestamp,
    pub step_secs: u32,
}

/// One series of the metric: its labels (JSON) and (bucket start, average) points.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesPoints {
    pub labels: String,
    pub points: Vec<(Timestamp, f64)>,
}

impl Store {
    pub async fn metric_series(&self, scope: Scope, query: &MetricQuery<'_>) -> Result<Vec<SeriesPoints>> {
        self.host(scope, query.host_id).await?;
        if query.step_secs == 0 {
            return Err(Error::Conflict("step must be at least one second".into()));
        }
        let step_ms = i64::from(query.step_secs) * 1000;
        let rows = sqlx::query(
            "SELECT s.id, s.labels, (m.ts / $1) * $1 AS bucket, AVG(m.value) AS value \
             FROM series s JOIN samples m ON m.series_id = s.id \
             WHERE s.host_id = $2 AND s.name = $3 AND m.ts >= $4 AND m.ts < $5 \
             GROUP BY s.id, s.labels, bucket ORDER BY s.id, bucket",
        )
        .bind(step_ms)
        .bind(query.host_id)
        .bind(query.name)
        .bind(millis(query.from))
        .bind(millis(query.to))
        .fetch_all(&self.read)
        .await?;
        let mut by_series: BTreeMap<i64, SeriesPoints> = BTreeMap::new();
        for row in rows {
            let id: i64 = row.try_get("id")?;
            let entry = match by_series.entry(id) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(SeriesPoints { labels: row.try_get("labels")?, points: Vec::new() })
                }
            };
            entry.points.push((timestamp(row.try_get("bucket")?)?, row.try_get("value")?));
        }
        Ok(by_series.into_values().collect())
    }
}
