//! The wire vocabulary: every shape a caller of soar-host reads, defined
//! once. The CLI prints these, the service answers them (and documents them
//! in its OpenAPI document, with the `openapi` feature), the worker returns
//! them to Temporal.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How a script should read an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// What went wrong, as a word a script can branch on (`"kind": "not-found"`).
/// The first eleven are the contract's `error-kind` (a plugin reports them);
/// the rest are the host's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    InvalidInput,
    Config,
    Auth,
    Forbidden,
    NotFound,
    Conflict,
    RateLimited,
    Upstream,
    Timeout,
    Denied,
    Internal,
    /// The command line was wrong.
    Usage,
    /// The resource file could not be used.
    Resource,
    /// The plugin could not be loaded.
    Plugin,
    /// The plugin has no such action.
    UnknownAction,
    /// The service stopped before the run finished; it is never run again.
    Interrupted,
    /// A non-idempotent action's earlier attempt may have acted (worker).
    Ambiguous,
    /// The resource signs in as a user (`auth = "user"`) and that sign-in
    /// is missing or was refused (revoked, expired, the app removed): a
    /// person must run `soar-host auth login`; nothing retries it.
    ReauthRequired,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid-input",
            ErrorKind::Config => "config",
            ErrorKind::Auth => "auth",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not-found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::RateLimited => "rate-limited",
            ErrorKind::Upstream => "upstream",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Denied => "denied",
            ErrorKind::Internal => "internal",
            ErrorKind::Usage => "usage",
            ErrorKind::Resource => "resource",
            ErrorKind::Plugin => "plugin",
            ErrorKind::UnknownAction => "unknown-action",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::Ambiguous => "ambiguous",
            ErrorKind::ReauthRequired => "reauth-required",
        }
    }

    /// Whether trying the same call again later can succeed.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited | ErrorKind::Upstream | ErrorKind::Timeout
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error as every caller reports it: `invoke --envelope`, `test --json`,
/// an execution's `error`, a Temporal failure's details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorReport {
    pub kind: ErrorKind,
    /// Absent only in records written before it was added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<ErrorClass>,
    pub message: String,
    /// Whether the same call may succeed later.
    pub retryable: bool,
    /// The upstream's HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// The upstream's own error code (Zoom's `code`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_code: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// The request may have reached the upstream and no answer came back:
    /// whether it acted is not known. The worker says it of a
    /// non-idempotent action only (which it never retries), and `false`
    /// otherwise; elsewhere it is absent when not so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ambiguous: Option<bool>,
}

impl ErrorReport {
    /// A report of the host's own, without an upstream's status or code.
    pub fn new(kind: ErrorKind, class: ErrorClass, message: impl Into<String>) -> Self {
        Self {
            kind,
            class: Some(class),
            message: message.into(),
            retryable: kind.retryable(),
            http_status: None,
            upstream_code: None,
            retry_after_secs: None,
            ambiguous: None,
        }
    }
}

/// The result envelope, as `invoke --envelope` prints it and the worker's
/// `run_action` returns it (success only: a failure is Temporal's).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Envelope {
    Success {
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        data: Value,
        http_requests: u32,
        elapsed_ms: u64,
        /// Files the action's downloads wrote.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
        files: Vec<PathBuf>,
    },
    Failed {
        error: ErrorReport,
    },
}

/// Where an execution is (the service's runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ExecutionStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    /// The service stopped before it finished; it is never run again.
    Interrupted,
}

impl ExecutionStatus {
    pub const ALL: [ExecutionStatus; 5] = [
        ExecutionStatus::Queued,
        ExecutionStatus::Running,
        ExecutionStatus::Succeeded,
        ExecutionStatus::Failed,
        ExecutionStatus::Interrupted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Queued => "queued",
            ExecutionStatus::Running => "running",
            ExecutionStatus::Succeeded => "succeeded",
            ExecutionStatus::Failed => "failed",
            ExecutionStatus::Interrupted => "interrupted",
        }
    }
}

impl fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ExecutionStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "no execution status `{}`; the statuses are: queued, running, succeeded, failed, interrupted",
                    crate::redact::printable(s)
                )
            })
    }
}

