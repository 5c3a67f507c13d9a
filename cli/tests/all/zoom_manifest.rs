//! Every Zoom action's declared operation and scopes, checked against the
//! endpoint summaries of Zoom's own specs (fixtures/zoom-api:
//! endpoints-summary.json, and endpoints-summary-phone-chat.json for Zoom
//! Phone and Team Chat; every action is in one of them): a plugin that
//! drifts from the real API (a renamed path, a scope Zoom does not grant for
//! it, one it forgot) fails here, whatever the sandbox written by the same
//! hands would accept.

use std::collections::BTreeSet;

use serde_json::Value;

fn scopes(text: Option<&Value>) -> BTreeSet<String> {
    text.and_then(Value::as_str)
        .unwrap_or("")
        .split(',')
        .map(|s| s.trim().trim_matches('`').to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

fn summary(name: &str) -> Vec<Value> {
    let path = format!("{}/../fixtures/zoom-api/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn every_action_names_a_real_operation_and_exactly_its_scopes() {
    let main = summary("endpoints-summary.json");
    let phone_chat = summary("endpoints-summary-phone-chat.json");
    let mut from_phone_chat = Vec::new();
    let run = crate::common::run_cli(&["actions", "zoom", "--json"], &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let manifest = run.json();
    for action in manifest["actions"].as_array().unwrap() {
        let name = action["name"].as_str().unwrap();
        if name == "call_api" {
            // Any operation: checked against the same summary when it runs.
            assert!(
                action["operation"].as_str().unwrap_or("").is_empty(),
                "{action}"
            );
            assert_eq!(action["scopes"], serde_json::json!([]), "{action}");
            assert_eq!(
                (&action["kind"], &action["idempotent"]),
                (&"containment".into(), &false.into())
            );
            continue;
        }
        let operation = action["operation"].as_str().unwrap();
        let (method, path) = operation
            .split_once(' ')
            .unwrap_or_else(|| panic!("{name}: operation `{operation}` is not `METHOD /path`"));
        let find = |rows: &[Value]| {
            rows.iter()
                .find(|r| r["method"] == method && r["path"] == path)
                .cloned()
        };
        let row = match (find(&main), find(&phone_chat)) {
            (Some(row), None) => row,
            (None, Some(row)) => {
                from_phone_chat.push(name.to_owned());
                row
            }
            (Some(_), Some(_)) => panic!("{name}: {operation} is in both summaries"),
            (None, None) => panic!("{name}: {operation} is not an operation of Zoom's specs"),
        };
        let expected: BTreeSet<String> = scopes(row.get("scopes"))
            .union(&scopes(row.get("granular_scopes")))
            .cloned()
            .collect();
        let declared: BTreeSet<String> = action["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            declared, expected,
            "{name}: scopes differ from Zoom's for {operation}"
        );
        // What the spec says about safety to repeat.
        if method == "POST" {
            assert_eq!(action["idempotent"], false, "{name}");
        }
        if method == "GET" {
            assert_eq!(action["kind"], "enrichment", "{name}");
        }
    }
    from_phone_chat.sort();
    assert_eq!(
        from_phone_chat,
        [
            "list_call_history",
            "list_chat_channels",
            "list_chat_messages",
            "list_user_call_history",
            "send_chat_message",
        ],
        "the Phone and Team Chat actions are checked against endpoints-summary-phone-chat.json"
    );
}
