//! `soar:plugin@0.1.0` (wit/0.1.0, frozen), adapted to 0.2 at the edge: a
//! component built against it runs unchanged. Its imports are served by the
//! 0.2 implementations (its `cache` by the persistent `store`, where a write
//! the store refuses is dropped, as 0.1 promised), and its answers are turned
//! into 0.2 types, its flat param lists into a JSON Schema.

use std::marker::PhantomData;

use serde_json::{Map, Value, json};
use wasmtime::component::HasData;

use super::Project;
use super::v0_2::soar::plugin as latest;

wasmtime::component::bindgen!({
    path: "../wit/0.1.0",
    world: "integration",
    imports: { default: async | trappable },
    exports: { default: async },
});

use soar::plugin::{cache, http, log, types};

/// A capability's 0.2 state, seen through a 0.1 interface.
pub struct Latest<'a, C>(pub &'a mut C);

/// The `HasData` of [`Latest`]: link a 0.1 interface with
/// `add_to_linker::<S, AsLatest<C>>(linker, latest::<S, C>)`.
pub struct AsLatest<C>(PhantomData<C>);

impl<C: 'static> HasData for AsLatest<C> {
    type Data<'a> = Latest<'a, C>;
}

pub fn latest<S: Project<C>, C>(state: &mut S) -> Latest<'_, C> {
    Latest(state.project())
}

impl<T: latest::http::Host + Send> http::Host for Latest<'_, T> {
    async fn send(
        &mut self,
        request: http::Request,
    ) -> wasmtime::Result<Result<http::Response, http::HttpError>> {
        let request = latest::http::Request {
            method: request.method,
            url: request.url,
            headers: request.headers,
            body: request.body,
            idempotent: request.idempotent,
        };
        Ok(latest::http::Host::send(self.0, request)
            .await?
            .map(|r| http::Response {
                status: r.status,
                headers: r.headers,
                body: r.body,
            })
            .map_err(|e| match e {
                latest::http::HttpError::Denied(m) => http::HttpError::Denied(m),
                latest::http::HttpError::Timeout(m) => http::HttpError::Timeout(m),
                latest::http::HttpError::Connect(m) => http::HttpError::Connect(m),
                latest::http::HttpError::Invalid(m) => http::HttpError::Invalid(m),
            }))
    }
}

impl<T: latest::store::Host + Send> cache::Host for Latest<'_, T> {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        Ok(latest::store::Host::get(self.0, key)
            .await?
            .ok()
            .flatten()
            .map(|entry| entry.value))
    }

    async fn set(&mut self, key: String, value: String, ttl_secs: u32) -> wasmtime::Result<()> {
        // 0.1's cache expired entries itself: a TTL of 0 stored nothing.
        if ttl_secs > 0 {
            let _ = latest::store::Host::set(self.0, key, value, ttl_secs).await?;
        }
        Ok(())
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        let _ = latest::store::Host::delete(self.0, key).await?;
        Ok(())
    }
}

impl<T: latest::log::Host + Send> log::Host for Latest<'_, T> {
    async fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        let level = match level {
            log::Level::Trace => latest::log::Level::Trace,
            log::Level::Debug => latest::log::Level::Debug,
            log::Level::Info => latest::log::Level::Info,
            log::Level::Warn => latest::log::Level::Warn,
            log::Level::Error => latest::log::Level::Error,
        };
        latest::log::Host::log(self.0, level, message).await
    }
}

impl<T: Send> types::Host for Latest<'_, T> {}

pub fn config(values: &[latest::types::ConfigValue]) -> Vec<types::ConfigValue> {
    values
        .iter()
        .map(|v| types::ConfigValue {
            name: v.name.clone(),
            value: v.value.clone(),
        })
        .collect()
}

