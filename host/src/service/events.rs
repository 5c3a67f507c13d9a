//! Inbound webhooks and the events they carry. A delivery is handed to the
//! resource's plugin, which verifies it (for Zoom: the HMAC signature over a
//! fresh timestamp) and answers a challenge, hands back an event, or
//! rejects it. A verified event is stored, synced to disk, before the
//! sender gets its `200`; a redelivery of the same event is stored once.
//! Stored events are listed (`GET /v1/events`) and streamed
//! (`GET /v1/events/stream`, Server-Sent Events resumable with
//! `Last-Event-ID`).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
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
use crate::{WebhookAnswer, WebhookRequest};

/// A stored event.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoredEvent {
    /// Its place in the service's event log: increasing, the SSE event id.
    pub id: i64,
    pub resource: String,
    /// The event type (`meeting.started`).
    #[serde(rename = "type")]
    pub type_: String,
    /// The sender's delivery id (Zoom's tracking id): one event, one record.
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
    ))]
pub async fn receive(
    State(service): State<Arc<Service>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let body = body.map_err(Problem::body)?;
    let Some(resource) = service.registry().get(&name).cloned() else {
        return Err(Problem::not_found(format!("no resource named `{name}`")));
    };
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
        body: body.to_vec(),
    };
    let answer = service
        .host
        .webhook(&resource, request)
        .await
        .map_err(|e| {
            count("error");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
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
            let mut response =
                (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body).into_response();
            for (name, value) in headers {
                if let (Ok(name), Ok(value)) = (
                    HeaderName::try_from(name.as_str()),
                    HeaderValue::try_from(value.as_str()),
                ) {
                    response.headers_mut().insert(name, value);
                }
            }
            Ok(response)
        }
        WebhookAnswer::Event {
            event_type,
            id,
            time_ms,
            payload,
        } => {
            let row = EventRow {
                seq: 0,
                resource: name.clone(),
                delivery_id: id,
                event_type,
                time_ms: time_ms as i64,
                received_ms: now_ms(),
                payload,
            };
            let stored = service.db.insert_event(&row)?;
            if let Some(seq) = stored {
                count("stored");
                service.events.send_replace(seq);
                tracing::info!(event = seq, resource = %name, event_type = %row.event_type, "event stored");
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
                "webhook-rejected",
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
    let rows = service.db.events(&EventQuery {
        resources: caller.0.resources.as_deref(),
        event_type: filter.type_.as_deref(),
        after: filter.after.unwrap_or(0),
        limit,
    })?;
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
                let id = row.seq.to_string();
                let name = row.event_type.clone();
                let data = serde_json::to_string(&StoredEvent::from(row)).ok()?;
                return Some(Event::default().id(id).event(name).data(data));
            }
            // Seen before reading: an event stored after this read wakes us.
            self.wake.borrow_and_update();
            match self.service.db.events(&EventQuery {
                resources: self.resources.as_deref(),
                event_type: self.event_type.as_deref(),
                after: self.last,
                limit: 200,
            }) {
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
