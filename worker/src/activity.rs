//! The activities: `run_action`, which runs one action the way
//! `soar-host invoke --envelope` does, and `describe_action`, which tells
//! the workflow how the action may be retried.
//!
//! A failure is a Temporal application failure whose type is the error's
//! kind (`not-found`, `rate-limited`, …) and whose details are the CLI's
//! error JSON plus `ambiguous`. Retryable only where trying again can help
//! and cannot act twice: `rate-limited` (after Zoom's Retry-After),
//! `upstream` and `timeout` — unless the action is not idempotent and the
//! request may have reached Zoom, which no retry can tell apart from
//! success; then it is non-retryable and says so.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use temporalio_macros::activities;
use temporalio_sdk::ApplicationFailure;
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use tracing::Instrument;

use super::Shared;
use soar_host::{
    Envelope, Error, ErrorClass, ErrorKind, ErrorReport, InvokeOptions, Prepared, Resource,
};

/// The activities' implementation, over the worker's shared state.
pub struct Actions(pub(super) Arc<Shared>);

/// `run_action`'s input; `describe_action` takes the same.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    /// A resource file's name in the worker's resources directory, without `.toml`.
    resource: String,
    action: String,
    #[serde(default = "empty_object")]
    params: Value,
    /// Accepted for plugins that can forward it; see docs/worker.md.
    #[serde(default)]
    idempotency_key: Option<String>,
}

fn empty_object() -> Value {
    json!({})
}

/// What `describe_action` answers: what the workflow needs to schedule
/// `run_action` (recorded in the workflow's history, so a replay schedules
/// the same).
#[derive(Serialize, Deserialize)]
pub struct Described {
    pub idempotent: bool,
    pub timeout_secs: u64,
    pub heartbeat_timeout_secs: u64,
}

#[activities]
impl Actions {
    /// Run one action: `{resource, action, params?, idempotency_key?}` in,
    /// `{status: "success", data, http_requests, elapsed_ms, files?}` out.
    #[activity(name = "run_action")]
    pub async fn run_action(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: Value,
    ) -> Result<Envelope, ActivityError> {
        // Inside the SDK's span, which names the workflow, run and activity.
        let span = tracing::info_span!("run_action", attempt = ctx.info().attempt);
        self.run(&ctx, input).instrument(span).await
    }

    /// Start a run of `run_playbook`: see [`super::playbook`].
    #[activity(name = "start_playbook")]
    pub async fn start_playbook(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: Value,
    ) -> Result<super::playbook::Started, ActivityError> {
        self.start(&ctx, input)
    }

    /// Check `{resource, action, params}` without running anything and
    /// answer [`Described`]; bad input fails here, before `run_action` is
    /// scheduled.
    #[activity(name = "describe_action")]
    pub async fn describe_action(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: Value,
    ) -> Result<Described, ActivityError> {
        let (input, resource) = self.input(input)?;
        let prepared = self.prepare(&input, &resource).await?;
        Ok(Described {
            idempotent: prepared.action().idempotent,
            timeout_secs: resource.timeout.as_secs().max(1),
            heartbeat_timeout_secs: self.0.heartbeat_timeout.as_secs().max(1),
        })
    }
}

