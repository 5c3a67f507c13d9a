//! The library's entry point: load resources and plugins, run the
//! connectivity test, invoke actions, receive webhooks. Its callers are the
//! CLI, the service (soar-host-service) and the worker (soar-host-worker). Every
//! answer passes the redaction at the edge ([`crate::redact`]) on its way
//! out.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value;

use crate::bindings::{ActionError, ConfigValue, ErrorKind as WitErrorKind};
use crate::capabilities::http::{
    self, Bearer, Downloads, HttpGrant, Pacer, Progress, SavedFiles, UpstreamStats,
};
use crate::capabilities::log::PluginLog;
use crate::capabilities::store::Store;
use crate::deadline::Deadline;
use crate::egress::Rule;
use crate::error::{ActionFailure, Error, Result};
use crate::manifest::Manifest;
use crate::params;
use crate::plugins::{self, Body, FileStamp};
use crate::redact::{self, Redact};
use crate::resource::{ResolvedConfig, Resource};
pub use crate::runtime::Allocation;

mod outcome;
mod webhook;
use crate::runtime::state::InvocationState;
use crate::runtime::{self, Answer, Call, CallFailure, Plugin, Runtime};
pub use outcome::{Invocation, Readiness, TestOutcome};
pub use webhook::{WebhookAnswer, WebhookRequest};

/// The largest result an action may return. Larger is a plugin fault, not
/// something to print or pass on to a playbook engine.
pub const MAX_RESULT_BYTES: usize = 8 << 20;
/// The longest plugin loading may take when no caller's deadline applies.
const LOAD_BUDGET: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Default)]
pub struct HostOptions {
    /// Where compiled components are cached; `None`: the user's cache dir.
    pub cache_dir: Option<PathBuf>,
    /// Compile every run instead of using the on-disk cache.
    pub no_disk_cache: bool,
    /// Where the persistent store lives; `None`: the user's state dir.
    pub state_dir: Option<PathBuf>,
    /// Keep the store in memory: the run leaves nothing behind.
    pub no_store: bool,
}

pub struct Host {
    runtime: Runtime,
    /// Where the store is (`None`: in memory); opened when a plugin first
    /// runs, so that a command that runs none (`actions`) never opens it.
    store_dir: Option<PathBuf>,
    store: OnceLock<Arc<Store>>,
    client: reqwest::Client,
    /// The SHA-256 of each plugin file loaded, by what the file was then.
    file_digests: Mutex<HashMap<FileStamp, [u8; 32]>>,
    /// Rate-limit pauses shared by the runs of each resource.
    pacer: Arc<Pacer>,
}

/// What an invocation may do beyond HTTP calls.
#[derive(Clone, Default)]
pub struct InvokeOptions {
    /// Where downloads are written; `None`: the action may not download.
    pub output_dir: Option<PathBuf>,
    /// Told of a download's progress (bytes so far, total when known).
    pub progress: Option<Progress>,
}

impl Host {
    /// A host for many calls: instances come from a pool reserved now.
    /// Its store is opened now: a long-running caller learns at start
    /// that its state directory is unusable.
    pub fn new(options: HostOptions) -> Result<Self> {
        let host = Self::with_allocation(options, Allocation::Pooled)?;
        host.store()?;
        Ok(host)
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
        let store_dir = match (
            options.no_store,
            options.state_dir.or_else(Store::default_dir),
        ) {
            (false, Some(dir)) => Some(dir),
            (false, None) => {
                tracing::warn!(
                    "no state directory (HOME is not set): the store lasts this run only"
                );
                None
            }
            (true, _) => None,
        };
        let client = http::client().map_err(|message| Error::Internal {
            plugin: "-".into(),
            message,
        })?;
        Ok(Self {
            runtime,
            store_dir,
            store: OnceLock::new(),
            client,
            file_digests: Mutex::default(),
            pacer: Arc::default(),
        })
    }

