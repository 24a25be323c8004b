//! Hosts: what the fleet lists and the host page shows.

use std::collections::HashMap;

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Error, Result, Scope, Store, timestamp};

#[derive(Debug, Clone, PartialEq)]
pub struct HostRow {
    pub id: i64,
    pub client_id: i64,
    pub client_name: String,
    pub site_id: Option<i64>,
    pub site_name: Option<String>,
    pub hostname: String,
    pub report_interval_secs: u32,
    pub last_seen_at: Option<Timestamp>,
    pub stopped: bool,
    /// The last facts the agent sent, as JSON.
    pub facts: Option<String>,
    pub agent_id: Option<i64>,
    pub agent_revoked: bool,
    pub headline: Headline,
}

/// The few numbers a fleet list shows per host.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Headline {
    pub cpu_percent: Option<f64>,
    pub memory_used_percent: Option<f64>,
    pub disk_used_percent: Option<f64>,
    pub load1: Option<f64>,
}

/// The latest value of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct LatestValue {
    pub name: String,
    /// JSON object of the series' labels.
    pub labels: String,
    pub value: f64,
    pub at: Timestamp,
}

const HOST_QUERY: &str = "SELECT h.id, h.client_id, c.name AS client_name, h.site_id, s.name AS site_name, \
     h.hostname, h.report_interval_secs, h.last_seen_at, h.stopped, h.facts, \
     a.id AS agent_id, a.revoked_at AS agent_revoked_at \
     FROM hosts h JOIN clients c ON c.id = h.client_id \
     LEFT JOIN sites s ON s.id = h.site_id \
     LEFT JOIN agents a ON a.id = (SELECT MAX(id) FROM agents WHERE host_id = h.id) \
     WHERE (CAST($1 AS BIGINT) IS NULL OR h.client_id = $1)";

const HEADLINE_SERIES: &[&str] =
    &["cpu_percent", "load1", "memory_used_bytes", "memory_total_bytes", "fs_used_bytes", "fs_total_bytes"];

fn host_row(row: &AnyRow) -> Result<HostRow> {
    let interval: i64 = row.try_get("report_interval_secs")?;
    Ok(HostRow {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        client_name: row.try_get("client_name")?,
        site_id: row.try_get("site_id")?,
        site_name: row.try_get("site_name")?,
        hostname: row.try_get("hostname")?,
        report_interval_secs: u32::try_from(interval).map_err(|_| Error::Corrupt(format!("interval {interval}")))?,
        last_seen_at: row.try_get::<Option<i64>, _>("last_seen_at")?.map(timestamp).transpose()?,
        stopped: row.try_get::<i64, _>("stopped")? != 0,
        facts: row.try_get("facts")?,
        agent_id: row.try_get("agent_id")?,
        agent_revoked: row.try_get::<Option<i64>, _>("agent_revoked_at")?.is_some(),
        headline: Headline::default(),
    })
}

