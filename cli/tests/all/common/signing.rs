//! Zoom's webhook signature, computed here the way Zoom computes it:
//! `x-zm-signature: v0=HMAC-SHA256(secret token, "v0:{timestamp}:{body}")`.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};

pub fn hmac_hex(key: &str, message: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(message);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The headers Zoom sends with `body`, signed with `key` at `timestamp`.
pub fn zoom_headers(body: &[u8], timestamp: u64, key: &str) -> Vec<(String, String)> {
    let mut message = format!("v0:{timestamp}:").into_bytes();
    message.extend_from_slice(body);
    vec![
        ("Content-Type".into(), "application/json".into()),
        ("x-zm-request-timestamp".into(), timestamp.to_string()),
        (
            "x-zm-signature".into(),
            format!("v0={}", hmac_hex(key, &message)),
        ),
    ]
}

/// A webhook request as Zoom sends it: `body` (compact JSON) posted with its
/// signature by `key` at `timestamp`.
pub fn zoom_request(
    body: &serde_json::Value,
    timestamp: u64,
    key: &str,
) -> soar_host::WebhookRequest {
    let body = body.to_string().into_bytes();
    soar_host::WebhookRequest {
        method: "POST".into(),
        headers: zoom_headers(&body, timestamp, key),
        body,
    }
}
