//! The library's entry point: load resources and plugins, run the
//! connectivity test, invoke actions. The CLI is one caller; a service,
//! playbooks and workers are others to come.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::capabilities::cache::SharedCache;
use crate::capabilities::http::{self, HttpGrant};
use crate::capabilities::log::PluginLog;
use crate::deadline::Deadline;
use crate::error::{ActionFailure, Error, Result};
use crate::manifest::Manifest;
use crate::params;
use crate::plugins::{self, Body, FileStamp};
use crate::redact::Redactor;
use crate::resource::{ResolvedConfig, Resource};
pub use crate::runtime::Allocation;
use crate::runtime::bindings::{ActionError, ConfigValue, ErrorKind};
use crate::runtime::state::InvocationState;
use crate::runtime::{self, Answer, Call, CallFailure, Plugin, Runtime};

/// The largest result an action may return. Larger is a plugin fault, not
/// something to print or pass on to a playbook engine.
pub const MAX_RESULT_BYTES: usize = 8 << 20;

#[derive(Debug, Clone, Default)]
pub struct HostOptions {
    /// Where compiled components are cached; `None`: the user's cache dir.
    pub cache_dir: Option<PathBuf>,
    /// Compile every run instead of using the on-disk cache.
    pub no_disk_cache: bool,
}

pub struct Host {
    runtime: Runtime,
    cache: Arc<SharedCache>,
    client: reqwest::Client,
    /// The SHA-256 of each plugin file loaded, by what the file was then.
    file_digests: Mutex<HashMap<FileStamp, [u8; 32]>>,
}

/// A successful action.
#[derive(Debug, Clone, Serialize)]
pub struct Invocation {
    pub data: Value,
    /// HTTP requests that left the host, retries included.
    pub http_requests: u32,
    pub elapsed: Duration,
}

/// A successful connectivity test.
#[derive(Debug, Clone, Serialize)]
pub struct TestOutcome {
    pub summary: String,
    pub checks: Vec<(String, String)>,
    pub scopes: Vec<String>,
    pub http_requests: u32,
    pub elapsed: Duration,
}

impl Host {
    /// A host for many calls: instances come from a pool reserved now.
    pub fn new(options: HostOptions) -> Result<Self> {
        Self::with_allocation(options, Allocation::Pooled)
    }

    /// `Allocation::OnDemand` suits a process that makes a call or two and
    /// exits, such as the CLI.
    pub fn with_allocation(options: HostOptions, allocation: Allocation) -> Result<Self> {
        let runtime =
            Runtime::new(options.cache_dir, !options.no_disk_cache, allocation).map_err(|e| {
                Error::Internal {
                    plugin: "-".into(),
                    message: format!("cannot start the WebAssembly runtime: {e:#}"),
                }
            })?;
        Ok(Self {
            runtime,
            cache: Arc::new(SharedCache::default()),
            client: http::client(),
            file_digests: Mutex::default(),
        })
    }

    /// Load a plugin by name or path (relative to `base_dir`).
    pub async fn plugin(&self, reference: &str, base_dir: &std::path::Path) -> Result<Arc<Plugin>> {
        let plugin_err = |message: String| Error::Plugin {
            plugin: reference.to_owned(),
            message,
        };
        let source = plugins::resolve(reference, base_dir).map_err(plugin_err)?;
        let loaded = match source.body {
            Body::Builtin { wasm, digest } => self.runtime.load(digest, wasm).await,
            Body::File(stamp) => self.load_file(stamp).await,
        };
        loaded.map_err(|m| plugin_err(format!("{}: {m}", source.origin)))
    }

