//! Checking an action's params against the manifest, before the plugin runs:
//! bad input never reaches the upstream.

use serde_json::{Map, Value};

use crate::manifest::Action;

/// The params to hand to the plugin: known names only, required ones present,
/// each of its declared type (scalars converted) and among the allowed values.
/// A JSON `null` counts as absent.
pub fn validate(action: &Action, params: &Value) -> Result<Map<String, Value>, String> {
    let Value::Object(given) = params else {
        return Err(format!(
            "params must be a JSON object, got {}",
            json_kind(params)
        ));
    };
    let mut checked = Map::new();
    for (name, value) in given {
        let Some(param) = action.params.iter().find(|p| &p.name == name) else {
            let known: Vec<&str> = action.params.iter().map(|p| p.name.as_str()).collect();
            return Err(format!(
                "unknown param `{name}`; {} takes: {}",
                action.name,
                known.join(", ")
            ));
        };
        if value.is_null() {
            continue;
        }
        let Some(value) = param.value_type.coerce(value) else {
            return Err(format!(
                "param `{name}` must be {} {}, got {}",
                article(param.value_type.name()),
                param.value_type.name(),
                describe(value)
            ));
        };
        if !param.allowed.is_empty() && !param.allowed.contains(&value) {
            let allowed: Vec<String> = param.allowed.iter().map(Value::to_string).collect();
            return Err(format!(
                "param `{name}` must be one of {}, got {value}",
                allowed.join(", ")
            ));
        }
        checked.insert(name.clone(), value);
    }
    let missing: Vec<&str> = action
        .params
        .iter()
        .filter(|p| p.required && !checked.contains_key(&p.name))
        .map(|p| p.name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(format!("missing required param `{}`", missing.join("`, `")));
    }
    Ok(checked)
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

fn describe(v: &Value) -> String {
    let text = v.to_string();
    if text.len() > 60 {
        json_kind(v).to_owned()
    } else {
        format!("{} {text}", json_kind(v))
    }
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{ActionKind, Param, ValueType};
    use serde_json::json;

    fn action() -> Action {
        let p = |name: &str, t, required| Param {
            name: name.into(),
            description: String::new(),
            value_type: t,
            required,
            default: None,
            allowed: vec![],
        };
        let mut kind = p("type", ValueType::String, false);
        kind.allowed = vec![json!("scheduled"), json!("live")];
        Action {
            name: "list_meetings".into(),
            title: String::new(),
            kind: ActionKind::Enrichment,
            description: String::new(),
            params: vec![
                p("meeting_id", ValueType::Integer, true),
                p("flag", ValueType::Boolean, false),
                kind,
            ],
            scopes: vec![],
            idempotent: true,
        }
    }

    #[test]
    fn accepts_and_converts_numeric_strings() {
        let out = validate(
            &action(),
            &json!({"meeting_id": "85746065432", "flag": "true"}),
        )
        .expect("valid");
        assert_eq!(out["meeting_id"], json!(85746065432u64));
        assert_eq!(out["flag"], json!(true));
    }

    #[test]
    fn rejects_wrong_type_unknown_missing_and_disallowed() {
        let a = action();
        let err = validate(&a, &json!({"meeting_id": "abc"})).unwrap_err();
        assert!(err.contains("`meeting_id` must be an integer"), "{err}");
        let err = validate(&a, &json!({"meeting_id": 1, "bogus": 1})).unwrap_err();
        assert!(err.contains("unknown param `bogus`"), "{err}");
        let err = validate(&a, &json!({})).unwrap_err();
        assert!(err.contains("missing required param `meeting_id`"), "{err}");
        let err = validate(&a, &json!({"meeting_id": 1, "type": "past"})).unwrap_err();
        assert!(
            err.contains("must be one of \"scheduled\", \"live\""),
            "{err}"
        );
        let err = validate(&a, &json!([1])).unwrap_err();
        assert!(err.contains("must be a JSON object"), "{err}");
        let err = validate(&a, &json!({"meeting_id": 1.5})).unwrap_err();
        assert!(err.contains("must be an integer"), "{err}");
    }

    #[test]
    fn null_counts_as_absent() {
        let err = validate(&action(), &json!({"meeting_id": null})).unwrap_err();
        assert!(err.contains("missing required"), "{err}");
    }
}
