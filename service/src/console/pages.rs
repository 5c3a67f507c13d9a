//! The console's pages: each reads through the same checks as the API
//! (the viewer's grant), and renders a template.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::forms;
use super::session::{Posted, Viewer};
use super::view::{self, PageError, page};
use crate::Service;
use crate::actions::{Submitted, submit};
use crate::api::{resource_for, resource_view, test_report};
use crate::db::{EventQuery, EventRow, ExecutionQuery, ExecutionRow};
use crate::runs::{Execution, rfc3339};
use crate::tokens::{self, Scope, kind_name};
use soar_host::ExecutionStatus;
use soar_host::manifest::{Action, ActionKind};

type Page = Result<Response, PageError>;

/// The rows a list shows at once.
const PAGE_ROWS: u32 = 50;

pub async fn home(_viewer: Viewer) -> Redirect {
    Redirect::to("/resources")
}

// --- resources

#[derive(Serialize)]
struct ResourceRow {
    name: String,
    label: String,
    plugin: String,
    /// `passed`, `failed`, or `never`.
    test: &'static str,
    test_summary: String,
    tested_at: String,
}

pub async fn resources(State(service): State<Arc<Service>>, viewer: Viewer) -> Page {
    let tests = service.on_db(|db| db.last_tests()).await?;
    let registry = service.registry();
    let rows: Vec<ResourceRow> = registry
        .resources
        .iter()
        .filter(|(name, _)| viewer.grant.sees(name))
        .map(|(name, r)| {
            let last = tests.get(name);
            ResourceRow {
                name: name.clone(),
                label: r.label.clone(),
                plugin: r.plugin.clone(),
                test: match last {
                    Some((true, ..)) => "passed",
                    Some((false, ..)) => "failed",
                    None => "never",
                },
                test_summary: last.map(|t| t.1.clone()).unwrap_or_default(),
                tested_at: last.map(|t| rfc3339(t.2)).unwrap_or_default(),
            }
        })
        .collect();
    let skipped: Vec<Value> = if viewer.grant.resources.is_none() {
        registry
            .skipped
            .iter()
            .map(|s| json!({"file": s.file, "error": s.error}))
            .collect()
    } else {
        Vec::new()
    };
    Ok(page(
        &viewer,
        "resources",
        "resources.html",
        json!({ "title": "Resources", "resources": rows, "skipped": skipped }),
    ))
}

/// A resource's config fields as the console lists them: each setting
/// with its help, a secret shown only as set or not set.
async fn resource_page(
    service: &Arc<Service>,
    viewer: &Viewer,
    name: &str,
    report: Option<Value>,
    saved: bool,
) -> Page {
    let resource = resource_for(service, &viewer.grant, name)?;
    let shown = resource_view(service, name, &resource).await?;
    let manifest = service
        .host
        .manifest(&resource)
        .await
        .map_err(|e| PageError::new(StatusCode::BAD_GATEWAY, e.to_string()))?;
    let settings: Vec<Value> = manifest
        .config
        .iter()
        .map(|field| {
            let value = &shown["config"][&field.name];
            let shown_value = if value.is_null() {
                String::new()
            } else if field.secret {
                // Never the value, nor how long it is.
                "set".to_owned()
            } else {
                match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                }
            };
            json!({
                "name": field.name,
                "description": field.description,
                "secret": field.secret,
                "required": field.required,
                "set": !value.is_null(),
                "value": shown_value,
            })
        })
        .collect();
    let last = service.on_db(|db| db.last_tests()).await?;
    let last = last
        .get(name)
        .map(|(ok, summary, at)| json!({"ok": ok, "summary": summary, "at": rfc3339(*at)}));
    Ok(page(
        viewer,
        "resources",
        "resource.html",
        json!({
            "title": format!("Resource {name}"),
            "resource": shown,
            "settings": settings,
            "last": last,
            "saved": saved,
            "report": report.map(test_view),
        }),
    ))
}

