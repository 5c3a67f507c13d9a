//! What one invocation's `Store` holds: a WASI context with nothing granted
//! (no files, no environment, no sockets; stdout/stderr captured), the
//! resource limits, and the state of each host capability the plugin
//! imports. The capabilities implement their own WIT interfaces; this is
//! only where they live during a call.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::output::Captured;
use crate::capabilities::http::HttpGrant;
use crate::capabilities::log::PluginLog;
use crate::capabilities::store::{Store, StoreScope};

pub struct InvocationState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: StoreLimits,
    pub http: HttpGrant,
    pub store: StoreScope,
    pub log: PluginLog,
    pub output: Captured,
}

impl InvocationState {
    pub fn new(memory_bytes: usize, http: HttpGrant, store: StoreScope, log: PluginLog) -> Self {
        let output = Captured::default();
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
            store,
            log,
            output,
        }
    }

    /// A state granting nothing at all: no egress, an empty private store.
    /// For calls that need no resource, such as `describe`.
    pub fn detached(deadline: crate::deadline::Deadline) -> Self {
        static EMPTY: std::sync::OnceLock<Arc<Store>> = std::sync::OnceLock::new();
        let store = EMPTY.get_or_init(|| Arc::new(Store::in_memory()));
        Self::new(
            crate::resource::DEFAULT_MEMORY_MIB as usize * (1 << 20),
            HttpGrant::new(None, Default::default(), deadline, None),
            store.scope("(describe)"),
            PluginLog::new("(describe)", ""),
        )
    }

    /// What the plugin printed (a Rust panic message lands here), and a
    /// note of what was dropped over the bound.
    pub fn captured_output(&self) -> String {
        let (mut bytes, dropped) = self.output.contents();
        if dropped > 0 {
            // The bound may cut through a secret, whose first part would
            // then not be recognised: what precedes the cut by less than
            // the longest form of a secret goes too.
            bytes.truncate(bytes.len().saturating_sub(crate::redact::MAX_FORM_LEN));
        }
        let mut text = String::from_utf8_lossy(&bytes).trim().to_owned();
        if dropped > 0 {
            text.push_str(&format!(
                " … ({dropped} more bytes dropped over the {} KiB bound)",
                super::output::CAPTURE_BYTES >> 10
            ));
        }
        text
    }
}

impl WasiView for InvocationState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Where each capability's state is, for its linking.
macro_rules! project {
    ($($field:ident: $ty:ty),*) => {$(
        impl crate::bindings::Project<$ty> for InvocationState {
            fn project(&mut self) -> &mut $ty {
                &mut self.$field
            }
        }
    )*};
}

project!(http: HttpGrant, store: StoreScope, log: PluginLog);