/// Where a playbook run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl RunStatus {
    pub const ALL: [RunStatus; 5] = [
        RunStatus::Queued,
        RunStatus::Running,
        RunStatus::Succeeded,
        RunStatus::Failed,
        RunStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }

    pub fn is_finished(self) -> bool {
        matches!(
            self,
            RunStatus::Succeeded | RunStatus::Failed | RunStatus::Cancelled
        )
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "no run status `{}`; the statuses are: queued, running, succeeded, failed, cancelled",
                    crate::redact::printable(s)
                )
            })
    }
}

/// Where one step of a playbook run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    /// Its condition did not hold, or an earlier step failed.
    Skipped,
    /// Sent, outcome not known (the run stopped mid-call): a non-idempotent
    /// step is never sent again silently, so the run fails there.
    Unknown,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Queued => "queued",
            StepStatus::Running => "running",
            StepStatus::Succeeded => "succeeded",
            StepStatus::Failed => "failed",
            StepStatus::Cancelled => "cancelled",
            StepStatus::Skipped => "skipped",
            StepStatus::Unknown => "unknown",
        }
    }
}

impl fmt::Display for StepStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The service's problem types (RFC 9457): `urn:soar-host:problem:<slug>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemType {
    Unauthorized,
    Forbidden,
    NotFound,
    InvalidInput,
    UnknownAction,
    ResourceUnavailable,
    InvalidIdempotencyKey,
    IdempotencyMismatch,
    IdempotencyInProgress,
    Overloaded,
    PayloadTooLarge,
    WebhookRejected,
    /// A playbook run that is not in progress in this service.
    NotRunning,
    Unavailable,
    Internal,
}

impl ProblemType {
    pub const PREFIX: &'static str = "urn:soar-host:problem:";

    pub fn slug(self) -> &'static str {
        match self {
            ProblemType::Unauthorized => "unauthorized",
            ProblemType::Forbidden => "forbidden",
            ProblemType::NotFound => "not-found",
            ProblemType::InvalidInput => "invalid-input",
            ProblemType::UnknownAction => "unknown-action",
            ProblemType::ResourceUnavailable => "resource-unavailable",
            ProblemType::InvalidIdempotencyKey => "invalid-idempotency-key",
            ProblemType::IdempotencyMismatch => "idempotency-mismatch",
            ProblemType::IdempotencyInProgress => "idempotency-in-progress",
            ProblemType::Overloaded => "overloaded",
            ProblemType::PayloadTooLarge => "payload-too-large",
            ProblemType::WebhookRejected => "webhook-rejected",
            ProblemType::NotRunning => "not-running",
            ProblemType::Unavailable => "unavailable",
            ProblemType::Internal => "internal",
        }
    }

    /// `urn:soar-host:problem:<slug>`.
    pub fn uri(self) -> String {
        format!("{}{}", Self::PREFIX, self.slug())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_kinds_read_back_what_they_write() {
        for status in ExecutionStatus::ALL {
            assert_eq!(status.as_str().parse::<ExecutionStatus>(), Ok(status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                Value::from(status.as_str())
            );
        }
        assert!("done".parse::<ExecutionStatus>().is_err());
        let report = ErrorReport {
            http_status: Some(404),
            upstream_code: Some(1001),
            ..ErrorReport::new(ErrorKind::NotFound, ErrorClass::Failed, "no such user")
        };
        let value = serde_json::to_value(&report).unwrap();
        assert_eq!(value["kind"], "not-found");
        assert_eq!(value["class"], "failed");
        assert_eq!(value.get("ambiguous"), None);
        assert_eq!(
            serde_json::from_value::<ErrorReport>(value).unwrap(),
            report
        );
        for kind in [ErrorKind::UnknownAction, ErrorKind::RateLimited] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }

    #[test]
    fn envelopes_are_tagged_by_status() {
        let ok = Envelope::Success {
            data: serde_json::json!({"id": "u1"}),
            http_requests: 1,
            elapsed_ms: 3,
            files: vec![],
        };
        let value = serde_json::to_value(&ok).unwrap();
        assert_eq!(value["status"], "success");
        assert_eq!(value.get("files"), None);
        let failed = Envelope::Failed {
            error: ErrorReport::new(ErrorKind::Usage, ErrorClass::Rejected, "bad"),
        };
        assert_eq!(serde_json::to_value(&failed).unwrap()["status"], "failed");
    }
}
