//! Containing a leaked recording: take it off public sharing, move it (or
//! one file) to the trash or delete it for good, and bring back what was
//! trashed by mistake. Zoom answers `204 No Content`; each action answers a
//! named result.

use serde_json::{Value, json};
use soar_plugin_sdk::{Action, ActionError, schema};

use super::common::{meeting_instance, meeting_key, meeting_segment};
use super::recordings::{RECORDING_READ, RECORDING_WRITE};
use crate::client::Client;
use crate::errors::invalid_input;
use crate::params::Params;
use crate::schemas;

pub fn actions() -> Vec<Action<Client>> {
    vec![
        Action::containment("delete_meeting_recordings", "Delete meeting recordings")
            .description("Move all of a meeting's cloud recording files to the trash, or delete them for good")
            .operation("DELETE /meetings/{meetingId}/recordings")
            .scopes(RECORDING_WRITE)
            .params_with(|| delete_params(false))
            .output(|| json!({"type": "object", "required": ["meeting_id", "action", "deleted", "message"]}))
            // Not safe to repeat: the second answers not-found, so a retry after an
            // ambiguous failure (it may have reached Zoom) would report as failed
            // what was done. A caller checks the state instead of retrying.
            .idempotent(false)
            .run(delete_all),
        Action::containment("delete_recording_file", "Delete recording file")
            .description("Move one cloud recording file to the trash, or delete it for good")
            .operation("DELETE /meetings/{meetingId}/recordings/{recordingId}")
            .scopes(RECORDING_WRITE)
            .params_with(|| delete_params(true))
            .output(|| json!({"type": "object", "required": ["meeting_id", "recording_id", "action", "deleted", "message"]}))
            // As delete_meeting_recordings: not safe to repeat.
            .idempotent(false)
            .run(delete_file),
        Action::containment("recover_meeting_recordings", "Recover meeting recordings")
            .description("Bring a meeting's trashed cloud recordings back from the trash (within 30 days)")
            .operation("PUT /meetings/{meetingUUID}/recordings/status")
            .scopes(RECORDING_WRITE)
            .params_with(|| schema::params(meeting_instance(), &["meeting_id"]))
            .output(|| json!({"type": "object", "required": ["meeting_id", "recovered", "message"]}))
            // It sets a state: twice is once.
            .idempotent(true)
            .run(recover_all),
        Action::containment("recover_recording_file", "Recover recording file")
            .description("Bring one trashed cloud recording file back from the trash")
            .operation("PUT /meetings/{meetingId}/recordings/{recordingId}/status")
            .scopes(RECORDING_WRITE)
            .params_with(|| schema::params(schema::merge([meeting_instance(), recording_id()]), &["meeting_id", "recording_id"]))
            .output(|| json!({"type": "object", "required": ["meeting_id", "recording_id", "recovered", "message"]}))
            .idempotent(true)
            .run(recover_file),
        Action::enrichment("get_recording_settings", "Get recording settings")
            .description("How a meeting's cloud recording is shared: share_recording, passcode, viewer_download, ...")
            .operation("GET /meetings/{meetingId}/recordings/settings")
            .scopes(RECORDING_READ)
            .params_with(|| schema::params(meeting_instance(), &["meeting_id"]))
            .run(get_settings),
        Action::containment("update_recording_settings", "Update recording settings")
            .description(
                "Change how a meeting's cloud recording is shared, e.g. share_recording none to \
                 take a leaked recording off public sharing; only the fields given are sent",
            )
            .operation("PATCH /meetings/{meetingId}/recordings/settings")
            .scopes(RECORDING_WRITE)
            .params_with(settings_params)
            .output(|| json!({"type": "object", "required": ["meeting_id", "updated", "settings", "message"]}))
            // A PATCH sets fields to the values given: twice is once.
            .idempotent(true)
            .run(update_settings),
    ]
}

