//! The resource's `[config]` as the host hands it over: JSON text per field,
//! defaults already applied and secrets already resolved.

use crate::errors::config_error;
use crate::soar::plugin::types::{ActionError, ConfigValue};

pub struct ZoomConfig {
    /// Always ends with `/`.
    pub oauth_token_url: String,
    /// Always ends with `/`.
    pub api_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub account_id: String,
}

impl ZoomConfig {
    pub fn from_values(values: &[ConfigValue]) -> Result<Self, ActionError> {
        let get = |name: &str| -> Result<String, ActionError> {
            let value = values
                .iter()
                .find(|v| v.name == name)
                .ok_or_else(|| config_error(format!("config field `{name}` is missing")))?;
            match serde_json::from_str::<serde_json::Value>(&value.value) {
                Ok(serde_json::Value::String(s)) if !s.trim().is_empty() => Ok(s),
                _ => Err(config_error(format!(
                    "config field `{name}` must be a non-empty string"
                ))),
            }
        };
        Ok(Self {
            oauth_token_url: with_slash(get("oauth_token_url")?),
            api_url: with_slash(get("api_url")?),
            client_id: get("client_id")?,
            client_secret: get("client_secret")?,
            account_id: get("account_id")?,
        })
    }
}

fn with_slash(mut url: String) -> String {
    if !url.ends_with('/') {
        url.push('/');
    }
    url
}
