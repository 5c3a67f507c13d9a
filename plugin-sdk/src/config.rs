//! A resource's `[config]`: the fields a plugin declares and the values the
//! host hands over (JSON text per field, defaults applied, secrets resolved).
//! Getters answer `config` errors, which tell the operator to fix the
//! resource file rather than the params.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::bindings::soar::plugin::types::ConfigValue;
use crate::{ActionError, ConfigField, ValueType};

/// The config values of one invocation.
#[derive(Debug, Clone, Default)]
pub struct Config {
    values: Vec<ConfigValue>,
}

impl Config {
    pub(crate) fn new(values: Vec<ConfigValue>) -> Self {
        Config { values }
    }

    /// A config from `(name, JSON text)` pairs: for tests.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Config::new(
            pairs
                .iter()
                .map(|(name, value)| ConfigValue {
                    name: (*name).into(),
                    value: (*value).into(),
                })
                .collect(),
        )
    }

    /// The field's value, `None` when absent or null.
    pub fn value(&self, name: &str) -> Result<Option<Value>, ActionError> {
        let Some(raw) = self.values.iter().find(|v| v.name == name) else {
            return Ok(None);
        };
        match serde_json::from_str::<Value>(&raw.value) {
            Ok(Value::Null) => Ok(None),
            Ok(value) => Ok(Some(value)),
            Err(_) => Err(ActionError::config(format!(
                "config field `{name}` is not valid JSON"
            ))),
        }
    }

    /// A required, non-empty string.
    pub fn string(&self, name: &str) -> Result<String, ActionError> {
        self.opt_string(name)?
            .ok_or_else(|| ActionError::config(format!("config field `{name}` is missing")))
    }

    /// A non-empty string, or `None` when absent.
    pub fn opt_string(&self, name: &str) -> Result<Option<String>, ActionError> {
        match self.value(name)? {
            None => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s)),
            Some(_) => Err(ActionError::config(format!(
                "config field `{name}` must be a non-empty string"
            ))),
        }
    }

    /// A base URL, always ending with `/` so paths join onto it.
    pub fn url(&self, name: &str) -> Result<String, ActionError> {
        let mut url = self.string(name)?;
        if !url.ends_with('/') {
            url.push('/');
        }
        Ok(url)
    }

    /// Any type, deserialized from the field's JSON; `None` when absent.
    pub fn get<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, ActionError> {
        self.value(name)?
            .map(|v| {
                serde_json::from_value(v).map_err(|e| {
                    ActionError::config(format!("config field `{name}` has the wrong shape: {e}"))
                })
            })
            .transpose()
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, ActionError> {
        self.get(name)
    }

    pub fn integer(&self, name: &str) -> Result<Option<i64>, ActionError> {
        self.get(name)
    }
}

/// A config field declaration, builder style:
/// `Field::string("client_secret", "...").secret()`.
#[derive(Debug, Clone)]
pub struct Field(ConfigField);

impl Field {
    /// A required field of JSON type `value_type`.
    pub fn new(name: &str, value_type: ValueType, description: &str) -> Self {
        Field(ConfigField {
            name: name.into(),
            description: description.into(),
            value_type,
            required: true,
            default: None,
            secret: false,
            url: false,
        })
    }

    pub fn string(name: &str, description: &str) -> Self {
        Self::new(name, ValueType::String, description)
    }

    pub fn integer(name: &str, description: &str) -> Self {
        Self::new(name, ValueType::Integer, description)
    }

    pub fn boolean(name: &str, description: &str) -> Self {
        Self::new(name, ValueType::Boolean, description)
    }

    /// A base URL: it joins the resource's egress allow-list.
    pub fn url(name: &str, description: &str) -> Self {
        let mut field = Self::string(name, description);
        field.0.url = true;
        field
    }

    /// Never printed or logged.
    pub fn secret(mut self) -> Self {
        self.0.secret = true;
        self
    }

    pub fn optional(mut self) -> Self {
        self.0.required = false;
        self
    }

    /// Used when the resource file leaves the field out (so it is optional).
    pub fn default(mut self, value: Value) -> Self {
        self.0.default = Some(value.to_string());
        self.0.required = false;
        self
    }
}

impl From<Field> for ConfigField {
    fn from(field: Field) -> Self {
        field.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn getters_read_json_text_and_answer_config_errors() {
        let config = Config::from_pairs(&[
            ("url", "\"https://x.example\""),
            ("n", "3"),
            ("empty", "\"  \""),
        ]);
        assert_eq!(config.url("url").unwrap(), "https://x.example/");
        assert_eq!(config.integer("n").unwrap(), Some(3));
        assert_eq!(config.opt_string("absent").unwrap(), None);
        let err = config.string("empty").unwrap_err();
        assert!(matches!(err.kind, crate::ErrorKind::Config), "{err:?}");
        assert!(
            config
                .string("absent")
                .unwrap_err()
                .message
                .contains("missing")
        );
    }
}
