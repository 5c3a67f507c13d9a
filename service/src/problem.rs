//! Errors of the API as `application/problem+json` (RFC 9457), each with a
//! stable `type` a client can branch on.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// Where a problem type is named: `urn:soar-host:problem:<slug>`.
pub const TYPE_PREFIX: &str = "urn:soar-host:problem:";

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `urn:soar-host:problem:<slug>`: unauthorized, forbidden, not-found,
    /// invalid-input, unknown-action, idempotency-mismatch,
    /// idempotency-in-progress, overloaded, payload-too-large,
    /// webhook-rejected, unavailable, internal.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Seconds to wait before trying again (also sent as `Retry-After`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// The execution this is about, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, detail: impl Into<String>) -> Self {
        Self {
            type_: format!("{TYPE_PREFIX}{slug}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: soar_host::redact::scrub(&detail.into()),
            retry_after: None,
            execution: None,
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send a valid API token: `Authorization: Bearer soar_…` (create one with `soar-host token create NAME`)",
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", detail)
    }

    pub fn overloaded(detail: impl Into<String>, retry_after: u64) -> Self {
        let mut p = Self::new(StatusCode::TOO_MANY_REQUESTS, "overloaded", detail);
        p.retry_after = Some(retry_after);
        p
    }

    /// A request body that could not be read (over `--max-body-kib`, or cut off).
    pub fn body(rejection: axum::extract::rejection::BytesRejection) -> Self {
        let status = rejection.status();
        let slug = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "payload-too-large"
        } else {
            "invalid-input"
        };
        Self::new(status, slug, rejection.body_text())
    }

    /// A host error that rejected the request before anything ran.
    pub fn from_error(e: &soar_host::Error) -> Self {
        use soar_host::Error as E;
        let (status, slug) = match e {
            E::UnknownAction { .. } => (StatusCode::NOT_FOUND, "unknown-action"),
            E::InvalidParams { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid-input"),
            E::Resource { .. } | E::Plugin { .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, "resource-unavailable")
            }
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        Self::new(status, slug, e.to_string())
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = self.retry_after;
        let self_is_token_problem = self.type_.ends_with(":unauthorized");
        let mut response = (status, axum::Json(self)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED && self_is_token_problem {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<String> for Problem {
    /// A failure of the service itself (its database).
    fn from(message: String) -> Self {
        tracing::error!("{message}");
        Problem::internal("the service could not complete the request; see its log")
    }
}
