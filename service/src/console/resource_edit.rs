//! Adding and editing resource files from the console: a form generated
//! from the plugin's config fields; Save checks the file as the CLI would
//! (parse, then the config against the manifest, secrets read) before
//! writing it atomically (0600, the previous version kept as
//! `NAME.toml.bak`), then reloads the resources.
//!
//! A secret is write-only: the form never holds its value; left empty on
//! edit, the file keeps what it had. A secret may also come from an
//! environment variable or a file, as in a hand-written resource file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use soar_host::manifest::{ConfigField, Manifest, ValueType};
use soar_host::resource::ConfigSource;
use soar_host::{Resource, plugins};

use super::session::{Fields, Posted, Viewer};
use super::view::{PageError, page};
use crate::Service;

type Page = Result<Response, PageError>;

/// Managing resource files needs an unlimited token.
fn may_edit(viewer: &Viewer) -> Result<(), PageError> {
    viewer.require_unlimited("adds or edits resources")
}

/// One config field as the form shows it.
#[derive(Serialize)]
struct SettingField {
    name: String,
    description: String,
    /// `string`, `integer`, `number`, `boolean`, ...
    kind: &'static str,
    required: bool,
    secret: bool,
    /// A non-secret's value, or a secret's env var or file path.
    value: String,
    /// A secret's source: `value`, `env` or `file`.
    source: &'static str,
    /// A secret holds a value now (edit).
    set: bool,
    default: String,
    error: Option<String>,
}

/// The fields a person sets: the plugin's, but those the host sets itself
/// (`auth`, from the file's top-level grant).
fn editable(manifest: &Manifest) -> impl Iterator<Item = &ConfigField> {
    manifest.config.iter().filter(|f| f.name != "auth")
}

