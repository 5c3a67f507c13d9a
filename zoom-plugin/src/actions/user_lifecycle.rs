//! Users' lifecycle: the containment steps when an account is stolen (sign
//! it out everywhere, deactivate it, remove it) and provisioning (create,
//! reactivate). Zoom answers the changes with `204 No Content`; each action
//! answers a named result instead, the same for every run.

use serde_json::{Value, json};
use soar_plugin_sdk::{Action, ActionError, schema};

use super::common::user_id;
use crate::client::Client;
use crate::params::Params;
use crate::schemas;

// Scopes as endpoints-summary.json lists them per operation, classic then
// granular; any one suffices.
const REVOKE_TOKEN: &[&str] = &[
    "user:write:admin",
    "user:write",
    "user:delete:token",
    "user:delete:token:admin",
];
const UPDATE_STATUS: &[&str] = &[
    "user:write:admin",
    "user:write",
    "user:update:status",
    "user:update:status:admin",
];
const DELETE_USER: &[&str] = &[
    "user:write:admin",
    "user:write",
    "user:delete:user",
    "user:delete:user:admin",
];
const CREATE_USER: &[&str] = &["user:write", "user:write:admin", "user:write:user:admin"];

/// What `DELETE /users/{userId}` can hand over to `transfer_email` (Zoom's
/// 2025 User spec), each a boolean query parameter.
const TRANSFERS: &[(&str, &str)] = &[
    ("transfer_meeting", "Transfer the user's upcoming meetings"),
    ("transfer_webinar", "Transfer the user's upcoming webinars"),
    ("transfer_recording", "Transfer the user's cloud recordings"),
    (
        "transfer_whiteboard",
        "Transfer the user's Zoom Whiteboard data",
    ),
    ("transfer_clipfiles", "Transfer the user's clips"),
    ("transfer_notes", "Transfer the user's notes"),
    ("transfer_visitors", "Transfer the user's visitors"),
    ("transfer_docs", "Transfer the user's docs"),
];

pub fn actions() -> Vec<Action<Client>> {
    vec![
        Action::containment("revoke_user_sessions", "Revoke user sessions")
            .description(
                "Sign a user out of every Zoom client and the web portal (revokes their SSO token): \
                 the first step when an account is stolen",
            )
            .operation("DELETE /users/{userId}/token")
            .scopes(REVOKE_TOKEN)
            .params_with(|| schema::params(user_id(), &["user_id"]))
            .output(|| outcome(&["user_id", "sessions_revoked", "message"]))
            // Signing out twice leaves the user signed out.
            .idempotent(true)
            .run(revoke_sessions),
        status_action(&DEACTIVATE),
        status_action(&ACTIVATE),
        Action::containment("delete_user", "Delete user")
            .description(
                "Disassociate a user from the account (they keep a free Zoom account) or delete \
                 them for good, optionally handing their meetings, webinars, recordings and more \
                 to another user first",
            )
            .operation("DELETE /users/{userId}")
            .scopes(DELETE_USER)
            .params_with(delete_params)
            .output(|| outcome(&["user_id", "action", "deleted", "message"]))
            // Not safe to repeat: the second answers not-found, so a retry after an
            // ambiguous failure (it may have reached Zoom) would report as failed
            // what was done. A caller checks the state instead of retrying.
            .idempotent(false)
            .run(delete),
        Action::containment("create_user", "Create user")
            .description(
                "Add a user to the account; `action` says how (`create` emails them an invitation)",
            )
            .operation("POST /users")
            .scopes(CREATE_USER)
            .params_with(create_params)
            .output(|| outcome(&["id", "email", "type"]))
            .run(create),
    ]
}

/// The output schema of a result object with these fields, all present.
fn outcome(fields: &[&str]) -> Value {
    json!({"type": "object", "required": fields})
}

/// One of `PUT /users/{userId}/status`'s actions, and what it leaves.
struct StatusChange {
    name: &'static str,
    title: &'static str,
    description: &'static str,
    action: &'static str,
    /// The user's `status` afterwards, as `get_user` and `list_users` show it.
    status: &'static str,
    done: &'static str,
}

