//! Playbooks in the service: the valid ones of the playbooks directory
//! (an invalid one is skipped and said why), started by hand over the API
//! (`Idempotency-Key` honoured) and by the webhook events they listen to
//! (after the event is stored: the sender never waits for a run), each
//! step's action run as an execution of the service (limits, audit), runs
//! recorded in the state directory, progress published on the event
//! stream, runs a stopped process left unfinished taken over at start.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use utoipa::{IntoParams, ToSchema};

use super::actions::{execution_id, idempotency_key};
use super::api::Caller;
use super::db::{EventRow, ExecutionRow, now_ms};
use super::problem::{Fault, Problem};
use super::runs::{self, Job};
use super::tokens::{Grant, Scope};
use super::{RemoteRuns, Service};
use soar_host::wire::{ErrorClass, ErrorKind, ProblemType};
use soar_host::{ErrorReport, ExecutionStatus, RunStatus};
use soar_playbook::{
    ActionCall, Answer, Checked, Inserted, Limits, Observer, Playbooks, Progress, RunQuery,
    RunRecord, RunStore, Start, Trigger,
};

/// What the service keeps for playbooks.
pub struct PlaybookState {
    pub store: Arc<RunStore>,
    pub current: RwLock<Arc<Playbooks>>,
    /// Runs in progress in this process, to cancel them.
    pub running: Mutex<HashMap<String, CancellationToken>>,
    pub limits: Limits,
    /// Where runs go when not run here (`serve --temporal`).
    pub remote: Option<Arc<dyn RemoteRuns>>,
}

impl PlaybookState {
    pub fn new(
        store: RunStore,
        playbooks: Playbooks,
        max_run_time: std::time::Duration,
        remote: Option<Arc<dyn RemoteRuns>>,
    ) -> Self {
        Self {
            store: Arc::new(store),
            current: RwLock::new(Arc::new(playbooks)),
            running: Mutex::default(),
            limits: Limits {
                run_time: max_run_time,
                ..Limits::default()
            },
            remote,
        }
    }

    pub fn current(&self) -> Arc<Playbooks> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }
}

async fn on_store<T: Send + 'static>(
    service: &Arc<Service>,
    f: impl FnOnce(&RunStore) -> Result<T, String> + Send + 'static,
) -> Result<T, Fault> {
    let store = Arc::clone(&service.playbooks.store);
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(|e| Fault(format!("a database task failed: {e}")))?
        .map_err(Fault)
}

/// Runs each step's action as an execution of the service, recorded under
/// the name of whoever started the run.
struct ServiceCaller {
    service: Arc<Service>,
    /// `playbook:<name>` and who started it (a token's name, a webhook).
    who: String,
}

fn report(kind: ErrorKind, class: ErrorClass, message: String) -> ErrorReport {
    ErrorReport::new(kind, class, message)
}

impl soar_playbook::Caller for ServiceCaller {
    async fn call(&self, call: ActionCall<'_>) -> Answer {
        let service = &self.service;
        let failed = |e: ErrorReport| Answer {
            result: Err(e),
            execution_id: None,
        };
        let Some(resource) = service.registry().get(call.resource).cloned() else {
            return failed(report(
                ErrorKind::Resource,
                ErrorClass::Rejected,
                format!("no resource `{}` is served now", call.resource),
            ));
        };
        let prepared = match service
            .host
            .prepare(&resource, call.action, call.params)
            .await
        {
            Ok(p) => p,
            Err(e) => return failed(e.report()),
        };
        let Ok(mut ticket) = service.gate.admit(call.resource) else {
            let mut e = report(
                ErrorKind::RateLimited,
                ErrorClass::Failed,
                format!(
                    "too many runs in flight or queued on `{}`; nothing was sent",
                    call.resource
                ),
            );
            e.retry_after_secs = Some(1);
            return failed(e);
        };
        let created_ms = now_ms();
        let now = ticket.try_turn();
        let row = ExecutionRow {
            seq: 0,
            id: execution_id(),
            resource: call.resource.to_owned(),
            action: call.action.to_owned(),
            status: if now {
                ExecutionStatus::Running
            } else {
                ExecutionStatus::Queued
            },
            token: self.who.clone(),
            idempotency_key: None,
            request_hash: String::new(),
            params: Value::Object(prepared.params().clone()),
            created_ms,
            started_ms: now.then_some(created_ms),
            finished_ms: None,
            outcome: None,
        };
        let id = row.id.clone();
        if let Err(e) = service.db.insert_execution(&row).await {
            return failed(report(
                ErrorKind::Internal,
                ErrorClass::Failed,
                e.to_string(),
            ));
        }
        let job = Job {
            row,
            resource_name: call.resource.to_owned(),
            resource,
            prepared,
        };
        let finished = match runs::run(Arc::clone(service), job, ticket).await {
            Ok(row) => row,
            Err(e) => {
                return failed(report(
                    ErrorKind::Internal,
                    ErrorClass::Failed,
                    e.to_string(),
                ));
            }
        };
        let outcome = finished.outcome.unwrap_or_default();
        let result = match (finished.status, outcome.error) {
            (ExecutionStatus::Succeeded, _) => Ok(outcome
                .data
                .and_then(|raw| serde_json::from_str(raw.get()).ok())
                .unwrap_or(Value::Null)),
            (_, Some(e)) => Err(e),
            (status, None) => Err(report(
                ErrorKind::Internal,
                ErrorClass::Failed,
                format!("the execution ended {status}"),
            )),
        };
        Answer {
            result,
            execution_id: Some(id),
        }
    }
}

