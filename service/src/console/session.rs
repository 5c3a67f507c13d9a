//! Who is looking: sign-in with an API token, the session cookie, and the
//! checks every state-changing request passes ([`Posted`]).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use rand::RngCore;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::view::{self, PageError};
use crate::Service;
use crate::db::{SessionRow, now_ms};
use crate::tokens::{self, Grant};

const SESSION_COOKIE: &str = "soar_session";
/// The sign-in form's own token against cross-site posts (double submit):
/// there is no session yet to hold one.
const SIGN_IN_COOKIE: &str = "soar_sign_in";
const SESSION_FOR: Duration = Duration::from_secs(12 * 3600);

/// A signed-in person: their token's grant and the session's form token.
pub struct Viewer {
    pub grant: Grant,
    pub csrf: String,
    hash: Vec<u8>,
}

impl FromRequestParts<Arc<Service>> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        service: &Arc<Service>,
    ) -> Result<Self, Response> {
        let to_sign_in = || to_sign_in(parts);
        let Some(value) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_sign_in());
        };
        let hash = Sha256::digest(value.as_bytes()).to_vec();
        let Some(session) = service.db.session(&hash).map_err(view::fault)? else {
            return Err(to_sign_in());
        };
        // Revoking the token ends its sessions.
        let Some(grant) = tokens::by_id(&service.db, &session.token_id).map_err(view::fault)?
        else {
            service.db.delete_session(&hash).map_err(view::fault)?;
            return Err(to_sign_in());
        };
        tracing::Span::current().record("token", grant.name.as_str());
        Ok(Viewer {
            grant,
            csrf: session.csrf,
            hash,
        })
    }
}

impl Viewer {
    /// 403 unless the token is unlimited: only such a token `does` (manages
    /// tokens, edits resource files).
    pub fn require_unlimited(&self, does: &str) -> Result<(), PageError> {
        if self.grant.unlimited() {
            return Ok(());
        }
        Err(PageError::forbidden(format!(
            "token `{}` is limited (to resources, kinds or scopes, or read-only): only an unlimited token {does}",
            self.grant.name
        )))
    }
}

/// To the sign-in page, and back here after: a redirect for a page, an
/// `HX-Redirect` for a request htmx made (it would swap a redirect's page
/// into a fragment's place).
fn to_sign_in(parts: &Parts) -> Response {
    let next = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let next = if parts.method == axum::http::Method::GET {
        &next
    } else {
        "/"
    };
    let target = format!(
        "/sign-in?{}",
        form_urlencoded::Serializer::new(String::new())
            .append_pair("next", next)
            .finish()
    );
    if parts.headers.contains_key("hx-request") {
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        if let Ok(value) = HeaderValue::from_str(&target) {
            response.headers_mut().insert("hx-redirect", value);
        }
        return response;
    }
    Redirect::to(&target).into_response()
}

/// A state-changing request: from a signed-in person, from a page of this
/// origin, with the session's form token; its form's fields.
pub struct Posted {
    pub viewer: Viewer,
    pub form: Fields,
    /// Sent by htmx (answer a fragment), or by a plain form (a page).
    pub htmx: bool,
}

/// A urlencoded form's fields, in order (a name may repeat).
#[derive(Default)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl FromRequest<Arc<Service>> for Posted {
    type Rejection = Response;

    async fn from_request(request: Request, service: &Arc<Service>) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        same_origin(&parts.headers).map_err(IntoResponse::into_response)?;
        let viewer = Viewer::from_request_parts(&mut parts, service).await?;
        let htmx = parts.headers.contains_key("hx-request");
        let header_token = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let form = read_form(Request::from_parts(parts, body), service).await?;
        let presented = header_token.or_else(|| form.get("csrf").map(str::to_owned));
        if !presented.is_some_and(|p| equal(&p, &viewer.csrf)) {
            return Err(PageError::forbidden(
                "this form is stale or did not come from this console (its form token is missing or wrong): reload the page and try again",
            )
            .into_response());
        }
        Ok(Posted { viewer, form, htmx })
    }
}

async fn read_form(request: Request, service: &Arc<Service>) -> Result<Fields, Response> {
    let axum::Form(fields) = axum::Form::<Vec<(String, String)>>::from_request(request, service)
        .await
        .map_err(|e| {
            PageError::bad_request(format!("the form could not be read: {e}")).into_response()
        })?;
    Ok(Fields(fields))
}

