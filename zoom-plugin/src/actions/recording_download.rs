//! `download_recording`: one file of a meeting's recording, or all of them,
//! each streamed by the host into the output directory under a plain name.

use serde_json::{Value, json};
use soar_plugin_sdk::ActionError;

use super::common::{meeting_key, meeting_segment};
use crate::client::Client;
use crate::params::Params;

/// The lists of a recording that hold downloadable files.
const FILE_LISTS: [&str; 2] = ["recording_files", "participant_audio_files"];

pub fn download(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let meeting = params.string("meeting_id")?.trim().to_owned();
    let key = meeting_key(&params)?;
    let path = format!("meetings/{}/recordings", meeting_segment(&params)?);
    let listing = client.call("GET", &path, &[], None)?;
    if let Some(file_id) = params.opt_string("file_id")? {
        let file = find_file(&listing, &file_id)?;
        return save(client, &meeting, &key, file);
    }
    // Every file: those Zoom has not finished (no download_url yet) are
    // named in `skipped`, with their status.
    let mut saved = Vec::new();
    let mut skipped = Vec::new();
    for file in files(&listing) {
        match download_url(file) {
            Some(_) => saved.push(save(client, &meeting, &key, file)?),
            None => skipped.push(json!({"file_id": file.get("id"), "status": file.get("status")})),
        }
    }
    let total: u64 = saved.iter().filter_map(|f| f["size"].as_u64()).sum();
    Ok(json!({
        "meeting_id": key,
        "count": saved.len(),
        "total_size": total,
        "files": saved,
        "skipped": skipped,
    }))
}

/// Streams one listed file; the result names what was saved.
fn save(
    client: &mut Client,
    meeting: &str,
    key: &Value,
    file: &Value,
) -> Result<Value, ActionError> {
    let file_id = file.get("id").and_then(Value::as_str).unwrap_or_default();
    let url = download_url(file).ok_or_else(|| {
        ActionError::upstream(format!(
            "Zoom lists recording file {file_id} without a download_url"
        ))
    })?;
    let saved = client.download(url, &file_name(meeting, file_id, file))?;
    Ok(json!({
        "file": saved.name,
        "size": saved.size,
        "sha256": saved.sha256,
        "content_type": saved.content_type,
        "meeting_id": key,
        "file_id": file_id,
        "recording_type": file.get("recording_type"),
        "expected_size": file.get("file_size"),
    }))
}

fn download_url(file: &Value) -> Option<&str> {
    file.get("download_url")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
}

fn files(listing: &Value) -> Vec<&Value> {
    FILE_LISTS
        .iter()
        .filter_map(|key| listing.get(key)?.as_array())
        .flatten()
        .collect()
}

/// The file `id` among the recording's files (and participant audio files,
/// when Zoom lists them).
fn find_file<'a>(listing: &'a Value, id: &str) -> Result<&'a Value, ActionError> {
    let files = files(listing);
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
        let listing =
            json!({"recording_files": [{"id": "a"}], "participant_audio_files": [{"id": "b"}]});
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
