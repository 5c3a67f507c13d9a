//! The guest SDK for soar-host plugins (contract `soar:plugin@0.2.0`).
//!
//! An integration declares each action once — name, title, kind, operation,
//! scopes, JSON Schema of its params, and the function that runs it — and the
//! SDK derives both the manifest (`describe`) and the dispatch (`invoke`) from
//! that one list, so the two can never disagree. wit-bindgen stays inside
//! this crate: an author implements [`Plugin`] and calls
//! [`register_plugin!`]; the component's exports live here, as in Zed's
//! `extension_api`.
//!
//! ```ignore
//! use soar_plugin_sdk::prelude::*;
//!
//! struct Echo;
//!
//! impl Plugin for Echo {
//!     const NAME: &'static str = "echo";
//!     // ...
//!     type Context = Client;
//!     fn actions() -> Vec<Action<Client>> {
//!         vec![Action::enrichment("get_thing", "Get thing").run(get_thing)]
//!     }
//!     // ...
//! }
//!
//! register_plugin!(Echo);
//! ```
//!
//! Everything the host grants is here too: [`http`] (the only way out),
//! [`store`] (per-resource, versioned), [`log`].

mod action;
mod bindings;
mod config;
mod dispatch;
pub mod encode;
mod error;
#[cfg(target_arch = "wasm32")]
mod export;
pub mod http;
pub mod log;
mod manifest;
pub mod paging;
mod plugin;
mod readiness;
pub mod schema;
pub mod store;
mod webhook;

pub use action::{Action, ActionBuilder, Output};
pub use config::{Config, Field};
pub use dispatch::invoke;
pub use manifest::derive_manifest;
pub use plugin::Plugin;
pub use readiness::readiness;
pub use webhook::{event, rejected, reply_json};

/// The contract's records, under the SDK's names.
pub use bindings::soar::plugin::types::{
    Action as ManifestAction, ActionError, ActionKind, ActionReadiness, Check, ConfigField,
    ConfigValue, ErrorKind, EventType, Manifest, TestReport, ValueType, WebhookEvent,
    WebhookOutcome, WebhookReply, WebhookRequest,
};

/// What most plugins need, in one `use`.
pub mod prelude {
    pub use crate::{
        Action, ActionError, ActionKind, Check, Config, ErrorKind, EventType, Field, Output,
        Plugin, TestReport, WebhookOutcome, WebhookRequest, http, log, register_plugin, schema,
        store,
    };
    pub use serde::Deserialize;
    pub use serde_json::{Map, Value, json};
}

/// Not part of the API: what [`register_plugin!`] expands to needs these.
#[doc(hidden)]
pub mod __private {
    pub use crate::dispatch::{Entry, Registered};
}

/// Makes `$plugin` (a type implementing [`Plugin`]) the component's plugin.
/// Call it once, at the root of the plugin's crate.
///
/// The component's exports are compiled into the SDK; they find the plugin
/// through the one symbol this macro defines, so a crate that forgets the
/// macro fails to link instead of failing at run time.
#[macro_export]
macro_rules! register_plugin {
    ($plugin:ty) => {
        #[doc(hidden)]
        #[unsafe(no_mangle)]
        pub fn __soar_plugin_sdk_registered() -> &'static dyn $crate::__private::Entry {
            static REGISTERED: $crate::__private::Registered<$plugin> =
                $crate::__private::Registered::NEW;
            &REGISTERED
        }
    };
}
