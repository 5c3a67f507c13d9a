//! Resource files: a TOML file naming a plugin and holding its connection
//! settings. Parsing checks the file's own shape; checking `[config]` against
//! the plugin's manifest and resolving secrets happen in [`Resource::resolve`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::egress::{Origin, Policy, Rule};
use crate::error::{Error, Result};
use crate::manifest::{Manifest, ValueType};
use crate::runtime::Plugin;

pub const DEFAULT_TIMEOUT_SECS: u64 = 60;
pub const DEFAULT_MEMORY_MIB: u64 = 64;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceFile {
    label: Option<String>,
    plugin: String,
    timeout_secs: Option<u64>,
    memory_mib: Option<u64>,
    /// The largest file a download may write.
    download_max_mib: Option<u64>,
    /// What one call's downloads may write in all.
    download_total_max_mib: Option<u64>,
    /// How many files one call may download.
    download_max_files: Option<u64>,
    /// The largest inbound webhook body.
    webhook_max_kib: Option<u64>,
    /// The largest reply a plugin may send a webhook's sender.
    webhook_reply_max_kib: Option<u64>,
    /// The largest event payload a plugin may hand over.
    event_max_kib: Option<u64>,
    /// When given, the only destinations the plugin may reach.
    egress: Option<Vec<String>>,
    /// `account` (the default: the plugin's own Server-to-Server grant) or
    /// `user` (a person signs in through `[oauth]`).
    auth: Option<String>,
    oauth: Option<OAuthFile>,
    #[serde(default)]
    config: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OAuthFile {
    client_id: String,
    client_secret: Option<toml::Value>,
    authorize_url: String,
    token_url: String,
    revoke_url: Option<String>,
    redirect_uri: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
}

/// `[oauth]` of a resource with `auth = "user"`: the OAuth app a person
/// signs in to (`soar-host auth login`), its endpoints as full URLs.
#[derive(Debug, Clone)]
pub struct OAuthApp {
    pub client_id: String,
    /// Absent for a public client (PKCE alone).
    pub client_secret: Option<ConfigSource>,
    pub authorize_url: String,
    pub token_url: String,
    pub revoke_url: Option<String>,
    /// Where the provider sends the browser back; a loopback
    /// `http://127.0.0.1:PORT/PATH` for `auth login` (a free port when absent).
    pub redirect_uri: Option<String>,
    pub scopes: Vec<String>,
}

/// Where a config value comes from.
#[derive(Debug, Clone)]
pub enum ConfigSource {
    Literal(Value),
    Env(String),
    File(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Resource {
    /// Identifies the resource to the host (its cache scope): the canonical
    /// path of its file.
    pub id: String,
    /// The file it was read from.
    pub path: PathBuf,
    pub label: String,
    /// A plugin name, or a path to a `.wasm` component.
    pub plugin: String,
    pub timeout: Duration,
    pub memory_limit_bytes: usize,
    /// What its plugin may write, receive and hand over.
    pub limits: Limits,
    /// The resource's own egress list, which replaces the one derived from
    /// the URL fields.
    pub pinned_egress: Option<Vec<Rule>>,
    pub config: BTreeMap<String, ConfigSource>,
    /// The app a person signs in to, when `auth = "user"`.
    pub oauth: Option<OAuthApp>,
    /// Its config as last resolved, for the plugin it was resolved for.
    resolved: Resolved,
}

/// The size bounds of what a resource's plugin writes and hands over, each
/// settable in the resource file (`download_max_mib = 100`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest file one download may write (`download_max_mib`).
    pub download_max_bytes: u64,
    /// What all of one call's downloads may write (`download_total_max_mib`).
    pub download_total_max_bytes: u64,
    /// How many files one call may download (`download_max_files`).
    pub download_max_files: u32,
    /// The largest inbound webhook body: past it, 413 before it is read
    /// whole (`webhook_max_kib`).
    pub webhook_max_bytes: usize,
    /// The largest reply to a webhook's sender (`webhook_reply_max_kib`).
    pub webhook_reply_max_bytes: usize,
    /// The largest event payload, as JSON text (`event_max_kib`).
    pub event_max_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            download_max_bytes: 10 << 30,
            download_total_max_bytes: 20 << 30,
            download_max_files: 100,
            webhook_max_bytes: 1 << 20,
            webhook_reply_max_bytes: 64 << 10,
            event_max_bytes: 1 << 20,
        }
    }
}

