//! Running an action through the API, and reading executions back.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tracing::Instrument;
use utoipa::{IntoParams, ToSchema};

use super::Service;
use super::api::{Caller, resource_for};
use super::db::{ExecutionQuery, ExecutionRow, Inserted, now_ms};
use super::metrics::ResourceLabels;
use super::problem::{Fault, Problem};
use super::runs::{self, Execution, Job};
use super::tokens::{Grant, kind_name};
use soar_host::wire::ProblemType;
use soar_host::{Error, ExecutionStatus};

/// The longest `Idempotency-Key` accepted.
const MAX_KEY_LEN: usize = 255;

/// Run an action. Synchronous by default: the answer is the execution,
/// finished (`status` succeeded or failed; a failed run still answers 200,
/// its `error` says why and whether to retry). With `Prefer: respond-async`:
/// `202` at once, with the execution's URL in `Location`.
///
/// With an `Idempotency-Key`, the same key and the same request answer the
/// first execution again (`Idempotent-Replayed: true`) and run nothing; the
/// same key with another request is refused (422).
#[utoipa::path(post, path = "/v1/resources/{name}/actions/{action}", tag = "executions",
    security(("bearer" = [])),
    params(
        ("name" = String, Path, description = "The resource"),
        ("action" = String, Path, description = "The action (`get_user`)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Up to 255 visible ASCII characters; scoped to the token"),
        ("Prefer" = Option<String>, Header, description = "`respond-async`: answer 202 at once"),
    ),
    request_body(content = Object, description = "The action's params, as its JSON Schema says (GET /v1/plugins/{plugin})"),
    responses(
        (status = 200, description = "The run finished (succeeded or failed)", body = Execution),
        (status = 202, description = "Accepted; poll `Location`", body = Execution),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token may not use this resource or run this kind of action", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such resource or action", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A run with this Idempotency-Key is still in progress", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid params (nothing was run), or an Idempotency-Key reused for another request", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Limits and queue full; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn run_action(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path((name, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let body = body.map_err(Problem::body)?;
    let given: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ProblemType::InvalidInput,
                format!("the body must be the params as a JSON object: {e}"),
            )
        })?
    };
    let key = idempotency_key(&headers)?;
    let (first, request_hash) =
        match submit(&service, &caller.0, &name, &action, &given, key).await? {
            Submitted::Existing {
                first,
                request_hash,
            } => (first, request_hash),
            Submitted::Started { row, run } => {
                if prefers_async(&headers) {
                    let location = format!("/v1/executions/{}", row.id);
                    let mut response =
                        (StatusCode::ACCEPTED, Json(Execution::from(*row))).into_response();
                    let headers = response.headers_mut();
                    if let Ok(location) = HeaderValue::from_str(&location) {
                        headers.insert(header::LOCATION, location);
                    }
                    headers.insert(
                        "preference-applied",
                        HeaderValue::from_static("respond-async"),
                    );
                    return Ok(response);
                }
                // The run goes on if this caller goes away; it is recorded either way.
                let finished = run
                    .await
                    .map_err(|e| Fault(format!("a run failed to finish: {e}")))??;
                return Ok(Json(Execution::from(finished)).into_response());
            }
        };
    replay(*first, &request_hash)
}

/// What [`submit`] did.
pub(crate) enum Submitted {
    /// A new execution, recorded queued or running, and its run.
    Started {
        row: Box<ExecutionRow>,
        run: tokio::task::JoinHandle<Result<ExecutionRow, Fault>>,
    },
    /// The token used this idempotency key before: that execution, and the
    /// hash of this request (to tell a replay from a reuse).
    Existing {
        first: Box<ExecutionRow>,
        request_hash: String,
    },
}

/// Check `given` against the action, record an execution on `grant`'s
/// behalf and start its run: what the API's `POST …/actions/{action}` and
/// the console's Run do. Bad params, a kind the token may not run, full
/// limits: an error, and nothing recorded or run.
pub(crate) async fn submit(
    service: &Arc<Service>,
    grant: &Grant,
    name: &str,
    action: &str,
    given: &Value,
    key: Option<String>,
) -> Result<Submitted, Problem> {
    let resource = resource_for(service, grant, name)?;
    // Checked now, so bad params make no record and take no slot; the run
    // later uses what was checked here.
    let prepared = match service.host.prepare(&resource, action, given).await {
        Ok(prepared) => prepared,
        Err(e) => {
            // A token that may not run the action is told that first.
            if let Error::InvalidParams { .. } = e
                && let Ok(manifest) = service.host.manifest(&resource).await
                && let Some(spec) = manifest.action(action)
            {
                may_run(grant, spec)?;
            }
            return Err(Problem::from_error(&e));
        }
    };
    may_run(grant, prepared.action())?;
    let params = Value::Object(prepared.params().clone());
    // What a replay with the same key must match; without a key, nothing.
    let request_hash = match &key {
        Some(_) => soar_host::hex(&Sha256::digest(
            serde_json::json!([name, action, params])
                .to_string()
                .as_bytes(),
        )),
        None => String::new(),
    };

    let mut ticket = service.gate.admit(name).map_err(|retry_after| {
        service
            .metrics
            .rejected
            .get_or_create(&ResourceLabels {
                resource: name.to_owned(),
            })
            .inc();
        Problem::overloaded(
            format!("too many runs in flight or queued (on `{name}` or in all); try again later"),
            retry_after,
        )
    })?;
    let created_ms = now_ms();
    let now = ticket.try_turn();
    let row = ExecutionRow {
        seq: 0,
        id: execution_id(),
        resource: name.to_owned(),
        action: action.to_owned(),
        status: if now {
            ExecutionStatus::Running
        } else {
            ExecutionStatus::Queued
        },
        token: grant.name.clone(),
        idempotency_key: key,
        request_hash,
        params,
        created_ms,
        started_ms: now.then_some(created_ms),
        finished_ms: None,
        outcome: None,
    };
    if let Inserted::Existing(first) = service.db.insert_execution(&row).await? {
        drop(ticket);
        return Ok(Submitted::Existing {
            first,
            request_hash: row.request_hash,
        });
    }
    tracing::debug!(execution = %row.id, resource = %name, action = %action, "run accepted");
    let job = Job {
        row: row.clone(),
        resource_name: name.to_owned(),
        resource,
        prepared,
    };
    let run = service
        .tracker
        .spawn(runs::run(Arc::clone(service), job, ticket).in_current_span());
    Ok(Submitted::Started {
        row: Box::new(row),
        run,
    })
}

