//! A meeting's registrants: who asked to attend, approving or turning them
//! away (many at once), adding and removing one. After a zoom-bombing, the
//! way to let only known people back in.

use serde_json::{Value, json};
use soar_plugin_sdk::{Action, ActionError, schema};

use super::common::{meeting_id, paging};
use super::meetings::{MEETING_READ, MEETING_WRITE};
use super::paging::{MAX_PAGE_SIZE, list as list_pages};
use crate::client::Client;
use crate::params::Params;
use crate::schemas;

pub fn actions() -> Vec<Action<Client>> {
    vec![
        Action::enrichment("list_meeting_registrants", "List meeting registrants")
            .description("A meeting's registrants of one status, a page at a time or up to `limit`")
            .operation("GET /meetings/{meetingId}/registrants")
            .scopes(MEETING_READ)
            .params_with(list_params)
            .run(list),
        Action::containment("add_meeting_registrant", "Add meeting registrant")
            .description(
                "Register someone for a meeting; the result is Zoom's answer, with their \
                 registrant_id and join URL",
            )
            .operation("POST /meetings/{meetingId}/registrants")
            .scopes(MEETING_WRITE)
            .params_with(add_params)
            .output(|| json!({"type": "object", "required": ["id", "registrant_id"]}))
            .run(add),
        Action::containment(
            "update_meeting_registrant_status",
            "Update meeting registrants' status",
        )
        .description("Approve, deny or cancel the registration of up to 30 registrants at once")
        .operation("PUT /meetings/{meetingId}/registrants/status")
        .scopes(MEETING_WRITE)
        .params_with(status_params)
        .output(|| json!({"type": "object", "required": ["meeting_id", "action", "registrants", "message"]}))
        // It sets a status: twice is once.
        .idempotent(true)
        .run(update_status),
        Action::containment("delete_meeting_registrant", "Delete meeting registrant")
            .description("Remove one registrant from a meeting, or from one of its occurrences")
            .operation("DELETE /meetings/{meetingId}/registrants/{registrantId}")
            .scopes(MEETING_WRITE)
            .params_with(delete_params)
            .output(|| json!({"type": "object", "required": ["meeting_id", "registrant_id", "deleted", "message"]}))
            // Deleting twice ends the same (the second answers not-found).
            .idempotent(true)
            .run(delete),
    ]
}

fn occurrence(name: &str, description: &str) -> Value {
    json!({name: {"type": "string", "minLength": 1, "description": description}})
}

fn registrant_id() -> Value {
    json!({"registrant_id": {
        "type": "string",
        "minLength": 1,
        "description": "The registrant's ID, as list_meeting_registrants gives it",
    }})
}

fn list_params() -> Value {
    let status = json!({"status": {
        "type": "string",
        "enum": ["pending", "approved", "denied"],
        "default": "approved",
        "description": "Which registrants to list",
    }});
    let properties = schema::merge([
        meeting_id(),
        occurrence("occurrence_id", "Only this occurrence's registrants"),
        status,
        paging(MAX_PAGE_SIZE),
    ]);
    schema::params(properties, &["meeting_id"])
}

fn add_params() -> Value {
    let body = schemas::meeting_registrant();
    let mut required = vec!["meeting_id"];
    required.extend(schemas::required(&body));
    let occurrences = occurrence(
        "occurrence_ids",
        "Register for these occurrences only (comma-separated occurrence IDs)",
    );
    let properties = schema::merge([meeting_id(), occurrences, schemas::properties(body.clone())]);
    schema::params(properties, &required)
}

fn status_params() -> Value {
    let mut body = schemas::registrant_status();
    let registrants = &mut body["properties"]["registrants"];
    registrants["minItems"] = 1.into();
    // Each names a registrant by its ID or email.
    registrants["items"]["anyOf"] = json!([{"required": ["id"]}, {"required": ["email"]}]);
    registrants["description"] =
        "The registrants, each as {\"id\": ...} or {\"email\": ...} (at most 30)".into();
    let properties = schema::merge([
        meeting_id(),
        occurrence("occurrence_id", "Only this occurrence's registrations"),
        schemas::properties(body),
    ]);
    schema::params(properties, &["meeting_id", "action", "registrants"])
}

fn delete_params() -> Value {
    let properties = schema::merge([
        meeting_id(),
        registrant_id(),
        occurrence("occurrence_id", "Only this occurrence's registration"),
    ]);
    schema::params(properties, &["meeting_id", "registrant_id"])
}

fn list(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let path = format!("meetings/{}/registrants", params.meeting_id()?);
    let query = params.query(&["occurrence_id", "status"])?;
    list_pages(client, &path, "registrants", query, &params, MAX_PAGE_SIZE)
}

/// Zoom's 201 answer is the result.
fn add(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let path = format!("meetings/{}/registrants", params.meeting_id()?);
    let query = params.query(&["occurrence_ids"])?;
    let body = params.body_without(&["meeting_id", "occurrence_ids"]);
    client.call("POST", &path, &query, Some(&Value::Object(body)))
}

fn update_status(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let id = params.meeting_id()?;
    let action = params.string("action")?;
    let registrants = params.get("registrants").cloned().unwrap_or(Value::Null);
    let query = params.query(&["occurrence_id"])?;
    let body = json!({"action": action, "registrants": registrants});
    let path = format!("meetings/{id}/registrants/status");
    client.call("PUT", &path, &query, Some(&body))?;
    let count = registrants.as_array().map_or(0, Vec::len);
    let done = match action.as_str() {
        "approve" => "approved",
        "deny" => "denied",
        _ => "cancelled",
    };
    Ok(json!({
        "meeting_id": id,
        "action": action,
        "registrants": registrants,
        "message": format!("{count} registration(s) of meeting {id} {done}"),
    }))
}

fn delete(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let id = params.meeting_id()?;
    let registrant = params.string("registrant_id")?;
    let path = format!(
        "meetings/{id}/registrants/{}",
        params.segment("registrant_id")?
    );
    client.call("DELETE", &path, &params.query(&["occurrence_id"])?, None)?;
    Ok(json!({
        "meeting_id": id,
        "registrant_id": registrant,
        "deleted": true,
        "message": format!("Registrant {registrant} removed from meeting {id}"),
    }))
}