impl Limits {
    fn from_file(file: &ResourceFile) -> Result<Self, String> {
        let d = Self::default();
        // (key, value, default in the key's unit, unit in bytes, largest)
        let setting = |key: &str, value: Option<u64>, default: u64, unit: u64, max: u64| {
            let value = value.unwrap_or(default / unit);
            match (1..=max).contains(&value) {
                true => Ok(value * unit),
                false => Err(format!("`{key}` must be between 1 and {max}, got {value}")),
            }
        };
        let (kib, mib) = (1 << 10, 1 << 20);
        Ok(Self {
            download_max_bytes: setting(
                "download_max_mib",
                file.download_max_mib,
                d.download_max_bytes,
                mib,
                1 << 30,
            )?,
            download_total_max_bytes: setting(
                "download_total_max_mib",
                file.download_total_max_mib,
                d.download_total_max_bytes,
                mib,
                1 << 30,
            )?,
            download_max_files: setting(
                "download_max_files",
                file.download_max_files,
                d.download_max_files.into(),
                1,
                100_000,
            )? as u32,
            // Bounded by what one process should hold in memory at once.
            webhook_max_bytes: setting(
                "webhook_max_kib",
                file.webhook_max_kib,
                d.webhook_max_bytes as u64,
                kib,
                64 << 10,
            )? as usize,
            webhook_reply_max_bytes: setting(
                "webhook_reply_max_kib",
                file.webhook_reply_max_kib,
                d.webhook_reply_max_bytes as u64,
                kib,
                8 << 10,
            )? as usize,
            event_max_bytes: setting(
                "event_max_kib",
                file.event_max_kib,
                d.event_max_bytes as u64,
                kib,
                64 << 10,
            )? as usize,
        })
    }
}

/// A resource's resolved config, kept between runs when no value comes from
/// a file: literals and environment variables cannot change within a
/// process, while a secret file may be rotated and is read on every run.
/// Shared by the resource's clones; a reloaded resource starts empty.
#[derive(Clone, Default)]
struct Resolved(Arc<Mutex<Option<ResolvedFor>>>);

/// A resolved config and the plugin it was resolved for.
type ResolvedFor = (Weak<Plugin>, Arc<ResolvedConfig>);

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Resolved")
    }
}

/// A resource's config checked against the manifest, defaults applied and
/// secrets read: what the plugin receives.
#[derive(Debug, Clone)]
pub struct ResolvedConfig {
    pub values: Vec<(String, Value)>,
    /// Values of the fields the manifest marks secret: never to be shown.
    pub secrets: Vec<String>,
    /// Where the plugin may connect (see [`crate::egress`]).
    pub egress: Policy,
}

