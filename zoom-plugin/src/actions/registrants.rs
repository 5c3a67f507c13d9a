//! The registrants of a meeting or a webinar: who asked to attend, approving
//! or turning them away (many at once), adding and removing one. After a
//! zoom-bombing, the way to let only known people back in. Both families are
//! the same actions on their own paths, declared from one [`Family`] each.

use serde_json::{Value, json};
use soar_plugin_sdk::{Action, ActionError, schema};

use super::common::{Event, MEETING, WEBINAR, paging};
use super::meetings::{MEETING_READ, MEETING_WRITE};
use super::paging::{MAX_PAGE_SIZE, list as list_pages};
use super::webinars::{WEBINAR_READ, WEBINAR_WRITE};
use crate::client::Client;
use crate::params::Params;
use crate::schemas;

/// One action's declaration: name, title, description and Zoom operation.
struct Decl {
    name: &'static str,
    title: &'static str,
    description: &'static str,
    operation: &'static str,
}

/// The registrant actions of meetings or of webinars.
struct Family {
    event: &'static Event,
    read: &'static [&'static str],
    write: &'static [&'static str],
    /// Query params of the list besides occurrence and status (Zoom's, per operation).
    list_filters: &'static [&'static str],
    list: Decl,
    add: Decl,
    status: Decl,
    delete: Decl,
}

const MEETINGS: Family = Family {
    event: &MEETING,
    read: MEETING_READ,
    write: MEETING_WRITE,
    list_filters: &[],
    list: Decl {
        name: "list_meeting_registrants",
        title: "List meeting registrants",
        description: "A meeting's registrants of one status, a page at a time or up to `limit`",
        operation: "GET /meetings/{meetingId}/registrants",
    },
    add: Decl {
        name: "add_meeting_registrant",
        title: "Add meeting registrant",
        description: "Register someone for a meeting; the result is Zoom's answer, with their \
                      registrant_id and join URL",
        operation: "POST /meetings/{meetingId}/registrants",
    },
    status: Decl {
        name: "update_meeting_registrant_status",
        title: "Update meeting registrants' status",
        description: "Approve, deny or cancel the registration of up to 30 registrants at once",
        operation: "PUT /meetings/{meetingId}/registrants/status",
    },
    delete: Decl {
        name: "delete_meeting_registrant",
        title: "Delete meeting registrant",
        description: "Remove one registrant from a meeting, or from one of its occurrences",
        operation: "DELETE /meetings/{meetingId}/registrants/{registrantId}",
    },
};

const WEBINARS: Family = Family {
    event: &WEBINAR,
    read: WEBINAR_READ,
    write: WEBINAR_WRITE,
    list_filters: &["tracking_source_id"],
    list: Decl {
        name: "list_webinar_registrants",
        title: "List webinar registrants",
        description: "A webinar's registrants of one status, a page at a time or up to `limit`",
        operation: "GET /webinars/{webinarId}/registrants",
    },
    add: Decl {
        name: "add_webinar_registrant",
        title: "Add webinar registrant",
        description: "Register someone for a webinar; the result is Zoom's answer, with their \
                      registrant_id and join URL",
        operation: "POST /webinars/{webinarId}/registrants",
    },
    status: Decl {
        name: "update_webinar_registrant_status",
        title: "Update webinar registrants' status",
        description: "Approve, deny or cancel the webinar registration of up to 30 registrants \
                      at once",
        operation: "PUT /webinars/{webinarId}/registrants/status",
    },
    delete: Decl {
        name: "delete_webinar_registrant",
        title: "Delete webinar registrant",
        description: "Remove one registrant from a webinar, or from one of its occurrences",
        operation: "DELETE /webinars/{webinarId}/registrants/{registrantId}",
    },
};

pub fn actions() -> Vec<Action<Client>> {
    family_actions(&MEETINGS)
}

pub fn webinar_actions() -> Vec<Action<Client>> {
    family_actions(&WEBINARS)
}

fn family_actions(f: &'static Family) -> Vec<Action<Client>> {
    let id = f.event.param;
    vec![
        Action::enrichment(f.list.name, f.list.title)
            .description(f.list.description)
            .operation(f.list.operation)
            .scopes(f.read)
            .params_with(|| list_params(f))
            .run(|client: &mut Client, params: Params| list(client, params, f)),
        Action::containment(f.add.name, f.add.title)
            .description(f.add.description)
            .operation(f.add.operation)
            .scopes(f.write)
            .params_with(|| add_params(f.event))
            .output(move || json!({"type": "object", "required": ["id", "registrant_id"]}))
            .run(|client: &mut Client, params: Params| add(client, params, f.event)),
        Action::containment(f.status.name, f.status.title)
            .description(f.status.description)
            .operation(f.status.operation)
            .scopes(f.write)
            .params_with(|| status_params(f.event))
            .output(move || json!({"type": "object", "required": [id, "action", "registrants", "message"]}))
            // It sets a status: twice is once.
            .idempotent(true)
            .run(|client: &mut Client, params: Params| update_status(client, params, f.event)),
        Action::containment(f.delete.name, f.delete.title)
            .description(f.delete.description)
            .operation(f.delete.operation)
            .scopes(f.write)
            .params_with(|| delete_params(f))
            .output(move || json!({"type": "object", "required": [id, "registrant_id", "deleted", "message"]}),
            )
            // Not safe to repeat: the second answers not-found, so a retry after an
            // ambiguous failure (it may have reached Zoom) would report as failed
            // what was done. A caller checks the state instead of retrying.
            .idempotent(false)
            .run(|client: &mut Client, params: Params| delete(client, params, f.event)),
    ]
}

