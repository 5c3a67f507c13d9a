//! Meeting registrants end to end: list by status, add, approve/deny/cancel
//! many at once, delete; what reached the sandbox, the output, and what the
//! sandbox holds afterwards.

mod common;

use common::{Env, assert_follows_zooms_specs, assert_rejected, assert_zoom_error, query};
use serde_json::{Value, json};

/// The owner's meeting that the sandbox seeds with registrants.
fn registered_meeting(env: &Env) -> u64 {
    let ids = env.sandbox.meeting_ids("me");
    let id = ids
        .into_iter()
        .find(|id| !env.sandbox.registrants(*id).is_empty());
    id.expect("a meeting with registrants")
}

fn status_of(env: &Env, meeting: u64, email: &Value) -> Value {
    let registrants = env.sandbox.registrants(meeting);
    let found = registrants.iter().find(|r| &r["email"] == email);
    found.map_or(Value::Null, |r| r["status"].clone())
}

#[test]
fn list_meeting_registrants_by_status_follows_pages() {
    let env = Env::new();
    let id = registered_meeting(&env);
    let run = env.invoke(
        "list_meeting_registrants",
        json!({"meeting_id": id, "status": "approved", "page_size": 3, "limit": 10}),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.json();
    assert_eq!(out["registrants"].as_array().unwrap().len(), 4);
    assert_eq!(out["next_page_token"], "");
    let requests = env.api_requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    assert_eq!(requests[0].path, format!("/v2/meetings/{id}/registrants"));
    assert_eq!(
        query(&requests[0]),
        vec![("status", "approved"), ("page_size", "3")]
    );
    env.sandbox.clear_requests();
    let pending = env.invoke(
        "list_meeting_registrants",
        json!({"meeting_id": id, "status": "pending"}),
    );
    assert_eq!(pending.json()["total_records"], 2);
    assert_follows_zooms_specs(&env);
}

#[test]
fn add_meeting_registrant_then_it_is_listed() {
    let env = Env::new();
    let id = registered_meeting(&env);
    let run = env.invoke(
        "add_meeting_registrant",
        json!({"meeting_id": id, "email": "ada@example.org", "first_name": "Ada", "last_name": "Lovelace"}),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.json();
    assert_eq!(out["id"], id);
    let registrant = out["registrant_id"].as_str().unwrap().to_owned();
    let r = env.only_api_request();
    assert_eq!(
        (r.method.as_str(), r.path.clone()),
        ("POST", format!("/v2/meetings/{id}/registrants"))
    );
    assert!(r.query.is_empty());
    assert_eq!(
        r.json,
        Some(json!({"email": "ada@example.org", "first_name": "Ada", "last_name": "Lovelace"}))
    );
    let listed = env
        .invoke("list_meeting_registrants", json!({"meeting_id": id}))
        .json();
    let ids: Vec<&str> = listed["registrants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&registrant.as_str()), "{listed}");

    let run = env.invoke(
        "add_meeting_registrant",
        json!({"meeting_id": 1234, "email": "ada@example.org", "first_name": "Ada"}),
    );
    assert_zoom_error(
        &run,
        "error: not found (Zoom 3001): Meeting does not exist: 1234.",
    );
    assert_follows_zooms_specs(&env);
}

#[test]
fn update_meeting_registrant_status_approves_several_at_once() {
    let env = Env::new();
    let id = registered_meeting(&env);
    let all = env.sandbox.registrants(id);
    let pending: Vec<&Value> = all.iter().filter(|r| r["status"] == "pending").collect();
    let named = json!([{"id": pending[0]["id"]}, {"email": pending[1]["email"]}]);
    let run = env.invoke(
        "update_meeting_registrant_status",
        json!({"meeting_id": id, "action": "approve", "registrants": named}),
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json(),
        json!({
            "meeting_id": id,
            "action": "approve",
            "registrants": named,
            "message": format!("2 registration(s) of meeting {id} approved"),
        })
    );
    let r = env.only_api_request();
    assert_eq!(
        (r.method.as_str(), r.path.clone()),
        ("PUT", format!("/v2/meetings/{id}/registrants/status"))
    );
    assert_eq!(
        r.json,
        Some(json!({"action": "approve", "registrants": named}))
    );
    for p in &pending {
        assert_eq!(status_of(&env, id, &p["email"]), "approved");
    }

    // Cancelling an approved registration turns the registrant away.
    let email = all[0]["email"].clone();
    let run = env.invoke(
        "update_meeting_registrant_status",
        json!({"meeting_id": id, "action": "cancel", "registrants": [{"email": email}]}),
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(status_of(&env, id, &email), "denied");
    assert_follows_zooms_specs(&env);
}

#[test]
fn delete_meeting_registrant_then_deleting_again_is_zooms_error() {
    let env = Env::new();
    let id = registered_meeting(&env);
    let before = env.sandbox.registrants(id);
    let registrant = before[2]["id"].as_str().unwrap().to_owned();
    let params = json!({"meeting_id": id, "registrant_id": registrant});
    let run = env.invoke("delete_meeting_registrant", params.clone());
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json(),
        json!({
            "meeting_id": id,
            "registrant_id": registrant,
            "deleted": true,
            "message": format!("Registrant {registrant} removed from meeting {id}"),
        })
    );
    let r = env.only_api_request();
    assert_eq!(
        (r.method.as_str(), r.path.clone()),
        (
            "DELETE",
            format!("/v2/meetings/{id}/registrants/{registrant}")
        )
    );
    assert_eq!(env.sandbox.registrants(id).len(), before.len() - 1);
    let run = env.invoke("delete_meeting_registrant", params);
    assert_zoom_error(
        &run,
        "error: invalid input (Zoom 300): The value that you entered for the Registrant ID field is invalid. Enter a valid value and try again.",
    );
    assert_follows_zooms_specs(&env);
}

#[test]
fn wrong_registrant_params_are_refused_with_their_path_before_anything_is_sent() {
    let env = Env::new();
    let many: Vec<Value> = (0..31).map(|n| json!({"id": format!("r{n}")})).collect();
    let cases = [
        (
            "list_meeting_registrants",
            json!({"meeting_id": 1, "status": "waiting"}),
            "param `status` must be one of \"pending\", \"approved\", \"denied\"",
        ),
        (
            "add_meeting_registrant",
            json!({"meeting_id": 1, "email": "a@example.org"}),
            "missing required param `first_name`",
        ),
        (
            "add_meeting_registrant",
            json!({"meeting_id": 1, "email": "a@example.org", "first_name": "A", "language": "xx"}),
            "param `language` must be one of",
        ),
        (
            "update_meeting_registrant_status",
            json!({"meeting_id": 1, "action": "ban", "registrants": [{"id": "r"}]}),
            "param `action` must be one of \"approve\", \"cancel\", \"deny\"",
        ),
        (
            "update_meeting_registrant_status",
            json!({"meeting_id": 1, "action": "deny"}),
            "missing required param `registrants`",
        ),
        (
            "update_meeting_registrant_status",
            json!({"meeting_id": 1, "action": "deny", "registrants": []}),
            "param `registrants`",
        ),
        (
            "update_meeting_registrant_status",
            json!({"meeting_id": 1, "action": "deny", "registrants": many}),
            "param `registrants`",
        ),
        (
            "update_meeting_registrant_status",
            json!({"meeting_id": 1, "action": "deny", "registrants": [{"name": "x"}]}),
            "param `registrants[0]`",
        ),
        (
            "delete_meeting_registrant",
            json!({"meeting_id": 1}),
            "missing required param `registrant_id`",
        ),
    ];
    for (action, params, needle) in cases {
        let run = env.invoke(action, params);
        assert_rejected(&env, &run, needle);
    }
}
