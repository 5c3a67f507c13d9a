//! Meetings.

use serde_json::{Value, json};

use super::paging;
use crate::client::Client;
use crate::errors::invalid_input;
use crate::manifest::MEETING_UPDATE_FIELDS;
use crate::params::Params;
use crate::soar::plugin::types::ActionError;

pub fn list(client: &mut Client, params: &Params) -> Result<Value, ActionError> {
    let path = format!("users/{}/meetings", params.segment("user_id")?);
    let query = params.query(&["type", "from", "to"])?;
    paging::list(client, &path, "meetings", query, params)
}

pub fn invitation(client: &mut Client, params: &Params) -> Result<Value, ActionError> {
    let id = params.meeting_id()?;
    let mut body = client.call("GET", &format!("meetings/{id}/invitation"), &[], None)?;
    if let Value::Object(map) = &mut body {
        map.insert("meeting_id".into(), id.into());
    }
    Ok(body)
}

pub fn update(client: &mut Client, params: &Params) -> Result<Value, ActionError> {
    let id = params.meeting_id()?;
    let body = params.body_without(&["meeting_id", "occurrence_id"]);
    if let Some(unknown) = body
        .keys()
        .find(|k| !MEETING_UPDATE_FIELDS.iter().any(|(name, ..)| name == k))
    {
        return Err(invalid_input(format!(
            "`{unknown}` is not a field of Zoom's meeting update"
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
        &format!("meetings/{id}"),
        &query,
        Some(&Value::Object(body)),
    )?;
    Ok(json!({
        "updated": true,
        "meeting_id": id,
        "fields": fields,
        "message": format!("Meeting {id} updated"),
    }))
}

pub fn delete(client: &mut Client, params: &Params) -> Result<Value, ActionError> {
    let id = params.meeting_id()?;
    let query = params.query(&[
        "occurrence_id",
        "schedule_for_reminder",
        "cancel_meeting_reminder",
    ])?;
    client.call("DELETE", &format!("meetings/{id}"), &query, None)?;
    let mut result = json!({
        "deleted": true,
        "meeting_id": id,
        "message": format!("Meeting {id} deleted"),
    });
    if let Some(occurrence) = params.opt_string("occurrence_id")? {
        result["occurrence_id"] = occurrence.clone().into();
        result["message"] = format!("Occurrence {occurrence} of meeting {id} deleted").into();
    }
    Ok(result)
}