/// Stores each change and publishes it on the event stream.
struct ServiceObserver {
    service: Arc<Service>,
}

impl Observer for ServiceObserver {
    async fn changed(&self, record: &RunRecord, progress: Progress) {
        let saved = {
            let record = record.clone();
            on_store(&self.service, move |store| store.save(&record, progress)).await
        };
        if let Err(e) = saved {
            tracing::error!(run = %record.id, "the run's record could not be saved: {e}");
        }
        let (kind, mut payload) = match progress {
            Progress::Started => ("started", json!({})),
            Progress::Step(i) => {
                let step = &record.steps[i];
                (
                    "step",
                    json!({"step": step.id, "step_status": step.status, "execution_ids": step.call.execution_ids}),
                )
            }
            Progress::Finished => ("finished", json!({"error": record.error})),
        };
        payload["run"] = json!(record.id);
        payload["playbook"] = json!(record.playbook);
        payload["status"] = json!(record.status);
        let now = now_ms();
        let row = EventRow {
            seq: 0,
            resource: String::new(),
            delivery_id: record.id.clone(),
            event_type: format!("playbook_run.{kind}"),
            time_ms: now,
            received_ms: now,
            digest: soar_host::hex(&rand::random::<[u8; 16]>()),
            payload,
        };
        match self.service.on_db(move |db| db.insert_event(&row)).await {
            Ok(Some(seq)) => {
                self.service.events.send_replace(seq);
            }
            Ok(None) => {}
            Err(e) => tracing::error!("a playbook progress event could not be stored: {e}"),
        }
    }
}

/// Record a new run; the earlier run when its occurrence had one.
async fn record(service: &Arc<Service>, record: RunRecord) -> Result<(RunRecord, bool), Fault> {
    let kept = record.clone();
    match on_store(service, move |store| store.insert(&kept)).await? {
        Inserted::New => Ok((record, true)),
        Inserted::Existing(first) => Ok((*first, false)),
    }
}

