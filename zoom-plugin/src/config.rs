//! The resource's `[config]`: the fields the manifest declares and the
//! values an invocation reads.

use serde_json::json;
use soar_plugin_sdk::{ActionError, Config, Field};

/// The config fields, in the order `soar-host` shows them.
pub fn fields() -> Vec<Field> {
    vec![
        Field::url("oauth_token_url", "Base URL of Zoom's OAuth server")
            .default(json!("https://zoom.us/")),
        Field::url(
            "api_url",
            "Base URL of Zoom's REST API (the plugin adds v2/)",
        )
        .default(json!("https://api.zoom.us/")),
        Field::url(
            "storage_url",
            "Where Zoom's recording downloads redirect to; only widens the egress list (wildcards allowed)",
        )
        .default(json!("https://*.zoom.us/")),
        Field::string("client_id", "Client ID of the Server-to-Server OAuth app"),
        Field::string(
            "client_secret",
            "Client secret of the Server-to-Server OAuth app",
        )
        .secret(),
        Field::string("account_id", "Zoom account ID the app belongs to"),
        Field::string(
            "webhook_secret_token",
            "Secret Token of the app's event subscription: verifies Zoom's webhooks",
        )
        .secret()
        .optional(),
        Field::string(
            "call_api_methods",
            "HTTP methods call_api may use, comma-separated (GET, POST, PUT, PATCH, DELETE); only GET unless widened",
        )
        .default(json!("GET")),
    ]
}

/// The methods `call_api` may send.
pub const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// What the API client needs.
pub struct ZoomConfig {
    /// Always ends with `/`.
    pub oauth_token_url: String,
    /// Always ends with `/`.
    pub api_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub account_id: String,
    /// Upper-case, each one of [`METHODS`].
    pub call_api_methods: Vec<String>,
}

impl ZoomConfig {
    pub fn from_config(config: &Config) -> Result<Self, ActionError> {
        Ok(Self {
            oauth_token_url: config.url("oauth_token_url")?,
            api_url: config.url("api_url")?,
            client_id: config.string("client_id")?,
            client_secret: config.string("client_secret")?,
            account_id: config.string("account_id")?,
            call_api_methods: methods(config.opt_string("call_api_methods")?.as_deref())?,
        })
    }
}

/// `call_api_methods` as a list; GET when absent.
fn methods(text: Option<&str>) -> Result<Vec<String>, ActionError> {
    let mut methods = Vec::new();
    for method in text
        .unwrap_or("GET")
        .split([',', ' '])
        .filter(|m| !m.is_empty())
    {
        let method = method.to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            return Err(ActionError::config(format!(
                "config field `call_api_methods`: `{method}` is not one of {}",
                METHODS.join(", ")
            )));
        }
        methods.push(method);
    }
    Ok(methods)
}
