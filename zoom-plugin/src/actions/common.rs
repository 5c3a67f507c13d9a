//! Param schemas several actions share.

use serde_json::{Value, json};
use soar_plugin_sdk::{ActionError, encode};

use crate::params::Params;
use crate::schemas;

pub fn user_id() -> Value {
    json!({"user_id": {
        "type": "string",
        "minLength": 1,
        "description": "The user's ID or email address, or `me` for the app's own user",
    }})
}

pub fn meeting_id() -> Value {
    MEETING.id_param()
}

pub fn webinar_id() -> Value {
    WEBINAR.id_param()
}

/// A meeting or a webinar: Zoom gives both the same operations under their own paths, and the
/// actions that wrap them differ only in what this names.
pub struct Event {
    /// `meeting` or `webinar`, as messages say it.
    pub noun: &'static str,
    /// `Meeting` or `Webinar`, to start a message.
    pub title: &'static str,
    /// The ID param, `meeting_id` or `webinar_id`.
    pub param: &'static str,
    /// The path's collection, `meetings` or `webinars`.
    pub collection: &'static str,
    /// The body of the update (PATCH) operation.
    pub update_body: fn() -> Value,
    /// The body of the add-registrant operation.
    pub registrant_body: fn() -> Value,
    /// The body of the registrant-status operation.
    pub registrant_status_body: fn() -> Value,
}

pub const MEETING: Event = Event {
    noun: "meeting",
    title: "Meeting",
    param: "meeting_id",
    collection: "meetings",
    update_body: schemas::meeting_update,
    registrant_body: schemas::meeting_registrant,
    registrant_status_body: schemas::registrant_status,
};

pub const WEBINAR: Event = Event {
    noun: "webinar",
    title: "Webinar",
    param: "webinar_id",
    collection: "webinars",
    update_body: schemas::webinar_update,
    registrant_body: schemas::webinar_registrant,
    registrant_status_body: schemas::webinar_registrant_status,
};

impl Event {
    /// The ID param's schema. An integer: the host turns "123" into 123 before the plugin runs.
    pub fn id_param(&self) -> Value {
        json!({self.param: {
            "type": "integer",
            "minimum": 1,
            "description": format!("The {} ID (a number, or a numeric string)", self.noun),
        }})
    }

    /// The ID given: a positive integer.
    pub fn id(&self, params: &Params) -> Result<u64, ActionError> {
        params.number_id(self.param, self.noun)
    }

    /// The ID param where Zoom also takes a UUID: a string (the host turns a number into one).
    /// Not `["integer", "string"]`, which the README's tables cannot show.
    pub fn instance_param(&self, description: &str) -> Value {
        json!({self.param: {"type": "string", "minLength": 1, "description": description}})
    }

    /// The `{meetingId}` (`{webinarId}`) path segment. A number is the ID; any
    /// other text a UUID, which Zoom wants encoded twice when it starts with
    /// `/` or holds `//`.
    pub fn segment(&self, params: &Params) -> Result<String, ActionError> {
        let id = params.string(self.param)?;
        let id = id.trim();
        if id.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(id.to_owned());
        }
        let once = encode::segment(id);
        Ok(match id.starts_with('/') || id.contains("//") {
            true => encode::segment(&once),
            false => once,
        })
    }
}

pub fn meeting_instance() -> Value {
    MEETING.instance_param(
        "The meeting ID (its latest instance), or a meeting UUID (one past instance)",
    )
}

pub fn login_type() -> Value {
    json!({"login_type": {
        "type": "integer",
        "description": "The user's login method (0 Facebook, 1 Google, 99 API, 100 Zoom, 101 SSO, ...)",
    }})
}

/// Zoom's token paging, plus `limit` to follow pages.
pub fn paging(max_page_size: u64) -> Value {
    paging_from(30, max_page_size)
}

/// [`paging`] of a list whose default page size is not Zoom's usual 30
/// (Team Chat's 10).
pub fn paging_from(default_page_size: u64, max_page_size: u64) -> Value {
    json!({
        "page_size": {
            "type": "integer",
            "minimum": 1,
            "maximum": max_page_size,
            "description": format!(
                "Records per page Zoom returns (Zoom's default {default_page_size}, max {max_page_size})"
            ),
        },
        "next_page_token": {
            "type": "string",
            "description": "Continue a listing from this token of an earlier answer",
        },
        "limit": {
            "type": "integer",
            "minimum": 1,
            "description": "Follow next_page_token until this many records are gathered or the pages end",
        },
    })
}

/// The `meeting_id` param as a result shows it: a meeting ID as a number,
/// a UUID as text.
pub fn meeting_key(params: &Params) -> Result<Value, ActionError> {
    let id = params.string("meeting_id")?;
    let id = id.trim();
    Ok(id.parse::<u64>().map_or_else(|_| json!(id), |n| json!(n)))
}

/// The meeting's `{meetingId}` path segment (see [`Event::segment`]).
pub fn meeting_segment(params: &Params) -> Result<String, ActionError> {
    MEETING.segment(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(value: Value) -> Params {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_uuid_is_encoded_twice_only_when_zoom_asks() {
        let segment = |id: Value| meeting_segment(&params(json!({"meeting_id": id}))).unwrap();
        assert_eq!(segment(json!(85746065432_u64)), "85746065432");
        assert_eq!(segment(json!("85746065432")), "85746065432");
        assert_eq!(
            segment(json!("aDYlohsHRtCd4ii1uC2+hA==")),
            "aDYlohsHRtCd4ii1uC2%2BhA%3D%3D"
        );
        assert_eq!(
            segment(json!("/ajXp112QmuoKj4854875==")),
            "%252FajXp112QmuoKj4854875%253D%253D"
        );
        assert_eq!(segment(json!("ab//cd==")), "ab%252F%252Fcd%253D%253D");
    }
}