/// Run a recorded run in the background.
pub fn launch(service: &Arc<Service>, checked: Arc<Checked>, record: RunRecord, who: String) {
    let cancel = CancellationToken::new();
    service
        .playbooks
        .running
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(record.id.clone(), cancel.clone());
    let service = Arc::clone(service);
    let tracker = service.tracker.clone();
    tracker.spawn(async move {
        let id = record.id.clone();
        let observer = ServiceObserver {
            service: Arc::clone(&service),
        };
        let store = Arc::clone(&service.playbooks.store);
        let remote = service.playbooks.remote.clone();
        let latest = record.clone();
        let run = async {
            match &remote {
                // Stopping, the service stops following (the run goes on
                // there; the next process follows it again).
                Some(remote) => tokio::select! {
                    () = run_remote(remote.as_ref(), record, &observer) => {}
                    () = service.shutdown.cancelled() => {}
                },
                None => {
                    let caller = ServiceCaller {
                        service: Arc::clone(&service),
                        who: format!("playbook:{} ({who})", record.playbook),
                    };
                    let limits = service.playbooks.limits;
                    checked.run(record, &caller, &limits, &observer).await;
                }
            }
        };
        tokio::select! {
            () = run => {}
            () = store.hold(&id) => {}
            () = cancel.cancelled() => {
                if let Some(remote) = &remote
                    && let Err(e) = remote.cancel(id.clone(), "cancelled through the service's API".into()).await
                {
                    tracing::error!(run = %id, "the run could not be stopped on {}: {e}", remote.describe());
                }
                // What was recorded last, cancelled.
                let mut record = on_store(&service, {
                    let id = id.clone();
                    move |s| s.get(&id)
                })
                .await
                .ok()
                .flatten()
                .unwrap_or(latest);
                for step in &mut record.steps {
                    if matches!(step.status, soar_host::StepStatus::Queued | soar_host::StepStatus::Running) {
                        step.status = soar_host::StepStatus::Cancelled;
                    }
                }
                record.status = RunStatus::Cancelled;
                record.finished_at = Some(soar_playbook::record::now());
                observer.changed(&record, Progress::Finished).await;
            }
        }
        service
            .playbooks
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    });
}

/// Hand `record` to the remote runner (recording that first, so that a
/// stopped process's successor follows it there) and record the final
/// record it answers, or why there is none.
async fn run_remote(remote: &dyn RemoteRuns, mut record: RunRecord, observer: &ServiceObserver) {
    if record.workflow_id.is_none() {
        record.workflow_id = Some(record.id.clone());
        record.status = RunStatus::Running;
        observer.changed(&record, Progress::Started).await;
    }
    let done = match remote.run(record.clone()).await {
        Ok(done) => done,
        Err(message) => {
            tracing::error!(run = %record.id, "{message}");
            record.status = RunStatus::Failed;
            record.error = Some(soar_playbook::record::RunError {
                step: None,
                message,
            });
            record.finished_at = Some(soar_playbook::record::now());
            record
        }
    };
    observer.changed(&done, Progress::Finished).await;
}

/// At start: go on with the runs a stopped process left unfinished (those
/// it had handed to Temporal are followed there).
pub async fn resume(service: &Arc<Service>) -> Result<usize, Fault> {
    let runs = on_store(service, |store| store.take_over_unfinished()).await?;
    let playbooks = service.playbooks.current();
    let mut resumed = 0;
    for record in runs {
        if let Some(workflow) = &record.workflow_id
            && service.playbooks.remote.is_none()
        {
            tracing::warn!(run = %record.id, "the run is on Temporal (workflow {workflow}): start serve with --temporal to follow it");
            continue;
        }
        match playbooks.checked.get(&record.playbook) {
            Some(checked) => {
                let record = if record.workflow_id.is_some() {
                    record
                } else {
                    checked.resume(record)
                };
                tracing::info!(run = %record.id, playbook = %record.playbook, "going on with a run the last process left unfinished");
                launch(service, Arc::clone(checked), record, "resumed".into());
                resumed += 1;
            }
            None => {
                tracing::warn!(run = %record.id, "run of playbook `{}`, which is not served now, left unfinished", record.playbook)
            }
        }
    }
    Ok(resumed)
}

/// An event as playbooks see it: `type`, `resource`, `delivery_id`,
/// `payload` (the upstream's `payload` member when its body has one, as
/// Zoom's do: `event.payload.object.id`; else the body) and `body` (the
/// whole body: Zoom's `download_token` sits beside `payload`).
pub fn event_scope(row: &EventRow) -> Value {
    let payload = match row.payload.get("payload") {
        Some(inner @ Value::Object(_)) => inner.clone(),
        _ => row.payload.clone(),
    };
    json!({
        "type": row.event_type,
        "resource": row.resource,
        "delivery_id": row.delivery_id,
        "payload": payload,
        "body": row.payload,
    })
}

