//! Meetings.

use serde_json::{Value, json};
use soar_plugin_sdk::{Action, ActionError, Output, schema};

use super::common::{Event, MEETING, meeting_id, paging, user_id};
use super::paging::{MAX_PAGE_SIZE, list as list_pages};
use crate::client::Client;
use crate::errors::invalid_input;
use crate::params::Params;
use crate::schemas;

// Scopes as endpoints-summary.json lists them; its Meeting rows (Zoom's
// 2024-03 spec) carry no granular scopes.
pub const MEETING_READ: &[&str] = &["meeting:read", "meeting:read:admin"];
pub const MEETING_WRITE: &[&str] = &["meeting:write", "meeting:write:admin"];

pub fn actions() -> Vec<Action<Client>> {
    vec![
        Action::enrichment("list_meetings", "List meetings")
            .description("Meetings a user hosts, a page at a time or up to `limit`")
            .operation("GET /users/{userId}/meetings")
            .scopes(MEETING_READ)
            .params_with(list_params)
            .run(list),
        Action::enrichment("get_meeting", "Get meeting")
            .description(
                "A meeting's details: topic, host, start time, join URL, settings, occurrences",
            )
            .operation("GET /meetings/{meetingId}")
            .scopes(MEETING_READ)
            .params_with(get_params)
            .run(|client: &mut Client, params: Params| get(client, params, &MEETING)),
        Action::containment("create_meeting", "Create meeting")
            .description("Schedule a meeting for a user; the result is Zoom's new meeting, with its join URL")
            .operation("POST /users/{userId}/meetings")
            .scopes(MEETING_WRITE)
            .params_with(create_params)
            .output(move || json!({"type": "object", "required": ["id", "join_url"]}))
            .run(|client: &mut Client, params: Params| create(client, params, &MEETING)),
        Action::enrichment("get_meeting_invitation", "Get meeting invitation")
            .description("The invitation text of a meeting, with its join links")
            .operation("GET /meetings/{meetingId}/invitation")
            .scopes(MEETING_READ)
            .params_with(|| schema::params(meeting_id(), &["meeting_id"]))
            .run(invitation),
        Action::containment("update_meeting", "Update meeting")
            .description("Change a meeting; only the fields given are sent")
            .operation("PATCH /meetings/{meetingId}")
            .scopes(MEETING_WRITE)
            .params_with(update_params)
            // A PATCH sets fields to the values given: twice is once.
            .idempotent(true)
            .run(|client: &mut Client, params: Params| update(client, params, &MEETING)),
        Action::containment("delete_meeting", "Delete meeting")
            .description("Delete a meeting, or one occurrence of a recurring meeting")
            .operation("DELETE /meetings/{meetingId}")
            .scopes(MEETING_WRITE)
            .params_with(delete_params)
            // Not safe to repeat: the second answers not-found, so a retry after an
            // ambiguous failure (it may have reached Zoom) would report as failed
            // what was done. A caller checks the state instead of retrying.
            .idempotent(false)
            .run(|client: &mut Client, params: Params| {
                delete(client, params, &MEETING, &["schedule_for_reminder", "cancel_meeting_reminder"])
            }),
    ]
}

pub(super) fn occurrence(description: &str) -> Value {
    json!({"occurrence_id": {"type": "string", "minLength": 1, "description": description}})
}

fn list_params() -> Value {
    let filters = json!({
        "type": {
            "type": "string",
            "enum": ["scheduled", "live", "upcoming", "upcoming_meetings", "previous_meetings"],
            "default": "scheduled",
            "description": "Which meetings to list",
        },
        "from": {"type": "string", "description": "Start date, yyyy-mm-dd"},
        "to": {"type": "string", "description": "End date, yyyy-mm-dd"},
    });
    let properties = schema::merge([user_id(), filters, paging(MAX_PAGE_SIZE)]);
    schema::params(properties, &["user_id"])
}

fn get_params() -> Value {
    let previous = json!({"show_previous_occurrences": {
        "type": "boolean",
        "description": "List the occurrences of a recurring meeting that are already past too",
    }});
    let properties = schema::merge([
        meeting_id(),
        occurrence("Only this occurrence of a recurring meeting"),
        previous,
    ]);
    schema::params(properties, &["meeting_id"])
}

