//! Where the worker's Temporal is and how to reach it: a dev server on
//! loopback in plain gRPC, a self-hosted cluster with (m)TLS, or Temporal
//! Cloud with an API key over TLS. And its metrics, for Prometheus.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use temporalio_client::{
    Client, ClientOptions, ClientTlsOptions, ConnectionOptions, TlsOptions, Url,
};
use temporalio_common::telemetry::metrics::CoreMeter;
use temporalio_common::telemetry::{
    PrometheusExporterOptions, TelemetryOptions, start_prometheus_metric_exporter,
};

/// A Temporal frontend and the namespace to work in.
pub struct Connection {
    /// `host:port`, or a URL (`https://…` for TLS).
    pub address: String,
    pub namespace: String,
    /// Speak TLS; implied by any of the TLS files, an API key or `https://`.
    pub tls: bool,
    /// The CA that signed the server's certificate (PEM) instead of the system's roots.
    pub server_ca: Option<PathBuf>,
    /// The name the server's certificate must carry, when not the address's host.
    pub server_name: Option<String>,
    /// Client certificate and key (PEM) for mutual TLS.
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// Temporal Cloud's API key, sent as a bearer token (never logged).
    pub api_key: Option<String>,
}

impl Connection {
    fn uses_tls(&self) -> bool {
        self.tls
            || self.server_ca.is_some()
            || self.client_cert.is_some()
            || self.api_key.is_some()
            || self.address.starts_with("https://")
    }

    /// The frontend's URL: the scheme says whether TLS is spoken (the
    /// client ignores TLS settings on an `http://` URL).
    fn url(&self) -> Result<Url, String> {
        let bare = self
            .address
            .trim_start_matches("http://")
            .trim_start_matches("https://");
        let scheme = if self.uses_tls() { "https" } else { "http" };
        let url = Url::parse(&format!("{scheme}://{bare}"))
            .map_err(|e| format!("--address {}: {e}", self.address))?;
        if url.host_str().is_none_or(str::is_empty) || url.port().is_none() {
            return Err(format!(
                "--address {}: expected HOST:PORT, e.g. localhost:7233",
                self.address
            ));
        }
        Ok(url)
    }

    fn tls_options(&self) -> Result<Option<TlsOptions>, String> {
        if !self.uses_tls() {
            return Ok(None);
        }
        let read = |path: &PathBuf, what: &str| {
            std::fs::read(path).map_err(|e| format!("{what} {}: {e}", path.display()))
        };
        let server_ca = match &self.server_ca {
            Some(path) => Some(read(path, "--tls-ca")?),
            None => None,
        };
        let client = match &self.client_cert {
            Some((cert, key)) => Some(
                ClientTlsOptions::builder()
                    .client_cert(read(cert, "--tls-cert")?)
                    .client_private_key(read(key, "--tls-key")?)
                    .build(),
            ),
            None => None,
        };
        Ok(Some(
            TlsOptions::builder()
                .maybe_server_root_ca_cert(server_ca)
                .maybe_domain(self.server_name.clone())
                .maybe_client_tls_options(client)
                .build(),
        ))
    }

    /// Connect and check the namespace's client can be built.
    pub(super) async fn client(&self) -> Result<Client, String> {
        let options = ConnectionOptions::new(self.url()?)
            .identity(format!(
                "soar-host-worker@{}:{}",
                hostname(),
                std::process::id()
            ))
            .maybe_tls_options(self.tls_options()?)
            .maybe_api_key(self.api_key.clone())
            .build();
        let connection = temporalio_client::Connection::connect(options)
            .await
            .map_err(|e| {
                format!(
                    "cannot reach Temporal at {}: {e} (is the server running? `temporal server start-dev` starts one)",
                    self.address
                )
            })?;
        Client::new(
            connection,
            ClientOptions::new(self.namespace.clone()).build(),
        )
        .map_err(|e| format!("Temporal client: {e}"))
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".into())
}

/// Temporal's worker metrics (task slots, activity latencies and failures,
/// polls) served for Prometheus at `http://ADDRESS/metrics`.
pub(super) fn prometheus(address: SocketAddr) -> Result<TelemetryOptions, String> {
    let exporter = start_prometheus_metric_exporter(
        PrometheusExporterOptions::builder()
            .socket_addr(address)
            .build(),
    )
    .map_err(|e| format!("--metrics {address}: {e}"))?;
    tracing::info!(address = %exporter.bound_addr, "metrics at /metrics");
    Ok(TelemetryOptions::builder()
        .metrics(exporter.meter as Arc<dyn CoreMeter>)
        .build())
}
