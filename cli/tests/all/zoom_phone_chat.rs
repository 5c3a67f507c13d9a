//! Zoom Phone and Team Chat end to end (issue #15): the account's and one
//! user's call history by date range and direction, a page at a time or up
//! to `limit`; a chat message sent to a channel or a contact (and found in
//! the sandbox and in the conversation afterwards); a user's channels.
//! Each test checks what reached the sandbox and the output; wrong params
//! are refused before anything is sent; Zoom's errors keep code and message.

use crate::common::{Env, assert_follows_zooms_specs, assert_rejected, assert_zoom_error, query};
use serde_json::{Value, json};
use zoom_sandbox::SandboxConfig;
use zoom_sandbox::date_days_ago as day;

fn directions(calls: &Value) -> Vec<&str> {
    calls
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["direction"].as_str().unwrap())
        .collect()
}

#[test]
fn list_call_history_by_date_range_and_direction_follows_pages() {
    let env = Env::new();
    let (from, to) = (day(6), day(1));
    let params = json!({"from": from, "to": to, "directions": ["outbound"],
                        "page_size": 15, "limit": 30});
    let run = env.invoke("list_call_history", params);
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.json();
    let calls = &out["call_logs"];
    assert_eq!(calls.as_array().map(Vec::len), Some(30));
    assert!(directions(calls).iter().all(|d| *d == "outbound"));
    assert!(calls[0]["id"].is_string() && calls[0]["caller_name"].is_string());
    assert!(
        calls[0]["start_time"].as_str() >= calls[29]["start_time"].as_str(),
        "newest first"
    );
    // Two pages gathered by `call_logs`: the other array would be the last page's only.
    assert!(out.get("call_history").is_none(), "{out}");
    assert_eq!(out["pages_fetched"], 2);
    assert!(
        out["next_page_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    let requests = env.api_requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("GET", "/v2/phone/call_history")
    );
    assert_eq!(
        query(&requests[0]),
        vec![
            ("from", from.as_str()),
            ("to", to.as_str()),
            ("directions", "outbound"),
            ("page_size", "15")
        ]
    );
    assert_eq!(query(&requests[1])[4].0, "next_page_token");
    assert_follows_zooms_specs(&env);
}

#[test]
fn list_user_call_history_is_the_users_side_of_their_calls() {
    let env = Env::new();
    let (from, to) = (day(6), day(0));
    let params = json!({"user_id": "me", "from": from, "to": to, "call_types": ["general"]});
    let run = env.invoke("list_user_call_history", params);
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.json();
    let seeded = env.sandbox.calls("me");
    assert_eq!(
        out["call_logs"].as_array().map(Vec::len),
        Some(seeded.len())
    );
    assert_eq!(seeded.len(), 12);
    let inbound = directions(&out["call_logs"])
        .into_iter()
        .filter(|d| *d == "inbound")
        .count();
    assert_eq!(inbound, 6, "{out}");
    // One page: Zoom's second array is passed on as it came.
    assert_eq!(out["call_elements"].as_array().map(Vec::len), Some(12));
    let r = env.only_api_request();
    assert_eq!(r.path, "/v2/phone/users/me/call_history");
    assert_eq!(
        query(&r),
        vec![
            ("from", from.as_str()),
            ("to", to.as_str()),
            ("call_types", "general")
        ]
    );
    let run = env.invoke(
        "list_user_call_history",
        json!({"user_id": "nobody@example.org"}),
    );
    // The Phone spec's code for an unknown user, not the usual 1001.
    assert_zoom_error(
        &run,
        "error: not found (Zoom 300): User does not exist: nobody@example.org.",
    );
    assert_follows_zooms_specs(&env);
}

#[test]
fn send_chat_message_to_a_channel_is_stored_and_listed() {
    let env = Env::new();
    let channel = env.sandbox.chat_channels("me")[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let text = "Security notice: rotate your Zoom password today";
    let params = json!({"user_id": "me", "to_channel": channel, "message": text});
    let run = env.invoke("send_chat_message", params);
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.json();
    let id = out["id"].as_str().unwrap().to_owned();
    assert_eq!(
        out,
        json!({"id": id, "user_id": "me", "to_channel": channel, "sent": true,
               "message": format!("Message sent by me to channel {channel}")})
    );
    let r = env.only_api_request_to("POST", "/v2/chat/users/me/messages");
    assert!(query(&r).is_empty());
    assert_eq!(
        r.json,
        Some(json!({"message": text, "to_channel": channel}))
    );
    // In the sandbox afterwards: the owner's message in that channel.
    let stored = &env.sandbox.chat_messages()[0];
    assert_eq!(
        (&stored["id"], &stored["message"], &stored["_to_channel"]),
        (&json!(id), &json!(text), &json!(channel))
    );
    assert_eq!(stored["sender"], zoom_sandbox::OWNER_EMAIL);

    env.sandbox.clear_requests();
    let run = env.invoke(
        "list_chat_messages",
        json!({"user_id": "me", "to_channel": channel}),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let listed = run.json();
    assert_eq!(listed["messages"][0]["id"], id.as_str());
    assert_eq!(listed["messages"][0]["message"], text);
    let r = env.only_api_request();
    assert_eq!(r.path, "/v2/chat/users/me/messages");
    assert_eq!(query(&r), vec![("to_channel", channel.as_str())]);

    let run = env.invoke(
        "send_chat_message",
        json!({"user_id": "me", "to_channel": "nope", "message": "hi"}),
    );
    assert_zoom_error(
        &run,
        "error: not found (Zoom 4130): Channel does not exist: nope.",
    );
    assert_follows_zooms_specs(&env);
}

#[test]
fn send_chat_message_to_a_contact_and_read_the_conversation() {
    let env = Env::new();
    let contact = env.sandbox.user_emails()[2].clone();
    let params =
        json!({"user_id": "me", "to_contact": contact, "message": "Did you sign in from abroad?"});
    let run = env.invoke("send_chat_message", params);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["to_contact"], contact.as_str());
    let r = env.only_api_request();
    assert_eq!(
        r.json,
        Some(json!({"message": "Did you sign in from abroad?", "to_contact": contact}))
    );
    let contact_id = env.sandbox.user(&contact).unwrap()["id"].clone();
    assert_eq!(env.sandbox.chat_messages()[0]["_to_contact"], contact_id);

    // Yesterday's messages of user 1 with the owner, from the seed.
    env.sandbox.clear_requests();
    let first = env.sandbox.user_emails()[1].clone();
    let yesterday = day(1);
    let params = json!({"user_id": "me", "to_contact": first, "date": yesterday, "page_size": 50});
    let run = env.invoke("list_chat_messages", params);
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.json();
    assert_eq!(out["messages"].as_array().map(Vec::len), Some(1), "{out}");
    assert_eq!(out["messages"][0]["sender"], first.as_str());
    let r = env.only_api_request();
    assert_eq!(
        query(&r),
        vec![
            ("to_contact", first.as_str()),
            ("date", yesterday.as_str()),
            ("page_size", "50")
        ]
    );
    // Older than six months: Zoom's 300 and its words.
    let params = json!({"user_id": "me", "to_contact": first, "date": "2020-01-01"});
    assert_zoom_error(
        &env.invoke("list_chat_messages", params),
        "error: invalid input (Zoom 300): Only provide past chat messages in recent 6 months.",
    );
    assert_follows_zooms_specs(&env);
}

#[test]
fn list_chat_channels_follows_pages() {
    let env = Env::new();
    let params = json!({"user_id": "me", "page_size": 5, "limit": 12});
    let run = env.invoke("list_chat_channels", params);
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.json();
    let channels = out["channels"].as_array().unwrap();
    assert_eq!(channels.len(), 12);
    assert_eq!(out["pages_fetched"], 3);
    assert_eq!(out["next_page_token"], "");
    assert!(channels.iter().all(|c| {
        c["jid"]
            .as_str()
            .is_some_and(|j| j.ends_with("@conference.xmpp.zoom.us"))
    }));
    let expected: Vec<Value> = env.sandbox.chat_channels("me");
    assert_eq!(channels, &expected);
    let requests = env.api_requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].path, "/v2/chat/users/me/channels");
    assert_eq!(query(&requests[0]), vec![("page_size", "5")]);
    assert_follows_zooms_specs(&env);
}

