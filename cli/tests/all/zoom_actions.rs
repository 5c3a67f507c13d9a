//! Every action end to end: the real CLI, the real component in wasmtime,
//! HTTP to the Zoom sandbox on loopback. Each test checks what the user saw
//! and what reached Zoom.

use crate::common::{Env, query};
use serde_json::json;

#[test]
fn test_call_verifies_token_identity_and_scopes() {
    let env = Env::new();
    let run = env.cli(&["test", env.resource.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    let owner = env.sandbox.owner();
    let email = owner["email"].as_str().unwrap();
    assert!(
        run.stdout
            .starts_with("ok: Zoom Sandbox (zoom): authenticated to Zoom as"),
        "{run:?}"
    );
    assert!(run.stdout.contains(email), "{run:?}");
    assert!(run.stdout.contains("scopes: "), "{run:?}");
    assert!(run.stdout.contains("meeting:read:admin"), "{run:?}");

    let tokens = env.token_requests();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].method, "POST");
    assert_eq!(
        query(&tokens[0]),
        vec![
            ("grant_type", "account_credentials"),
            ("account_id", env.sandbox.config().account_id.as_str())
        ]
    );
    assert!(
        tokens[0]
            .header("authorization")
            .unwrap()
            .starts_with("Basic ")
    );
    let api = env.only_api_request_to("GET", "/v2/users/me");
    assert!(api.header("authorization").unwrap().starts_with("Bearer "));
    assert!(!run.stdout.contains(&env.secret()) && !run.stderr.contains(&env.secret()));
}

