//! Zoom Team Chat: send a message as a user to a contact or a channel (to
//! warn people during an incident), read a conversation, list a user's
//! channels. Lists a page at a time or up to `limit`.

use serde_json::{Map, Value, json};
use soar_plugin_sdk::{Action, ActionError, schema};

use super::common::{paging_from, user_id};
use super::paging::{
    CHAT_DEFAULT_PAGE_SIZE, MAX_CHANNELS_PAGE_SIZE, MAX_CHAT_MESSAGES_PAGE_SIZE, list as list_pages,
};
use crate::client::Client;
use crate::errors::invalid_input;
use crate::params::Params;

// As endpoints-summary-phone-chat.json lists them, classic then granular.
const SEND_MESSAGE: &[&str] = &[
    "chat_message:write",
    "chat_message:write:admin",
    "team_chat:write:user_message",
    "team_chat:write:user_message:admin",
];
const LIST_MESSAGES: &[&str] = &[
    "chat_message:read",
    "chat_message:write",
    "chat_message:read:admin",
    "chat_message:write:admin",
    "team_chat:read:list_user_messages",
    "team_chat:read:list_user_messages:admin",
];
const LIST_CHANNELS: &[&str] = &[
    "chat_channel:read",
    "chat_channel:write",
    "chat_channel:read:admin",
    "chat_channel:write:admin",
    "team_chat:read:list_user_channels",
    "team_chat:read:list_user_channels:admin",
];

/// Zoom's `yyyy-MM-dd'T'HH:mm:ss'Z'`: the JSON Schema `date-time` format
/// also allows offsets and fractions, which Zoom's format does not.
const ZOOM_DATE_TIME: &str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$";

pub fn actions() -> Vec<Action<Client>> {
    vec![
        Action::containment("send_chat_message", "Send chat message")
            .description(
                "Send a Team Chat message as a user to a contact (email or user ID) or to a channel; \
                 Zoom answers the new message's ID",
            )
            .operation("POST /chat/users/{userId}/messages")
            .scopes(SEND_MESSAGE)
            .params_with(send_params)
            .output(|| json!({"type": "object", "required": ["id", "user_id", "sent", "message"]}))
            // A second send is a second message.
            .idempotent(false)
            .run(send),
        Action::enrichment("list_chat_messages", "List chat messages")
            .description(
                "A user's Team Chat messages with a contact or in a channel, on one day (today by default) \
                 or from a time on, within the last six months",
            )
            .operation("GET /chat/users/{userId}/messages")
            .scopes(LIST_MESSAGES)
            .params_with(list_params)
            .output(|| json!({
                "type": "object",
                "required": ["messages"],
                "properties": {
                    "messages": {"type": "array", "items": {"type": "object"}},
                    "next_page_token": {"type": "string"},
                },
            }))
            .run(list),
        Action::enrichment("list_chat_channels", "List chat channels")
            .description("The Team Chat channels a user is a member of: ID, name, type, settings")
            .operation("GET /chat/users/{userId}/channels")
            .scopes(LIST_CHANNELS)
            .params_with(channel_params)
            .output(|| json!({
                "type": "object",
                "required": ["channels"],
                "properties": {
                    "channels": {"type": "array", "items": {"type": "object"}},
                    "next_page_token": {"type": "string"},
                },
            }))
            .run(channels),
    ]
}

/// `to_contact` and `to_channel`: one of them, checked when the action runs.
fn conversation(verb: &str) -> Value {
    json!({
        "to_contact": {
            "type": "string",
            "minLength": 1,
            "description": format!("The contact {verb}: an email address, user ID or member ID (or give `to_channel`)"),
        },
        "to_channel": {
            "type": "string",
            "minLength": 1,
            "description": format!("The channel {verb}: its ID (or give `to_contact`)"),
        },
    })
}

