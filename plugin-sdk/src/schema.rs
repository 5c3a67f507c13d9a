//! Building params schemas (JSON Schema, draft 2020-12). The host validates
//! params against them before a plugin runs, and playbook engines read the
//! same schemas, so a schema is strict at the top: an unknown param is a
//! typo, not something to pass on.

use serde_json::{Map, Value, json};

/// The dialect every params schema declares.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// The schema of a params object: `properties` (a JSON object of property
/// schemas), `required` names, and no other params.
pub fn params(properties: Value, required: &[&str]) -> Value {
    json!({
        "$schema": DIALECT,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// The schema of an action without params.
pub fn no_params() -> Value {
    params(json!({}), &[])
}

/// Merges several property maps (`json!({...})` objects) into one, later
/// ones winning: for params shared by several actions (paging, ids).
pub fn merge(parts: impl IntoIterator<Item = Value>) -> Value {
    let mut all = Map::new();
    for part in parts {
        if let Value::Object(map) = part {
            all.extend(map);
        }
    }
    Value::Object(all)
}

/// The property names of a params schema, e.g. to refuse fields a pass-through
/// body does not know even if the host's validation were skipped.
pub fn property_names(schema: &Value) -> Vec<String> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_schema_is_strict_and_declares_its_dialect() {
        let schema = params(json!({"id": {"type": "integer"}}), &["id"]);
        assert_eq!(schema["$schema"], DIALECT);
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["required"], json!(["id"]));
    }

    #[test]
    fn merge_joins_property_maps() {
        let merged = merge([json!({"a": 1}), json!({"b": 2}), json!({"a": 3})]);
        assert_eq!(merged, json!({"a": 3, "b": 2}));
        assert_eq!(property_names(&params(merged, &[])), vec!["a", "b"]);
    }
}
