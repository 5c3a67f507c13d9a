//! `PUT /meetings/{meetingId}/status`: end a meeting in progress (a zoom-bombed call: everyone is
//! removed at once), or recover one deleted by mistake (or by an intruder) from Zoom's trash; and
//! `PUT /webinars/{webinarId}/status`, which can only end a webinar. Zoom answers `204 No Content`;
//! each action answers a named result.

use serde_json::{Value, json};
use soar_plugin_sdk::{Action, ActionError, schema};

use super::common::{Event, MEETING, WEBINAR};
use super::meetings::MEETING_WRITE;
use super::webinars::WEBINAR_WRITE;
use crate::client::Client;
use crate::params::Params;

/// One of the operation's actions, declared as an action of its own.
struct StatusChange {
    name: &'static str,
    title: &'static str,
    description: &'static str,
    event: &'static Event,
    operation: &'static str,
    scopes: &'static [&'static str],
    action: &'static str,
    /// The result's flag, true once done.
    flag: &'static str,
    done: &'static str,
}

const END: StatusChange = StatusChange {
    name: "end_meeting",
    title: "End meeting",
    description: "End a meeting in progress: every participant is removed from it",
    event: &MEETING,
    operation: "PUT /meetings/{meetingId}/status",
    scopes: MEETING_WRITE,
    action: "end",
    flag: "ended",
    done: "ended",
};
const RECOVER: StatusChange = StatusChange {
    name: "recover_meeting",
    title: "Recover meeting",
    description: "Recover a deleted meeting from Zoom's trash (within 7 days of its deletion)",
    event: &MEETING,
    operation: "PUT /meetings/{meetingId}/status",
    scopes: MEETING_WRITE,
    action: "recover",
    flag: "recovered",
    done: "recovered",
};
const END_WEBINAR: StatusChange = StatusChange {
    name: "end_webinar",
    title: "End webinar",
    description: "End a webinar in progress: every panelist and attendee is removed from it",
    event: &WEBINAR,
    operation: "PUT /webinars/{webinarId}/status",
    scopes: WEBINAR_WRITE,
    action: "end",
    flag: "ended",
    done: "ended",
};

pub fn actions() -> Vec<Action<Client>> {
    vec![status_action(&END), status_action(&RECOVER)]
}

pub fn end_webinar() -> Action<Client> {
    status_action(&END_WEBINAR)
}

/// Each sets a state: running one twice leaves the meeting (webinar) as once.
fn status_action(change: &'static StatusChange) -> Action<Client> {
    Action::containment(change.name, change.title)
        .description(change.description)
        .operation(change.operation)
        .scopes(change.scopes)
        .params_with(|| schema::params(change.event.id_param(), &[change.event.param]))
        .output(move || json!({"type": "object", "required": [change.event.param, change.flag, "message"]}))
        .idempotent(true)
        .run(move |client: &mut Client, params: Params| set_status(client, params, change))
}

fn set_status(
    client: &mut Client,
    params: Params,
    change: &StatusChange,
) -> Result<Value, ActionError> {
    let event = change.event;
    let id = event.id(&params)?;
    let body = json!({"action": change.action});
    let path = format!("{}/{id}/status", event.collection);
    client.call("PUT", &path, &[], Some(&body))?;
    Ok(json!({
        event.param: id,
        change.flag: true,
        "message": format!("{} {id} {}", event.title, change.done),
    }))
}
