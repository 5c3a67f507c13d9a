//! Meetings that have ended: who attended, a page at a time or up to `limit`.

use serde_json::Value;
use soar_plugin_sdk::{Action, ActionError, schema};

use super::common::{meeting_instance, meeting_segment, paging};
use super::meetings::MEETING_READ;
use super::paging::{MAX_PAGE_SIZE, list as list_pages};
use crate::client::Client;
use crate::params::Params;

pub fn actions() -> Vec<Action<Client>> {
    vec![
        Action::enrichment(
            "list_past_meeting_participants",
            "List past meeting participants",
        )
        .description(
            "Who attended a meeting that has ended: name, email, join and leave times; \
                 by meeting ID (its latest instance) or one instance's UUID",
        )
        .operation("GET /past_meetings/{meetingId}/participants")
        .scopes(MEETING_READ)
        .params_with(|| {
            let properties = schema::merge([meeting_instance(), paging(MAX_PAGE_SIZE)]);
            schema::params(properties, &["meeting_id"])
        })
        .run(participants),
    ]
}

fn participants(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let path = format!("past_meetings/{}/participants", meeting_segment(&params)?);
    list_pages(
        client,
        &path,
        "participants",
        Vec::new(),
        &params,
        MAX_PAGE_SIZE,
    )
}