impl Resource {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::resource(path, format!("cannot read it: {e}")))?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let file: ResourceFile =
            toml::from_str(text).map_err(|e| Error::resource(path, one_line(&e.to_string())))?;
        if file.plugin.trim().is_empty() {
            return Err(Error::resource(path, "`plugin` is empty"));
        }
        let timeout_secs = file.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS);
        if !(1..=3600).contains(&timeout_secs) {
            return Err(Error::resource(
                path,
                format!("`timeout_secs` must be between 1 and 3600, got {timeout_secs}"),
            ));
        }
        let memory_mib = file.memory_mib.unwrap_or(DEFAULT_MEMORY_MIB);
        if !(1..=4096).contains(&memory_mib) {
            return Err(Error::resource(
                path,
                format!("`memory_mib` must be between 1 and 4096, got {memory_mib}"),
            ));
        }
        let limits = Limits::from_file(&file).map_err(|m| Error::resource(path, m))?;
        let pinned_egress = file
            .egress
            .map(|entries| {
                entries
                    .iter()
                    .enumerate()
                    .map(|(i, entry)| {
                        Rule::parse(entry, Origin::Pinned, None).map_err(|m| {
                            Error::resource(path, format!("`egress` entry {}: {m}", i + 1))
                        })
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .transpose()?;
        let base = path.parent().unwrap_or(Path::new("."));
        let oauth = match (file.auth.as_deref(), file.oauth) {
            (None | Some("account"), None) => None,
            (None | Some("account"), Some(_)) => {
                return Err(Error::resource(
                    path,
                    "`[oauth]` is for a resource with `auth = \"user\"`",
                ));
            }
            (Some("user"), None) => {
                return Err(Error::resource(
                    path,
                    "`auth = \"user\"` needs an `[oauth]` table: client_id, authorize_url, token_url (and client_secret, revoke_url, redirect_uri, scopes)",
                ));
            }
            (Some("user"), Some(o)) => Some(OAuthApp {
                client_id: o.client_id,
                client_secret: o
                    .client_secret
                    .map(|v| ConfigSource::from_toml("client_secret", v, base))
                    .transpose()
                    .map_err(|m| Error::resource(path, format!("[oauth] {m}")))?,
                authorize_url: o.authorize_url,
                token_url: o.token_url,
                revoke_url: o.revoke_url,
                redirect_uri: o.redirect_uri,
                scopes: o.scopes,
            }),
            (Some(other), _) => {
                return Err(Error::resource(
                    path,
                    format!(
                        "`auth` must be \"account\" or \"user\", got {}",
                        crate::redact::printable(&format!("{other:?}"))
                    ),
                ));
            }
        };
        let config = file
            .config
            .into_iter()
            .map(|(name, value)| {
                let source = ConfigSource::from_toml(&name, value, base)
                    .map_err(|m| Error::resource(path, m))?;
                Ok((name, source))
            })
            .collect::<Result<_>>()?;
        let id = std::fs::canonicalize(path)
            .unwrap_or_else(|_| path.to_path_buf())
            .display()
            .to_string();
        let label = file
            .label
            .filter(|l| !l.trim().is_empty())
            .unwrap_or_else(|| {
                path.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "resource".into())
            });
        Ok(Resource {
            id,
            path: path.to_path_buf(),
            label,
            plugin: file.plugin,
            timeout: Duration::from_secs(timeout_secs),
            memory_limit_bytes: usize::try_from(memory_mib << 20).unwrap_or(usize::MAX),
            limits,
            pinned_egress,
            config,
            oauth,
            resolved: Resolved::default(),
        })
    }

    /// The directory plugin paths and secret files are relative to.
    pub fn base_dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// [`Resource::resolve`] for `plugin`, from the last resolution when
    /// it was for the same plugin and reads no file.
    pub(crate) fn resolve_for(&self, plugin: &Arc<Plugin>) -> Result<Arc<ResolvedConfig>> {
        let cached = self.resolved.0.lock().ok().and_then(|last| {
            let (of, config) = last.as_ref()?;
            (of.as_ptr() == Arc::as_ptr(plugin)).then(|| Arc::clone(config))
        });
        if let Some(config) = cached {
            return Ok(config);
        }
        let config = Arc::new(self.resolve(&plugin.manifest)?);
        let reads_file = self
            .config
            .values()
            .any(|source| matches!(source, ConfigSource::File(_)));
        if !reads_file && let Ok(mut last) = self.resolved.0.lock() {
            *last = Some((Arc::downgrade(plugin), Arc::clone(&config)));
        }
        Ok(config)
    }

    /// Check `[config]` against the manifest, apply defaults, read secrets.
    pub fn resolve(&self, manifest: &Manifest) -> Result<ResolvedConfig> {
        let err = |m: String| Error::resource(&self.path, m);
        if let Some(unknown) = self
            .config
            .keys()
            .find(|k| !manifest.config.iter().any(|f| &f.name == *k))
        {
            let known: Vec<&str> = manifest.config.iter().map(|f| f.name.as_str()).collect();
            return Err(err(format!(
                "unknown config field `{unknown}`; plugin `{}` takes: {}",
                manifest.name,
                known.join(", ")
            )));
        }
        // The grant is the file's top-level `auth`, told to a plugin that
        // takes it as its `auth` field.
        let user_grant = self.oauth.is_some();
        if user_grant {
            if self.config.contains_key("auth") {
                return Err(err(
                    "set `auth` at the top of the file, not in [config]".into()
                ));
            }
            if !manifest.config.iter().any(|f| f.name == "auth") {
                return Err(err(format!(
                    "plugin `{}` cannot act with a user's sign-in (`auth = \"user\"`): it has no `auth` config field",
                    manifest.name
                )));
            }
        }
        let mut resolved = ResolvedConfig {
            values: Vec::new(),
            secrets: Vec::new(),
            egress: Policy::default(),
        };
        for field in &manifest.config {
            let mut origin = Origin::Resource;
            let value = match self.config.get(&field.name) {
                None if user_grant && field.name == "auth" => Value::String("user".into()),
                Some(source) => source.read(&field.name).map_err(err)?,
                None => match &field.default {
                    Some(default) => {
                        origin = Origin::PluginDefault;
                        default.clone()
                    }
                    None if field.required => {
                        return Err(err(format!(
                            "missing required config field `{}` ({}) in [config]",
                            field.name, field.description
                        )));
                    }
                    None => continue,
                },
            };
            let value = field.value_type.coerce(&value).ok_or_else(|| {
                err(format!(
                    "config field `{}` must be {}",
                    field.name,
                    field.value_type.name()
                ))
            })?;
            if field.secret {
                match &value {
                    Value::String(s) if s.is_empty() => {
                        return Err(err(format!("secret `{}` is empty", field.name)));
                    }
                    Value::String(s) => resolved.secrets.push(s.clone()),
                    other => resolved.secrets.push(other.to_string()),
                }
            }
            if field.url {
                let Value::String(text) = &value else {
                    return Err(err(format!("config field `{}` must be a URL", field.name)));
                };
                let rule = Rule::parse(text, origin, Some(&field.name))
                    .map_err(|m| err(format!("`{}`: {m}", field.name)))?;
                resolved.egress.add(rule);
            }
            if field.value_type == ValueType::String && value.as_str() == Some("") {
                return Err(err(format!("config field `{}` is empty", field.name)));
            }
            resolved.values.push((field.name.clone(), value));
        }
        if let Some(pinned) = &self.pinned_egress {
            resolved.egress = Policy {
                rules: pinned.clone(),
            };
        }
        Ok(resolved)
    }
}

/// What a resource's name may be: it is its file's stem, and names it in
/// URLs, in playbooks and as a directory of its own (its downloads).
pub const NAME_GRAMMAR: &str =
    "an ASCII letter or digit, then letters, digits, `-`, `_` or `.`, at most 64 in all";

/// The name of the resource in `path` (`zoom-prod.toml` is `zoom-prod`), by
/// [`NAME_GRAMMAR`]; a file whose name does not fit (`...toml` would be
/// `..`) is not a resource, and the error says why.
pub fn name_of(path: &Path) -> std::result::Result<String, String> {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    let fits = |name: &str| {
        (1..=64).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    match stem {
        Some(name) if fits(&name) => Ok(name),
        Some(name) => Err(format!(
            "{} is not a resource name: the file name before `.toml` names the resource, and must be {NAME_GRAMMAR}",
            crate::redact::printable(&format!("{name:?}"))
        )),
        None => Err(format!(
            "no resource name: the file name must be {NAME_GRAMMAR}"
        )),
    }
}

impl ConfigSource {
    fn from_toml(name: &str, value: toml::Value, base: &Path) -> Result<Self, String> {
        if let toml::Value::Table(table) = &value {
            let keys: Vec<&str> = table.keys().map(String::as_str).collect();
            match (keys.as_slice(), table.values().next()) {
                (["env"], Some(toml::Value::String(var))) => {
                    return Ok(ConfigSource::Env(var.clone()));
                }
                (["file"], Some(toml::Value::String(file))) => {
                    return Ok(ConfigSource::File(base.join(file)));
                }
                (["env"] | ["file"], _) => {
                    return Err(format!("`{name}`: `env`/`file` takes a string"));
                }
                _ => {
                    return Err(format!(
                        "`{name}`: a table value must be {{ env = \"NAME\" }} or {{ file = \"PATH\" }}"
                    ));
                }
            }
        }
        let json = serde_json::to_value(&value)
            .map_err(|e| format!("`{name}`: unsupported value: {e}"))?;
        Ok(ConfigSource::Literal(json))
    }

    /// Read the value. Errors name the variable or file, never a value.
    pub(crate) fn read(&self, name: &str) -> Result<Value, String> {
        match self {
            ConfigSource::Literal(v) => Ok(v.clone()),
            ConfigSource::Env(var) => match std::env::var(var) {
                Ok(v) if !v.is_empty() => Ok(Value::String(v)),
                Ok(_) => Err(format!(
                    "config field `{name}`: environment variable {var} is empty"
                )),
                Err(_) => Err(format!(
                    "config field `{name}`: environment variable {var} is not set; export it or change the resource file"
                )),
            },
            ConfigSource::File(path) => match std::fs::read_to_string(path) {
                Ok(v) => Ok(Value::String(v.trim_end_matches(['\r', '\n']).to_owned())),
                Err(e) => Err(format!(
                    "config field `{name}`: cannot read secret file {}: {e}",
                    path.display()
                )),
            },
        }
    }
}

/// toml's error, on one line, without the quoted source snippet and without
/// any string value it echoes (`invalid type: string "…"`): a value in the
/// wrong place may be a secret.
fn one_line(message: &str) -> String {
    let message = hide_strings(message);
    let lines: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.contains('|') && !l.starts_with('^'))
        .collect();
    lines.join(": ")
}

fn hide_strings(message: &str) -> String {
    let mut text = message.to_owned();
    let mut from = 0;
    while let Some(at) = text[from..].find("string \"") {
        let open = from + at + "string ".len();
        // The value is Debug-quoted: the first quote not escaped by a backslash closes it.
        let mut escaped = false;
        let close = text[open + 1..].char_indices().find_map(|(i, c)| {
            let end = c == '"' && !escaped;
            escaped = c == '\\' && !escaped;
            end.then_some(open + 1 + i)
        });
        let Some(close) = close else { break };
        text.replace_range(open..=close, "(value hidden)");
        from = open;
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_toml_names_line_and_column() {
        let err = Resource::parse(Path::new("r.toml"), "plugin = \"zoom\"\nlabel = \n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("column"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn values_in_the_wrong_place_are_not_echoed() {
        let err = Resource::parse(
            Path::new("r.toml"),
            "plugin = \"zoom\"\ntimeout_secs = \"s3cr\\\"et\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(!err.contains("s3cr"), "{err}");
        assert!(
            err.contains("line 2") && err.contains("invalid type: string (value hidden), expected"),
            "{err}"
        );
    }

    #[test]
    fn unknown_top_level_keys_are_refused() {
        let err = Resource::parse(Path::new("r.toml"), "plugin = \"zoom\"\ntimeout = 5\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `timeout`"), "{err}");
    }

    #[test]
    fn resource_names_follow_the_grammar() {
        for ok in ["zoom", "zoom-prod", "Zoom_EU.2", "9"] {
            assert_eq!(name_of(Path::new(&format!("/r/{ok}.toml"))).unwrap(), ok);
        }
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "-x",
            "_x",
            "a b",
            "zoom\u{202e}",
            "é",
            &"x".repeat(65),
        ] {
            let err = name_of(Path::new(&format!("/r/{bad}.toml"))).unwrap_err();
            assert!(
                err.contains("not a resource name") || err.contains("no resource name"),
                "{bad:?}: {err}"
            );
            assert!(!err.contains('\u{202e}'), "{err}");
        }
    }

    #[test]
    fn limits_have_defaults_and_bounds() {
        let r = Resource::parse(Path::new("r.toml"), "plugin = \"zoom\"\n").unwrap();
        assert_eq!(r.limits, Limits::default());
        let r = Resource::parse(
            Path::new("r.toml"),
            "plugin = \"zoom\"\ndownload_max_files = 3\ndownload_total_max_mib = 5\nwebhook_max_kib = 16\nwebhook_reply_max_kib = 2\nevent_max_kib = 8\n",
        )
        .unwrap();
        assert_eq!(r.limits.download_max_files, 3);
        assert_eq!(r.limits.download_total_max_bytes, 5 << 20);
        assert_eq!(r.limits.webhook_max_bytes, 16 << 10);
        assert_eq!(r.limits.webhook_reply_max_bytes, 2 << 10);
        assert_eq!(r.limits.event_max_bytes, 8 << 10);
        for bad in [
            "download_max_files = 0",
            "event_max_kib = 0",
            "webhook_max_kib = 1000000",
            "download_max_mib = 0",
        ] {
            let err = Resource::parse(Path::new("r.toml"), &format!("plugin = \"zoom\"\n{bad}\n"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("must be between 1 and"), "{bad}: {err}");
        }
    }

    #[test]
    fn secret_sources() {
        let r = Resource::parse(
            Path::new("/etc/soar/r.toml"),
            "plugin = \"zoom\"\n[config]\na = { env = \"X\" }\nb = { file = \"s.txt\" }\nc = 3\n",
        )
        .expect("parses");
        assert!(matches!(&r.config["a"], ConfigSource::Env(v) if v == "X"));
        assert!(
            matches!(&r.config["b"], ConfigSource::File(p) if p == Path::new("/etc/soar/s.txt"))
        );
        assert!(matches!(&r.config["c"], ConfigSource::Literal(v) if v == 3));
        let err = Resource::parse(
            Path::new("r.toml"),
            "plugin = \"z\"\n[config]\na = { x = 1 }",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("{ env = \"NAME\" }"), "{err}");
    }
}