#[derive(Deserialize)]
pub struct Saved {
    saved: Option<String>,
}

pub async fn resource(
    State(service): State<Arc<Service>>,
    viewer: Viewer,
    Path(name): Path<String>,
    Query(saved): Query<Saved>,
) -> Page {
    resource_page(&service, &viewer, &name, None, saved.saved.is_some()).await
}

/// The test report as the template shows it: the error's advice added.
fn test_view(mut report: Value) -> Value {
    if let Some(kind) = report["error"]["kind"].as_str() {
        report["advice"] = view::advice(kind).into();
    }
    report
}

/// Run the connectivity test: to htmx, the report alone; to a plain form,
/// the resource's page with it.
pub async fn test(
    State(service): State<Arc<Service>>,
    Path(name): Path<String>,
    posted: Posted,
) -> Page {
    let resource = resource_for(&service, &posted.viewer.grant, &name)?;
    let report = test_report(&service, &name, &resource).await;
    if posted.htmx {
        return Ok(view::render(
            "test_report.html",
            json!({ "report": test_view(report), "resource": json!({ "name": name }) }),
        ));
    }
    resource_page(&service, &posted.viewer, &name, Some(report), false).await
}

// --- actions

#[derive(Serialize)]
struct ActionRow<'a> {
    name: &'a str,
    title: &'a str,
    kind: &'static str,
    description: &'a str,
    allowed: bool,
}

/// The family an action belongs to: its first scope's resource (`user`,
/// `meeting`, `recording`), else `other`.
fn family(action: &Action) -> String {
    action
        .scopes
        .first()
        .and_then(|s| s.split(':').next())
        .filter(|f| !f.is_empty())
        .unwrap_or("other")
        .replace('_', " ")
}

pub async fn actions(
    State(service): State<Arc<Service>>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Page {
    let resource = resource_for(&service, &viewer.grant, &name)?;
    let manifest = service
        .host
        .manifest(&resource)
        .await
        .map_err(|e| PageError::new(StatusCode::BAD_GATEWAY, e.to_string()))?;
    let mut families: BTreeMap<String, Vec<ActionRow>> = BTreeMap::new();
    for action in &manifest.actions {
        families.entry(family(action)).or_default().push(ActionRow {
            name: &action.name,
            title: &action.title,
            kind: kind_name(action.kind),
            description: &action.description,
            allowed: viewer.grant.may_run(action.kind),
        });
    }
    let families: Vec<Value> = families
        .into_iter()
        .map(|(family, actions)| json!({"name": family, "actions": actions}))
        .collect();
    Ok(page(
        &viewer,
        "resources",
        "actions.html",
        json!({
            "title": format!("Actions of {name}"),
            "resource": json!({ "name": name, "label": &resource.label, "plugin": &manifest.title }),
            "families": families,
        }),
    ))
}

/// Everything the action page shows, with what was posted, the errors by
/// field, and the run's outcome.
struct ActionPage<'a> {
    name: &'a str,
    action: &'a Action,
    fields: Vec<forms::Field>,
    error: Option<String>,
    execution: Option<Value>,
}

fn action_page(viewer: &Viewer, p: ActionPage) -> Response {
    page(
        viewer,
        "resources",
        "action.html",
        json!({
            "title": format!("{} on {}", p.action.name, p.name),
            "resource": json!({ "name": p.name }),
            "action": json!({
                "name": &p.action.name,
                "title": &p.action.title,
                "description": &p.action.description,
                "kind": kind_name(p.action.kind),
                "containment": p.action.kind == ActionKind::Containment,
                "scopes": &p.action.scopes,
                "operation": &p.action.operation,
                "allowed": viewer.grant.may_run(p.action.kind),
            }),
            "fields": p.fields,
            "form_key": super::session::random_text(16),
            "error": p.error,
            "execution": p.execution,
        }),
    )
}

