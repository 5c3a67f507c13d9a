//! Checking an action's params against its JSON Schema, before the plugin
//! runs: bad input never reaches the upstream. Scalars are coerced the way a
//! playbook or a shell naturally sends them (`"123"` where the schema wants
//! an integer, `"true"` for a boolean, a number where it wants a string),
//! guided by the schema, at any depth; then a standard validator checks the
//! whole document, and the first error names its path
//! (`settings.in_meeting.chat`).

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::{Map, Value};

use crate::manifest::Action;

/// A compiled params schema.
pub struct Checker {
    validator: jsonschema::Validator,
}

impl Checker {
    pub fn new(action: &Action) -> Result<Self, String> {
        // Formats (email, date-time, uri ...) are asserted, not only noted.
        jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&action.params_schema)
            .map(|validator| Self { validator })
            .map_err(|e| format!("the params schema of `{}` cannot be used: {e}", action.name))
    }
}

/// The params to hand to the plugin: a JSON object (`null` members count as
/// absent), scalars converted to the schema's types, valid against it.
pub fn validate(
    action: &Action,
    checker: &Checker,
    params: &Value,
) -> Result<Map<String, Value>, String> {
    let Value::Object(given) = params else {
        return Err(format!(
            "params must be a JSON object, got {}",
            json_kind(params)
        ));
    };
    let mut value = Value::Object(
        given
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    );
    coerce(&action.params_schema, &action.params_schema, &mut value, 0);
    if let Some(error) = checker.validator.iter_errors(&value).next() {
        return Err(message(action, &error));
    }
    match value {
        Value::Object(map) => Ok(map),
        _ => unreachable!("an object stays an object"),
    }
}

/// One way params fail their action's schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The JSON Pointer of the value it is about; for a missing or unknown
    /// member, the member's own.
    pub pointer: String,
    pub message: String,
}

/// Every way `params` fails the action's schema, scalars coerced as
/// [`validate`] coerces them: what a playbook's check reports, each at its
/// place.
pub fn violations(action: &Action, checker: &Checker, params: &Value) -> Vec<Violation> {
    let mut value = params.clone();
    coerce(&action.params_schema, &action.params_schema, &mut value, 0);
    checker
        .validator
        .iter_errors(&value)
        .map(|error| {
            let mut pointer = error.instance_path().as_str().to_owned();
            let member = match error.kind() {
                ValidationErrorKind::Required { property } => property.as_str(),
                ValidationErrorKind::AdditionalProperties { unexpected }
                | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                    unexpected.first().map(String::as_str)
                }
                _ => None,
            };
            if let Some(name) = member {
                pointer.push('/');
                pointer.push_str(&name.replace('~', "~0").replace('/', "~1"));
            }
            Violation {
                pointer,
                message: message(action, &error),
            }
        })
        .collect()
}

/// How deep coercion follows nested schemas and `$ref`s.
const MAX_DEPTH: u32 = 32;

