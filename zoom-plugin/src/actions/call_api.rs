//! `call_api`: any operation of Zoom's API for what no action covers yet.
//! Confined to the resource's API URL (`{api_url}v2` + a checked path), to
//! the methods the resource allows (`call_api_methods`, GET only by
//! default), and to the operations of Zoom's specs (meetings, users,
//! reports, ..., Phone and Team Chat): an unknown operation,
//! or a query parameter it does not declare, is refused before anything is
//! sent.

use serde_json::{Map, Value, json};
use soar_plugin_sdk::{Action, ActionError, schema};

use crate::client::Client;
use crate::config::METHODS;
use crate::errors::invalid_input;
use crate::operations;
use crate::params::Params;

pub fn actions() -> Vec<Action<Client>> {
    vec![
        Action::containment("call_api", "Call Zoom API")
            .description(
                "Any operation of Zoom's API v2 by method and path, checked against Zoom's specs; \
                 methods other than GET only where the resource's call_api_methods allows them",
            )
            // Scopes and safety depend on the operation called.
            .params_with(params)
            .output(|| json!({"type": "object", "required": ["method", "path", "operation", "status", "body"]}))
            .idempotent(false)
            .run(call),
    ]
}

fn params() -> Value {
    let properties = json!({
        "method": {
            "type": "string",
            "enum": METHODS,
            "default": "GET",
            "description": "The HTTP method",
        },
        "path": {
            "type": "string",
            "pattern": "^/",
            "minLength": 2,
            "maxLength": 2048,
            "description": "The path after /v2, segments encoded, e.g. /users/me/meetings",
        },
        "query": {
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean"]},
            "description": "Query parameters (those the operation declares)",
        },
        "body": {
            "type": "object",
            "description": "The JSON body, for POST, PUT and PATCH",
        },
    });
    schema::params(properties, &["path"])
}

fn call(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let method = params
        .opt_string("method")?
        .unwrap_or_else(|| "GET".into())
        .to_ascii_uppercase();
    if !client.call_api_methods().contains(&method) {
        return Err(ActionError::denied(format!(
            "call_api may send {} here; {method} needs the resource's config field \
             call_api_methods to allow it",
            client.call_api_methods().join(", ")
        )));
    }
    let given = params.string("path")?;
    let path = confined(&given)?;
    let operation = operations::lookup(&method, &path).ok_or_else(|| {
        invalid_input(format!(
            "{method} {path} is not an operation of Zoom's API (its specs' endpoint summaries)"
        ))
    })?;
    let query = query(&params, &operation.query_params())?;
    let body = params.get("body");
    if body.is_some() && matches!(method.as_str(), "GET" | "DELETE") {
        return Err(invalid_input(format!(
            "param `body`: a {method} takes none"
        )));
    }
    let template = format!("{} {}", operation.method, operation.path);
    let (status, answer) = client.call_with_status(&method, &path[1..], &query, body)?;
    Ok(json!({
        "method": method,
        "path": path,
        "operation": template,
        "status": status,
        "body": answer,
    }))
}

/// The path as sent after `{api_url}v2`: `/` and segments of unreserved
/// characters, `@ : + = ,` and percent escapes; none empty, and none that
/// decodes (however often) to `.` or `..`, so it cannot leave `/v2`. A
/// leading `/v2` is dropped.
fn confined(path: &str) -> Result<String, ActionError> {
    let path = path
        .strip_prefix("/v2/")
        .map_or(path.to_owned(), |rest| format!("/{rest}"));
    let bad = |why: &str| invalid_input(format!("param `path` {why}: {path}"));
    for segment in path.split('/').skip(1) {
        if segment.is_empty() {
            return Err(bad("has an empty segment"));
        }
        let allowed = |b: u8| b.is_ascii_alphanumeric() || b"-._~@:+=,%".contains(&b);
        if !segment.bytes().all(allowed) || !escapes_are_hex(segment) {
            return Err(bad(
                "may hold only letters, digits, -._~@:+=, and %XX escapes",
            ));
        }
        let mut decoded = segment.to_owned();
        while decoded.contains('%') {
            let next = percent_decode(&decoded);
            if next == decoded {
                break;
            }
            decoded = next;
        }
        if decoded == "."
            || decoded == ".."
            || decoded.starts_with("../")
            || decoded.ends_with("/..")
        {
            return Err(bad("may not step out of the API"));
        }
    }
    Ok(path)
}

fn escapes_are_hex(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    bytes.iter().enumerate().all(|(i, b)| {
        *b != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `query` param as pairs, each a parameter the operation declares.
fn query(params: &Params, declared: &[&str]) -> Result<Vec<(String, String)>, ActionError> {
    let Some(Value::Object(given)) = params.get("query") else {
        return Ok(Vec::new());
    };
    let given: &Map<String, Value> = given;
    let mut pairs = Vec::new();
    for (name, value) in given {
        if !declared.contains(&name.as_str()) {
            let takes = match declared.is_empty() {
                true => "none".to_owned(),
                false => declared.join(", "),
            };
            return Err(invalid_input(format!(
                "param `query.{name}` is not a query parameter of this operation; it takes: {takes}"
            )));
        }
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        pairs.push((name.clone(), text));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_stays_inside_the_api() {
        assert_eq!(confined("/users/me").unwrap(), "/users/me");
        assert_eq!(confined("/v2/users/me").unwrap(), "/users/me");
        assert!(confined("/meetings/%252Fab%253D%253D/recordings").is_ok());
        assert!(confined("/users/jill@example.com/meetings").is_ok());
        for bad in [
            "/users/../oauth/token",
            "/users/%2e%2e/x",
            "/users/%252e%252e/x",
            "/users//x",
            "/users/me?x=1",
            "/users/me#x",
            "/users/%zz",
            "/users/a b",
        ] {
            assert!(confined(bad).is_err(), "{bad}");
        }
    }
}
