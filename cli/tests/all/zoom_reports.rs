//! Reports end to end: sign-in activity by date (the first step of finding
//! what a stolen account did), the operation log (which the sandbox's own
//! changes write: a deactivation shows up in it), and a past meeting's
//! participants report by a UUID encoded twice. Each test checks what
//! reached the sandbox and the output.

use crate::common::{Env, assert_follows_zooms_specs, assert_rejected, assert_zoom_error, query};
use serde_json::json;
use zoom_sandbox::catalog::percent_encode;
use zoom_sandbox::date_days_ago as day;

#[test]
fn list_signin_activities_by_date_range_follows_pages() {
    let env = Env::new();
    let (from, to) = (day(2), day(1));
    let params = json!({"from": from, "to": to, "page_size": 20, "limit": 40});
    let run = env.invoke("list_signin_activities", params);
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.json();
    let logs = out["activity_logs"].as_array().unwrap();
    // Twelve users, a sign-in and a sign-out on each of two days: 48, of which 40.
    assert_eq!(logs.len(), 40);
    assert!(
        logs.iter()
            .all(|l| l["ip_address"].is_string() && l["client_type"].is_string())
    );
    assert!(
        out["next_page_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    let requests = env.api_requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    assert_eq!(requests[0].path, "/v2/report/activities");
    assert_eq!(
        query(&requests[0]),
        vec![
            ("from", from.as_str()),
            ("to", to.as_str()),
            ("page_size", "20")
        ]
    );
    assert_follows_zooms_specs(&env);
}

#[test]
fn list_operation_logs_shows_a_deactivation() {
    let env = Env::new();
    let member = env
        .invoke("list_users", json!({"role_id": "2", "page_size": 1}))
        .json();
    let id = member["users"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        env.invoke("deactivate_user", json!({"user_id": id})).code,
        0
    );
    env.sandbox.clear_requests();
    let (from, to) = (day(7), day(0));
    let params = json!({"from": from, "to": to, "category_type": "user"});
    let run = env.invoke("list_operation_logs", params);
    assert_eq!(run.code, 0, "{run:?}");
    let logs = run.json()["operation_logs"].as_array().unwrap().clone();
    assert_eq!(
        logs[0]["operation_detail"],
        format!("userStatus - {id}").as_str()
    );
    assert_eq!(
        (&logs[0]["action"], &logs[0]["category_type"]),
        (&json!("Update"), &json!("user"))
    );
    let r = env.only_api_request();
    assert_eq!(r.path, "/v2/report/operationlogs");
    assert_eq!(
        query(&r),
        vec![
            ("from", from.as_str()),
            ("to", to.as_str()),
            ("category_type", "user")
        ]
    );
    assert_follows_zooms_specs(&env);
}

#[test]
fn list_meeting_participants_report_by_uuid() {
    let env = Env::new();
    let first = env.sandbox.meeting_ids("me")[0];
    let uuid = env.sandbox.meeting(first).unwrap()["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let params = json!({"meeting_id": uuid, "include_fields": "registrant_id"});
    let run = env.invoke("list_meeting_participants_report", params);
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.json();
    assert_eq!(out["participants"].as_array().map(Vec::len), Some(12));
    assert!(out["participants"][0]["registrant_id"].is_string());
    let r = env.only_api_request();
    let twice = percent_encode(&percent_encode(&uuid));
    assert_eq!(r.path, format!("/v2/report/meetings/{twice}/participants"));
    assert_eq!(query(&r), vec![("include_fields", "registrant_id")]);
    let run = env.invoke(
        "list_meeting_participants_report",
        json!({"meeting_id": 1234}),
    );
    assert_zoom_error(
        &run,
        "error: not found (Zoom 3001): Meeting 1234 not found or has expired.",
    );
    assert_follows_zooms_specs(&env);
}

#[test]
fn wrong_report_params_are_refused_with_their_path_before_anything_is_sent() {
    let env = Env::new();
    let cases = [
        (
            "list_signin_activities",
            json!({"from": "2024-13-01", "to": "2024-01-02"}),
            "param `from`",
        ),
        (
            "list_signin_activities",
            json!({"to": "2024-01-02"}),
            "param `to` needs `from`",
        ),
        (
            "list_signin_activities",
            json!({"from": "2024-01-01", "to": "2024-02-02"}),
            "more than one month",
        ),
        (
            "list_signin_activities",
            json!({"page_size": 0}),
            "param `page_size`",
        ),
        (
            "list_operation_logs",
            json!({"from": "2024-01-01"}),
            "missing required param `to`",
        ),
        (
            "list_operation_logs",
            json!({"from": "2024-01-01", "to": "2024-01-02", "category_type": "meeting"}),
            "param `category_type` must be one of",
        ),
        (
            "list_meeting_participants_report",
            json!({}),
            "missing required param `meeting_id`",
        ),
        (
            "list_meeting_participants_report",
            json!({"meeting_id": 1, "include_fields": "ip_address"}),
            "param `include_fields` must be one of \"registrant_id\"",
        ),
    ];
    for (action, params, needle) in cases {
        let run = env.invoke(action, params);
        assert_rejected(&env, &run, needle);
    }
}
