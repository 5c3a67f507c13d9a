//! What one invocation's `Store` holds: a WASI context with nothing granted
//! (no files, no environment, no sockets; stdout/stderr captured), the
//! resource limits, and the host capabilities the plugin imports.

use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::soar::plugin::{cache, http, log, types};
use super::bindings::{HttpError, HttpRequest, HttpResponse, LogLevel};
use crate::capabilities::cache::CacheScope;
use crate::capabilities::http::HttpGrant;
use crate::capabilities::log::PluginLog;

/// What a plugin may write to stdout/stderr before writes fail.
const CAPTURE_BYTES: usize = 256 * 1024;

pub struct InvocationState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: StoreLimits,
    pub http: HttpGrant,
    pub cache: CacheScope,
    pub log: PluginLog,
    pub output: MemoryOutputPipe,
}

impl InvocationState {
    pub fn new(memory_bytes: usize, http: HttpGrant, cache: CacheScope, log: PluginLog) -> Self {
        let output = MemoryOutputPipe::new(CAPTURE_BYTES);
        let wasi = WasiCtx::builder()
            .stdout(output.clone())
            .stderr(output.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        Self {
            wasi,
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new()
                .memory_size(memory_bytes)
                .instances(16)
                .tables(64)
                .memories(8)
                .trap_on_grow_failure(true)
                .build(),
            http,
            cache,
            log,
            output,
        }
    }

    /// A state granting nothing at all: no egress, an empty private cache.
    /// For calls that need no resource, such as `describe`.
    pub fn detached(deadline: crate::deadline::Deadline) -> Self {
        Self::new(
            crate::resource::DEFAULT_MEMORY_MIB as usize * (1 << 20),
            HttpGrant::new(detached_client(), Vec::new(), deadline),
            std::sync::Arc::new(crate::capabilities::cache::SharedCache::default()).scope(""),
            PluginLog {
                plugin: "(describe)".into(),
                resource: String::new(),
                redactor: Default::default(),
            },
        )
    }

    /// What the plugin printed (a Rust panic message lands here), redacted.
    pub fn captured_output(&self) -> String {
        let bytes = self.output.contents();
        self.log
            .redactor
            .redact(String::from_utf8_lossy(&bytes).trim())
    }
}

/// The client of detached states. It is never used (they allow no host: a
/// request is refused before any connection), but a grant needs one, and
/// building one per `describe` cost a CLI start 0.1 ms.
fn detached_client() -> reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(reqwest::Client::new).clone()
}

impl WasiView for InvocationState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for InvocationState {}

impl http::Host for InvocationState {
    async fn send(
        &mut self,
        request: HttpRequest,
    ) -> wasmtime::Result<Result<HttpResponse, HttpError>> {
        Ok(self.http.send(request).await)
    }
}

impl cache::Host for InvocationState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        Ok(self.cache.get(&key))
    }

    async fn set(&mut self, key: String, value: String, ttl_secs: u32) -> wasmtime::Result<()> {
        self.cache.set(
            &key,
            &value,
            std::time::Duration::from_secs(ttl_secs.into()),
        );
        Ok(())
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        self.cache.delete(&key);
        Ok(())
    }
}

impl log::Host for InvocationState {
    async fn log(&mut self, level: LogLevel, message: String) -> wasmtime::Result<()> {
        self.log.log(level, &message);
        Ok(())
    }
}