/// After an event is stored: start the playbooks that listen to it.
pub async fn on_event(service: &Arc<Service>, seq: i64, resource: &str, event: Value) {
    let event_type = event["type"].as_str().unwrap_or_default().to_owned();
    let playbooks = service.playbooks.current();
    for checked in playbooks.checked.values() {
        let playbook = &checked.playbook;
        if !playbook.listens_to(resource, &event_type) {
            continue;
        }
        let start = Start {
            trigger: Trigger {
                kind: "webhook".into(),
                occurrence: Some(format!("event:{resource}:{seq}")),
            },
            inputs: json!({}),
            event: Some(event.clone()),
            dry_run: false,
        };
        let record = match checked.new_run(start) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(playbook = %playbook.name, "event {seq} starts no run: {e}");
                continue;
            }
        };
        if let Some(condition) = playbook.webhook.as_ref().and_then(|w| w.condition.as_ref()) {
            let scope = soar_playbook::expr::scope([
                ("event", soar_playbook::expr::to_value(&event)),
                ("inputs", soar_playbook::expr::to_value(&record.inputs)),
            ]);
            match condition.holds(&scope) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(playbook = %playbook.name, "event {seq}: the webhook's `if` failed, no run: {}", e.message);
                    continue;
                }
            }
        }
        match self::record(service, record).await {
            Ok((record, true)) => {
                launch(service, Arc::clone(checked), record, format!("event {seq}"))
            }
            Ok((_, false)) => {
                tracing::info!(playbook = %playbook.name, "event {seq} had started its run already")
            }
            Err(e) => {
                tracing::error!(playbook = %playbook.name, "event {seq}: the run could not be recorded: {e}")
            }
        }
    }
}

/// Start a run of `checked` for a trigger occurrence, once: recorded, then
/// launched; an occurrence seen before starts nothing.
async fn fire(
    service: &Arc<Service>,
    checked: &Arc<Checked>,
    trigger: Trigger,
    event: Value,
    who: String,
) {
    let name = &checked.playbook.name;
    let start = Start {
        trigger,
        inputs: json!({}),
        event: Some(event),
        dry_run: false,
    };
    let record = match checked.new_run(start) {
        Ok(r) => r,
        Err(e) => return tracing::warn!(playbook = %name, "no run: {e}"),
    };
    match self::record(service, record).await {
        Ok((record, true)) => launch(service, Arc::clone(checked), record, who),
        Ok((record, false)) => {
            tracing::info!(playbook = %name, run = %record.id, "that occurrence had started its run already")
        }
        Err(e) => tracing::error!(playbook = %name, "the run could not be recorded: {e}"),
    }
}

/// Start the schedules and watches of the playbooks served; they stop
/// with the service.
pub fn spawn_triggers(service: &Arc<Service>) {
    for checked in service.playbooks.current().checked.values() {
        if checked.playbook.schedule.is_some() {
            tokio::spawn(schedule_loop(Arc::clone(service), Arc::clone(checked)));
        }
        if checked.playbook.watch.is_some() {
            tokio::spawn(watch_loop(Arc::clone(service), Arc::clone(checked)));
        }
    }
}

async fn schedule_loop(service: Arc<Service>, checked: Arc<Checked>) {
    let Some(schedule) = checked.playbook.schedule.as_ref() else {
        return;
    };
    let name = checked.playbook.name.clone();
    let tick = |ms: i64| {
        let service = Arc::clone(&service);
        let checked = Arc::clone(&checked);
        let name = name.clone();
        async move {
            let at = soar_playbook::record::rfc3339_ms(ms);
            let trigger = Trigger {
                kind: "schedule".into(),
                occurrence: Some(format!("tick:{ms}")),
            };
            fire(
                &service,
                &checked,
                trigger,
                json!({"type": "schedule", "tick": at}),
                format!("schedule {at}"),
            )
            .await;
            let _ = on_store(&service, move |s| s.schedule_ticked(&name, ms)).await;
        }
    };
    let state = {
        let name = name.clone();
        on_store(&service, move |s| s.schedule_state(&name)).await
    };
    let (first_loaded, last_tick) = match state {
        Ok(state) => state,
        Err(e) => return tracing::error!(playbook = %name, "schedule not started: {e}"),
    };
    // A tick missed while no service ran (after the playbook was first
    // loaded) runs once now.
    if schedule.catch_up == soar_playbook::file::CatchUp::Once {
        let now = jiff::Zoned::now().with_time_zone(schedule.timezone.clone());
        if let Ok(previous) = schedule.cron.find_previous_occurrence(&now, true) {
            let ms = previous.timestamp().as_millisecond();
            if ms > first_loaded && last_tick.is_none_or(|last| ms > last) {
                tracing::info!(playbook = %name, "a missed schedule tick runs now");
                tick(ms).await;
            }
        }
    }
    loop {
        let now = jiff::Zoned::now().with_time_zone(schedule.timezone.clone());
        let next = match schedule.cron.find_next_occurrence(&now, false) {
            Ok(next) => next,
            Err(e) => {
                return tracing::error!(playbook = %name, "the schedule has no next tick: {e}");
            }
        };
        let ms = next.timestamp().as_millisecond();
        let wait = std::time::Duration::from_millis(u64::try_from(ms - now_ms()).unwrap_or(0));
        tokio::select! {
            () = tokio::time::sleep(wait) => tick(ms).await,
            () = service.shutdown.cancelled() => return,
        }
    }
}

