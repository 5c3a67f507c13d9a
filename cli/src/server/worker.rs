use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use soar_host::HostOptions;
use soar_host_worker::{Connection, WorkerOptions};

#[derive(clap::Args)]
#[command(
    long_about = "Run actions as Temporal activities: poll a task queue for `run_action` (one \
action on one resource in --resources; the JSON contract is in docs/worker.md), \
`run_action_workflow` (one action with the retries its manifest allows) and `run_playbook` \
(`{\"playbook\": NAME, \"inputs\": {…}}`: a playbook of --playbooks, each step a `run_action`; \
it returns the run record). Start several workers \
on one task queue, on as many machines, to share the work.\n\n\
Prints `worker polling …` on stdout once registered. SIGTERM or Ctrl-C: stop taking activities, \
let running ones finish (up to --grace-secs; past it they are cancelled and retried elsewhere), \
exit 0. SIGHUP: reload the resources directory.\n\n\
Connection settings also come from Temporal's environment variables: TEMPORAL_ADDRESS, \
TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS, TEMPORAL_TLS_SERVER_CA_CERT_PATH, \
TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH, TEMPORAL_TLS_SERVER_NAME.",
    after_help = "Examples:\n  temporal server start-dev &\n  \
soar-host worker --resources ./resources\n  \
temporal workflow execute --type run_action_workflow --task-queue soar \\\n    \
--input '{\"resource\": \"zoom\", \"action\": \"get_user\", \"params\": {\"user_id\": \"me\"}}'\n  \
temporal workflow execute --type run_playbook --task-queue soar \\\n    \
--input '{\"playbook\": \"contain-compromised-account\", \"inputs\": {\"user_id\": \"u1\"}}'\n  \
soar-host worker --resources ./resources --address NS.ACCT.tmprl.cloud:7233 --namespace NS.ACCT \
--api-key \"$KEY\""
)]
pub struct Args {
    /// Directory of resource files (*.toml); a workflow names one by its file name without .toml
    #[arg(long, value_name = "DIR")]
    resources: PathBuf,
    /// Directory of playbooks (*.yaml) that the `run_playbook` workflow runs; an invalid one is skipped and said why [default: `playbooks` beside the resources directory, if there is one]
    #[arg(long, value_name = "DIR")]
    playbooks: Option<PathBuf>,
    /// Temporal's frontend, HOST:PORT
    #[arg(long, env = "TEMPORAL_ADDRESS", default_value = "localhost:7233")]
    address: String,
    /// Temporal namespace
    #[arg(long, env = "TEMPORAL_NAMESPACE", default_value = "default")]
    namespace: String,
    /// Task queue to poll
    #[arg(long, value_name = "NAME", default_value = "soar")]
    task_queue: String,
    /// Activities running at once on this worker
    #[arg(long, value_name = "N", default_value_t = 64)]
    max_concurrent: usize,
    /// On SIGTERM, how long running activities may take to finish
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    grace_secs: u64,
    /// The heartbeat timeout run_action_workflow gives its activity: how soon another worker takes over from one that died
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    heartbeat_timeout_secs: u64,
    /// Serve Temporal's worker metrics for Prometheus at http://ADDR/metrics
    #[arg(long, value_name = "ADDR")]
    metrics: Option<SocketAddr>,
    /// The longest a `run_playbook` run may take, e.g. 10m
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = humantime::parse_duration)]
    max_run_time: Duration,
    /// Where actions that download (recordings) write their files
    #[arg(long, value_name = "DIR", default_value = ".")]
    output: PathBuf,
    /// Connect with TLS (implied by the other TLS options and by an API key)
    #[arg(long, env = "TEMPORAL_TLS")]
    tls: bool,
    /// CA certificate (PEM) that signed the server's certificate, instead of the system's roots
    #[arg(long, value_name = "FILE", env = "TEMPORAL_TLS_SERVER_CA_CERT_PATH")]
    tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS
    #[arg(
        long,
        value_name = "FILE",
        env = "TEMPORAL_TLS_CLIENT_CERT_PATH",
        requires = "tls_key"
    )]
    tls_cert: Option<PathBuf>,
    /// Client private key (PEM) for mutual TLS
    #[arg(
        long,
        value_name = "FILE",
        env = "TEMPORAL_TLS_CLIENT_KEY_PATH",
        requires = "tls_cert"
    )]
    tls_key: Option<PathBuf>,
    /// The name the server's certificate must carry, when not the address's host
    #[arg(long, value_name = "NAME", env = "TEMPORAL_TLS_SERVER_NAME")]
    tls_server_name: Option<String>,
    /// Temporal Cloud API key (prefer the TEMPORAL_API_KEY variable: arguments show in `ps`)
    #[arg(
        long,
        value_name = "KEY",
        env = "TEMPORAL_API_KEY",
        hide_env_values = true
    )]
    api_key: Option<String>,
}

pub async fn run(host_options: HostOptions, args: Args) -> i32 {
    if !super::is_dir("--resources", &args.resources) || !super::is_dir("--output", &args.output) {
        return 2;
    }
    if let Some(dir) = &args.playbooks
        && !super::is_dir("--playbooks", dir)
    {
        return 2;
    }
    if args.max_concurrent == 0 || args.heartbeat_timeout_secs == 0 {
        eprintln!("error: --max-concurrent and --heartbeat-timeout-secs must be at least 1");
        return 2;
    }
    let options = WorkerOptions {
        resources_dir: args.resources,
        playbooks_dir: args.playbooks,
        connection: Connection {
            address: args.address,
            namespace: args.namespace,
            tls: args.tls,
            server_ca: args.tls_ca,
            server_name: args.tls_server_name,
            client_cert: args.tls_cert.zip(args.tls_key),
            api_key: args.api_key.filter(|k| !k.is_empty()),
        },
        task_queue: args.task_queue,
        max_concurrent: args.max_concurrent,
        grace: Duration::from_secs(args.grace_secs),
        heartbeat_timeout: Duration::from_secs(args.heartbeat_timeout_secs),
        max_run_time: args.max_run_time,
        metrics: args.metrics,
        output_dir: args.output,
    };
    let ready = |line: &str| {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{line}");
        let _ = stdout.flush();
    };
    match soar_host_worker::run(host_options, options, ready).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {}", soar_host::redact::printable(&e));
            1
        }
    }
}

/// A Temporal connection for `serve --temporal`: the address and namespace
/// given, TLS and an API key from Temporal's environment variables (the
/// service's own `--tls-*` options are its HTTPS).
#[cfg(feature = "serve")]
pub fn connection_from_env(address: &str, namespace: &str) -> Connection {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let path = |name: &str| var(name).map(PathBuf::from);
    Connection {
        address: address.to_owned(),
        namespace: namespace.to_owned(),
        tls: var("TEMPORAL_TLS").is_some_and(|v| v == "true" || v == "1"),
        server_ca: path("TEMPORAL_TLS_SERVER_CA_CERT_PATH"),
        server_name: var("TEMPORAL_TLS_SERVER_NAME"),
        client_cert: path("TEMPORAL_TLS_CLIENT_CERT_PATH")
            .zip(path("TEMPORAL_TLS_CLIENT_KEY_PATH")),
        api_key: var("TEMPORAL_API_KEY"),
    }
}