    /// A plugin file, read and hashed only when it is new or has changed.
    async fn load_file(&self, stamp: FileStamp) -> std::result::Result<Arc<Plugin>, String> {
        let known = self
            .file_digests
            .lock()
            .ok()
            .and_then(|d| d.get(&stamp).copied());
        if let Some(plugin) = known.and_then(|digest| self.runtime.loaded(&digest)) {
            return Ok(plugin);
        }
        let wasm = stamp.read()?;
        let digest = runtime::digest(&wasm);
        let plugin = self.runtime.load(digest, &wasm).await?;
        if let Ok(mut digests) = self.file_digests.lock() {
            digests.insert(stamp, digest);
        }
        Ok(plugin)
    }

    pub async fn manifest(&self, resource: &Resource) -> Result<Manifest> {
        Ok(self.plugin_of(resource).await?.manifest.clone())
    }

    async fn plugin_of(&self, resource: &Resource) -> Result<Arc<Plugin>> {
        self.plugin(&resource.plugin, resource.base_dir())
            .await
            .map_err(|e| match e {
                Error::Plugin { plugin, message } => {
                    Error::resource(&resource.path, format!("plugin `{plugin}`: {message}"))
                }
                other => other,
            })
    }

    /// The connectivity test: credentials, account, network and scopes.
    pub async fn test(&self, resource: &Resource) -> Result<TestOutcome> {
        let plugin = self.plugin_of(resource).await?;
        let config = resource.resolve(&plugin.manifest)?;
        let deadline = Deadline::after(resource.timeout);
        let call = Call::Test {
            config: wit_config(&config),
        };
        let redactor = Redactor::new(&config.secrets);
        let (answer, http_requests) = self
            .run(&plugin, resource, &config, &redactor, deadline, call)
            .await?;
        let Answer::Test(result) = answer else {
            unreachable!("a test call answers with a test report")
        };
        match result {
            Ok(report) => Ok(TestOutcome {
                summary: redactor.redact(&report.summary),
                checks: report
                    .checks
                    .into_iter()
                    .map(|c| (redactor.redact(&c.name), redactor.redact(&c.detail)))
                    .collect(),
                scopes: report.scopes,
                http_requests,
                elapsed: deadline.started.elapsed(),
            }),
            Err(e) => Err(self.failure(&plugin, &redactor, e, http_requests)),
        }
    }

    /// Run `action` on `resource` with `params` (a JSON object), within the
    /// resource's deadline. Params are checked against the manifest first:
    /// on any error before the plugin runs, nothing is sent.
    pub async fn invoke(
        &self,
        resource: &Resource,
        action: &str,
        params: &Value,
    ) -> Result<Invocation> {
        let plugin = self.plugin_of(resource).await?;
        let manifest = &plugin.manifest;
        let Some(spec) = manifest.action(action) else {
            return Err(Error::UnknownAction {
                plugin: manifest.name.clone(),
                action: action.to_owned(),
                known: manifest.action_names(),
            });
        };
        let checked = params::validate(spec, params).map_err(|message| Error::InvalidParams {
            action: action.to_owned(),
            message,
        })?;
        let config = resource.resolve(manifest)?;
        let deadline = Deadline::after(resource.timeout);
        let call = Call::Invoke {
            action: action.to_owned(),
            config: wit_config(&config),
            params: Value::Object(checked).to_string(),
        };
        let redactor = Redactor::new(&config.secrets);
        let (answer, http_requests) = self
            .run(&plugin, resource, &config, &redactor, deadline, call)
            .await?;
        let Answer::Invoke(result) = answer else {
            unreachable!("an invoke call answers with a result")
        };
        match result {
            Ok(text) if text.len() > MAX_RESULT_BYTES => Err(Error::Internal {
                plugin: manifest.name.clone(),
                message: format!(
                    "action `{action}` returned {} MiB, over the {} MiB limit",
                    text.len() >> 20,
                    MAX_RESULT_BYTES >> 20
                ),
            }),
            Ok(text) => {
                let mut data: Value = serde_json::from_str(&text).map_err(|e| Error::Internal {
                    plugin: manifest.name.clone(),
                    message: format!("action `{action}` returned text that is not JSON: {e}"),
                })?;
                redactor.redact_json(&mut data);
                Ok(Invocation {
                    data,
                    http_requests,
                    elapsed: deadline.started.elapsed(),
                })
            }
            Err(e) => Err(self.failure(&plugin, &redactor, e, http_requests)),
        }
    }