/// The key that marks a watch's first poll (its baseline) as done.
const BASELINE: &str = "\u{0}baseline";

async fn watch_loop(service: Arc<Service>, checked: Arc<Checked>) {
    let Some(watch) = checked.playbook.watch.as_ref() else {
        return;
    };
    let name = checked.playbook.name.clone();
    let caller = ServiceCaller {
        service: Arc::clone(&service),
        who: format!("playbook:{name} (watch)"),
    };
    let mut every = tokio::time::interval(watch.every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            () = service.shutdown.cancelled() => return,
        }
        let empty = soar_playbook::expr::scope([]);
        let params = match watch.with.eval(&empty) {
            Ok(p) => p,
            Err(e) => {
                return tracing::error!(playbook = %name, "the watch's `with:` failed: {}", e.message);
            }
        };
        let call = ActionCall {
            run: "",
            step: "watch",
            item: None,
            attempt: 1,
            resource: &watch.resource.name,
            action: &watch.action.name,
            params: &params,
            // No bound beyond the resource's own timeout.
            timeout: std::time::Duration::MAX,
        };
        let result = match soar_playbook::Caller::call(&caller, call).await.result {
            Ok(result) => result,
            Err(e) => {
                tracing::warn!(playbook = %name, "the watch's poll failed: {}: {}", e.kind, e.message);
                continue;
            }
        };
        let scope =
            soar_playbook::expr::scope([("result", soar_playbook::expr::to_value(&result))]);
        let items = match watch.items.eval(&scope) {
            Ok(Value::Array(items)) => items,
            Ok(other) => {
                tracing::warn!(playbook = %name, "the watch's `items:` gave {other}, not a list");
                continue;
            }
            Err(e) => {
                tracing::warn!(playbook = %name, "the watch's `items:` failed: {}", e.message);
                continue;
            }
        };
        let mut keyed = Vec::with_capacity(items.len());
        for item in items {
            let scope =
                soar_playbook::expr::scope([("item", soar_playbook::expr::to_value(&item))]);
            match watch.key.eval(&scope) {
                Ok(Value::String(key)) => keyed.push((key, item)),
                Ok(Value::Null) | Err(_) => {
                    tracing::warn!(playbook = %name, "a watched item has no key; skipped")
                }
                Ok(other) => keyed.push((other.to_string(), item)),
            }
        }
        let mut keys: Vec<String> = keyed.iter().map(|(k, _)| k.clone()).collect();
        keys.push(BASELINE.to_owned());
        let seen = {
            let name = name.clone();
            on_store(&service, move |s| {
                let baseline = s.watch_has_baseline(&name)?;
                s.new_watch_keys(&name, &keys).map(|new| (baseline, new))
            })
            .await
        };
        let (baseline, new) = match seen {
            Ok(seen) => seen,
            Err(e) => {
                tracing::error!(playbook = %name, "the watch's keys could not be kept: {e}");
                continue;
            }
        };
        // The items present at the first poll are the baseline: no run.
        if !baseline {
            continue;
        }
        for (key, item) in keyed {
            if !new.contains(&key) {
                continue;
            }
            let trigger = Trigger {
                kind: "watch".into(),
                occurrence: Some(format!("watch:{key}")),
            };
            let event =
                json!({"type": "watch", "resource": watch.resource.name, "key": key, "item": item});
            fire(&service, &checked, trigger, event, format!("watch {key}")).await;
        }
    }
}

