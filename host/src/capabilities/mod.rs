//! What the host grants a plugin, one capability per module: outbound HTTP
//! (checked against the resource's allow-list), a per-resource cache, and
//! logging. A plugin reaches nothing else.

pub mod cache;
pub mod http;
pub mod log;
