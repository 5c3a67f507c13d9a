//! The record of a playbook run: what `playbook run` prints, what the
//! service keeps and answers, what the worker's workflow returns.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use soar_host::{ErrorReport, RunStatus, StepStatus};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunRecord {
    /// `pr_` and 32 hex digits, in time order.
    pub id: String,
    pub playbook: String,
    pub trigger: Trigger,
    pub status: RunStatus,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub inputs: Value,
    /// The event that started it (webhook and watch triggers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub event: Option<Value>,
    pub steps: Vec<StepRecord>,
    /// Why the run failed, naming the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RunError>,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// The run this one re-runs from a step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerun_of: Option<String>,
    /// The Temporal workflow that runs it, when the service handed it to
    /// Temporal (`serve --temporal`): `temporal workflow show -w ID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_id: Option<String>,
    /// Nothing was called: the calls it would make are its steps' params.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
}

/// What started a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Trigger {
    /// `manual`, `webhook`, `schedule`, `watch` or `rerun`.
    pub kind: String,
    /// The occurrence that started it (an event's delivery id, a schedule's
    /// tick, a watch's key): one occurrence starts at most one run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurrence: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunError {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepRecord {
    pub id: String,
    pub resource: String,
    pub action: String,
    pub status: StepStatus,
    /// A plain step's one call; for a `for_each` step, the items' params and
    /// results as lists (a skipped or failed item's result is null).
    #[serde(flatten)]
    pub call: CallRecord,
    /// A `for_each` step's calls, one per item.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<CallRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Taken from the run this one re-runs, not run again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reused: bool,
}

/// One action call of a step (with its retries).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StepStatus>,
    #[serde(default)]
    pub attempts: u32,
    /// The params as sent (after expressions), redacted like every record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub params: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
    /// The executions of its attempts (in the service: `ex_…`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub execution_ids: Vec<String>,
}

impl StepRecord {
    pub fn new(id: &str, resource: &str, action: &str) -> Self {
        Self {
            id: id.to_owned(),
            resource: resource.to_owned(),
            action: action.to_owned(),
            status: StepStatus::Queued,
            call: CallRecord::default(),
            items: Vec::new(),
            started_at: None,
            finished_at: None,
            reused: false,
        }
    }

    /// What `steps.<id>` is in later expressions.
    pub fn scope_value(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("status".into(), Value::String(self.status.as_str().into()));
        m.insert(
            "params".into(),
            self.call.params.clone().unwrap_or(Value::Null),
        );
        m.insert(
            "result".into(),
            self.call.result.clone().unwrap_or(Value::Null),
        );
        m.insert(
            "error".into(),
            self.call
                .error
                .as_ref()
                .and_then(|e| serde_json::to_value(e).ok())
                .unwrap_or(Value::Null),
        );
        Value::Object(m)
    }
}

/// Now, as RFC 3339 with milliseconds.
pub fn now() -> String {
    stamp(std::time::SystemTime::now())
}

/// A time as RFC 3339 with milliseconds.
pub fn stamp(time: std::time::SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

/// A time in ms since the epoch, as RFC 3339 with milliseconds.
pub fn rfc3339_ms(ms: i64) -> String {
    stamp(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64))
}

/// `pr_` and 32 hex digits: the time in milliseconds (48 bits), then 80
/// random bits, so ids sort by time.
pub fn run_id() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    bytes[6..].copy_from_slice(&rand::random::<[u8; 10]>());
    format!("pr_{}", soar_host::hex(&bytes))
}
