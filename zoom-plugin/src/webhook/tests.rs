//! The vectors of ../shared/zoom-api/phone-chat-webhooks.md (computed with
//! Python's hmac and checked with openssl; secret `test_secret_token`).

use super::*;
use soar_plugin_sdk::WebhookOutcome;

const SECRET: &str = "test_secret_token";
const BODY: &str = r#"{"event":"meeting.started","event_ts":1626230691572,"payload":{"account_id":"Wk9PTV9BQ0NPVU5UX0lE","object":{"id":"1234567890","uuid":"Wk9PTV9NRUVUSU5HX0lE","host_id":"Wk9PTV9VU0VSX0lE","topic":"My Meeting","type":8,"start_time":"2021-07-13T21:44:51Z","timezone":"America/Los_Angeles","duration":60}}}"#;
const TIMESTAMP: &str = "1739923528";
const SIGNATURE: &str = "v0=57ccf13346ceaaa91ce630c8ceaeeef4f527a973a0112245575422f75f9163ba";
const NOW: u64 = 1_739_923_528 + 10;

fn request(body: &str, headers: &[(&str, &str)]) -> WebhookRequest {
    WebhookRequest {
        method: "POST".into(),
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

fn signed(body: &str, timestamp: &str) -> WebhookRequest {
    let sig = signature::signature(SECRET, timestamp, body.as_bytes());
    request(
        body,
        &[
            ("x-zm-signature", &sig),
            ("x-zm-request-timestamp", timestamp),
        ],
    )
}

fn rejection(outcome: WebhookOutcome) -> String {
    match outcome {
        WebhookOutcome::Rejected(why) => why,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn signature_matches_the_documented_vector() {
    assert_eq!(
        signature::signature(SECRET, TIMESTAMP, BODY.as_bytes()),
        SIGNATURE
    );
    assert!(signature::verify(
        SECRET,
        TIMESTAMP,
        BODY.as_bytes(),
        SIGNATURE
    ));
    assert!(!signature::verify(
        "other",
        TIMESTAMP,
        BODY.as_bytes(),
        SIGNATURE
    ));
}

#[test]
fn encrypted_token_matches_the_documented_vector() {
    assert_eq!(
        signature::encrypted_token(SECRET, "qgg8vlvZRS6UYooatFL8Aw"),
        "4efea922935c335d972476de138d2208a0d46ab28c79ee592d497a1b216419b8"
    );
}

#[test]
fn a_signed_event_is_emitted_whole() {
    let req = request(
        BODY,
        &[
            ("x-zm-signature", SIGNATURE),
            ("x-zm-request-timestamp", TIMESTAMP),
            ("x-zm-trackingid", "v=2.0,s=abc"),
        ],
    );
    match receive(Some(SECRET), &req, NOW) {
        WebhookOutcome::Event(e) => {
            assert_eq!(e.event_type, "meeting.started");
            assert_eq!(e.id, "v=2.0,s=abc");
            assert_eq!(e.time_ms, 1_626_230_691_572);
            assert_eq!(e.payload, BODY);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn without_a_tracking_id_the_id_comes_from_the_payload() {
    let req = request(
        BODY,
        &[
            ("x-zm-signature", SIGNATURE),
            ("x-zm-request-timestamp", TIMESTAMP),
        ],
    );
    match receive(Some(SECRET), &req, NOW) {
        WebhookOutcome::Event(e) => {
            assert_eq!(e.id, "meeting.started:Wk9PTV9NRUVUSU5HX0lE:1626230691572")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn url_validation_is_verified_then_answered() {
    let body = r#"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}"#;
    match receive(Some(SECRET), &signed(body, TIMESTAMP), NOW) {
        WebhookOutcome::Reply(reply) => {
            assert_eq!(reply.status, 200);
            let answer: Value = serde_json::from_slice(&reply.body).unwrap();
            assert_eq!(answer["plainToken"], "qgg8vlvZRS6UYooatFL8Aw");
            assert_eq!(
                answer["encryptedToken"],
                "4efea922935c335d972476de138d2208a0d46ab28c79ee592d497a1b216419b8"
            );
        }
        other => panic!("{other:?}"),
    }
    // Unsigned, it is refused like any other delivery.
    let why = rejection(receive(Some(SECRET), &request(body, &[]), NOW));
    assert!(why.contains("x-zm-signature"), "{why}");
}

#[test]
fn bad_deliveries_are_rejected_with_the_reason() {
    let no_timestamp = request(BODY, &[("x-zm-signature", SIGNATURE)]);
    assert!(rejection(receive(Some(SECRET), &no_timestamp, NOW)).contains("timestamp"));

    let stale = NOW + MAX_SKEW_SECS + 1;
    assert!(rejection(receive(Some(SECRET), &signed(BODY, TIMESTAMP), stale)).contains("stale"));
    let early = 1_739_923_528 - MAX_SKEW_SECS - 1;
    assert!(rejection(receive(Some(SECRET), &signed(BODY, TIMESTAMP), early)).contains("stale"));

    let altered = BODY.replace("My Meeting", "Your Meeting");
    let forged = request(
        &altered,
        &[
            ("x-zm-signature", SIGNATURE),
            ("x-zm-request-timestamp", TIMESTAMP),
        ],
    );
    assert!(rejection(receive(Some(SECRET), &forged, NOW)).contains("does not match"));

    let why = rejection(receive(None, &signed(BODY, TIMESTAMP), NOW));
    assert!(why.contains("webhook_secret_token"), "{why}");

    let undeclared = r#"{"event":"chat_message.sent","event_ts":1,"payload":{}}"#;
    assert!(
        rejection(receive(Some(SECRET), &signed(undeclared, TIMESTAMP), NOW)).contains("declares")
    );
}

#[test]
fn a_participants_event_is_told_apart_by_the_participant() {
    let body = r#"{"event":"meeting.participant_joined","event_ts":1626230691572,"payload":{"account_id":"a","object":{"uuid":"M==","host_id":"h","type":2,"duration":60,"participant":{"user_id":"16778240","user_name":"Jill","participant_uuid":"P1","join_time":"2021-07-13T21:44:51Z","email":"jchill@example.com"}}}}"#;
    match receive(Some(SECRET), &signed(body, TIMESTAMP), NOW) {
        WebhookOutcome::Event(e) => {
            assert_eq!(e.id, "meeting.participant_joined:M==:P1:1626230691572")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_events_a_playbook_starts_from_are_declared() {
    for name in [
        "meeting.started",
        "meeting.ended",
        "meeting.participant_joined",
        "user.signed_in",
        "user.signed_out",
        "user.created",
        "user.deactivated",
        "recording.completed",
    ] {
        assert!(events::is_declared(name), "{name}");
    }
}
