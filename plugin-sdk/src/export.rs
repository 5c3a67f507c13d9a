//! The component's exports. They live in the SDK (as in Zed's
//! `extension_api`) and reach the plugin through the symbol that
//! `register_plugin!` defines. Only for wasm32: a native build (unit tests)
//! has no component to export.

use crate::bindings::exports::soar::plugin::plugin::Guest;
use crate::bindings::soar::plugin::types::ConfigValue;
use crate::dispatch::Entry;
use crate::{ActionError, Manifest, TestReport, WebhookOutcome, WebhookRequest};

unsafe extern "Rust" {
    /// Defined by `register_plugin!` in the plugin's crate.
    fn __soar_plugin_sdk_registered() -> &'static dyn Entry;
}

fn plugin() -> &'static dyn Entry {
    // SAFETY: `register_plugin!` defines this symbol with exactly this
    // signature; without the macro the component does not link.
    unsafe { __soar_plugin_sdk_registered() }
}

struct Component;

impl Guest for Component {
    fn describe() -> Manifest {
        plugin().describe()
    }

    fn test(config: Vec<ConfigValue>) -> Result<TestReport, ActionError> {
        plugin().test(config)
    }

    fn invoke(
        action: String,
        config: Vec<ConfigValue>,
        params: String,
    ) -> Result<String, ActionError> {
        plugin().invoke(&action, config, &params)
    }

    fn webhook(config: Vec<ConfigValue>, request: WebhookRequest) -> WebhookOutcome {
        plugin().webhook(config, request)
    }
}

crate::bindings::export!(Component with_types_in crate::bindings);
