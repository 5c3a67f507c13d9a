//! `soar-host serve`: a long-running HTTP service over the library — one
//! warm [`Host`] (compiled components, pooled instances, each resource's
//! token in the store) for every run, each run in a fresh wasm `Store`.
//!
//! - the API under `/v1` (see [`api`]), its OpenAPI document generated from
//!   the handlers, errors as RFC 9457 problems;
//! - bearer API tokens ([`tokens`]), limited to resources and kinds of
//!   action, every run recorded with the token's name;
//! - limits on runs in flight and a bounded queue ([`runs`]);
//! - a webhook receiver that stores verified events before answering, and
//!   publishes them as a list and a Server-Sent Events stream ([`events`]);
//! - executions, events and tokens in SQLite under the state directory
//!   ([`db`]); runs a stopped process left unfinished are marked
//!   `interrupted` at the next start, never run again;
//! - the web console at `/` ([`console`]): sign in with a token, resources
//!   and their tests, actions run from forms, executions and events live,
//!   tokens;
//! - SIGTERM drains, SIGHUP reloads the resources directory.

mod actions;
mod api;
mod console;
mod db;
mod events;
mod metrics;
mod playbooks;
mod problem;
mod runs;
mod sign_in;
mod tls;
pub mod tokens;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use db::Db;
pub use runs::Limits;

use metrics::Metrics;
use problem::Fault;
use runs::Gate;
use soar_host::registry::{Registry, Resources};
use soar_host::{Host, HostOptions, Store};
use soar_playbook::Playbooks;

#[derive(Clone)]
pub struct ServiceOptions {
    pub resources_dir: PathBuf,
    /// The playbooks directory; `None`: `playbooks` beside the resources
    /// directory, when there is one.
    pub playbooks_dir: Option<PathBuf>,
    pub listen: SocketAddr,
    /// Certificate chain and private key (PEM): serve HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Serve plain HTTP on a non-loopback address.
    pub insecure_plaintext: bool,
    pub limits: Limits,
    /// How long SIGTERM waits for runs in flight.
    pub grace: Duration,
    /// How long finished executions and events are kept.
    pub retention: Duration,
    /// The largest request body (params, a webhook).
    pub max_body_bytes: usize,
    /// The longest a playbook run may take.
    pub max_run_time: Duration,
    /// Where playbook runs go instead of running in this process
    /// (`serve --temporal`).
    pub remote_runs: Option<Arc<dyn RemoteRuns>>,
}

/// A runner of playbook runs outside the service: Temporal's `run_playbook`
/// workflow, provided by the CLI (this crate links no Temporal). The
/// service records each run, hands it over, keeps its lease while it runs
/// there, and records the final record it answers; a run left handed over
/// by a stopped process is followed again by the next.
pub trait RemoteRuns: Send + Sync {
    /// Where runs go, for the log: `temporal ADDRESS, namespace N, task queue Q`.
    fn describe(&self) -> String;
    /// Run `record` (once per run id, however often asked: a second ask
    /// follows the first) and answer its final record; an error when it
    /// could not be handed over or did not end with a record.
    fn run(
        &self,
        record: soar_playbook::RunRecord,
    ) -> BoxFuture<Result<soar_playbook::RunRecord, String>>;
    /// Stop the run `id`: its step in flight is abandoned.
    fn cancel(&self, id: String, reason: String) -> BoxFuture<Result<(), String>>;
}

/// A boxed future sent across threads.
pub type BoxFuture<T> = std::pin::Pin<Box<dyn Future<Output = T> + Send>>;

pub struct Service {
    host: Host,
    db: Db,
    registry: Resources,
    gate: Arc<Gate>,
    metrics: Metrics,
    /// Every run, so that shutdown can wait for them.
    tracker: TaskTracker,
    /// The newest stored event's id: wakes the event streams.
    events: watch::Sender<i64>,
    playbooks: playbooks::PlaybookState,
    state_dir: PathBuf,
    max_body_bytes: usize,
    shutdown: CancellationToken,
    /// Users' sign-ins started here, waiting for their callback.
    logins: sign_in::PendingLogins,
    /// Served over TLS: the callback's scheme.
    https: bool,
}