async fn plugin_of(
    service: &Service,
    viewer: &Viewer,
    name: &str,
) -> Result<Arc<soar_host::Plugin>, PageError> {
    let resource = resource_for(service, &viewer.grant, name)?;
    service
        .host
        .plugin(&resource.plugin, resource.base_dir())
        .await
        .map_err(|e| PageError::new(StatusCode::BAD_GATEWAY, e.to_string()))
}

fn action_of<'a>(plugin: &'a soar_host::Plugin, action: &str) -> Result<&'a Action, PageError> {
    plugin.manifest.action(action).ok_or_else(|| {
        PageError::not_found(format!(
            "plugin `{}` has no action `{}`",
            plugin.manifest.name,
            soar_host::redact::printable(action)
        ))
    })
}

pub async fn action(
    State(service): State<Arc<Service>>,
    viewer: Viewer,
    Path((name, action)): Path<(String, String)>,
) -> Page {
    let plugin = plugin_of(&service, &viewer, &name).await?;
    let spec = action_of(&plugin, &action)?;
    let fields = forms::fields(
        &spec.params_schema,
        &Default::default(),
        &Default::default(),
    );
    Ok(action_page(
        &viewer,
        ActionPage {
            name: &name,
            action: spec,
            fields,
            error: None,
            execution: None,
        },
    ))
}

/// Run an action from its form: the params read from the fields and
/// checked against the schema (errors beside their fields, nothing run);
/// a containment action only when confirmed. Then the run, as an execution
/// on the viewer's token; the answer is its outcome (to htmx, the result
/// alone).
pub async fn run(
    State(service): State<Arc<Service>>,
    Path((name, action)): Path<(String, String)>,
    posted: Posted,
) -> Page {
    let viewer = &posted.viewer;
    let plugin = plugin_of(&service, viewer, &name).await?;
    let spec = action_of(&plugin, &action)?;
    let blank = forms::fields(
        &spec.params_schema,
        &Default::default(),
        &Default::default(),
    );
    let mut errors = HashMap::new();
    let mut error = None;
    let mut params = Value::Null;
    match forms::params(&blank, &posted.form) {
        Ok(read) => params = read,
        Err(found) => errors = found,
    }
    if errors.is_empty() {
        let checker = plugin
            .checker(spec)
            .map_err(|e| PageError::new(StatusCode::INTERNAL_SERVER_ERROR, e))?;
        for v in soar_host::params::violations(spec, &checker, &params) {
            let field = forms::field_of(&blank, &v.pointer);
            if field.is_empty() {
                error.get_or_insert(v.message);
            } else {
                errors.entry(field).or_insert(v.message);
            }
        }
    }
    if spec.kind == ActionKind::Containment && posted.form.get("confirm") != Some("yes") {
        error.get_or_insert_with(|| {
            format!(
                "`{action}` is a containment action: it changes things in {name}. Tick the confirmation to run it."
            )
        });
    }
    let mut execution = None;
    if errors.is_empty() && error.is_none() {
        // The form's one-time key: a second submit of the same form (a
        // double click, a reload) answers the first run, runs nothing.
        let key = posted
            .form
            .get("form_key")
            .filter(|k| !k.is_empty())
            .map(|k| format!("console:{k}"));
        match submit(&service, &viewer.grant, &name, &action, &params, key).await {
            Ok(Submitted::Started { run, .. }) => {
                let row = run.await.map_err(|e| {
                    PageError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
                })??;
                execution = Some(execution_view(row));
            }
            Ok(Submitted::Existing { first, .. }) => execution = Some(execution_view(*first)),
            Err(problem) => error = Some(problem.detail),
        }
    }
    let status = if execution.is_some() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let fields = forms::fields(&spec.params_schema, &posted.form, &errors);
    let mut response = action_page(
        viewer,
        ActionPage {
            name: &name,
            action: spec,
            fields,
            error,
            execution,
        },
    );
    *response.status_mut() = status;
    Ok(response)
}

