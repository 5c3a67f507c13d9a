//! Inbound webhooks and the events they carry. A delivery is handed to the
//! resource's plugin, which verifies it (for Zoom: the HMAC signature over a
//! fresh timestamp) and answers a challenge, hands back an event, or
//! rejects it. A body over the resource's `webhook_max_kib` is refused with
//! 413 before it is read whole. A verified event is stored, synced to disk,
//! before the sender gets its `200`; the same content delivered again within
//! a day (Zoom retries for 85 minutes) is stored once — told apart by the
//! digest of what the sender signed, never by an unsigned header.
//! Stored events are listed (`GET /v1/events`) and streamed
//! (`GET /v1/events/stream`, Server-Sent Events resumable with
//! `Last-Event-ID`).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::Service;
use super::api::Caller;
use super::db::{EventQuery, EventRow, now_ms};
use super::metrics::EventLabels;
use super::problem::Problem;
use super::runs::rfc3339;
use soar_host::wire::ProblemType;
use soar_host::{WebhookAnswer, WebhookRequest};

/// A stored event.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoredEvent {
    /// Its place in the service's event log: increasing, the SSE event id.
    pub id: i64,
    pub resource: String,
    /// The event type (`meeting.started`).
    #[serde(rename = "type")]
    pub type_: String,
    /// The sender's id of the delivery (Zoom's tracking id), as the plugin
    /// read it; may be empty. For reference: events are told apart by
    /// their content.
    pub delivery_id: String,
    /// When the upstream says it happened (RFC 3339).
    pub time: String,
    pub received_at: String,
    #[schema(value_type = Object)]
    pub payload: Value,
}

impl From<EventRow> for StoredEvent {
    fn from(row: EventRow) -> Self {
        Self {
            id: row.seq,
            resource: row.resource,
            type_: row.event_type,
            delivery_id: row.delivery_id,
            time: rfc3339(row.time_ms),
            received_at: rfc3339(row.received_ms),
            payload: row.payload,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    pub events: Vec<StoredEvent>,
    /// Pass as `after` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct EventFilter {
    /// Only events of this type.
    #[serde(rename = "type")]
    pub type_: Option<String>,
    /// Only events after this id (oldest first).
    pub after: Option<i64>,
    /// At most this many (1 to 500, default 100).
    pub limit: Option<u32>,
}

/// Receive a webhook (Zoom's event notifications); no API token: the
/// plugin's signature check authenticates the sender.
#[utoipa::path(post, path = "/v1/webhooks/{resource}", tag = "events",
    params(("resource" = String, Path, description = "The resource whose secret verifies the delivery")),
    request_body(content = Object, description = "The upstream's delivery, as sent"),
    responses(
        (status = 200, description = "Stored (or stored before), or a URL validation answered"),
        (status = 401, description = "Bad or stale signature", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such resource", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the resource's `webhook_max_kib` (or `--max-body-kib`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn receive(
    State(service): State<Arc<Service>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let Some(resource) = service.registry().get(&name).cloned() else {
        return Err(Problem::not_found(format!("no resource named `{name}`")));
    };
    let limit = resource
        .limits
        .webhook_max_bytes
        .min(service.max_body_bytes);
    let too_large = || {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ProblemType::PayloadTooLarge,
            format!("a webhook to `{name}` may be at most {} KiB", limit >> 10),
        )
    };
    // Refused on its stated length before any of it is read; a body that
    // states none is read up to the limit and no further.
    let stated = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if stated.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut chunks = body.into_data_stream();
    let mut body = Vec::new();
    while let Some(chunk) = futures_util::StreamExt::next(&mut chunks).await {
        let chunk = chunk.map_err(|_| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                ProblemType::InvalidInput,
                "the body could not be read",
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    let count = |outcome: &str| {
        service
            .metrics
            .webhooks
            .get_or_create(&EventLabels {
                resource: name.clone(),
                outcome: outcome.to_owned(),
            })
            .inc();
    };
    let request = WebhookRequest {
        method: "POST".into(),
        headers: headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
    };
    let answer = service
        .host
        .webhook(&resource, request)
        .await
        .map_err(|e| {
            count("error");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ProblemType::Unavailable,
                e.to_string(),
            )
        })?;
    match answer {
        WebhookAnswer::Reply {
            status,
            headers,
            body,
        } => {
            count("reply");
            // Checked by the library: a final status, allowed headers each
            // one line of ASCII, a text body. The framing is the server's.
            let status =
                StatusCode::from_u16(status).map_err(|_| Problem::internal("bad status"))?;
            let mut response = (status, body).into_response();
            let out = response.headers_mut();
            for (name, value) in headers {
                if let (Ok(name), Ok(value)) = (
                    HeaderName::try_from(name.as_str()),
                    HeaderValue::try_from(value.as_str()),
                ) {
                    out.insert(name, value);
                }
            }
            // Whatever it says, nothing in it runs in the service's origin.
            out.insert(
                axum::http::header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            out.insert(
                axum::http::header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; sandbox"),
            );
            Ok(response)
        }
        WebhookAnswer::Event {
            event_type,
            id,
            time_ms,
            payload,
            digest,
        } => {
            let row = EventRow {
                seq: 0,
                resource: name.clone(),
                delivery_id: id,
                event_type,
                time_ms: i64::try_from(time_ms).unwrap_or(i64::MAX),
                received_ms: now_ms(),
                payload,
                digest,
            };
            // A synced commit waits on the disk.
            let event_type = row.event_type.clone();
            let event = super::playbooks::event_scope(&row);
            let stored = service.on_db(move |db| db.insert_event(&row)).await?;
            if let Some(seq) = stored {
                count("stored");
                service.events.send_replace(seq);
                tracing::info!(event = seq, resource = %name, event_type = %event_type, "event stored");
                // The playbooks it starts run after the sender has its answer.
                let (service, name) = (Arc::clone(&service), name.clone());
                let tracker = service.tracker.clone();
                tracker.spawn(async move {
                    super::playbooks::on_event(&service, seq, &name, event).await
                });
            } else {
                count("duplicate");
            }
            Ok(Json(json!({ "received": true, "duplicate": stored.is_none() })).into_response())
        }
        WebhookAnswer::Rejected { reason } => {
            count("rejected");
            tracing::warn!(resource = %name, "webhook rejected: {reason}");
            Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                ProblemType::WebhookRejected,
                reason,
            ))
        }
    }
}

/// Stored events the caller's token may see, oldest first.
#[utoipa::path(get, path = "/v1/events", tag = "events", params(EventFilter),
    security(("bearer" = [])),
    responses((status = 200, body = EventPage)))]
