//! What the library's calls answer, and their redaction on the way out.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::egress::Rule;
use crate::redact::Redact;

/// A successful action.
#[derive(Debug, Clone, Serialize)]
pub struct Invocation {
    pub data: Value,
    /// HTTP requests that left the host, retries included.
    pub http_requests: u32,
    /// Files its downloads wrote.
    pub files: Vec<PathBuf>,
    pub elapsed: Duration,
}

impl Invocation {
    /// The result envelope, as `invoke --envelope` prints it and the
    /// Temporal worker's `run_action` returns it.
    pub fn to_envelope(&self) -> crate::Envelope {
        crate::Envelope::Success {
            data: self.data.clone(),
            http_requests: self.http_requests,
            elapsed_ms: self.elapsed.as_millis() as u64,
            files: self.files.clone(),
        }
    }
}

/// Whether an action will work with the credentials tested.
#[derive(Debug, Clone, Serialize)]
pub struct Readiness {
    pub action: String,
    pub ready: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// A successful connectivity test.
#[derive(Debug, Clone, Serialize)]
pub struct TestOutcome {
    pub summary: String,
    pub checks: Vec<(String, String)>,
    pub scopes: Vec<String>,
    pub readiness: Vec<Readiness>,
    /// Where the plugin may connect, and where each entry came from.
    pub egress: Vec<Rule>,
    pub http_requests: u32,
    pub elapsed: Duration,
}

impl TestOutcome {
    /// As `soar-host test --json` and the service answer it.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "ok": true,
            "summary": self.summary,
            "checks": self.checks.iter().map(|(n, d)| serde_json::json!({"name": n, "detail": d})).collect::<Vec<_>>(),
            "scopes": self.scopes,
            "readiness": self.readiness,
            "egress": self.egress,
            "http_requests": self.http_requests,
            "elapsed_ms": self.elapsed.as_millis() as u64,
        })
    }
}

impl Redact for Invocation {
    fn redact(mut self) -> Self {
        self.data = self.data.redact();
        // Named by the plugin.
        self.files = self
            .files
            .into_iter()
            .map(|f| PathBuf::from(f.to_string_lossy().into_owned().redact()))
            .collect();
        self
    }
}

impl Redact for TestOutcome {
    fn redact(mut self) -> Self {
        self.summary = self.summary.redact();
        self.checks = self
            .checks
            .into_iter()
            .map(|(n, d)| (n.redact(), d.redact()))
            .collect();
        self.scopes = self.scopes.redact();
        for r in &mut self.readiness {
            r.action = std::mem::take(&mut r.action).redact();
            r.reason = std::mem::take(&mut r.reason).redact();
        }
        self
    }
}