fn create_params() -> Value {
    let fields = schemas::properties(schemas::meeting_create());
    schema::params(schema::merge([user_id(), fields]), &["user_id"])
}

fn update_params() -> Value {
    let fields = schemas::properties(schemas::meeting_update());
    let properties = schema::merge([
        meeting_id(),
        occurrence("Update only this occurrence of a recurring meeting"),
        fields,
    ]);
    schema::params(properties, &["meeting_id"])
}

fn delete_params() -> Value {
    let reminders = json!({
        "schedule_for_reminder": {
            "type": "boolean",
            "description": "Email the host and alternative hosts about the cancellation",
        },
        "cancel_meeting_reminder": {
            "type": "boolean",
            "description": "Email the registrants about the cancellation",
        },
    });
    let properties = schema::merge([
        meeting_id(),
        occurrence("Delete only this occurrence"),
        reminders,
    ]);
    schema::params(properties, &["meeting_id"])
}

fn list(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let path = format!("users/{}/meetings", params.segment("user_id")?);
    let query = params.query(&["type", "from", "to"])?;
    list_pages(client, &path, "meetings", query, &params, MAX_PAGE_SIZE)
}

/// Zoom's answer is the result: passed on as it came. A meeting's, or a
/// webinar's (by ID or UUID, which that operation also takes).
pub(super) fn get(
    client: &mut Client,
    params: Params,
    event: &Event,
) -> Result<Output, ActionError> {
    let segment = event.segment(&params)?;
    let query = params.query(&["occurrence_id", "show_previous_occurrences"])?;
    client.call_verbatim("GET", &format!("{}/{segment}", event.collection), &query)
}

/// Zoom's 201 answer, the meeting (or webinar) as created, is the result.
pub(super) fn create(
    client: &mut Client,
    params: Params,
    event: &Event,
) -> Result<Value, ActionError> {
    let path = format!("users/{}/{}", params.segment("user_id")?, event.collection);
    let body = params.body_without(&["user_id"]);
    client.call("POST", &path, &[], Some(&Value::Object(body)))
}

fn invitation(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let id = params.meeting_id()?;
    let mut body = client.call("GET", &format!("meetings/{id}/invitation"), &[], None)?;
    if let Value::Object(map) = &mut body {
        map.insert("meeting_id".into(), id.into());
    }
    Ok(body)
}

/// A PATCH of a meeting or a webinar: only the fields given, all of them fields of Zoom's update.
pub(super) fn update(
    client: &mut Client,
    params: Params,
    event: &Event,
) -> Result<Value, ActionError> {
    let id = event.id(&params)?;
    let body = params.body_without(&[event.param, "occurrence_id"]);
    let known = schema::property_names(&(event.update_body)());
    if let Some(unknown) = body.keys().find(|k| !known.contains(k)) {
        return Err(invalid_input(format!(
            "`{unknown}` is not a field of Zoom's {} update",
            event.noun
        )));
    }
    if body.is_empty() {
        return Err(invalid_input(
            "give at least one field to change, e.g. topic or start_time",
        ));
    }
    let fields: Vec<String> = body.keys().cloned().collect();
    let query = params.query(&["occurrence_id"])?;
    client.call(
        "PATCH",
        &format!("{}/{id}", event.collection),
        &query,
        Some(&Value::Object(body)),
    )?;
    Ok(json!({
        "updated": true,
        event.param: id,
        "fields": fields,
        "message": format!("{} {id} updated", event.title),
    }))
}

/// Deletes a meeting or a webinar, or one occurrence; `reminders` are the query flags of Zoom's
/// operation that say whom to email.
pub(super) fn delete(
    client: &mut Client,
    params: Params,
    event: &Event,
    reminders: &[&str],
) -> Result<Value, ActionError> {
    let id = event.id(&params)?;
    let mut names = vec!["occurrence_id"];
    names.extend(reminders);
    let query = params.query(&names)?;
    client.call(
        "DELETE",
        &format!("{}/{id}", event.collection),
        &query,
        None,
    )?;
    let mut result = json!({
        "deleted": true,
        event.param: id,
        "message": format!("{} {id} deleted", event.title),
    });
    if let Some(occurrence) = params.opt_string("occurrence_id")? {
        result["occurrence_id"] = occurrence.clone().into();
        result["message"] =
            format!("Occurrence {occurrence} of {} {id} deleted", event.noun).into();
    }
    Ok(result)
}