/// 403 unless the caller's token may run this kind of action.
fn may_run(grant: &Grant, action: &soar_host::manifest::Action) -> Result<(), Problem> {
    if grant.may_run(action.kind) {
        return Ok(());
    }
    if grant.read_only() {
        return Err(Problem::forbidden(format!(
            "token `{}` is read-only: it may see, not run actions",
            grant.name
        )));
    }
    Err(Problem::forbidden(format!(
        "token `{}` may not run {} actions such as `{}`",
        grant.name,
        kind_name(action.kind),
        action.name
    )))
}

fn replay(first: ExecutionRow, request_hash: &str) -> Result<Response, Problem> {
    let mut problem = if first.request_hash != request_hash {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ProblemType::IdempotencyMismatch,
            "this Idempotency-Key was used for another request (resource, action or params differ); use a new key",
        )
    } else if first.finished_ms.is_none() {
        Problem::new(
            StatusCode::CONFLICT,
            ProblemType::IdempotencyInProgress,
            "the run with this Idempotency-Key is still in progress; GET its execution",
        )
    } else {
        tracing::info!(execution = %first.id, "idempotent replay: nothing run");
        let mut response = Json(Execution::from(first)).into_response();
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
        return Ok(response);
    };
    problem.execution = Some(first.id);
    Err(problem)
}

pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key)
            if !key.is_empty()
                && key.len() <= MAX_KEY_LEN
                && key.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Ok(Some(key.to_owned()))
        }
        _ => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            ProblemType::InvalidIdempotencyKey,
            format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
        )),
    }
}

fn prefers_async(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("respond-async"))
}

/// `ex_` and 32 hex digits: the time in milliseconds (48 bits), then 80
/// random bits. Ids in time order land at the end of the id index, so a
/// batch of new runs writes one index page rather than one page each.
pub(crate) fn execution_id() -> String {
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&now_ms().to_be_bytes()[2..]);
    rand::rng().fill_bytes(&mut bytes[6..]);
    format!("ex_{}", soar_host::hex(&bytes))
}

/// One execution.
#[utoipa::path(get, path = "/v1/executions/{id}", tag = "executions", security(("bearer" = [])),
    params(("id" = String, Path, description = "The execution's id (`ex_…`)")),
    responses((status = 200, body = Execution),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn execution(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Execution>, Problem> {
    let row = {
        let id = id.clone();
        service.on_db(move |db| db.execution(&id)).await?
    };
    match row {
        Some(row) if caller.0.sees(&row.resource) => Ok(Json(row.into())),
        _ => Err(Problem::not_found(format!("no execution `{id}`"))),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ExecutionFilter {
    resource: Option<String>,
    action: Option<String>,
    /// queued, running, succeeded, failed or interrupted.
    status: Option<String>,
    /// The `next` of the previous page.
    before: Option<i64>,
    /// 1 to 200, default 50.
    limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExecutionPage {
    executions: Vec<Execution>,
    /// Pass as `before` for the next (older) page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<i64>,
}

/// Executions the caller's token may see, newest first: the audit log.
#[utoipa::path(get, path = "/v1/executions", tag = "executions", security(("bearer" = [])),
    params(ExecutionFilter),
    responses((status = 200, body = ExecutionPage)))]
pub async fn executions(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Query(filter): Query<ExecutionFilter>,
) -> Result<Json<ExecutionPage>, Problem> {
    let limit = filter.limit.unwrap_or(50).clamp(1, 200);
    let status = filter
        .status
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(Problem::invalid_input)?;
    let resources = caller.0.resources.clone();
    let rows = service
        .on_db(move |db| {
            db.executions(&ExecutionQuery {
                resources: resources.as_deref(),
                resource: filter.resource.as_deref(),
                action: filter.action.as_deref(),
                status,
                before: filter.before,
                limit,
                ..Default::default()
            })
        })
        .await?;
    let next = (rows.len() == limit as usize).then(|| rows[rows.len() - 1].seq);
    Ok(Json(ExecutionPage {
        executions: rows.into_iter().map(Execution::from).collect(),
        next,
    }))
}