/// An execution as the pages show it: the API's shape, params redacted,
/// result and params as trees, the error's advice.
fn execution_view(row: ExecutionRow) -> Value {
    let seq = row.seq;
    let execution = Execution::from(row);
    let mut shown = serde_json::to_value(&execution).unwrap_or_default();
    // Every field present (null when not), for the templates' strictness.
    for field in [
        "data",
        "summary",
        "error",
        "http_requests",
        "files",
        "started_at",
        "finished_at",
        "idempotency_key",
    ] {
        if shown.get(field).is_none() {
            shown[field] = Value::Null;
        }
    }
    let params = soar_host::redact::Redact::redact(execution.params.clone());
    shown["params"] = params.clone();
    shown["params_tree"] = json!(view::tree(&params));
    shown["params_json"] = pretty(&params);
    let data: Option<Value> = execution
        .data
        .as_ref()
        .and_then(|d| serde_json::from_str(d.get()).ok());
    shown["data_tree"] = json!(data.as_ref().and_then(view::tree));
    shown["data_json"] = data.as_ref().map_or(Value::Null, pretty);
    shown["advice"] = execution
        .error
        .as_ref()
        .map_or(Value::Null, |e| view::advice(e.kind.as_str()).into());
    shown["seq"] = seq.into();
    // The files by name, each with its link (`/executions/{id}/files/{n}`).
    shown["files"] = execution
        .files
        .iter()
        .map(|f| {
            let name = std::path::Path::new(f)
                .file_name()
                .map_or_else(|| f.clone(), |n| n.to_string_lossy().into_owned());
            json!({"name": name, "path": f})
        })
        .collect();
    shown
}

fn pretty(value: &Value) -> Value {
    serde_json::to_string_pretty(value)
        .unwrap_or_default()
        .into()
}

// --- executions

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct ExecutionFilter {
    #[serde(default)]
    resource: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    status: String,
    /// Created from, to (UTC, `2026-12-06T21:30` as a datetime field sends it).
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    before: Option<i64>,
}

/// A datetime field's text (UTC, seconds optional) as milliseconds.
fn utc_ms(field: &str, text: &str) -> Result<Option<i64>, PageError> {
    let Some(text) = non_empty(text) else {
        return Ok(None);
    };
    let full = if text.len() == 16 {
        format!("{text}:00Z")
    } else {
        format!("{}Z", text.trim_end_matches('Z'))
    };
    humantime::parse_rfc3339(&full)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| Some(d.as_millis() as i64))
        .ok_or_else(|| {
            PageError::bad_request(format!(
                "`{field}` must be a date and time such as 2026-12-06T21:30 (UTC), got `{}`",
                soar_host::redact::printable(text)
            ))
        })
}

fn non_empty(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|t| !t.is_empty())
}

/// A page of the executions the viewer may see, newest first, and the
/// `before` of the next page.
async fn execution_list(
    service: &Arc<Service>,
    viewer: &Viewer,
    filter: &ExecutionFilter,
) -> Result<(Vec<Value>, Option<i64>), PageError> {
    let status: Option<ExecutionStatus> = non_empty(&filter.status)
        .map(str::parse)
        .transpose()
        .map_err(PageError::bad_request)?;
    let resources = viewer.grant.resources.clone();
    let (resource, action, before) = (
        non_empty(&filter.resource).map(str::to_owned),
        non_empty(&filter.action).map(str::to_owned),
        filter.before,
    );
    let (created_from, created_to) = (utc_ms("from", &filter.from)?, utc_ms("to", &filter.to)?);
    let rows = service
        .on_db(move |db| {
            db.executions(&ExecutionQuery {
                resources: resources.as_deref(),
                resource: resource.as_deref(),
                action: action.as_deref(),
                status,
                before,
                created_from,
                created_to,
                limit: PAGE_ROWS,
            })
        })
        .await?;
    let next = (rows.len() == PAGE_ROWS as usize).then(|| rows[rows.len() - 1].seq);
    let rows = rows
        .into_iter()
        .map(|row| {
            let seq = row.seq;
            let e = Execution::from(row);
            json!({
                "id": e.id, "seq": seq, "resource": e.resource, "action": e.action,
                "status": e.status.as_str(), "token": e.token, "created_at": e.created_at,
                "total_ms": e.timings.total_ms,
                "error_kind": e.error.as_ref().map(|r| r.kind.as_str()),
            })
        })
        .collect();
    Ok((rows, next))
}

