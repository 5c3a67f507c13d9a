//! `run_action_workflow`: one action, with the retry policy its manifest
//! allows, so that `temporal workflow execute --type run_action_workflow`
//! runs a Zoom action from a shell and a workflow in any language can start
//! it as a child.
//!
//! It asks `describe_action` (a local activity: bad input fails the
//! workflow at once, and the answer is recorded in the history, so a replay
//! schedules the same) whether the action is idempotent and how long it may
//! take, then schedules `run_action`: up to 5 attempts with backoff when
//! running it twice is running it once, exactly 1 otherwise (a worker that
//! dies mid-run may have acted). Within those, the activity's failures say
//! themselves whether they are retryable.

use std::time::Duration;

use serde_json::Value;
use temporalio_common::RetryPolicy;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{ActivityOptions, LocalActivityOptions, WorkflowContext, WorkflowResult};

use super::activity::Actions;

/// Attempts of an idempotent action.
const ATTEMPTS: u32 = 5;

#[workflow]
#[derive(Default)]
pub struct RunActionWorkflow;

#[workflow_methods]
impl RunActionWorkflow {
    /// `{resource, action, params?}` in; `run_action`'s envelope out, or
    /// the workflow fails with the activity's failure as its cause.
    #[run(name = "run_action_workflow")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: Value,
    ) -> WorkflowResult<soar_host::Envelope> {
        let check = LocalActivityOptions::builder()
            .schedule_to_close_timeout(Duration::from_secs(60))
            .retry_policy(RetryPolicy::builder().maximum_attempts(3).build())
            .build();
        let described = ctx
            .execute_local_activity(Actions::describe_action, input.clone(), check)
            .await?;
        if !ctx.is_replaying() {
            tracing::info!(
                workflow_id = %ctx.workflow_id(),
                idempotent = described.idempotent,
                "scheduling run_action"
            );
        }
        let retry = RetryPolicy::builder()
            .initial_interval(Duration::from_secs(1))
            .backoff_coefficient(2.0)
            .maximum_interval(Duration::from_secs(60))
            .maximum_attempts(if described.idempotent { ATTEMPTS } else { 1 })
            .build();
        // The host ends the action at the resource's timeout; the margin
        // covers loading the plugin and reporting back.
        let options = ActivityOptions::with_start_to_close_timeout(Duration::from_secs(
            described.timeout_secs + 30,
        ))
        .heartbeat_timeout(Duration::from_secs(described.heartbeat_timeout_secs))
        .retry_policy(retry)
        .build();
        Ok(ctx
            .execute_activity(Actions::run_action, input, options)
            .await?)
    }
}
