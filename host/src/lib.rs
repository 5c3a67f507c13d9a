//! soar-host: runs SOAR integrations — WebAssembly components behind the
//! `soar:plugin` WIT contract — against resources (a plugin plus its
//! connection settings), inside a sandbox whose only egress is the host's
//! checked `http` import.
//!
//! The one entry point every caller uses (the CLI, the service in
//! `soar-host-service`, the Temporal worker in `soar-host-worker`) is
//! [`Host::invoke`]: run this action on this resource, within its deadline,
//! and return the result or a typed error. Nothing here knows of its callers.

mod bindings;
mod capabilities;
pub mod deadline;
pub mod egress;
pub mod error;
mod host;
pub mod manifest;
pub mod params;
pub mod plugins;
pub mod private_dir;
pub mod redact;
pub mod registry;
pub mod resource;
mod runtime;
pub mod user_auth;
pub mod wire;

pub use capabilities::http::{Progress, UpstreamStats, client as http_client};
pub use capabilities::store::Store;
pub use error::{Error, ErrorClass, ErrorKind};
pub use host::{
    Allocation, Host, HostOptions, Invocation, InvokeOptions, MAX_RESULT_BYTES, Prepared,
    Readiness, TestOutcome, WebhookAnswer, WebhookRequest,
};
pub use manifest::Manifest;
pub use resource::Resource;
pub use runtime::Plugin;
pub use wire::{Envelope, ErrorReport, ExecutionStatus, RunStatus, StepStatus};

/// Lower-case hexadecimal of `bytes` (digests, random ids).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 * bytes.len());
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

#[cfg(test)]
#[test]
fn hex_is_two_lower_case_digits_per_byte() {
    assert_eq!(hex(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
    assert_eq!(hex(&[]), "");
}
