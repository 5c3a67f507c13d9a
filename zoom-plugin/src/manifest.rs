//! What this plugin is: its config fields and actions, with typed params and
//! the OAuth scopes each action needs. The host validates params against it.

use crate::soar::plugin::types::{Action, ActionKind, ConfigField, Manifest, Param, ValueType};

pub fn manifest() -> Manifest {
    Manifest {
        name: "zoom".into(),
        title: "Zoom".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        description:
            "Zoom meetings and users through Zoom's REST API v2, with Server-to-Server OAuth".into(),
        config: config_fields(),
        actions: actions(),
    }
}

fn config_fields() -> Vec<ConfigField> {
    let field = |name: &str, description: &str| ConfigField {
        name: name.into(),
        description: description.into(),
        value_type: ValueType::String,
        required: true,
        default: None,
        secret: false,
        url: false,
    };
    vec![
        ConfigField {
            default: Some("\"https://zoom.us/\"".into()),
            required: false,
            url: true,
            ..field("oauth_token_url", "Base URL of Zoom's OAuth server")
        },
        ConfigField {
            default: Some("\"https://api.zoom.us/\"".into()),
            required: false,
            url: true,
            ..field("api_url", "Base URL of Zoom's REST API (the host adds v2/)")
        },
        field("client_id", "Client ID of the Server-to-Server OAuth app"),
        ConfigField {
            secret: true,
            ..field(
                "client_secret",
                "Client secret of the Server-to-Server OAuth app",
            )
        },
        field("account_id", "Zoom account ID the app belongs to"),
    ]
}

fn param(name: &str, value_type: ValueType, description: &str) -> Param {
    Param {
        name: name.into(),
        description: description.into(),
        value_type,
        required: false,
        default: None,
        allowed: Vec::new(),
    }
}

fn required(name: &str, value_type: ValueType, description: &str) -> Param {
    Param {
        required: true,
        ..param(name, value_type, description)
    }
}

fn one_of(mut p: Param, allowed: &[&str], default: Option<&str>) -> Param {
    p.allowed = allowed.iter().map(|a| format!("\"{a}\"")).collect();
    p.default = default.map(|d| format!("\"{d}\""));
    p
}

fn user_id() -> Param {
    required(
        "user_id",
        ValueType::String,
        "The user's ID or email address, or `me` for the app's own user",
    )
}

fn meeting_id() -> Param {
    required(
        "meeting_id",
        ValueType::Integer,
        "The meeting ID (a number, or a numeric string)",
    )
}

fn login_type() -> Param {
    param(
        "login_type",
        ValueType::Integer,
        "The user's login method (0 Facebook, 1 Google, 99 API, 100 Zoom, 101 SSO, ...)",
    )
}

fn paging() -> Vec<Param> {
    vec![
        param(
            "page_size",
            ValueType::Integer,
            "Records per page Zoom returns (Zoom's default 30, max 300)",
        ),
        param(
            "next_page_token",
            ValueType::String,
            "Continue a listing from this token of an earlier answer",
        ),
        param(
            "limit",
            ValueType::Integer,
            "Follow next_page_token until this many records are gathered or the pages end",
        ),
    ]
}

const USER_READ: &[&str] = &["user:read:admin", "user:read"];
const USER_WRITE: &[&str] = &["user:write:admin", "user:write"];
const MEETING_READ: &[&str] = &["meeting:read:admin", "meeting:read"];
const MEETING_WRITE: &[&str] = &["meeting:write:admin", "meeting:write"];

fn action(
    name: &str,
    title: &str,
    kind: ActionKind,
    description: &str,
    scopes: &[&str],
    params: Vec<Param>,
) -> Action {
    Action {
        name: name.into(),
        title: title.into(),
        kind,
        description: description.into(),
        params,
        scopes: scopes.iter().map(|s| (*s).into()).collect(),
        idempotent: true,
    }
}

