//! Zoom's webhooks through the service: the URL validation, a signed event
//! stored once however often it is delivered, published on the list and the
//! SSE stream (resumable), and bad or stale signatures refused with 401.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::{Answer, Served, WEBHOOK_SECRET};
use crate::common::signing::{hmac_hex, now_secs, zoom_headers};

/// Deliver an event of `event_type` signed with the resource's secret (or
/// `signature_key`), as Zoom does; the body's time makes each call's event
/// distinct unless `body` is given.
pub async fn deliver(s: &Served, event_type: &str, body: Option<&Value>) -> Answer {
    let body = body.cloned().unwrap_or_else(|| event(event_type));
    post_signed(s, &body, now_secs(), WEBHOOK_SECRET).await
}

fn event(event_type: &str) -> Value {
    json!({
        "event": event_type,
        "event_ts": now_secs() * 1000,
        "payload": {"account_id": "acc", "object": {"id": "KDcuGIm1QgePTO8WbOqwIQ", "email": "new@example.com"}}
    })
}

async fn post_signed(s: &Served, body: &Value, timestamp: u64, key: &str) -> Answer {
    post_tracked(s, body, timestamp, key, None).await
}

/// [`post_signed`], with Zoom's `x-zm-trackingid` (which the signature does
/// not cover).
async fn post_tracked(
    s: &Served,
    body: &Value,
    timestamp: u64,
    key: &str,
    tracking: Option<&str>,
) -> Answer {
    let text = body.to_string();
    let mut headers = zoom_headers(text.as_bytes(), timestamp, key);
    if let Some(tracking) = tracking {
        headers.push(("x-zm-trackingid".into(), tracking.into()));
    }
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    s.request(
        Method::POST,
        "/v1/webhooks/zoom",
        None,
        &headers,
        Some(text),
    )
    .await
}

#[tokio::test]
async fn url_validation_is_answered_with_the_encrypted_token() {
    let s = Served::start(&[]);
    let body = json!({"event": "endpoint.url_validation", "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}, "event_ts": now_secs() * 1000});
    let answer = post_signed(&s, &body, now_secs(), WEBHOOK_SECRET).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["plainToken"], "qgg8vlvZRS6UYooatFL8Aw");
    assert_eq!(
        answer.body["encryptedToken"],
        hmac_hex(WEBHOOK_SECRET, b"qgg8vlvZRS6UYooatFL8Aw")
    );
}

#[tokio::test]
async fn an_event_delivered_twice_is_stored_once_and_streamed() {
    let s = Served::start(&[]);
    let token = s.token("engine", &[]);

    // A subscriber from the start.
    let mut stream = s.events_stream(&token, None).await;

    let body = event("user.created");
    let first = deliver(&s, "user.created", Some(&body)).await;
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(first.body["duplicate"], false);
    // Zoom's retry of the same delivery.
    let retry = deliver(&s, "user.created", Some(&body)).await;
    assert_eq!(retry.status, 200);
    assert_eq!(retry.body["duplicate"], true);
    let other = deliver(&s, "meeting.started", None).await;
    assert_eq!(other.body["duplicate"], false, "{other:?}");

    let listed = s.get("/v1/events", &token).await;
    let events = listed.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{listed:?}");
    assert_eq!(events[0]["type"], "user.created");
    assert_eq!(
        events[0]["payload"]["payload"]["object"]["email"],
        "new@example.com"
    );
    let by_type = s.get("/v1/events?type=meeting.started", &token).await;
    assert_eq!(by_type.body["events"].as_array().unwrap().len(), 1);

    let received = read_sse(&mut stream, 2).await;
    assert_eq!(
        received
            .iter()
            .map(|(_, name, _)| name.as_str())
            .collect::<Vec<_>>(),
        ["user.created", "meeting.started"]
    );
    let first_id = received[0].0.clone();
    assert_eq!(received[0].2["id"].to_string(), first_id);

    // Resumed after the first: only the second.
    let mut resumed = s.events_stream(&token, Some(&first_id)).await;
    let again = read_sse(&mut resumed, 1).await;
    assert_eq!(again[0].1, "meeting.started");
}

#[tokio::test]
async fn bad_and_stale_signatures_get_401_and_store_nothing() {
    let s = Served::start(&[]);
    let token = s.token("t", &[]);
    let body = event("meeting.ended");
    let bad = post_signed(&s, &body, now_secs(), "not-the-secret").await;
    assert_eq!(bad.status, 401, "{bad:?}");
    assert_eq!(bad.body["type"], "urn:soar-host:problem:webhook-rejected");
    let stale = post_signed(&s, &body, now_secs() - 10 * 60, WEBHOOK_SECRET).await;
    assert_eq!(stale.status, 401, "{stale:?}");
    assert!(stale.body["detail"].as_str().unwrap().contains("timestamp"));
    let unsigned = s
        .request(
            Method::POST,
            "/v1/webhooks/zoom",
            None,
            &[],
            Some(body.to_string()),
        )
        .await;
    assert_eq!(unsigned.status, 401);
    let listed = s.get("/v1/events", &token).await;
    assert_eq!(listed.body["events"], json!([]));
}

/// Read `n` SSE events: (id, event name, data as JSON).
async fn read_sse(response: &mut reqwest::Response, n: usize) -> Vec<(String, String, Value)> {
    let mut text = String::new();
    let mut events = Vec::new();
    let until = tokio::time::Instant::now() + Duration::from_secs(20);
    while events.len() < n {
        let chunk = tokio::time::timeout_at(until, response.chunk())
            .await
            .expect("events arrive in time")
            .unwrap()
            .expect("the stream stays open");
        text.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{name}:")))
                    .map(|v| v.trim().to_owned())
            };
            if let (Some(id), Some(name), Some(data)) = (field("id"), field("event"), field("data"))
            {
                events.push((id, name, serde_json::from_str(&data).unwrap()));
            }
        }
    }
    events
}

/// Zoom's deliveries: what is signed (the body) tells events apart, not the
/// unsigned `x-zm-trackingid`.
#[tokio::test]
async fn zoom_deliveries_are_told_apart_by_what_is_signed() {
    let s = Served::start(&[]);
    let token = s.token("t", &[]);
    let post = async |body: &Value, tracking: &str| {
        post_tracked(&s, body, now_secs(), WEBHOOK_SECRET, Some(tracking)).await
    };
    let event = |id: &str| {
        json!({"event": "user.created", "event_ts": now_secs() * 1000,
               "payload": {"account_id": "acc", "object": {"id": id, "email": format!("{id}@example.com")}}})
    };
    let (a, b) = (event("user-a"), event("user-b"));
    // Two different signed events under one tracking id: both stored.
    assert_eq!(post(&a, "track-1").await.body["duplicate"], false);
    assert_eq!(post(&b, "track-1").await.body["duplicate"], false);
    // One signed event replayed under another tracking id: stored once.
    let replay = post(&a, "track-2").await;
    assert_eq!(replay.status, 200, "{replay:?}");
    assert_eq!(replay.body["duplicate"], true, "{replay:?}");
    let stored = s.get("/v1/events", &token).await.body["events"].clone();
    let stored = stored.as_array().unwrap();
    let ids: Vec<&Value> = stored
        .iter()
        .map(|e| &e["payload"]["payload"]["object"]["id"])
        .collect();
    assert_eq!(ids, [&json!("user-a"), &json!("user-b")], "{stored:#?}");
}
