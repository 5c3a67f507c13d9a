//! `Host::webhook`: an inbound webhook handed to the resource's plugin,
//! which verifies it against the resource's config and answers with a reply,
//! an event, or a rejection. The plugin makes no outbound call.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::{Host, wit_config};
use crate::bindings::WebhookOutcome;
use crate::deadline::Deadline;
use crate::error::Result;
use crate::redact::{self, Redact};
use crate::resource::{ResolvedConfig, Resource};
use crate::runtime::{Answer, Call};

/// The largest inbound webhook body handed to a plugin.
pub const MAX_WEBHOOK_BYTES: usize = 1 << 20;
/// A webhook is answered within this, whatever the resource's deadline
/// (Zoom gives up after 3 seconds).
const WEBHOOK_BUDGET: Duration = Duration::from_secs(2);

/// What to answer an inbound webhook, and the event it carried if any.
#[derive(Debug, Clone, Serialize)]
pub enum WebhookAnswer {
    /// Answer the sender with this (a URL validation challenge).
    Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// A verified event.
    Event {
        event_type: String,
        id: String,
        time_ms: u64,
        payload: Value,
    },
    /// Not from the upstream, or not acceptable.
    Rejected { reason: String },
}

/// An inbound webhook as it arrived.
#[derive(Debug, Clone)]
pub struct WebhookRequest {
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Host {
    /// Hand an inbound webhook to the resource's plugin: it verifies it
    /// against the resource's config and answers with a reply, an event, or
    /// a rejection. The plugin makes no outbound call.
    pub async fn webhook(
        &self,
        resource: &Resource,
        request: WebhookRequest,
    ) -> Result<WebhookAnswer> {
        self.webhook_inner(resource, request).await.redact()
    }

    async fn webhook_inner(
        &self,
        resource: &Resource,
        request: WebhookRequest,
    ) -> Result<WebhookAnswer> {
        let deadline = Deadline::after(resource.timeout.min(WEBHOOK_BUDGET));
        if request.body.len() > MAX_WEBHOOK_BYTES {
            return Ok(WebhookAnswer::Rejected {
                reason: format!("body over {} KiB", MAX_WEBHOOK_BYTES >> 10),
            });
        }
        let plugin = self.plugin_of(resource, deadline).await?;
        let config = self.resolve(resource, &plugin)?;
        let call = Call::Webhook {
            config: wit_config(&config),
            request: crate::bindings::WebhookRequest {
                method: request.method,
                headers: request
                    .headers
                    .into_iter()
                    .map(|(n, v)| (n.to_ascii_lowercase(), v))
                    .collect(),
                body: request.body,
            },
        };
        // No egress: verifying a webhook needs none.
        let config = ResolvedConfig {
            egress: Default::default(),
            ..(*config).clone()
        };
        let (answer, _, _) = self
            .run(&plugin, resource, &config, deadline, None, call)
            .await?;
        let Answer::Webhook(outcome) = answer else {
            unreachable!("a webhook call answers with an outcome")
        };
        Ok(match outcome {
            WebhookOutcome::Reply(r) => WebhookAnswer::Reply {
                status: r.status,
                headers: r.headers,
                body: r.body,
            },
            WebhookOutcome::Event(e) => match serde_json::from_str(&e.payload) {
                Ok(payload)
                    if plugin.manifest.events.is_empty()
                        || plugin
                            .manifest
                            .events
                            .iter()
                            .any(|t| t.name == e.event_type) =>
                {
                    WebhookAnswer::Event {
                        event_type: e.event_type,
                        id: e.id,
                        time_ms: e.time_ms,
                        payload,
                    }
                }
                Ok(_) => WebhookAnswer::Rejected {
                    reason: format!(
                        "event type `{}` is not among those the plugin declares",
                        redact::printable(&e.event_type)
                    ),
                },
                Err(_) => WebhookAnswer::Rejected {
                    reason: "the plugin's event payload is not JSON".into(),
                },
            },
            WebhookOutcome::Rejected(reason) => WebhookAnswer::Rejected { reason },
        })
    }
}

impl Redact for WebhookAnswer {
    fn redact(self) -> Self {
        match self {
            WebhookAnswer::Event {
                event_type,
                id,
                time_ms,
                payload,
            } => WebhookAnswer::Event {
                event_type: event_type.redact(),
                id: id.redact(),
                time_ms,
                payload: payload.redact(),
            },
            WebhookAnswer::Rejected { reason } => WebhookAnswer::Rejected {
                reason: reason.redact(),
            },
            // The reply goes to whoever sent the webhook, which anyone can:
            // a challenge's answer is a keyed hash, never the key itself.
            WebhookAnswer::Reply {
                status,
                headers,
                body,
            } => WebhookAnswer::Reply {
                status,
                headers: headers.into_iter().map(|(n, v)| (n, v.redact())).collect(),
                body: match String::from_utf8(body) {
                    Ok(text) => text.redact().into_bytes(),
                    Err(e) => e.into_bytes(),
                },
            },
        }
    }
}