impl Service {
    /// `f` on a blocking thread: database work that reads pages or
    /// records with their results, or waits on the disk, stays off the
    /// async threads, which answer everyone else meanwhile. (A token's
    /// lookup, one short row by key, runs where it is asked.)
    async fn on_db<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Db) -> Result<T, Fault> + Send + 'static,
    ) -> Result<T, Fault> {
        let service = Arc::clone(self);
        tokio::task::spawn_blocking(move || f(&service.db))
            .await
            .map_err(|e| Fault(format!("a database task failed: {e}")))?
    }

    fn registry(&self) -> Arc<Registry> {
        self.registry.current()
    }

    /// Where runs on `resource` write their downloads.
    fn downloads_dir(&self, resource: &str) -> PathBuf {
        self.state_dir.join("downloads").join(resource)
    }

    /// Read the resources directory again; runs in flight keep theirs.
    async fn reload(&self) {
        self.registry
            .reload(&self.host, |registry| self.prepare_downloads(registry))
            .await;
    }

    fn prepare_downloads(&self, registry: &Registry) {
        for name in registry.resources.keys() {
            let dir = self.downloads_dir(name);
            if let Err(e) = soar_host::private_dir::prepare(&dir) {
                tracing::warn!("downloads directory {}: {e}", dir.display());
            }
        }
    }
}

/// The state directory the service keeps its database in.
pub fn state_dir(options: &HostOptions) -> Result<PathBuf, String> {
    if options.no_store {
        return Err(
            "the service keeps executions, events and tokens in its state directory: drop --no-store"
                .into(),
        );
    }
    options
        .state_dir
        .clone()
        .or_else(Store::default_dir)
        .ok_or_else(|| {
            "no state directory: set --state-dir or SOAR_HOST_STATE_DIR (HOME is not set)".into()
        })
}

