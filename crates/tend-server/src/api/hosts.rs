//! Hosts, their facts and their metrics.

use axum::Json;
use axum::extract::State;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use tend_proto::api::{Host, HostDetail, MetricPoint, MetricSeries, Page, Problem, ReceivedReport};
use tend_store::MetricQuery;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{PageQuery, convert};
use crate::auth::Caller;
use crate::extract::{ApiPath, ApiQuery};
use crate::{AppState, Error};

/// Most points one metrics request may return per series.
const MAX_POINTS: i64 = 11_000;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_hosts))
        .routes(routes!(get_host))
        .routes(routes!(host_metrics))
        .routes(routes!(host_reports))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct HostFilter {
    /// Only this client's hosts.
    client: Option<i64>,
}

/// Hosts the caller may see, by id, with status and headline metrics.
#[utoipa::path(get, path = "/api/v1/hosts", tag = "hosts", security(("token" = [])), params(HostFilter, PageQuery),
    responses((status = 200, body = Page<Host>), (status = 401, body = Problem)))]
async fn list_hosts(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(filter): ApiQuery<HostFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<Page<Host>>, Error> {
    let limit = page.limit()?;
    let rows = state.store.list_hosts(caller.scope(), filter.client, page.after.unwrap_or(0), limit + 1).await?;
    let now = Timestamp::now();
    Ok(Json(page.page(rows.iter().map(|h| convert::host_summary(h, now)).collect(), limit, |h| h.id)))
}

/// One host: facts, status and the latest value of every series.
#[utoipa::path(get, path = "/api/v1/hosts/{id}", tag = "hosts", security(("token" = [])),
    params(("id" = i64, Path, description = "Host id")),
    responses((status = 200, body = HostDetail), (status = 404, body = Problem)))]
async fn get_host(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<HostDetail>, Error> {
    let host = state.store.host(caller.scope(), id).await?;
    let latest = state.store.latest_values(caller.scope(), id).await?;
    let inventory = state.store.inventory(caller.scope(), id).await?;
    Ok(Json(convert::host_detail(&host, &latest, &inventory, Timestamp::now())?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ReportLogQuery {
    /// How many of the newest reports, 1 to 1000; default 100.
    limit: Option<u32>,
}

/// The host's most recent stored reports, newest first: where gaps and late replays show.
#[utoipa::path(get, path = "/api/v1/hosts/{id}/reports", tag = "hosts", security(("token" = [])),
    params(("id" = i64, Path, description = "Host id"), ReportLogQuery),
    responses((status = 200, body = Vec<ReceivedReport>), (status = 404, body = Problem)))]
async fn host_reports(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<ReportLogQuery>,
) -> Result<Json<Vec<ReceivedReport>>, Error> {
    let limit = PageQuery { after: None, limit: query.limit }.limit()?;
    let log = state.store.report_log(caller.scope(), id, limit).await?;
    Ok(Json(log.iter().map(convert::received_report).collect()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct MetricsRange {
    /// Metric name, e.g. `cpu_percent` or `fs_used_bytes`.
    name: String,
    /// Start (RFC 3339); default one hour before `to`.
    from: Option<String>,
    /// End (RFC 3339, exclusive); default now.
    to: Option<String>,
    /// Seconds per point; default chosen for about 300 points.
    step: Option<u32>,
}

/// A metric of a host over time: one series per label set, averaged per step.
#[utoipa::path(get, path = "/api/v1/hosts/{id}/metrics", tag = "hosts", security(("token" = [])),
    params(("id" = i64, Path, description = "Host id"), MetricsRange),
    responses((status = 200, body = Vec<MetricSeries>), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn host_metrics(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(range): ApiQuery<MetricsRange>,
) -> Result<Json<Vec<MetricSeries>>, Error> {
    let (from, to, step_secs) = resolve_range(&range, Timestamp::now())?;
    let query = MetricQuery { host_id: id, name: &range.name, from, to, step_secs };
    let series = state.store.metric_series(caller.scope(), &query).await?;
    let body = series
        .into_iter()
        .map(|s| {
            Ok(MetricSeries {
                name: range.name.clone(),
                labels: convert::labels(&s.labels)?,
                step_secs,
                points: s
                    .points
                    .into_iter()
                    .map(|(at, value)| MetricPoint { at: convert::timestamp_text(at), value })
                    .collect(),
            })
        })
        .collect::<Result<_, Error>>()?;
    Ok(Json(body))
}

fn parse_time(field: &str, text: Option<&str>) -> Result<Option<Timestamp>, Error> {
    text.map(|t| t.parse().map_err(|e| Error::invalid_field(field, format!("'{t}' is not an RFC 3339 time: {e}"))))
        .transpose()
}

/// (from, to, step) with defaults filled in, refusing ranges that would return too many points.
fn resolve_range(range: &MetricsRange, now: Timestamp) -> Result<(Timestamp, Timestamp, u32), Error> {
    let to = parse_time("to", range.to.as_deref())?.unwrap_or(now);
    let from = parse_time("from", range.from.as_deref())?.unwrap_or(to - SignedDuration::from_hours(1));
    if from >= to {
        return Err(Error::invalid_field("from", "from must lie before to"));
    }
    let span_secs = to.duration_since(from).as_secs();
    let step = match range.step {
        Some(0) => return Err(Error::invalid_field("step", "step must be at least 1 second")),
        Some(step) => step,
        None => u32::try_from((span_secs / 300).max(10)).unwrap_or(u32::MAX),
    };
    if span_secs / i64::from(step) > MAX_POINTS {
        return Err(Error::invalid_field("step", format!("more than {MAX_POINTS} points; use a larger step")));
    }
    Ok((from, to, step))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(from: Option<&str>, to: Option<&str>, step: Option<u32>) -> MetricsRange {
        MetricsRange { name: "load1".into(), from: from.map(Into::into), to: to.map(Into::into), step }
    }

    #[test]
    fn ranges_default_and_refuse() {
        let now: Timestamp = "2026-11-22T12:00:00Z".parse().unwrap();
        let (from, to, step) = resolve_range(&range(None, None, None), now).unwrap();
        assert_eq!((from.to_string().as_str(), to, step), ("2026-11-22T11:00:00Z", now, 12));
        let day = range(Some("2026-11-21T12:00:00Z"), None, None);
        assert_eq!(resolve_range(&day, now).unwrap().2, 288);
        assert!(resolve_range(&range(Some("2026-11-22T13:00:00Z"), None, None), now).is_err());
        assert!(resolve_range(&range(Some("yesterday"), None, None), now).is_err());
        assert!(resolve_range(&range(Some("2025-11-22T12:00:00Z"), None, Some(1)), now).is_err());
        assert!(resolve_range(&range(None, None, Some(0)), now).is_err());
    }
}