impl Store {
    /// A page of hosts ordered by id, after the host id `after`, optionally of one client.
    pub async fn list_hosts(
        &self,
        scope: Scope,
        client_id: Option<i64>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<HostRow>> {
        let sql = format!(
            "{HOST_QUERY} AND (CAST($2 AS BIGINT) IS NULL OR h.client_id = $2) AND h.id > $3 ORDER BY h.id LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(scope.client_filter())
            .bind(client_id)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?;
        let mut hosts = rows.iter().map(host_row).collect::<Result<Vec<_>>>()?;
        self.fill_headlines(&mut hosts).await?;
        Ok(hosts)
    }

    pub async fn host(&self, scope: Scope, id: i64) -> Result<HostRow> {
        let sql = format!("{HOST_QUERY} AND h.id = $2");
        let row = sqlx::query(&sql).bind(scope.client_filter()).bind(id).fetch_optional(&self.read).await?;
        let mut hosts = vec![host_row(&row.ok_or(Error::NotFound("host"))?)?];
        self.fill_headlines(&mut hosts).await?;
        Ok(hosts.remove(0))
    }

    /// The latest value of every series of a host the caller may see.
    pub async fn latest_values(&self, scope: Scope, host_id: i64) -> Result<Vec<LatestValue>> {
        self.host(scope, host_id).await?;
        let rows = sqlx::query(
            "SELECT name, labels, last_value, last_ts FROM series WHERE host_id = $1 ORDER BY name, labels",
        )
        .bind(host_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(LatestValue {
                    name: row.try_get("name")?,
                    labels: row.try_get("labels")?,
                    value: row.try_get("last_value")?,
                    at: timestamp(row.try_get("last_ts")?)?,
                })
            })
            .collect()
    }

    async fn fill_headlines(&self, hosts: &mut [HostRow]) -> Result<()> {
        if hosts.is_empty() {
            return Ok(());
        }
        let host_params = (0..hosts.len()).map(|i| format!("${}", i + 1)).collect::<Vec<_>>().join(", ");
        let name_params =
            (0..HEADLINE_SERIES.len()).map(|i| format!("${}", hosts.len() + i + 1)).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT host_id, name, labels, last_value FROM series \
             WHERE host_id IN ({host_params}) AND name IN ({name_params})"
        );
        let mut query = sqlx::query(&sql);
        for host in hosts.iter() {
            query = query.bind(host.id);
        }
        for name in HEADLINE_SERIES {
            query = query.bind(*name);
        }
        let mut latest: HashMap<i64, Vec<(String, String, f64)>> = HashMap::new();
        for row in query.fetch_all(&self.read).await? {
            let entry = (row.try_get("name")?, row.try_get("labels")?, row.try_get("last_value")?);
            latest.entry(row.try_get("host_id")?).or_default().push(entry);
        }
        for host in hosts {
            host.headline = latest.get(&host.id).map(|values| headline(values)).unwrap_or_default();
        }
        Ok(())
    }
}

fn headline(values: &[(String, String, f64)]) -> Headline {
    let one = |name: &str| values.iter().find(|v| v.0 == name).map(|v| v.2);
    let percent = |used: f64, total: f64| (total > 0.0).then(|| 100.0 * used / total);
    let fullest_disk = values
        .iter()
        .filter(|v| v.0 == "fs_used_bytes")
        .filter_map(|used| {
            let total = values.iter().find(|v| v.0 == "fs_total_bytes" && v.1 == used.1)?;
            percent(used.2, total.2)
        })
        .reduce(f64::max);
    Headline {
        cpu_percent: one("cpu_percent"),
        memory_used_percent: one("memory_used_bytes")
            .zip(one("memory_total_bytes"))
            .and_then(|(used, total)| percent(used, total)),
        disk_used_percent: fullest_disk,
        load1: one("load1"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(name: &str, labels: &str, value: f64) -> (String, String, f64) {
        (name.into(), labels.into(), value)
    }

    #[test]
    fn headline_takes_the_fullest_filesystem_and_memory_share() {
        let values = [
            v("fs_used_bytes", r#"{"mountpoint":"/"}"#, 50.0),
            v("fs_total_bytes", r#"{"mountpoint":"/"}"#, 100.0),
            v("fs_used_bytes", r#"{"mountpoint":"/var"}"#, 90.0),
            v("fs_total_bytes", r#"{"mountpoint":"/var"}"#, 100.0),
            v("fs_used_bytes", r#"{"mountpoint":"/empty"}"#, 0.0),
            v("fs_total_bytes", r#"{"mountpoint":"/empty"}"#, 0.0),
            v("memory_used_bytes", "{}", 1.0),
            v("memory_total_bytes", "{}", 4.0),
            v("cpu_percent", "{}", 12.5),
        ];
        let h = headline(&values);
        assert_eq!(h.disk_used_percent, Some(90.0));
        assert_eq!(h.memory_used_percent, Some(25.0));
        assert_eq!(h.cpu_percent, Some(12.5));
        assert_eq!(h.load1, None);
    }
}
