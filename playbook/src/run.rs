//! Running a checked playbook: each step's condition, items and params
//! evaluated from the playbook's own expressions, its action called through
//! a [`Caller`] (the host directly for the CLI; the service and the worker
//! bring their own, which record executions), retried as the step says, and
//! every change of state handed to an observer before the run goes on.

use std::future::Future;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use soar_host::wire::{ErrorClass, ErrorKind};
use soar_host::{ErrorReport, RunStatus, StepStatus};

use crate::check::Checked;
use crate::expr::{self, ExprError};
use crate::file::{OnError, Retry, Step};
use crate::record::{CallRecord, RunError, RunRecord, StepRecord, Trigger, now, run_id, stamp};

/// One action call a step makes.
#[derive(Debug, Clone, Copy)]
pub struct ActionCall<'a> {
    pub run: &'a str,
    pub step: &'a str,
    /// The item's index in a `for_each` step.
    pub item: Option<usize>,
    pub attempt: u32,
    pub resource: &'a str,
    pub action: &'a str,
    /// A JSON object.
    pub params: &'a Value,
    /// How long the call may take (the step's timeout or what is left of
    /// the run's time, whichever is less).
    pub timeout: Duration,
}

/// What a call answered.
#[derive(Debug, Clone)]
pub struct Answer {
    pub result: Result<Value, ErrorReport>,
    /// The caller's record of it (the service's `ex_…`), if it keeps one.
    pub execution_id: Option<String>,
}

/// Runs the actions of a playbook's steps, and keeps the run's time.
///
/// The time is the caller's so that a Temporal workflow, which must decide
/// the same on every replay, gives its own (the workflow's clock, its
/// timers); the others keep the defaults, the system's clock and tokio's
/// timers. No bound on `Send`: a workflow's futures are not, and a service
/// that spawns runs names its own caller, whose futures are.
pub trait Caller {
    fn call(&self, call: ActionCall<'_>) -> impl Future<Output = Answer>;

    /// Now, for the record's times and the run's deadline.
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    /// The pause between two attempts.
    fn sleep(&self, pause: Duration) -> impl Future<Output = ()> {
        tokio::time::sleep(pause)
    }

    /// `call`, or `None` when `limit` passes first (the call is dropped).
    fn within<F: Future>(
        &self,
        limit: Duration,
        call: F,
    ) -> impl Future<Output = Option<F::Output>> {
        async move { tokio::time::timeout(limit, call).await.ok() }
    }
}

/// Told of every change of a run, before the run goes on: the service
/// stores the record and publishes its progress there.
pub trait Observer: Sync {
    fn changed(&self, record: &RunRecord, progress: Progress) -> impl Future<Output = ()> + Send;
}

/// An observer that is told nothing.
pub struct Unobserved;

impl Observer for Unobserved {
    async fn changed(&self, _: &RunRecord, _: Progress) {}
}

/// Bounds of one run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The longest a run may take, all steps and retries included.
    pub run_time: Duration,
    /// The largest result a step may record (that of an action's result).
    pub result_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            run_time: Duration::from_secs(3600),
            result_bytes: soar_host::MAX_RESULT_BYTES,
        }
    }
}

/// A point in a run, as the observer is told of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Started,
    /// The step at this index started or finished.
    Step(usize),
    Finished,
}

/// How a run starts.
#[derive(Debug, Clone)]
pub struct Start {
    pub trigger: Trigger,
    pub inputs: Value,
    pub event: Option<Value>,
    pub dry_run: bool,
}

/// The longest pause between two attempts of a call.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

impl Checked {
    /// A new run's record, its inputs checked against the manual trigger's
    /// schema; nothing has run yet.
    pub fn new_run(&self, mut start: Start) -> Result<RunRecord, String> {
        let playbook = &self.playbook;
        if let Some(manual) = &playbook.manual {
            manual.with_defaults(&mut start.inputs);
        }
        if start.trigger.kind == "manual" {
            let Some(manual) = &playbook.manual else {
                return Err(format!(
                    "playbook `{}` has no manual trigger (`on: manual:`); it runs on its other triggers only",
                    playbook.name
                ));
            };
            if !start.inputs.is_object() {
                return Err("inputs must be a JSON object".into());
            }
            let validator = jsonschema::draft202012::new(&manual.inputs)
                .map_err(|e| format!("the inputs schema of `{}`: {e}", playbook.name))?;
            if let Some(e) = validator.iter_errors(&start.inputs).next() {
                let path = e.instance_path().as_str().to_owned();
                return Err(format!(
                    "inputs{}: {}",
                    if path.is_empty() {
                        String::new()
                    } else {
                        format!(" at {path}")
                    },
                    e.masked()
                ));
            }
        }
        Ok(RunRecord {
            id: run_id(),
            playbook: playbook.name.clone(),
            trigger: start.trigger,
            status: RunStatus::Queued,
            inputs: start.inputs,
            event: start.event,
            steps: playbook
                .steps
                .iter()
                .map(|s| StepRecord::new(&s.id, &s.resource.name, &s.action.name))
                .collect(),
            error: None,
            created_at: now(),
            finished_at: None,
            rerun_of: None,
            workflow_id: None,
            dry_run: start.dry_run,
        })
    }

