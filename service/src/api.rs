//! The `/v1` API: routes, who may call them, what every request leaves in
//! the logs and metrics, and the OpenAPI document generated from the
//! handlers' annotations (so it cannot drift from them).

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::{DefaultBodyLimit, FromRequestParts, MatchedPath, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::RngCore;
use serde::Serialize;
use serde_json::{Map, Value, json};
use tracing::Instrument;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use super::metrics::RequestLabels;
use super::problem::Problem;
use super::tokens::{self, Grant};
use super::{Service, actions, console, events, playbooks, sign_in};
use soar_host::resource::ConfigSource;
use soar_host::{Host, Manifest, Resource};

pub fn router(service: Arc<Service>) -> axum::Router {
    let limit = service.max_body_bytes;
    axum::Router::new()
        .route("/v1/health", get(health))
        .route("/metrics", get(metrics))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/plugins", get(plugins))
        .route("/v1/plugins/{name}", get(plugin))
        .route("/v1/resources", get(resources))
        .route("/v1/resources/{name}", get(resource))
        .route("/v1/resources/{name}/test", post(test_resource))
        .route("/v1/resources/{name}/auth/login", post(sign_in::login))
        .route("/v1/auth/callback", get(sign_in::callback))
        .route(
            "/v1/resources/{name}/actions/{action}",
            post(actions::run_action),
        )
        .route("/v1/executions", get(actions::executions))
        .route("/v1/executions/{id}", get(actions::execution))
        .route("/v1/webhooks/{resource}", post(events::receive))
        .route("/v1/events", get(events::list))
        .route("/v1/events/stream", get(events::stream))
        .route("/v1/playbooks", get(playbooks::list))
        .route("/v1/playbooks/{name}/runs", post(playbooks::start))
        .route("/v1/playbook-runs", get(playbooks::runs))
        .route("/v1/playbook-runs/{id}", get(playbooks::run))
        .route("/v1/playbook-runs/{id}/rerun", post(playbooks::rerun))
        .route("/v1/playbook-runs/{id}/cancel", post(playbooks::cancel))
        .merge(console::router(&service))
        .fallback(|| async { Problem::not_found("no such route; see /v1/openapi.json") })
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&service),
            observe,
        ))
        .with_state(service)
}

/// Every request: an id (answered as `x-request-id`, on every log line of
/// the request and of the run it starts), a log line when answered, and
/// its count and latency by route pattern.
async fn observe(State(service): State<Arc<Service>>, request: Request, next: Next) -> Response {
    let mut id = [0u8; 8];
    rand::rng().fill_bytes(&mut id);
    let id = soar_host::hex(&id);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let span = tracing::info_span!("request", id = %id, method = %method, route = %route, token = tracing::field::Empty);
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    let labels = RequestLabels {
        method,
        route,
        status: response.status().as_u16(),
    };
    span.in_scope(|| {
        tracing::info!(
            status = labels.status,
            elapsed_ms = elapsed.as_millis() as u64,
            "answered"
        )
    });
    service.metrics.requests.get_or_create(&labels).inc();
    service
        .metrics
        .request_seconds
        .get_or_create(&labels)
        .observe(elapsed.as_secs_f64());
    response
}

/// The caller, by its bearer token.
pub struct Caller(pub Grant);

impl FromRequestParts<Arc<Service>> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        service: &Arc<Service>,
    ) -> Result<Self, Problem> {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim);
        let Some(presented) = presented else {
            return Err(Problem::unauthorized());
        };
        match tokens::verify(&service.db, presented)? {
            Some(grant) => {
                tracing::Span::current().record("token", grant.name.as_str());
                Ok(Caller(grant))
            }
            None => Err(Problem::unauthorized()),
        }
    }
}

impl Caller {
    /// The resource `name`, when it exists and this caller may use it.
    pub fn resource(&self, service: &Service, name: &str) -> Result<Arc<Resource>, Problem> {
        resource_for(service, &self.0, name)
    }

    /// 403 for a read-only token.
    pub fn may_change(&self) -> Result<(), Problem> {
        if self.0.read_only() {
            return Err(Problem::forbidden(format!(
                "token `{}` is read-only: it may see, not change",
                self.0.name
            )));
        }
        Ok(())
    }
}

/// The resource `name`, when it exists and `grant` may use it.
pub fn resource_for(
    service: &Service,
    grant: &Grant,
    name: &str,
) -> Result<Arc<Resource>, Problem> {
    let Some(resource) = service.registry().get(name).cloned() else {
        return Err(Problem::not_found(format!(
            "no resource named `{name}`; GET /v1/resources lists them"
        )));
    };
    if !grant.sees(name) {
        return Err(Problem::forbidden(format!(
            "token `{}` may not use resource `{name}`",
            grant.name
        )));
    }
    Ok(resource)
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `stopping` while draining.
    status: String,
    version: String,
    resources: usize,
}

