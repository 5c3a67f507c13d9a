//! Cloud recordings: listing a meeting's files and downloading one. The
//! bytes never pass through the plugin: the host streams them to a file in
//! the invocation's output directory (`soar-host invoke --output DIR`).

use serde_json::{Value, json};
use soar_plugin_sdk::{Action, ActionError, Output, schema};

use super::common::{meeting_instance as meeting_id, meeting_segment};
use crate::client::Client;
use crate::params::Params;

// Scopes as endpoints-summary.json lists them; its Cloud Recording rows
// (Zoom's 2024-03 spec) carry no granular scopes.
const RECORDING_READ: &[&str] = &["recording:read", "phone_recording:read:admin"];

pub fn actions() -> Vec<Action<Client>> {
    vec![
        Action::enrichment("list_recordings", "List meeting recordings")
            .description("A meeting's cloud recording files: type, size, status, download URL")
            .operation("GET /meetings/{meetingId}/recordings")
            .scopes(RECORDING_READ)
            .params_with(list_params)
            .run(list),
        Action::enrichment("download_recording", "Download meeting recording")
            .description(
                "Save one cloud recording file into the output directory (--output): \
                 lists the meeting's recordings, then fetches the file's download_url",
            )
            .operation("GET /meetings/{meetingId}/recordings")
            .scopes(RECORDING_READ)
            .params_with(download_params)
            // It changes nothing upstream; a second run saves a second copy.
            .idempotent(true)
            .run(download),
    ]
}

fn list_params() -> Value {
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
    schema::params(schema::merge([meeting_id(), query]), &["meeting_id"])
}

fn download_params() -> Value {
    let file = json!({"file_id": {
        "type": "string",
        "minLength": 1,
        "description": "The recording file's `id`, as list_recordings gives it",
    }});
    schema::params(
        schema::merge([meeting_id(), file]),
        &["meeting_id", "file_id"],
    )
}

/// Zoom's answer is the result: passed on as it came.
fn list(client: &mut Client, params: Params) -> Result<Output, ActionError> {
    let path = format!("meetings/{}/recordings", meeting_segment(&params)?);
    let query = params.query(&["include_fields", "ttl"])?;
    client.call_verbatim("GET", &path, &query)
}

fn download(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let meeting = params.string("meeting_id")?.trim().to_owned();
    let file_id = params.string("file_id")?;
    let path = format!("meetings/{}/recordings", meeting_segment(&params)?);
    let listing = client.call("GET", &path, &[], None)?;
    let file = find_file(&listing, &file_id)?;
    let url = file
        .get("download_url")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            ActionError::upstream(format!(
                "Zoom lists recording file {file_id} without a download_url"
            ))
        })?;
    let saved = client.download(url, &file_name(&meeting, &file_id, file))?;
    Ok(json!({
        "file": saved.name,
        "size": saved.size,
        "sha256": saved.sha256,
        "content_type": saved.content_type,
        "meeting_id": meeting.parse::<u64>().map_or(json!(meeting), |id| json!(id)),
        "file_id": file_id,
        "recording_type": file.get("recording_type"),
        "expected_size": file.get("file_size"),
    }))
}

/// The file `id` among the recording's files (and participant audio files,
/// when Zoom lists them).
fn find_file<'a>(listing: &'a Value, id: &str) -> Result<&'a Value, ActionError> {
    let files: Vec<&Value> = ["recording_files", "participant_audio_files"]
        .iter()
        .filter_map(|key| listing.get(key)?.as_array())
        .flatten()
        .collect();
    if let Some(file) = files
        .iter()
        .find(|f| f.get("id").and_then(Value::as_str) == Some(id))
    {
        return Ok(file);
    }
    let ids: Vec<&str> = files
        .iter()
        .filter_map(|f| f.get("id").and_then(Value::as_str))
        .collect();
    let known = match ids.is_empty() {
        true => "it has none".to_owned(),
        false => format!("it has {}", ids.join(", ")),
    };
    Err(ActionError::not_found(format!(
        "the meeting's recording has no file {id}; {known}"
    )))
}

/// `zoom-{meeting}-{file}.{ext}`, made a plain visible name: anything but
/// letters, digits, `-` and `_` becomes `_` (a UUID's `/`, `+`, `=`).
fn file_name(meeting: &str, file_id: &str, file: &Value) -> String {
    let text = |key: &str| file.get(key).and_then(Value::as_str).unwrap_or("");
    let ext = match text("file_extension") {
        "" => extension_of(text("file_type")),
        ext => ext.to_ascii_lowercase(),
    };
    let ext = clean(&ext, 16);
    let stem = clean(&format!("zoom-{meeting}-{file_id}"), 180);
    match ext.is_empty() {
        true => stem,
        false => format!("{stem}.{ext}"),
    }
}

/// The extension Zoom gives a file of this `file_type`.
fn extension_of(file_type: &str) -> String {
    match file_type.to_ascii_uppercase().as_str() {
        "" => "bin".into(),
        "CHAT" | "CHAT_MESSAGE" => "txt".into(),
        "TRANSCRIPT" | "CC" => "vtt".into(),
        "TIMELINE" | "SUMMARY" => "json".into(),
        other => other.to_ascii_lowercase(),
    }
}

fn clean(text: &str, max: usize) -> String {
    text.chars()
        .map(
            |c| match c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                true => c,
                false => '_',
            },
        )
        .take(max)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_plain_and_keep_zooms_extension() {
        let mp4 = json!({"file_type": "MP4", "file_extension": "MP4"});
        assert_eq!(file_name("123", "a-b_c", &mp4), "zoom-123-a-b_c.mp4");
        let name = file_name("/x+y==", "../etc", &json!({"file_type": "TRANSCRIPT"}));
        assert_eq!(name, "zoom-_x_y__-___etc.vtt");
        assert_eq!(file_name("1", "f", &json!({})), "zoom-1-f.bin");
        let long = "x".repeat(500);
        assert!(file_name(&long, "f", &mp4).len() <= 200);
    }

    #[test]
    fn a_missing_file_names_the_ones_there_are() {
        let listing = json!({"recording_files": [{"id": "a"}, {"id": "b"}]});
        assert_eq!(find_file(&listing, "b").unwrap()["id"], "b");
        let err = find_file(&listing, "c").unwrap_err();
        assert!(matches!(err.kind, soar_plugin_sdk::ErrorKind::NotFound));
        assert!(err.message.ends_with("it has a, b"), "{}", err.message);
        assert!(
            find_file(&json!({}), "c")
                .unwrap_err()
                .message
                .ends_with("it has none")
        );
    }
}
