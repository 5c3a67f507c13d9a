//! An action's params: a JSON object the host has already checked against
//! the action's schema. The accessors still refuse what they cannot use, so
//! a bug on either side surfaces as `invalid-input`, never as a wrong call to
//! Zoom.

use serde::Deserialize;
use serde_json::{Map, Value};
use soar_plugin_sdk::{ActionError, encode};

use crate::errors::invalid_input;

/// Zoom's actions mostly pass fields on, so they take the raw object.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct Params(Map<String, Value>);

impl Params {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    pub fn string(&self, name: &str) -> Result<String, ActionError> {
        self.opt_string(name)?
            .ok_or_else(|| invalid_input(format!("param `{name}` is required")))
    }

    pub fn opt_string(&self, name: &str) -> Result<Option<String>, ActionError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => {
                Err(invalid_input(format!("param `{name}` must not be empty")))
            }
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(invalid_input(format!("param `{name}` must be a string"))),
        }
    }

    /// A path segment: the value, percent-encoded (an email's `@` stays as it is, as in Zoom's docs).
    pub fn segment(&self, name: &str) -> Result<String, ActionError> {
        Ok(encode::segment(&self.string(name)?).replace("%40", "@"))
    }

    /// A Zoom meeting ID: a positive integer, given as a number or a numeric string.
    pub fn meeting_id(&self) -> Result<u64, ActionError> {
        self.number_id("meeting_id", "meeting")
    }

    /// A Zoom meeting or webinar ID (`noun`) in param `name`: a positive integer, given as a
    /// number or a numeric string.
    pub fn number_id(&self, name: &str, noun: &str) -> Result<u64, ActionError> {
        let bad = || {
            invalid_input(format!(
                "param `{name}` must be a {noun} number (digits only)"
            ))
        };
        match self.get(name) {
            Some(Value::Number(n)) => n.as_u64().ok_or_else(bad),
            Some(Value::String(s)) => s.trim().parse::<u64>().map_err(|_| bad()),
            None => Err(invalid_input(format!("param `{name}` is required"))),
            Some(_) => Err(bad()),
        }
    }

    pub fn opt_u64(&self, name: &str) -> Result<Option<u64>, ActionError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .map(Some)
                .ok_or_else(|| {
                    invalid_input(format!("param `{name}` must be a non-negative integer"))
                }),
        }
    }

    /// Copy the named params that are present into query pairs, in order.
    pub fn query(&self, names: &[&str]) -> Result<Vec<(String, String)>, ActionError> {
        let mut pairs = Vec::new();
        for name in names {
            if let Some(value) = self.opt_string(name)? {
                pairs.push(((*name).to_owned(), value));
            }
        }
        Ok(pairs)
    }

    /// Array params as query pairs, one `name=item` pair per item (the
    /// OpenAPI default for a query array: Zoom's specs declare no style).
    pub fn array_query(&self, names: &[&str]) -> Result<Vec<(String, String)>, ActionError> {
        let mut pairs = Vec::new();
        for name in names {
            match self.get(name) {
                None => {}
                Some(Value::Array(items)) => {
                    for item in items {
                        let Some(text) = item.as_str().filter(|t| !t.trim().is_empty()) else {
                            return Err(invalid_input(format!(
                                "param `{name}` must be a list of non-empty strings"
                            )));
                        };
                        pairs.push(((*name).to_owned(), text.to_owned()));
                    }
                }
                Some(_) => return Err(invalid_input(format!("param `{name}` must be a list"))),
            }
        }
        Ok(pairs)
    }

    /// The params that are not `exclude`d, as a JSON body: only the fields given.
    pub fn body_without(&self, exclude: &[&str]) -> Map<String, Value> {
        self.0
            .iter()
            .filter(|(k, v)| !exclude.contains(&k.as_str()) && !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}
