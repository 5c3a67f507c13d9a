//! Every action of the Zoom plugin, from the manifest: wrong params are
//! refused with their path before anything is sent; Zoom's refusal keeps
//! Zoom's code and message; no secret or token is printed on either path. A
//! new action without a line in `valid_params` fails here, so "every" stays
//! true as the plugin grows.

use crate::common::Env;
use serde_json::{Value, json};
use zoom_sandbox::{Fault, Match};

/// Params each action accepts (its schema and the plugin's own checks): the
/// values need not exist in the sandbox, which refuses the call anyway.
fn valid_params(action: &str) -> Option<Value> {
    let meeting = 85746065432_u64;
    let webinar = 91234567890_u64;
    let uuid = "aDYlohsHRtCd4ii1uC2+hA==";
    Some(match action {
        "get_user"
        | "get_user_settings"
        | "revoke_user_sessions"
        | "deactivate_user"
        | "activate_user"
        | "delete_user"
        | "list_meetings"
        | "create_meeting"
        | "list_webinars"
        | "create_webinar"
        | "list_recordings"
        | "list_user_call_history"
        | "list_chat_channels" => json!({"user_id": "me"}),
        "list_users" | "list_signin_activities" | "list_call_history" => json!({}),
        "update_user" => json!({"user_id": "me", "first_name": "Ada"}),
        "update_user_settings" => {
            json!({"user_id": "me", "settings": {"in_meeting": {"chat": false}}})
        }
        "create_user" => json!({
            "action": "create",
            "user_info": {"email": "new.user@example.com", "type": 1}
        }),
        "get_meeting"
        | "get_meeting_invitation"
        | "delete_meeting"
        | "end_meeting"
        | "recover_meeting"
        | "list_meeting_registrants" => json!({"meeting_id": meeting}),
        "update_meeting" => json!({"meeting_id": meeting, "topic": "Incident bridge"}),
        "list_past_meeting_participants"
        | "get_meeting_recordings"
        | "download_recording"
        | "delete_meeting_recordings"
        | "recover_meeting_recordings"
        | "get_recording_settings"
        | "list_meeting_participants_report" => json!({"meeting_id": uuid}),
        "update_recording_settings" => json!({"meeting_id": uuid, "share_recording": "none"}),
        "delete_recording_file" | "recover_recording_file" => {
            json!({"meeting_id": uuid, "recording_id": "a2f19f96-9294-4f51-8134-6f0eea108eb2"})
        }
        "add_meeting_registrant" => {
            json!({"meeting_id": meeting, "email": "guest@example.com", "first_name": "Guest"})
        }
        "update_meeting_registrant_status" => json!({
            "meeting_id": meeting, "action": "deny", "registrants": [{"email": "guest@example.com"}]
        }),
        "delete_meeting_registrant" => {
            json!({"meeting_id": meeting, "registrant_id": "9tboDiHUQAeOnbmudzWa5g"})
        }
        "get_webinar" => json!({"webinar_id": webinar.to_string()}),
        "delete_webinar"
        | "end_webinar"
        | "list_webinar_registrants"
        | "list_webinar_panelists" => json!({"webinar_id": webinar}),
        "update_webinar" => json!({"webinar_id": webinar, "topic": "Town hall"}),
        "add_webinar_registrant" => {
            json!({"webinar_id": webinar, "email": "guest@example.com", "first_name": "Guest"})
        }
        "update_webinar_registrant_status" => json!({
            "webinar_id": webinar, "action": "approve", "registrants": [{"email": "guest@example.com"}]
        }),
        "delete_webinar_registrant" => {
            json!({"webinar_id": webinar, "registrant_id": "9tboDiHUQAeOnbmudzWa5g"})
        }
        "add_webinar_panelists" => json!({
            "webinar_id": webinar, "panelists": [{"email": "panel@example.com", "name": "Panel"}]
        }),
        "remove_webinar_panelist" => json!({"webinar_id": webinar, "panelist_id": "xYz123"}),
        "list_operation_logs" => json!({"from": "2026-11-01", "to": "2026-11-20"}),
        "send_chat_message" => {
            json!({"user_id": "me", "message": "Rotate your keys", "to_channel": "c0ffee"})
        }
        "list_chat_messages" => json!({"user_id": "me", "to_channel": "c0ffee"}),
        "call_api" => json!({"path": "/users/me"}),
        _ => return None,
    })
}

