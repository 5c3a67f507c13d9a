//! The WebAssembly runtime: one `Engine` per process, each component compiled
//! once (and cached on disk) into an `InstancePre`, and a fresh `Store` per
//! call, so nothing leaks between calls or resources. Memory is capped per
//! store; wall-clock time by epoch interruption (for guest code) and a
//! timeout around the whole call (for host calls waiting on the network).
//!
//! Guest code never holds a thread for long: at every epoch tick it yields
//! to the async executor (and traps once its deadline has passed), and a
//! runtime that serves many calls runs its guests on threads of their own
//! ([`guests`]), so that plugins that spin cannot starve the caller's
//! runtime (a service's health check, its other requests, a worker's
//! heartbeats).

mod call;
mod compile_cache;
mod engine;
mod guests;
mod linker;
mod output;
pub mod state;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Engine, Store, Trap, UpdateDeadline};

use call::run;
use compile_cache::CompileCache;
use engine::engine;
use guests::Guests;
use linker::linker;
use state::InvocationState;

use crate::bindings::{
    ActionError, ConfigValue, Contract, TestReport, WebhookOutcome, WebhookRequest, WitManifest,
    v0_1, v0_2,
};
use crate::deadline::Deadline;
use crate::manifest::Manifest;
use crate::params::Checker;

/// How often the epoch advances: the granularity of guest deadlines.
const EPOCH_TICK: Duration = Duration::from_millis(10);
/// The longest a plugin may take to describe itself (less when the caller's
/// deadline is nearer).
const MANIFEST_BUDGET: Duration = Duration::from_secs(10);
/// Invocations that can run at once with pooled instances.
pub const POOL_INVOCATIONS: u32 = 256;

/// A compiled plugin, ready to instantiate.
pub struct Plugin {
    pub manifest: Manifest,
    pre: Pre,
    /// Each action's compiled params schema, made on first use.
    checkers: Mutex<HashMap<String, Arc<Checker>>>,
}

/// The component, by the contract version it was built against.
#[derive(Clone)]
enum Pre {
    V0_1(v0_1::IntegrationPre<InvocationState>),
    V0_2(v0_2::IntegrationPre<InvocationState>),
}

impl Plugin {
    /// The compiled params schema of `action` (one of the manifest's).
    pub fn checker(&self, action: &crate::manifest::Action) -> Result<Arc<Checker>, String> {
        if let Some(checker) = self
            .checkers
            .lock()
            .ok()
            .and_then(|c| c.get(&action.name).cloned())
        {
            return Ok(checker);
        }
        let checker = Arc::new(Checker::new(action)?);
        if let Ok(mut checkers) = self.checkers.lock() {
            checkers.insert(action.name.clone(), Arc::clone(&checker));
        }
        Ok(checker)
    }
}

/// What to ask a plugin.
pub enum Call {
    Manifest,
    Test {
        config: Vec<ConfigValue>,
    },
    Invoke {
        action: String,
        config: Vec<ConfigValue>,
        params: String,
    },
    Webhook {
        config: Vec<ConfigValue>,
        request: WebhookRequest,
    },
}

pub enum Answer {
    Manifest(WitManifest),
    Test(Result<TestReport, ActionError>),
    Invoke(Result<String, ActionError>),
    Webhook(WebhookOutcome),
}

/// Why a call produced no answer.
#[derive(Debug)]
pub enum CallFailure {
    /// The deadline passed (in guest code, or waiting on the host).
    Timeout,
    /// The guest trapped: a panic, the memory cap, a bad instruction.
    Trap(String),
}

/// How instances get their memory, tables and fiber stacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Allocation {
    /// From a pool reserved when the runtime starts, so that an invocation
    /// takes a warm slot instead of mapping and unmapping its own. For hosts
    /// that make many calls: at most [`POOL_INVOCATIONS`] run at once, the
    /// others wait for a slot (within their deadline).
    #[default]
    Pooled,
    /// Mapped for each call. For a process that makes a call or two and
    /// exits (the CLI): reserving the pool costs more than it saves.
    OnDemand,
}

