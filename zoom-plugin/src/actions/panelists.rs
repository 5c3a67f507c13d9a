//! A webinar's panelists: who may speak. Listing them, adding several at
//! once, removing one (an intruder given a panelist link, say).

use serde_json::{Value, json};
use soar_plugin_sdk::{Action, ActionError, schema};

use super::common::{WEBINAR, webinar_id};
use super::webinars::{WEBINAR_READ, WEBINAR_WRITE};
use crate::client::Client;
use crate::params::Params;
use crate::schemas;

pub fn actions() -> Vec<Action<Client>> {
    vec![
        Action::enrichment("list_webinar_panelists", "List webinar panelists")
            .description("A webinar's panelists, with their emails and join URLs")
            .operation("GET /webinars/{webinarId}/panelists")
            .scopes(WEBINAR_READ)
            .params_with(|| schema::params(webinar_id(), &["webinar_id"]))
            .run(list),
        Action::containment("add_webinar_panelists", "Add webinar panelists")
            .description("Make up to 30 people panelists of a webinar at once (an email already a panelist is updated)")
            .operation("POST /webinars/{webinarId}/panelists")
            .scopes(WEBINAR_WRITE)
            .params_with(add_params)
            .output(move || json!({"type": "object", "required": ["webinar_id", "panelists", "added", "message"]}))
            .run(add),
        Action::containment("remove_webinar_panelist", "Remove webinar panelist")
            .description("Remove one panelist from a webinar")
            .operation("DELETE /webinars/{webinarId}/panelists/{panelistId}")
            .scopes(WEBINAR_WRITE)
            .params_with(remove_params)
            .output(move || json!({"type": "object", "required": ["webinar_id", "panelist_id", "removed", "message"]}))
            // Not safe to repeat: the second answers not-found, so a retry after an
            // ambiguous failure (it may have reached Zoom) would report as failed
            // what was done. A caller checks the state instead of retrying.
            .idempotent(false)
            .run(remove),
    ]
}

fn add_params() -> Value {
    let mut body = schemas::panelists();
    let panelists = &mut body["properties"]["panelists"];
    panelists["minItems"] = 1.into();
    // Zoom needs each panelist's name and email (its docs; the spec leaves them optional).
    panelists["items"]["required"] = json!(["email", "name"]);
    panelists["description"] =
        "The panelists, each as {\"email\": ..., \"name\": ...} (at most 30)".into();
    let properties = schema::merge([webinar_id(), schemas::properties(body)]);
    schema::params(properties, &["webinar_id", "panelists"])
}

fn remove_params() -> Value {
    let panelist = json!({"panelist_id": {
        "type": "string",
        "minLength": 1,
        "description": "The panelist's ID, as list_webinar_panelists gives it",
    }});
    schema::params(
        schema::merge([webinar_id(), panelist]),
        &["webinar_id", "panelist_id"],
    )
}

/// Zoom's answer (`total_records`, `panelists`), with the webinar's ID.
fn list(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let id = WEBINAR.id(&params)?;
    let mut body = client.call("GET", &format!("webinars/{id}/panelists"), &[], None)?;
    if let Value::Object(map) = &mut body {
        map.insert("webinar_id".into(), id.into());
    }
    Ok(body)
}

fn add(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let id = WEBINAR.id(&params)?;
    let panelists = params.get("panelists").cloned().unwrap_or(Value::Null);
    let body = json!({"panelists": panelists});
    let answer = client.call(
        "POST",
        &format!("webinars/{id}/panelists"),
        &[],
        Some(&body),
    )?;
    let count = panelists.as_array().map_or(0, Vec::len);
    let mut result = json!({
        "webinar_id": id,
        "panelists": panelists,
        "added": true,
        "message": format!("{count} panelist(s) added to webinar {id}"),
    });
    if let Some(at) = answer.get("updated_at") {
        result["updated_at"] = at.clone();
    }
    Ok(result)
}

fn remove(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let id = WEBINAR.id(&params)?;
    let panelist = params.string("panelist_id")?;
    let path = format!("webinars/{id}/panelists/{}", params.segment("panelist_id")?);
    client.call("DELETE", &path, &[], None)?;
    Ok(json!({
        "webinar_id": id,
        "panelist_id": panelist,
        "removed": true,
        "message": format!("Panelist {panelist} removed from webinar {id}"),
    }))
}