/// Fields of Zoom's `PATCH /users/{userId}` body that `update_user` passes through.
pub const USER_UPDATE_FIELDS: &[(&str, ValueType, &str)] = &[
    ("first_name", ValueType::String, "First name"),
    ("last_name", ValueType::String, "Last name"),
    ("display_name", ValueType::String, "Display name"),
    (
        "type",
        ValueType::Integer,
        "User type: 1 Basic, 2 Licensed, 99 None",
    ),
    ("pmi", ValueType::Integer, "Personal meeting ID"),
    (
        "use_pmi",
        ValueType::Boolean,
        "Use the PMI for instant meetings",
    ),
    (
        "timezone",
        ValueType::String,
        "Timezone, e.g. America/New_York",
    ),
    ("language", ValueType::String, "Language"),
    ("dept", ValueType::String, "Department"),
    ("company", ValueType::String, "Company"),
    ("job_title", ValueType::String, "Job title"),
    ("location", ValueType::String, "Location"),
    ("manager", ValueType::String, "Manager's email"),
    ("cost_center", ValueType::String, "Cost center"),
    (
        "vanity_name",
        ValueType::String,
        "Personal meeting room name",
    ),
    ("host_key", ValueType::String, "Host key (6-10 digits)"),
    ("cms_user_id", ValueType::String, "Kaltura user ID"),
    (
        "group_id",
        ValueType::String,
        "Group to add a pending user to",
    ),
    ("pronouns", ValueType::String, "Pronouns"),
    (
        "pronouns_option",
        ValueType::Integer,
        "Pronoun display: 1 ask, 2 always, 3 never",
    ),
    ("about_me", ValueType::String, "Self-introduction"),
    ("linkedin_url", ValueType::String, "LinkedIn URL"),
    (
        "zoom_one_type",
        ValueType::Integer,
        "Zoom Workplace plan option",
    ),
    (
        "plan_united_type",
        ValueType::String,
        "Zoom United plan type",
    ),
    (
        "phone_numbers",
        ValueType::Array,
        "Phone numbers: [{country, code, number, label}]",
    ),
    (
        "custom_attributes",
        ValueType::Array,
        "Custom attributes: [{key, name, value}]",
    ),
    (
        "feature",
        ValueType::Object,
        "Features, e.g. {\"zoom_phone\": true}",
    ),
];

/// Fields of Zoom's `PATCH /meetings/{meetingId}` body that `update_meeting` passes through.
pub const MEETING_UPDATE_FIELDS: &[(&str, ValueType, &str)] = &[
    ("topic", ValueType::String, "Meeting topic"),
    ("agenda", ValueType::String, "Meeting description"),
    (
        "type",
        ValueType::Integer,
        "1 instant, 2 scheduled, 3 recurring without fixed time, 8 recurring with fixed time",
    ),
    (
        "start_time",
        ValueType::String,
        "Start time, yyyy-MM-ddTHH:mm:ssZ",
    ),
    ("duration", ValueType::Integer, "Duration in minutes"),
    ("timezone", ValueType::String, "Timezone of start_time"),
    (
        "password",
        ValueType::String,
        "Passcode (at most 10 characters)",
    ),
    (
        "schedule_for",
        ValueType::String,
        "Email or user ID to schedule for",
    ),
    (
        "pre_schedule",
        ValueType::Boolean,
        "Create a prescheduled meeting (GSuite app)",
    ),
    ("template_id", ValueType::String, "Meeting template ID"),
    ("recurrence", ValueType::Object, "Recurrence, for type 8"),
    (
        "settings",
        ValueType::Object,
        "Meeting settings, e.g. {\"waiting_room\": true}",
    ),
    (
        "tracking_fields",
        ValueType::Array,
        "Tracking fields: [{field, value}]",
    ),
];

fn passthrough(
    fields: &'static [(&'static str, ValueType, &'static str)],
) -> impl Iterator<Item = Param> {
    fields
        .iter()
        .map(|(name, value_type, description)| param(name, *value_type, description))
}

