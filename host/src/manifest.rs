//! A plugin's manifest on the host side: what `actions --json` prints and
//! what params and config are checked against.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::runtime::bindings as wit;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub title: String,
    pub version: String,
    pub description: String,
    pub config: Vec<ConfigField>,
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    String,
    Integer,
    Number,
    Boolean,
    Object,
    Array,
    Any,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfigField {
    pub name: String,
    pub description: String,
    #[serde(rename = "type")]
    pub value_type: ValueType,
    pub required: bool,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "present"
    )]
    pub default: Option<Value>,
    pub secret: bool,
    pub url: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    Enrichment,
    Containment,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Action {
    pub name: String,
    pub title: String,
    pub kind: ActionKind,
    pub description: String,
    pub params: Vec<Param>,
    pub scopes: Vec<String>,
    pub idempotent: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    pub description: String,
    #[serde(rename = "type")]
    pub value_type: ValueType,
    pub required: bool,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "present"
    )]
    pub default: Option<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub allowed: Vec<Value>,
}

/// A field that is present is `Some`, even when it is `null` (a default of
/// `null`); only a missing one is `None`. (The manifest is read back from the
/// compile cache, and must come back as it was.)
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

impl Manifest {
    pub fn action(&self, name: &str) -> Option<&Action> {
        self.actions.iter().find(|a| a.name == name)
    }

    pub fn action_names(&self) -> String {
        self.actions
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Convert what the plugin exported; defaults and allowed values travel
    /// as JSON text and must parse.
    pub(crate) fn from_wit(m: wit::WitManifest) -> Result<Self, String> {
        let json = |what: &str, text: &str| -> Result<Value, String> {
            serde_json::from_str(text).map_err(|e| format!("{what} is not valid JSON: {e}"))
        };
        let config = m
            .config
            .into_iter()
            .map(|f| {
                Ok(ConfigField {
                    default: f
                        .default
                        .as_deref()
                        .map(|d| json(&format!("default of config field `{}`", f.name), d))
                        .transpose()?,
                    value_type: f.value_type.into(),
                    name: f.name,
                    description: f.description,
                    required: f.required,
                    secret: f.secret,
                    url: f.url,
                })
            })
            .collect::<Result<_, String>>()?;
        let actions = m
            .actions
            .into_iter()
            .map(|a| {
                let params = a
                    .params
                    .into_iter()
                    .map(|p| {
                        let what = format!("param `{}` of action `{}`", p.name, a.name);
                        Ok(Param {
                            default: p
                                .default
                                .as_deref()
                                .map(|d| json(&format!("default of {what}"), d))
                                .transpose()?,
                            allowed: p
                                .allowed
                                .iter()
                                .map(|v| json(&format!("an allowed value of {what}"), v))
                                .collect::<Result<_, _>>()?,
                            value_type: p.value_type.into(),
                            name: p.name,
                            description: p.description,
                            required: p.required,
                        })
                    })
                    .collect::<Result<_, String>>()?;
                Ok(Action {
                    kind: match a.kind {
                        wit::ActionKind::Enrichment => ActionKind::Enrichment,
                        wit::ActionKind::Containment => ActionKind::Containment,
                    },
                    name: a.name,
                    title: a.title,
                    description: a.description,
                    params,
                    scopes: a.scopes,
                    idempotent: a.idempotent,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Manifest {
            name: m.name,
            title: m.title,
            version: m.version,
            description: m.description,
            config,
            actions,
        })
    }
}

impl From<wit::ValueType> for ValueType {
    fn from(t: wit::ValueType) -> Self {
        match t {
            wit::ValueType::String => ValueType::String,
            wit::ValueType::Integer => ValueType::Integer,
            wit::ValueType::Number => ValueType::Number,
            wit::ValueType::Boolean => ValueType::Boolean,
            wit::ValueType::Object => ValueType::Object,
            wit::ValueType::Array => ValueType::Array,
            wit::ValueType::Any => ValueType::Any,
        }
    }
}

impl ValueType {
    pub fn name(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Integer => "integer",
            ValueType::Number => "number",
            ValueType::Boolean => "boolean",
            ValueType::Object => "object",
            ValueType::Array => "array",
            ValueType::Any => "any",
        }
    }

    /// Check `value`, accepting what a playbook or shell naturally sends for
    /// scalars: a numeric string for a number, "true"/"false" for a boolean.
    /// Returns the value to pass on, converted to the declared type.
    pub fn coerce(self, value: &Value) -> Option<Value> {
        match (self, value) {
            (ValueType::Any, v) => Some(v.clone()),
            (ValueType::String, Value::String(_)) => Some(value.clone()),
            // `-p occurrence_id=1648194360000` arrives as a number.
            (ValueType::String, Value::Number(n)) => Some(Value::String(n.to_string())),
            (ValueType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => {
                Some(value.clone())
            }
            (ValueType::Integer, Value::String(s)) => {
                let s = s.trim();
                s.parse::<i64>()
                    .map(Value::from)
                    .or_else(|_| s.parse::<u64>().map(Value::from))
                    .ok()
            }
            (ValueType::Number, Value::Number(_)) => Some(value.clone()),
            (ValueType::Number, Value::String(s)) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .and_then(|f| serde_json::Number::from_f64(f).map(Value::Number)),
            (ValueType::Boolean, Value::Bool(_)) => Some(value.clone()),
            (ValueType::Boolean, Value::String(s)) => match s.trim() {
                "true" => Some(Value::Bool(true)),
                "false" => Some(Value::Bool(false)),
                _ => None,
            },
            (ValueType::Object, Value::Object(_)) | (ValueType::Array, Value::Array(_)) => {
                Some(value.clone())
            }
            _ => None,
        }
    }
}