    /// The persistent store (or the in-memory one), opened on first use.
    pub fn store(&self) -> Result<&Arc<Store>> {
        if let Some(store) = self.store.get() {
            return Ok(store);
        }
        let store = match &self.store_dir {
            Some(dir) => Store::open(dir).map_err(|e| {
                Error::Usage(format!(
                    "cannot use the state directory: {e}; fix it, point --state-dir (or SOAR_HOST_STATE_DIR) elsewhere, or run with --no-store"
                ))
            })?,
            None => Store::in_memory(),
        };
        // Two first calls at once may both open it; one is kept.
        Ok(self.store.get_or_init(|| Arc::new(store)))
    }

    /// For a resource with `auth = "user"`: the signed-in user's token
    /// (refreshed when due, one process at a time) for the requests under
    /// its `api_url`. The plugin never sees it.
    async fn user_bearer(
        &self,
        resource: &Resource,
        config: &ResolvedConfig,
    ) -> Result<Option<Bearer>> {
        if resource.oauth.is_none() {
            return Ok(None);
        }
        let Some(Value::String(api_url)) = config
            .values
            .iter()
            .find(|(name, _)| name == "api_url")
            .map(|(_, v)| v)
        else {
            return Err(Error::resource(
                &resource.path,
                "`auth = \"user\"` sends the user's token to the plugin's `api_url`, which this plugin has not",
            ));
        };
        let store = self.store()?;
        let state_dir = self.state_dir().unwrap_or(Path::new("."));
        match crate::user_auth::access_token(resource, store, state_dir).await {
            Ok(token) => {
                // Whatever a plugin or an upstream says, never the token.
                redact::register(std::slice::from_ref(&token));
                let refresh: crate::capabilities::http::Refresh = {
                    let (resource, store, dir) =
                        (resource.clone(), Arc::clone(store), state_dir.to_path_buf());
                    Arc::new(move |refused: String| {
                        let (resource, store, dir) =
                            (resource.clone(), Arc::clone(&store), dir.clone());
                        Box::pin(async move {
                            crate::user_auth::renewed_token(&resource, &store, &dir, &refused)
                                .await
                                .map_err(|e| (e.reauth, e.message))
                        })
                    })
                };
                Ok(Some(Bearer {
                    prefix: api_url.clone(),
                    token,
                    refresh: Some(refresh),
                }))
            }
            // A provider that cannot be reached or answers oddly: worth a
            // later try; nothing reached the API.
            Err(e) if e.sent && !e.reauth => Err(Error::Action {
                failure: ActionFailure {
                    kind: crate::ErrorKind::Upstream,
                    message: e.message,
                    http_status: None,
                    upstream_code: None,
                    retry_after_secs: None,
                    upstream: "the OAuth provider".into(),
                },
                sent: false,
            }),
            // Not signed in, refused, or kept under another key: a person
            // must sign in.
            Err(e) => Err(Error::ReauthRequired { message: e.message }),
        }
    }

    /// The state directory, `None` when the store is kept in memory.
    pub fn state_dir(&self) -> Option<&Path> {
        self.store_dir.as_deref()
    }

    /// What this host's runs did upstream: retries, rate-limit waits.
    pub fn upstream_stats(&self) -> &UpstreamStats {
        &self.pacer.stats
    }

    /// Load a plugin by name or path (relative to `base_dir`).
    pub async fn plugin(&self, reference: &str, base_dir: &Path) -> Result<Arc<Plugin>> {
        self.plugin_within(reference, base_dir, Deadline::after(LOAD_BUDGET))
            .await
            .redact()
    }

    async fn plugin_within(
        &self,
        reference: &str,
        base_dir: &Path,
        deadline: Deadline,
    ) -> Result<Arc<Plugin>> {
        let plugin_err = |message: String| Error::Plugin {
            plugin: reference.to_owned(),
            message,
        };
        let source = plugins::resolve(reference, base_dir).map_err(plugin_err)?;
        let loaded = match source.body {
            Body::Builtin { wasm, digest } => self.runtime.load(digest, wasm, deadline).await,
            Body::File(stamp) => self.load_file(stamp, deadline).await,
        };
        loaded.map_err(|m| plugin_err(format!("{}: {m}", source.origin)))
    }