    /// Run (or go on with) `record`: steps already finished keep their
    /// record and are not run again. `observer` sees every change before
    /// the run goes on.
    pub async fn run<C: Caller, O: Observer>(
        &self,
        mut record: RunRecord,
        caller: &C,
        limits: &Limits,
        observer: &O,
    ) -> RunRecord {
        let deadline = caller.now() + limits.run_time;
        record.status = RunStatus::Running;
        observer.changed(&record, Progress::Started).await;
        let mut scope = Scope::new(&record);
        for (index, step) in self.playbook.steps.iter().enumerate() {
            if is_done(record.steps[index].status) {
                scope.set_step(&record.steps[index]);
                continue;
            }
            if record.error.is_some() {
                record.steps[index].status = StepStatus::Skipped;
                continue;
            }
            record.steps[index].status = StepStatus::Running;
            record.steps[index].started_at = Some(stamp(caller.now()));
            observer.changed(&record, Progress::Step(index)).await;
            let ctx = StepRun {
                run: &record.id,
                step,
                idempotent: self.idempotent.get(index).copied().unwrap_or(false),
                caller,
                deadline,
                dry_run: record.dry_run,
            };
            let mut done = ctx.run(&record.steps[index], &scope).await;
            if record.dry_run && done.status == StepStatus::Failed && step.reads_results() {
                // A dry run has no results: what this step would send is
                // known only when it runs.
                done.status = StepStatus::Skipped;
                if let Some(e) = &mut done.call.error {
                    e.message = format!(
                        "not evaluated in a dry run, it reads an earlier step's result: {}",
                        e.message
                    );
                }
            }
            bound_result(&mut done, limits.result_bytes);
            done.finished_at = Some(stamp(caller.now()));
            let stops = match done.status {
                StepStatus::Unknown => true,
                StepStatus::Failed => step.on_error == OnError::Fail,
                _ => false,
            };
            if stops {
                record.error = Some(RunError {
                    step: Some(step.id.clone()),
                    message: step_failure(&done),
                });
            }
            scope.set_step(&done);
            record.steps[index] = done;
            observer.changed(&record, Progress::Step(index)).await;
        }
        record.status = if record.error.is_some() {
            RunStatus::Failed
        } else {
            RunStatus::Succeeded
        };
        record.finished_at = Some(stamp(caller.now()));
        observer.changed(&record, Progress::Finished).await;
        record
    }

    /// A run a stopped process left unfinished, made ready to go on: a
    /// step it left running is run again if its action is idempotent; if
    /// not, it may have acted, so it is `unknown` and the run fails there.
    pub fn resume(&self, mut record: RunRecord) -> RunRecord {
        for (index, step) in record.steps.iter_mut().enumerate() {
            if step.status != StepStatus::Running {
                continue;
            }
            if self.idempotent.get(index).copied().unwrap_or(false) {
                *step = StepRecord::new(&step.id, &step.resource, &step.action);
            } else {
                step.status = StepStatus::Unknown;
                let mut e = ErrorReport::new(
                    ErrorKind::Ambiguous,
                    ErrorClass::Failed,
                    "the process running this step stopped; the call may have been sent",
                );
                e.ambiguous = Some(true);
                step.call.error = Some(e);
                step.finished_at = Some(now());
                record.error = Some(RunError {
                    step: Some(step.id.clone()),
                    message: step_failure(step),
                });
            }
        }
        record
    }

