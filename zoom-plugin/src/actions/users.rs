//! Users and their settings.

use serde_json::{Value, json};

use super::paging;
use crate::client::Client;
use crate::errors::invalid_input;
use crate::manifest::USER_UPDATE_FIELDS;
use crate::params::Params;
use crate::soar::plugin::types::ActionError;

pub fn get(client: &mut Client, params: &Params) -> Result<String, ActionError> {
    let path = format!("users/{}", params.segment("user_id")?);
    let query = params.query(&["login_type"])?;
    client.call_verbatim("GET", &path, &query)
}

pub fn list(client: &mut Client, params: &Params) -> Result<Value, ActionError> {
    let query = params.query(&["status", "role_id"])?;
    paging::list(client, "users", "users", query, params)
}

pub fn update(client: &mut Client, params: &Params) -> Result<Value, ActionError> {
    let user_id = params.string("user_id")?;
    let body = params.body_without(&["user_id", "login_type"]);
    if let Some(unknown) = body
        .keys()
        .find(|k| !USER_UPDATE_FIELDS.iter().any(|(name, ..)| name == k))
    {
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

pub fn get_settings(client: &mut Client, params: &Params) -> Result<String, ActionError> {
    let path = format!("users/{}/settings", params.segment("user_id")?);
    let query = params.query(&["option", "login_type", "custom_query_fields"])?;
    client.call_verbatim("GET", &path, &query)
}

pub fn update_settings(client: &mut Client, params: &Params) -> Result<Value, ActionError> {
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
