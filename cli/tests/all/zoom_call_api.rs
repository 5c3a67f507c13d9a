//! `call_api` end to end: any operation of Zoom's specs by method and path,
//! GET only unless the resource allows more, confined to the API URL, with
//! Zoom's status, answer and errors; unknown operations, undeclared query
//! parameters and paths that would leave `/v2` are refused before anything
//! is sent.

use crate::common::{
    Env, Run, assert_follows_zooms_specs, assert_rejected, assert_zoom_error, query,
};
use serde_json::{Value, json};
use zoom_sandbox::date_days_ago as day;

/// A resource that lets call_api send these methods.
fn allowing(env: &Env, methods: &str) -> std::path::PathBuf {
    let extra = format!("call_api_methods = \"{methods}\"\n");
    env.write_resource("wide.toml", &env.resource_toml("Wide", &extra))
}

fn invoke_on(env: &Env, resource: &std::path::Path, params: Value) -> Run {
    let resource = resource.to_str().unwrap();
    env.cli(&[
        "invoke",
        resource,
        "call_api",
        "--params",
        &params.to_string(),
    ])
}

#[test]
fn a_get_answers_zooms_status_and_body() {
    let env = Env::new();
    let params = json!({"path": "/users", "query": {"page_size": 2, "status": "active"}});
    let run = env.invoke("call_api", params);
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.json();
    assert_eq!(
        (
            &out["method"],
            &out["path"],
            &out["operation"],
            &out["status"]
        ),
        (
            &json!("GET"),
            &json!("/users"),
            &json!("GET /users"),
            &json!(200)
        )
    );
    assert_eq!(out["body"]["users"].as_array().map(Vec::len), Some(2));
    let r = env.only_api_request_to("GET", "/v2/users");
    assert_eq!(query(&r), vec![("page_size", "2"), ("status", "active")]);

    let run = env.invoke("call_api", json!({"path": "/users/nobody@example.org"}));
    assert_zoom_error(
        &run,
        "error: not found (Zoom 1001): User does not exist: nobody@example.org.",
    );
    assert_follows_zooms_specs(&env);
}

#[test]
fn a_phone_get_is_checked_against_the_phone_and_chat_summary() {
    let env = Env::new();
    let (from, to) = (day(6), day(1));
    let params = json!({"path": "/phone/users/me/call_history",
                        "query": {"from": from, "to": to, "page_size": 5}});
    let run = env.invoke("call_api", params);
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.json();
    assert_eq!(
        (&out["operation"], &out["status"]),
        (
            &json!("GET /phone/users/{userId}/call_history"),
            &json!(200)
        )
    );
    assert_eq!(out["body"]["call_logs"].as_array().map(Vec::len), Some(5));
    let r = env.only_api_request();
    assert_eq!(r.path, "/v2/phone/users/me/call_history");
    assert_eq!(
        query(&r),
        vec![
            ("from", from.as_str()),
            ("to", to.as_str()),
            ("page_size", "5")
        ]
    );
    // A Team Chat path too; a parameter of the deprecated call_logs call is not one of call_history's.
    let run = env.invoke("call_api", json!({"path": "/chat/users/me/channels"}));
    assert_eq!(
        run.json()["body"]["channels"].as_array().map(Vec::len),
        Some(10)
    );
    assert_follows_zooms_specs(&env);
    env.sandbox.clear_requests();
    let run = env.invoke(
        "call_api",
        json!({"path": "/phone/call_history", "query": {"type": "missed"}}),
    );
    assert_rejected(&env, &run, "param `query.type` is not a query parameter");
}

#[test]
fn other_methods_only_where_the_resource_allows_them() {
    let env = Env::new();
    let id = env.sandbox.meeting_ids("me")[7];
    let patch = json!({"method": "PATCH", "path": format!("/meetings/{id}"), "body": {"topic": "Contained"}});
    let run = env.invoke("call_api", patch.clone());
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("denied") && run.stderr.contains("call_api_methods"),
        "{run:?}"
    );
    assert!(env.sandbox.requests().is_empty(), "nothing may reach Zoom");

    let wide = allowing(&env, "GET, PATCH, DELETE");
    let run = invoke_on(&env, &wide, patch);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json(),
        json!({"method": "PATCH", "path": format!("/meetings/{id}"),
               "operation": "PATCH /meetings/{meetingId}", "status": 204, "body": null})
    );
    let r = env.only_api_request();
    assert_eq!(r.json, Some(json!({"topic": "Contained"})));
    assert_eq!(env.sandbox.meeting(id).unwrap()["topic"], "Contained");
    let run = invoke_on(
        &env,
        &wide,
        json!({"method": "DELETE", "path": format!("/meetings/{id}")}),
    );
    assert_eq!(run.json()["status"], 204);
    assert!(env.sandbox.meeting(id).is_none());
    // POST is still not allowed there.
    let post = json!({"method": "POST", "path": "/users/me/meetings", "body": {"topic": "x"}});
    assert_eq!(invoke_on(&env, &wide, post).code, 1);
    assert_follows_zooms_specs(&env);
}

#[test]
fn unknown_operations_and_escaping_paths_are_refused_before_anything_is_sent() {
    let env = Env::new();
    let cases = [
        (json!({}), "missing required param `path`"),
        (json!({"path": "users/me"}), "param `path`"),
        (
            json!({"path": "/no/such/thing"}),
            "GET /no/such/thing is not an operation of Zoom's API",
        ),
        (
            json!({"path": "/users/me/../../oauth/token"}),
            "may not step out of the API",
        ),
        (
            json!({"path": "/users/%2e%2e/x"}),
            "may not step out of the API",
        ),
        (
            json!({"path": "/users/me?x=1"}),
            "param `path` may hold only",
        ),
        (
            json!({"path": "/users", "query": {"page_sise": 2}}),
            "param `query.page_sise` is not a query parameter",
        ),
        (
            json!({"path": "/users/me", "body": {"a": 1}}),
            "param `body`: a GET takes none",
        ),
        (
            json!({"method": "TRACE", "path": "/users/me"}),
            "param `method` must be one of",
        ),
        (
            json!({"path": "/users", "query": {"status": ["active"]}}),
            "param `query.status`",
        ),
    ];
    for (params, needle) in cases {
        let run = env.invoke("call_api", params);
        assert_rejected(&env, &run, needle);
    }
    // A resource naming an unknown method is a config error.
    let odd = allowing(&env, "GET, FETCH");
    let run = invoke_on(&env, &odd, json!({"path": "/users/me"}));
    assert_rejected(&env, &run, "call_api_methods");
}
