//! The users' containment and provisioning actions end to end: the real CLI,
//! the real component, the Zoom sandbox on loopback. Each test checks what
//! reached Zoom, what the user saw, and what Zoom holds afterwards.

use crate::common::{Env, assert_follows_zooms_specs, assert_rejected, assert_zoom_error, query};
use serde_json::{Value, json};

/// The id and email of a seeded member (Zoom protects admins from some changes).
fn member(env: &Env) -> (String, String) {
    let page = env.invoke("list_users", json!({"role_id": "2", "page_size": 1}));
    let user = &page.json()["users"][0];
    env.sandbox.clear_requests();
    let text = |k: &str| user[k].as_str().unwrap().to_owned();
    (text("id"), text("email"))
}

fn status_of(env: &Env, user_id: &str) -> Value {
    env.sandbox.user(user_id).unwrap()["status"].clone()
}

#[test]
fn revoke_user_sessions_signs_the_user_out() {
    let env = Env::new();
    let (_, email) = member(&env);
    let run = env.invoke("revoke_user_sessions", json!({"user_id": email}));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json(),
        json!({
            "user_id": email,
            "sessions_revoked": true,
            "message": format!("User {email} is signed out of every Zoom client"),
        })
    );
    let r = env.only_api_request_to("DELETE", &format!("/v2/users/{email}/token"));
    assert!(r.query.is_empty() && r.body.is_empty(), "{r:?}");
    assert_eq!(env.sandbox.sign_outs(&email), 1);

    let run = env.invoke(
        "revoke_user_sessions",
        json!({"user_id": "gone@example.com"}),
    );
    assert_zoom_error(
        &run,
        "error: not found (Zoom 1001): User does not exist: gone@example.com.",
    );
    assert_follows_zooms_specs(&env);
}

#[test]
fn deactivate_then_activate_a_user() {
    let env = Env::new();
    let (id, _) = member(&env);
    let run = env.invoke("deactivate_user", json!({"user_id": id}));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json(),
        json!({
            "user_id": id,
            "action": "deactivate",
            "status": "inactive",
            "message": format!("User {id} deactivated"),
        })
    );
    let r = env.only_api_request_to("PUT", &format!("/v2/users/{id}/status"));
    assert_eq!(r.json, Some(json!({"action": "deactivate"})));
    // What the output says is what get_user then shows.
    let shown = env.invoke("get_user", json!({"user_id": id})).json();
    assert_eq!(shown["status"], "inactive");

    env.sandbox.clear_requests();
    let run = env.invoke("activate_user", json!({"user_id": id}));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["status"], "active");
    assert_eq!(
        env.only_api_request().json,
        Some(json!({"action": "activate"}))
    );
    assert_eq!(status_of(&env, &id), "active");

    // Zoom does not let an admin be deactivated: its code and message are kept.
    let run = env.invoke("deactivate_user", json!({"user_id": "me"}));
    assert_zoom_error(
        &run,
        "error: invalid input (Zoom 200): Zoom Room and Admin users' status cannot be activated or deactivated.",
    );
    assert_follows_zooms_specs(&env);
}

#[test]
fn delete_user_with_transfers_then_get_is_zooms_404() {
    let env = Env::new();
    let (id, email) = member(&env);
    let run = env.invoke(
        "delete_user",
        json!({
            "user_id": email,
            "action": "delete",
            "transfer_email": "owner@example.com",
            "transfer_meeting": true,
            "transfer_recording": "true",
        }),
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json(),
        json!({
            "user_id": email,
            "action": "delete",
            "deleted": true,
            "message": format!("User {email} deleted"),
            "transfer_email": "owner@example.com",
        })
    );
    let r = env.only_api_request_to("DELETE", &format!("/v2/users/{email}"));
    assert_eq!(
        query(&r),
        vec![
            ("action", "delete"),
            ("transfer_email", "owner@example.com"),
            ("transfer_meeting", "true"),
            ("transfer_recording", "true"),
        ]
    );
    assert!(env.sandbox.user(&id).is_none());
    let run = env.invoke("get_user", json!({"user_id": id}));
    assert_zoom_error(
        &run,
        &format!("error: not found (Zoom 1001): User does not exist: {id}."),
    );

    // Disassociating is the default; Zoom refuses it for an admin.
    env.sandbox.clear_requests();
    let run = env.invoke("delete_user", json!({"user_id": "me"}));
    assert_zoom_error(
        &run,
        "error: invalid input (Zoom 1117): You can not disassociate an Admin user.",
    );
    assert_eq!(query(&env.only_api_request()), vec![]);
    assert_follows_zooms_specs(&env);
}

#[test]
fn create_user_then_get_returns_what_was_created() {
    let env = Env::new();
    let params = json!({
        "action": "create",
        "user_info": {"email": "new.hire@example.com", "type": 1, "first_name": "New", "last_name": "Hire"},
    });
    let run = env.invoke("create_user", params.clone());
    assert_eq!(run.code, 0, "{run:?}");
    let created = run.json();
    assert_eq!(created["email"], "new.hire@example.com");
    assert_eq!(created["type"], 1);
    let id = created["id"].as_str().unwrap();
    let r = env.only_api_request_to("POST", "/v2/users");
    assert_eq!(r.json, Some(params.clone()));

    let user = env.invoke("get_user", json!({"user_id": id})).json();
    assert_eq!(user["email"], "new.hire@example.com");
    assert_eq!(user["display_name"], "New Hire");
    assert_eq!(user["status"], "pending", "invited by email");

    let run = env.invoke("create_user", params);
    assert_zoom_error(
        &run,
        "error: conflict (Zoom 1005): Email \"new.hire@example.com\" has already been used.",
    );
    assert_follows_zooms_specs(&env);
}

#[test]
fn wrong_params_are_refused_with_their_path_before_anything_is_sent() {
    let env = Env::new();
    let cases = [
        (
            "revoke_user_sessions",
            json!({}),
            "missing required param `user_id`",
        ),
        ("deactivate_user", json!({"user_id": ""}), "param `user_id`"),
        (
            "activate_user",
            json!({"user_id": "me", "action": "deactivate"}),
            "unknown param `action`",
        ),
        (
            "delete_user",
            json!({"user_id": "me", "action": "erase"}),
            "param `action` must be one of \"disassociate\", \"delete\"",
        ),
        (
            "delete_user",
            json!({"user_id": "me", "transfer_meeting": true}),
            "missing required param `transfer_email`",
        ),
        (
            "delete_user",
            json!({"user_id": "me", "transfer_email": "not an email"}),
            "param `transfer_email`",
        ),
        (
            "create_user",
            json!({"action": "create"}),
            "missing required param `user_info`",
        ),
        (
            "create_user",
            json!({"action": "invite", "user_info": {"email": "a@example.com", "type": 1}}),
            "param `action` must be one of",
        ),
        (
            "create_user",
            json!({"action": "create", "user_info": {"email": "a@example.com"}}),
            "missing required param `user_info.type`",
        ),
        (
            "create_user",
            json!({"action": "create", "user_info": {"email": "a@example.com", "type": 3}}),
            "param `user_info.type` must be one of 1, 2, 4, 99",
        ),
        (
            "create_user",
            json!({"action": "create", "user_info": {"email": "nope", "type": 1}}),
            "param `user_info.email`",
        ),
    ];
    for (action, params, needle) in cases {
        let run = env.invoke(action, params);
        assert_rejected(&env, &run, needle);
    }
}
