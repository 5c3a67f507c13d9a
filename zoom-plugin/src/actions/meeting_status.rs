//! `PUT /meetings/{meetingId}/status`: end a meeting in progress (a zoom-bombed call: everyone is
//! removed at once), or recover one deleted by mistake (or by an intruder) from Zoom's trash. Zoom
//! answers `204 No Content`; each action answers a named result.

use serde_json::{Value, json};
use soar_plugin_sdk::{Action, ActionError, schema};

use super::common::meeting_id;
use super::meetings::MEETING_WRITE;
use crate::client::Client;
use crate::params::Params;

/// One of the operation's actions, declared as an action of its own.
struct StatusChange {
    name: &'static str,
    title: &'static str,
    description: &'static str,
    action: &'static str,
    /// The result's flag, true once done.
    flag: &'static str,
    done: &'static str,
}

const END: StatusChange = StatusChange {
    name: "end_meeting",
    title: "End meeting",
    description: "End a meeting in progress: every participant is removed from it",
    action: "end",
    flag: "ended",
    done: "ended",
};
const RECOVER: StatusChange = StatusChange {
    name: "recover_meeting",
    title: "Recover meeting",
    description: "Recover a deleted meeting from Zoom's trash (within 7 days of its deletion)",
    action: "recover",
    flag: "recovered",
    done: "recovered",
};

pub fn actions() -> Vec<Action<Client>> {
    vec![status_action(&END), status_action(&RECOVER)]
}

/// Both set a state: running one twice leaves the meeting as once.
fn status_action(change: &'static StatusChange) -> Action<Client> {
    Action::containment(change.name, change.title)
        .description(change.description)
        .operation("PUT /meetings/{meetingId}/status")
        .scopes(MEETING_WRITE)
        .params_with(|| schema::params(meeting_id(), &["meeting_id"]))
        .output(|| json!({"type": "object", "required": ["meeting_id", change.flag, "message"]}))
        .idempotent(true)
        .run(move |client: &mut Client, params: Params| set_status(client, params, change))
}

fn set_status(
    client: &mut Client,
    params: Params,
    change: &StatusChange,
) -> Result<Value, ActionError> {
    let id = params.meeting_id()?;
    let body = json!({"action": change.action});
    client.call("PUT", &format!("meetings/{id}/status"), &[], Some(&body))?;
    Ok(json!({
        "meeting_id": id,
        change.flag: true,
        "message": format!("Meeting {id} {}", change.done),
    }))
}
