//! Forms generated from an action's params schema (JSON Schema 2020-12),
//! and the params read back from what was posted.
//!
//! Integers, numbers and booleans are sent typed when their text says so
//! plainly; other scalars as the text typed (for an action, the host
//! converts text to the schema's types as it does for `invoke -p`, then
//! checks the whole). A
//! nested object with properties is a group of fields; an array of scalars a
//! text area, one item per line; anything else (arrays of objects, free-form
//! objects, alternatives) a text area holding JSON.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::session::Fields;

/// One field of a generated form.
#[derive(Debug, Serialize)]
pub struct Field {
    /// The form's name: the JSON Pointer of the value without its leading
    /// `/` (`settings/waiting_room`).
    pub name: String,
    /// The element's id (`p-settings-waiting_room`).
    pub id: String,
    pub label: String,
    /// `text`, `integer`, `number`, `boolean`, `select`, `lines`, `json` or
    /// `group`.
    pub widget: &'static str,
    pub required: bool,
    pub description: String,
    /// A select's choices (the empty choice comes first unless required).
    pub options: Vec<String>,
    /// What the field holds: what was posted, else the schema's default.
    pub value: String,
    /// The expected format (`date-time`, `email`), shown as a hint.
    pub format: String,
    /// What was wrong with it, after a post.
    pub error: Option<String>,
    pub children: Vec<Field>,
}

/// How deep nested objects become groups (deeper: JSON).
const MAX_DEPTH: usize = 4;

/// The fields of `schema` (an object schema), holding `posted` values (or
/// defaults) and `errors` by field name.
pub fn fields(schema: &Value, posted: &Fields, errors: &HashMap<String, String>) -> Vec<Field> {
    object_fields(schema, schema, "", posted, errors, 0)
}

fn object_fields(
    root: &Value,
    schema: &Value,
    prefix: &str,
    posted: &Fields,
    errors: &HashMap<String, String>,
    depth: usize,
) -> Vec<Field> {
    let schema = resolve(root, schema);
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    properties
        .iter()
        .map(|(key, property)| {
            let property = resolve(root, property);
            let name = format!("{prefix}{key}");
            let widget = widget(root, property, depth);
            let children = if widget == "group" {
                object_fields(
                    root,
                    property,
                    &format!("{name}/"),
                    posted,
                    errors,
                    depth + 1,
                )
            } else {
                Vec::new()
            };
            let text = |v: &Value| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let value = match posted.get(&name) {
                Some(v) => v.to_owned(),
                None => match (property.get("default"), widget) {
                    (Some(Value::Array(items)), "lines") => {
                        items.iter().map(text).collect::<Vec<_>>().join("\n")
                    }
                    (Some(default), "json") => default.to_string(),
                    (Some(default), _) => text(default),
                    (None, _) => String::new(),
                },
            };
            let options = match widget {
                "boolean" => vec!["true".to_owned(), "false".to_owned()],
                "select" => property
                    .get("enum")
                    .and_then(Value::as_array)
                    .map(|e| e.iter().map(text).collect())
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            let description = [property.get("title"), property.get("description")]
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(": ");
            Field {
                id: format!(
                    "p-{}",
                    name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '_', "-")
                ),
                label: key.clone(),
                widget,
                required: required.contains(&key.as_str()),
                description,
                options,
                value,
                format: property
                    .get("format")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                error: errors.get(&name).cloned(),
                children,
                name,
            }
        })
        .collect()
}

fn types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn widget(root: &Value, schema: &Value, depth: usize) -> &'static str {
    let ts = types(schema);
    if schema
        .get("enum")
        .and_then(Value::as_array)
        .is_some_and(|e| {
            e.iter()
                .all(|v| v.is_string() || v.is_number() || v.is_boolean())
        })
    {
        return "select";
    }
    match ts.as_slice() {
        ["boolean"] => "boolean",
        ["integer"] => "integer",
        ["number"] => "number",
        ["object"] if schema.get("properties").is_some() && depth < MAX_DEPTH => "group",
        ["array"] => {
            let items = schema.get("items").map(|i| resolve(root, i));
            let scalar = items.is_some_and(|i| {
                i.get("enum").is_none()
                    && types(i)
                        .iter()
                        .all(|t| matches!(*t, "string" | "integer" | "number"))
                    && !types(i).is_empty()
            });
            if scalar { "lines" } else { "json" }
        }
        [] if schema.get("properties").is_none() && schema.get("oneOf").is_none() => {
            if schema.get("anyOf").is_some() || schema.get("items").is_some() {
                "json"
            } else {
                "text"
            }
        }
        ts if ts
            .iter()
            .all(|t| matches!(*t, "string" | "integer" | "number" | "null")) =>
        {
            "text"
        }
        _ => "json",
    }
}

/// A local `$ref` followed (a few times at most).
fn resolve<'a>(root: &'a Value, mut schema: &'a Value) -> &'a Value {
    for _ in 0..8 {
        let Some(pointer) = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        else {
            break;
        };
        match root.pointer(pointer) {
            Some(target) => schema = target,
            None => break,
        }
    }
    schema
}

