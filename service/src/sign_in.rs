//! Signing a person in for a resource with `auth = "user"` through the
//! service (what a console's Connect button does): a caller that may use
//! the resource asks for the provider's consent URL; the provider sends the
//! browser back to `/v1/auth/callback`, which checks `state` against the
//! logins started here (single use, ten minutes), exchanges the code and
//! keeps the tokens in the service's state directory, where every process
//! on it finds them. The callback needs no API token (a browser follows a
//! redirect): an unknown `state` exchanges nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use soar_host::user_auth::{self, Login};
use utoipa::ToSchema;

use super::Service;
use super::api::Caller;
use super::problem::Problem;

/// How long a started sign-in waits for its callback.
const PENDING_FOR: Duration = Duration::from_secs(600);
const CALLBACK: &str = "/v1/auth/callback";

/// Sign-ins started here, by their `state`.
#[derive(Default)]
pub struct PendingLogins(Mutex<HashMap<String, Pending>>);

struct Pending {
    resource: String,
    login: Login,
    started: Instant,
}

#[derive(Serialize, ToSchema)]
pub struct LoginStarted {
    /// Open this in the person's browser: the provider's consent page.
    authorize_url: String,
    /// Where the provider sends the browser back (the app must allow it).
    redirect_uri: String,
    expires_in_secs: u64,
}

/// Where the provider should send the browser back: the resource's
/// `redirect_uri` when it is this route, else this route on the address
/// the caller used.
fn redirect_uri(
    service: &Service,
    configured: Option<&str>,
    headers: &HeaderMap,
) -> Result<String, Problem> {
    if let Some(uri) = configured.filter(|u| u.ends_with(CALLBACK)) {
        return Ok(uri.to_owned());
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .ok_or_else(|| Problem::invalid_input("no Host header: set the resource's `redirect_uri` to this service's /v1/auth/callback"))?;
    let scheme = if service.https { "https" } else { "http" };
    Ok(format!("{scheme}://{host}{CALLBACK}"))
}

/// Start signing a person in for the resource: the consent URL to open.
#[utoipa::path(post, path = "/v1/resources/{name}/auth/login", tag = "resources", security(("bearer" = [])),
    params(("name" = String, Path, description = "A resource with `auth = \"user\"`")),
    responses((status = 200, body = LoginStarted),
        (status = 422, description = "The resource signs in as its account", body = Problem, content_type = "application/problem+json")))]
pub async fn login(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<LoginStarted>, Problem> {
    let resource = caller.resource(&service, &name)?;
    caller.may_change()?;
    let app = user_auth::app_of(&resource).map_err(|e| Problem::invalid_input(e.message))?;
    let redirect_uri = redirect_uri(&service, app.redirect_uri.as_deref(), &headers)?;
    let login = user_auth::begin(&resource, &redirect_uri)
        .map_err(|e| Problem::invalid_input(e.message))?;
    let started = LoginStarted {
        authorize_url: login.url.clone(),
        redirect_uri,
        expires_in_secs: PENDING_FOR.as_secs(),
    };
    let mut pending = service.logins.0.lock().unwrap_or_else(|p| p.into_inner());
    pending.retain(|_, p| p.started.elapsed() < PENDING_FOR);
    pending.insert(
        login.state().to_owned(),
        Pending {
            resource: name,
            login,
            started: Instant::now(),
        },
    );
    Ok(Json(started))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(status: StatusCode, text: &str) -> Response {
    let body = format!(
        "<!doctype html><meta charset=\"utf-8\"><title>soar-host</title><p>{}",
        escape(text)
    );
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        "text/html; charset=utf-8".parse().expect("a header value"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        "no-store".parse().expect("a header value"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'".parse().expect("a header value"),
    );
    response
}

/// Where the provider sends the browser back; no API token.
#[utoipa::path(get, path = "/v1/auth/callback", tag = "resources",
    params(("state" = String, Query, description = "The sign-in this answers"),
        ("code" = Option<String>, Query, description = "The authorization code"),
        ("error" = Option<String>, Query, description = "Why the provider did not grant it")),
    responses((status = 200, description = "Signed in (an HTML page)", content_type = "text/html"),
        (status = 400, description = "Not a sign-in started here, or refused", content_type = "text/html")))]
pub async fn callback(
    State(service): State<Arc<Service>>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let state = query
        .iter()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.as_str());
    let pending = state.and_then(|s| {
        let mut pending = service.logins.0.lock().unwrap_or_else(|p| p.into_inner());
        pending
            .remove(s)
            .filter(|p| p.started.elapsed() < PENDING_FOR)
    });
    let Some(pending) = pending else {
        return page(
            StatusCode::BAD_REQUEST,
            "This sign-in was not started here, was used already or has expired: start it again.",
        );
    };
    let Some(resource) = service.registry().get(&pending.resource).cloned() else {
        return page(StatusCode::BAD_REQUEST, "The resource is no longer served.");
    };
    let store = match service.host.store() {
        Ok(store) => Arc::clone(store),
        Err(e) => return page(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    match user_auth::finish(&resource, &store, &service.state_dir, pending.login, &query).await {
        Ok(status) => {
            tracing::info!(resource = %pending.resource, "a user signed in");
            page(
                StatusCode::OK,
                &format!(
                    "Signed in for {}. Scopes: {}. You can close this tab.",
                    resource.label,
                    status.scopes.join(" ")
                ),
            )
        }
        Err(e) => {
            tracing::warn!(resource = %pending.resource, "a sign-in failed: {}", e.message);
            let status = if e.sent {
                StatusCode::BAD_GATEWAY
            } else {
                StatusCode::BAD_REQUEST
            };
            page(
                status,
                &format!("The sign-in did not complete: {}", e.message),
            )
        }
    }
}
