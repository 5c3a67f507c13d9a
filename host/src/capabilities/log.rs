//! A plugin's log lines, and what it writes to stdout/stderr, routed into
//! the host's tracing under the `plugin` target, with secrets redacted.

use crate::redact::Redactor;
use crate::runtime::bindings::LogLevel;

/// Longest log line kept from a plugin.
const MAX_LINE: usize = 4096;

pub struct PluginLog {
    pub plugin: String,
    pub resource: String,
    pub redactor: Redactor,
}

impl PluginLog {
    pub fn log(&self, level: LogLevel, message: &str) {
        let mut message = self.redactor.redact(message);
        if message.len() > MAX_LINE {
            let mut cut = MAX_LINE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        let (plugin, resource) = (&self.plugin, &self.resource);
        match level {
            LogLevel::Trace => tracing::trace!(target: "plugin", plugin, resource, "{message}"),
            LogLevel::Debug => tracing::debug!(target: "plugin", plugin, resource, "{message}"),
            LogLevel::Info => tracing::info!(target: "plugin", plugin, resource, "{message}"),
            LogLevel::Warn => tracing::warn!(target: "plugin", plugin, resource, "{message}"),
            LogLevel::Error => tracing::error!(target: "plugin", plugin, resource, "{message}"),
        }
    }
}