struct Form<'a> {
    /// `None`: a new resource.
    name: Option<&'a str>,
    posted: Option<&'a Fields>,
    existing: Option<&'a Resource>,
    errors: &'a std::collections::HashMap<String, String>,
    error: Option<String>,
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn form_page(viewer: &Viewer, plugin: &str, manifest: &Manifest, f: Form) -> Response {
    let fields: Vec<SettingField> = editable(manifest)
        .map(|field| {
            let current = f.existing.and_then(|r| r.config.get(&field.name));
            let posted = |key: String| f.posted.and_then(|p| p.get(&key)).map(str::to_owned);
            let (mut source, mut value) = match current {
                Some(ConfigSource::Env(var)) => ("env", var.clone()),
                Some(ConfigSource::File(path)) => ("file", path.display().to_string()),
                Some(ConfigSource::Literal(_)) if field.secret => ("value", String::new()),
                Some(ConfigSource::Literal(v)) => ("value", text_of(v)),
                None => ("value", String::new()),
            };
            if let Some(p) = posted(format!("source:{}", field.name)) {
                source = match p.as_str() {
                    "env" => "env",
                    "file" => "file",
                    _ => "value",
                };
            }
            if let Some(p) = posted(format!("config:{}", field.name)) {
                // A typed secret is never sent back.
                value = if field.secret && source == "value" {
                    String::new()
                } else {
                    p
                };
            }
            SettingField {
                name: field.name.clone(),
                description: field.description.clone(),
                kind: field.value_type.name(),
                required: field.required,
                secret: field.secret,
                value,
                source,
                set: matches!(current, Some(ConfigSource::Literal(_))),
                default: field.default.as_ref().map(text_of).unwrap_or_default(),
                error: f.errors.get(&field.name).cloned(),
            }
        })
        .collect();
    let posted = |key: &str| f.posted.and_then(|p| p.get(key)).map(str::to_owned);
    let label = posted("label")
        .or_else(|| f.existing.map(|r| r.label.clone()))
        .unwrap_or_default();
    let timeout = posted("timeout_secs")
        .or_else(|| f.existing.map(|r| r.timeout.as_secs().to_string()))
        .unwrap_or_default();
    let mut response = page(
        viewer,
        "resources",
        "resource_form.html",
        json!({
            "title": f.name.map_or_else(|| "Add a resource".to_owned(), |n| format!("Edit {n}")),
            "editing": f.name,
            "new_name": posted("name").unwrap_or_default(),
            "plugin": plugin,
            "plugin_title": &manifest.title,
            "plugins": plugins::BUILTIN.iter().map(|(n, ..)| *n).collect::<Vec<_>>(),
            "label": label,
            "timeout_secs": timeout,
            "fields": fields,
            "errors": f.errors,
            "error": f.error,
        }),
    );
    if f.posted.is_some() {
        // Shown again: something was wrong.
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    response
}

#[derive(Deserialize)]
pub struct NewQuery {
    plugin: Option<String>,
}

async fn manifest_of(service: &Service, plugin: &str) -> Result<Manifest, PageError> {
    if !plugins::BUILTIN.iter().any(|(n, ..)| *n == plugin) {
        return Err(PageError::bad_request(format!(
            "`{}` is not a built-in plugin; the console adds resources of built-in plugins (write the file by hand for another)",
            soar_host::redact::printable(plugin)
        )));
    }
    service
        .host
        .plugin(plugin, Path::new("."))
        .await
        .map(|p| p.manifest.clone())
        .map_err(|e| PageError::new(StatusCode::BAD_GATEWAY, e.to_string()))
}

pub async fn new_form(
    State(service): State<Arc<Service>>,
    viewer: Viewer,
    Query(q): Query<NewQuery>,
) -> Page {
    may_edit(&viewer)?;
    let plugin = q.plugin.unwrap_or_else(|| plugins::BUILTIN[0].0.to_owned());
    let manifest = manifest_of(&service, &plugin).await?;
    Ok(form_page(
        &viewer,
        &plugin,
        &manifest,
        Form {
            name: None,
            posted: None,
            existing: None,
            errors: &Default::default(),
            error: None,
        },
    ))
}

pub async fn edit_form(
    State(service): State<Arc<Service>>,
    viewer: Viewer,
    UrlPath(name): UrlPath<String>,
) -> Page {
    may_edit(&viewer)?;
    let resource = crate::api::resource_for(&service, &viewer.grant, &name)?;
    let manifest = manifest_of(&service, &resource.plugin).await?;
    Ok(form_page(
        &viewer,
        &resource.plugin,
        &manifest,
        Form {
            name: Some(&name),
            posted: None,
            existing: Some(&resource),
            errors: &Default::default(),
            error: None,
        },
    ))
}

pub async fn create(State(service): State<Arc<Service>>, posted: Posted) -> Page {
    may_edit(&posted.viewer)?;
    let name = posted
        .form
        .get("name")
        .unwrap_or_default()
        .trim()
        .to_owned();
    save(&service, &posted, &name, None).await
}

pub async fn update(
    State(service): State<Arc<Service>>,
    UrlPath(name): UrlPath<String>,
    posted: Posted,
) -> Page {
    may_edit(&posted.viewer)?;
    let resource = crate::api::resource_for(&service, &posted.viewer.grant, &name)?;
    save(&service, &posted, &name, Some(resource)).await
}

/// Check, write, reload; or the form again with what was wrong beside
/// its field.
async fn save(
    service: &Arc<Service>,
    posted: &Posted,
    name: &str,
    existing: Option<Arc<Resource>>,
) -> Page {
    let form = &posted.form;
    let plugin = match &existing {
        Some(r) => r.plugin.clone(),
        None => form.get("plugin").unwrap_or_default().to_owned(),
    };
    let manifest = manifest_of(service, &plugin).await?;
    let dir = service.registry.dir().to_path_buf();
    let mut errors = std::collections::HashMap::new();
    let path = dir.join(format!("{name}.toml"));
    if existing.is_none() {
        if let Err(e) = soar_host::resource::name_of(&path) {
            errors.insert("name".to_owned(), e);
        } else if name == "new" {
            errors.insert(
                "name".to_owned(),
                "`new` names the console's page for adding a resource: choose another name".into(),
            );
        } else if path.exists() || service.registry().get(name).is_some() {
            errors.insert(
                "name".to_owned(),
                format!(
                    "a resource named `{name}` exists already: edit it, or choose another name"
                ),
            );
        }
    }
    let text = match file_text(form, &manifest, existing.as_deref(), &plugin) {
        Ok(text) => Some(text),
        Err((field, message)) => {
            errors.insert(field, message);
            None
        }
    };
    let mut error = None;
    if errors.is_empty()
        && let Some(text) = &text
    {
        // The checks `soar-host test` makes before it calls anyone.
        let checked = Resource::parse(&path, text).and_then(|r| r.resolve(&manifest).map(drop));
        if let Err(e) = checked {
            // The form is about this file: its path goes without saying.
            let message = match e {
                soar_host::Error::Resource { message, .. } => message,
                other => other.to_string(),
            };
            let field = editable(&manifest)
                .map(|f| f.name.as_str())
                .chain(["label", "timeout_secs"])
                .find(|f| message.contains(&format!("`{f}`")));
            match field {
                Some(field) => {
                    errors.insert(field.to_owned(), message);
                }
                None => error = Some(message),
            }
        }
    }
    if !errors.is_empty() || error.is_some() {
        return Ok(form_page(
            &posted.viewer,
            &plugin,
            &manifest,
            Form {
                name: existing.as_ref().map(|_| name),
                posted: Some(form),
                existing: existing.as_deref(),
                errors: &errors,
                error,
            },
        ));
    }
    let text = text.unwrap_or_default();
    write_atomically(&path, &text).map_err(|e| {
        tracing::error!("resource file {}: {e}", path.display());
        PageError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the resource file could not be written: {e}"),
        )
    })?;
    tracing::info!(resource = %name, by = %posted.viewer.grant.name, "resource file saved in the console");
    service.reload().await;
    Ok(Redirect::to(&format!("/resources/{name}?saved=1")).into_response())
}

