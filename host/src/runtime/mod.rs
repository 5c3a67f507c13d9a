//! The WebAssembly runtime: one `Engine` per process, each component compiled
//! once (and cached on disk) into an `InstancePre`, and a fresh `Store` per
//! call, so nothing leaks between calls or resources. Memory is capped per
//! store; wall-clock time by epoch interruption (for guest code) and a
//! timeout around the whole call (for host calls waiting on the network).

pub mod bindings;
mod compile_cache;
pub mod state;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, Store, Trap};

use bindings::{ActionError, ConfigValue, Integration, IntegrationPre, TestReport, WitManifest};
use compile_cache::CompileCache;
use state::InvocationState;

use crate::deadline::Deadline;
use crate::manifest::Manifest;

/// How often the epoch advances: the granularity of guest deadlines.
const EPOCH_TICK: Duration = Duration::from_millis(10);
/// Budget for a plugin to describe itself.
const MANIFEST_BUDGET: Duration = Duration::from_secs(10);

/// A compiled plugin, ready to instantiate.
pub struct Plugin {
    pub manifest: Manifest,
    pre: IntegrationPre<InvocationState>,
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
}

pub enum Answer {
    Manifest(WitManifest),
    Test(Result<TestReport, ActionError>),
    Invoke(Result<String, ActionError>),
}

/// Why a call produced no answer.
#[derive(Debug)]
pub enum CallFailure {
    /// The deadline passed (in guest code, or waiting on the host).
    Timeout,
    /// The guest trapped: a panic, the memory cap, a bad instruction.
    Trap(String),
}

pub struct Runtime {
    engine: Engine,
    linker: Linker<InvocationState>,
    disk_cache: Option<CompileCache>,
    plugins: Mutex<HashMap<[u8; 32], Arc<Plugin>>>,
    ticker_stop: Arc<AtomicBool>,
}

impl Runtime {
    /// `cache_dir`: where compiled components are kept; `None` picks the
    /// user's cache directory; caching is skipped when `disk_cache` is false.
    pub fn new(cache_dir: Option<PathBuf>, disk_cache: bool) -> anyhow::Result<Self> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        let engine = Engine::new(&config)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        Integration::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)?;

        let ticker_stop = Arc::new(AtomicBool::new(false));
        {
            let engine = engine.clone();
            let stop = Arc::clone(&ticker_stop);
            std::thread::Builder::new()
                .name("soar-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        engine.increment_epoch();
                    }
                })?;
        }
        Ok(Self {
            engine,
            linker,
            disk_cache: if disk_cache {
                CompileCache::open(cache_dir)
            } else {
                None
            },
            plugins: Mutex::new(HashMap::new()),
            ticker_stop,
        })
    }

    /// Compile (or fetch from a cache) a component and read its manifest.
    pub async fn load(&self, wasm: &[u8]) -> Result<Arc<Plugin>, String> {
        let key: [u8; 32] = Sha256::digest(wasm).into();
        if let Some(plugin) = self.plugins.lock().ok().and_then(|p| p.get(&key).cloned()) {
            return Ok(plugin);
        }
        let component = match self
            .disk_cache
            .as_ref()
            .and_then(|c| c.load(&self.engine, wasm))
        {
            Some(component) => component,
            None => {
                if !wasm.starts_with(b"\0asm") {
                    return Err("not a WebAssembly file".into());
                }
                let component = Component::new(&self.engine, wasm).map_err(|e| {
                    format!("not a WebAssembly component this host can load: {e:#}")
                })?;
                if let Some(cache) = &self.disk_cache {
                    cache.store(&self.engine, wasm, &component);
                }
                component
            }
        };
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| format!("it imports what the host does not provide: {e:#}"))?;
        let pre = IntegrationPre::new(pre).map_err(|e| {
            format!("it does not export the soar:plugin@0.1.0 `integration` world: {e:#}")
        })?;
        let mut plugin = Plugin {
            manifest: Manifest {
                name: String::new(),
                title: String::new(),
                version: String::new(),
                description: String::new(),
                config: vec![],
                actions: vec![],
            },
            pre,
        };
        let state = InvocationState::detached(Deadline::after(MANIFEST_BUDGET));
        let (answer, state) = self
            .call(
                &plugin,
                state,
                Deadline::after(MANIFEST_BUDGET),
                Call::Manifest,
            )
            .await;
        let manifest = match answer {
            Ok(Answer::Manifest(m)) => Manifest::from_wit(m)?,
            Ok(_) => unreachable!("a manifest call answers with a manifest"),
            Err(CallFailure::Timeout) => return Err("describe() did not return in time".into()),
            Err(CallFailure::Trap(t)) => {
                let output = state.captured_output();
                return Err(format!("describe() failed: {t}{}", suffix(&output)));
            }
        };
        plugin.manifest = manifest;
        let plugin = Arc::new(plugin);
        if let Ok(mut plugins) = self.plugins.lock() {
            plugins.insert(key, Arc::clone(&plugin));
        }
        Ok(plugin)
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
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        let ticks = deadline.remaining().as_millis() / EPOCH_TICK.as_millis() + 1;
        store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
        store.epoch_deadline_trap();

        let result = {
            let run = async {
                let instance = plugin.pre.instantiate_async(&mut store).await?;
                let api = instance.soar_plugin_plugin();
                wasmtime::Result::Ok(match call {
                    Call::Manifest => Answer::Manifest(api.call_describe(&mut store).await?),
                    Call::Test { config } => {
                        Answer::Test(api.call_test(&mut store, &config).await?)
                    }
                    Call::Invoke {
                        action,
                        config,
                        params,
                    } => Answer::Invoke(
                        api.call_invoke(&mut store, &action, &config, &params)
                            .await?,
                    ),
                })
            };
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
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
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
