//! Constructors for the contract's `action-error`, so a plugin says what went
//! wrong in one short call and the host can act on the kind (retry a
//! `timeout`, not an `invalid-input`).

use crate::{ActionError, ErrorKind};

impl ActionError {
    /// An error of `kind` with no upstream details.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ActionError {
            kind,
            message: message.into(),
            http_status: None,
            upstream_code: None,
            retry_after_secs: None,
        }
    }

    /// The params were wrong; nothing was changed upstream.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// The resource's config is wrong or incomplete.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    /// Credentials were refused or the token is invalid.
    pub fn auth(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Auth, message)
    }

    /// Authenticated, but not allowed.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    pub fn rate_limited(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::RateLimited, message)
    }

    /// The upstream failed: a 5xx, an answer that makes no sense, the network.
    pub fn upstream(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Upstream, message)
    }

    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Timeout, message)
    }

    /// The host refused something the plugin asked of it.
    pub fn denied(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Denied, message)
    }

    /// A bug in the plugin.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// Adds the upstream's HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.http_status = Some(status);
        self
    }

    /// Adds the upstream's own error code (Zoom's 1001).
    pub fn with_code(mut self, code: i64) -> Self {
        self.upstream_code = Some(code);
        self
    }

    /// Adds when a retry can succeed, as the upstream said.
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }
}