/// The file's text: the existing file's other keys (limits, egress,
/// `[oauth]`) kept, label, plugin, timeout and `[config]` from the form.
fn file_text(
    form: &Fields,
    manifest: &Manifest,
    existing: Option<&Resource>,
    plugin: &str,
) -> Result<String, (String, String)> {
    let mut table: toml::Table = match existing {
        Some(r) => std::fs::read_to_string(&r.path)
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or_default(),
        None => toml::Table::new(),
    };
    let label = form.get("label").unwrap_or_default().trim();
    if label.is_empty() {
        table.remove("label");
    } else {
        table.insert("label".into(), label.into());
    }
    table.insert("plugin".into(), plugin.into());
    match form.get("timeout_secs").unwrap_or_default().trim() {
        "" => {
            table.remove("timeout_secs");
        }
        t => {
            let secs: i64 = t.parse().map_err(|_| {
                (
                    "timeout_secs".to_owned(),
                    format!("`timeout_secs` must be a whole number of seconds, got `{t}`"),
                )
            })?;
            table.insert("timeout_secs".into(), secs.into());
        }
    }
    let mut config = match table.remove("config") {
        Some(toml::Value::Table(t)) => t,
        _ => toml::Table::new(),
    };
    for field in editable(manifest) {
        let typed = form
            .get(&format!("config:{}", field.name))
            .unwrap_or_default()
            .trim();
        let source = form
            .get(&format!("source:{}", field.name))
            .unwrap_or("value");
        if typed.is_empty() {
            // A secret left empty keeps what the file had; any other field
            // left empty is removed (its default applies).
            let keep = field.secret
                && existing.is_some_and(|r| {
                    matches!(r.config.get(&field.name), Some(ConfigSource::Literal(_)))
                })
                && source == "value";
            if !keep {
                config.remove(&field.name);
            }
            continue;
        }
        let value = match (field.secret, source) {
            (true, "env") => {
                toml::Value::Table(toml::Table::from_iter([("env".to_owned(), typed.into())]))
            }
            (true, "file") => {
                toml::Value::Table(toml::Table::from_iter([("file".to_owned(), typed.into())]))
            }
            _ => typed_value(field, typed)?,
        };
        config.insert(field.name.clone(), value);
    }
    if !config.is_empty() {
        table.insert("config".into(), toml::Value::Table(config));
    }
    toml::to_string(&table).map_err(|e| (String::new(), e.to_string()))
}

/// A typed field's text as its TOML value.
fn typed_value(field: &ConfigField, text: &str) -> Result<toml::Value, (String, String)> {
    let wrong = || {
        (
            field.name.clone(),
            format!(
                "config field `{}` must be {}",
                field.name,
                field.value_type.name()
            ),
        )
    };
    Ok(match field.value_type {
        ValueType::Integer => text.parse::<i64>().map_err(|_| wrong())?.into(),
        ValueType::Number => text.parse::<f64>().map_err(|_| wrong())?.into(),
        ValueType::Boolean => text.parse::<bool>().map_err(|_| wrong())?.into(),
        ValueType::Object | ValueType::Array | ValueType::Any => {
            let json: Value = serde_json::from_str(text).map_err(|_| wrong())?;
            toml::Value::try_from(json).map_err(|_| wrong())?
        }
        ValueType::String => text.into(),
    })
}

/// `text` into `path` whole or not at all: a private temporary file beside
/// it, synced, renamed over it; the previous version kept as
/// `PATH.bak` (also private).
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp: PathBuf = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = (|| {
        let mut file = options.open(&temp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    if path.exists() {
        let backup = dir.join(format!("{file_name}.bak"));
        let _ = std::fs::remove_file(&backup);
        std::fs::copy(path, &backup)?;
        #[cfg(unix)]
        std::fs::set_permissions(&backup, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    }
    std::fs::rename(&temp, path)?;
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}
