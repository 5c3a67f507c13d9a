//! `run_playbook`: a playbook of the worker's playbooks directory as a
//! Temporal workflow, `{"playbook": NAME, "inputs": {…}}` in, the run
//! record out (its `status` says whether the run succeeded; the workflow
//! fails only when the run cannot start: no such playbook, bad inputs).
//!
//! Deterministic by construction: the local activity `start_playbook`
//! checks the inputs and answers the new run's record with the playbook's
//! text and which of its actions are idempotent, all kept in the history;
//! the workflow parses that text (not the file, which may have changed
//! since), evaluates every expression itself, runs each step's action as a
//! `run_action` activity, and keeps time with the workflow's clock and
//! timers. A replay on any worker therefore makes the same calls.
//!
//! Retries are the playbook's (the same as on the CLI and in the service),
//! each attempt one activity attempt: a worker killed mid-step leaves its
//! activity to time out on its heartbeat; an idempotent step is then sent
//! again by whichever worker goes on, any other is `unknown` and the run
//! stops there, never sending it twice.

use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use soar_host::wire::{ErrorClass, ErrorKind};
use soar_host::{Envelope, ErrorReport};
use soar_playbook::run::Unobserved;
use soar_playbook::{
    ActionCall, Answer, Caller, Checked, Limits, Playbook, RunRecord, Start, Trigger,
};
use temporalio_common::RetryPolicy;
use temporalio_common::error::{ActivityExecutionError, IncomingError};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use temporalio_sdk::{
    ActivityOptions, ApplicationFailure, LocalActivityOptions, WorkflowContext, WorkflowResult,
};

use super::activity::Actions;

/// `run_playbook`'s input.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    playbook: String,
    #[serde(default = "empty_object")]
    inputs: Value,
    /// A run the service recorded and handed over (`serve --temporal`):
    /// run as it stands (its id, trigger, event, inputs), not a new one.
    #[serde(default)]
    run: Option<RunRecord>,
}

fn empty_object() -> Value {
    json!({})
}

/// What `start_playbook` answers: all the workflow needs, recorded in its
/// history.
#[derive(Serialize, Deserialize)]
pub struct Started {
    record: RunRecord,
    file: String,
    source: String,
    idempotent: Vec<bool>,
    heartbeat_timeout_secs: u64,
    /// The worker's `--max-run-time`.
    max_run_secs: u64,
}

impl Actions {
    /// Check the input, make the run's record (its id, its inputs with the
    /// defaults) and hand over the playbook as it is now.
    pub(super) fn start(
        &self,
        ctx: &ActivityContext,
        input: Value,
    ) -> Result<Started, ActivityError> {
        let refuse = |message: String| {
            ActivityError::application(
                ApplicationFailure::builder(message.clone())
                    .type_name(ErrorKind::InvalidInput.as_str().to_owned())
                    .non_retryable(true)
                    .details(ErrorReport::new(
                        ErrorKind::InvalidInput,
                        ErrorClass::Rejected,
                        message,
                    ))
                    .build(),
            )
        };
        let input: Input = serde_json::from_value(input).map_err(|e| {
            refuse(format!(
                "the input must be {{\"playbook\": NAME, \"inputs\"?: {{…}}}}: {e}"
            ))
        })?;
        let shared = &self.0;
        let Some(checked) = shared.playbooks.checked.get(&input.playbook) else {
            let known: Vec<&str> = shared
                .playbooks
                .checked
                .keys()
                .map(String::as_str)
                .collect();
            let skipped = shared
                .playbooks
                .skipped
                .iter()
                .filter(|f| {
                    Path::new(&f.file)
                        .file_stem()
                        .is_some_and(|s| *s == *input.playbook)
                })
                .map(ToString::to_string)
                .collect::<Vec<_>>();
            return Err(refuse(if skipped.is_empty() {
                format!(
                    "no playbook `{}` on this worker; it serves: {}",
                    soar_host::redact::printable(&input.playbook),
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                )
            } else {
                format!(
                    "playbook `{}` is not served: {}",
                    input.playbook,
                    skipped.join("; ")
                )
            }));
        };
        if let Some(run) = input.run {
            let steps: Vec<&str> = run.steps.iter().map(|s| s.id.as_str()).collect();
            let here: Vec<&str> = checked
                .playbook
                .steps
                .iter()
                .map(|s| s.id.as_str())
                .collect();
            if run.playbook != input.playbook || steps != here {
                return Err(refuse(format!(
                    "the run handed over is of a playbook `{}` with steps {steps:?}; this worker's `{}` has steps {here:?}: serve the same playbooks directory to the service and the workers",
                    run.playbook, input.playbook
                )));
            }
            return Ok(self.started(checked, run));
        }
        let workflow_id = ctx.info().workflow_id.as_deref();
        let record = checked
            .new_run(Start {
                trigger: Trigger {
                    kind: "manual".into(),
                    occurrence: workflow_id.map(|id| format!("temporal:{id}")),
                },
                inputs: input.inputs,
                event: None,
                dry_run: false,
            })
            .map_err(refuse)?;
        Ok(self.started(checked, record))
    }

