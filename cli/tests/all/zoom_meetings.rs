//! The meeting actions beyond the first nine, end to end: create and get,
//! end and recover, who attended a past meeting (by ID, or by a UUID Zoom
//! wants encoded twice). Each test checks what reached the sandbox, the
//! output, and what the sandbox holds afterwards.

use crate::common::{Env, assert_follows_zooms_specs, assert_rejected, assert_zoom_error, query};
use serde_json::{Value, json};
use zoom_sandbox::catalog::percent_encode;

/// The owner's meeting in progress (the sandbox seeds one).
fn live_meeting(env: &Env) -> u64 {
    let ids = env.sandbox.meeting_ids("me");
    let live = ids
        .iter()
        .find(|id| env.sandbox.meeting(**id).unwrap()["status"] == "started");
    *live.expect("a live meeting")
}

#[test]
fn create_meeting_then_get_meeting_returns_what_was_created() {
    let env = Env::new();
    let body = json!({
        "topic": "Incident bridge",
        "type": 2,
        "start_time": "2030-05-01T09:00:00Z",
        "duration": 45,
        "timezone": "UTC",
        "password": "x7Yq2",
        "agenda": "Contain the stolen account",
        "settings": {"waiting_room": true, "join_before_host": false},
    });
    let mut params = body.clone();
    params["user_id"] = "me".into();
    let run = env.invoke("create_meeting", params);
    assert_eq!(run.code, 0, "{run:?}");
    let created = run.json();
    let id = created["id"].as_u64().unwrap();
    assert_eq!(created["topic"], "Incident bridge");
    assert!(
        created["join_url"]
            .as_str()
            .unwrap()
            .ends_with(&id.to_string())
    );
    let r = env.only_api_request_to("POST", "/v2/users/me/meetings");
    assert_eq!(r.json, Some(body));

    env.sandbox.clear_requests();
    let run = env.invoke("get_meeting", json!({"meeting_id": id.to_string()}));
    assert_eq!(run.code, 0, "{run:?}");
    let meeting = run.json();
    assert_eq!(meeting["agenda"], "Contain the stolen account");
    assert_eq!(meeting["start_time"], "2030-05-01T09:00:00Z");
    assert_eq!(meeting["settings"]["waiting_room"], true);
    let r = env.only_api_request_to("GET", &format!("/v2/meetings/{id}"));
    assert!(r.query.is_empty());
    assert_follows_zooms_specs(&env);
}

#[test]
fn get_meeting_one_occurrence_or_a_missing_meeting() {
    let env = Env::new();
    let (id, occurrence) = crate::common::recurring_meeting(&env.sandbox);
    let params =
        json!({"meeting_id": id, "occurrence_id": occurrence, "show_previous_occurrences": true});
    let run = env.invoke("get_meeting", params);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["id"], id);
    let r = env.only_api_request();
    assert_eq!(
        query(&r),
        vec![
            ("occurrence_id", occurrence.as_str()),
            ("show_previous_occurrences", "true")
        ]
    );
    let run = env.invoke("get_meeting", json!({"meeting_id": 1234}));
    assert_zoom_error(
        &run,
        "error: not found (Zoom 3001): Meeting does not exist: 1234.",
    );
    assert_follows_zooms_specs(&env);
}

#[test]
fn end_meeting_then_the_meeting_waits_again() {
    let env = Env::new();
    let id = live_meeting(&env);
    let run = env.invoke("end_meeting", json!({"meeting_id": id}));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json(),
        json!({"meeting_id": id, "ended": true, "message": format!("Meeting {id} ended")})
    );
    let r = env.only_api_request_to("PUT", &format!("/v2/meetings/{id}/status"));
    assert_eq!(r.json, Some(json!({"action": "end"})));
    assert_eq!(env.sandbox.meeting(id).unwrap()["status"], "waiting");
    assert_follows_zooms_specs(&env);
}

#[test]
fn recover_meeting_brings_a_deleted_meeting_back() {
    let env = Env::new();
    let id = env.sandbox.meeting_ids("me")[7];
    let before = env.sandbox.meeting(id).unwrap();
    assert_eq!(
        env.invoke("delete_meeting", json!({"meeting_id": id})).code,
        0
    );
    assert!(env.sandbox.meeting(id).is_none());
    env.sandbox.clear_requests();

    let run = env.invoke("recover_meeting", json!({"meeting_id": id}));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json(),
        json!({"meeting_id": id, "recovered": true, "message": format!("Meeting {id} recovered")})
    );
    assert_eq!(
        env.only_api_request().json,
        Some(json!({"action": "recover"}))
    );
    let shown = env.invoke("get_meeting", json!({"meeting_id": id})).json();
    assert_eq!(shown, before);

    let run = env.invoke("recover_meeting", json!({"meeting_id": 1234}));
    assert_zoom_error(
        &run,
        "error: not found (Zoom 3001): Meeting does not exist: 1234.",
    );
    assert_follows_zooms_specs(&env);
}