/// The params `fields` describe, from what was posted: empty fields are
/// left out; scalars stay text for the host to convert. Errors (JSON that
/// does not parse) by field name.
pub fn params(fields: &[Field], posted: &Fields) -> Result<Value, HashMap<String, String>> {
    let mut errors = HashMap::new();
    let map = collect(fields, posted, &mut errors);
    if errors.is_empty() {
        Ok(Value::Object(map))
    } else {
        Err(errors)
    }
}

fn collect(
    fields: &[Field],
    posted: &Fields,
    errors: &mut HashMap<String, String>,
) -> Map<String, Value> {
    let mut map = Map::new();
    for field in fields {
        if field.widget == "group" {
            let inner = collect(&field.children, posted, errors);
            if !inner.is_empty() {
                map.insert(field.label.clone(), Value::Object(inner));
            }
            continue;
        }
        let text = posted.get(&field.name).unwrap_or_default();
        if text.trim().is_empty() {
            continue;
        }
        let value = match field.widget {
            "lines" => Value::Array(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(|l| Value::String(l.to_owned()))
                    .collect(),
            ),
            // Typed when the text says so plainly (playbook inputs are not
            // converted later; action params would be).
            "integer" => text
                .trim()
                .parse::<i64>()
                .map_or_else(|_| Value::String(text.to_owned()), Value::from),
            "number" => text
                .trim()
                .parse::<f64>()
                .map_or_else(|_| Value::String(text.to_owned()), Value::from),
            "boolean" => match text {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::String(text.to_owned()),
            },
            "json" => match serde_json::from_str(text) {
                Ok(value) => value,
                Err(e) => {
                    errors.insert(field.name.clone(), format!("not JSON: {e}"));
                    continue;
                }
            },
            _ => Value::String(text.to_owned()),
        };
        map.insert(field.label.clone(), value);
    }
    map
}

/// The field a JSON Pointer of the params (a violation's place) belongs
/// to: the longest field name it starts with; "" when none.
pub fn field_of(fields: &[Field], pointer: &str) -> String {
    let path = pointer.trim_start_matches('/');
    let mut best = String::new();
    visit(fields, &mut |f| {
        if f.widget != "group"
            && (path == f.name || path.starts_with(&format!("{}/", f.name)))
            && f.name.len() > best.len()
        {
            best = f.name.clone();
        }
    });
    best
}

fn visit(fields: &[Field], f: &mut impl FnMut(&Field)) {
    for field in fields {
        f(field);
        visit(&field.children, f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "required": ["user_id"],
            "properties": {
                "user_id": {"type": "string", "description": "who"},
                "page_size": {"type": "integer", "default": 30},
                "status": {"type": "string", "enum": ["active", "inactive"]},
                "emails": {"type": "array", "items": {"type": "string", "format": "email"}},
                "settings": {"type": "object", "properties": {
                    "waiting_room": {"type": "boolean"},
                    "nested": {"$ref": "#/$defs/thing"}
                }},
                "registrants": {"type": "array", "items": {"type": "object"}}
            },
            "$defs": {"thing": {"type": "object", "properties": {"x": {"type": "number"}}}}
        })
    }

    #[test]
    fn a_schema_becomes_fields_and_a_post_becomes_params() {
        let schema = schema();
        let fields = fields(&schema, &Fields::default(), &HashMap::new());
        let widgets: Vec<_> = fields
            .iter()
            .map(|f| (f.label.as_str(), f.widget))
            .collect();
        assert_eq!(
            widgets,
            [
                ("user_id", "text"),
                ("page_size", "integer"),
                ("status", "select"),
                ("emails", "lines"),
                ("settings", "group"),
                ("registrants", "json")
            ]
        );
        assert!(fields[0].required && !fields[1].required);
        assert_eq!(fields[1].value, "30");
        assert_eq!(fields[4].children[1].children[0].name, "settings/nested/x");

        let posted = Fields(vec![
            ("user_id".into(), "me".into()),
            ("page_size".into(), "".into()),
            ("emails".into(), "a@example.com\n\n b@example.com ".into()),
            ("settings/waiting_room".into(), "true".into()),
            (
                "registrants".into(),
                r#"[{"email": "c@example.com"}]"#.into(),
            ),
        ]);
        let params = params(&fields, &posted).unwrap();
        assert_eq!(
            params,
            json!({
                "user_id": "me",
                "emails": ["a@example.com", "b@example.com"],
                "settings": {"waiting_room": true},
                "registrants": [{"email": "c@example.com"}]
            })
        );
        assert_eq!(
            field_of(&fields, "/settings/waiting_room"),
            "settings/waiting_room"
        );
        assert_eq!(field_of(&fields, "/registrants/0/email"), "registrants");
        assert_eq!(field_of(&fields, "/unknown"), "");

        let bad = Fields(vec![("registrants".into(), "[{".into())]);
        let errors = super::params(&fields, &bad).unwrap_err();
        assert!(errors["registrants"].starts_with("not JSON"));
    }
}
