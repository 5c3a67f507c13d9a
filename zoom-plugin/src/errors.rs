//! Turning Zoom's answers into the contract's typed `action-error`.

use soar_plugin_sdk::{ActionError, ErrorKind};

pub fn error(kind: ErrorKind, message: impl Into<String>) -> ActionError {
    ActionError::new(kind, message)
}

pub fn invalid_input(message: impl Into<String>) -> ActionError {
    ActionError::invalid_input(message)
}

/// An API answer that is not a success. Zoom's error body is
/// `{"code": N, "message": "..."}`; keep both, classify by status and code.
pub fn from_api(status: u16, body: &[u8], retry_after_secs: Option<u64>) -> ActionError {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let code = parsed
        .as_ref()
        .and_then(|v| v.get("code"))
        .and_then(|c| c.as_i64());
    let mut message = parsed
        .as_ref()
        .and_then(|v| v.get("message"))
        .and_then(|m| m.as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("Zoom answered HTTP {status}"));
    // Validation failures list the offending fields; a playbook author needs them.
    if let Some(fields) = parsed
        .as_ref()
        .and_then(|v| v.get("errors"))
        .and_then(|e| e.as_array())
    {
        let details: Vec<String> = fields
            .iter()
            .filter_map(|f| {
                let field = f.get("field")?.as_str()?;
                let msg = f.get("message").and_then(|m| m.as_str()).unwrap_or("");
                Some(format!("{field}: {msg}"))
            })
            .collect();
        if !details.is_empty() {
            message = format!("{message} ({})", details.join("; "));
        }
    }
    let kind = match (status, code) {
        (_, Some(4711)) => ErrorKind::Forbidden,
        (_, Some(124)) | (401, _) => ErrorKind::Auth,
        (_, Some(3003)) | (403, _) => ErrorKind::Forbidden,
        (_, Some(3002)) | (409, _) => ErrorKind::Conflict,
        (404, _) | (_, Some(1001)) | (_, Some(3001)) => ErrorKind::NotFound,
        (429, _) => ErrorKind::RateLimited,
        (400..=499, _) => ErrorKind::InvalidInput,
        _ => ErrorKind::Upstream,
    };
    ActionError {
        kind,
        message,
        http_status: Some(status),
        upstream_code: code,
        retry_after_secs,
    }
}

/// The OAuth endpoint answers `{"reason": "...", "error": "invalid_client"}`.
pub fn from_oauth(status: u16, body: &[u8]) -> ActionError {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(|m| m.as_str())
            .map(str::to_owned)
    };
    let reason = field("reason").unwrap_or_else(|| format!("HTTP {status}"));
    let message = match field("error") {
        Some(e) => format!("Zoom refused the token request: {reason} ({e})"),
        None => format!("Zoom refused the token request: {reason}"),
    };
    let kind = match status {
        400 | 401 | 403 => ErrorKind::Auth,
        429 => ErrorKind::RateLimited,
        _ => ErrorKind::Upstream,
    };
    ActionError {
        kind,
        message,
        http_status: Some(status),
        upstream_code: None,
        retry_after_secs: None,
    }
}