    /// A new run of `old`'s playbook, inputs and event that reuses the
    /// recorded steps before `from` and runs `from` and those after it.
    pub fn rerun(&self, old: &RunRecord, from: &str) -> Result<RunRecord, String> {
        let steps = &self.playbook.steps;
        let Some(at) = steps.iter().position(|s| s.id == from) else {
            let ids: Vec<&str> = steps.iter().map(|s| s.id.as_str()).collect();
            return Err(format!(
                "playbook `{}` has no step `{from}`; its steps: {}",
                self.playbook.name,
                ids.join(", ")
            ));
        };
        let same = old.steps.len() == steps.len()
            && old.steps.iter().zip(steps).all(|(r, s)| r.id == s.id);
        if !same {
            return Err(format!(
                "playbook `{}` has changed since run {} (its steps differ): start a new run",
                self.playbook.name, old.id
            ));
        }
        if let Some(unfinished) = old.steps[..at].iter().find(|s| !is_done(s.status)) {
            return Err(format!(
                "step `{}` before `{from}` did not finish in run {} (it is {}): rerun from it",
                unfinished.id, old.id, unfinished.status
            ));
        }
        let mut record = RunRecord {
            id: run_id(),
            playbook: old.playbook.clone(),
            trigger: Trigger {
                kind: old.trigger.kind.clone(),
                occurrence: None,
            },
            status: RunStatus::Queued,
            inputs: old.inputs.clone(),
            event: old.event.clone(),
            steps: Vec::with_capacity(steps.len()),
            error: None,
            created_at: now(),
            finished_at: None,
            rerun_of: Some(old.id.clone()),
            workflow_id: None,
            dry_run: false,
        };
        for (i, (recorded, step)) in old.steps.iter().zip(steps).enumerate() {
            record.steps.push(if i < at {
                StepRecord {
                    reused: true,
                    ..recorded.clone()
                }
            } else {
                StepRecord::new(&step.id, &step.resource.name, &step.action.name)
            });
        }
        Ok(record)
    }
}

/// A step that has its outcome: kept as recorded when a run goes on or
/// is rerun after it (an `unknown` one too: whoever reruns past it has
/// checked upstream).
fn is_done(status: StepStatus) -> bool {
    matches!(
        status,
        StepStatus::Succeeded | StepStatus::Skipped | StepStatus::Failed | StepStatus::Unknown
    )
}

fn step_failure(step: &StepRecord) -> String {
    let why = step
        .call
        .error
        .as_ref()
        .map(|e| format!("{}: {}", e.kind, e.message))
        .unwrap_or_else(|| "failed".into());
    match step.status {
        StepStatus::Unknown => format!(
            "step `{}` ({}) may have been sent and its outcome is not known; it is not idempotent, so it is not sent again: check upstream, then rerun from the next step or this one ({why})",
            step.id, step.action
        ),
        _ => format!("step `{}` ({}) failed: {why}", step.id, step.action),
    }
}

/// A step's recorded result stays within `max` bytes.
fn bound_result(step: &mut StepRecord, max: usize) {
    let size = step
        .call
        .result
        .as_ref()
        .and_then(|r| serde_json::to_vec(r).ok())
        .map_or(0, |b| b.len());
    if size > max {
        step.status = StepStatus::Failed;
        step.call.result = None;
        for item in &mut step.items {
            item.result = None;
        }
        step.call.error = Some(ErrorReport::new(
            ErrorKind::Internal,
            ErrorClass::Failed,
            format!(
                "step `{}`: its result is {size} bytes; a step may record at most {max}: narrow the action (a limit, fewer fields) or split the items",
                step.id
            ),
        ));
    }
}

/// The names expressions see, kept as minijinja values so that each
/// result is converted once.
struct Scope {
    inputs: minijinja::Value,
    event: minijinja::Value,
    run: minijinja::Value,
    steps: std::collections::BTreeMap<String, minijinja::Value>,
    steps_value: minijinja::Value,
}

impl Scope {
    fn new(record: &RunRecord) -> Self {
        Self {
            inputs: expr::to_value(&record.inputs),
            event: record
                .event
                .as_ref()
                .map_or(minijinja::Value::from(()), expr::to_value),
            run: expr::to_value(&json!({
                "id": record.id,
                "playbook": record.playbook,
                "trigger": record.trigger.kind,
            })),
            steps: Default::default(),
            steps_value: minijinja::Value::from(std::collections::BTreeMap::<
                String,
                minijinja::Value,
            >::new()),
        }
    }