pub fn action_error(e: types::ActionError) -> latest::types::ActionError {
    use latest::types::ErrorKind as K;
    latest::types::ActionError {
        kind: match e.kind {
            types::ErrorKind::InvalidInput => K::InvalidInput,
            types::ErrorKind::Config => K::Config,
            types::ErrorKind::Auth => K::Auth,
            types::ErrorKind::Forbidden => K::Forbidden,
            types::ErrorKind::NotFound => K::NotFound,
            types::ErrorKind::Conflict => K::Conflict,
            types::ErrorKind::RateLimited => K::RateLimited,
            types::ErrorKind::Upstream => K::Upstream,
            types::ErrorKind::Timeout => K::Timeout,
            types::ErrorKind::Denied => K::Denied,
            types::ErrorKind::Internal => K::Internal,
        },
        message: e.message,
        http_status: e.http_status,
        upstream_code: e.upstream_code,
        retry_after_secs: e.retry_after_secs,
    }
}

pub fn test_report(r: types::TestReport) -> latest::types::TestReport {
    latest::types::TestReport {
        summary: r.summary,
        checks: r
            .checks
            .into_iter()
            .map(|c| latest::types::Check {
                name: c.name,
                detail: c.detail,
            })
            .collect(),
        scopes: r.scopes,
        readiness: Vec::new(),
    }
}

/// A 0.1 manifest in 0.2 terms: each action's params become a JSON Schema
/// (a JSON text in the manifest that cannot be parsed stays as it is, for
/// the host's manifest check to refuse with its name).
pub fn manifest(m: types::Manifest) -> latest::types::Manifest {
    use latest::types as l;
    let value_type = |t: types::ValueType| match t {
        types::ValueType::String => l::ValueType::String,
        types::ValueType::Integer => l::ValueType::Integer,
        types::ValueType::Number => l::ValueType::Number,
        types::ValueType::Boolean => l::ValueType::Boolean,
        types::ValueType::Object => l::ValueType::Object,
        types::ValueType::Array => l::ValueType::Array,
        types::ValueType::Any => l::ValueType::Any,
    };
    l::Manifest {
        name: m.name,
        title: m.title,
        version: m.version,
        description: m.description,
        config: m
            .config
            .into_iter()
            .map(|f| l::ConfigField {
                name: f.name,
                description: f.description,
                value_type: value_type(f.value_type),
                required: f.required,
                default: f.default,
                secret: f.secret,
                url: f.url,
            })
            .collect(),
        actions: m
            .actions
            .into_iter()
            .map(|a| l::Action {
                params_schema: params_schema(&a.params).to_string(),
                name: a.name,
                title: a.title,
                kind: match a.kind {
                    types::ActionKind::Enrichment => l::ActionKind::Enrichment,
                    types::ActionKind::Containment => l::ActionKind::Containment,
                },
                description: a.description,
                operation: String::new(),
                output_schema: None,
                scopes: a.scopes,
                idempotent: a.idempotent,
            })
            .collect(),
        events: Vec::new(),
    }
}

fn params_schema(params: &[types::Param]) -> Value {
    let mut properties = Map::new();
    for p in params {
        let mut schema = Map::new();
        let type_name = match p.value_type {
            types::ValueType::String => Some("string"),
            types::ValueType::Integer => Some("integer"),
            types::ValueType::Number => Some("number"),
            types::ValueType::Boolean => Some("boolean"),
            types::ValueType::Object => Some("object"),
            types::ValueType::Array => Some("array"),
            types::ValueType::Any => None,
        };
        if let Some(t) = type_name {
            schema.insert("type".into(), t.into());
        }
        if !p.description.is_empty() {
            schema.insert("description".into(), p.description.clone().into());
        }
        let parse = |text: &str| serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
        if !p.allowed.is_empty() {
            let allowed: Vec<Value> = p.allowed.iter().map(|a| parse(a)).collect();
            schema.insert("enum".into(), allowed.into());
        }
        if let Some(default) = &p.default {
            schema.insert("default".into(), parse(default));
        }
        properties.insert(p.name.clone(), Value::Object(schema));
    }
    let required: Vec<&str> = params
        .iter()
        .filter(|p| p.required)
        .map(|p| p.name.as_str())
        .collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}
