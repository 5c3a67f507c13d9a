//! The Webinars family end to end: list (paged by number), create and get,
//! update, end, delete; registrants added (listing, status changes and
//! deletes are shared with meetings in zoom_registrants.rs); panelists
//! listed, added several at once, removed. Each test
//! checks what reached the sandbox, the output, and what the sandbox holds
//! afterwards.

use crate::common::{Env, assert_follows_zooms_specs, assert_rejected, assert_zoom_error, query};
use serde_json::{Value, json};
use zoom_sandbox::catalog::percent_encode;

/// The owner's webinar that the sandbox seeds with registrants and panelists.
fn seeded_webinar(env: &Env) -> u64 {
    let ids = env.sandbox.webinar_ids("me");
    let id = ids
        .into_iter()
        .find(|id| !env.sandbox.webinar_registrants(*id).is_empty());
    id.expect("a webinar with registrants")
}

#[test]
fn list_webinars_follows_numbered_pages_up_to_the_limit() {
    let env = Env::new();
    let run = env.invoke(
        "list_webinars",
        json!({"user_id": "me", "page_size": 3, "limit": 6}),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.json();
    let ids: Vec<u64> = out["webinars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, env.sandbox.webinar_ids("me"));
    assert_eq!(out["pages_fetched"], 2);
    assert_eq!(out["page_number"], 2);
    assert!(out.get("next_page_token").is_none(), "{out}");
    let requests = env.api_requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("GET", "/v2/users/me/webinars")
    );
    assert_eq!(query(&requests[0]), vec![("page_size", "3")]);
    assert_eq!(
        query(&requests[1]),
        vec![("page_size", "3"), ("page_number", "2")]
    );

    // One page of the upcoming ones, from the second page on.
    env.sandbox.clear_requests();
    let run = env.invoke(
        "list_webinars",
        json!({"user_id": "me", "type": "upcoming", "page_size": 3, "page_number": 2}),
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["webinars"].as_array().unwrap().len(), 1);
    assert_eq!(run.json()["total_records"], 4);
    let r = env.only_api_request();
    assert_eq!(
        query(&r),
        vec![
            ("type", "upcoming"),
            ("page_size", "3"),
            ("page_number", "2")
        ]
    );

    // A limit inside a page: the rest of that page is left out, and the answer says so.
    env.sandbox.clear_requests();
    let cut = env
        .invoke(
            "list_webinars",
            json!({"user_id": "me", "page_size": 3, "limit": 2}),
        )
        .json();
    assert_eq!(cut["webinars"].as_array().unwrap().len(), 2);
    assert_eq!(cut["truncated"], true, "{cut}");
    assert!(cut["note"].as_str().unwrap().contains("page 1"), "{cut}");
    assert_eq!(env.api_requests().len(), 1);

    let run = env.invoke("list_webinars", json!({"user_id": "nobody@example.com"}));
    assert_zoom_error(
        &run,
        "error: not found (Zoom 1001): User nobody@example.com not exist or not belong to this account.",
    );
    assert_follows_zooms_specs(&env);
}

#[test]
fn create_webinar_then_get_webinar_returns_what_was_created() {
    let env = Env::new();
    let body = json!({
        "topic": "Incident briefing",
        "type": 5,
        "start_time": "2030-05-01T09:00:00Z",
        "duration": 60,
        "timezone": "UTC",
        "agenda": "What happened and what we did",
        "settings": {"approval_type": 1, "panelists_video": true},
    });
    let mut params = body.clone();
    params["user_id"] = "me".into();
    let run = env.invoke("create_webinar", params);
    assert_eq!(run.code, 0, "{run:?}");
    let created = run.json();
    let id = created["id"].as_u64().unwrap();
    assert_eq!(created["topic"], "Incident briefing");
    assert!(
        created["join_url"]
            .as_str()
            .unwrap()
            .ends_with(&id.to_string())
    );
    let r = env.only_api_request_to("POST", "/v2/users/me/webinars");
    assert!(r.query.is_empty());
    assert_eq!(r.json, Some(body));

    env.sandbox.clear_requests();
    let run = env.invoke("get_webinar", json!({"webinar_id": id.to_string()}));
    assert_eq!(run.code, 0, "{run:?}");
    let webinar = run.json();
    assert_eq!(webinar["agenda"], "What happened and what we did");
    assert_eq!(webinar["start_time"], "2030-05-01T09:00:00Z");
    assert_eq!(webinar["settings"]["approval_type"], 1);
    let r = env.only_api_request_to("GET", &format!("/v2/webinars/{id}"));
    assert!(r.query.is_empty());
    assert_eq!(
        env.sandbox.webinar(id).unwrap()["topic"],
        "Incident briefing"
    );
    assert_follows_zooms_specs(&env);
}

#[test]
fn get_webinar_by_a_uuid_that_zoom_wants_encoded_twice() {
    let env = Env::new();
    // In list order (by start time), yesterday's comes first; its UUID begins with `/`.
    let past = env.sandbox.webinar_ids("me")[0];
    let uuid = env.sandbox.webinar(past).unwrap()["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(uuid.starts_with('/'), "{uuid}");
    let run = env.invoke("get_webinar", json!({"webinar_id": uuid}));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["id"], past);
    let r = env.only_api_request();
    let twice = percent_encode(&percent_encode(&uuid));
    assert_eq!(
        (r.method.as_str(), r.path),
        ("GET", format!("/v2/webinars/{twice}"))
    );
    assert_follows_zooms_specs(&env);
}

#[test]
fn update_webinar_sends_only_the_fields_given() {
    let env = Env::new();
    let id = seeded_webinar(&env);
    let run = env.invoke(
        "update_webinar",
        json!({"webinar_id": id, "topic": "Rescheduled", "settings": {"approval_type": 1}}),
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json(),
        json!({
            "updated": true,
            "webinar_id": id,
            "fields": ["topic", "settings"],
            "message": format!("Webinar {id} updated"),
        })
    );
    let r = env.only_api_request_to("PATCH", &format!("/v2/webinars/{id}"));
    assert_eq!(
        r.json,
        Some(json!({"topic": "Rescheduled", "settings": {"approval_type": 1}}))
    );
    let webinar = env.sandbox.webinar(id).unwrap();
    assert_eq!(webinar["topic"], "Rescheduled");
    assert_eq!(webinar["settings"]["approval_type"], 1);
    assert_follows_zooms_specs(&env);
}

#[test]
fn delete_webinar_then_get_webinar_is_zooms_not_found() {
    let env = Env::new();
    let id = seeded_webinar(&env);
    let run = env.invoke(
        "delete_webinar",
        json!({"webinar_id": id, "cancel_webinar_reminder": true}),
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json(),
        json!({"deleted": true, "webinar_id": id, "message": format!("Webinar {id} deleted")})
    );
    let r = env.only_api_request_to("DELETE", &format!("/v2/webinars/{id}"));
    assert_eq!(query(&r), vec![("cancel_webinar_reminder", "true")]);
    assert!(env.sandbox.webinar(id).is_none());
    let run = env.invoke("get_webinar", json!({"webinar_id": id}));
    assert_zoom_error(
        &run,
        &format!("error: not found (Zoom 3001): Webinar does not exist: {id}."),
    );
    assert_follows_zooms_specs(&env);
}

#[test]
fn end_webinar_puts_the_end_action_then_the_webinar_can_be_deleted() {
    let env = Env::new();
    // In list order (by start time): yesterday's, the one in progress, the upcoming ones.
    let id = env.sandbox.webinar_ids("me")[1];
    let run = env.invoke("delete_webinar", json!({"webinar_id": id}));
    assert_zoom_error(
        &run,
        "error: conflict (Zoom 3002): Sorry, you cannot delete this webinar since it is in progress.",
    );
    env.sandbox.clear_requests();
    let run = env.invoke("end_webinar", json!({"webinar_id": id}));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json(),
        json!({"webinar_id": id, "ended": true, "message": format!("Webinar {id} ended")})
    );
    let r = env.only_api_request_to("PUT", &format!("/v2/webinars/{id}/status"));
    assert_eq!(r.json, Some(json!({"action": "end"})));
    let run = env.invoke("delete_webinar", json!({"webinar_id": id}));
    assert_eq!(run.code, 0, "{run:?}");
    assert!(env.sandbox.webinar(id).is_none());
    let run = env.invoke("end_webinar", json!({"webinar_id": 1234}));
    assert_zoom_error(
        &run,
        "error: not found (Zoom 3001): Webinar does not exist: 1234.",
    );
    assert_follows_zooms_specs(&env);
}