/// Run the service until SIGTERM or SIGINT; `ready` is told the address it
/// listens on once it accepts connections.
pub async fn serve(
    host_options: HostOptions,
    options: ServiceOptions,
    ready: impl FnOnce(SocketAddr, bool),
) -> Result<(), String> {
    let state_dir = state_dir(&host_options)?;
    if !options.listen.ip().is_loopback() && options.tls.is_none() && !options.insecure_plaintext {
        return Err(format!(
            "{} is not a loopback address: serve it with TLS (--tls-cert and --tls-key), or accept plaintext with --insecure-plaintext",
            options.listen
        ));
    }
    let tls = options
        .tls
        .as_ref()
        .map(|(cert, key)| tls::config(cert, key))
        .transpose()?;
    let db = Db::open(&state_dir)?;
    // One service per state directory: a second would mark the first's
    // runs interrupted. Held until the process exits.
    let _lock = lock(&state_dir)?;
    let interrupted = db.interrupt_unfinished(
        "the service stopped before this run finished; it was not run again",
    )?;
    if interrupted > 0 {
        tracing::warn!(
            "{interrupted} run(s) left unfinished by the last process are marked interrupted"
        );
    }
    let host = Host::new(host_options).map_err(|e| e.to_string())?;
    let registry = Resources::load(&host, &options.resources_dir).await?;
    let playbooks_dir = match &options.playbooks_dir {
        Some(dir) => Some(dir.clone()),
        None => Some(soar_playbook::default_dir(&options.resources_dir)).filter(|d| d.is_dir()),
    };
    let playbooks = match &playbooks_dir {
        Some(dir) => {
            Playbooks::load(&host, &registry.current(), &options.resources_dir, dir).await?
        }
        None => Playbooks::default(),
    };
    tracing::info!(
        served = playbooks.checked.len(),
        skipped = playbooks.skipped.len(),
        "playbooks"
    );
    let runs = soar_playbook::RunStore::open(&state_dir)?;
    let service = Arc::new(Service {
        host,
        db,
        registry,
        gate: Gate::new(options.limits),
        metrics: Metrics::default(),
        tracker: TaskTracker::new(),
        events: watch::channel(0).0,
        playbooks: playbooks::PlaybookState::new(
            runs,
            playbooks,
            options.max_run_time,
            options.remote_runs.clone(),
        ),
        state_dir,
        logins: sign_in::PendingLogins::default(),
        https: tls.is_some(),
        max_body_bytes: options.max_body_bytes,
        shutdown: CancellationToken::new(),
    });
    service.prepare_downloads(&service.registry());
    if let Some(remote) = &options.remote_runs {
        tracing::info!("playbook runs go to {}", remote.describe());
    }
    let resumed = playbooks::resume(&service).await?;
    playbooks::spawn_triggers(&service);
    if resumed > 0 {
        tracing::warn!("{resumed} playbook run(s) left unfinished by a stopped process go on");
    }
    spawn_housekeeping(&service, options.retention);
    spawn_signals(&service)?;

    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", options.listen))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let app = api::router(Arc::clone(&service));
    tracing::info!(address = %local, tls = tls.is_some(), "listening");
    ready(local, tls.is_some());

    let stopping = service.shutdown.clone();
    let grace = options.grace;
    let served = async {
        match tls {
            Some(tls) => tls::serve(listener, tls, app, stopping.clone()).await,
            None => axum::serve(listener, app)
                .with_graceful_shutdown(stopping.clone().cancelled_owned())
                .await
                .map_err(|e| e.to_string()),
        }
    };
    // Once stopping: requests in flight (synchronous runs among them) and
    // asynchronous runs get the grace period between them.
    let deadline = async {
        stopping.cancelled().await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = served => result?,
        () = deadline => tracing::warn!("grace period over with requests still open"),
    }
    service.tracker.close();
    let drained = tokio::time::timeout(grace, service.tracker.wait())
        .await
        .is_ok();
    if !drained {
        let n = service.db.interrupt_unfinished(
            "the service stopped (its grace period ran out) before this run finished",
        )?;
        tracing::warn!("{n} run(s) did not finish within the grace period: marked interrupted");
    }
    tracing::info!("stopped");
    Ok(())
}

fn lock(state_dir: &Path) -> Result<std::fs::File, String> {
    let path = state_dir.join("service.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(format!(
            "another `soar-host serve` uses the state directory {}; stop it, or give this one its own --state-dir",
            state_dir.display()
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(format!("{}: {e}", path.display())),
    }
}

fn spawn_housekeeping(service: &Arc<Service>, retention: Duration) {
    let service = Arc::clone(service);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tokio::select! {
                _ = every.tick() => {}
                () = service.shutdown.cancelled() => return,
            }
            match service.on_db(move |db| db.purge(retention)).await {
                Ok((0, 0)) => {}
                Ok((executions, events)) => {
                    tracing::info!(executions, events, "records past their retention removed")
                }
                Err(e) => tracing::error!("purge failed: {e}"),
            }
        }
    });
}

#[cfg(unix)]
fn spawn_signals(service: &Arc<Service>) -> Result<(), String> {
    use tokio::signal::unix::{SignalKind, signal};
    let listen = |kind| signal(kind).map_err(|e| format!("cannot handle signals: {e}"));
    let mut term = listen(SignalKind::terminate())?;
    let mut int = listen(SignalKind::interrupt())?;
    let mut hup = listen(SignalKind::hangup())?;
    let service = Arc::clone(service);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                _ = hup.recv() => service.reload().await,
            }
        }
        tracing::info!("stopping: no new requests; runs in flight finish first");
        service.shutdown.cancel();
    });
    Ok(())
}

#[cfg(not(unix))]
fn spawn_signals(service: &Arc<Service>) -> Result<(), String> {
    let service = Arc::clone(service);
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        service.shutdown.cancel();
    });
    Ok(())
}
