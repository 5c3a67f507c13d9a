//! Host-side bindings of the `soar:plugin` world (wit/).

wasmtime::component::bindgen!({
    path: "../wit",
    world: "integration",
    imports: { default: async | trappable },
    exports: { default: async },
});

pub use soar::plugin::http::{HttpError, Request as HttpRequest, Response as HttpResponse};
pub use soar::plugin::log::Level as LogLevel;
pub use soar::plugin::types::{
    ActionError, ActionKind, ConfigValue, ErrorKind, Manifest as WitManifest, TestReport, ValueType,
};