/// Liveness; no token needed.
#[utoipa::path(get, path = "/v1/health", tag = "service", responses((status = 200, body = Health)))]
async fn health(State(service): State<Arc<Service>>) -> Json<Health> {
    Json(Health {
        status: if service.shutdown.is_cancelled() {
            "stopping"
        } else {
            "ok"
        }
        .into(),
        version: env!("CARGO_PKG_VERSION").into(),
        resources: service.registry().resources.len(),
    })
}

/// Prometheus metrics (OpenMetrics text); no token needed.
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text")))]
async fn metrics(State(service): State<Arc<Service>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        service.metrics.render(service.host.upstream_stats()),
    )
        .into_response()
}

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "service",
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json")))]
async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[derive(Serialize, ToSchema)]
pub struct PluginSummary {
    name: String,
    title: String,
    version: String,
    description: String,
    contract: String,
    actions: Vec<String>,
    /// The visible resources that use it.
    resources: Vec<String>,
}

/// The manifests of the built-in plugins and of those the caller's
/// resources use, by manifest name.
async fn manifests(service: &Service, grant: &Grant) -> Vec<(Manifest, Vec<String>)> {
    let registry = service.registry();
    let mut references: Vec<(String, std::path::PathBuf, Option<String>)> =
        soar_host::plugins::BUILTIN
            .iter()
            .map(|(name, ..)| (name.to_string(), ".".into(), None))
            .collect();
    for (name, resource) in &registry.resources {
        if grant.sees(name) {
            references.push((
                resource.plugin.clone(),
                resource.base_dir().to_path_buf(),
                Some(name.clone()),
            ));
        }
    }
    let mut found: Vec<(Manifest, Vec<String>)> = Vec::new();
    for (reference, base, resource) in references {
        let Ok(plugin) = service.host.plugin(&reference, &base).await else {
            continue;
        };
        let at = match found
            .iter()
            .position(|(m, _)| m.name == plugin.manifest.name)
        {
            Some(at) => at,
            None => {
                found.push((plugin.manifest.clone(), Vec::new()));
                found.len() - 1
            }
        };
        found[at].1.extend(resource);
    }
    found
}

/// Plugins: the built-in ones and those the caller's resources use.
#[utoipa::path(get, path = "/v1/plugins", tag = "plugins", security(("bearer" = [])),
    responses((status = 200, body = [PluginSummary])))]
async fn plugins(State(service): State<Arc<Service>>, caller: Caller) -> Json<Vec<PluginSummary>> {
    Json(
        manifests(&service, &caller.0)
            .await
            .into_iter()
            .map(|(m, resources)| PluginSummary {
                actions: m.actions.iter().map(|a| a.name.clone()).collect(),
                name: m.name,
                title: m.title,
                version: m.version,
                description: m.description,
                contract: m.contract,
                resources,
            })
            .collect(),
    )
}

/// A plugin's manifest: config fields, actions with their params' and
/// output's JSON Schemas, kinds, scopes, idempotency, event types.
#[utoipa::path(get, path = "/v1/plugins/{name}", tag = "plugins", security(("bearer" = [])),
    params(("name" = String, Path, description = "The plugin's name (`zoom`)")),
    responses((status = 200, description = "The manifest", body = Object),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn plugin(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Manifest>, Problem> {
    manifests(&service, &caller.0)
        .await
        .into_iter()
        .find(|(m, _)| m.name == name)
        .map(|(m, _)| Json(m))
        .ok_or_else(|| Problem::not_found(format!("no plugin named `{name}`")))
}

#[derive(Serialize, ToSchema)]
pub struct ResourceList {
    resources: Vec<ResourceSummary>,
    /// Files in the resources directory that could not be loaded (shown to
    /// tokens not limited to some resources).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    skipped: Vec<Skipped>,
}

/// A resource file that could not be served, and why.
#[derive(Serialize, ToSchema)]
pub struct Skipped {
    file: String,
    error: String,
}

#[derive(Serialize, ToSchema)]
pub struct ResourceSummary {
    name: String,
    label: String,
    plugin: String,
}

/// The resources the caller's token may use.
#[utoipa::path(get, path = "/v1/resources", tag = "resources", security(("bearer" = [])),
    responses((status = 200, body = ResourceList)))]