    /// A plugin file, read and hashed only when it is new or has changed.
    async fn load_file(
        &self,
        stamp: FileStamp,
        deadline: Deadline,
    ) -> std::result::Result<Arc<Plugin>, String> {
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
        if let Ok(mut digests) = self.file_digests.lock() {
            digests.insert(stamp, digest);
        }
        self.runtime.load(digest, &wasm, deadline).await
    }

    pub async fn manifest(&self, resource: &Resource) -> Result<Manifest> {
        let deadline = Deadline::after(resource.timeout);
        self.manifest_of(resource, deadline).await.redact()
    }

    /// The resource's egress list, as its plugin's manifest resolves it.
    pub async fn egress(&self, resource: &Resource) -> Result<Vec<Rule>> {
        let manifest = self.manifest(resource).await?;
        Self::egress_for(resource, &manifest)
    }

    /// [`Host::egress`] for a manifest the caller already has.
    pub fn egress_for(resource: &Resource, manifest: &Manifest) -> Result<Vec<Rule>> {
        let config = resource.resolve(manifest).map_err(Redact::redact)?;
        redact::register(&config.secrets);
        Ok(config.egress.rules)
    }

    /// The manifest of a resource's plugin: that of a plugin this host
    /// loaded, or the one the disk cache keeps beside the compiled
    /// component. Listing actions and resolving egress need no code, and
    /// deserialising and linking it cost more than the rest of `actions`.
    /// Else the plugin is loaded.
    async fn manifest_of(&self, resource: &Resource, deadline: Deadline) -> Result<Manifest> {
        let known = plugins::resolve(&resource.plugin, resource.base_dir())
            .ok()
            .and_then(|source| match source.body {
                Body::Builtin { digest, .. } => Some(digest),
                Body::File(stamp) => self.file_digests.lock().ok()?.get(&stamp).copied(),
            })
            .and_then(|digest| self.runtime.cached_manifest(&digest));
        match known {
            Some(manifest) => Ok(manifest),
            None => Ok(self.plugin_of(resource, deadline).await?.manifest.clone()),
        }
    }

    async fn plugin_of(&self, resource: &Resource, deadline: Deadline) -> Result<Arc<Plugin>> {
        self.plugin_within(&resource.plugin, resource.base_dir(), deadline)
            .await
            .map_err(|e| match e {
                Error::Plugin { plugin, message } => {
                    Error::resource(&resource.path, format!("plugin `{plugin}`: {message}"))
                }
                other => other,
            })
    }

    /// The resource's config resolved, its secrets registered for redaction.
    fn resolve(&self, resource: &Resource, plugin: &Arc<Plugin>) -> Result<Arc<ResolvedConfig>> {
        let config = resource.resolve_for(plugin)?;
        redact::register(&config.secrets);
        Ok(config)
    }

    /// The connectivity test: credentials, account, network and scopes.
    pub async fn test(&self, resource: &Resource) -> Result<TestOutcome> {
        self.test_inner(resource).await.redact()
    }

