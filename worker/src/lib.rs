//! `soar-host worker`: the host's actions as Temporal activities, so that
//! any workflow, in any language, runs a Zoom action with Temporal's
//! retries, timeouts and history, and the work spreads over every worker
//! polling the same task queue.
//!
//! Registered on the task queue:
//! - the activity `run_action` (`{resource, action, params}` in, the CLI's
//!   result envelope out; an error becomes an application failure whose
//!   type is its kind, retryable only where a retry can help and cannot act
//!   twice), see [`activity`];
//! - the local activity `describe_action`, which the workflow asks for an
//!   action's idempotency and timeout;
//! - the workflow `run_action_workflow`: one action with the retry policy
//!   its manifest allows, see [`workflow`];
//! - the workflow `run_playbook` and its local activity `start_playbook`:
//!   a playbook of the playbooks directory, each step a `run_action`, see
//!   [`playbook`]; and the service's hand-over of its runs to it,
//!   [`PlaybookRuns`].
//!
//! Secrets stay here: a workflow names a resource file in the worker's
//! resources directory; inputs, outputs and failures carry no credential.

mod activity;
mod connect;
mod handover;
mod playbook;
mod workflow;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use temporalio_sdk::runtime::RuntimeOptions;
use temporalio_sdk::runtime::worker_tuner::{FixedSizeSlotSupplier, TunerHolder};
use temporalio_sdk::{Runtime, Worker};

use soar_host::registry::Resources;
use soar_host::{Host, HostOptions};
use soar_playbook::Playbooks;

pub use connect::Connection;
pub use handover::PlaybookRuns;

/// What `soar-host worker` was asked to do.
pub struct WorkerOptions {
    pub resources_dir: PathBuf,
    /// The playbooks `run_playbook` runs [default: `playbooks` beside the
    /// resources directory, if there is one].
    pub playbooks_dir: Option<PathBuf>,
    pub connection: Connection,
    pub task_queue: String,
    /// Activities running at once on this worker.
    pub max_concurrent: usize,
    /// On SIGTERM, how long running activities may take to finish.
    pub grace: Duration,
    /// The heartbeat timeout `run_action_workflow` gives its activity: how
    /// soon another worker takes over from one that died.
    pub heartbeat_timeout: Duration,
    /// The longest a `run_playbook` run may take.
    pub max_run_time: Duration,
    /// Where Temporal's Prometheus metrics are served, if anywhere.
    pub metrics: Option<SocketAddr>,
    /// Where actions that download write their files.
    pub output_dir: PathBuf,
}

/// The worker's shared state: the host and the resources it serves.
pub(crate) struct Shared {
    host: Host,
    resources: Resources,
    playbooks: Playbooks,
    output_dir: PathBuf,
    heartbeat_timeout: Duration,
    max_run_time: Duration,
}

/// Run the worker until SIGTERM or Ctrl-C, then drain. `ready` is called
/// once the worker is registered and about to poll.
pub async fn run(
    host_options: HostOptions,
    options: WorkerOptions,
    ready: impl FnOnce(&str),
) -> Result<(), String> {
    let host = Host::new(host_options).map_err(|e| e.to_string())?;
    let resources = Resources::load(&host, &options.resources_dir).await?;
    let registry = resources.current();
    if registry.resources.is_empty() {
        return Err(format!(
            "no resource to serve in {} (every *.toml there is a resource; {} skipped)",
            options.resources_dir.display(),
            registry.skipped.len()
        ));
    }
    let playbooks_dir = match &options.playbooks_dir {
        Some(dir) => Some(dir.clone()),
        None => Some(soar_playbook::default_dir(&options.resources_dir)).filter(|d| d.is_dir()),
    };
    let playbooks = match &playbooks_dir {
        Some(dir) => Playbooks::load(&host, &registry, &options.resources_dir, dir).await?,
        None => Playbooks::default(),
    };
    let served = playbooks.checked.len();
    let state = Arc::new(Shared {
        host,
        resources,
        playbooks,
        output_dir: options.output_dir.clone(),
        heartbeat_timeout: options.heartbeat_timeout,
        max_run_time: options.max_run_time,
    });

    let telemetry = match options.metrics {
        Some(address) => Some(connect::prometheus(address)?),
        None => None,
    };
    let runtime_options = RuntimeOptions::builder()
        .maybe_telemetry_options(telemetry)
        .build()
        .map_err(|e| format!("Temporal runtime: {e}"))?;
    let runtime = Runtime::from_current_tokio(runtime_options)
        .map_err(|e| format!("Temporal runtime: {e}"))?;
    let client = options.connection.client().await?;

    let slots = FixedSizeSlotSupplier::new;
    let tuner = TunerHolder::builder()
        .workflow_task_slot_supplier(slots(100))
        .activity_task_slot_supplier(slots(options.max_concurrent))
        .local_activity_task_slot_supplier(slots(options.max_concurrent))
        .nexus_task_slot_supplier(slots(1))
        .build();
    let worker_options = temporalio_sdk::WorkerOptions::new(options.task_queue.clone())
        .register_activities(activity::Actions(Arc::clone(&state)))
        .register_workflow::<workflow::RunActionWorkflow>()
        .map_err(|e| format!("cannot register the workflow: {e}"))?
        .register_workflow::<playbook::RunPlaybookWorkflow>()
        .map_err(|e| format!("cannot register the workflow: {e}"))?
        .tuner(tuner)
        .graceful_shutdown_period(options.grace)
        .build();
    let mut worker = Worker::new(&runtime, client, worker_options)
        .map_err(|e| format!("cannot start the worker: {e}"))?;

    let stop = worker.shutdown_handle();
    let stopping = spawn_signals(Arc::clone(&state), stop)?;
    ready(&format!(
        "worker polling task queue `{}` on {} (namespace `{}`), at most {} activities at once, {served} playbook(s)",
        options.task_queue,
        options.connection.address,
        options.connection.namespace,
        options.max_concurrent
    ));
    tokio::select! {
        outcome = worker.run() => outcome.map_err(|e| format!("the worker stopped: {e}")),
        // Activities that ignore their cancellation do not keep the process
        // forever: past the grace period and a little more, it exits; the
        // server times them out and retries them elsewhere.
        () = async {
            let _ = stopping.await;
            tokio::time::sleep(options.grace + Duration::from_secs(5)).await;
        } => {
            tracing::warn!("activities still running after the grace period; exiting");
            Ok(())
        }
    }
}

/// SIGTERM or Ctrl-C: stop polling, let running activities finish within
/// the grace period. SIGHUP: reload the resources. The returned receiver
/// fires once shutdown began.
fn spawn_signals(
    state: Arc<Shared>,
    stop: impl Fn() + Send + 'static,
) -> Result<tokio::sync::oneshot::Receiver<()>, String> {
    use tokio::signal::unix::{SignalKind, signal};
    let listen = |kind| signal(kind).map_err(|e| format!("cannot handle signals: {e}"));
    let mut term = listen(SignalKind::terminate())?;
    let mut int = listen(SignalKind::interrupt())?;
    let mut hup = listen(SignalKind::hangup())?;
    let (began, stopping) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                _ = hup.recv() => state.resources.reload(&state.host, |_| ()).await,
            }
        }
        tracing::info!("stopping: no new activities; running ones finish first");
        stop();
        let _ = began.send(());
    });
    Ok(stopping)
}
