//! What the host grants a plugin, one capability per module, each owning its
//! state, its WIT `Host` implementation and its linking: outbound HTTP
//! (checked against the resource's egress policy), a persistent
//! per-resource store, and logging. A plugin reaches nothing else.

pub mod http;
pub mod log;
pub mod store;
