//! The host's errors, typed so callers can act on them: whether the request
//! was rejected before anything left the host (exit 2) or failed on the way
//! (exit 1), and, for a plugin's error, its kind and Zoom's own code.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

pub use crate::wire::{ErrorClass, ErrorKind, ErrorReport};

impl From<crate::bindings::ErrorKind> for ErrorKind {
    fn from(kind: crate::bindings::ErrorKind) -> Self {
        use crate::bindings::ErrorKind as K;
        match kind {
            K::InvalidInput => ErrorKind::InvalidInput,
            K::Config => ErrorKind::Config,
            K::Auth => ErrorKind::Auth,
            K::Forbidden => ErrorKind::Forbidden,
            K::NotFound => ErrorKind::NotFound,
            K::Conflict => ErrorKind::Conflict,
            K::RateLimited => ErrorKind::RateLimited,
            K::Upstream => ErrorKind::Upstream,
            K::Timeout => ErrorKind::Timeout,
            K::Denied => ErrorKind::Denied,
            K::Internal => ErrorKind::Internal,
        }
    }
}

/// What a plugin reported, in the contract's terms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionFailure {
    pub kind: ErrorKind,
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
        self.kind.retryable()
    }
}

impl fmt::Display for ActionFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind.as_str().replace('-', " ");
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

    /// A user's sign-in is missing or was refused: nothing reached the
    /// upstream's API; a person must sign in again.
    #[error("{message}")]
    ReauthRequired { message: String },
}

impl Error {
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Usage(_)
            | Error::Resource { .. }
            | Error::Plugin { .. }
            | Error::UnknownAction { .. }
            | Error::InvalidParams { .. }
            | Error::ReauthRequired { .. } => ErrorClass::Rejected,
            // A plugin that refuses bad input or config before sending
            // anything rejects the request just as the host would.
            Error::Action { failure, sent } => {
                if !sent && matches!(failure.kind, ErrorKind::InvalidInput | ErrorKind::Config) {
                    ErrorClass::Rejected
                } else {
                    ErrorClass::Failed
                }
            }
            Error::Timeout { .. } | Error::Internal { .. } => ErrorClass::Failed,
        }
    }

    /// A short machine-readable kind, for JSON output.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Usage(_) => ErrorKind::Usage,
            Error::Resource { .. } => ErrorKind::Resource,
            Error::Plugin { .. } => ErrorKind::Plugin,
            Error::UnknownAction { .. } => ErrorKind::UnknownAction,
            Error::InvalidParams { .. } => ErrorKind::InvalidInput,
            Error::Action { failure, .. } => failure.kind,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Internal { .. } => ErrorKind::Internal,
            Error::ReauthRequired { .. } => ErrorKind::ReauthRequired,
        }
    }

    /// Whether trying the same call again later can succeed.
    pub fn retryable(&self) -> bool {
        match self {
            Error::Action { failure, .. } => failure.retryable(),
            Error::Timeout { .. } => true,
            _ => false,
        }
    }

    /// Whether the call may have acted: its request may have reached the
    /// upstream and no answer came back. Sending it again is then safe only
    /// if the action is idempotent.
    pub fn may_have_acted(&self) -> bool {
        match self {
            Error::Action { failure, sent } => {
                *sent
                    && matches!(
                        failure.kind,
                        ErrorKind::Upstream | ErrorKind::Timeout | ErrorKind::Internal
                    )
            }
            Error::Timeout { .. } | Error::Internal { .. } => true,
            _ => false,
        }
    }

    /// The error as the CLI's `--envelope`, the service and the worker
    /// report it: kind, class, message, retryable, whether it may have
    /// acted, and Zoom's status and code.
    pub fn report(&self) -> ErrorReport {
        let mut report = ErrorReport::new(self.kind(), self.class(), self.to_string());
        report.retryable = self.retryable();
        report.ambiguous = self.may_have_acted().then_some(true);
        if let Error::Action { failure, .. } = self {
            report.http_status = failure.http_status;
            report.upstream_code = failure.upstream_code;
            report.retry_after_secs = failure.retry_after_secs;
        }
        report
    }

    pub fn resource(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Resource {
            path: path.into(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every text an error carries, masked: errors leave the host.
impl crate::redact::Redact for Error {
    fn redact(self) -> Self {
        match self {
            Error::Usage(m) => Error::Usage(m.redact()),
            Error::ReauthRequired { message } => Error::ReauthRequired {
                message: message.redact(),
            },
            Error::Resource { path, message } => Error::Resource {
                path,
                message: message.redact(),
            },
            Error::Plugin { plugin, message } => Error::Plugin {
                plugin,
                message: message.redact(),
            },
            Error::UnknownAction {
                plugin,
                action,
                known,
            } => Error::UnknownAction {
                plugin,
                action: action.redact(),
                known,
            },
            Error::InvalidParams { action, message } => Error::InvalidParams {
                action,
                message: message.redact(),
            },
            Error::Action { mut failure, sent } => {
                failure.message = failure.message.redact();
                Error::Action { failure, sent }
            }
            Error::Timeout { secs, waiting } => Error::Timeout {
                secs,
                waiting: waiting.redact(),
            },
            Error::Internal { plugin, message } => Error::Internal {
                plugin,
                message: message.redact(),
            },
        }
    }
}
