//! Webinars: the meeting actions' equivalents on Zoom's webinar paths (the
//! same helpers, given [`WEBINAR`]), ending one in progress, its registrants
//! (see `registrants`) and its panelists (see `panelists`).

use serde_json::{Value, json};
use soar_plugin_sdk::{Action, ActionError, schema};

use super::common::{WEBINAR, user_id, webinar_id};
use super::meetings::{create, delete, get, occurrence, update};
use super::paging::{MAX_PAGE_SIZE, list_numbered};
use super::{meeting_status, panelists, registrants};
use crate::client::Client;
use crate::params::Params;
use crate::schemas;

// Scopes as endpoints-summary.json lists them; its Webinar rows (Zoom's
// 2024-03 spec) carry no granular scopes.
pub const WEBINAR_READ: &[&str] = &["webinar:read", "webinar:read:admin"];
pub const WEBINAR_WRITE: &[&str] = &["webinar:write", "webinar:write:admin"];

pub fn actions() -> Vec<Action<Client>> {
    let mut actions = vec![
        Action::enrichment("list_webinars", "List webinars")
            .description("Webinars a user hosts, a page at a time or up to `limit`")
            .operation("GET /users/{userId}/webinars")
            .scopes(WEBINAR_READ)
            .params_with(list_params)
            .run(list),
        Action::enrichment("get_webinar", "Get webinar")
            .description("A webinar's details: topic, host, start time, join URL, settings, occurrences")
            .operation("GET /webinars/{webinarId}")
            .scopes(WEBINAR_READ)
            .params_with(get_params)
            .run(|client: &mut Client, params: Params| get(client, params, &WEBINAR)),
        Action::containment("create_webinar", "Create webinar")
            .description("Schedule a webinar for a user; the result is Zoom's new webinar, with its join URL")
            .operation("POST /users/{userId}/webinars")
            .scopes(WEBINAR_WRITE)
            .params_with(create_params)
            .output(move || json!({"type": "object", "required": ["id", "join_url"]}))
            .run(|client: &mut Client, params: Params| create(client, params, &WEBINAR)),
        Action::containment("update_webinar", "Update webinar")
            .description("Change a webinar; only the fields given are sent")
            .operation("PATCH /webinars/{webinarId}")
            .scopes(WEBINAR_WRITE)
            .params_with(update_params)
            .output(move || json!({"type": "object", "required": ["webinar_id", "updated", "fields", "message"]}))
            // A PATCH sets fields to the values given: twice is once.
            .idempotent(true)
            .run(|client: &mut Client, params: Params| update(client, params, &WEBINAR)),
        Action::containment("delete_webinar", "Delete webinar")
            .description("Delete a webinar, or one occurrence of a recurring webinar")
            .operation("DELETE /webinars/{webinarId}")
            .scopes(WEBINAR_WRITE)
            .params_with(delete_params)
            .output(move || json!({"type": "object", "required": ["webinar_id", "deleted", "message"]}))
            // Not safe to repeat: the second answers not-found, so a retry after an
            // ambiguous failure (it may have reached Zoom) would report as failed
            // what was done. A caller checks the state instead of retrying.
            .idempotent(false)
            .run(|client: &mut Client, params: Params| {
                delete(client, params, &WEBINAR, &["cancel_webinar_reminder"])
            }),
        meeting_status::end_webinar(),
    ];
    actions.extend(registrants::webinar_actions());
    actions.extend(panelists::actions());
    actions
}

fn list_params() -> Value {
    let filters = json!({
        "type": {
            "type": "string",
            "enum": ["scheduled", "upcoming"],
            "default": "scheduled",
            "description": "Which webinars to list",
        },
    });
    // Zoom pages this list by number: the operation takes no next_page_token.
    let paging = json!({
        "page_size": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_PAGE_SIZE,
            "description": format!("Records per page Zoom returns (Zoom's default 30, max {MAX_PAGE_SIZE})"),
        },
        "page_number": {
            "type": "integer",
            "minimum": 1,
            "description": "Start from this page (Zoom's default 1)",
        },
        "limit": {
            "type": "integer",
            "minimum": 1,
            "description": "Follow the pages until this many records are gathered or the pages end",
        },
    });
    let properties = schema::merge([user_id(), filters, paging]);
    schema::params(properties, &["user_id"])
}

fn get_params() -> Value {
    let previous = json!({"show_previous_occurrences": {
        "type": "boolean",
        "description": "List the occurrences of a recurring webinar that are already past too",
    }});
    // Zoom's operation takes a webinar ID or UUID.
    let id = WEBINAR.instance_param("The webinar ID, or a webinar UUID");
    let properties = schema::merge([
        id,
        occurrence("Only this occurrence of a recurring webinar"),
        previous,
    ]);
    schema::params(properties, &["webinar_id"])
}

fn create_params() -> Value {
    let fields = schemas::properties(schemas::webinar_create());
    schema::params(schema::merge([user_id(), fields]), &["user_id"])
}

fn update_params() -> Value {
    let fields = schemas::properties(schemas::webinar_update());
    let properties = schema::merge([
        webinar_id(),
        occurrence("Update only this occurrence of a recurring webinar"),
        fields,
    ]);
    schema::params(properties, &["webinar_id"])
}

fn delete_params() -> Value {
    let reminder = json!({"cancel_webinar_reminder": {
        "type": "boolean",
        "description": "Email the panelists and registrants about the cancellation",
    }});
    let properties = schema::merge([
        webinar_id(),
        occurrence("Delete only this occurrence"),
        reminder,
    ]);
    schema::params(properties, &["webinar_id"])
}

fn list(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let path = format!("users/{}/webinars", params.segment("user_id")?);
    let query = params.query(&["type"])?;
    list_numbered(client, &path, "webinars", query, &params, MAX_PAGE_SIZE)
}