#[test]
fn add_webinar_registrant_then_it_is_listed() {
    let env = Env::new();
    let id = seeded_webinar(&env);
    let run = env.invoke(
        "add_webinar_registrant",
        json!({"webinar_id": id, "email": "ada@example.org", "first_name": "Ada", "org": "Analytical"}),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.json();
    assert_eq!(out["id"], id);
    let registrant = out["registrant_id"].as_str().unwrap().to_owned();
    let r = env.only_api_request_to("POST", &format!("/v2/webinars/{id}/registrants"));
    assert!(r.query.is_empty());
    assert_eq!(
        r.json,
        Some(json!({"email": "ada@example.org", "first_name": "Ada", "org": "Analytical"}))
    );
    let stored = env.sandbox.webinar_registrants(id);
    let added = stored.iter().find(|r| r["id"] == registrant.as_str());
    assert_eq!(added.unwrap()["org"], "Analytical");

    let run = env.invoke(
        "add_webinar_registrant",
        json!({"webinar_id": 1234, "email": "ada@example.org", "first_name": "Ada"}),
    );
    assert_zoom_error(
        &run,
        "error: not found (Zoom 3001): Webinar does not exist: 1234.",
    );
    assert_follows_zooms_specs(&env);
}

#[test]
fn panelists_are_listed_added_several_at_once_and_removed() {
    let env = Env::new();
    let id = seeded_webinar(&env);
    let run = env.invoke("list_webinar_panelists", json!({"webinar_id": id}));
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.json();
    assert_eq!(out["webinar_id"], id);
    assert_eq!(out["total_records"], 2);
    env.only_api_request_to("GET", &format!("/v2/webinars/{id}/panelists"));

    env.sandbox.clear_requests();
    let panelists = json!([
        {"email": "ada@example.org", "name": "Ada Lovelace"},
        {"email": "grace@example.org", "name": "Grace Hopper", "name_tag_pronouns": "she/her"},
    ]);
    let run = env.invoke(
        "add_webinar_panelists",
        json!({"webinar_id": id, "panelists": panelists}),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.json();
    assert_eq!(out["webinar_id"], id);
    assert_eq!(out["added"], true);
    assert_eq!(out["panelists"], panelists);
    assert_eq!(
        out["message"],
        format!("2 panelist(s) added to webinar {id}")
    );
    assert!(out["updated_at"].is_string(), "{out}");
    let r = env.only_api_request_to("POST", &format!("/v2/webinars/{id}/panelists"));
    assert_eq!(r.json, Some(json!({"panelists": panelists})));
    let stored = env.sandbox.panelists(id);
    assert_eq!(stored.len(), 4);
    let grace = stored
        .iter()
        .find(|p| p["email"] == "grace@example.org")
        .unwrap();
    assert_eq!(grace["name_tag_pronouns"], "she/her");
    let grace_id = grace["id"].as_str().unwrap().to_owned();

    env.sandbox.clear_requests();
    let params = json!({"webinar_id": id, "panelist_id": grace_id});
    let run = env.invoke("remove_webinar_panelist", params.clone());
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json(),
        json!({
            "webinar_id": id,
            "panelist_id": grace_id,
            "removed": true,
            "message": format!("Panelist {grace_id} removed from webinar {id}"),
        })
    );
    env.only_api_request_to("DELETE", &format!("/v2/webinars/{id}/panelists/{grace_id}"));
    assert_eq!(env.sandbox.panelists(id).len(), 3);
    let run = env.invoke("remove_webinar_panelist", params);
    assert_zoom_error(
        &run,
        &format!(
            "error: not found (Zoom 1001): User {grace_id} does not exist or does not belong to this account."
        ),
    );
    assert_follows_zooms_specs(&env);
}

#[test]
fn wrong_webinar_params_are_refused_with_their_path_before_anything_is_sent() {
    let env = Env::new();
    let many: Vec<Value> = (0..31)
        .map(|n| json!({"email": format!("p{n}@example.org"), "name": "P"}))
        .collect();
    let cases = [
        (
            "list_webinars",
            json!({"user_id": "me", "type": "live"}),
            "param `type` must be one of \"scheduled\", \"upcoming\"",
        ),
        (
            "list_webinars",
            json!({"user_id": "me", "page_size": 301}),
            "param `page_size`",
        ),
        (
            "list_webinars",
            json!({"user_id": "me", "next_page_token": "x"}),
            "next_page_token",
        ),
        (
            "get_webinar",
            json!({}),
            "missing required param `webinar_id`",
        ),
        (
            "get_webinar",
            json!({"webinar_id": ""}),
            "param `webinar_id`",
        ),
        (
            "create_webinar",
            json!({"user_id": "me", "type": 2}),
            "param `type` must be one of 5, 6, 9",
        ),
        (
            "update_webinar",
            json!({"webinar_id": 1, "duration": -5}),
            "param `duration`",
        ),
        (
            "delete_webinar",
            json!({"webinar_id": 1, "cancel_meeting_reminder": true}),
            "cancel_meeting_reminder",
        ),
        (
            "end_webinar",
            json!({"webinar_id": "abc"}),
            "param `webinar_id`",
        ),
        (
            "list_webinar_registrants",
            json!({"webinar_id": 1, "status": "waiting"}),
            "param `status` must be one of \"pending\", \"approved\", \"denied\"",
        ),
        (
            "add_webinar_registrant",
            json!({"webinar_id": 1, "email": "a@example.org"}),
            "missing required param `first_name`",
        ),
        (
            "update_webinar_registrant_status",
            json!({"webinar_id": 1, "action": "ban", "registrants": [{"id": "r"}]}),
            "param `action` must be one of \"approve\", \"deny\", \"cancel\"",
        ),
        (
            "update_webinar_registrant_status",
            json!({"webinar_id": 1, "action": "deny", "registrants": [{"name": "x"}]}),
            "param `registrants[0]`",
        ),
        (
            "delete_webinar_registrant",
            json!({"webinar_id": 1}),
            "missing required param `registrant_id`",
        ),
        (
            "add_webinar_panelists",
            json!({"webinar_id": 1, "panelists": []}),
            "param `panelists`",
        ),
        (
            "add_webinar_panelists",
            json!({"webinar_id": 1, "panelists": many}),
            "param `panelists`",
        ),
        (
            "add_webinar_panelists",
            json!({"webinar_id": 1, "panelists": [{"email": "a@example.org"}]}),
            "missing required param `panelists[0].name`",
        ),
        (
            "add_webinar_panelists",
            json!({"webinar_id": 1, "panelists": [{"email": "not-an-email", "name": "A"}]}),
            "param `panelists[0].email`",
        ),
        (
            "remove_webinar_panelist",
            json!({"webinar_id": 1}),
            "missing required param `panelist_id`",
        ),
    ];
    for (action, params, needle) in cases {
        let run = env.invoke(action, params);
        assert_rejected(&env, &run, needle);
    }
}
