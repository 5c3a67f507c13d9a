//! Param schemas several actions share.

use serde_json::{Value, json};

pub fn user_id() -> Value {
    json!({"user_id": {
        "type": "string",
        "minLength": 1,
        "description": "The user's ID or email address, or `me` for the app's own user",
    }})
}

pub fn meeting_id() -> Value {
    // An integer: the host turns "123" into 123 before the plugin runs.
    json!({"meeting_id": {
        "type": "integer",
        "minimum": 1,
        "description": "The meeting ID (a number, or a numeric string)",
    }})
}

pub fn login_type() -> Value {
    json!({"login_type": {
        "type": "integer",
        "description": "The user's login method (0 Facebook, 1 Google, 99 API, 100 Zoom, 101 SSO, ...)",
    }})
}

/// Zoom's token paging, plus `limit` to follow pages.
pub fn paging(max_page_size: u64) -> Value {
    json!({
        "page_size": {
            "type": "integer",
            "minimum": 1,
            "maximum": max_page_size,
            "description": format!("Records per page Zoom returns (Zoom's default 30, max {max_page_size})"),
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
