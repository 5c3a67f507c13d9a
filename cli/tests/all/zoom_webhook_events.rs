//! The events a playbook starts from, as Zoom sends them (the examples and
//! shapes of ../shared/zoom-api/phone-chat-webhooks.md), through
//! `Host::webhook`: each is verified and emitted whole under its type with a
//! stable id; and a `recording.completed` event carries what a playbook needs
//! to fetch the file, which `download_recording` then saves.

use crate::common::Env;
use crate::common::signing::{now_secs, zoom_request};
use serde_json::{Value, json};
use soar_host::{Host, Resource, WebhookAnswer};

const SECRET_TOKEN: &str = "zoom-webhook-secret-token";

struct Setup {
    env: Env,
    host: Host,
    resource: Resource,
    path: std::path::PathBuf,
}

fn setup() -> Setup {
    let env = Env::new();
    let extra = format!(
        "webhook_secret_token = \"{SECRET_TOKEN}\"\nstorage_url = \"{}\"\n",
        env.sandbox.storage_url()
    );
    let path = env.write_resource("events.toml", &env.resource_toml("Zoom Events", &extra));
    // SAFETY: set before any thread of this test reads the environment.
    unsafe { std::env::set_var(crate::common::SECRET_VAR, env.secret()) };
    Setup {
        host: Host::new(crate::common::host_options()).unwrap(),
        resource: Resource::load(&path).unwrap(),
        path,
        env,
    }
}

/// The event `body` becomes: its type, id and payload.
async fn emitted(s: &Setup, body: &Value) -> (String, String, Value) {
    let request = zoom_request(body, now_secs(), SECRET_TOKEN);
    match s.host.webhook(&s.resource, request).await.unwrap() {
        WebhookAnswer::Event {
            event_type,
            id,
            payload,
            ..
        } => (event_type, id, payload),
        other => panic!("expected an event, got {other:?}"),
    }
}

fn envelope(event: &str, ts: u64, payload: Value) -> Value {
    json!({"event": event, "event_ts": ts, "payload": payload})
}

#[tokio::test]
async fn users_and_meetings_events_are_emitted_whole_with_stable_ids() {
    let s = setup();
    let ts = now_secs() * 1000;
    let signed_in = json!({"account_id": "AAAAAABBBB", "object": {"id": "abcD3ojfdbjfg",
        "client_type": "android", "date_time": "2021-07-26T20:13:57Z", "email": "jchill@example.com",
        "version": "5.7.4.1585", "login_type": "100"}});
    let user = json!({"id": "abcD3ojfdbjfg", "first_name": "Jill", "last_name": "Chill",
        "email": "jchill@example.com", "type": 3});
    let created = json!({"account_id": "AAAAAABBBB", "operator": "admin@example.com",
        "operator_id": "z8yCxjabcdEFGHfp8uQ", "creation_type": "create", "object": user.clone()});
    let deactivated = json!({"account_id": "AAAAAABBBB", "operator": "admin@example.com",
        "operator_id": "z8yCxjabcdEFGHfp8uQ", "object": user});
    let meeting = json!({"id": "1234567890", "uuid": "Wk9PTV9NRUVUSU5HX0lE", "host_id": "Wk9PTV9VU0VSX0lE",
        "topic": "My Meeting", "type": 8, "start_time": "2021-07-13T21:44:51Z",
        "timezone": "America/Los_Angeles", "duration": 60});
    let mut ended = meeting.clone();
    ended["end_time"] = json!("2021-07-13T22:44:51Z");
    let mut joined = meeting.clone();
    joined["participant"] = json!({"user_id": "16778240", "user_name": "Jill Chill",
        "participant_uuid": "PZ1", "join_time": "2021-07-13T21:45:00Z", "email": "jchill@example.com"});
    let account = |object: Value| json!({"account_id": "Wk9PTV9BQ0NPVU5UX0lE", "object": object});
    let cases = [
        (
            "user.signed_in",
            signed_in.clone(),
            "abcD3ojfdbjfg".to_owned(),
        ),
        ("user.signed_out", signed_in, "abcD3ojfdbjfg".to_owned()),
        ("user.created", created, "abcD3ojfdbjfg".to_owned()),
        ("user.deactivated", deactivated, "abcD3ojfdbjfg".to_owned()),
        (
            "meeting.started",
            account(meeting),
            "Wk9PTV9NRUVUSU5HX0lE".to_owned(),
        ),
        (
            "meeting.ended",
            account(ended),
            "Wk9PTV9NRUVUSU5HX0lE".to_owned(),
        ),
        (
            "meeting.participant_joined",
            account(joined),
            "Wk9PTV9NRUVUSU5HX0lE:PZ1".to_owned(),
        ),
    ];
    for (name, payload, key) in cases {
        let sent = envelope(name, ts, payload);
        let (event_type, id, payload) = emitted(&s, &sent).await;
        assert_eq!(event_type, name);
        assert_eq!(id, format!("{name}:{key}:{ts}"));
        assert_eq!(payload, sent, "{name}: Zoom's body, whole");
    }
    // Every one of them is listed in the manifest.
    let manifest = s.env.cli(&["actions", "zoom", "--json"]).json();
    let declared: Vec<&str> = manifest["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    for name in [
        "user.signed_in",
        "user.signed_out",
        "user.created",
        "user.deactivated",
        "meeting.started",
        "meeting.ended",
        "meeting.participant_joined",
        "recording.completed",
    ] {
        assert!(declared.contains(&name), "{name} in {declared:?}");
    }
}

#[tokio::test]
async fn a_completed_recording_carries_what_a_playbook_needs_to_fetch_it() {
    let s = setup();
    let id = s.env.sandbox.meeting_ids("me")[2];
    let file = s.env.sandbox.add_recording(id, 4096);
    let object = s
        .env
        .invoke("get_meeting_recordings", json!({"meeting_id": id}))
        .json();
    let mut sent = envelope(
        "recording.completed",
        now_secs() * 1000,
        json!({"account_id": s.env.sandbox.config().account_id, "object": object}),
    );
    sent["download_token"] = json!("eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl");
    let (event_type, _, payload) = emitted(&s, &sent).await;
    assert_eq!(event_type, "recording.completed");
    // The token beside the payload, the files' download URLs inside it.
    assert_eq!(payload["download_token"], sent["download_token"]);
    let files = &payload["payload"]["object"]["recording_files"];
    assert_eq!(files[0]["download_url"], file.download_url.as_str());

    // The playbook's next step: the event's meeting UUID and file id.
    let output = s.env.dir.path().join("out");
    std::fs::create_dir(&output).unwrap();
    let params =
        json!({"meeting_id": payload["payload"]["object"]["uuid"], "file_id": files[0]["id"]});
    let run = s.env.cli(&[
        "invoke",
        s.path.to_str().unwrap(),
        "download_recording",
        "--params",
        &params.to_string(),
        "--output",
        output.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["sha256"], file.sha256_hex.as_str());
}
