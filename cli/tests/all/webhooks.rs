//! `Host::webhook` with the Zoom plugin: Zoom's URL validation challenge,
//! a signed event, and the rejections (bad, missing or stale signature),
//! each with its reason. Signed here the way Zoom signs.

use crate::common::Env;
use crate::common::signing::{hmac_hex, now_secs, zoom_request as signed};
use serde_json::{Value, json};
use soar_host::{Host, Resource, WebhookAnswer};

const SECRET_TOKEN: &str = "zoom-webhook-secret-token";

struct Setup {
    _env: Env,
    host: Host,
    resource: Resource,
}

fn setup() -> Setup {
    let env = Env::new();
    let text = env.resource_toml(
        "Zoom Webhooks",
        &format!("webhook_secret_token = \"{SECRET_TOKEN}\"\n"),
    );
    let path = env.write_resource("webhooks.toml", &text);
    // SAFETY: set before any thread of this test reads the environment.
    unsafe { std::env::set_var(crate::common::SECRET_VAR, env.secret()) };
    Setup {
        host: Host::new(crate::common::host_options()).unwrap(),
        resource: Resource::load(&path).unwrap(),
        _env: env,
    }
}

fn event(name: &str) -> Value {
    json!({
        "event": name,
        "event_ts": now_secs() * 1000,
        "payload": {"account_id": "acc", "object": {"id": 85746065432u64, "topic": "Standup"}}
    })
}

fn rejected(answer: WebhookAnswer) -> String {
    match answer {
        WebhookAnswer::Rejected { reason } => reason,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn answers_zooms_url_validation() {
    let s = setup();
    let body = json!({"event": "endpoint.url_validation", "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}, "event_ts": now_secs() * 1000});
    let answer = s
        .host
        .webhook(&s.resource, signed(&body, now_secs(), SECRET_TOKEN))
        .await
        .unwrap();
    let WebhookAnswer::Reply { status, body, .. } = answer else {
        panic!("expected a reply, got {answer:?}")
    };
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["plainToken"], "qgg8vlvZRS6UYooatFL8Aw");
    assert_eq!(
        body["encryptedToken"],
        hmac_hex(SECRET_TOKEN, b"qgg8vlvZRS6UYooatFL8Aw")
    );
}

#[tokio::test]
async fn accepts_a_correctly_signed_event() {
    let s = setup();
    let sent = event("meeting.started");
    let answer = s
        .host
        .webhook(&s.resource, signed(&sent, now_secs(), SECRET_TOKEN))
        .await
        .unwrap();
    let WebhookAnswer::Event {
        event_type,
        payload,
        time_ms,
        ..
    } = answer
    else {
        panic!("expected an event, got {answer:?}")
    };
    assert_eq!(event_type, "meeting.started");
    assert_eq!(time_ms, sent["event_ts"].as_u64().unwrap());
    assert_eq!(payload["payload"]["object"]["topic"], "Standup");
}

#[tokio::test]
async fn rejects_bad_missing_and_stale_signatures_saying_why() {
    let s = setup();
    let body = event("meeting.ended");
    let bad = s
        .host
        .webhook(&s.resource, signed(&body, now_secs(), "another-secret"))
        .await
        .unwrap();
    assert!(rejected(bad).contains("signature"));

    let mut missing = signed(&body, now_secs(), SECRET_TOKEN);
    missing.headers.retain(|(n, _)| n != "x-zm-signature");
    let reason = rejected(s.host.webhook(&s.resource, missing).await.unwrap());
    assert!(reason.contains("x-zm-signature"), "{reason}");

    let stale = signed(&body, now_secs() - 6 * 60, SECRET_TOKEN);
    let reason = rejected(s.host.webhook(&s.resource, stale).await.unwrap());
    assert!(reason.contains("timestamp"), "{reason}");

    // A body changed after signing.
    let mut tampered = signed(&body, now_secs(), SECRET_TOKEN);
    tampered.body = event("meeting.deleted").to_string().into_bytes();
    assert!(rejected(s.host.webhook(&s.resource, tampered).await.unwrap()).contains("signature"));
}
