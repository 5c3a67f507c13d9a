//! The host's errors, typed so callers can act on them: whether the request
//! was rejected before anything left the host (exit 2) or failed on the way
//! (exit 1), and, for a plugin's error, its kind and Zoom's own code.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// How a script should read an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorClass {
    /// Nothing was sent: fix the input, the resource file or the environment.
    Rejected,
    /// The action or test failed upstream, in the network, or in the plugin.
    Failed,
}

impl ErrorClass {
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorClass::Rejected => 2,
            ErrorClass::Failed => 1,
        }
    }
}

/// What a plugin reported, in the contract's terms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionFailure {
    /// `invalid-input`, `auth`, `not-found`, `rate-limited`, ...
    pub kind: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// The upstream's display name ("Zoom"), for messages.
    #[serde(skip)]
    pub upstream: String,
}

impl ActionFailure {
    /// Whether trying the same call again later can succeed.
    pub fn retryable(&self) -> bool {
        matches!(self.kind.as_str(), "rate-limited" | "upstream" | "timeout")
    }
}

impl fmt::Display for ActionFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind.replace('-', " ");
        match self.upstream_code {
            Some(code) => write!(f, "{kind} ({} {code}): {}", self.upstream, self.message)?,
            None => match self.http_status {
                Some(status) => write!(f, "{kind} (HTTP {status}): {}", self.message)?,
                None => write!(f, "{kind}: {}", self.message)?,
            },
        }
        if let Some(secs) = self.retry_after_secs {
            write!(f, " (retry after {secs}s)")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),

    #[error("resource file {}: {message}", path.display())]
    Resource { path: PathBuf, message: String },

    #[error("plugin `{plugin}`: {message}")]
    Plugin { plugin: String, message: String },

    #[error("unknown action `{action}` for plugin `{plugin}`; its actions are: {known}")]
    UnknownAction {
        plugin: String,
        action: String,
        known: String,
    },

    #[error("invalid params for {action}: {message}")]
    InvalidParams { action: String, message: String },

    /// The plugin said no; `sent` tells whether any request left the host.
    #[error("{failure}")]
    Action { failure: ActionFailure, sent: bool },

    #[error("timed out after {secs}s {waiting}")]
    Timeout { secs: u64, waiting: String },

    /// The plugin trapped, panicked, ran out of memory or misbehaved.
    #[error("plugin `{plugin}` failed: {message}")]
    Internal { plugin: String, message: String },
}

impl Error {
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Usage(_)
            | Error::Resource { .. }
            | Error::Plugin { .. }
            | Error::UnknownAction { .. }
            | Error::InvalidParams { .. } => ErrorClass::Rejected,
            // A plugin that refuses bad input or config before sending
            // anything rejects the request just as the host would.
            Error::Action { failure, sent } => {
                if !sent && matches!(failure.kind.as_str(), "invalid-input" | "config") {
                    ErrorClass::Rejected
                } else {
                    ErrorClass::Failed
                }
            }
            Error::Timeout { .. } | Error::Internal { .. } => ErrorClass::Failed,
        }
    }

    /// A short machine-readable kind, for JSON output.
    pub fn kind(&self) -> String {
        match self {
            Error::Usage(_) => "usage".into(),
            Error::Resource { .. } => "resource".into(),
            Error::Plugin { .. } => "plugin".into(),
            Error::UnknownAction { .. } => "unknown-action".into(),
            Error::InvalidParams { .. } => "invalid-input".into(),
            Error::Action { failure, .. } => failure.kind.clone(),
            Error::Timeout { .. } => "timeout".into(),
            Error::Internal { .. } => "internal".into(),
        }
    }

    pub fn resource(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Resource {
            path: path.into(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