async fn resources(State(service): State<Arc<Service>>, caller: Caller) -> Json<ResourceList> {
    let registry = service.registry();
    Json(ResourceList {
        resources: registry
            .resources
            .iter()
            .filter(|(name, _)| caller.0.sees(name))
            .map(|(name, r)| ResourceSummary {
                name: name.clone(),
                label: r.label.clone(),
                plugin: r.plugin.clone(),
            })
            .collect(),
        skipped: if caller.0.resources.is_none() {
            registry
                .skipped
                .iter()
                .map(|s| Skipped {
                    file: s.file.clone(),
                    error: s.error.clone(),
                })
                .collect()
        } else {
            Vec::new()
        },
    })
}

/// A resource: its settings with every secret masked (a value given in the
/// file shows as `********`; one read from the environment or a file shows
/// where from), and where its plugin may connect.
#[utoipa::path(get, path = "/v1/resources/{name}", tag = "resources", security(("bearer" = [])),
    params(("name" = String, Path, description = "The resource (its file's name without `.toml`)")),
    responses((status = 200, body = Object),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn resource(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, Problem> {
    let resource = caller.resource(&service, &name)?;
    Ok(Json(resource_view(&service, &name, &resource).await?))
}

/// A resource as `GET /v1/resources/{name}` shows it (and the console):
/// settings with every secret masked, limits, where its plugin may connect.
pub async fn resource_view(
    service: &Service,
    name: &str,
    resource: &Resource,
) -> Result<Value, Problem> {
    let unavailable = |e: soar_host::Error| Problem::from_error(&e);
    let manifest = service.host.manifest(resource).await.map_err(unavailable)?;
    let egress = Host::egress_for(resource, &manifest).map_err(unavailable)?;
    let secret = |field: &str| manifest.config.iter().any(|c| c.name == field && c.secret);
    let config: Map<String, Value> = resource
        .config
        .iter()
        .map(|(field, source)| {
            let shown = match source {
                ConfigSource::Literal(_) if secret(field) => json!("********"),
                ConfigSource::Literal(value) => value.clone(),
                ConfigSource::Env(var) => json!({ "env": var }),
                ConfigSource::File(path) => json!({ "file": path.display().to_string() }),
            };
            (field.clone(), shown)
        })
        .collect();
    Ok(json!({
        "name": name,
        "label": resource.label,
        "plugin": resource.plugin,
        "timeout_secs": resource.timeout.as_secs(),
        "memory_mib": resource.memory_limit_bytes >> 20,
        "download_max_mib": resource.limits.download_max_bytes >> 20,
        "config": soar_host::redact::Redact::redact(Value::Object(config)),
        "egress": egress,
    }))
}

/// The connectivity test: a token, one cheap authenticated call, the
/// scopes granted and which actions they allow.
#[utoipa::path(post, path = "/v1/resources/{name}/test", tag = "resources", security(("bearer" = [])),
    params(("name" = String, Path, description = "The resource")),
    responses((status = 200, description = "`ok` true with checks, scopes and readiness per action; or `ok` false with the error", body = Object)))]
async fn test_resource(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, Problem> {
    let resource = caller.resource(&service, &name)?;
    Ok(Json(test_report(&service, &name, &resource).await))
}

/// Run the connectivity test of `resource` and keep its outcome as the
/// resource's last test (the console's list shows it).
pub async fn test_report(service: &Arc<Service>, name: &str, resource: &Resource) -> Value {
    let mut report = match service.host.test(resource).await {
        Ok(outcome) => outcome.to_json(),
        Err(e) => json!({ "ok": false, "error": e.report() }),
    };
    report["resource"] = name.into();
    let ok = report["ok"] == true;
    let summary = if ok {
        report["summary"].as_str().unwrap_or_default().to_owned()
    } else {
        report["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let (service, name) = (Arc::clone(service), name.to_owned());
    if let Err(e) = service
        .on_db(move |db| db.record_test(&name, ok, &summary))
        .await
    {
        tracing::warn!("the test's outcome was not kept: {e}");
    }
    report
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "soar-host",
        description = "Run SOAR integration actions (WebAssembly plugins such as Zoom) on resources, \
receive their webhooks, and read executions and events back. Every route but /v1/health, /metrics, \
/v1/openapi.json, /v1/webhooks/{resource} and /v1/auth/callback needs `Authorization: Bearer <token>` \
(`soar-host token create NAME`). Errors are application/problem+json (RFC 9457)."
    ),
    paths(
        health, metrics, openapi, plugins, plugin, resources, resource, test_resource,
        sign_in::login, sign_in::callback,
        actions::run_action, actions::executions, actions::execution,
        events::receive, events::list, events::stream,
        playbooks::list, playbooks::start, playbooks::runs, playbooks::run, playbooks::rerun,
        playbooks::cancel
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
    }
}
