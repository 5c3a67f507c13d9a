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
        Field::string(
            "auth",
            "How calls authenticate: `account` (the Server-to-Server app below) or `user` (set by the host from the resource's top-level `auth = \"user\"`: the host adds the signed-in user's token)",
        )
        .default(json!("account")),
        Field::string(
            "client_id",
            "Client ID of the Server-to-Server OAuth app (auth = account)",
        )
        .optional(),
        Field::string(
            "client_secret",
            "Client secret of the Server-to-Server OAuth app (auth = account)",
        )
        .secret()
        .optional(),
        Field::string(
            "account_id",
            "Zoom account ID the app belongs to (auth = account)",
        )
        .optional(),
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
    /// Empty when `user` is.
    pub client_id: String,
    pub client_secret: String,
    pub account_id: String,
    /// `auth = "user"`: the host authenticates each API call with the
    /// signed-in user's token; the plugin sends none and fetches none.
    pub user: bool,
    /// Upper-case, each one of [`METHODS`].
    pub call_api_methods: Vec<String>,
}

impl ZoomConfig {
    pub fn from_config(config: &Config) -> Result<Self, ActionError> {
        let user = match config.opt_string("auth")?.as_deref() {
            None | Some("account") => false,
            Some("user") => true,
            Some(_) => {
                return Err(ActionError::config(
                    "config field `auth` must be `account` or `user`",
                ));
            }
        };
        // Server-to-Server credentials: required for the account's grant only.
        let credential = |name: &str| {
            if user {
                return Ok(String::new());
            }
            config.opt_string(name)?.ok_or_else(|| {
                ActionError::config(format!(
                    "missing config field `{name}` in [config]: the Server-to-Server app's (or sign a user in: `auth = \"user\"` and an [oauth] table)"
                ))
            })
        };
        Ok(Self {
            oauth_token_url: config.url("oauth_token_url")?,
            api_url: config.url("api_url")?,
            client_id: credential("client_id")?,
            client_secret: credential("client_secret")?,
            account_id: credential("account_id")?,
            user,
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
