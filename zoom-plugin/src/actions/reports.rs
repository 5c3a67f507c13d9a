//! Reports for an investigation: who signed in and out, from where and with
//! what client; who changed what in the account; who attended a meeting.
//! Each a page at a time or up to `limit`, over at most a month of dates.

use serde_json::{Value, json};
use soar_plugin_sdk::{Action, ActionError, schema};

use super::common::{meeting_instance, meeting_segment, paging};
use super::dates;
use super::paging::{MAX_PAGE_SIZE, list as list_pages};
use crate::client::Client;
use crate::params::Params;

// As endpoints-summary.json lists them (no granular scopes in its rows).
const REPORT_READ: &[&str] = &["report:read:admin"];

pub fn actions() -> Vec<Action<Client>> {
    vec![
        Action::enrichment("list_signin_activities", "List sign-in activities")
            .description(
                "Users' sign-ins and sign-outs: email, time, IP address, client type and version; \
                 over at most a month within the last six months (without dates, Zoom chooses the range)",
            )
            .operation("GET /report/activities")
            .scopes(REPORT_READ)
            .params_with(activity_params)
            .run(activities),
        Action::enrichment("list_operation_logs", "List operation logs")
            .description(
                "Who changed what in the account (users, settings, recordings, roles, ...), \
                 over a month at most, of one category or all",
            )
            .operation("GET /report/operationlogs")
            .scopes(REPORT_READ)
            .params_with(operation_params)
            .run(operation_logs),
        Action::enrichment(
            "list_meeting_participants_report",
            "List meeting participants report",
        )
        .description(
            "The participants report of a meeting that has ended: who joined, when, for how long; \
             by meeting ID (its latest instance) or one instance's UUID",
        )
        .operation("GET /report/meetings/{meetingId}/participants")
        .scopes(REPORT_READ)
        .params_with(participant_params)
        .run(participants),
    ]
}

fn activity_params() -> Value {
    let properties = schema::merge([dates::range("sign-in activity"), paging(MAX_PAGE_SIZE)]);
    schema::params(properties, &[])
}

fn operation_params() -> Value {
    let category = json!({"category_type": {
        "type": "string",
        "enum": ["all", "user", "user_settings", "account", "billing", "im", "recording",
                 "phone_contacts", "webinar", "sub_account", "role", "zoom_rooms"],
        "description": "Only changes of this category",
    }});
    let properties = schema::merge([
        dates::range("operation log"),
        category,
        paging(MAX_PAGE_SIZE),
    ]);
    schema::params(properties, &["from", "to"])
}

fn participant_params() -> Value {
    let fields = json!({"include_fields": {
        "type": "string",
        "enum": ["registrant_id"],
        "description": "registrant_id: add each participant's registrant ID",
    }});
    let properties = schema::merge([meeting_instance(), fields, paging(MAX_PAGE_SIZE)]);
    schema::params(properties, &["meeting_id"])
}

fn activities(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let query = dates::query(&params)?;
    list_pages(
        client,
        "report/activities",
        "activity_logs",
        query,
        &params,
        MAX_PAGE_SIZE,
    )
}

fn operation_logs(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let mut query = dates::query(&params)?;
    query.extend(params.query(&["category_type"])?);
    let path = "report/operationlogs";
    list_pages(
        client,
        path,
        "operation_logs",
        query,
        &params,
        MAX_PAGE_SIZE,
    )
}

fn participants(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let path = format!("report/meetings/{}/participants", meeting_segment(&params)?);
    let query = params.query(&["include_fields"])?;
    list_pages(client, &path, "participants", query, &params, MAX_PAGE_SIZE)
}