fn equal(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Refuses a request a browser says came from elsewhere: by
/// `Sec-Fetch-Site` when the browser sends it (`same-origin`, or `none` for
/// one a person typed), else by `Origin`, which must name this host when
/// present. (Clients that send neither, like curl, still need the session
/// cookie and the form token.)
fn same_origin(headers: &HeaderMap) -> Result<(), PageError> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let refused = || {
        PageError::forbidden("a request from another site is refused: use the console's own pages")
    };
    if let Some(site) = text("sec-fetch-site") {
        return match site {
            "same-origin" | "none" => Ok(()),
            _ => Err(refused()),
        };
    }
    if let Some(origin) = text("origin") {
        let host = text("host").unwrap_or_default();
        let origin_host = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"));
        if origin_host != Some(host) {
            return Err(refused());
        }
    }
    Ok(())
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())
}

pub(super) fn random_text(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut raw);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn set_cookie(service: &Service, name: &str, value: &str, path: &str, max_age: u64) -> HeaderValue {
    let secure = if service.https { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .expect("cookie text is ASCII")
}

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Only a path of this console: never another site.
fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p,
        _ => "/",
    }
}

pub async fn sign_in_page(
    State(service): State<Arc<Service>>,
    Query(next): Query<Next>,
) -> Response {
    sign_in_form(&service, next.next.as_deref(), None, StatusCode::OK)
}

fn sign_in_form(
    service: &Service,
    next: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let form_token = random_text(16);
    let html = view::render(
        "sign_in.html",
        json!({
            "title": "Sign in",
            "next": local_path(next),
            "form_token": &form_token,
            "error": error,
        }),
    );
    let mut response = (status, html).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(service, SIGN_IN_COOKIE, &form_token, "/sign-in", 600),
    );
    response
}

pub async fn sign_in(State(service): State<Arc<Service>>, request: Request) -> Response {
    match sign_in_inner(&service, request).await {
        Ok(response) | Err(response) => response,
    }
}

async fn sign_in_inner(service: &Arc<Service>, request: Request) -> Result<Response, Response> {
    same_origin(request.headers()).map_err(IntoResponse::into_response)?;
    let expected = cookie(request.headers(), SIGN_IN_COOKIE);
    let form = read_form(request, service).await?;
    let next = form.get("next");
    let presented = form.get("form_token").unwrap_or_default();
    if !expected.is_some_and(|e| equal(&e, presented)) {
        return Err(sign_in_form(
            service,
            next,
            Some("the sign-in form expired or did not come from this console: try again"),
            StatusCode::FORBIDDEN,
        ));
    }
    let token = form.get("token").unwrap_or_default().trim();
    let Some(grant) = tokens::verify(&service.db, token).map_err(view::fault)? else {
        tracing::info!("console sign-in refused: unknown, mistyped or revoked token");
        return Err(sign_in_form(
            service,
            next,
            Some(
                "that token is not valid: it is unknown, mistyped or revoked. Create one with `soar-host token create NAME`.",
            ),
            StatusCode::UNAUTHORIZED,
        ));
    };
    let value = random_text(32);
    let now = now_ms();
    service
        .db
        .insert_session(&SessionRow {
            hash: Sha256::digest(value.as_bytes()).to_vec(),
            token_id: grant.id.clone(),
            csrf: random_text(24),
            created_ms: now,
            expires_ms: now + SESSION_FOR.as_millis() as i64,
        })
        .map_err(view::fault)?;
    tracing::info!(token = %grant.name, "console sign-in");
    let mut response = Redirect::to(local_path(next)).into_response();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_cookie(service, SESSION_COOKIE, &value, "/", SESSION_FOR.as_secs()),
    );
    headers.append(
        header::SET_COOKIE,
        set_cookie(service, SIGN_IN_COOKIE, "", "/sign-in", 0),
    );
    Ok(response)
}

pub async fn sign_out(State(service): State<Arc<Service>>, posted: Posted) -> Response {
    if let Err(e) = service.db.delete_session(&posted.viewer.hash) {
        return view::fault(e);
    }
    let mut response = Redirect::to("/sign-in").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(&service, SESSION_COOKIE, "", "/", 0),
    );
    response
}