const DEACTIVATE: StatusChange = StatusChange {
    name: "deactivate_user",
    title: "Deactivate user",
    description: "Deactivate a user: they can no longer sign in, and lose their licenses",
    action: "deactivate",
    status: "inactive",
    done: "deactivated",
};
const ACTIVATE: StatusChange = StatusChange {
    name: "activate_user",
    title: "Activate user",
    description: "Reactivate a deactivated user: they can sign in again",
    action: "activate",
    status: "active",
    done: "activated",
};

/// The action that makes `change`: both set a state, so repeating is safe.
fn status_action(change: &'static StatusChange) -> Action<Client> {
    Action::containment(change.name, change.title)
        .description(change.description)
        .operation("PUT /users/{userId}/status")
        .scopes(UPDATE_STATUS)
        .params_with(|| schema::params(user_id(), &["user_id"]))
        .output(|| outcome(&["user_id", "action", "status", "message"]))
        .idempotent(true)
        .run(move |client: &mut Client, params: Params| set_status(client, params, change))
}

fn delete_params() -> Value {
    let mut options = json!({
        "action": {
            "type": "string",
            "enum": ["disassociate", "delete"],
            "default": "disassociate",
            "description": "disassociate: unlink the user (also how a pending user is removed); \
                            delete: remove the user and their data for good",
        },
        "encrypted_email": {
            "type": "boolean",
            "description": "Whether user_id is an encrypted email address",
        },
        "transfer_email": {
            "type": "string",
            "format": "email",
            "description": "The user who receives what the transfer_* params hand over \
                            (Zoom requires it when the user has Zoom Events)",
        },
    });
    for (name, description) in TRANSFERS {
        options[*name] = json!({"type": "boolean", "description": description});
    }
    let mut params = schema::params(schema::merge([user_id(), options]), &["user_id"]);
    // A transfer needs someone to transfer to.
    let rules: Vec<Value> = TRANSFERS
        .iter()
        .map(|(name, _)| {
            json!({
                "if": {"properties": {*name: {"const": true}}, "required": [name]},
                "then": {"required": ["transfer_email"]},
            })
        })
        .collect();
    params["allOf"] = rules.into();
    params
}

/// Zoom's body as params. Zoom's spec requires only `action`; without
/// `user_info` there is no one to create, so both are required here.
fn create_params() -> Value {
    let mut body = schemas::user_create();
    body["properties"]["user_info"]["description"] =
        "The new user: email and type are required; password only with autoCreate".into();
    schema::params(schemas::properties(body), &["action", "user_info"])
}

fn revoke_sessions(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let user_id = params.string("user_id")?;
    let path = format!("users/{}/token", params.segment("user_id")?);
    client.call("DELETE", &path, &[], None)?;
    Ok(json!({
        "user_id": user_id,
        "sessions_revoked": true,
        "message": format!("User {user_id} is signed out of every Zoom client"),
    }))
}

fn set_status(
    client: &mut Client,
    params: Params,
    change: &StatusChange,
) -> Result<Value, ActionError> {
    let user_id = params.string("user_id")?;
    let path = format!("users/{}/status", params.segment("user_id")?);
    let body = json!({"action": change.action});
    client.call("PUT", &path, &[], Some(&body))?;
    Ok(json!({
        "user_id": user_id,
        "action": change.action,
        "status": change.status,
        "message": format!("User {user_id} {}", change.done),
    }))
}

fn delete(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let user_id = params.string("user_id")?;
    let action = params
        .opt_string("action")?
        .unwrap_or_else(|| "disassociate".into());
    let mut names = vec!["action", "encrypted_email", "transfer_email"];
    names.extend(TRANSFERS.iter().map(|(name, _)| *name));
    let path = format!("users/{}", params.segment("user_id")?);
    client.call("DELETE", &path, &params.query(&names)?, None)?;
    let done = match action.as_str() {
        "delete" => "deleted",
        _ => "disassociated from the account",
    };
    let mut result = json!({
        "user_id": user_id,
        "action": action,
        "deleted": true,
        "message": format!("User {user_id} {done}"),
    });
    if let Some(to) = params.opt_string("transfer_email")? {
        result["transfer_email"] = to.into();
    }
    Ok(result)
}

/// Zoom's answer (`id`, `email`, names, `type`) is the result.
fn create(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let body = params.body_without(&[]);
    client.call("POST", "users", &[], Some(&Value::Object(body)))
}
