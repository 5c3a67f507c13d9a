//! The web console at `/`: server-rendered pages over the same service
//! (the API's checks, the same database), for people who keep it open
//! during an incident.
//!
//! - Sign-in takes an API token and sets a session cookie (HttpOnly,
//!   SameSite=Strict, Secure over TLS, 12 hours); only the cookie's hash is
//!   kept, and the session ends with its token's revocation. The console
//!   shows and allows what that token's grant allows.
//! - Every state-changing request is a POST carrying the session's form
//!   token (a form field, or `X-CSRF-Token` from htmx) from this origin
//!   ([`Posted`]); the Content-Security-Policy allows scripts from this
//!   origin only, no inline script, no `eval`.
//! - Templates (minijinja, HTML auto-escaped) and assets (htmx 2 and its SSE
//!   extension, vendored) are embedded in the binary; assets are served
//!   under names carrying their content's hash, cached for a year.
//! - Lists that update live listen to a Server-Sent Events stream that says
//!   only "changed", and fetch their rows again: the page is not re-rendered.

mod assets;
mod forms;
mod pages;
mod playbook_pages;
mod resource_edit;
mod session;
mod view;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};

use super::Service;

/// The console's routes; the API's stay under `/v1`.
pub fn router(service: &Arc<Service>) -> Router<Arc<Service>> {
    Router::new()
        .route("/", get(pages::home))
        .route(
            "/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/sign-out", post(session::sign_out))
        .route(
            "/resources",
            get(pages::resources).post(resource_edit::create),
        )
        .route("/resources/new", get(resource_edit::new_form))
        .route("/resources/{name}", get(pages::resource))
        .route(
            "/resources/{name}/edit",
            get(resource_edit::edit_form).post(resource_edit::update),
        )
        .route("/resources/{name}/test", post(pages::test))
        .route("/resources/{name}/actions", get(pages::actions))
        .route(
            "/resources/{name}/actions/{action}",
            get(pages::action).post(pages::run),
        )
        .route("/executions", get(pages::executions))
        .route("/executions/rows", get(pages::execution_rows))
        .route("/executions/live", get(pages::executions_live))
        .route("/executions/{id}", get(pages::execution))
        .route("/executions/{id}/files/{index}", get(pages::execution_file))
        .route("/events", get(pages::events))
        .route("/events/rows", get(pages::event_rows))
        .route("/events/live", get(pages::events_live))
        .route("/events/{seq}", get(pages::event))
        .route("/playbooks", get(playbook_pages::playbooks))
        .route("/playbooks/{name}", get(playbook_pages::playbook))
        .route("/playbooks/{name}/run", post(playbook_pages::start))
        .route("/playbook-runs/{id}", get(playbook_pages::run))
        .route("/playbook-runs/{id}/steps", get(playbook_pages::run_steps))
        .route("/playbook-runs/{id}/rerun", post(playbook_pages::rerun))
        .route("/playbook-runs/{id}/cancel", post(playbook_pages::cancel))
        .route("/tokens", get(pages::tokens).post(pages::create_token))
        .route("/tokens/{name}/revoke", post(pages::revoke_token))
        .route("/assets/{file}", get(assets::serve))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(service),
            headers,
        ))
}

/// What every console answer carries: the Content-Security-Policy (scripts
/// and styles from this origin only, no inline script, no `eval`, no
/// framing), no MIME sniffing, no referrer to other sites, and no caching
/// of pages.
async fn headers(State(service): State<Arc<Service>>, request: Request, next: Next) -> Response {
    let is_asset = request.uri().path().starts_with("/assets/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Not `no-referrer`: with it, browsers send `Origin: null` on posts.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !is_asset {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if service.https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}