fn statuses() -> Vec<&'static str> {
    ["queued", "running", "succeeded", "failed", "interrupted"].into()
}

pub async fn executions(
    State(service): State<Arc<Service>>,
    viewer: Viewer,
    Query(filter): Query<ExecutionFilter>,
) -> Page {
    let (rows, next) = execution_list(&service, &viewer, &filter).await?;
    let resources: Vec<String> = service
        .registry()
        .resources
        .keys()
        .filter(|n| viewer.grant.sees(n))
        .cloned()
        .collect();
    let query = filter_query(&filter);
    Ok(page(
        &viewer,
        "executions",
        "executions.html",
        json!({
            "title": "Executions",
            "rows": rows,
            "next": next,
            "filter": &filter,
            "query": query,
            "resources": resources,
            "statuses": statuses(),
        }),
    ))
}

/// The filter as a query string (without `before`): what the live rows ask
/// for.
fn filter_query(filter: &ExecutionFilter) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in [
        ("resource", &filter.resource),
        ("action", &filter.action),
        ("status", &filter.status),
        ("from", &filter.from),
        ("to", &filter.to),
    ] {
        if !value.is_empty() {
            query.append_pair(key, value);
        }
    }
    query.finish()
}

/// The first page's rows alone: what a live list fetches when told that
/// executions changed.
pub async fn execution_rows(
    State(service): State<Arc<Service>>,
    viewer: Viewer,
    Query(mut filter): Query<ExecutionFilter>,
) -> Page {
    filter.before = None;
    let (rows, _) = execution_list(&service, &viewer, &filter).await?;
    Ok(view::render("execution_rows.html", json!({ "rows": rows })))
}