#[test]
fn list_past_meeting_participants_by_id_follows_pages() {
    let env = Env::new();
    let past = env.sandbox.meeting_ids("me")[1];
    let run = env.invoke(
        "list_past_meeting_participants",
        json!({"meeting_id": past, "page_size": 5, "limit": 10}),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.json();
    let participants = out["participants"].as_array().unwrap();
    assert_eq!(participants.len(), 10);
    assert_eq!(out["total_records"], 12);
    assert_eq!(participants[0]["user_email"], zoom_sandbox::OWNER_EMAIL);
    let requests = env.api_requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    assert_eq!(
        requests[0].path,
        format!("/v2/past_meetings/{past}/participants")
    );
    assert_eq!(query(&requests[0]), vec![("page_size", "5")]);
    assert!(requests[1].query_value("next_page_token").is_some());

    // A meeting still in progress has no past participants yet: Zoom's 3001.
    let run = env.invoke(
        "list_past_meeting_participants",
        json!({"meeting_id": live_meeting(&env)}),
    );
    assert_zoom_error(
        &run,
        "error: not found (Zoom 3001): Meeting ID is invalid or not end.",
    );
    assert_follows_zooms_specs(&env);
}

#[test]
fn a_meeting_uuid_beginning_with_a_slash_is_encoded_twice() {
    let env = Env::new();
    let first = env.sandbox.meeting_ids("me")[0];
    let uuid = env.sandbox.meeting(first).unwrap()["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        uuid.starts_with('/'),
        "the sandbox seeds such a UUID: {uuid}"
    );
    let run = env.invoke(
        "list_past_meeting_participants",
        json!({"meeting_id": uuid}),
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json()["participants"].as_array().map(Vec::len),
        Some(12)
    );
    let r = env.only_api_request();
    let twice = percent_encode(&percent_encode(&uuid));
    assert_eq!(r.path, format!("/v2/past_meetings/{twice}/participants"));
    assert_follows_zooms_specs(&env);
}

#[test]
fn wrong_meeting_params_are_refused_with_their_path_before_anything_is_sent() {
    let env = Env::new();
    let create = |extra: Value| {
        let mut params = json!({"user_id": "me", "topic": "t"});
        params
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        params
    };
    let cases = [
        (
            "create_meeting",
            json!({"topic": "t"}),
            "missing required param `user_id`",
        ),
        (
            "create_meeting",
            create(json!({"type": 5})),
            "param `type` must be one of 1, 2, 3, 8",
        ),
        (
            "create_meeting",
            create(json!({"settings": {"waiting_room": "maybe"}})),
            "param `settings.waiting_room` must be a boolean",
        ),
        (
            "create_meeting",
            create(json!({"duration": -5})),
            "param `duration`",
        ),
        (
            "create_meeting",
            create(json!({"recurrence": {"repeat_interval": 1}})),
            "missing required param `recurrence.type`",
        ),
        (
            "create_meeting",
            create(json!({"title": "t"})),
            "unknown param `title`",
        ),
        (
            "get_meeting",
            json!({"meeting_id": "abc"}),
            "param `meeting_id` must be an integer",
        ),
        (
            "get_meeting",
            json!({"meeting_id": 1, "show_previous_occurrences": "yes"}),
            "param `show_previous_occurrences` must be a boolean",
        ),
        (
            "end_meeting",
            json!({}),
            "missing required param `meeting_id`",
        ),
        (
            "recover_meeting",
            json!({"meeting_id": 0}),
            "param `meeting_id`",
        ),
        (
            "list_past_meeting_participants",
            json!({"meeting_id": "1", "page_size": 301}),
            "param `page_size`",
        ),
        (
            "list_past_meeting_participants",
            json!({"meeting_id": ""}),
            "param `meeting_id`",
        ),
    ];
    for (action, params, needle) in cases {
        let run = env.invoke(action, params);
        assert_rejected(&env, &run, needle);
    }
}