impl Actions {
    async fn run(&self, ctx: &ActivityContext, input: Value) -> Result<Envelope, ActivityError> {
        let (input, resource) = self.input(input)?;
        let prepared = self.prepare(&input, &resource).await?;
        let idempotent = prepared.action().idempotent;
        let attempt = ctx.info().attempt;
        if !idempotent && attempt > 1 {
            // An earlier attempt of this activity ran and did not report
            // back (its worker died, or the caller's retry policy retried a
            // failure we marked ambiguous): it may have acted.
            tracing::warn!(action = %input.action, "not run again: not idempotent, attempt {attempt}");
            return Err(ambiguous_retry(&input.action, attempt));
        }
        tracing::info!(resource = %input.resource, action = %input.action, "running");
        let progress = Arc::new(Progress::default());
        let options = InvokeOptions {
            output_dir: Some(self.0.output_dir.clone()),
            progress: Some(Arc::clone(&progress).callback()),
        };
        let run = self.0.host.run_prepared(&resource, &prepared, &options);
        tokio::pin!(run);
        // Heartbeats carry the progress (bytes so far for a download) and
        // bring the server's cancellation; the SDK throttles them.
        let every = ctx
            .info()
            .heartbeat_timeout
            .map_or(Duration::from_secs(10), |t| t / 3)
            .max(Duration::from_millis(100));
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                outcome = &mut run => {
                    return match outcome {
                        Ok(invocation) => {
                            tracing::info!(http_requests = invocation.http_requests, "succeeded");
                            Ok(invocation.to_envelope())
                        }
                        Err(e) => {
                            tracing::info!(kind = e.kind().as_str(), "failed: {e}");
                            Err(failure(&e, idempotent, &input.action))
                        }
                    };
                }
                () = ctx.cancelled() => {
                    // Dropping the run stops the plugin; a download's
                    // partial file goes with it.
                    tracing::warn!("cancelled: the action was stopped");
                    return Err(ActivityError::cancelled());
                }
                _ = tick.tick() => {
                    let _ = ctx.record_heartbeat(progress.details()).await;
                }
            }
        }
    }

    fn input(&self, input: Value) -> Result<(Input, Arc<Resource>), ActivityError> {
        let input: Input = serde_json::from_value(input).map_err(|e| {
            rejected(
                ErrorKind::InvalidInput,
                format!(
                    "the input must be {{\"resource\", \"action\", \"params\"?, \"idempotency_key\"?}}: {e}"
                ),
            )
        })?;
        if let Some(key) = &input.idempotency_key {
            tracing::debug!(idempotency_key = %key, "idempotency key given");
        }
        let registry = self.0.resources.current();
        let Some(resource) = registry.get(&input.resource) else {
            let known: Vec<&str> = registry.resources.keys().map(String::as_str).collect();
            return Err(rejected(
                ErrorKind::Resource,
                format!(
                    "no resource `{}` on this worker; it serves: {}",
                    soar_host::redact::printable(&input.resource),
                    known.join(", ")
                ),
            ));
        };
        Ok((input, Arc::clone(resource)))
    }

    async fn prepare(&self, input: &Input, resource: &Resource) -> Result<Prepared, ActivityError> {
        self.0
            .host
            .prepare(resource, &input.action, &input.params)
            .await
            .map_err(|e| failure(&e, true, &input.action))
    }
}

/// Bytes a download has written so far, for the heartbeat.
#[derive(Default)]
struct Progress {
    done: AtomicU64,
    /// `u64::MAX` while unknown.
    total: AtomicU64,
}

impl Progress {
    fn callback(self: Arc<Self>) -> soar_host::Progress {
        self.total.store(u64::MAX, Ordering::Relaxed);
        Arc::new(move |done, total: Option<u64>| {
            self.done.store(done, Ordering::Relaxed);
            self.total
                .store(total.unwrap_or(u64::MAX), Ordering::Relaxed);
        })
    }

    fn details(&self) -> Value {
        let done = self.done.load(Ordering::Relaxed);
        let total = self.total.load(Ordering::Relaxed);
        match total {
            u64::MAX => json!({ "bytes": done }),
            total => json!({ "bytes": done, "total_bytes": total }),
        }
    }
}

/// An error as the application failure Temporal records and a workflow
/// sees.
fn failure(e: &Error, idempotent: bool, action: &str) -> ActivityError {
    let ambiguous = !idempotent && e.may_have_acted();
    let retryable = e.retryable() && !ambiguous;
    let details = ErrorReport {
        retryable,
        ambiguous: Some(ambiguous),
        ..e.report()
    };
    let message = if ambiguous {
        format!(
            "{e}; not retried: `{action}` is not idempotent and its request may have reached the \
             upstream, so check what it did before running it again"
        )
    } else {
        e.to_string()
    };
    let retry_after = match e {
        Error::Action { failure, .. } if retryable => failure.retry_after_secs,
        _ => None,
    };
    ActivityError::application(
        ApplicationFailure::builder(message)
            .type_name(e.kind().as_str().to_owned())
            .non_retryable(!retryable)
            .maybe_next_retry_delay(retry_after.map(Duration::from_secs))
            .details(details)
            .build(),
    )
}

/// A non-retryable failure the host did not report as an [`Error`]: bad
/// input (`rejected`) or a retry refused (`ambiguous`).
fn refusal(kind: ErrorKind, class: ErrorClass, message: String, ambiguous: bool) -> ActivityError {
    let details = ErrorReport {
        retryable: false,
        ambiguous: Some(ambiguous),
        ..ErrorReport::new(kind, class, message.clone())
    };
    ActivityError::application(
        ApplicationFailure::builder(message)
            .type_name(kind.as_str().to_owned())
            .non_retryable(true)
            .details(details)
            .build(),
    )
}

fn rejected(kind: ErrorKind, message: String) -> ActivityError {
    refusal(kind, ErrorClass::Rejected, message, false)
}

fn ambiguous_retry(action: &str, attempt: u32) -> ActivityError {
    let message = format!(
        "`{action}` is not idempotent and an earlier attempt may have reached the upstream \
         (this is attempt {attempt}); not run again: check what it did, then start a new run \
         (run_action_workflow never retries it)"
    );
    refusal(ErrorKind::Ambiguous, ErrorClass::Failed, message, true)
}
