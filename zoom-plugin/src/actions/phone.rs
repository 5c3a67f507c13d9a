//! Zoom Phone's call history, the account's or one user's: who called
//! whom, when, for how long, with what result. Over at most a month of
//! dates, a page at a time or up to `limit`. `call_history` is Zoom's
//! current call; the older `call_logs` calls are deprecated in its spec.

use serde_json::{Value, json};
use soar_plugin_sdk::{Action, ActionError, schema};

use super::common::{paging, user_id};
use super::dates;
use super::paging::{MAX_PAGE_SIZE, list as list_pages};
use crate::client::Client;
use crate::params::Params;

// As endpoints-summary-phone-chat.json lists them, classic then granular.
const ACCOUNT_CALL_HISTORY: &[&str] = &[
    "phone:read:admin",
    "phone_call_log:read:admin",
    "phone:read:list_call_logs:admin",
];
const USER_CALL_HISTORY: &[&str] = &[
    "phone:read:admin",
    "phone_call_log:read",
    "phone:read:list_call_logs:admin",
    "phone:read:list_call_logs",
];

/// The array filters both calls take, with Zoom's values; `call_results`
/// differs between them.
const DIRECTIONS: &[&str] = &["inbound", "outbound"];
const CONNECT_TYPES: &[&str] = &["internal", "external"];
const CALL_TYPES: &[&str] = &["general", "emergency"];
const ACCOUNT_CALL_RESULTS: &[&str] = &[
    "answered",
    "accepted",
    "picked_up",
    "connected",
    "succeeded",
    "voicemail",
    "hang_up",
    "canceled",
    "call_failed",
    "unconnected",
    "rejected",
    "busy",
    "ring_timeout",
    "overflowed",
    "no_answer",
    "invalid_key",
    "invalid_operation",
    "abandoned",
    "system_blocked",
    "service_unavailable",
];
const USER_CALL_RESULTS: &[&str] = &[
    "answered",
    "connected",
    "voicemail",
    "hang_up",
    "no_answer",
    "invalid_operation",
    "abandoned",
    "blocked",
    "service_unavailable",
];

const ARRAY_FILTERS: &[&str] = &["directions", "connect_types", "call_types", "call_results"];
const TEXT_FILTERS: &[&str] = &[
    "keyword",
    "time_type",
    "recording_status",
    "with_voicemail",
    "department",
    "cost_center",
];

pub fn actions() -> Vec<Action<Client>> {
    vec![
        Action::enrichment("list_call_history", "List call history")
            .description(
                "The account's Zoom Phone calls: caller, callee, direction, start, duration and result; \
                 over at most a month, by direction, connection, call type or result",
            )
            .operation("GET /phone/call_history")
            .scopes(ACCOUNT_CALL_HISTORY)
            .params_with(|| history_params(false))
            .output(output)
            .run(account_history),
        Action::enrichment("list_user_call_history", "List user call history")
            .description(
                "One user's Zoom Phone calls, seen from their side: who they called and who called them, \
                 when, for how long, with what result; over at most a month",
            )
            .operation("GET /phone/users/{userId}/call_history")
            .scopes(USER_CALL_HISTORY)
            .params_with(|| history_params(true))
            .output(output)
            .run(user_history),
    ]
}

fn output() -> Value {
    json!({
        "type": "object",
        "required": ["call_logs"],
        "properties": {
            "call_logs": {"type": "array", "items": {"type": "object"}},
            "next_page_token": {"type": "string"},
        },
    })
}

fn list_of(values: &[&str], description: &str) -> Value {
    json!({
        "type": "array",
        "items": {"type": "string", "enum": values},
        "uniqueItems": true,
        "description": format!("{description}: {}", values.join(", ")),
    })
}

fn history_params(for_user: bool) -> Value {
    let results = if for_user {
        USER_CALL_RESULTS
    } else {
        ACCOUNT_CALL_RESULTS
    };
    let filters = json!({
        "time_type": {
            "type": "string",
            "enum": ["start_time", "end_time"],
            "default": "start_time",
            "description": "Whether `from` and `to` bound the calls' start or end",
        },
        "directions": list_of(DIRECTIONS, "Only calls of these directions"),
        "connect_types": list_of(CONNECT_TYPES, "Only internal or external calls"),
        "call_types": list_of(CALL_TYPES, "Only general or emergency calls"),
        "call_results": list_of(results, "Only calls with these results"),
        "keyword": {
            "type": "string",
            "minLength": 1,
            "description": "Only calls whose name, extension, number, email or call ID match",
        },
        "recording_status": {
            "type": "string",
            "enum": ["recorded", "non_recorded"],
            "description": "Only recorded calls, or only calls not recorded",
        },
        "with_voicemail": {"type": "boolean", "description": "Only calls with a voicemail"},
        "department": {"type": "string", "minLength": 1, "description": "Only calls of this department"},
        "cost_center": {"type": "string", "minLength": 1, "description": "Only calls of this cost center"},
    });
    let mut parts = Vec::new();
    if for_user {
        parts.push(user_id());
    }
    parts.extend([dates::range("call history"), filters, paging(MAX_PAGE_SIZE)]);
    let required: &[&str] = if for_user { &["user_id"] } else { &[] };
    schema::params(schema::merge(parts), required)
}

fn query(params: &Params) -> Result<Vec<(String, String)>, ActionError> {
    let mut query = dates::query(params)?;
    query.extend(params.query(TEXT_FILTERS)?);
    query.extend(params.array_query(ARRAY_FILTERS)?);
    Ok(query)
}

fn account_history(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let query = query(&params)?;
    let answer = list_pages(
        client,
        "phone/call_history",
        "call_logs",
        query,
        &params,
        MAX_PAGE_SIZE,
    )?;
    Ok(single_page_only(answer, "call_history"))
}

fn user_history(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let path = format!("phone/users/{}/call_history", params.segment("user_id")?);
    let query = query(&params)?;
    let answer = list_pages(client, &path, "call_logs", query, &params, MAX_PAGE_SIZE)?;
    Ok(single_page_only(answer, "call_elements"))
}

/// Zoom answers a second array next to `call_logs` (`call_history`,
/// `call_elements`); the pages are followed by `call_logs`, so once several
/// are gathered the other array would hold the last page's only: it is left
/// out rather than answered short.
fn single_page_only(mut answer: Value, other: &str) -> Value {
    let several = answer
        .get("pages_fetched")
        .and_then(Value::as_u64)
        .is_some_and(|n| n > 1);
    if several && let Some(map) = answer.as_object_mut() {
        map.remove(other);
    }
    answer
}