    async fn test_inner(&self, resource: &Resource) -> Result<TestOutcome> {
        // Loading counts against the action's deadline.
        let deadline = Deadline::after(resource.timeout);
        let plugin = self.plugin_of(resource, deadline).await?;
        let config = self.resolve(resource, &plugin)?;
        let call = Call::Test {
            config: wit_config(&config),
        };
        // The test reads: what it sends may be sent again.
        let grant = Grant {
            downloads: None,
            repeatable: true,
        };
        let (answer, http_requests, _) = self
            .run(&plugin, resource, &config, deadline, grant, call)
            .await?;
        let Answer::Test(result) = answer else {
            unreachable!("a test call answers with a test report")
        };
        match result {
            Ok(mut report) => {
                // A user's sign-in: the plugin never held the token, the
                // host knows what it was granted.
                if resource.oauth.is_some() && report.scopes.is_empty() {
                    report.scopes = self.user_scopes(resource)?;
                    report.readiness = readiness(&plugin.manifest, &report.scopes);
                }
                Ok(TestOutcome {
                    summary: report.summary,
                    checks: report
                        .checks
                        .into_iter()
                        .map(|c| (c.name, c.detail))
                        .collect(),
                    scopes: report.scopes,
                    readiness: report
                        .readiness
                        .into_iter()
                        .map(|r| Readiness {
                            action: r.action,
                            ready: r.ready,
                            reason: r.reason,
                        })
                        .collect(),
                    egress: config.egress.rules.clone(),
                    http_requests,
                    elapsed: deadline.started.elapsed(),
                })
            }
            Err(e) => Err(failure(&plugin, resource, e, http_requests)),
        }
    }

    /// The scopes the user's kept sign-in was granted.
    fn user_scopes(&self, resource: &Resource) -> Result<Vec<String>> {
        let state_dir = self.state_dir().unwrap_or(Path::new("."));
        crate::user_auth::status(resource, self.store()?, state_dir)
            .map(|status| status.scopes)
            .map_err(|e| Error::ReauthRequired { message: e.message })
    }

    /// Run `action` on `resource` with `params` (a JSON object), within the
    /// resource's deadline. Params are checked against the action's schema
    /// first: on any error before the plugin runs, nothing is sent.
    pub async fn invoke(
        &self,
        resource: &Resource,
        action: &str,
        params: &Value,
    ) -> Result<Invocation> {
        self.invoke_with(resource, action, params, &InvokeOptions::default())
            .await
    }

    /// [`Host::invoke`], with somewhere to write downloads.
    pub async fn invoke_with(
        &self,
        resource: &Resource,
        action: &str,
        params: &Value,
        options: &InvokeOptions,
    ) -> Result<Invocation> {
        self.invoke_inner(resource, action, params, options)
            .await
            .redact()
    }

    /// Check `action` and `params` against the resource's plugin without
    /// running anything: the action to run later with
    /// [`Host::run_prepared`] (a service answers bad input at once, runs
    /// later). [`Host::invoke`] is the two in one.
    pub async fn prepare(
        &self,
        resource: &Resource,
        action: &str,
        params: &Value,
    ) -> Result<Prepared> {
        let deadline = Deadline::after(resource.timeout);
        self.prepare_within(resource, action, params, deadline)
            .await
            .redact()
    }

    /// Run an action [`Host::prepare`]d for `resource`, within the
    /// resource's deadline from now.
    pub async fn run_prepared(
        &self,
        resource: &Resource,
        prepared: &Prepared,
        options: &InvokeOptions,
    ) -> Result<Invocation> {
        let deadline = Deadline::after(resource.timeout);
        self.execute(resource, prepared, options, deadline)
            .await
            .redact()
    }

    async fn invoke_inner(
        &self,
        resource: &Resource,
        action: &str,
        params: &Value,
        options: &InvokeOptions,
    ) -> Result<Invocation> {
        // Loading and checking count against the action's deadline.
        let deadline = Deadline::after(resource.timeout);
        let prepared = self
            .prepare_within(resource, action, params, deadline)
            .await?;
        self.execute(resource, &prepared, options, deadline).await
    }

    async fn prepare_within(
        &self,
        resource: &Resource,
        action: &str,
        params: &Value,
        deadline: Deadline,
    ) -> Result<Prepared> {
        let plugin = self.plugin_of(resource, deadline).await?;
        let manifest = &plugin.manifest;
        let Some(index) = manifest.actions.iter().position(|a| a.name == action) else {
            return Err(Error::UnknownAction {
                plugin: manifest.name.clone(),
                action: redact::printable(action).into_owned(),
                known: manifest.action_names(),
            });
        };
        let invalid = |message| Error::InvalidParams {
            action: action.to_owned(),
            message,
        };
        let spec = &manifest.actions[index];
        let checker = plugin.checker(spec).map_err(invalid)?;
        let params = params::validate(spec, &checker, params).map_err(invalid)?;
        Ok(Prepared {
            plugin,
            index,
            params,
        })
    }