/// "changed" once at the start (what changed between the page's render and
/// this stream's start is fetched), then whenever `wake` moves (at most
/// five times a second), until the service stops.
fn changes<T: Send + Sync + 'static>(
    service: &Arc<Service>,
    mut wake: tokio::sync::watch::Receiver<T>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>> + use<T>> {
    wake.mark_changed();
    let stopping = service.shutdown.clone();
    let stream =
        futures_util::stream::unfold((wake, stopping), |(mut wake, stopping)| async move {
            tokio::select! {
                changed = wake.changed() => changed.ok()?,
                () = stopping.cancelled() => return None,
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            wake.borrow_and_update();
            Some((
                Ok(Event::default().event("changed").data("1")),
                (wake, stopping),
            ))
        });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

pub async fn executions_live(
    State(service): State<Arc<Service>>,
    _viewer: Viewer,
) -> impl IntoResponse {
    changes(&service, service.db.executions_changed())
}

pub async fn execution(
    State(service): State<Arc<Service>>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Page {
    let row = {
        let id = id.clone();
        service.on_db(move |db| db.execution(&id)).await?
    };
    let Some(row) = row.filter(|r| viewer.grant.sees(&r.resource)) else {
        return Err(PageError::not_found(format!(
            "no execution `{}`",
            soar_host::redact::printable(&id)
        )));
    };
    Ok(page(
        &viewer,
        "executions",
        "execution.html",
        json!({ "title": format!("Execution {id}"), "execution": execution_view(row) }),
    ))
}

/// A file an execution downloaded, to the browser: only one listed in the
/// execution's record, and only from its resource's downloads directory.
pub async fn execution_file(
    State(service): State<Arc<Service>>,
    viewer: Viewer,
    Path((id, index)): Path<(String, usize)>,
) -> Page {
    let row = {
        let id = id.clone();
        service.on_db(move |db| db.execution(&id)).await?
    };
    let missing = || PageError::not_found("no such file of this execution");
    let row = row
        .filter(|r| viewer.grant.sees(&r.resource))
        .ok_or_else(missing)?;
    let listed = row
        .outcome
        .as_ref()
        .and_then(|o| o.files.get(index))
        .ok_or_else(missing)?;
    let dir = std::fs::canonicalize(service.downloads_dir(&row.resource)).map_err(|_| missing())?;
    let path = std::fs::canonicalize(listed).map_err(|_| {
        PageError::not_found("the file is no longer there (removed, or past its retention)")
    })?;
    if !path.starts_with(&dir) {
        return Err(missing());
    }
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| PageError::not_found(format!("the file cannot be read: {e}")))?;
    let name: String = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\')
        .collect();
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

// --- events

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct EventFilter {
    #[serde(default, rename = "type")]
    type_: String,
    before: Option<i64>,
}

async fn event_list(
    service: &Arc<Service>,
    viewer: &Viewer,
    filter: &EventFilter,
) -> Result<(Vec<Value>, Option<i64>), PageError> {
    let resources = viewer.grant.resources.clone();
    let event_type = non_empty(&filter.type_).map(str::to_owned);
    let before = filter.before.unwrap_or(i64::MAX);
    let rows = service
        .on_db(move |db| {
            db.events(&EventQuery {
                resources: resources.as_deref(),
                event_type: event_type.as_deref(),
                after: 0,
                before: Some(before),
                limit: PAGE_ROWS,
            })
        })
        .await?;
    let next = (rows.len() == PAGE_ROWS as usize).then(|| rows[rows.len() - 1].seq);
    let rows = rows
        .into_iter()
        .map(|mut row| {
            // A list row shows no payload.
            row.payload = Value::Null;
            serde_json::to_value(crate::events::StoredEvent::from(row)).unwrap_or_default()
        })
        .collect();
    Ok((rows, next))
}

/// An event as its page shows it: the payload as a tree and as JSON.
fn event_view(row: EventRow) -> Value {
    let payload = row.payload.clone();
    let event = crate::events::StoredEvent::from(row);
    let mut shown = serde_json::to_value(&event).unwrap_or_default();
    shown["payload_tree"] = json!(view::tree(&payload));
    shown["payload_json"] = pretty(&payload);
    shown
}

pub async fn events(
    State(service): State<Arc<Service>>,
    viewer: Viewer,
    Query(filter): Query<EventFilter>,
) -> Page {
    let (rows, next) = event_list(&service, &viewer, &filter).await?;
    let query = if filter.type_.is_empty() {
        String::new()
    } else {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("type", &filter.type_)
            .finish()
    };
    Ok(page(
        &viewer,
        "events",
        "events.html",
        json!({ "title": "Events", "rows": rows, "next": next, "filter": &filter, "query": query }),
    ))
}

pub async fn event_rows(
    State(service): State<Arc<Service>>,
    viewer: Viewer,
    Query(mut filter): Query<EventFilter>,
) -> Page {
    filter.before = None;
    let (rows, _) = event_list(&service, &viewer, &filter).await?;
    Ok(view::render("event_rows.html", json!({ "rows": rows })))
}

pub async fn events_live(
    State(service): State<Arc<Service>>,
    _viewer: Viewer,
) -> impl IntoResponse {
    changes(&service, service.events.subscribe())
}

pub async fn event(
    State(service): State<Arc<Service>>,
    viewer: Viewer,
    Path(seq): Path<i64>,
) -> Page {
    let row = service.on_db(move |db| db.event(seq)).await?;
    let Some(row) = row.filter(|r| viewer.grant.sees(&r.resource)) else {
        return Err(PageError::not_found(format!("no event {seq}")));
    };
    Ok(page(
        &viewer,
        "events",
        "event.html",
        json!({ "title": format!("Event {seq}"), "event": event_view(row) }),
    ))
}

// --- tokens

fn may_manage_tokens(viewer: &Viewer) -> Result<(), PageError> {
    viewer.require_unlimited("manages tokens")
}

async fn tokens_page(
    service: &Arc<Service>,
    viewer: &Viewer,
    created: Option<(String, String)>,
    error: Option<String>,
) -> Page {
    may_manage_tokens(viewer)?;
    let rows = service.on_db(|db| db.tokens()).await?;
    let rows: Vec<Value> = rows
        .into_iter()
        .map(|t| {
            json!({
                "name": t.name,
                "resources": t.resources,
                "kinds": t.kinds,
                "scopes": t.scopes,
                "created_at": rfc3339(t.created_ms),
                "revoked_at": t.revoked_ms.map(rfc3339),
                "current": t.id == viewer.grant.id,
            })
        })
        .collect();
    let resources: Vec<String> = service.registry().resources.keys().cloned().collect();
    let mut response = page(
        viewer,
        "tokens",
        "tokens.html",
        json!({
            "title": "Tokens",
            "tokens": rows,
            "resources": resources,
            "kinds": ["enrichment", "containment"],
            "scopes": [Scope::PlaybooksRead.as_str(), Scope::PlaybooksRun.as_str()],
            "created": created.map(|(name, token)| json!({ "name": name, "token": token })),
            "error": &error,
        }),
    );
    if error.is_some() {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

pub async fn tokens(State(service): State<Arc<Service>>, viewer: Viewer) -> Page {
    tokens_page(&service, &viewer, None, None).await
}

/// Create a token from the form; its text is shown on this answer only.
pub async fn create_token(State(service): State<Arc<Service>>, posted: Posted) -> Page {
    may_manage_tokens(&posted.viewer)?;
    let form = &posted.form;
    let name = form.get("name").unwrap_or_default().trim().to_owned();
    let resources: Vec<String> = form.all("resource").map(str::to_owned).collect();
    let known = service.registry();
    if let Some(unknown) = resources.iter().find(|r| known.get(r).is_none()) {
        let message = format!(
            "no resource named `{}`",
            soar_host::redact::printable(unknown)
        );
        return tokens_page(&service, &posted.viewer, None, Some(message)).await;
    }
    let kinds: Vec<ActionKind> = form.all("kind").filter_map(tokens::parse_kind).collect();
    let mut scopes: Vec<Scope> = form
        .all("scope")
        .filter_map(Scope::parse)
        .filter(|s| *s != Scope::ReadOnly)
        .collect();
    if form.get("read_only") == Some("yes") {
        scopes.push(Scope::ReadOnly);
    }
    let outcome = {
        let name = name.clone();
        service
            .on_db(move |db| Ok(tokens::create(db, &name, resources, kinds, scopes)))
            .await?
    };
    match outcome {
        Ok(created) => {
            tracing::info!(token = %name, by = %posted.viewer.grant.name, "token created in the console");
            tokens_page(&service, &posted.viewer, Some((name, created.token)), None).await
        }
        Err(message) => tokens_page(&service, &posted.viewer, None, Some(message)).await,
    }
}

pub async fn revoke_token(
    State(service): State<Arc<Service>>,
    Path(name): Path<String>,
    posted: Posted,
) -> Page {
    may_manage_tokens(&posted.viewer)?;
    let revoked = {
        let name = name.clone();
        service.on_db(move |db| db.revoke_token(&name)).await?
    };
    if !revoked {
        let message = format!(
            "no live token named `{}`",
            soar_host::redact::printable(&name)
        );
        return tokens_page(&service, &posted.viewer, None, Some(message)).await;
    }
    tracing::info!(token = %name, by = %posted.viewer.grant.name, "token revoked in the console");
    Ok(Redirect::to("/tokens").into_response())
}
