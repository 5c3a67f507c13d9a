//! Registrants of meetings and webinars end to end — the same operations
//! under `/meetings/{id}` and `/webinars/{id}`: list by status, add,
//! approve/deny/cancel many at once, delete; what reached the sandbox, the
//! output, and what the sandbox holds afterwards. The shared behaviour is
//! one function run for each kind of event.

use crate::common::{Env, assert_follows_zooms_specs, assert_rejected, assert_zoom_error, query};
use serde_json::{Value, json};
use zoom_sandbox::Sandbox;

/// A kind of event that takes registrants.
struct Event {
    /// `meeting` or `webinar`: in action names, params, paths and messages.
    name: &'static str,
    /// Its events as the sandbox lists them for a user, and their registrants.
    ids: fn(&Sandbox, &str) -> Vec<u64>,
    registrants: fn(&Sandbox, u64) -> Vec<Value>,
}

const MEETING: Event = Event {
    name: "meeting",
    ids: Sandbox::meeting_ids,
    registrants: Sandbox::registrants,
};

const WEBINAR: Event = Event {
    name: "webinar",
    ids: Sandbox::webinar_ids,
    registrants: Sandbox::webinar_registrants,
};

impl Event {
    /// `pattern` with `{event}` replaced by the kind's name.
    fn action(&self, pattern: &str) -> String {
        pattern.replace("{event}", self.name)
    }

    fn id_param(&self) -> String {
        format!("{}_id", self.name)
    }

    /// The owner's event that the sandbox seeds with registrants.
    fn seeded(&self, env: &Env) -> u64 {
        let ids = (self.ids)(&env.sandbox, "me");
        let id = ids
            .into_iter()
            .find(|id| !(self.registrants)(&env.sandbox, *id).is_empty());
        id.unwrap_or_else(|| panic!("a {} with registrants", self.name))
    }

    fn registrants(&self, env: &Env, id: u64) -> Vec<Value> {
        (self.registrants)(&env.sandbox, id)
    }

    fn status_of(&self, env: &Env, id: u64, email: &Value) -> Value {
        let registrants = self.registrants(env, id);
        let found = registrants.iter().find(|r| &r["email"] == email);
        found.map_or(Value::Null, |r| r["status"].clone())
    }

    /// `params` with the event's id param set to `id`.
    fn params(&self, id: u64, params: Value) -> Value {
        let mut params = params;
        params[self.id_param()] = id.into();
        params
    }
}

fn registered_meeting(env: &Env) -> u64 {
    MEETING.seeded(env)
}