/// A value of the wrong type for a property of this schema, which no
/// conversion makes right: a string for a number or a boolean, an object for
/// a string or an array, a number for an object.
fn wrong_value(property: &Value) -> Option<Value> {
    let kind = property.get("type")?.as_str()?;
    Some(match kind {
        "integer" | "number" => json!("not a number"),
        "boolean" => json!("sometimes"),
        "string" | "array" => json!({"not": "this"}),
        "object" => json!(5),
        _ => return None,
    })
}

fn actions(env: &Env) -> Vec<Value> {
    let run = env.cli(&["actions", "zoom", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    run.json()["actions"].as_array().unwrap().clone()
}

fn schema(action: &Value) -> Value {
    match &action["params_schema"] {
        Value::String(text) => serde_json::from_str(text).unwrap(),
        other => other.clone(),
    }
}

/// Neither the client secret nor the bearer token the sandbox saw is in
/// `text`.
fn assert_no_secret(env: &Env, name: &str, text: &str) {
    assert!(
        !text.contains(&env.secret()),
        "{name} printed the secret: {text}"
    );
    for request in env.sandbox.requests() {
        for (header, value) in &request.headers {
            if header == "authorization" {
                let credential = value.split_once(' ').map_or(value.as_str(), |(_, c)| c);
                assert!(
                    !text.contains(credential),
                    "{name} printed a credential: {text}"
                );
            }
        }
    }
}

#[test]
fn every_action_refuses_wrong_params_with_their_path_before_sending() {
    let env = Env::new();
    let mut checked = 0;
    for action in actions(&env) {
        let name = action["name"].as_str().unwrap();
        let valid = valid_params(name).unwrap_or_else(|| panic!("no valid params for `{name}`"));
        let schema = schema(&action);
        // The first property given whose type can be made wrong; an action
        // that takes none gets an unknown one.
        let properties = schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let (param, wrong) = valid
            .as_object()
            .unwrap()
            .keys()
            .find_map(|k| Some((k.clone(), wrong_value(properties.get(k)?)?)))
            .unwrap_or_else(|| ("no_such_param".to_owned(), json!(1)));
        let mut params = valid.clone();
        params[&param] = wrong;
        env.sandbox.clear_requests();
        let run = env.invoke(name, params);
        assert_eq!(run.code, 2, "{name}: {run:?}");
        assert_eq!(run.stdout, "", "{name}: {run:?}");
        assert!(
            run.stderr.contains(&format!("`{param}`")),
            "{name}: the error names `{param}`: {run:?}"
        );
        assert!(
            env.sandbox.requests().is_empty(),
            "{name}: nothing may reach Zoom: {:#?}",
            env.sandbox.requests()
        );
        assert_no_secret(&env, name, &run.stderr);
        checked += 1;
    }
    assert!(checked >= 54, "{checked}");
}

#[test]
fn every_action_keeps_zooms_code_and_message() {
    let env = Env::new();
    let message = "Sandbox: this call is refused for the test.";
    for action in actions(&env) {
        let name = action["name"].as_str().unwrap();
        let params = valid_params(name).unwrap_or_else(|| panic!("no valid params for `{name}`"));
        env.sandbox.clear_requests();
        env.sandbox.clear_faults();
        env.sandbox.inject(
            Fault::ZoomError {
                status: 400,
                code: 300,
                message: message.into(),
            },
            Match::path("/v2/"),
            usize::MAX,
        );
        let run = env.invoke(name, params);
        assert_eq!(run.code, 1, "{name}: {run:?}");
        assert_eq!(run.stdout, "", "{name}: {run:?}");
        let line = run.stderr.trim();
        assert!(
            line.contains("(Zoom 300)") && line.ends_with(message),
            "{name}: Zoom's code and message: {run:?}"
        );
        assert_eq!(
            env.api_requests().len(),
            1,
            "{name}: one call, refused, not retried: {:#?}",
            env.api_requests()
        );
        assert_no_secret(&env, name, &run.stderr);
    }
    env.sandbox.clear_faults();
}