// ---- the API ----

/// A playbook as listed.
#[derive(Serialize, ToSchema)]
pub struct PlaybookSummary {
    name: String,
    description: String,
    file: String,
    /// `manual`, `webhook`, `schedule`, `watch`.
    triggers: Vec<String>,
    /// `resource.action` of each step, in order.
    steps: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PlaybookList {
    playbooks: Vec<PlaybookSummary>,
    /// Files not served, each finding with its place.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    skipped: Vec<SkippedPlaybook>,
}

#[derive(Serialize, ToSchema)]
pub struct SkippedPlaybook {
    file: String,
    line: u64,
    column: u64,
    message: String,
}

/// Whether the caller may see (and, `run`, start) the playbook: it needs
/// every resource the playbook uses, and to run, every kind of action.
fn allowed(grant: &Grant, checked: &Checked, run: bool) -> Result<(), Problem> {
    require(
        grant,
        if run {
            Scope::PlaybooksRun
        } else {
            Scope::PlaybooksRead
        },
    )?;
    for step in &checked.playbook.steps {
        if !grant.sees(&step.resource.name) {
            return Err(Problem::forbidden(format!(
                "token `{}` may not use resource `{}`, which playbook `{}` uses",
                grant.name, step.resource.name, checked.playbook.name
            )));
        }
    }
    if run {
        for kind in &checked.kinds {
            if !grant.may_run(*kind) {
                return Err(Problem::forbidden(format!(
                    "token `{}` may not run {} actions, which playbook `{}` runs",
                    grant.name,
                    super::tokens::kind_name(*kind),
                    checked.playbook.name
                )));
            }
        }
    }
    Ok(())
}

/// The playbooks served (those the token may see), and the files skipped.
#[utoipa::path(get, path = "/v1/playbooks", tag = "playbooks", security(("bearer" = [])),
    responses((status = 200, body = PlaybookList),
        (status = 403, description = "The token lacks playbooks:read", body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(service): State<Arc<Service>>,
    caller: Caller,
) -> Result<Json<PlaybookList>, Problem> {
    summaries(&service, &caller.0).map(Json)
}

/// The playbooks `grant` may see, and (to a token not limited to some
/// resources) the files skipped and why.
pub(crate) fn summaries(service: &Service, grant: &Grant) -> Result<PlaybookList, Problem> {
    require(grant, Scope::PlaybooksRead)?;
    let current = service.playbooks.current();
    let playbooks = current
        .checked
        .values()
        .filter(|c| allowed(grant, c, false).is_ok())
        .map(|c| {
            let p = &c.playbook;
            let mut triggers = Vec::new();
            for (present, name) in [
                (p.manual.is_some(), "manual"),
                (p.webhook.is_some(), "webhook"),
                (p.schedule.is_some(), "schedule"),
                (p.watch.is_some(), "watch"),
            ] {
                if present {
                    triggers.push(name.to_owned());
                }
            }
            PlaybookSummary {
                name: p.name.clone(),
                description: p.description.clone(),
                file: p.file.display().to_string(),
                triggers,
                steps: p
                    .steps
                    .iter()
                    .map(|s| format!("{}.{}", s.resource.name, s.action.name))
                    .collect(),
            }
        })
        .collect();
    let skipped = if grant.resources.is_none() {
        current
            .skipped
            .iter()
            .map(|f| SkippedPlaybook {
                file: f.file.clone(),
                line: f.line,
                column: f.column,
                message: f.message.clone(),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(PlaybookList { playbooks, skipped })
}

/// A JSON body, whatever its content type says (curl's `-d` says a form);
/// an empty one is the default.
fn json_body<T: serde::de::DeserializeOwned + Default>(body: &Bytes) -> Result<T, Problem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| Problem::invalid_input(format!("the body must be a JSON object: {e}")))
}

#[derive(Deserialize, Default, ToSchema)]
pub struct RunRequest {
    /// The inputs, as the playbook's manual trigger's schema says.
    #[serde(default)]
    #[schema(value_type = Object)]
    inputs: Value,
}

pub(crate) fn checked_named(service: &Service, name: &str) -> Result<Arc<Checked>, Problem> {
    service
        .playbooks
        .current()
        .checked
        .get(name)
        .cloned()
        .ok_or_else(|| {
            Problem::not_found(format!(
                "no playbook named `{name}` is served; GET /v1/playbooks lists them"
            ))
        })
}

fn accepted(record: &RunRecord, replayed: bool) -> Response {
    let status = if replayed {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let mut response = (status, Json(record)).into_response();
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/playbook-runs/{}", record.id)) {
        headers.insert(header::LOCATION, location);
    }
    if replayed {
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

/// Start a playbook's manual trigger: `202` with the run, queued, its URL
/// in `Location`. With an `Idempotency-Key` seen before (finished or not),
/// the same run is answered (`200`, `Idempotent-Replayed: true`).
#[utoipa::path(post, path = "/v1/playbooks/{name}/runs", tag = "playbooks", security(("bearer" = [])),
    params(("name" = String, Path, description = "The playbook"),
        ("Idempotency-Key" = Option<String>, Header, description = "Up to 255 visible ASCII characters; scoped to the token")),
    request_body = RunRequest,
    responses(
        (status = 202, description = "Started", body = soar_playbook::RunRecord),
        (status = 200, description = "The run this Idempotency-Key started", body = soar_playbook::RunRecord),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Inputs that do not fit the playbook, or no manual trigger", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn start(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let request: RunRequest = json_body(&body)?;
    let key = idempotency_key(&headers)?;
    let (record, new) = start_run(&service, &caller.0, &name, request.inputs, key).await?;
    Ok(accepted(&record, !new))
}

/// Start `name`'s manual trigger on `grant`'s behalf; the run, and whether
/// it is new (not the one this idempotency key started before).
pub(crate) async fn start_run(
    service: &Arc<Service>,
    grant: &Grant,
    name: &str,
    inputs: Value,
    key: Option<String>,
) -> Result<(RunRecord, bool), Problem> {
    let checked = checked_named(service, name)?;
    allowed(grant, &checked, true)?;
    let inputs = if inputs.is_null() { json!({}) } else { inputs };
    let start = Start {
        trigger: Trigger {
            kind: "manual".into(),
            occurrence: key.map(|k| format!("key:{}:{k}", grant.name)),
        },
        inputs,
        event: None,
        dry_run: false,
    };
    let record = checked.new_run(start).map_err(Problem::invalid_input)?;
    let (record, new) = self::record(service, record).await?;
    if new {
        launch(
            service,
            checked,
            record.clone(),
            format!("token {}", grant.name),
        );
    }
    Ok((record, new))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct RunFilter {
    /// Only this playbook's runs.
    pub playbook: Option<String>,
    /// Only runs in this status: queued, running, succeeded, failed, cancelled.
    pub status: Option<String>,
    /// Only runs older than this run (its id): the next page.
    pub before: Option<String>,
    /// At most this many (1 to 500, default 50).
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct RunPage {
    runs: Vec<soar_playbook::RunRecord>,
}

/// Playbook runs, newest first: the service's and the CLI's.
#[utoipa::path(get, path = "/v1/playbook-runs", tag = "playbooks", security(("bearer" = [])),
    params(RunFilter), responses((status = 200, body = RunPage)))]
pub async fn runs(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Query(filter): Query<RunFilter>,
) -> Result<Json<RunPage>, Problem> {
    let status = filter
        .status
        .as_deref()
        .map(str::parse::<RunStatus>)
        .transpose()
        .map_err(Problem::invalid_input)?;
    let q = RunQuery {
        playbook: filter.playbook,
        status,
        before: filter.before,
        limit: filter.limit.unwrap_or(50),
    };
    Ok(Json(RunPage {
        runs: list_runs(&service, &caller.0, q).await?,
    }))
}

/// The runs `q` asks for that `grant` may see (every resource they use).
pub(crate) async fn list_runs(
    service: &Arc<Service>,
    grant: &Grant,
    q: RunQuery,
) -> Result<Vec<RunRecord>, Problem> {
    require(grant, Scope::PlaybooksRead)?;
    let runs = on_store(service, move |store| store.list(&q)).await?;
    Ok(runs
        .into_iter()
        .filter(|r| r.steps.iter().all(|s| grant.sees(&s.resource)))
        .collect())
}

/// 403 unless the caller's token has `scope`.
fn require(grant: &Grant, scope: Scope) -> Result<(), Problem> {
    if grant.has(scope) {
        Ok(())
    } else if grant.read_only() {
        Err(Problem::forbidden(format!(
            "token `{}` is read-only: it may see runs, not start or stop them",
            grant.name
        )))
    } else {
        Err(Problem::forbidden(format!(
            "token `{}` lacks the scope {}",
            grant.name,
            scope.as_str()
        )))
    }
}

/// The run `id`, when `grant` may see it.
pub(crate) async fn run_of(
    service: &Arc<Service>,
    grant: &Grant,
    id: String,
) -> Result<RunRecord, Problem> {
    require(grant, Scope::PlaybooksRead)?;
    let shown = id.clone();
    let record = on_store(service, move |store| store.get(&id))
        .await?
        .ok_or_else(|| Problem::not_found(format!("no playbook run `{shown}`")))?;
    if let Some(step) = record.steps.iter().find(|s| !grant.sees(&s.resource)) {
        return Err(Problem::forbidden(format!(
            "token `{}` may not use resource `{}`, which this run uses",
            grant.name, step.resource
        )));
    }
    Ok(record)
}

/// One run: each step's status, attempts, params as sent, result or error,
/// the executions of its action calls, times.
#[utoipa::path(get, path = "/v1/playbook-runs/{id}", tag = "playbooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "The run (`pr_…`)")),
    responses((status = 200, body = soar_playbook::RunRecord),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn run(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RunRecord>, Problem> {
    run_of(&service, &caller.0, id).await.map(Json)
}

#[derive(Deserialize, Default, ToSchema)]
pub struct RerunRequest {
    /// The step to run again, with those after it.
    from: String,
}

/// Run a run again from one of its steps: the steps before it keep their
/// recorded results (never sent again); a new run, `rerun_of` the old.
#[utoipa::path(post, path = "/v1/playbook-runs/{id}/rerun", tag = "playbooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "The run (`pr_…`)")),
    request_body = RerunRequest,
    responses((status = 202, body = soar_playbook::RunRecord),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No such step, or the playbook changed", body = Problem, content_type = "application/problem+json")))]
pub async fn rerun(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Problem> {
    let request: RerunRequest = json_body(&body)?;
    let record = rerun_from(&service, &caller.0, id, &request.from).await?;
    Ok(accepted(&record, false))
}

/// Run `id` again from its step `from`, on `grant`'s behalf: the new run.
pub(crate) async fn rerun_from(
    service: &Arc<Service>,
    grant: &Grant,
    id: String,
    from: &str,
) -> Result<RunRecord, Problem> {
    let old = run_of(service, grant, id).await?;
    let checked = checked_named(service, &old.playbook)?;
    allowed(grant, &checked, true)?;
    let record = checked.rerun(&old, from).map_err(Problem::invalid_input)?;
    let (record, _) = self::record(service, record).await?;
    launch(
        service,
        checked,
        record.clone(),
        format!("token {}", grant.name),
    );
    Ok(record)
}

/// Cancel a run in progress in this service: its step in flight is
/// abandoned (a non-idempotent one may have acted: see the step), the
/// rest do not run.
#[utoipa::path(post, path = "/v1/playbook-runs/{id}/cancel", tag = "playbooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "The run (`pr_…`)")),
    responses((status = 202, description = "Cancelling"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not in progress here", body = Problem, content_type = "application/problem+json")))]
pub async fn cancel(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let record = cancel_run(&service, &caller.0, id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"run": record.id, "status": "cancelling"})),
    )
        .into_response())
}

/// Cancel the run `id` in progress here, on `grant`'s behalf.
pub(crate) async fn cancel_run(
    service: &Arc<Service>,
    grant: &Grant,
    id: String,
) -> Result<RunRecord, Problem> {
    let record = run_of(service, grant, id).await?;
    require(grant, Scope::PlaybooksRun)?;
    let token = service
        .playbooks
        .running
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&record.id)
        .cloned();
    match token {
        Some(token) => {
            token.cancel();
            Ok(record)
        }
        None => Err(Problem::new(
            StatusCode::CONFLICT,
            ProblemType::NotRunning,
            format!(
                "run {} is {}, not in progress in this service",
                record.id, record.status
            ),
        )),
    }
}
