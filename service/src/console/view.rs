//! Rendering: the templates (embedded, HTML auto-escaped; printing an
//! undefined value is an error, testing one in `if` is not), error pages,
//! and the shapes pages show (JSON trees, error advice).

use std::sync::LazyLock;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;
use serde_json::{Value, json};

use super::session::Viewer;
use crate::problem::Fault;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/console/templates/", $name))),)*]
    };
}

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    for (name, text) in templates![
        "base.html",
        "macros.html",
        "sign_in.html",
        "error.html",
        "resources.html",
        "resource.html",
        "resource_form.html",
        "test_report.html",
        "actions.html",
        "action.html",
        "result.html",
        "executions.html",
        "execution_rows.html",
        "execution.html",
        "events.html",
        "event_rows.html",
        "event.html",
        "tokens.html",
        "fields.html",
        "playbooks.html",
        "playbook.html",
        "run.html",
        "run_steps.html",
    ] {
        env.add_template(name, text)
            .unwrap_or_else(|e| panic!("console template {name}: {e:#}"));
    }
    env.add_function("asset", super::assets::url);
    env
});

/// `name` rendered with `ctx`; a template's own failure is a 500 page
/// (never a half page).
pub fn render(name: &str, ctx: Value) -> Response {
    match TEMPLATES
        .get_template(name)
        .and_then(|t| t.render(minijinja::value::Serde(&ctx)))
    {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!("console template {name}: {e:#}");
            PageError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "this page could not be shown; the service's log says why",
            )
            .into_response()
        }
    }
}

/// A page of the signed-in console: the layout's values (who, what they
/// may do, the form token) beside the page's own.
pub fn page(viewer: &Viewer, section: &str, name: &str, mut ctx: Value) -> Response {
    ctx["viewer"] = json!({
        "name": &viewer.grant.name,
        "read_only": viewer.grant.read_only(),
        "unlimited": viewer.grant.unlimited(),
        "playbooks": viewer.grant.has(crate::tokens::Scope::PlaybooksRead),
    });
    ctx["csrf"] = viewer.csrf.clone().into();
    ctx["section"] = section.into();
    render(name, ctx)
}

/// An error shown as a page (or, to htmx, as the fragment it swaps in).
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub message: String,
}

impl PageError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        PageError {
            status,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let html = TEMPLATES
            .get_template("error.html")
            .and_then(|t| {
                t.render(minijinja::value::Serde(json!({
                    "title": self.status.canonical_reason().unwrap_or("Error"),
                    "status": self.status.as_u16(),
                    "message": &self.message,
                    "viewer": None::<()>,
                    "csrf": "",
                    "section": "",
                })))
            })
            .unwrap_or_else(|_| "error".to_owned());
        (self.status, Html(html)).into_response()
    }
}

impl From<Fault> for PageError {
    fn from(fault: Fault) -> Self {
        tracing::error!("console: {}", fault.0);
        PageError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the service failed to answer this page; its log says why",
        )
    }
}

impl From<crate::problem::Problem> for PageError {
    fn from(problem: crate::problem::Problem) -> Self {
        PageError::new(
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            problem.detail,
        )
    }
}

/// A database fault as a page.
pub fn fault(fault: Fault) -> Response {
    PageError::from(fault).into_response()
}

/// A JSON value as a tree a template walks (`{% for n in tree recursive %}`):
/// objects and arrays as nodes with children, scalars as their JSON text.
#[derive(Serialize)]
pub struct Node {
    key: String,
    /// `object`, `array`, `string`, `number`, `boolean` or `null`.
    kind: &'static str,
    /// A scalar's text (a string without its quotes).
    text: String,
    children: Option<Vec<Node>>,
}

/// The most nodes a tree shows; beyond, the JSON text alone.
const MAX_NODES: usize = 5000;

pub fn tree(value: &Value) -> Option<Vec<Node>> {
    let mut budget = MAX_NODES;
    let root = node(String::new(), value, &mut budget)?;
    Some(match root.children {
        Some(children) => children,
        None => vec![root],
    })
}

fn node(key: String, value: &Value, budget: &mut usize) -> Option<Node> {
    *budget = budget.checked_sub(1)?;
    let (kind, text, children) = match value {
        Value::Object(map) => (
            "object",
            format!("{{{}}}", map.len()),
            Some(
                map.iter()
                    .map(|(k, v)| node(k.clone(), v, budget))
                    .collect::<Option<Vec<_>>>()?,
            ),
        ),
        Value::Array(items) => (
            "array",
            format!("[{}]", items.len()),
            Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| node(i.to_string(), v, budget))
                    .collect::<Option<Vec<_>>>()?,
            ),
        ),
        Value::String(s) => ("string", s.clone(), None),
        Value::Number(n) => ("number", n.to_string(), None),
        Value::Bool(b) => ("boolean", b.to_string(), None),
        Value::Null => ("null", "null".to_owned(), None),
    };
    Some(Node {
        key,
        kind,
        text,
        children,
    })
}

/// What to do about an error of `kind`, for the person who ran it.
pub fn advice(kind: &str) -> &'static str {
    match kind {
        "invalid-input" => "Correct the params: the message says which and why. Nothing was sent.",
        "config" | "resource" => {
            "The resource's settings are incomplete or wrong: fix the resource, then run its Test."
        }
        "auth" => {
            "The upstream refused the credentials: check the client id, secret and account id, then Test."
        }
        "forbidden" => {
            "The credentials lack a scope this action needs: add it to the app (Test lists what was granted)."
        }
        "not-found" => {
            "The object does not exist upstream (or is not visible to these credentials)."
        }
        "conflict" => "The object is not in a state that allows this; look at it first.",
        "rate-limited" => {
            "The upstream's rate limit was reached: run it again after the pause it asked for."
        }
        "upstream" => "The upstream failed; it may work when run again later.",
        "timeout" => {
            "No answer in time: run it again; for a change, look first whether it took effect."
        }
        "denied" => "The resource's egress list does not allow that address.",
        "interrupted" => {
            "The service stopped before this run finished; it was not run again. Run it again if needed."
        }
        "ambiguous" => "It may have acted: look at the object upstream before running it again.",
        "reauth-required" => {
            "The user's sign-in is missing or was revoked: sign in again (`soar-host auth login RESOURCE`)."
        }
        _ => "The message says what failed; the service's log has the details.",
    }
}