/// Pages of `page_size` up to `limit`, expecting `approved` of them.
fn list_by_status_follows_pages(event: &Event, page_size: u64, limit: u64, approved: usize) {
    let env = Env::new();
    let id = event.seeded(&env);
    let list = event.action("list_{event}_registrants");
    let run = env.invoke(
        &list,
        event.params(
            id,
            json!({"status": "approved", "page_size": page_size, "limit": limit}),
        ),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.json();
    assert_eq!(out["registrants"].as_array().unwrap().len(), approved);
    assert_eq!(out["next_page_token"], "");
    let requests = env.api_requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    assert_eq!(
        requests[0].path,
        format!("/v2/{}s/{id}/registrants", event.name)
    );
    let size = page_size.to_string();
    assert_eq!(
        query(&requests[0]),
        vec![("status", "approved"), ("page_size", size.as_str())]
    );
    assert_eq!(query(&requests[1])[2].0, "next_page_token");
    env.sandbox.clear_requests();
    let pending = env.invoke(&list, event.params(id, json!({"status": "pending"})));
    assert_eq!(pending.json()["total_records"], 2);
    assert_follows_zooms_specs(&env);
}

#[test]
fn list_meeting_registrants_by_status_follows_pages() {
    list_by_status_follows_pages(&MEETING, 3, 10, 4);
}

#[test]
fn list_webinar_registrants_by_status_follows_pages() {
    list_by_status_follows_pages(&WEBINAR, 1, 5, 2);
}

/// Approve two pending registrations at once (one named by id, one by
/// email), then turn an approved registrant away with `turn_away`.
fn update_status_approves_several_at_once(event: &Event, turn_away: &str) {
    let env = Env::new();
    let id = event.seeded(&env);
    let update = event.action("update_{event}_registrant_status");
    let all = event.registrants(&env, id);
    let pending: Vec<&Value> = all.iter().filter(|r| r["status"] == "pending").collect();
    let named = json!([{"id": pending[0]["id"]}, {"email": pending[1]["email"]}]);
    let run = env.invoke(
        &update,
        event.params(id, json!({"action": "approve", "registrants": named})),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let mut expected = json!({
        "action": "approve",
        "registrants": named,
        "message": format!("2 registration(s) of {} {id} approved", event.name),
    });
    expected[event.id_param()] = id.into();
    assert_eq!(run.json(), expected);
    let r = env.only_api_request();
    assert_eq!(
        (r.method.as_str(), r.path.clone()),
        (
            "PUT",
            format!("/v2/{}s/{id}/registrants/status", event.name)
        )
    );
    assert_eq!(
        r.json,
        Some(json!({"action": "approve", "registrants": named}))
    );
    for p in &pending {
        assert_eq!(event.status_of(&env, id, &p["email"]), "approved");
    }

    let email = all[0]["email"].clone();
    let run = env.invoke(
        &update,
        event.params(
            id,
            json!({"action": turn_away, "registrants": [{"email": email}]}),
        ),
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(event.status_of(&env, id, &email), "denied");
    assert_follows_zooms_specs(&env);
}

#[test]
fn update_meeting_registrant_status_approves_several_at_once() {
    // Cancelling an approved registration turns the registrant away.
    update_status_approves_several_at_once(&MEETING, "cancel");
}

#[test]
fn update_webinar_registrant_status_approves_several_at_once() {
    update_status_approves_several_at_once(&WEBINAR, "deny");
}

/// Delete one registrant; deleting it again is Zoom's error `again`
/// (`{registrant}` stands for its id).
fn delete_then_deleting_again_is_zooms_error(event: &Event, again: &str) {
    let env = Env::new();
    let id = event.seeded(&env);
    let delete = event.action("delete_{event}_registrant");
    let before = event.registrants(&env, id);
    let registrant = before[1]["id"].as_str().unwrap().to_owned();
    let params = event.params(id, json!({"registrant_id": registrant}));
    let run = env.invoke(&delete, params.clone());
    assert_eq!(run.code, 0, "{run:?}");
    let mut expected = json!({
        "registrant_id": registrant,
        "deleted": true,
        "message": format!("Registrant {registrant} removed from {} {id}", event.name),
    });
    expected[event.id_param()] = id.into();
    assert_eq!(run.json(), expected);
    let r = env.only_api_request();
    assert_eq!(
        (r.method.as_str(), r.path.clone()),
        (
            "DELETE",
            format!("/v2/{}s/{id}/registrants/{registrant}", event.name)
        )
    );
    assert_eq!(event.registrants(&env, id).len(), before.len() - 1);
    let run = env.invoke(&delete, params);
    assert_zoom_error(&run, &again.replace("{registrant}", &registrant));
    assert_follows_zooms_specs(&env);
}

#[test]
fn delete_meeting_registrant_then_deleting_again_is_zooms_error() {
    delete_then_deleting_again_is_zooms_error(
        &MEETING,
        "error: invalid input (Zoom 300): The value that you entered for the Registrant ID field is invalid. Enter a valid value and try again.",
    );
}

#[test]
fn delete_webinar_registrant_then_deleting_again_is_zooms_error() {
    delete_then_deleting_again_is_zooms_error(
        &WEBINAR,
        "error: invalid input (Zoom 3000): Registrant {registrant} was not found.",
    );
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
    let r = env.only_api_request_to("POST", &format!("/v2/meetings/{id}/registrants"));
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
