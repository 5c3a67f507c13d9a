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
    upstream_retries: Counter,
    rate_limit_waits: Counter,
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
        let upstream_retries = Counter::default();
        let rate_limit_waits = Counter::default();
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
            "upstream_retries",
            "Upstream requests sent again after a failure or a 429",
            upstream_retries.clone(),
        );
        registry.register(
            "rate_limit_waits",
            "Upstream requests held back because their resource was rate-limited",
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
            upstream_retries,
            rate_limit_waits,
            webhooks,
        }
    }
}

impl Metrics {
    /// The registry as text, the host's upstream counts brought up to date.
    pub fn render(&self, upstream: &soar_host::UpstreamStats) -> String {
        use std::sync::atomic::Ordering::Relaxed;
        self.upstream_retries
            .inner()
            .store(upstream.retries.load(Relaxed), Relaxed);
        self.rate_limit_waits
            .inner()
            .store(upstream.rate_limit_waits.load(Relaxed), Relaxed);
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}
