//! `Host::webhook`: an inbound webhook handed to the resource's plugin,
//! which verifies it against the resource's config and answers with a reply,
//! an event, or a rejection. The plugin makes no outbound call.
//!
//! What the plugin answers goes to an unauthenticated sender (a reply) or
//! into every subscriber's stream (an event), so the host checks it before
//! it leaves: a reply by [`reply::check`]; an event's type against the
//! manifest (a plugin that declares none may emit none) and the grammar,
//! its id against the grammar, its payload against the resource's
//! `event_max_kib`. Events are told apart by what the sender signed — the
//! body's digest — not by an id the plugin read from an unsigned header.

pub mod reply;

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Grant, Host, wit_config};
use crate::bindings::WebhookOutcome;
use crate::deadline::Deadline;
use crate::error::{Error, Result};
use crate::manifest::is_event_type;
use crate::redact::{self, Redact};
use crate::resource::{ResolvedConfig, Resource};
use crate::runtime::{Answer, Call};

/// A webhook is answered within this, whatever the resource's deadline
/// (Zoom gives up after 3 seconds).
const WEBHOOK_BUDGET: Duration = Duration::from_secs(2);
/// The longest delivery id kept.
const MAX_ID_LEN: usize = 256;
/// The longest rejection reason passed on to the sender.
const MAX_REASON_LEN: usize = 1 << 10;

/// What to answer an inbound webhook, and the event it carried if any.
#[derive(Debug, Clone, Serialize)]
pub enum WebhookAnswer {
    /// Answer the sender with this (a URL validation challenge), checked
    /// by [`reply::check`] and redacted.
    Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// A verified event.
    Event {
        event_type: String,
        /// The sender's id of the delivery, as the plugin read it (may be
        /// empty); for reference only: nothing is deduplicated on it.
        id: String,
        time_ms: u64,
        payload: Value,
        /// The SHA-256 (hex) of the body as it arrived — what the sender
        /// signed: the same content delivered again has the same digest.
        digest: String,
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
    /// a rejection. The plugin makes no outbound call. A reply or an event
    /// that breaks the host's rules is a plugin fault: an error, never
    /// passed on.
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
        let limits = &resource.limits;
        if request.body.len() > limits.webhook_max_bytes {
            return Ok(WebhookAnswer::Rejected {
                reason: format!(
                    "body over the resource's {} KiB (`webhook_max_kib`)",
                    limits.webhook_max_bytes >> 10
                ),
            });
        }
        let digest = crate::hex(&Sha256::digest(&request.body));
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
            .run(&plugin, resource, &config, deadline, Grant::default(), call)
            .await?;
        let Answer::Webhook(outcome) = answer else {
            unreachable!("a webhook call answers with an outcome")
        };
        let fault = |what: String| Error::Internal {
            plugin: plugin.manifest.name.clone(),
            message: what,
        };
        Ok(match outcome {
            WebhookOutcome::Reply(r) => {
                let reply =
                    reply::check(r.status, r.headers, r.body, limits.webhook_reply_max_bytes)
                        .map_err(|why| fault(format!("its webhook reply was refused: {why}")))?;
                WebhookAnswer::Reply {
                    status: reply.status,
                    headers: reply.headers,
                    body: reply.body,
                }
            }
            WebhookOutcome::Event(e) => {
                let declared = plugin
                    .manifest
                    .events
                    .iter()
                    .any(|t| t.name == e.event_type);
                let refused = |why: String| fault(format!("its event was refused: {why}"));
                if !is_event_type(&e.event_type) {
                    return Err(refused(format!(
                        "the type {} is not a name of letters, digits and `._:-`",
                        redact::printable(&format!("{:?}", e.event_type))
                    )));
                }
                if !declared {
                    return Err(refused(format!(
                        "the type `{}` is not among those its manifest declares ({})",
                        e.event_type,
                        match plugin.manifest.events.is_empty() {
                            true => "none".to_owned(),
                            false => plugin
                                .manifest
                                .events
                                .iter()
                                .map(|t| t.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", "),
                        }
                    )));
                }
                if !is_delivery_id(&e.id) {
                    return Err(refused(format!(
                        "its id is not visible ASCII of at most {MAX_ID_LEN} characters"
                    )));
                }
                if e.payload.len() > limits.event_max_bytes {
                    return Err(refused(format!(
                        "its payload is {} KiB, over the resource's {} KiB (`event_max_kib`)",
                        e.payload.len().div_ceil(1024),
                        limits.event_max_bytes >> 10
                    )));
                }
                let payload = serde_json::from_str(&e.payload)
                    .map_err(|_| refused("its payload is not JSON".into()))?;
                WebhookAnswer::Event {
                    event_type: e.event_type,
                    id: e.id,
                    time_ms: e.time_ms,
                    payload,
                    digest,
                }
            }
            // Told to whoever sent it: short.
            WebhookOutcome::Rejected(reason) => WebhookAnswer::Rejected {
                reason: redact::clipped(&reason, MAX_REASON_LEN),
            },
        })
    }
}

/// A delivery id: visible ASCII, at most [`MAX_ID_LEN`] characters, or none.
fn is_delivery_id(id: &str) -> bool {
    id.len() <= MAX_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

impl Redact for WebhookAnswer {
    fn redact(self) -> Self {
        match self {
            WebhookAnswer::Event {
                event_type,
                id,
                time_ms,
                payload,
                digest,
            } => WebhookAnswer::Event {
                event_type: event_type.redact(),
                id: id.redact(),
                time_ms,
                payload: payload.redact(),
                digest,
            },
            WebhookAnswer::Rejected { reason } => WebhookAnswer::Rejected {
                reason: reason.redact(),
            },
            // The reply goes to whoever sent the webhook, which anyone can:
            // a challenge's answer is a keyed hash, never the key itself.
            // Checked to be text, so every byte of it is scanned.
            WebhookAnswer::Reply {
                status,
                headers,
                body,
            } => WebhookAnswer::Reply {
                status,
                headers: headers.into_iter().map(|(n, v)| (n, v.redact())).collect(),
                body: body.redact(),
            },
        }
    }
}