pub struct Runtime {
    engine: Engine,
    /// With a pool: one permit per slot.
    slots: Option<Arc<tokio::sync::Semaphore>>,
    /// With a pool: the threads guest code runs on, apart from the caller's.
    guests: Option<Guests>,
    disk_cache: Option<CompileCache>,
    plugins: Mutex<HashMap<[u8; 32], Arc<Plugin>>>,
    /// Components that could not be loaded or described, and why: refused
    /// at once until they change (a new file is a new digest).
    broken: Mutex<HashMap<[u8; 32], String>>,
    /// The epoch thread's stop flag, once it is started.
    ticker: OnceLock<Arc<AtomicBool>>,
}

impl Runtime {
    /// `cache_dir`: where compiled components are kept; `None` picks the
    /// user's cache directory; caching is skipped when `disk_cache` is false.
    pub fn new(
        cache_dir: Option<PathBuf>,
        disk_cache: bool,
        allocation: Allocation,
    ) -> anyhow::Result<Self> {
        let (engine, pooled) = engine(allocation)?;
        let disk_cache = if disk_cache {
            CompileCache::open(cache_dir, &engine)
        } else {
            None
        };
        let guests = match pooled {
            true => Some(Guests::start()?),
            false => None,
        };
        Ok(Self {
            engine,
            slots: pooled.then(|| Arc::new(tokio::sync::Semaphore::new(POOL_INVOCATIONS as usize))),
            guests,
            disk_cache,
            plugins: Mutex::new(HashMap::new()),
            broken: Mutex::new(HashMap::new()),
            ticker: OnceLock::new(),
        })
    }

