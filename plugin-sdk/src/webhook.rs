//! Inbound webhooks: reading a request and building the outcome. Verifying
//! a signature is the integration's business (each upstream signs its own
//! way); these only save the boilerplate.

use serde_json::Value;

use crate::{WebhookEvent, WebhookOutcome, WebhookReply, WebhookRequest};

impl WebhookRequest {
    /// The first value of header `name` (the host sends names lower-case;
    /// any case is accepted here).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Not from the upstream or not acceptable, and why.
pub fn rejected(reason: impl Into<String>) -> WebhookOutcome {
    WebhookOutcome::Rejected(reason.into())
}

/// Answer the sender with JSON and emit no event (a URL validation).
pub fn reply_json(status: u16, body: &Value) -> WebhookOutcome {
    WebhookOutcome::Reply(WebhookReply {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
    })
}

/// A verified event.
pub fn event(event_type: &str, id: &str, time_ms: u64, payload: String) -> WebhookOutcome {
    WebhookOutcome::Event(WebhookEvent {
        event_type: event_type.into(),
        id: id.into(),
        time_ms,
        payload,
    })
}
