//! The manifest, checked natively: what `describe` tells the host.

use serde_json::Value;
use soar_plugin_sdk::{ActionKind, Plugin};

use crate::Zoom;

fn schema(action: &str) -> Value {
    let manifest = Zoom::manifest();
    let action = manifest.actions.iter().find(|a| a.name == action).unwrap();
    serde_json::from_str(&action.params_schema).unwrap()
}

#[test]
fn the_actions_are_declared_with_operation_and_scopes() {
    let manifest = Zoom::manifest();
    let names: Vec<&str> = manifest.actions.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "get_user",
            "list_users",
            "update_user",
            "get_user_settings",
            "update_user_settings",
            "revoke_user_sessions",
            "deactivate_user",
            "activate_user",
            "delete_user",
            "create_user",
            "list_meetings",
            "get_meeting",
            "create_meeting",
            "get_meeting_invitation",
            "update_meeting",
            "delete_meeting",
            "end_meeting",
            "recover_meeting",
            "list_past_meeting_participants",
            "list_meeting_registrants",
            "add_meeting_registrant",
            "update_meeting_registrant_status",
            "delete_meeting_registrant",
            "list_webinars",
            "get_webinar",
            "create_webinar",
            "update_webinar",
            "delete_webinar",
            "end_webinar",
            "list_webinar_registrants",
            "add_webinar_registrant",
            "update_webinar_registrant_status",
            "delete_webinar_registrant",
            "list_webinar_panelists",
            "add_webinar_panelists",
            "remove_webinar_panelist",
            "list_recordings",
            "get_meeting_recordings",
            "download_recording",
            "delete_meeting_recordings",
            "delete_recording_file",
            "recover_meeting_recordings",
            "recover_recording_file",
            "get_recording_settings",
            "update_recording_settings",
            "list_signin_activities",
            "list_operation_logs",
            "list_meeting_participants_report",
            "list_call_history",
            "list_user_call_history",
            "send_chat_message",
            "list_chat_messages",
            "list_chat_channels",
            "call_api",
        ]
    );
    for action in manifest.actions.iter().filter(|a| a.name != "call_api") {
        assert!(
            !action.operation.is_empty() && !action.scopes.is_empty(),
            "{}",
            action.name
        );
        let schema: Value = serde_json::from_str(&action.params_schema).unwrap();
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert_eq!(schema["additionalProperties"], false, "{}", action.name);
        // Reads, PATCHes and PUTs repeat harmlessly; a POST creates again, and
        // a DELETE repeated answers not-found (a retry would report a failure),
        // but for a sign-out, which Zoom answers alike every time.
        let deletes =
            action.operation.starts_with("DELETE") && !action.operation.ends_with("/token");
        assert_eq!(
            action.idempotent,
            !action.operation.starts_with("POST") && !deletes,
            "{}",
            action.name
        );
        if action.operation.starts_with("GET") {
            assert!(
                matches!(action.kind, ActionKind::Enrichment),
                "{}",
                action.name
            );
        }
    }
    assert!(manifest.events.iter().any(|e| e.name == "meeting.started"));
    let secret = manifest
        .config
        .iter()
        .find(|f| f.name == "webhook_secret_token")
        .unwrap();
    assert!(secret.secret && !secret.required);
    // Zoom's storage hosts are on the egress list unless the resource says otherwise.
    let storage = manifest
        .config
        .iter()
        .find(|f| f.name == "storage_url")
        .unwrap();
    assert!(storage.url && !storage.required);
    assert_eq!(storage.default.as_deref(), Some("\"https://*.zoom.us/\""));
}

#[test]
fn schemas_have_real_nesting_and_bounds() {
    let settings = schema("update_user_settings");
    let chat =
        &settings["properties"]["settings"]["properties"]["in_meeting"]["properties"]["chat"];
    assert_eq!(chat["type"], "boolean");
    let meeting = schema("update_meeting");
    assert_eq!(meeting["properties"]["meeting_id"]["type"], "integer");
    assert_eq!(
        meeting["properties"]["type"]["enum"],
        serde_json::json!([1, 2, 3, 8])
    );
    assert_eq!(meeting["properties"]["tracking_fields"]["type"], "array");
    let created = schema("create_meeting");
    assert_eq!(created["required"], serde_json::json!(["user_id"]));
    assert_eq!(
        created["properties"]["recurrence"]["required"],
        serde_json::json!(["type"])
    );
    let users = schema("list_users");
    assert_eq!(users["properties"]["page_size"]["maximum"], 2000);
    assert_eq!(
        users["properties"]["status"]["enum"],
        serde_json::json!(["active", "inactive", "pending"])
    );
    assert_eq!(
        schema("list_meetings")["properties"]["page_size"]["maximum"],
        300
    );
    let recordings = schema("list_recordings");
    assert_eq!(recordings["properties"]["from"]["format"], "date");
    assert_eq!(recordings["required"], serde_json::json!(["user_id"]));
    let delete = schema("delete_recording_file");
    assert_eq!(
        delete["properties"]["action"]["enum"],
        serde_json::json!(["trash", "delete"])
    );
    let sharing = schema("update_recording_settings");
    assert_eq!(sharing["properties"]["password"]["minLength"], 8);
    assert_eq!(sharing["additionalProperties"], false);
    // Zoom Phone and Team Chat: their own page sizes, enums and formats.
    let calls = schema("list_user_call_history");
    assert_eq!(calls["required"], serde_json::json!(["user_id"]));
    assert_eq!(calls["properties"]["page_size"]["maximum"], 300);
    assert_eq!(calls["properties"]["from"]["format"], "date");
    assert!(
        calls["properties"]["call_results"]["items"]["enum"]
            .as_array()
            .unwrap()
            .contains(&"blocked".into())
    );
    let messages = schema("list_chat_messages");
    assert_eq!(messages["properties"]["page_size"]["maximum"], 50);
    assert_eq!(messages["properties"]["from"]["format"], "date-time");
    assert_eq!(
        schema("list_chat_channels")["properties"]["page_size"]["maximum"],
        1000
    );
    let send = schema("send_chat_message");
    assert_eq!(send["required"], serde_json::json!(["user_id", "message"]));
    assert_eq!(send["properties"]["message"]["maxLength"], 1024);
    let logs = schema("list_operation_logs");
    assert_eq!(logs["required"], serde_json::json!(["from", "to"]));
    assert_eq!(logs["properties"]["to"]["format"], "date");
    let user = schema("update_user");
    assert_eq!(
        user["properties"]["phone_numbers"]["items"]["properties"]["number"]["type"],
        "string"
    );
}
