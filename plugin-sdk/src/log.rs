//! Logging into the host's tracing (secrets redacted there). stdout and
//! stderr reach the log too, but without a level.

use crate::bindings::soar::plugin::log as wit;

pub use wit::Level;

pub fn log(level: Level, message: &str) {
    wit::log(level, message);
}

pub fn trace(message: &str) {
    log(Level::Trace, message);
}

pub fn debug(message: &str) {
    log(Level::Debug, message);
}

pub fn info(message: &str) {
    log(Level::Info, message);
}

pub fn warn(message: &str) {
    log(Level::Warn, message);
}

pub fn error(message: &str) {
    log(Level::Error, message);
}