fn occurrence(name: &str, description: &str) -> Value {
    json!({name: {"type": "string", "minLength": 1, "description": description}})
}

fn registrant_id(f: &Family) -> Value {
    json!({"registrant_id": {
        "type": "string",
        "minLength": 1,
        "description": format!("The registrant's ID, as {} gives it", f.list.name),
    }})
}

fn list_params(f: &Family) -> Value {
    let status = json!({"status": {
        "type": "string",
        "enum": ["pending", "approved", "denied"],
        "default": "approved",
        "description": "Which registrants to list",
    }});
    let mut filters = json!({});
    for name in f.list_filters {
        filters[*name] = json!({
            "type": "string",
            "minLength": 1,
            "description": "Only the registrants who came through this tracking source",
        });
    }
    let properties = schema::merge([
        f.event.id_param(),
        occurrence("occurrence_id", "Only this occurrence's registrants"),
        status,
        filters,
        paging(MAX_PAGE_SIZE),
    ]);
    schema::params(properties, &[f.event.param])
}

fn add_params(event: &Event) -> Value {
    let body = (event.registrant_body)();
    let mut required = vec![event.param];
    required.extend(schemas::required(&body));
    let occurrences = occurrence(
        "occurrence_ids",
        "Register for these occurrences only (comma-separated occurrence IDs)",
    );
    let properties = schema::merge([
        event.id_param(),
        occurrences,
        schemas::properties(body.clone()),
    ]);
    schema::params(properties, &required)
}

fn status_params(event: &Event) -> Value {
    let mut body = (event.registrant_status_body)();
    let registrants = &mut body["properties"]["registrants"];
    registrants["minItems"] = 1.into();
    // Each names a registrant by its ID or email.
    registrants["items"]["anyOf"] = json!([{"required": ["id"]}, {"required": ["email"]}]);
    registrants["description"] =
        "The registrants, each as {\"id\": ...} or {\"email\": ...} (at most 30)".into();
    let properties = schema::merge([
        event.id_param(),
        occurrence("occurrence_id", "Only this occurrence's registrations"),
        schemas::properties(body),
    ]);
    schema::params(properties, &[event.param, "action", "registrants"])
}

fn delete_params(f: &Family) -> Value {
    let properties = schema::merge([
        f.event.id_param(),
        registrant_id(f),
        occurrence("occurrence_id", "Only this occurrence's registration"),
    ]);
    schema::params(properties, &[f.event.param, "registrant_id"])
}

fn list(client: &mut Client, params: Params, f: &Family) -> Result<Value, ActionError> {
    let event = f.event;
    let path = format!("{}/{}/registrants", event.collection, event.id(&params)?);
    let mut names = vec!["occurrence_id", "status"];
    names.extend(f.list_filters);
    let query = params.query(&names)?;
    list_pages(client, &path, "registrants", query, &params, MAX_PAGE_SIZE)
}

/// Zoom's 201 answer is the result.
fn add(client: &mut Client, params: Params, event: &Event) -> Result<Value, ActionError> {
    let path = format!("{}/{}/registrants", event.collection, event.id(&params)?);
    let query = params.query(&["occurrence_ids"])?;
    let body = params.body_without(&[event.param, "occurrence_ids"]);
    client.call("POST", &path, &query, Some(&Value::Object(body)))
}

fn update_status(client: &mut Client, params: Params, event: &Event) -> Result<Value, ActionError> {
    let id = event.id(&params)?;
    let action = params.string("action")?;
    let registrants = params.get("registrants").cloned().unwrap_or(Value::Null);
    let query = params.query(&["occurrence_id"])?;
    let body = json!({"action": action, "registrants": registrants});
    let path = format!("{}/{id}/registrants/status", event.collection);
    client.call("PUT", &path, &query, Some(&body))?;
    let count = registrants.as_array().map_or(0, Vec::len);
    let done = match action.as_str() {
        "approve" => "approved",
        "deny" => "denied",
        _ => "cancelled",
    };
    Ok(json!({
        event.param: id,
        "action": action,
        "registrants": registrants,
        "message": format!("{count} registration(s) of {} {id} {done}", event.noun),
    }))
}

fn delete(client: &mut Client, params: Params, event: &Event) -> Result<Value, ActionError> {
    let id = event.id(&params)?;
    let registrant = params.string("registrant_id")?;
    let path = format!(
        "{}/{id}/registrants/{}",
        event.collection,
        params.segment("registrant_id")?
    );
    client.call("DELETE", &path, &params.query(&["occurrence_id"])?, None)?;
    Ok(json!({
        event.param: id,
        "registrant_id": registrant,
        "deleted": true,
        "message": format!("Registrant {registrant} removed from {} {id}", event.noun),
    }))
}
