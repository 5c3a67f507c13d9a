//! Cloud recordings: a user's recordings over a date range, one meeting's
//! files, and downloading one file or all of them. The bytes never pass
//! through the plugin: the host streams them to files in the invocation's
//! output directory (`soar-host invoke --output DIR`).

use serde_json::{Value, json};
use soar_plugin_sdk::{Action, ActionError, Output, schema};

use super::common::{meeting_instance, meeting_segment, paging, user_id};
use super::dates;
use super::paging::{MAX_PAGE_SIZE, list as list_pages};
use super::recording_download::download;
use crate::client::Client;
use crate::errors::invalid_input;
use crate::params::Params;

// Scopes as endpoints-summary.json lists them; its Cloud Recording rows
// (Zoom's 2024-03 spec) carry no granular scopes.
const MEETING_RECORDINGS_READ: &[&str] = &["recording:read", "phone_recording:read:admin"];
pub const RECORDING_READ: &[&str] = &["recording:read:admin", "recording:read"];
pub const RECORDING_WRITE: &[&str] = &["recording:write:admin", "recording:write"];

pub fn actions() -> Vec<Action<Client>> {
    vec![
        Action::enrichment("list_recordings", "List recordings")
            .description(
                "A user's cloud recordings (meetings with their files) over a date range of at \
                 most a month, or those in the trash; a page at a time or up to `limit`",
            )
            .operation("GET /users/{userId}/recordings")
            .scopes(RECORDING_READ)
            .params_with(list_params)
            .run(list),
        Action::enrichment("get_meeting_recordings", "Get meeting recordings")
            .description("A meeting's cloud recording files: type, size, status, download URL")
            .operation("GET /meetings/{meetingId}/recordings")
            .scopes(MEETING_RECORDINGS_READ)
            .params_with(get_params)
            .run(get),
        Action::enrichment("download_recording", "Download meeting recording")
            .description(
                "Save one cloud recording file, or all of a meeting's, into the output directory \
                 (--output): lists the meeting's recordings, then fetches each download_url",
            )
            .operation("GET /meetings/{meetingId}/recordings")
            .scopes(MEETING_RECORDINGS_READ)
            .params_with(download_params)
            // It changes nothing upstream; a second run saves a second copy.
            .idempotent(true)
            .run(download),
    ]
}

fn list_params() -> Value {
    let filters = json!({
        "trash": {
            "type": "boolean",
            "description": "List recordings in the trash instead (no date range then)",
        },
        "trash_type": {
            "type": "string",
            "enum": ["meeting_recordings", "recording_file"],
            "description": "With trash: whole meetings' recordings, or single files",
        },
        "meeting_id": {
            "type": "integer",
            "minimum": 1,
            "description": "Only this meeting's recordings",
        },
        "mc": {
            "type": "boolean",
            "description": "Recordings of an on-premise meeting connector's meetings",
        },
    });
    let properties = schema::merge([
        user_id(),
        dates::range("recordings (by start time)"),
        filters,
        paging(MAX_PAGE_SIZE),
    ]);
    schema::params(properties, &["user_id"])
}

fn get_params() -> Value {
    let query = json!({
        "include_fields": {
            "type": "string",
            "description": "Extra fields Zoom should return, e.g. download_access_token",
        },
        "ttl": {
            "type": "integer",
            "minimum": 1,
            "maximum": 604800,
            "description": "Lifetime in seconds of a download_access_token asked for",
        },
    });
    schema::params(schema::merge([meeting_instance(), query]), &["meeting_id"])
}

fn download_params() -> Value {
    let file = json!({"file_id": {
        "type": "string",
        "minLength": 1,
        "description": "The recording file's `id`, as get_meeting_recordings gives it; \
                        without it, every file of the meeting",
    }});
    schema::params(schema::merge([meeting_instance(), file]), &["meeting_id"])
}

fn list(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let trash = params.get("trash") == Some(&Value::Bool(true));
    let range = dates::query(&params)?;
    if trash && !range.is_empty() {
        return Err(invalid_input(
            "params `from` and `to` do not apply to the trash (Zoom lists it undated)",
        ));
    }
    if params.get("trash_type").is_some() && !trash {
        return Err(invalid_input("param `trash_type` needs `trash: true`"));
    }
    let mut query = range;
    query.extend(params.query(&["trash", "trash_type", "meeting_id", "mc"])?);
    let path = format!("users/{}/recordings", params.segment("user_id")?);
    list_pages(client, &path, "meetings", query, &params, MAX_PAGE_SIZE)
}

/// Zoom's answer is the result: passed on as it came.
fn get(client: &mut Client, params: Params) -> Result<Output, ActionError> {
    let path = format!("meetings/{}/recordings", meeting_segment(&params)?);
    let query = params.query(&["include_fields", "ttl"])?;
    client.call_verbatim("GET", &path, &query)
}