fn recording_id() -> Value {
    json!({"recording_id": {
        "type": "string",
        "minLength": 1,
        "description": "The recording file's `id`, as get_meeting_recordings gives it",
    }})
}

fn delete_params(one_file: bool) -> Value {
    let action = json!({"action": {
        "type": "string",
        "enum": ["trash", "delete"],
        "default": "trash",
        "description": "trash: recoverable for 30 days; delete: gone for good",
    }});
    let mut parts = vec![meeting_instance(), action];
    let mut required = vec!["meeting_id"];
    if one_file {
        parts.insert(1, recording_id());
        required.push("recording_id");
    }
    schema::params(schema::merge(parts), &required)
}

fn settings_params() -> Value {
    let properties = schema::merge([
        meeting_instance(),
        schemas::properties(schemas::recording_settings()),
    ]);
    schema::params(properties, &["meeting_id"])
}

/// What a delete did, in words.
fn done(action: &str) -> &'static str {
    match action {
        "delete" => "deleted for good",
        _ => "moved to the trash",
    }
}

fn delete_all(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let meeting = params.string("meeting_id")?;
    let action = params
        .opt_string("action")?
        .unwrap_or_else(|| "trash".into());
    let path = format!("meetings/{}/recordings", meeting_segment(&params)?);
    let query = vec![("action".to_owned(), action.clone())];
    client.call("DELETE", &path, &query, None)?;
    Ok(json!({
        "meeting_id": meeting_key(&params)?,
        "action": action,
        "deleted": true,
        "message": format!("Recordings of meeting {meeting} {}", done(&action)),
    }))
}

fn delete_file(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let file = params.string("recording_id")?;
    let action = params
        .opt_string("action")?
        .unwrap_or_else(|| "trash".into());
    let path = file_path(&params)?;
    let query = vec![("action".to_owned(), action.clone())];
    client.call("DELETE", &path, &query, None)?;
    Ok(json!({
        "meeting_id": meeting_key(&params)?,
        "recording_id": file,
        "action": action,
        "deleted": true,
        "message": format!("Recording file {file} {}", done(&action)),
    }))
}

fn recover_all(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let meeting = params.string("meeting_id")?;
    let path = format!("meetings/{}/recordings/status", meeting_segment(&params)?);
    client.call("PUT", &path, &[], Some(&json!({"action": "recover"})))?;
    Ok(json!({
        "meeting_id": meeting_key(&params)?,
        "recovered": true,
        "message": format!("Recordings of meeting {meeting} recovered from the trash"),
    }))
}

fn recover_file(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let file = params.string("recording_id")?;
    let path = format!("{}/status", file_path(&params)?);
    client.call("PUT", &path, &[], Some(&json!({"action": "recover"})))?;
    Ok(json!({
        "meeting_id": meeting_key(&params)?,
        "recording_id": file,
        "recovered": true,
        "message": format!("Recording file {file} recovered from the trash"),
    }))
}

/// `meetings/{meetingId}/recordings/{recordingId}`, both encoded.
fn file_path(params: &Params) -> Result<String, ActionError> {
    Ok(format!(
        "meetings/{}/recordings/{}",
        meeting_segment(params)?,
        params.segment("recording_id")?
    ))
}

fn get_settings(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let path = format!("meetings/{}/recordings/settings", meeting_segment(&params)?);
    client.call("GET", &path, &[], None)
}

fn update_settings(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let meeting = params.string("meeting_id")?;
    let body = params.body_without(&["meeting_id"]);
    if body.is_empty() {
        return Err(invalid_input(
            "update_recording_settings needs at least one setting to change, e.g. share_recording",
        ));
    }
    let path = format!("meetings/{}/recordings/settings", meeting_segment(&params)?);
    let body = Value::Object(body);
    client.call("PATCH", &path, &[], Some(&body))?;
    Ok(json!({
        "meeting_id": meeting_key(&params)?,
        "updated": true,
        "settings": body,
        "message": format!("Recording settings of meeting {meeting} updated"),
    }))
}
