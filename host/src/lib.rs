//! soar-host: runs SOAR integrations — WebAssembly components behind the
//! `soar:plugin` WIT contract — against resources (a plugin plus its
//! connection settings), inside a sandbox whose only egress is the host's
//! checked `http` import.
//!
//! The one entry point every caller uses (the CLI today; a service, playbooks
//! and workers later) is [`Host::invoke`]: run this action on this resource,
//! within its deadline, and return the result or a typed error.

pub mod capabilities;
pub mod deadline;
pub mod error;
pub mod host;
pub mod manifest;
pub mod params;
pub mod plugins;
pub mod redact;
pub mod resource;
pub mod runtime;

pub use error::{Error, ErrorClass};
pub use host::{Allocation, Host, HostOptions, Invocation, TestOutcome};
pub use manifest::Manifest;
pub use resource::Resource;
