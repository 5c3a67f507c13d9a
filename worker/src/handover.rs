//! The service's side of `run_playbook` (`serve --temporal`): each run the
//! service records is handed to a `run_playbook` workflow whose id is the
//! run's id, and the service waits for the record it answers. Handing the
//! same run over again (a restarted service) follows the workflow already
//! there: one run, one workflow.

use std::time::Duration;

use serde_json::json;
use soar_playbook::RunRecord;
use temporalio_client::errors::{WorkflowGetResultError, WorkflowStartError};
use temporalio_client::{
    Client, WorkflowGetResultOptions, WorkflowIdConflictPolicy, WorkflowIdReusePolicy,
    WorkflowStartOptions, WorkflowTerminateOptions,
};

use super::Connection;
use super::playbook::RunPlaybookWorkflow;

/// Hand-overs to `run_playbook` on one task queue.
pub struct PlaybookRuns {
    client: Client,
    task_queue: String,
    /// `temporal ADDRESS, namespace N, task queue Q`.
    describe: String,
}

/// How often a hand-over or the wait for its result is tried while
/// Temporal does not answer, and the longest pause between tries.
const TRIES: u32 = 8;
const LONGEST_PAUSE: Duration = Duration::from_secs(30);

fn pause(attempt: u32) -> Duration {
    Duration::from_secs(1u64 << attempt.min(5)).min(LONGEST_PAUSE)
}

impl PlaybookRuns {
    /// Connect (an unreachable Temporal is an error now, not at the first run).
    pub async fn connect(connection: &Connection, task_queue: String) -> Result<Self, String> {
        let client = connection.client().await?;
        Ok(Self {
            describe: format!(
                "Temporal at {}, namespace {}, task queue {task_queue}",
                connection.address, connection.namespace
            ),
            client,
            task_queue,
        })
    }

    pub fn describe(&self) -> &str {
        &self.describe
    }

    /// Start `record` as the workflow `record.id` (or find it started)
    /// and wait for the run record it answers.
    pub async fn run(&self, record: RunRecord) -> Result<RunRecord, String> {
        let id = record.id.clone();
        let input = json!({"playbook": record.playbook, "run": record});
        let options = WorkflowStartOptions::new(self.task_queue.clone(), id.clone())
            .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
            .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
            .build();
        let mut attempt = 0;
        loop {
            match self
                .client
                .start_workflow(RunPlaybookWorkflow::run, input.clone(), options.clone())
                .await
            {
                // Already started, and maybe finished: its result follows.
                Ok(_) | Err(WorkflowStartError::AlreadyStarted { .. }) => break,
                Err(WorkflowStartError::Rpc(status)) if attempt + 1 < TRIES => {
                    tracing::warn!(run = %id, "{} did not take the run ({}); trying again", self.describe, status.message());
                    tokio::time::sleep(pause(attempt)).await;
                    attempt += 1;
                }
                Err(e) => {
                    return Err(format!(
                        "{} did not take the run: {e}; rerun it once Temporal answers",
                        self.describe
                    ));
                }
            }
        }
        let handle = self
            .client
            .get_workflow_handle::<RunPlaybookWorkflow>(id.clone());
        let mut attempt = 0;
        loop {
            match handle.get_result(WorkflowGetResultOptions::default()).await {
                Ok(record) => return Ok(record),
                Err(WorkflowGetResultError::Rpc(status)) if attempt + 1 < TRIES => {
                    tracing::warn!(run = %id, "waiting for workflow {id}: {}; trying again", status.message());
                    tokio::time::sleep(pause(attempt)).await;
                    attempt += 1;
                }
                Err(WorkflowGetResultError::Failed(failure)) => {
                    return Err(format!("workflow {id} failed: {}", chain(failure.as_ref())));
                }
                Err(e) => return Err(format!("workflow {id}: {e}")),
            }
        }
    }

    /// Terminate the workflow `id`: Temporal cancels its activity in flight.
    pub async fn cancel(&self, id: &str, reason: String) -> Result<(), String> {
        self.client
            .get_workflow_handle::<RunPlaybookWorkflow>(id.to_owned())
            .terminate(WorkflowTerminateOptions::builder().reason(reason).build())
            .await
            .map_err(|e| format!("workflow {id}: {e}"))
    }
}

/// An error and its causes, `: `-separated (a refused `start_playbook` is
/// the cause of the workflow's failure).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = c.source();
    }
    text
}