    fn started(&self, checked: &Checked, record: RunRecord) -> Started {
        Started {
            record,
            file: checked.playbook.file.display().to_string(),
            source: checked.playbook.source.clone(),
            idempotent: checked.idempotent.clone(),
            heartbeat_timeout_secs: self.0.heartbeat_timeout.as_secs().max(1),
            max_run_secs: self.0.max_run_time.as_secs().max(1),
        }
    }
}

#[workflow]
#[derive(Default)]
pub struct RunPlaybookWorkflow;

#[workflow_methods]
impl RunPlaybookWorkflow {
    /// `{"playbook", "inputs"?}` in; the run record out.
    #[run(name = "run_playbook")]
    pub async fn run(ctx: &mut WorkflowContext<Self>, input: Value) -> WorkflowResult<RunRecord> {
        let options = LocalActivityOptions::builder()
            .schedule_to_close_timeout(Duration::from_secs(60))
            .retry_policy(RetryPolicy::builder().maximum_attempts(3).build())
            .build();
        let started = ctx
            .execute_local_activity(Actions::start_playbook, input, options)
            .await?;
        let playbook = Playbook::parse(Path::new(&started.file), &started.source).map_err(|f| {
            let findings: Vec<String> = f.iter().map(ToString::to_string).collect();
            ApplicationFailure::builder(findings.join("; "))
                .type_name(ErrorKind::InvalidInput.as_str().to_owned())
                .non_retryable(true)
                .build()
        })?;
        let checked = Checked {
            playbook,
            idempotent: started.idempotent,
            kinds: Vec::new(),
        };
        let caller = InWorkflow {
            ctx: ctx.clone(),
            heartbeat: Duration::from_secs(started.heartbeat_timeout_secs),
        };
        let limits = Limits {
            run_time: Duration::from_secs(started.max_run_secs),
            ..Limits::default()
        };
        Ok(checked
            .run(started.record, &caller, &limits, &Unobserved)
            .await)
    }
}

/// Each call a `run_action` activity with one attempt (the playbook says
/// how to retry), the time the workflow's.
struct InWorkflow {
    ctx: WorkflowContext<RunPlaybookWorkflow>,
    heartbeat: Duration,
}

impl Caller for InWorkflow {
    async fn call(&self, call: ActionCall<'_>) -> Answer {
        let input = json!({
            "resource": call.resource,
            "action": call.action,
            "params": call.params,
        });
        // What is left of the run's time may be less than a second.
        let options =
            ActivityOptions::with_start_to_close_timeout(call.timeout.max(Duration::from_secs(1)))
                .heartbeat_timeout(self.heartbeat)
                .retry_policy(RetryPolicy::builder().maximum_attempts(1).build())
                .build();
        let result = match self
            .ctx
            .execute_activity(Actions::run_action, input, options)
            .await
        {
            Ok(Envelope::Success { data, .. }) => Ok(data),
            Ok(Envelope::Failed { error }) => Err(error),
            Err(e) => Err(report(&e)),
        };
        Answer {
            result,
            execution_id: None,
        }
    }

    fn now(&self) -> SystemTime {
        self.ctx.workflow_time().unwrap_or(SystemTime::UNIX_EPOCH)
    }

    async fn sleep(&self, pause: Duration) {
        let _ = self.ctx.timer(pause).await;
    }

    /// The activity's own timeout bounds the call (`call.timeout`): a
    /// timer raced against it would leave the activity running.
    async fn within<F: Future>(&self, _limit: Duration, call: F) -> Option<F::Output> {
        Some(call.await)
    }
}

/// An activity's failure as the run records it: the activity's own report
/// when it gave one; a timeout (the worker died, or the call outlived the
/// step's time) may have acted.
fn report(e: &ActivityExecutionError) -> ErrorReport {
    let ActivityExecutionError::Failed(failure) = e else {
        return ErrorReport::new(ErrorKind::Internal, ErrorClass::Failed, e.to_string());
    };
    match failure.cause() {
        Some(IncomingError::Application(app)) => match app.details::<ErrorReport>() {
            Ok(Some(report)) => report,
            _ => ErrorReport::new(ErrorKind::Internal, ErrorClass::Failed, app.to_string()),
        },
        Some(IncomingError::Timeout(t)) => {
            let mut report = ErrorReport::new(
                ErrorKind::Timeout,
                ErrorClass::Failed,
                format!(
                    "the activity timed out ({:?}): its worker stopped or the call outlived its time; it may have been sent",
                    t.timeout_type()
                ),
            );
            report.ambiguous = Some(true);
            report
        }
        _ => ErrorReport::new(ErrorKind::Internal, ErrorClass::Failed, e.to_string()),
    }
}