    async fn execute(
        &self,
        resource: &Resource,
        prepared: &Prepared,
        options: &InvokeOptions,
        deadline: Deadline,
    ) -> Result<Invocation> {
        let plugin = &prepared.plugin;
        let (manifest, action) = (&plugin.manifest, &prepared.action().name);
        let config = self.resolve(resource, plugin)?;
        let call = Call::Invoke {
            action: action.to_owned(),
            config: wit_config(&config),
            params: serde_json::to_string(&prepared.params).unwrap_or_default(),
        };
        let grant = Grant {
            downloads: options.output_dir.as_ref().map(|dir| Downloads {
                dir: dir.clone(),
                limits: resource.limits,
                progress: options.progress.clone(),
            }),
            repeatable: prepared.action().idempotent,
        };
        let (answer, http_requests, files) = self
            .run(plugin, resource, &config, deadline, grant, call)
            .await?;
        let Answer::Invoke(result) = answer else {
            unreachable!("an invoke call answers with a result")
        };
        // Dropped on any error: the files go with it.
        match result {
            Ok(text) if text.len() > MAX_RESULT_BYTES => Err(Error::Internal {
                plugin: manifest.name.clone(),
                message: format!(
                    "action `{action}` returned {} MiB, over the {} MiB limit",
                    text.len() >> 20,
                    MAX_RESULT_BYTES >> 20
                ),
            }),
            Ok(text) => serde_json::from_str(&text)
                .map(|data| Invocation {
                    data,
                    http_requests,
                    files: files.keep(),
                    elapsed: deadline.started.elapsed(),
                })
                .map_err(|e| Error::Internal {
                    plugin: manifest.name.clone(),
                    message: format!("action `{action}` returned text that is not JSON: {e}"),
                }),
            Err(e) => Err(failure(plugin, resource, e, http_requests)),
        }
    }

    /// Run one call of `plugin` for `resource`; the files its downloads
    /// wrote come back to be kept, or go when dropped.
    async fn run(
        &self,
        plugin: &Plugin,
        resource: &Resource,
        config: &ResolvedConfig,
        deadline: Deadline,
        grant: Grant,
        call: Call,
    ) -> Result<(Answer, u32, SavedFiles)> {
        let bearer = self.user_bearer(resource, config).await?;
        let store = self.store()?.scope(&resource.id);
        let state = InvocationState::new(
            resource.memory_limit_bytes,
            HttpGrant::new(
                Some(self.client.clone()),
                config.egress.clone(),
                deadline,
                grant.downloads,
            )
            .paced(self.pacer.for_resource(&resource.id))
            .repeatable(grant.repeatable)
            .bearer(bearer),
            store,
            PluginLog::new(plugin.manifest.name.clone(), resource.label.clone()),
        );
        let (answer, mut state) = self.runtime.call(plugin, state, deadline, call).await;
        let output = state.captured_output();
        if !output.is_empty() {
            tracing::debug!(target: "plugin", plugin = %plugin.manifest.name, "output: {output}");
        }
        let sent = state.http.sent;
        let files = std::mem::take(&mut state.http.saved);
        match answer {
            // The user's token was refused and its sign-in with it: the
            // plugin's auth error is the person's to mend.
            Ok(Answer::Invoke(Err(e)) | Answer::Test(Err(e)))
                if e.kind == WitErrorKind::Auth && state.http.reauth.is_some() =>
            {
                let message = state.http.reauth.take().unwrap_or_default();
                Err(Error::ReauthRequired { message })
            }
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
                Ok((answer, sent, files))
            }
            Err(failure) => {
                drop(files);
                Err(match failure {
                    CallFailure::Timeout => Error::Timeout {
                        secs: deadline.budget().as_secs(),
                        waiting: match &state.http.waiting_on {
                            Some(what) => format!("waiting for {what}"),
                            None => format!("while plugin `{}` was running", plugin.manifest.name),
                        },
                    },
                    CallFailure::Trap(trap) => Error::Internal {
                        plugin: plugin.manifest.name.clone(),
                        message: if output.is_empty() {
                            trap
                        } else {
                            format!(
                                "{trap}; it printed: {}",
                                output.lines().collect::<Vec<_>>().join(" | ")
                            )
                        },
                    },
                })
            }
        }
    }
}

