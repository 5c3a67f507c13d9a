//! The host's per-resource store: kept across runs, private to one resource,
//! versioned for compare-and-swap (single-flight token refreshes). A write
//! the host refuses is an error (`denied`, with the host's reason), never a
//! silent drop.

use crate::ActionError;
use crate::bindings::soar::plugin::store as wit;

pub use wit::Entry;

fn denied(err: wit::StoreError) -> ActionError {
    match err {
        wit::StoreError::TooLarge(m) => ActionError::denied(format!("the store refused: {m}")),
        wit::StoreError::Unavailable(m) => {
            ActionError::denied(format!("the store is unavailable: {m}"))
        }
    }
}

/// The entry at `key` and its version, if any (an expired one is gone).
pub fn get(key: &str) -> Result<Option<Entry>, ActionError> {
    wit::get(key).map_err(denied)
}

/// Writes unconditionally; `ttl_secs` 0 keeps it until deleted. Answers the
/// new version.
pub fn set(key: &str, value: &str, ttl_secs: u32) -> Result<u64, ActionError> {
    wit::set(key, value, ttl_secs).map_err(denied)
}

/// Writes only if the entry is still at `expected` (`None`: only if absent).
/// `Some(version)` when written, `None` when someone else wrote first.
pub fn compare_and_swap(
    key: &str,
    expected: Option<u64>,
    value: &str,
    ttl_secs: u32,
) -> Result<Option<u64>, ActionError> {
    wit::compare_and_swap(key, expected, value, ttl_secs).map_err(denied)
}

pub fn delete(key: &str) -> Result<(), ActionError> {
    wit::delete(key).map_err(denied)
}
