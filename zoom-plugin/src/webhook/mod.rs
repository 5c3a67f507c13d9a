//! Zoom's webhooks: every delivery, the URL validation included, must carry
//! a valid `x-zm-signature` over a fresh `x-zm-request-timestamp`; then a
//! URL validation is answered and any other event is handed to the host.

mod events;
mod signature;
#[cfg(test)]
mod tests;

use serde_json::{Value, json};
use soar_plugin_sdk::{WebhookOutcome, WebhookRequest, event, rejected, reply_json};

pub use events::event_types;

/// How far a delivery's timestamp may be from now, either way: a captured
/// delivery cannot be replayed later than this.
const MAX_SKEW_SECS: u64 = 300;

/// Verifies and reads one delivery, at `now_secs` (seconds since the epoch).
pub fn receive(secret: Option<&str>, request: &WebhookRequest, now_secs: u64) -> WebhookOutcome {
    let Some(secret) = secret else {
        return rejected(
            "this resource has no webhook_secret_token: set it to the Secret Token of the Zoom app's event subscription",
        );
    };
    if !request.method.eq_ignore_ascii_case("POST") {
        return rejected(format!(
            "Zoom posts its webhooks; this was a {}",
            request.method
        ));
    }
    if let Err(why) = authenticate(secret, request, now_secs) {
        return rejected(why);
    }
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return rejected("the body is not JSON");
    };
    let Some(name) = body.get("event").and_then(Value::as_str) else {
        return rejected("the body has no `event`");
    };
    if name == "endpoint.url_validation" {
        return validate_url(secret, &body);
    }
    if !events::is_declared(name) {
        return rejected(format!(
            "`{name}` is not an event type the zoom plugin declares"
        ));
    }
    let time_ms = body.get("event_ts").and_then(Value::as_u64).unwrap_or(0);
    let id = delivery_id(request, &body, name, time_ms);
    event(
        name,
        &id,
        time_ms,
        String::from_utf8_lossy(&request.body).into_owned(),
    )
}

/// The signature and the timestamp's freshness.
fn authenticate(secret: &str, request: &WebhookRequest, now_secs: u64) -> Result<(), String> {
    let given = request
        .header("x-zm-signature")
        .ok_or("no x-zm-signature header: not signed by Zoom")?;
    let timestamp = request
        .header("x-zm-request-timestamp")
        .ok_or("no x-zm-request-timestamp header")?;
    let sent: u64 = timestamp
        .trim()
        .parse()
        .map_err(|_| format!("x-zm-request-timestamp `{timestamp}` is not a number of seconds"))?;
    if sent.abs_diff(now_secs) > MAX_SKEW_SECS {
        return Err(format!(
            "x-zm-request-timestamp {sent} is more than {MAX_SKEW_SECS} seconds from now ({now_secs}): stale or replayed"
        ));
    }
    if !signature::verify(secret, timestamp.trim(), &request.body, given) {
        return Err(
            "x-zm-signature does not match the body: wrong secret token or altered body".into(),
        );
    }
    Ok(())
}

/// Zoom's challenge: prove we hold the secret token.
fn validate_url(secret: &str, body: &Value) -> WebhookOutcome {
    let Some(plain) = body.pointer("/payload/plainToken").and_then(Value::as_str) else {
        return rejected("endpoint.url_validation without payload.plainToken");
    };
    reply_json(
        200,
        &json!({"plainToken": plain, "encryptedToken": signature::encrypted_token(secret, plain)}),
    )
}

/// Zoom's tracking id when it sends one; else one built from the event, its
/// time and its object (and the participant, for a participant's event: two
/// people joining in the same millisecond are two events), so a redelivery
/// gets the same id.
fn delivery_id(request: &WebhookRequest, body: &Value, name: &str, time_ms: u64) -> String {
    if let Some(id) = request
        .header("x-zm-trackingid")
        .filter(|id| !id.is_empty())
    {
        return id.to_owned();
    }
    let object = body.pointer("/payload/object");
    let object_id = object.and_then(|o| o.get("uuid").or_else(|| o.get("id")));
    let participant = object.and_then(|o| o.get("participant")).and_then(|p| {
        ["participant_uuid", "user_id", "id"]
            .iter()
            .find_map(|k| p.get(*k).filter(|v| !text(v).is_empty()))
    });
    match (object_id, participant) {
        (Some(object), Some(who)) if time_ms > 0 => {
            format!("{name}:{}:{}:{time_ms}", text(object), text(who))
        }
        (Some(object), None) if time_ms > 0 => format!("{name}:{}:{time_ms}", text(object)),
        _ => String::new(),
    }
}

/// A JSON id as text: a string as it is, a number written out.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
