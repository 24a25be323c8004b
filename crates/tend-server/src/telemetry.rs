//! Prometheus metrics of the server itself, and `/healthz`.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tend_proto::api::Health;

use crate::{AppState, Error};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DbLabels {
    pub operation: &'static str,
}

/// The server's own metrics, exported at `/metrics`.
pub struct Telemetry {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<RouteLabels, Histogram>,
    pub reports_ingested: Counter,
    pub report_duplicates: Counter,
    pub samples_ingested: Counter,
    pub db_seconds: Family<DbLabels, Histogram>,
    /// How late probes start after their due time.
    pub probe_start_lateness: Histogram,
    pub self_backup_failures: Counter,
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Telemetry {
    pub fn new() -> Telemetry {
        let mut registry = Registry::with_prefix("tend");
        let requests = Family::default();
        let request_seconds =
            Family::<RouteLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        let db_seconds = Family::<DbLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        let reports_ingested = Counter::default();
        let report_duplicates = Counter::default();
        let samples_ingested = Counter::default();
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register("http_request_seconds", "Time to answer HTTP requests", request_seconds.clone());
        registry.register("reports_ingested", "Agent reports stored", reports_ingested.clone());
        registry.register(
            "report_duplicates",
            "Agent reports received again and not stored twice",
            report_duplicates.clone(),
        );
        registry.register("samples_ingested", "Metric samples stored", samples_ingested.clone());
        registry.register("db_seconds", "Time spent in database operations", db_seconds.clone());
        let probe_start_lateness = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        registry.register(
            "probe_start_lateness_seconds",
            "How late scheduled probes start after their due time",
            probe_start_lateness.clone(),
        );
        let self_backup_failures = Counter::default();
        registry.register(
            "self_backup_failures",
            "Scheduled backups of tend's own database that failed",
            self_backup_failures.clone(),
        );
        Telemetry {
            registry,
            requests,
            request_seconds,
            reports_ingested,
            report_duplicates,
            samples_ingested,
            db_seconds,
            probe_start_lateness,
            self_backup_failures,
        }
    }

    pub fn observe_db(&self, operation: &'static str, started: Instant) {
        self.db_seconds.get_or_create(&DbLabels { operation }).observe(started.elapsed().as_secs_f64());
    }

    fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry::new()
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics)).route("/healthz", get(healthz))
}

/// Counts and times every request by its route pattern (never the raw path: ids would explode
/// the label space).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let telemetry = &state.telemetry;
    let status = response.status().as_u16();
    telemetry.requests.get_or_create(&RequestLabels { method, route: route.clone(), status }).inc();
    telemetry.request_seconds.get_or_create(&RouteLabels { route }).observe(started.elapsed().as_secs_f64());
    response
}

async fn metrics(State(state): State<AppState>) -> Result<Response, Error> {
    let text = state.telemetry.encode().map_err(|e| Error::Internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response())
}

/// 200 when the database answers, 503 otherwise: what a load balancer needs to know.
async fn healthz(State(state): State<AppState>) -> Response {
    let started = Instant::now();
    let result = state.store.ping().await;
    state.telemetry.observe_db("ping", started);
    match result {
        Ok(latency) => Json(Health {
            status: "ok".into(),
            database: state.store.backend().name().into(),
            database_latency_ms: latency.as_secs_f64() * 1000.0,
        })
        .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            let database = state.store.backend().name().into();
            let health = Health { status: "unavailable".into(), database, database_latency_ms: 0.0 };
            (StatusCode::SERVICE_UNAVAILABLE, Json(health)).into_response()
        }
    }
}