    fn set_step(&mut self, step: &StepRecord) {
        self.steps
            .insert(step.id.clone(), expr::to_value(&step.scope_value()));
        self.steps_value = minijinja::Value::from(self.steps.clone());
    }

    fn value(&self, item: Option<(&minijinja::Value, usize)>) -> minijinja::Value {
        let mut names = vec![
            ("inputs", self.inputs.clone()),
            ("event", self.event.clone()),
            ("run", self.run.clone()),
            ("steps", self.steps_value.clone()),
        ];
        if let Some((item, index)) = item {
            names.push(("item", item.clone()));
            names.push(("index", minijinja::Value::from(index)));
        }
        expr::scope(names)
    }
}

/// One step being run.
struct StepRun<'a, C> {
    run: &'a str,
    step: &'a Step,
    idempotent: bool,
    caller: &'a C,
    deadline: SystemTime,
    dry_run: bool,
}

/// An expression failed: nothing was sent.
fn rejected(step: &Step, e: ExprError) -> ErrorReport {
    ErrorReport::new(
        ErrorKind::InvalidInput,
        ErrorClass::Rejected,
        soar_host::redact::scrub(&format!(
            "step `{}`, line {} column {}: {}",
            step.id, e.at.line, e.at.column, e.message
        )),
    )
}

