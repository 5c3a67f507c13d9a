//! soar-host: runs SOAR integrations — WebAssembly components behind the
//! `soar:plugin` WIT contract — against resources (a plugin plus its
//! connection settings), inside a sandbox whose only egress is the host's
//! checked `http` import.
//!
//! The one entry point every caller uses (the CLI today; a service, playbooks
//! and workers later) is [`Host::invoke`]: run this action on this resource,
//! within its deadline, and return the result or a typed error.

mod bindings;
mod capabilities;
pub mod deadline;
pub mod egress;
pub mod error;
mod host;
pub mod manifest;
pub mod params;
pub mod plugins;
mod private_dir;
pub mod redact;
pub mod resource;
mod runtime;
pub mod service;
pub mod worker;

pub use capabilities::http::{Progress, UpstreamStats, client as http_client};
pub use capabilities::store::Store;
pub use error::{Error, ErrorClass, ErrorKind};
pub use host::{
    Allocation, Host, HostOptions, Invocation, InvokeOptions, Prepared, Readiness, TestOutcome,
    WebhookAnswer, WebhookRequest,
};
pub use manifest::Manifest;
pub use resource::Resource;
pub use runtime::Plugin;