    async fn run(
        &self,
        plugin: &Plugin,
        resource: &Resource,
        config: &ResolvedConfig,
        redactor: &Redactor,
        deadline: Deadline,
        call: Call,
    ) -> Result<(Answer, u32)> {
        let state = InvocationState::new(
            resource.memory_limit_bytes,
            HttpGrant::new(self.client.clone(), config.allowed_hosts.clone(), deadline),
            self.cache.scope(&resource.id),
            PluginLog {
                plugin: plugin.manifest.name.clone(),
                resource: resource.label.clone(),
                redactor: redactor.clone(),
            },
        );
        let (answer, state) = self.runtime.call(plugin, state, deadline, call).await;
        let output = state.captured_output();
        if !output.is_empty() {
            tracing::debug!(target: "plugin", plugin = %plugin.manifest.name, "output: {output}");
        }
        let sent = state.http.sent;
        match answer {
            Ok(answer) => {
                // Fill in what only the host knows: when the rate limit resets.
                let answer = match answer {
                    Answer::Invoke(Err(e)) => {
                        Answer::Invoke(Err(with_retry_after(e, state.http.last_retry_after)))
                    }
                    Answer::Test(Err(e)) => {
                        Answer::Test(Err(with_retry_after(e, state.http.last_retry_after)))
                    }
                    other => other,
                };
                Ok((answer, sent))
            }
            Err(CallFailure::Timeout) => Err(Error::Timeout {
                secs: deadline.budget().as_secs(),
                waiting: match &state.http.waiting_on {
                    Some(what) => format!("waiting for {what}"),
                    None => format!("while plugin `{}` was running", plugin.manifest.name),
                },
            }),
            Err(CallFailure::Trap(trap)) => Err(Error::Internal {
                plugin: plugin.manifest.name.clone(),
                message: redactor.redact(&if output.is_empty() {
                    trap
                } else {
                    format!(
                        "{trap}; it printed: {}",
                        output.lines().collect::<Vec<_>>().join(" | ")
                    )
                }),
            }),
        }
    }

    fn failure(&self, plugin: &Plugin, redactor: &Redactor, e: ActionError, sent: u32) -> Error {
        Error::Action {
            failure: failure_of(plugin, redactor, e),
            sent: sent > 0,
        }
    }
}

fn with_retry_after(mut e: ActionError, last: Option<u64>) -> ActionError {
    if e.kind == ErrorKind::RateLimited && e.retry_after_secs.is_none() {
        e.retry_after_secs = last;
    }
    e
}

fn failure_of(plugin: &Plugin, redactor: &Redactor, e: ActionError) -> ActionFailure {
    ActionFailure {
        kind: kind_name(e.kind).into(),
        message: redactor.redact(&e.message),
        http_status: e.http_status,
        upstream_code: e.upstream_code,
        retry_after_secs: e.retry_after_secs,
        upstream: plugin.manifest.title.clone(),
    }
}

fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidInput => "invalid-input",
        ErrorKind::Config => "config",
        ErrorKind::Auth => "auth",
        ErrorKind::Forbidden => "forbidden",
        ErrorKind::NotFound => "not-found",
        ErrorKind::Conflict => "conflict",
        ErrorKind::RateLimited => "rate-limited",
        ErrorKind::Upstream => "upstream",
        ErrorKind::Timeout => "timeout",
        ErrorKind::Denied => "denied",
        ErrorKind::Internal => "internal",
    }
}

fn wit_config(config: &ResolvedConfig) -> Vec<ConfigValue> {
    config
        .values
        .iter()
        .map(|(name, value)| ConfigValue {
            name: name.clone(),
            value: value.to_string(),
        })
        .collect()
}