/// The longest error message of a plugin passed on.
const MAX_ERROR_MESSAGE: usize = 4 << 10;

/// Per action: ready when it needs no scope or any one of its scopes was
/// granted (as the guest SDK says it for the account's token).
fn readiness(
    manifest: &Manifest,
    granted: &[String],
) -> Vec<crate::bindings::v0_2::soar::plugin::types::ActionReadiness> {
    manifest
        .actions
        .iter()
        .map(|action| {
            let ready =
                action.scopes.is_empty() || action.scopes.iter().any(|s| granted.contains(s));
            crate::bindings::v0_2::soar::plugin::types::ActionReadiness {
                action: action.name.clone(),
                ready,
                reason: if ready {
                    String::new()
                } else {
                    format!("missing scope: one of {}", action.scopes.join(", "))
                },
            }
        })
        .collect()
}

/// A plugin's error as the host reports it; a config error it found before
/// sending anything names the resource file, where the fix goes.
fn failure(plugin: &Plugin, resource: &Resource, e: ActionError, sent: u32) -> Error {
    let message = redact::clipped(&e.message, MAX_ERROR_MESSAGE);
    let message = if e.kind == WitErrorKind::Config && sent == 0 {
        format!("resource file {}: {message}", resource.path.display())
    } else {
        message
    };
    Error::Action {
        failure: ActionFailure {
            kind: e.kind.into(),
            message,
            http_status: e.http_status,
            upstream_code: e.upstream_code,
            retry_after_secs: e.retry_after_secs,
            upstream: plugin.manifest.title.clone(),
        },
        sent: sent > 0,
    }
}

/// What one call may do beyond reaching its egress list.
#[derive(Default)]
struct Grant {
    /// Where its downloads go; `None`: it may not download.
    downloads: Option<Downloads>,
    /// It is idempotent: the host may send a request the plugin marks
    /// idempotent again after a 5xx (see `capabilities::http::retry`).
    repeatable: bool,
}

fn with_retry_after(mut e: ActionError, last: Option<u64>) -> ActionError {
    if e.kind == WitErrorKind::RateLimited && e.retry_after_secs.is_none() {
        e.retry_after_secs = last;
    }
    e
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

/// Checked at load; holds no config value.
impl Redact for Manifest {
    fn redact(self) -> Self {
        self
    }
}

/// Scheme, host and port only, from the resource and the manifest.
impl Redact for Rule {
    fn redact(self) -> Self {
        self
    }
}

/// An action checked against its plugin's manifest, its params converted to
/// the schema's types and valid: ready to run.
pub struct Prepared {
    plugin: Arc<Plugin>,
    /// The action's place in the plugin's manifest.
    index: usize,
    params: serde_json::Map<String, Value>,
}

impl Prepared {
    /// The action as the manifest declares it (kind, scopes, idempotency).
    pub fn action(&self) -> &crate::manifest::Action {
        &self.plugin.manifest.actions[self.index]
    }

    /// The params as they will be sent to the plugin.
    pub fn params(&self) -> &serde_json::Map<String, Value> {
        &self.params
    }

    /// The plugin's manifest name.
    pub fn plugin(&self) -> &str {
        &self.plugin.manifest.name
    }
}

/// Holds no config value: the params are the caller's, checked.
impl Redact for Prepared {
    fn redact(self) -> Self {
        self
    }
}

impl Redact for Arc<Plugin> {
    fn redact(self) -> Self {
        self
    }
}