    /// The thread that advances the engine's epoch (what deadlines in guest
    /// code are counted in), started for the first call: a process that
    /// only lists actions or reads manifests never starts it. A failure to
    /// start it is not kept: the next call tries again.
    fn start_ticker(&self) -> Result<(), String> {
        if self.ticker.get().is_some() {
            return Ok(());
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (engine, flag) = (self.engine.clone(), Arc::clone(&stop));
        std::thread::Builder::new()
            .name("soar-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .map_err(|e| format!("the host cannot start its epoch thread: {e}"))?;
        // Two first calls at once may both start one: the second stops.
        if let Err(extra) = self.ticker.set(stop) {
            extra.store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    /// The plugin whose component has this SHA-256, if this runtime has
    /// loaded it.
    pub fn loaded(&self, key: &[u8; 32]) -> Option<Arc<Plugin>> {
        self.plugins.lock().ok()?.get(key).cloned()
    }

    /// The manifest of the component with this SHA-256, without its code:
    /// a loaded plugin's, or the one the disk cache keeps beside the
    /// compiled component (written only once it loaded and described
    /// itself).
    pub fn cached_manifest(&self, key: &[u8; 32]) -> Option<Manifest> {
        if let Some(plugin) = self.loaded(key) {
            return Some(plugin.manifest.clone());
        }
        self.disk_cache.as_ref()?.load_manifest(key)
    }

    /// Compile (or fetch from a cache) a component and read its manifest,
    /// within `deadline`. `key` is the SHA-256 of `wasm` (see [`digest`]). A
    /// component that fails is remembered as broken, and refused at once
    /// the next time.
    pub async fn load(
        &self,
        key: [u8; 32],
        wasm: &[u8],
        deadline: Deadline,
    ) -> Result<Arc<Plugin>, String> {
        if let Some(plugin) = self.loaded(&key) {
            return Ok(plugin);
        }
        let known_broken = self
            .broken
            .lock()
            .ok()
            .and_then(|b| b.get(&key).cloned())
            .or_else(|| self.disk_cache.as_ref()?.load_broken(&key));
        if let Some(reason) = known_broken {
            return Err(format!(
                "{reason} (remembered as broken until the component changes)"
            ));
        }
        let loaded = self.load_new(key, wasm, deadline).await;
        match loaded {
            Ok(plugin) => {
                if let Ok(mut plugins) = self.plugins.lock() {
                    plugins.insert(key, Arc::clone(&plugin));
                }
                Ok(plugin)
            }
            Err(failure) => {
                let reason = match failure {
                    Load::Refused(reason) => reason,
                    // Costly to find out again: kept for later processes
                    // too. (What another host version might accept is not.)
                    Load::Stuck(reason) => {
                        if let Some(cache) = &self.disk_cache {
                            cache.store_broken(&key, &reason);
                        }
                        reason
                    }
                };
                if let Ok(mut broken) = self.broken.lock() {
                    broken.insert(key, reason.clone());
                }
                Err(reason)
            }
        }
    }

    async fn load_new(
        &self,
        key: [u8; 32],
        wasm: &[u8],
        deadline: Deadline,
    ) -> Result<Arc<Plugin>, Load> {
        // From the disk cache: the compiled component and, beside it, its
        // manifest; or compiled now.
        let cached = self.disk_cache.as_ref().and_then(|cache| {
            let component = cache.load(&self.engine, &key)?;
            Some((component, cache.load_manifest(&key)))
        });
        let (component, manifest) = match cached {
            Some(cached) => cached,
            None => {
                if !wasm.starts_with(b"\0asm") {
                    return Err(Load::Refused("not a WebAssembly file".into()));
                }
                // Compiling takes seconds of CPU: not on the caller's async
                // threads, which may be serving others meanwhile.
                let (engine, owned) = (self.engine.clone(), wasm.to_vec());
                let compiled =
                    tokio::task::spawn_blocking(move || Component::new(&engine, &owned)).await;
                let component = compiled
                    .map_err(|e| Load::Refused(format!("compiling it failed: {e}")))?
                    .map_err(|e| {
                        Load::Refused(format!(
                            "not a WebAssembly component this host can load: {e:#}"
                        ))
                    })?;
                if let Some(cache) = &self.disk_cache {
                    cache.store(&key, &component);
                }
                (component, None)
            }
        };
        let ty = component.component_type();
        let names = ty
            .imports(&self.engine)
            .map(|(name, _)| name)
            .chain(ty.exports(&self.engine).map(|(name, _)| name));
        // One that names no version is linked as the newest, so that what it
        // imports and exports is what its error names.
        let named = Contract::of(names);
        let contract = named.unwrap_or(Contract::V0_2);
        let pre = linker(&self.engine, &component, contract)
            .and_then(|linker| linker.instantiate_pre(&component))
            .map_err(|e| {
                Load::Refused(format!("it imports what the host does not provide: {e:#}"))
            })?;
        let world = |e: wasmtime::Error| {
            Load::Refused(match named {
                Some(contract) => format!(
                    "it does not export the soar:plugin@{} `integration` world: {e:#}",
                    contract.version()
                ),
                None => "it does not export the soar:plugin `integration` world of any version this host loads (0.1.0, 0.2.0)".into(),
            })
        };
        let pre = match contract {
            Contract::V0_1 => Pre::V0_1(v0_1::IntegrationPre::new(pre).map_err(world)?),
            Contract::V0_2 => Pre::V0_2(v0_2::IntegrationPre::new(pre).map_err(world)?),
        };
        let mut plugin = Plugin {
            manifest: Manifest {
                name: String::new(),
                title: String::new(),
                version: String::new(),
                description: String::new(),
                contract: contract.version().into(),
                config: vec![],
                actions: vec![],
                events: vec![],
            },
            pre,
            checkers: Mutex::default(),
        };
        plugin.manifest = match manifest {
            Some(manifest) => manifest,
            None => {
                let manifest = self.describe(&plugin, contract, deadline).await?;
                if let Some(cache) = &self.disk_cache {
                    cache.store_manifest(&key, &manifest);
                }
                manifest
            }
        };
        Ok(Arc::new(plugin))
    }

    /// Ask the plugin for its manifest, in a store granting nothing, within
    /// the caller's deadline (and never longer than [`MANIFEST_BUDGET`]).
    async fn describe(
        &self,
        plugin: &Plugin,
        contract: Contract,
        deadline: Deadline,
    ) -> Result<Manifest, Load> {
        let own = Deadline::after(MANIFEST_BUDGET);
        let deadline = if own.at < deadline.at { own } else { deadline };
        let state = InvocationState::detached(deadline);
        let (answer, state) = self.call(plugin, state, deadline, Call::Manifest).await;
        match answer {
            Ok(Answer::Manifest(m)) => Manifest::from_wit(m, contract)
                .map_err(|e| Load::Refused(format!("its manifest is refused: {e}"))),
            Ok(_) => unreachable!("a manifest call answers with a manifest"),
            // Describing is answering with constants: one that does not
            // answer within the caller's deadline is broken, not slow.
            Err(CallFailure::Timeout) => Err(Load::Stuck(format!(
                "describe() did not return within {:.0}s",
                deadline.budget().as_secs_f32().ceil()
            ))),
            Err(CallFailure::Trap(t)) => {
                let output = state.captured_output();
                Err(Load::Stuck(format!(
                    "describe() failed: {t}{}",
                    suffix(&output)
                )))
            }
        }
    }

    /// Run one call in a fresh store. The state comes back whatever happened,
    /// for what it recorded (requests sent, output captured).
    pub async fn call(
        &self,
        plugin: &Plugin,
        state: InvocationState,
        deadline: Deadline,
        call: Call,
    ) -> (Result<Answer, CallFailure>, InvocationState) {
        // Without the epoch thread, a spinning guest would never stop.
        if let Err(e) = self.start_ticker() {
            return (Err(CallFailure::Trap(e)), state);
        }
        // A pooled slot, waited for within the deadline.
        let slot = match &self.slots {
            Some(slots) => {
                let slots = Arc::clone(slots);
                match tokio::time::timeout(deadline.remaining(), slots.acquire_owned()).await {
                    Ok(permit) => permit.ok(),
                    Err(_) => return (Err(CallFailure::Timeout), state),
                }
            }
            None => None,
        };
        let (engine, pre) = (self.engine.clone(), plugin.pre.clone());
        let work = async move {
            let outcome = in_store(&engine, &pre, state, deadline, call).await;
            drop(slot);
            outcome
        };
        match &self.guests {
            Some(guests) => guests.run(work).await,
            None => work.await,
        }
    }
}

/// One call in a fresh store: instantiate, call, and take the state back.
async fn in_store(
    engine: &Engine,
    pre: &Pre,
    state: InvocationState,
    deadline: Deadline,
    call: Call,
) -> (Result<Answer, CallFailure>, InvocationState) {
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limits);
    // At every tick in guest code: past the deadline, trap; before it, let
    // the executor run others (a guest that spins then holds a thread for
    // one tick at a time, and the timeout below can fire).
    let at = deadline.at;
    store.epoch_deadline_callback(move |_| {
        Ok(match std::time::Instant::now() >= at {
            true => UpdateDeadline::Interrupt,
            false => UpdateDeadline::Yield(1),
        })
    });
    store.set_epoch_deadline(1);

    let result = {
        let run = run(pre, &mut store, call);
        match tokio::time::timeout(deadline.remaining(), run).await {
            Err(_) => Err(CallFailure::Timeout),
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => match wasmtime::Error::downcast_ref::<Trap>(&e) {
                Some(Trap::Interrupt) => Err(CallFailure::Timeout),
                _ => Err(CallFailure::Trap(trap_message(&e))),
            },
        }
    };
    (result, store.into_data())
}

/// Why a component could not be loaded; either way, for good until it
/// changes.
enum Load {
    /// This host cannot use it (not a component, imports, exports, manifest).
    Refused(String),
    /// Its `describe()` trapped or did not return in time.
    Stuck(String),
}

/// The SHA-256 of a component: its key in the runtime's and the disk's
/// caches. (Hashing 300 KB costs more than all the rest of a warm call: the
/// build script hashes the built-in plugins, and the host remembers the
/// digest of a plugin file until the file changes.)
pub fn digest(wasm: &[u8]) -> [u8; 32] {
    Sha256::digest(wasm).into()
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(stop) = self.ticker.get() {
            stop.store(true, Ordering::Relaxed);
        }
    }
}

/// The first line of the error and its root cause, without the wasm backtrace.
fn trap_message(e: &wasmtime::Error) -> String {
    let top = e.to_string();
    let root = e.root_cause().to_string();
    let first = |s: &str| s.lines().next().unwrap_or("").trim().to_owned();
    if first(&top) == first(&root) {
        first(&top)
    } else {
        format!("{}: {}", first(&top), first(&root))
    }
}

fn suffix(output: &str) -> String {
    if output.is_empty() {
        String::new()
    } else {
        format!(" ({})", output.lines().collect::<Vec<_>>().join(" | "))
    }
}
