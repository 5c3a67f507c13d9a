//! The `log` import: a plugin's log lines routed into the host's tracing
//! under the `plugin` target. Bounded per invocation (lines and bytes) the
//! way captured stdout/stderr is: past the bound, lines are dropped and the
//! host says once how many. Secrets are redacted where all output leaves the
//! host (see [`crate::redact`]).

use wasmtime::component::{HasSelf, Linker};

use crate::bindings::{Contract, LogLevel, Project, v0_1, v0_2};

/// Longest log line kept from a plugin.
const MAX_LINE: usize = 4096;
/// What one invocation may log.
pub const MAX_LINES: u32 = 1000;
pub const MAX_BYTES: usize = 256 * 1024;

pub struct PluginLog {
    pub plugin: String,
    pub resource: String,
    lines: u32,
    bytes: usize,
    dropped: u32,
}

impl PluginLog {
    pub fn new(plugin: impl Into<String>, resource: impl Into<String>) -> Self {
        Self {
            plugin: plugin.into(),
            resource: resource.into(),
            lines: 0,
            bytes: 0,
            dropped: 0,
        }
    }

    pub fn log(&mut self, level: LogLevel, message: &str) {
        // Masked before it is cut: a cut through a secret would leave a
        // part of it that no longer matches.
        let message = &crate::redact::scrub(message);
        let mut end = message.len().min(MAX_LINE);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        if self.lines >= MAX_LINES || self.bytes + end > MAX_BYTES {
            if self.dropped == 0 {
                tracing::warn!(
                    target: "plugin",
                    plugin = %self.plugin,
                    resource = %self.resource,
                    "the plugin logged more than {MAX_LINES} lines or {} KiB; dropping the rest",
                    MAX_BYTES >> 10
                );
            }
            self.dropped += 1;
            return;
        }
        self.lines += 1;
        self.bytes += end;
        let cut = if end < message.len() { "…" } else { "" };
        let message = &message[..end];
        let (plugin, resource) = (&self.plugin, &self.resource);
        match level {
            LogLevel::Trace => {
                tracing::trace!(target: "plugin", plugin, resource, "{message}{cut}")
            }
            LogLevel::Debug => {
                tracing::debug!(target: "plugin", plugin, resource, "{message}{cut}")
            }
            LogLevel::Info => tracing::info!(target: "plugin", plugin, resource, "{message}{cut}"),
            LogLevel::Warn => tracing::warn!(target: "plugin", plugin, resource, "{message}{cut}"),
            LogLevel::Error => {
                tracing::error!(target: "plugin", plugin, resource, "{message}{cut}")
            }
        }
    }
}

impl v0_2::soar::plugin::log::Host for PluginLog {
    async fn log(&mut self, level: LogLevel, message: String) -> wasmtime::Result<()> {
        PluginLog::log(self, level, &message);
        Ok(())
    }
}

pub fn link<S: Project<PluginLog> + Send + 'static>(
    linker: &mut Linker<S>,
    contract: Contract,
) -> wasmtime::Result<()> {
    match contract {
        Contract::V0_1 => v0_1::soar::plugin::log::add_to_linker::<S, v0_1::AsLatest<PluginLog>>(
            linker,
            v0_1::latest::<S, PluginLog>,
        ),
        Contract::V0_2 => {
            v0_2::soar::plugin::log::add_to_linker::<S, HasSelf<PluginLog>>(linker, |s| s.project())
        }
    }
}