pub async fn list(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Query(filter): Query<EventFilter>,
) -> Result<Json<EventPage>, Problem> {
    let limit = filter.limit.unwrap_or(100).clamp(1, 500);
    let rows = service
        .on_db(move |db| {
            db.events(&EventQuery {
                resources: caller.0.resources.as_deref(),
                event_type: filter.type_.as_deref(),
                after: filter.after.unwrap_or(0),
                before: None,
                limit,
            })
        })
        .await?;
    let next_after = (rows.len() == limit as usize).then(|| rows[rows.len() - 1].seq);
    Ok(Json(EventPage {
        events: rows.into_iter().map(StoredEvent::from).collect(),
        next_after,
    }))
}

/// Events as they arrive (Server-Sent Events): first those after
/// `Last-Event-ID` (or `after`), then new ones. Each SSE event is named by
/// the event type, its id is the event's id, its data the stored event.
#[utoipa::path(get, path = "/v1/events/stream", tag = "events", params(EventFilter),
    security(("bearer" = [])),
    responses((status = 200, description = "text/event-stream of StoredEvent", content_type = "text/event-stream")))]
pub async fn stream(
    State(service): State<Arc<Service>>,
    caller: Caller,
    headers: HeaderMap,
    Query(filter): Query<EventFilter>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .or(filter.after)
        .unwrap_or(0);
    let tail = Tail {
        wake: service.events.subscribe(),
        service,
        resources: caller.0.resources,
        event_type: filter.type_,
        last,
        backlog: VecDeque::new(),
    };
    let events = futures_util::stream::unfold(tail, |mut tail| async move {
        let event = tail.next().await?;
        Some((Ok(event), tail))
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}

/// A stored event as one SSE event: named by its type when that is a
/// type by the grammar (records stored before it was enforced may not be);
/// else by the SSE default, `message`. One record can never break the
/// stream: a record that cannot be written is skipped and logged.
fn sse_event(row: EventRow) -> Option<Event> {
    let (seq, name) = (row.seq, row.event_type.clone());
    let data = match serde_json::to_string(&StoredEvent::from(row)) {
        Ok(data) => data,
        Err(e) => {
            tracing::error!(event = seq, "event stream: event {seq} skipped: {e}");
            return None;
        }
    };
    let event = Event::default().id(seq.to_string()).data(data);
    Some(match soar_host::manifest::is_event_type(&name) {
        true => event.event(name),
        false => event,
    })
}

struct Tail {
    service: Arc<Service>,
    wake: tokio::sync::watch::Receiver<i64>,
    resources: Option<Vec<String>>,
    event_type: Option<String>,
    last: i64,
    backlog: VecDeque<EventRow>,
}

impl Tail {
    /// The next event to send; `None` ends the stream (shutdown).
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(row) = self.backlog.pop_front() {
                self.last = row.seq;
                if let Some(event) = sse_event(row) {
                    return Some(event);
                }
                continue;
            }
            // Seen before reading: an event stored after this read wakes us.
            self.wake.borrow_and_update();
            let (resources, event_type, after) =
                (self.resources.clone(), self.event_type.clone(), self.last);
            let read = self.service.on_db(move |db| {
                db.events(&EventQuery {
                    resources: resources.as_deref(),
                    event_type: event_type.as_deref(),
                    after,
                    before: None,
                    limit: 200,
                })
            });
            match read.await {
                Ok(rows) if !rows.is_empty() => {
                    self.backlog.extend(rows);
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!("event stream: {e}");
                    return None;
                }
            }
            tokio::select! {
                changed = self.wake.changed() => changed.ok()?,
                () = self.service.shutdown.cancelled() => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(event_type: &str) -> EventRow {
        EventRow {
            seq: 7,
            resource: "zoom".into(),
            delivery_id: String::new(),
            event_type: event_type.into(),
            time_ms: 0,
            received_ms: 0,
            payload: json!({"a": 1}),
            digest: String::new(),
        }
    }

    /// A record stored before types were checked (a newline in its type)
    /// is sent as a plain `message`, never a panic that ends the stream.
    #[test]
    fn a_record_of_any_type_becomes_one_sse_event() {
        for (event_type, named) in [
            ("meeting.started", true),
            ("evil\nevent: x", false),
            ("a\rb", false),
            ("", false),
        ] {
            let event = sse_event(row(event_type)).expect("sent");
            let text = format!("{event:?}");
            assert_eq!(text.contains("event: meeting.started"), named, "{text}");
        }
    }
}
