//! Errors of the API as `application/problem+json` (RFC 9457), each with a
//! stable `type` a client can branch on.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use soar_host::wire::ProblemType;
use utoipa::ToSchema;

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `urn:soar-host:problem:<slug>`, the slugs of `soar_host::wire::ProblemType`.
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
    pub fn new(status: StatusCode, type_: ProblemType, detail: impl Into<String>) -> Self {
        Self {
            type_: type_.uri(),
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
            ProblemType::Unauthorized,
            "send a valid API token: `Authorization: Bearer soar_…` (create one with `soar-host token create NAME`)",
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ProblemType::Forbidden, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ProblemType::NotFound, detail)
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ProblemType::Internal,
            detail,
        )
    }

    pub fn overloaded(detail: impl Into<String>, retry_after: u64) -> Self {
        let mut p = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ProblemType::Overloaded,
            detail,
        );
        p.retry_after = Some(retry_after);
        p
    }

    /// A request body that could not be read (over `--max-body-kib`, or cut off).
    pub fn body(rejection: axum::extract::rejection::BytesRejection) -> Self {
        let status = rejection.status();
        let slug = if status == StatusCode::PAYLOAD_TOO_LARGE {
            ProblemType::PayloadTooLarge
        } else {
            ProblemType::InvalidInput
        };
        Self::new(status, slug, rejection.body_text())
    }

    /// A host error that rejected the request before anything ran.
    pub fn from_error(e: &soar_host::Error) -> Self {
        use soar_host::Error as E;
        let (status, slug) = match e {
            E::UnknownAction { .. } => (StatusCode::NOT_FOUND, ProblemType::UnknownAction),
            E::InvalidParams { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, ProblemType::InvalidInput)
            }
            E::Resource { .. } | E::Plugin { .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                ProblemType::ResourceUnavailable,
            ),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, ProblemType::Internal),
        };
        Self::new(status, slug, e.to_string())
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = self.retry_after;
        let self_is_token_problem = self.type_ == ProblemType::Unauthorized.uri();
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

impl Problem {
    /// Input that is not what the route takes (422).
    pub fn invalid_input(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ProblemType::InvalidInput,
            detail,
        )
    }
}

/// A failure of the service itself (its database): logged in full, answered
/// as a 500 that says to look at the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault(pub String);

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The database's own messages (opening, migrating) are faults.
impl From<String> for Fault {
    fn from(message: String) -> Self {
        Fault(message)
    }
}

impl From<Fault> for String {
    fn from(fault: Fault) -> Self {
        fault.0
    }
}

impl From<Fault> for Problem {
    fn from(fault: Fault) -> Self {
        tracing::error!("{fault}");
        Problem::internal("the service could not complete the request; see its log")
    }
}
