//! `GET /metrics`: Prometheus text (OpenMetrics), from `prometheus-client`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The route's pattern (`/v1/executions/{id}`), never the raw path.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RunLabels {
    pub plugin: String,
    pub action: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabels {
    pub plugin: String,
    pub action: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResourceLabels {
    pub resource: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabels {
    pub resource: String,
    pub outcome: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub request_seconds: Histograms<RequestLabels>,
    pub runs: Family<RunLabels, Counter>,
    pub run_seconds: Histograms<ActionLabels>,
    pub in_flight: Gauge,
    pub queued: Gauge,
    pub rejected: Family<ResourceLabels, Counter>,
    pub upstream_requests: Family<ResourceLabels, Counter>,
    pub rate_limit_waits: Family<ResourceLabels, Counter>,
    pub webhooks: Family<EventLabels, Counter>,
}

fn latency() -> Histogram {
    // 1 ms to ~65 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("soar");
        let requests = Family::default();
        let request_seconds = Histograms::new_with_constructor(latency as fn() -> Histogram);
        let runs = Family::default();
        let run_seconds = Histograms::new_with_constructor(latency as fn() -> Histogram);
        let in_flight = Gauge::default();
        let queued = Gauge::default();
        let rejected = Family::default();
        let upstream_requests = Family::default();
        let rate_limit_waits = Family::default();
        let webhooks = Family::default();
        registry.register(
            "http_requests",
            "API requests answered, by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_seconds",
            "API request latency",
            request_seconds.clone(),
        );
        registry.register(
            "action_runs",
            "Action runs finished, by plugin, action and outcome",
            runs.clone(),
        );
        registry.register(
            "action_run_seconds",
            "Action run latency, queueing excluded",
            run_seconds.clone(),
        );
        registry.register(
            "runs_in_flight",
            "Action runs running now",
            in_flight.clone(),
        );
        registry.register(
            "queue_depth",
            "Action runs admitted and waiting for a slot",
            queued.clone(),
        );
        registry.register(
            "runs_rejected",
            "Runs refused with 429 because the limits and the queue were full",
            rejected.clone(),
        );
        registry.register(
            "upstream_requests",
            "HTTP requests plugins sent upstream, retries included",
            upstream_requests.clone(),
        );
        registry.register(
            "rate_limit_waits",
            "Runs that waited for a resource's upstream rate limit to reset",
            rate_limit_waits.clone(),
        );
        registry.register(
            "webhook_deliveries",
            "Inbound webhook deliveries, by outcome",
            webhooks.clone(),
        );
        Self {
            registry,
            requests,
            request_seconds,
            runs,
            run_seconds,
            in_flight,
            queued,
            rejected,
            upstream_requests,
            rate_limit_waits,
            webhooks,
        }
    }
}

impl Metrics {
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}
