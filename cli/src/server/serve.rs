use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use soar_host::HostOptions;
#[cfg(feature = "worker")]
use soar_host_service::BoxFuture;
use soar_host_service::{Limits, ServiceOptions};
#[cfg(feature = "worker")]
use std::sync::Arc;

#[derive(clap::Args)]
#[command(
    long_about = "Serve the HTTP API (/v1) over the resources in a directory: run actions \
(synchronously or with `Prefer: respond-async`), read executions back, receive webhooks and \
stream their events. Every call but health, metrics, the OpenAPI document and webhooks needs \
an API token (`soar-host token create NAME`).\n\n\
Prints `listening on http://ADDRESS` on stdout once it accepts connections. SIGTERM or \
Ctrl-C: stop accepting, let runs in flight finish (up to --grace-secs), exit 0. SIGHUP: \
reload the resources directory (a broken file is reported and skipped).\n\n\
Playbooks of --playbooks run in the service, each step an execution; with --temporal each \
run is handed to Temporal's `run_playbook` on `soar-host worker`s (docs/playbooks.md).",
    after_help = "Examples:\n  soar-host token create playbooks\n  \
soar-host serve --resources ./resources\n  \
curl -H \"Authorization: Bearer $TOKEN\" localhost:8787/v1/resources\n  \
curl -H \"Authorization: Bearer $TOKEN\" -d '{\"user_id\": \"me\"}' localhost:8787/v1/resources/zoom/actions/get_user"
)]
pub struct Args {
    /// Directory of resource files (*.toml); each is served under its file name without .toml
    #[arg(long, value_name = "DIR")]
    resources: PathBuf,
    /// Directory of playbooks (*.yaml) to serve; an invalid one is skipped and said why [default: `playbooks` beside the resources directory, if there is one]
    #[arg(long, value_name = "DIR")]
    playbooks: Option<PathBuf>,
    /// Address to listen on; a non-loopback one needs --tls-cert/--tls-key or --insecure-plaintext
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// TLS certificate chain (PEM)
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM)
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address (behind a TLS-terminating proxy only)
    #[arg(long)]
    insecure_plaintext: bool,
    /// Runs running at once, in all
    #[arg(long, value_name = "N", default_value_t = 256)]
    max_in_flight: usize,
    /// Runs running at once on one resource
    #[arg(long, value_name = "N", default_value_t = 64)]
    max_per_resource: usize,
    /// Runs waiting for a slot beyond those; past it, 429 with Retry-After
    #[arg(long, value_name = "N", default_value_t = 1024)]
    queue: usize,
    /// On SIGTERM, how long runs in flight may take to finish
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    grace_secs: u64,
    /// How long finished executions and received events are kept
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    retention_days: u64,
    /// The largest request body (params, a webhook delivery)
    #[arg(long, value_name = "KIB", default_value_t = 1024)]
    max_body_kib: usize,
    /// The longest a playbook run may take, e.g. 10m
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = humantime::parse_duration)]
    max_run_time: Duration,
    /// Hand playbook runs to Temporal at HOST:PORT: each run a `run_playbook` workflow (its id the run's) that `soar-host worker --playbooks` runs; the service records the run and what the workflow answers. TLS and an API key come from Temporal's environment variables, as for `worker`
    #[cfg(feature = "worker")]
    #[arg(long, value_name = "HOST:PORT")]
    temporal: Option<String>,
    /// With --temporal: the namespace
    #[cfg(feature = "worker")]
    #[arg(
        long,
        value_name = "NAME",
        default_value = "default",
        requires = "temporal"
    )]
    temporal_namespace: String,
    /// With --temporal: the task queue the workers poll
    #[cfg(feature = "worker")]
    #[arg(
        long,
        value_name = "NAME",
        default_value = "soar",
        requires = "temporal"
    )]
    temporal_task_queue: String,
}

pub async fn run(host_options: HostOptions, args: Args) -> i32 {
    if !super::is_dir("--resources", &args.resources) {
        return 2;
    }
    if let Some(dir) = &args.playbooks
        && !super::is_dir("--playbooks", dir)
    {
        return 2;
    }
    if args.max_in_flight == 0 || args.max_per_resource == 0 {
        eprintln!("error: --max-in-flight and --max-per-resource must be at least 1");
        return 2;
    }
    let options = ServiceOptions {
        resources_dir: args.resources,
        playbooks_dir: args.playbooks,
        listen: args.listen,
        tls: args.tls_cert.zip(args.tls_key),
        insecure_plaintext: args.insecure_plaintext,
        limits: Limits {
            max_in_flight: args.max_in_flight,
            per_resource: args.max_per_resource,
            queue: args.queue,
        },
        grace: Duration::from_secs(args.grace_secs),
        retention: Duration::from_secs(args.retention_days.saturating_mul(86_400)),
        max_body_bytes: args.max_body_kib.saturating_mul(1024),
        max_run_time: args.max_run_time,
        remote_runs: None,
    };
    #[cfg(feature = "worker")]
    let options = match &args.temporal {
        Some(address) => {
            let connection = super::worker::connection_from_env(address, &args.temporal_namespace);
            match soar_host_worker::PlaybookRuns::connect(&connection, args.temporal_task_queue)
                .await
            {
                Ok(runs) => ServiceOptions {
                    remote_runs: Some(Arc::new(OnTemporal(Arc::new(runs)))),
                    ..options
                },
                Err(e) => {
                    eprintln!("error: --temporal: {}", soar_host::redact::printable(&e));
                    return 2;
                }
            }
        }
        None => options,
    };
    let ready = |address: SocketAddr, tls: bool| {
        let scheme = if tls { "https" } else { "http" };
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "listening on {scheme}://{address}");
        let _ = stdout.flush();
    };
    match soar_host_service::serve(host_options, options, ready).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {}", soar_host::redact::printable(&e));
            2
        }
    }
}

/// The service's runs on Temporal.
#[cfg(feature = "worker")]
struct OnTemporal(Arc<soar_host_worker::PlaybookRuns>);

#[cfg(feature = "worker")]
impl soar_host_service::RemoteRuns for OnTemporal {
    fn describe(&self) -> String {
        self.0.describe().to_owned()
    }

    fn run(
        &self,
        record: soar_playbook::RunRecord,
    ) -> BoxFuture<Result<soar_playbook::RunRecord, String>> {
        let runs = Arc::clone(&self.0);
        Box::pin(async move { runs.run(record).await })
    }

    fn cancel(&self, id: String, reason: String) -> BoxFuture<Result<(), String>> {
        let runs = Arc::clone(&self.0);
        Box::pin(async move { runs.cancel(&id, reason).await })
    }
}