#[test]
fn a_token_without_chat_scopes_hears_zooms_4711() {
    let env = Env::with_config(SandboxConfig {
        scopes: vec!["phone:read:admin".into()],
        ..SandboxConfig::default()
    });
    let params = json!({"user_id": "me", "to_contact": "ada@example.com", "message": "hi"});
    let run = env.invoke("send_chat_message", params);
    assert_zoom_error(
        &run,
        "error: forbidden (Zoom 4711): Invalid access token, does not contain scopes:\
         [chat_message:write, chat_message:write:admin, team_chat:write:user_message, \
         team_chat:write:user_message:admin]",
    );
    assert!(
        env.sandbox
            .chat_messages()
            .iter()
            .all(|m| m["message"] != "hi")
    );
}

#[test]
fn wrong_phone_and_chat_params_are_refused_with_their_path_before_anything_is_sent() {
    let env = Env::new();
    let long = "x".repeat(1025);
    let cases = [
        (
            "list_call_history",
            json!({"from": "2024-01-01", "to": "2024-02-02"}),
            "more than one month",
        ),
        (
            "list_call_history",
            json!({"from": "2024-01-01"}),
            "param `from` needs `to`",
        ),
        (
            "list_call_history",
            json!({"directions": ["sideways"]}),
            "param `directions[0]` must be one of",
        ),
        (
            "list_call_history",
            json!({"page_size": 301}),
            "param `page_size`",
        ),
        (
            "list_user_call_history",
            json!({}),
            "missing required param `user_id`",
        ),
        (
            "list_user_call_history",
            json!({"user_id": "me", "call_results": ["accepted"]}),
            "param `call_results[0]` must be one of",
        ),
        (
            "send_chat_message",
            json!({"user_id": "me", "message": "hi"}),
            "param `to_contact` or `to_channel` is required",
        ),
        (
            "send_chat_message",
            json!({"user_id": "me", "message": "hi", "to_contact": "a@example.com", "to_channel": "c"}),
            "give one of them, not both",
        ),
        (
            "send_chat_message",
            json!({"user_id": "me", "to_channel": "c", "message": long}),
            "param `message`",
        ),
        (
            "send_chat_message",
            json!({"user_id": "me", "to_channel": "c"}),
            "missing required param `message`",
        ),
        (
            "list_chat_messages",
            json!({"user_id": "me", "to_channel": "c", "from": "2024-01-01T00:00:00+02:00"}),
            "param `from`",
        ),
        (
            "list_chat_messages",
            json!({"user_id": "me", "to_channel": "c", "page_size": 51}),
            "param `page_size`",
        ),
        (
            "list_chat_messages",
            json!({"user_id": "me"}),
            "param `to_contact` or `to_channel` is required",
        ),
        (
            "list_chat_channels",
            json!({"user_id": "me", "page_size": 1001}),
            "param `page_size`",
        ),
    ];
    for (action, params, needle) in cases {
        let run = env.invoke(action, params);
        assert_rejected(&env, &run, needle);
    }
}