fn actions() -> Vec<Action> {
    use ActionKind::{Containment, Enrichment};
    let mut list_users = vec![
        one_of(
            param("status", ValueType::String, "Which users to list"),
            &["active", "inactive", "pending"],
            Some("active"),
        ),
        param("role_id", ValueType::String, "Only users of this role"),
    ];
    list_users.extend(paging());
    let mut list_meetings = vec![
        user_id(),
        one_of(
            param("type", ValueType::String, "Which meetings to list"),
            &[
                "scheduled",
                "live",
                "upcoming",
                "upcoming_meetings",
                "previous_meetings",
            ],
            Some("scheduled"),
        ),
        param("from", ValueType::String, "Start date, yyyy-mm-dd"),
        param("to", ValueType::String, "End date, yyyy-mm-dd"),
    ];
    list_meetings.extend(paging());
    let mut update_user = vec![user_id(), login_type()];
    update_user.extend(passthrough(USER_UPDATE_FIELDS));
    let mut update_meeting = vec![
        meeting_id(),
        param(
            "occurrence_id",
            ValueType::String,
            "Update only this occurrence of a recurring meeting",
        ),
    ];
    update_meeting.extend(passthrough(MEETING_UPDATE_FIELDS));

    vec![
        action(
            "get_user",
            "Get user",
            Enrichment,
            "A user's profile: name, email, type, status, timezone, PMI, last login",
            USER_READ,
            vec![user_id(), login_type()],
        ),
        action(
            "list_users",
            "List users",
            Enrichment,
            "The account's users, a page at a time or up to `limit`",
            USER_READ,
            list_users,
        ),
        action(
            "update_user",
            "Update user",
            Containment,
            "Change a user's profile; only the fields given are sent",
            USER_WRITE,
            update_user,
        ),
        action(
            "get_user_settings",
            "Get user settings",
            Enrichment,
            "A user's meeting, recording, feature and security settings",
            USER_READ,
            vec![
                user_id(),
                one_of(
                    param("option", ValueType::String, "Which settings to return"),
                    &[
                        "meeting_authentication",
                        "recording_authentication",
                        "meeting_security",
                    ],
                    None,
                ),
                login_type(),
                param(
                    "custom_query_fields",
                    ValueType::String,
                    "Comma-separated settings fields to return, e.g. in_meeting,recording",
                ),
            ],
        ),
        action(
            "update_user_settings",
            "Update user settings",
            Containment,
            "Change a user's settings; `settings` is Zoom's PATCH body",
            USER_WRITE,
            vec![
                user_id(),
                one_of(
                    param(
                        "option",
                        ValueType::String,
                        "Which settings the body updates",
                    ),
                    &[
                        "meeting_authentication",
                        "recording_authentication",
                        "meeting_security",
                    ],
                    None,
                ),
                required(
                    "settings",
                    ValueType::Object,
                    "The settings to change, e.g. {\"in_meeting\": {\"chat\": false}}",
                ),
            ],
        ),
        action(
            "list_meetings",
            "List meetings",
            Enrichment,
            "Meetings a user hosts, a page at a time or up to `limit`",
            MEETING_READ,
            list_meetings,
        ),
        action(
            "get_meeting_invitation",
            "Get meeting invitation",
            Enrichment,
            "The invitation text of a meeting, with its join links",
            MEETING_READ,
            vec![meeting_id()],
        ),
        action(
            "update_meeting",
            "Update meeting",
            Containment,
            "Change a meeting; only the fields given are sent",
            MEETING_WRITE,
            update_meeting,
        ),
        action(
            "delete_meeting",
            "Delete meeting",
            Containment,
            "Delete a meeting, or one occurrence of a recurring meeting",
            MEETING_WRITE,
            vec![
                meeting_id(),
                param(
                    "occurrence_id",
                    ValueType::String,
                    "Delete only this occurrence",
                ),
                param(
                    "schedule_for_reminder",
                    ValueType::Boolean,
                    "Email the host and alternative hosts about the cancellation",
                ),
                param(
                    "cancel_meeting_reminder",
                    ValueType::Boolean,
                    "Email the registrants about the cancellation",
                ),
            ],
        ),
    ]
}
