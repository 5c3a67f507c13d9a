//! The Zoom events this plugin's webhook receiver emits: meetings, users and
//! recordings (Zoom's event pages and Rivet's types).

use soar_plugin_sdk::EventType;

const EVENTS: &[(&str, &str)] = &[
    ("meeting.created", "A meeting was scheduled"),
    (
        "meeting.updated",
        "A meeting was changed (old_object holds what it was)",
    ),
    ("meeting.deleted", "A meeting was deleted"),
    ("meeting.started", "A meeting started"),
    ("meeting.ended", "A meeting ended"),
    ("meeting.participant_joined", "Someone joined a meeting"),
    ("meeting.participant_left", "Someone left a meeting"),
    (
        "meeting.participant_waiting",
        "Someone is in a meeting's waiting room",
    ),
    (
        "meeting.sharing_started",
        "A participant started sharing a screen",
    ),
    ("user.created", "A user was added to the account"),
    ("user.updated", "A user's profile changed"),
    ("user.deleted", "A user was deleted"),
    ("user.activated", "A user was activated"),
    ("user.deactivated", "A user was deactivated"),
    (
        "user.disassociated",
        "A user was removed from the account but kept",
    ),
    (
        "user.invitation_accepted",
        "A user accepted the invitation to the account",
    ),
    ("user.settings_updated", "A user's settings changed"),
    ("user.signed_in", "A user signed in"),
    ("user.signed_out", "A user signed out"),
    (
        "user.presence_status_updated",
        "A user's presence status changed",
    ),
    ("recording.started", "A cloud recording started"),
    ("recording.stopped", "A cloud recording stopped"),
    (
        "recording.completed",
        "A cloud recording is ready (download_token sits beside payload)",
    ),
    (
        "recording.deleted",
        "A cloud recording was deleted for good",
    ),
    (
        "recording.trashed",
        "A cloud recording was moved to the trash",
    ),
    (
        "recording.recovered",
        "A cloud recording was restored from the trash",
    ),
];

pub fn event_types() -> Vec<EventType> {
    EVENTS
        .iter()
        .map(|(name, description)| EventType {
            name: (*name).into(),
            description: (*description).into(),
        })
        .collect()
}

pub fn is_declared(name: &str) -> bool {
    EVENTS.iter().any(|(n, _)| *n == name)
}