#[test]
fn test_call_json_output() {
    let env = Env::new();
    let run = env.cli(&["test", env.resource.to_str().unwrap(), "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.json();
    assert_eq!(out["ok"], true);
    assert_eq!(out["label"], "Zoom Sandbox");
    assert!(
        out["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "user:read:admin")
    );
    // The token, the API call, and the token kept for the actions that follow.
    assert_eq!(out["checks"].as_array().unwrap().len(), 3);
    // One line per action of the manifest, and all ready with the sandbox's default scopes.
    let manifest = env.cli(&["actions", "zoom", "--json"]).json();
    assert_eq!(
        out["readiness"].as_array().unwrap().len(),
        manifest["actions"].as_array().unwrap().len()
    );
    assert!(
        out["readiness"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["ready"] == true)
    );
}

#[test]
fn get_user_by_email_and_me() {
    let env = Env::new();
    let owner = env.sandbox.owner();
    let email = owner["email"].as_str().unwrap();
    let run = env.invoke("get_user", json!({"user_id": email}));
    assert_eq!(run.code, 0, "{run:?}");
    let user = run.json();
    assert_eq!(user["email"], email);
    assert_eq!(user["id"], owner["id"]);
    let r = env.only_api_request_to("GET", &format!("/v2/users/{email}"));
    assert!(r.query.is_empty());

    env.sandbox.clear_requests();
    let run = env.cli(&[
        "invoke",
        env.resource.to_str().unwrap(),
        "get_user",
        "-p",
        "user_id=me",
        "-p",
        "login_type=100",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["id"], owner["id"]);
    let r = env.only_api_request();
    assert_eq!(r.path, "/v2/users/me");
    assert_eq!(query(&r), vec![("login_type", "100")]);
}

#[test]
fn list_users_one_page_keeps_zooms_shape() {
    let env = Env::new();
    let run = env.invoke("list_users", json!({"status": "active", "page_size": 10}));
    assert_eq!(run.code, 0, "{run:?}");
    let page = run.json();
    assert_eq!(page["users"].as_array().unwrap().len(), 10);
    assert!(page["total_records"].as_u64().unwrap() > 10);
    assert!(!page["next_page_token"].as_str().unwrap().is_empty());
    let r = env.only_api_request();
    assert_eq!(r.path, "/v2/users");
    assert_eq!(query(&r), vec![("status", "active"), ("page_size", "10")]);
}

#[test]
fn list_users_with_limit_follows_next_page_token() {
    let env = Env::new();
    let run = env.invoke("list_users", json!({"page_size": 10, "limit": 25}));
    assert_eq!(run.code, 0, "{run:?}");
    let users = run.json()["users"].as_array().unwrap().clone();
    assert_eq!(users.len(), 25);
    let ids: std::collections::HashSet<_> = users
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 25, "pages must not overlap");
    let requests = env.api_requests();
    assert_eq!(requests.len(), 3, "{requests:#?}");
    assert_eq!(requests[0].query_value("next_page_token"), None);
    assert!(requests[1].query_value("next_page_token").is_some());
    assert!(requests[2].query_value("next_page_token").is_some());
    assert_ne!(
        requests[1].query_value("next_page_token"),
        requests[2].query_value("next_page_token")
    );
    // One token for the whole listing.
    assert_eq!(env.token_requests().len(), 1);
}

#[test]
fn list_users_limit_beyond_the_end_returns_everything() {
    let env = Env::new();
    let total = env.invoke("list_users", json!({"page_size": 1})).json()["total_records"]
        .as_u64()
        .unwrap();
    env.sandbox.clear_requests();
    let run = env.invoke("list_users", json!({"page_size": 20, "limit": 1000}));
    assert_eq!(run.code, 0, "{run:?}");
    let page = run.json();
    assert_eq!(page["users"].as_array().unwrap().len() as u64, total);
    assert_eq!(page["next_page_token"], "");
    assert_eq!(env.api_requests().len() as u64, total.div_ceil(20));
}

#[test]
fn update_user_sends_only_the_fields_given() {
    let env = Env::new();
    let owner = env.sandbox.owner();
    let id = owner["id"].as_str().unwrap();
    let run = env.invoke(
        "update_user",
        json!({"user_id": id, "first_name": "Ada", "type": "2", "dept": "SecOps"}),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.json();
    assert_eq!(out["updated"], true);
    assert_eq!(out["user_id"], id);
    let r = env.only_api_request_to("PATCH", &format!("/v2/users/{id}"));
    assert_eq!(
        r.json,
        Some(json!({"first_name": "Ada", "type": 2, "dept": "SecOps"}))
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    let user = env.sandbox.user(id).unwrap();
    assert_eq!(user["first_name"], "Ada");
    assert_eq!(user["dept"], "SecOps");
}

#[test]
fn get_user_settings_passes_option() {
    let env = Env::new();
    let run = env.invoke(
        "get_user_settings",
        json!({"user_id": "me", "option": "meeting_security"}),
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.json().is_object());
    let r = env.only_api_request();
    assert_eq!(r.path, "/v2/users/me/settings");
    assert_eq!(query(&r), vec![("option", "meeting_security")]);
}

#[test]
fn update_user_settings_patches_the_body() {
    let env = Env::new();
    let settings = json!({"in_meeting": {"chat": false}});
    let run = env.invoke(
        "update_user_settings",
        json!({"user_id": "me", "settings": settings}),
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["updated"], true);
    let r = env.only_api_request_to("PATCH", "/v2/users/me/settings");
    assert_eq!(r.json, Some(settings));
    let stored = env.sandbox.user_settings("me").unwrap();
    assert_eq!(stored["in_meeting"]["chat"], false);
}

#[test]
fn list_meetings_with_type_and_limit() {
    let env = Env::new();
    let run = env.invoke(
        "list_meetings",
        json!({"user_id": "me", "type": "scheduled", "page_size": 10, "limit": 15}),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.json();
    assert_eq!(out["meetings"].as_array().unwrap().len(), 15);
    let requests = env.api_requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].path, "/v2/users/me/meetings");
    assert_eq!(
        query(&requests[0]),
        vec![("type", "scheduled"), ("page_size", "10")]
    );
}

#[test]
fn get_meeting_invitation_accepts_a_numeric_string() {
    let env = Env::new();
    let id = env.sandbox.meeting_ids("me")[0];
    let run = env.invoke(
        "get_meeting_invitation",
        json!({"meeting_id": id.to_string()}),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.json();
    assert!(!out["invitation"].as_str().unwrap().is_empty());
    assert_eq!(out["meeting_id"], id);
    let r = env.only_api_request();
    assert_eq!(r.path, format!("/v2/meetings/{id}/invitation"));
}

#[test]
fn update_meeting_sends_fields_and_occurrence() {
    let env = Env::new();
    let id = env.sandbox.meeting_ids("me")[0];
    let run = env.invoke(
        "update_meeting",
        json!({"meeting_id": id, "topic": "Incident bridge", "settings": {"waiting_room": true}}),
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["meeting_id"], id);
    let r = env.only_api_request_to("PATCH", &format!("/v2/meetings/{id}"));
    assert_eq!(
        r.json,
        Some(json!({"topic": "Incident bridge", "settings": {"waiting_room": true}}))
    );
    assert_eq!(env.sandbox.meeting(id).unwrap()["topic"], "Incident bridge");

    env.sandbox.clear_requests();
    let (id, occurrence) = crate::common::recurring_meeting(&env.sandbox);
    let run = env.invoke(
        "update_meeting",
        json!({"meeting_id": id, "occurrence_id": occurrence, "duration": 45}),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let r = env.only_api_request();
    assert_eq!(query(&r), vec![("occurrence_id", occurrence.as_str())]);
    assert_eq!(r.json, Some(json!({"duration": 45})));
}

#[test]
fn delete_meeting_then_it_is_gone() {
    let env = Env::new();
    let id = env.sandbox.meeting_ids("me")[0];
    let run = env.invoke(
        "delete_meeting",
        json!({"meeting_id": id, "schedule_for_reminder": true}),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.json();
    assert_eq!(out["deleted"], true);
    assert_eq!(out["meeting_id"], id);
    let r = env.only_api_request_to("DELETE", &format!("/v2/meetings/{id}"));
    assert_eq!(query(&r), vec![("schedule_for_reminder", "true")]);
    assert!(env.sandbox.meeting(id).is_none());

    // Deleting again: Zoom's 3001, kept in the one-line error; exit 1.
    let run = env.invoke("delete_meeting", json!({"meeting_id": id}));
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr.trim(),
        format!("error: not found (Zoom 3001): Meeting does not exist: {id}.")
    );
}

#[test]
fn envelope_reports_success_and_failure_as_json() {
    let env = Env::new();
    let resource = env.resource.to_str().unwrap();
    let run = env.cli(&[
        "invoke",
        resource,
        "get_user",
        "-p",
        "user_id=me",
        "--envelope",
        "--compact",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.json();
    assert_eq!(out["status"], "success");
    assert_eq!(out["http_requests"], 2);
    assert!(out["data"]["email"].is_string());

    let run = env.cli(&[
        "invoke",
        resource,
        "get_user",
        "-p",
        "user_id=nobody@example.com",
        "--envelope",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    let out = run.json();
    assert_eq!(out["status"], "failed");
    assert_eq!(out["error"]["kind"], "not-found");
    assert_eq!(out["error"]["upstream_code"], 1001);
    assert_eq!(out["error"]["http_status"], 404);
    assert_eq!(out["error"]["retryable"], false);
}

#[test]
fn a_limited_listing_resumes_exactly_where_it_stopped_or_says_it_cannot() {
    let env = Env::new();
    let all = env.invoke("list_users", json!({"page_size": 300})).json();
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let everyone = ids(&all);
    assert!(everyone.len() > 20, "the sandbox seeds enough users");
    // Without page_size, pages end where `limit` does: the cursor resumes
    // exactly after the last user returned.
    let first = env.invoke("list_users", json!({"limit": 10})).json();
    let token = first["next_page_token"]
        .as_str()
        .expect("a cursor")
        .to_owned();
    let second = env
        .invoke("list_users", json!({"limit": 10, "next_page_token": token}))
        .json();
    let mut both = ids(&first);
    both.extend(ids(&second));
    assert_eq!(both, everyone[..20]);
    // A page cut short cannot be resumed: no cursor, and it says so.
    let cut = env
        .invoke("list_users", json!({"page_size": 10, "limit": 25}))
        .json();
    assert_eq!(ids(&cut), everyone[..25]);
    assert!(cut.get("next_page_token").is_none(), "{cut}");
    assert_eq!(cut["truncated"], true, "{cut}");
    assert!(cut["note"].as_str().unwrap().contains("page_size"), "{cut}");
}

#[test]
fn the_test_call_says_which_actions_will_work_and_why_not() {
    let env = Env::with_config(zoom_sandbox::SandboxConfig {
        // Read-only credentials: users and meetings may be read, nothing changed.
        scopes: vec!["user:read:admin".into(), "meeting:read:admin".into()],
        ..Default::default()
    });
    let resource = env.resource.to_str().unwrap();
    let run = env.cli(&["test", resource, "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let readiness = run.json()["readiness"].as_array().unwrap().clone();
    let not_ready: Vec<&str> = readiness
        .iter()
        .filter(|r| r["ready"] == false)
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        not_ready,
        [
            "update_user",
            "update_user_settings",
            "revoke_user_sessions",
            "deactivate_user",
            "activate_user",
            "delete_user",
            "create_user",
            "create_meeting",
            "update_meeting",
            "delete_meeting",
            "end_meeting",
            "recover_meeting",
            "add_meeting_registrant",
            "update_meeting_registrant_status",
            "delete_meeting_registrant",
            // Webinars: no webinar scope at all.
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
            "list_chat_channels"
        ]
    );
    let why = readiness
        .iter()
        .find(|r| r["action"] == "delete_meeting")
        .unwrap();
    assert!(
        why["reason"]
            .as_str()
            .unwrap()
            .contains("meeting:write:admin"),
        "{why}"
    );
    let run = env.cli(&["test", resource]);
    assert!(run.stdout.contains("actions: 9 of 54 ready"), "{run:?}");
    assert!(
        run.stdout.contains("✗ update_user: missing scope"),
        "{run:?}"
    );
}
