//! Users and their settings.

use serde_json::{Value, json};
use soar_plugin_sdk::{Action, ActionError, Output, schema};

use super::common::{login_type, paging, user_id};
use super::paging::{MAX_USERS_PAGE_SIZE, list as list_pages};
use crate::client::Client;
use crate::errors::invalid_input;
use crate::params::Params;
use crate::schemas;

// Scopes as endpoints-summary.json lists them per operation, classic then
// granular; any one suffices.
const GET_USER: &[&str] = &[
    "user:read",
    "user:write",
    "user:read:admin",
    "user:write:admin",
    "user_profile",
    "user_info:read",
    "user:read:user",
    "user:read:user:admin",
];
const LIST_USERS: &[&str] = &[
    "user:read",
    "user:write",
    "user:read:admin",
    "user:write:admin",
    "user:read:list_users:admin",
];
const UPDATE_USER: &[&str] = &[
    "user:write:admin",
    "user:write",
    "user:update:user",
    "user:update:user:admin",
];
const GET_SETTINGS: &[&str] = &[
    "user:read",
    "user:write",
    "user:read:admin",
    "user:write:admin",
    "user:read:settings",
    "user:read:settings:admin",
];
const UPDATE_SETTINGS: &[&str] = &[
    "user:write:admin",
    "user:write",
    "user:update:settings",
    "user:update:settings:admin",
];

const SETTINGS_OPTIONS: &[&str] = &[
    "meeting_authentication",
    "recording_authentication",
    "meeting_security",
];

pub fn actions() -> Vec<Action<Client>> {
    vec![
        Action::enrichment("get_user", "Get user")
            .description("A user's profile: name, email, type, status, timezone, PMI, last login")
            .operation("GET /users/{userId}")
            .scopes(GET_USER)
            .params_with(|| schema::params(schema::merge([user_id(), login_type()]), &["user_id"]))
            .run(get),
        Action::enrichment("list_users", "List users")
            .description("The account's users, a page at a time or up to `limit`")
            .operation("GET /users")
            .scopes(LIST_USERS)
            .params_with(list_params)
            .run(list),
        Action::containment("update_user", "Update user")
            .description("Change a user's profile; only the fields given are sent")
            .operation("PATCH /users/{userId}")
            .scopes(UPDATE_USER)
            .params_with(update_params)
            // A PATCH sets fields to the values given: twice is once.
            .idempotent(true)
            .run(update),
        Action::enrichment("get_user_settings", "Get user settings")
            .description("A user's meeting, recording, feature and security settings")
            .operation("GET /users/{userId}/settings")
            .scopes(GET_SETTINGS)
            .params_with(get_settings_params)
            .run(get_settings),
        Action::containment("update_user_settings", "Update user settings")
            .description("Change a user's settings; `settings` is Zoom's PATCH body")
            .operation("PATCH /users/{userId}/settings")
            .scopes(UPDATE_SETTINGS)
            .params_with(update_settings_params)
            .idempotent(true)
            .run(update_settings),
    ]
}

fn list_params() -> Value {
    let filters = json!({
        "status": {
            "type": "string",
            "enum": ["active", "inactive", "pending"],
            "default": "active",
            "description": "Which users to list",
        },
        "role_id": {"type": "string", "description": "Only users of this role"},
    });
    schema::params(schema::merge([filters, paging(MAX_USERS_PAGE_SIZE)]), &[])
}

fn update_params() -> Value {
    let fields = schemas::properties(schemas::user_update());
    schema::params(
        schema::merge([user_id(), login_type(), fields]),
        &["user_id"],
    )
}

fn option(description: &str) -> Value {
    json!({"option": {"type": "string", "enum": SETTINGS_OPTIONS, "description": description}})
}

fn get_settings_params() -> Value {
    let custom = json!({"custom_query_fields": {
        "type": "string",
        "description": "Comma-separated settings fields to return, e.g. in_meeting,recording",
    }});
    let properties = schema::merge([
        user_id(),
        option("Which settings to return"),
        login_type(),
        custom,
    ]);
    schema::params(properties, &["user_id"])
}

fn update_settings_params() -> Value {
    let mut settings = schemas::user_settings();
    settings["description"] =
        "The settings to change, e.g. {\"in_meeting\": {\"chat\": false}}".into();
    let properties = schema::merge([
        user_id(),
        option("Which settings the body updates"),
        json!({"settings": settings}),
    ]);
    schema::params(properties, &["user_id", "settings"])
}

/// Zoom's answer is the result: passed on as it came.
fn get(client: &mut Client, params: Params) -> Result<Output, ActionError> {
    let path = format!("users/{}", params.segment("user_id")?);
    let query = params.query(&["login_type"])?;
    client.call_verbatim("GET", &path, &query)
}

fn list(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let query = params.query(&["status", "role_id"])?;
    list_pages(
        client,
        "users",
        "users",
        query,
        &params,
        MAX_USERS_PAGE_SIZE,
    )
}

fn update(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let user_id = params.string("user_id")?;
    let body = params.body_without(&["user_id", "login_type"]);
    let known = schema::property_names(&schemas::user_update());
    if let Some(unknown) = body.keys().find(|k| !known.contains(k)) {
        return Err(invalid_input(format!(
            "`{unknown}` is not a field of Zoom's user update"
        )));
    }
    if body.is_empty() {
        return Err(invalid_input(
            "give at least one field to change, e.g. first_name or type",
        ));
    }
    let fields: Vec<String> = body.keys().cloned().collect();
    let path = format!("users/{}", params.segment("user_id")?);
    let query = params.query(&["login_type"])?;
    client.call("PATCH", &path, &query, Some(&Value::Object(body)))?;
    Ok(json!({
        "updated": true,
        "user_id": user_id,
        "fields": fields,
        "message": format!("User {user_id} updated"),
    }))
}

fn get_settings(client: &mut Client, params: Params) -> Result<Output, ActionError> {
    let path = format!("users/{}/settings", params.segment("user_id")?);
    let query = params.query(&["option", "login_type", "custom_query_fields"])?;
    client.call_verbatim("GET", &path, &query)
}

fn update_settings(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let user_id = params.string("user_id")?;
    let settings = match params.get("settings") {
        Some(Value::Object(map)) if !map.is_empty() => Value::Object(map.clone()),
        _ => {
            return Err(invalid_input(
                "param `settings` must be a non-empty JSON object, e.g. {\"in_meeting\": {\"chat\": false}}",
            ));
        }
    };
    let sections: Vec<String> = settings
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let path = format!("users/{}/settings", params.segment("user_id")?);
    let query = params.query(&["option"])?;
    client.call("PATCH", &path, &query, Some(&settings))?;
    Ok(json!({
        "updated": true,
        "user_id": user_id,
        "sections": sections,
        "message": format!("Settings of user {user_id} updated"),
    }))
}