/// Convert scalars where the schema wants another scalar type and the text
/// says it plainly. Only `properties`, `additionalProperties`, `items` and
/// local `$ref`s are followed; anything else is left to the validator.
fn coerce(root: &Value, schema: &Value, value: &mut Value, depth: u32) {
    if depth > MAX_DEPTH {
        return;
    }
    let Some(schema) = schema.as_object() else {
        return;
    };
    if let Some(target) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|pointer| root.pointer(pointer))
    {
        coerce(root, target, value, depth + 1);
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty()
        && !types.iter().any(|t| matches(t, value))
        && let Some(converted) = types.iter().find_map(|t| convert(t, value))
    {
        *value = converted;
    }
    match value {
        Value::Object(map) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties");
            for (key, member) in map.iter_mut() {
                match properties.and_then(|p| p.get(key)) {
                    Some(sub) => coerce(root, sub, member, depth + 1),
                    None => {
                        if let Some(sub) = additional {
                            coerce(root, sub, member, depth + 1);
                        }
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = schema.get("items") {
                for item in items {
                    coerce(root, sub, item, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// Whether `v` is of the JSON Schema type `t`.
pub(crate) fn matches(t: &str, v: &Value) -> bool {
    match t {
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "null" => v.is_null(),
        _ => false,
    }
}

/// `v` as the JSON Schema type `t`, where its text says so plainly.
pub(crate) fn convert(t: &str, v: &Value) -> Option<Value> {
    match (t, v) {
        // `-p occurrence_id=1648194360000` arrives as a number.
        ("string", Value::Number(n)) => Some(Value::String(n.to_string())),
        ("integer", Value::String(s)) => {
            let s = s.trim();
            s.parse::<i64>()
                .map(Value::from)
                .or_else(|_| s.parse::<u64>().map(Value::from))
                .ok()
        }
        ("number", Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .and_then(|f| serde_json::Number::from_f64(f).map(Value::Number)),
        ("boolean", Value::String(s)) => match s.trim() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        _ => None,
    }
}

/// `settings.in_meeting.chat`, `registrants[0].email`.
fn dotted(pointer: &str) -> String {
    let mut out = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{segment}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&segment);
        }
    }
    out
}

fn message(action: &Action, error: &jsonschema::ValidationError) -> String {
    let path = dotted(error.instance_path().as_str());
    let at = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    let instance = error.instance();
    match error.kind() {
        ValidationErrorKind::Type { kind } => {
            let wanted = match kind {
                TypeKind::Single(t) => with_article(&t.to_string()),
                TypeKind::Multiple(ts) => ts
                    .iter()
                    .map(|t| with_article(&t.to_string()))
                    .collect::<Vec<_>>()
                    .join(" or "),
            };
            format!(
                "param `{path}` must be {wanted}, got {}",
                describe(instance)
            )
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            format!("missing required param `{}`", at(name))
        }
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            let name = unexpected.first().map(String::as_str).unwrap_or("?");
            if path.is_empty() {
                let known: Vec<String> = action.params().into_iter().map(|p| p.name).collect();
                format!(
                    "unknown param `{name}`; {} takes: {}",
                    action.name,
                    known.join(", ")
                )
            } else {
                format!("unknown field `{}`", at(name))
            }
        }
        ValidationErrorKind::Enum { options } => {
            let allowed: Vec<String> = options
                .as_array()
                .map(|o| o.iter().map(Value::to_string).collect())
                .unwrap_or_default();
            format!(
                "param `{path}` must be one of {}, got {}",
                allowed.join(", "),
                short(instance)
            )
        }
        _ => format!("param `{path}`: {}", error.masked_with(short(instance))),
    }
}

fn with_article(word: &str) -> String {
    let article = if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {word}")
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The value as JSON when short, else what kind it is.
fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.len() > 60 {
        json_kind(v).to_owned()
    } else {
        text
    }
}

fn describe(v: &Value) -> String {
    let text = v.to_string();
    if text.len() > 60 {
        json_kind(v).to_owned()
    } else {
        format!("{} {text}", json_kind(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::ActionKind;
    use serde_json::json;

    fn action() -> Action {
        Action {
            name: "update_thing".into(),
            title: String::new(),
            kind: ActionKind::Containment,
            description: String::new(),
            operation: String::new(),
            params_schema: json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "properties": {
                    "meeting_id": {"type": "integer"},
                    "flag": {"type": "boolean"},
                    "type": {"type": "string", "enum": ["scheduled", "live"]},
                    "occurrence_id": {"type": "string"},
                    "settings": {"$ref": "#/$defs/settings"},
                    "registrants": {"type": "array", "items": {
                        "type": "object",
                        "properties": {"email": {"type": "string", "format": "email"}, "n": {"type": "integer", "minimum": 1}},
                        "required": ["email"]
                    }}
                },
                "required": ["meeting_id"],
                "additionalProperties": false,
                "$defs": {"settings": {"type": "object", "properties": {
                    "in_meeting": {"type": "object", "properties": {"chat": {"type": "boolean"}}}
                }}}
            })
            .into(),
            output_schema: None,
            scopes: vec![],
            idempotent: true,
        }
    }

    fn check(params: Value) -> Result<Map<String, Value>, String> {
        let a = action();
        let checker = Checker::new(&a).unwrap();
        validate(&a, &checker, &params)
    }

    #[test]
    fn accepts_and_converts_scalars_at_any_depth() {
        let out = check(json!({
            "meeting_id": "85746065432", "flag": "true", "occurrence_id": 1648194360000u64,
            "settings": {"in_meeting": {"chat": "false"}},
            "registrants": [{"email": "a@example.com", "n": "2"}]
        }))
        .expect("valid");
        assert_eq!(out["meeting_id"], json!(85746065432u64));
        assert_eq!(out["flag"], json!(true));
        assert_eq!(out["occurrence_id"], json!("1648194360000"));
        assert_eq!(out["settings"]["in_meeting"]["chat"], json!(false));
        assert_eq!(out["registrants"][0]["n"], json!(2));
    }

    #[test]
    fn names_the_path_of_what_is_wrong() {
        let err = check(json!({"meeting_id": 1, "settings": {"in_meeting": {"chat": "yes"}}}))
            .unwrap_err();
        assert_eq!(
            err,
            "param `settings.in_meeting.chat` must be a boolean, got a string \"yes\""
        );
        let err =
            check(json!({"meeting_id": 1, "registrants": [{"email": "a@b.c"}, {}]})).unwrap_err();
        assert_eq!(err, "missing required param `registrants[1].email`");
        let err = check(json!({"meeting_id": 1, "registrants": [{"email": "a@b.c", "n": 0}]}))
            .unwrap_err();
        assert!(err.starts_with("param `registrants[0].n`: "), "{err}");
        let err = check(json!({"meeting_id": 1, "registrants": [{"email": "not-an-email"}]}))
            .unwrap_err();
        assert!(err.starts_with("param `registrants[0].email`: "), "{err}");
    }

    #[test]
    fn rejects_wrong_type_unknown_missing_and_disallowed() {
        let err = check(json!({"meeting_id": "abc"})).unwrap_err();
        assert!(err.contains("`meeting_id` must be an integer"), "{err}");
        let err = check(json!({"meeting_id": 1, "bogus": 1})).unwrap_err();
        assert!(err.contains("unknown param `bogus`"), "{err}");
        let err = check(json!({})).unwrap_err();
        assert!(err.contains("missing required param `meeting_id`"), "{err}");
        let err = check(json!({"meeting_id": 1, "type": "past"})).unwrap_err();
        assert!(
            err.contains("must be one of \"scheduled\", \"live\""),
            "{err}"
        );
        let err = check(json!([1])).unwrap_err();
        assert!(err.contains("must be a JSON object"), "{err}");
        let err = check(json!({"meeting_id": 1.5})).unwrap_err();
        assert!(err.contains("must be an integer"), "{err}");
    }

    #[test]
    fn null_counts_as_absent() {
        let err = check(json!({"meeting_id": null})).unwrap_err();
        assert!(err.contains("missing required"), "{err}");
    }
}
