//! Zoom's request bodies as JSON Schemas, derived from Zoom's own OpenAPI specs
//! by `tools/schemas.py` (see there for what is kept) and included as data.
//! Built only when the manifest is asked for.

use serde_json::Value;

/// A schema file compiled into the plugin. One that does not parse is a
/// build of the plugin gone wrong: describing it fails (the host then
/// refuses the plugin, naming the file), rather than checking nothing. A
/// unit test parses every file.
fn parse(file: &str, text: &str) -> Value {
    match serde_json::from_str(text) {
        Ok(schema @ Value::Object(_)) => schema,
        Ok(_) => panic!("schemas/{file} is not a JSON Schema object"),
        Err(e) => panic!("schemas/{file} is not JSON: {e}"),
    }
}

/// The body of `PATCH /users/{userId}/settings`: all its sections.
pub fn user_settings() -> Value {
    parse(
        "user-settings.json",
        include_str!("../schemas/user-settings.json"),
    )
}

/// The body of `PATCH /users/{userId}`.
pub fn user_update() -> Value {
    parse(
        "user-update.json",
        include_str!("../schemas/user-update.json"),
    )
}

/// The body of `PATCH /meetings/{meetingId}`.
pub fn meeting_update() -> Value {
    parse(
        "meeting-update.json",
        include_str!("../schemas/meeting-update.json"),
    )
}

/// The body of `POST /users/{userId}/meetings`.
pub fn meeting_create() -> Value {
    parse(
        "meeting-create.json",
        include_str!("../schemas/meeting-create.json"),
    )
}

/// The body of `POST /users`.
pub fn user_create() -> Value {
    parse(
        "user-create.json",
        include_str!("../schemas/user-create.json"),
    )
}

/// The body of `POST /meetings/{meetingId}/registrants`.
pub fn meeting_registrant() -> Value {
    parse(
        "meeting-registrant.json",
        include_str!("../schemas/meeting-registrant.json"),
    )
}

/// The body of `PUT /meetings/{meetingId}/registrants/status`.
pub fn registrant_status() -> Value {
    parse(
        "registrant-status.json",
        include_str!("../schemas/registrant-status.json"),
    )
}

/// The body of `PATCH /meetings/{meetingId}/recordings/settings`.
pub fn recording_settings() -> Value {
    parse(
        "recording-settings.json",
        include_str!("../schemas/recording-settings.json"),
    )
}

/// The body of `POST /users/{userId}/webinars`.
pub fn webinar_create() -> Value {
    parse(
        "webinar-create.json",
        include_str!("../schemas/webinar-create.json"),
    )
}

/// The body of `PATCH /webinars/{webinarId}`.
pub fn webinar_update() -> Value {
    parse(
        "webinar-update.json",
        include_str!("../schemas/webinar-update.json"),
    )
}

/// The body of `POST /webinars/{webinarId}/registrants`.
pub fn webinar_registrant() -> Value {
    parse(
        "webinar-registrant.json",
        include_str!("../schemas/webinar-registrant.json"),
    )
}

/// The body of `PUT /webinars/{webinarId}/registrants/status`.
pub fn webinar_registrant_status() -> Value {
    parse(
        "webinar-registrant-status.json",
        include_str!("../schemas/webinar-registrant-status.json"),
    )
}

/// The body of `POST /webinars/{webinarId}/panelists`.
pub fn panelists() -> Value {
    parse("panelists.json", include_str!("../schemas/panelists.json"))
}

/// The required fields of a body schema.
pub fn required(body: &Value) -> Vec<&str> {
    body.get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The properties of a body schema, to merge into params.
pub fn properties(body: Value) -> Value {
    match body {
        Value::Object(mut map) => map.remove("properties").unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_derived_schemas_parse_and_are_typed() {
        let settings = user_settings();
        assert_eq!(
            settings["properties"]["in_meeting"]["properties"]["chat"]["type"],
            "boolean"
        );
        for section in [
            "in_meeting",
            "schedule_meeting",
            "recording",
            "feature",
            "meeting_security",
            "meeting_authentication",
        ] {
            assert!(settings["properties"].get(section).is_some(), "{section}");
        }
        assert_eq!(
            meeting_update()["properties"]["type"]["enum"],
            serde_json::json!([1, 2, 3, 8])
        );
        assert_eq!(user_update()["properties"]["feature"]["type"], "object");
        let user_info = &user_create()["properties"]["user_info"];
        assert_eq!(user_info["required"], serde_json::json!(["email", "type"]));
        assert_eq!(user_info["properties"]["email"]["format"], "email");
        let created = meeting_create();
        assert_eq!(
            created["properties"]["type"]["enum"],
            serde_json::json!([1, 2, 3, 8])
        );
        assert!(created["properties"]["settings"]["properties"]["waiting_room"].is_object());
        assert_eq!(required(&meeting_registrant()), ["email", "first_name"]);
        let statuses = registrant_status();
        assert_eq!(required(&statuses), ["action"]);
        assert_eq!(statuses["properties"]["registrants"]["maxItems"], 30);
        assert_eq!(
            webinar_create()["properties"]["type"]["enum"],
            serde_json::json!([5, 6, 9])
        );
        assert!(webinar_update()["properties"]["settings"].is_object());
        assert_eq!(required(&webinar_registrant()), ["email", "first_name"]);
        assert_eq!(
            webinar_registrant_status()["properties"]["registrants"]["maxItems"],
            30
        );
        assert_eq!(panelists()["properties"]["panelists"]["maxItems"], 30);
        let sharing = &recording_settings()["properties"]["share_recording"];
        assert_eq!(
            sharing["enum"],
            serde_json::json!(["publicly", "internally", "none"])
        );
    }
}