impl<C: Caller> StepRun<'_, C> {
    async fn run(&self, start: &StepRecord, scope: &Scope) -> StepRecord {
        let mut record = start.clone();
        let step = self.step;
        let Some(for_each) = &step.for_each else {
            let scope = scope.value(None);
            record.call = self.call_if(&scope, None).await;
            // The step's status is the call's: said once, on the step.
            record.status = record.call.status.take().unwrap_or(StepStatus::Failed);
            return record;
        };
        let items = match for_each.eval(&scope.value(None)) {
            Ok(Value::Array(items)) => items,
            Ok(Value::Null) => Vec::new(),
            Ok(other) => {
                let message = format!("`for_each` gave {}, not a list", kind_of(&other));
                return refuse(record, step, message);
            }
            Err(e) => return fail(record, rejected(step, e)),
        };
        if items.len() > step.max_items {
            let message = format!(
                "`for_each` gave {} items; this step takes at most {} (`max_items:`, up to {}); nothing was sent",
                items.len(),
                step.max_items,
                crate::file::MAX_ITEMS_LIMIT
            );
            return refuse(record, step, message);
        }
        // `parallel` items at a time, in order. (Futures made up front and
        // joined: a stream of closures would not be `Send` for every
        // lifetime, which a spawned run needs.)
        let mut calls: Vec<CallRecord> = Vec::with_capacity(items.len());
        for (n, chunk) in items.chunks(step.parallel).enumerate() {
            let batch = chunk.iter().enumerate().map(|(i, item)| {
                let index = n * step.parallel + i;
                let scope = scope.value(Some((&expr::to_value(item), index)));
                async move { self.call_if(&scope, Some(index)).await }
            });
            calls.extend(futures_util::future::join_all(batch).await);
        }
        let status_of = |c: &CallRecord| c.status.unwrap_or(StepStatus::Failed);
        record.status = if calls.iter().any(|c| status_of(c) == StepStatus::Unknown) {
            StepStatus::Unknown
        } else if calls.iter().any(|c| status_of(c) == StepStatus::Failed) {
            StepStatus::Failed
        } else {
            StepStatus::Succeeded
        };
        record.call = CallRecord {
            status: None,
            attempts: calls.iter().map(|c| c.attempts).sum(),
            params: Some(Value::Array(
                calls
                    .iter()
                    .map(|c| c.params.clone().unwrap_or(Value::Null))
                    .collect(),
            )),
            result: Some(Value::Array(
                calls
                    .iter()
                    .map(|c| c.result.clone().unwrap_or(Value::Null))
                    .collect(),
            )),
            error: calls.iter().find_map(|c| c.error.clone()),
            execution_ids: calls.iter().flat_map(|c| c.execution_ids.clone()).collect(),
        };
        record.items = calls;
        record
    }

    /// The call of a step (or of one item), if its condition holds.
    async fn call_if(&self, scope: &minijinja::Value, item: Option<usize>) -> CallRecord {
        let step = self.step;
        let mut call = CallRecord::default();
        if let Some(condition) = &step.condition {
            match condition.holds(scope) {
                Ok(true) => {}
                Ok(false) => {
                    call.status = Some(StepStatus::Skipped);
                    return call;
                }
                Err(e) => return failed_call(call, rejected(step, e)),
            }
        }
        let params = match step.with.eval(scope) {
            Ok(Value::Object(m)) => Value::Object(m),
            Ok(other) => {
                return failed_call(
                    call,
                    rejected(
                        step,
                        ExprError {
                            at: step.at,
                            message: format!(
                                "`with:` gave {}, not a map of params",
                                kind_of(&other)
                            ),
                        },
                    ),
                );
            }
            Err(e) => return failed_call(call, rejected(step, e)),
        };
        call.params = Some(params);
        if self.dry_run {
            call.status = Some(StepStatus::Queued);
            return call;
        }
        self.attempts(call, item).await
    }

    async fn attempts(&self, mut call: CallRecord, item: Option<usize>) -> CallRecord {
        let step = self.step;
        let retry = step.retry.unwrap_or(if self.idempotent {
            Retry::DEFAULT_IDEMPOTENT
        } else {
            Retry {
                attempts: 1,
                backoff: Duration::ZERO,
            }
        });
        let params = call.params.clone().unwrap_or_else(|| json!({}));
        loop {
            call.attempts += 1;
            let left = self
                .deadline
                .duration_since(self.caller.now())
                .unwrap_or_default();
            let by_step = step.timeout.filter(|t| *t < left);
            let limit = by_step.unwrap_or(left);
            let attempt = ActionCall {
                run: self.run,
                step: &step.id,
                item,
                attempt: call.attempts,
                resource: &step.resource.name,
                action: &step.action.name,
                params: &params,
                timeout: limit,
            };
            let error = match self.caller.within(limit, self.caller.call(attempt)).await {
                Some(answer) => {
                    call.execution_ids.extend(answer.execution_id);
                    match answer.result {
                        Ok(result) => {
                            call.status = Some(StepStatus::Succeeded);
                            call.result = Some(result);
                            call.error = None;
                            return call;
                        }
                        Err(e) => e,
                    }
                }
                None => {
                    let mut e = ErrorReport::new(
                        ErrorKind::Timeout,
                        ErrorClass::Failed,
                        match by_step {
                            Some(t) => format!(
                                "no answer within the step's timeout ({}); the call may have been sent",
                                humantime::format_duration(t)
                            ),
                            None => {
                                "the run's time ran out during this call; it may have been sent"
                                    .to_owned()
                            }
                        },
                    );
                    e.ambiguous = Some(true);
                    e
                }
            };
            if !self.idempotent && error.ambiguous == Some(true) {
                // It may have acted: sending it again could act twice.
                call.status = Some(StepStatus::Unknown);
                call.error = Some(error);
                return call;
            }
            // Sending a non-idempotent action again is safe only when the
            // upstream refused it unseen (rate limited).
            let may_retry = error.retryable
                && (self.idempotent || error.kind == ErrorKind::RateLimited)
                && call.attempts < retry.attempts;
            let pause = backoff(retry.backoff, call.attempts, error.retry_after_secs);
            if !may_retry || self.caller.now() + pause >= self.deadline {
                call.status = Some(StepStatus::Failed);
                call.error = Some(error);
                return call;
            }
            tracing::info!(step = %step.id, attempt = call.attempts, "retrying after {}: {}", humantime::format_duration(pause), error.message);
            self.caller.sleep(pause).await;
        }
    }
}

/// The pause before the attempt after `attempt`: doubling from `base`, at
/// least what the upstream asked for, at most a minute.
fn backoff(base: Duration, attempt: u32, retry_after_secs: Option<u64>) -> Duration {
    let doubled = base.saturating_mul(1 << attempt.saturating_sub(1).min(16));
    doubled
        .max(Duration::from_secs(retry_after_secs.unwrap_or(0)))
        .min(MAX_BACKOFF)
}

fn failed_call(mut call: CallRecord, error: ErrorReport) -> CallRecord {
    call.status = Some(StepStatus::Failed);
    call.error = Some(error);
    call
}

/// The step's `for_each` gave what it cannot run: nothing was sent.
fn refuse(record: StepRecord, step: &Step, message: String) -> StepRecord {
    let at = step.for_each_at;
    fail(record, rejected(step, ExprError { at, message }))
}

fn fail(mut record: StepRecord, error: ErrorReport) -> StepRecord {
    record.status = StepStatus::Failed;
    record.call.status = None;
    record.call.error = Some(error);
    record
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}