fn send_params() -> Value {
    let fields = json!({
        "message": {
            "type": "string",
            "minLength": 1,
            "maxLength": 1024,
            "description": "The message text (at most 1024 characters)",
        },
        "reply_main_message_id": {
            "type": "string",
            "minLength": 1,
            "description": "Reply in the thread of this message (its ID)",
        },
    });
    let properties = schema::merge([user_id(), conversation("to write to"), fields]);
    schema::params(properties, &["user_id", "message"])
}

fn list_params() -> Value {
    let when = json!({
        "date": {
            "type": "string",
            "format": "date",
            "description": "The day to list, yyyy-mm-dd (Zoom's default: today); Zoom prefers it to `from`",
        },
        "from": {
            "type": "string",
            "format": "date-time",
            "pattern": ZOOM_DATE_TIME,
            "description": "List from this time on, yyyy-MM-ddTHH:mm:ssZ (UTC), within the last six months",
        },
        "to": {
            "type": "string",
            "format": "date-time",
            "pattern": ZOOM_DATE_TIME,
            "description": "List up to this time, yyyy-MM-ddTHH:mm:ssZ (UTC); with `from`",
        },
        "include_deleted_and_edited_message": {
            "type": "boolean",
            "description": "Also deleted and edited messages",
        },
    });
    let properties = schema::merge([
        user_id(),
        conversation("of the conversation"),
        when,
        paging_from(CHAT_DEFAULT_PAGE_SIZE, MAX_CHAT_MESSAGES_PAGE_SIZE),
    ]);
    schema::params(properties, &["user_id"])
}

fn channel_params() -> Value {
    let properties = schema::merge([
        user_id(),
        paging_from(CHAT_DEFAULT_PAGE_SIZE, MAX_CHANNELS_PAGE_SIZE),
    ]);
    schema::params(properties, &["user_id"])
}

/// The one of `to_contact` and `to_channel` given, as (name, value).
fn target(params: &Params) -> Result<(&'static str, String), ActionError> {
    match (
        params.opt_string("to_contact")?,
        params.opt_string("to_channel")?,
    ) {
        (Some(contact), None) => Ok(("to_contact", contact)),
        (None, Some(channel)) => Ok(("to_channel", channel)),
        (Some(_), Some(_)) => Err(invalid_input(
            "params `to_contact` and `to_channel`: give one of them, not both",
        )),
        (None, None) => Err(invalid_input(
            "param `to_contact` or `to_channel` is required: the contact or the channel",
        )),
    }
}

fn send(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let user_id = params.string("user_id")?;
    let (to, target) = target(&params)?;
    let mut body = Map::new();
    body.insert("message".into(), json!(params.string("message")?));
    body.insert(to.into(), json!(target));
    if let Some(reply) = params.opt_string("reply_main_message_id")? {
        body.insert("reply_main_message_id".into(), json!(reply));
    }
    let path = format!("chat/users/{}/messages", params.segment("user_id")?);
    let answer = client.call("POST", &path, &[], Some(&Value::Object(body)))?;
    let id = answer.get("id").cloned().unwrap_or(Value::Null);
    let whom = match to {
        "to_channel" => format!("channel {target}"),
        _ => target.clone(),
    };
    let mut out = json!({"id": id, "user_id": user_id});
    out[to] = json!(target);
    out["sent"] = json!(true);
    out["message"] = json!(format!("Message sent by {user_id} to {whom}"));
    Ok(out)
}

fn list(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let (to, target) = target(&params)?;
    let path = format!("chat/users/{}/messages", params.segment("user_id")?);
    let mut query = vec![(to.to_owned(), target)];
    query.extend(params.query(&["date", "from", "to", "include_deleted_and_edited_message"])?);
    list_pages(
        client,
        &path,
        "messages",
        query,
        &params,
        MAX_CHAT_MESSAGES_PAGE_SIZE,
    )
}

fn channels(client: &mut Client, params: Params) -> Result<Value, ActionError> {
    let path = format!("chat/users/{}/channels", params.segment("user_id")?);
    list_pages(
        client,
        &path,
        "channels",
        Vec::new(),
        &params,
        MAX_CHANNELS_PAGE_SIZE,
    )
}
