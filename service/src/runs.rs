//! Running actions for the service: admission (limits on runs in flight,
//! per resource and in all, a bounded queue beyond them, `429` past it), the
//! run itself through [`Host::invoke_with`] (where a resource's runs also
//! share its upstream's rate-limit pauses), and its record.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use utoipa::ToSchema;

use super::Service;
use super::db::{ExecutionRow, Outcome};
use super::metrics::{ActionLabels, ResourceLabels, RunLabels};
use super::problem::Fault;
use soar_host::{
    Error, ErrorClass, ErrorKind, ErrorReport, ExecutionStatus, InvokeOptions, Prepared, Resource,
};

/// How many runs may run and wait.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Runs running at once, in all.
    pub max_in_flight: usize,
    /// Runs running at once on one resource.
    pub per_resource: usize,
    /// Runs admitted to wait for a slot beyond those (in all, and per
    /// resource); past it a run is refused with 429.
    pub queue: usize,
}

pub struct Gate {
    limits: Limits,
    slots: Arc<Semaphore>,
    admitted: AtomicUsize,
    resources: Mutex<HashMap<String, Arc<ResourceGate>>>,
}

struct ResourceGate {
    slots: Arc<Semaphore>,
    admitted: AtomicUsize,
}

/// An admitted run: counted against the limits until dropped.
pub struct Ticket {
    gate: Arc<Gate>,
    resource: Arc<ResourceGate>,
    /// Its slots on the resource and in all, once it has them.
    turn: Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)>,
}

impl Gate {
    pub fn new(limits: Limits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            slots: Arc::new(Semaphore::new(limits.max_in_flight)),
            admitted: AtomicUsize::new(0),
            resources: Mutex::default(),
        })
    }

    /// Admit a run on `resource`, or say in how many seconds to try again.
    pub fn admit(self: &Arc<Self>, resource: &str) -> Result<Ticket, u64> {
        let gate = {
            let mut resources = self.resources.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(resources.entry(resource.to_owned()).or_insert_with(|| {
                Arc::new(ResourceGate {
                    slots: Arc::new(Semaphore::new(self.limits.per_resource)),
                    admitted: AtomicUsize::new(0),
                })
            }))
        };
        let over = |count: &AtomicUsize, limit: usize| {
            count.fetch_add(1, Ordering::AcqRel) >= limit + self.limits.queue
        };
        let ticket = Ticket {
            gate: Arc::clone(self),
            resource: gate,
            turn: None,
        };
        // Both counted (`|`, not `||`): the ticket's drop gives both back.
        if over(&self.admitted, self.limits.max_in_flight)
            | over(&ticket.resource.admitted, self.limits.per_resource)
        {
            return Err(1);
        }
        Ok(ticket)
    }
}

impl Ticket {
    /// Take both slots now if they are free: the run starts at once, and
    /// its record is written `running` from the first.
    pub fn try_turn(&mut self) -> bool {
        let resource = Arc::clone(&self.resource.slots).try_acquire_owned();
        let global = Arc::clone(&self.gate.slots).try_acquire_owned();
        if let (Ok(resource), Ok(global)) = (resource, global) {
            self.turn = Some((resource, global));
        }
        self.turn.is_some()
    }

    /// Wait for a slot on the resource and in all; false when `until`
    /// comes first.
    async fn wait_turn(&mut self, until: Instant) -> bool {
        let turn = async {
            let resource = Arc::clone(&self.resource.slots)
                .acquire_owned()
                .await
                .ok()?;
            let global = Arc::clone(&self.gate.slots).acquire_owned().await.ok()?;
            Some((resource, global))
        };
        self.turn = tokio::time::timeout_at(tokio::time::Instant::from_std(until), turn)
            .await
            .ok()
            .flatten();
        self.turn.is_some()
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.gate.admitted.fetch_sub(1, Ordering::AcqRel);
        self.resource.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One run to make, its record already written (queued, or running when
/// its ticket had its turn at once).
pub struct Job {
    pub row: ExecutionRow,
    pub resource_name: String,
    pub resource: Arc<Resource>,
    /// The action and its params, checked when the run was asked for.
    pub prepared: Prepared,
}

/// Run `job` to its end and record how it ended.
pub async fn run(
    service: Arc<Service>,
    mut job: Job,
    mut ticket: Ticket,
) -> Result<ExecutionRow, Fault> {
    let metrics = &service.metrics;
    let resource_label = ResourceLabels {
        resource: job.resource_name.clone(),
    };
    if ticket.turn.is_none() {
        metrics.queued.inc();
        let turn = ticket
            .wait_turn(Instant::now() + job.resource.timeout)
            .await;
        metrics.queued.dec();
        if turn {
            service.db.start_execution(&mut job.row).await?;
        }
    }
    if ticket.turn.is_none() {
        let error = ErrorReport::new(
            ErrorKind::Timeout,
            ErrorClass::Failed,
            format!(
                "waited {} s for a free slot on `{}` and gave up; nothing was sent",
                job.resource.timeout.as_secs(),
                job.resource_name
            ),
        );
        let outcome = Outcome {
            error: Some(error),
            http_requests: Some(0),
            ..Outcome::default()
        };
        finish(&service, &mut job, ExecutionStatus::Failed, outcome).await?;
        return Ok(job.row);
    }
    metrics.in_flight.inc();
    let started = Instant::now();
    let options = InvokeOptions {
        output_dir: Some(service.downloads_dir(&job.resource_name)),
        progress: None,
    };
    let result = service
        .host
        .run_prepared(&job.resource, &job.prepared, &options)
        .await;
    metrics.in_flight.dec();
    let elapsed = started.elapsed();
    let action = ActionLabels {
        plugin: job.prepared.plugin().to_owned(),
        action: job.row.action.clone(),
    };
    metrics
        .run_seconds
        .get_or_create(&action)
        .observe(elapsed.as_secs_f64());
    let (status, outcome, sent) = match result {
        Ok(invocation) => {
            let summary = format!(
                "`{}` on `{}` succeeded: {} HTTP request{}, {} ms",
                job.row.action,
                job.resource_name,
                invocation.http_requests,
                if invocation.http_requests == 1 {
                    ""
                } else {
                    "s"
                },
                elapsed.as_millis()
            );
            let files: Vec<String> = invocation
                .files
                .iter()
                .map(|f| f.display().to_string())
                .collect();
            let data = match invocation.data {
                Value::Null => None,
                data => Some(
                    serde_json::value::to_raw_value(&data)
                        .map_err(|e| Fault(format!("a result that is not JSON: {e}")))?,
                ),
            };
            let outcome = Outcome {
                data,
                summary: Some(summary),
                http_requests: Some(u64::from(invocation.http_requests)),
                files,
                ..Outcome::default()
            };
            (
                ExecutionStatus::Succeeded,
                outcome,
                invocation.http_requests,
            )
        }
        Err(e) => {
            let sent = match &e {
                Error::Action { sent: true, .. } => 1,
                _ => 0,
            };
            let outcome = Outcome {
                error: Some(e.report()),
                summary: Some(e.to_string()),
                ..Outcome::default()
            };
            (ExecutionStatus::Failed, outcome, sent)
        }
    };
    metrics
        .upstream_requests
        .get_or_create(&resource_label)
        .inc_by(u64::from(sent));
    metrics
        .runs
        .get_or_create(&RunLabels {
            plugin: job.prepared.plugin().to_owned(),
            action: job.row.action.clone(),
            outcome: outcome
                .error
                .as_ref()
                .map_or(status.as_str(), |e| e.kind.as_str())
                .to_owned(),
        })
        .inc();
    finish(&service, &mut job, status, outcome).await?;
    drop(ticket);
    Ok(job.row)
}

async fn finish(
    service: &Service,
    job: &mut Job,
    status: ExecutionStatus,
    outcome: Outcome,
) -> Result<(), Fault> {
    // The audit trail is the execution itself; the log tells of failures.
    if status == ExecutionStatus::Succeeded {
        tracing::debug!(execution = %job.row.id, resource = %job.resource_name, action = %job.row.action, "run succeeded");
    } else {
        tracing::info!(execution = %job.row.id, resource = %job.resource_name, action = %job.row.action, %status, "run failed");
    }
    service
        .db
        .finish_execution(&mut job.row, status, outcome)
        .await
}

/// An execution as the API answers it: what ran, for whom, how it ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct Execution {
    pub id: String,
    pub resource: String,
    pub action: String,
    pub status: ExecutionStatus,
    /// The API token's name that asked for it (the audit trail).
    pub token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// The params as checked (after conversion to the schema's types).
    #[schema(value_type = Object)]
    pub params: Value,
    /// The action's result, when it succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub data: Option<Box<serde_json::value::RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_requests: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// RFC 3339.
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    pub timings: Timings,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Timings {
    /// Waiting for a slot (limits, a rate-limit pause).
    pub queued_ms: Option<i64>,
    pub run_ms: Option<i64>,
    pub total_ms: Option<i64>,
}

impl From<ExecutionRow> for Execution {
    fn from(row: ExecutionRow) -> Self {
        let Outcome {
            data,
            error,
            summary,
            http_requests,
            files,
        } = row.outcome.unwrap_or_default();
        let span = |from: Option<i64>, to: Option<i64>| Some(to? - from?);
        Self {
            timings: Timings {
                queued_ms: span(Some(row.created_ms), row.started_ms),
                run_ms: span(row.started_ms, row.finished_ms),
                total_ms: span(Some(row.created_ms), row.finished_ms),
            },
            id: row.id,
            resource: row.resource,
            action: row.action,
            status: row.status,
            token: row.token,
            idempotency_key: row.idempotency_key,
            params: row.params,
            data,
            summary,
            error,
            http_requests,
            files,
            created_at: rfc3339(row.created_ms),
            started_at: row.started_ms.map(rfc3339),
            finished_at: row.finished_ms.map(rfc3339),
        }
    }
}

pub fn rfc3339(ms: i64) -> String {
    let time = std::time::UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_millis(time).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_counts_running_and_queued_and_gives_back_on_drop() {
        let gate = Gate::new(Limits {
            max_in_flight: 2,
            per_resource: 1,
            queue: 1,
        });
        // Per resource: 1 running + 1 queued.
        let a1 = gate.admit("a").expect("first");
        let a2 = gate.admit("a").expect("queued");
        assert!(gate.admit("a").is_err(), "resource full");
        // In all: 2 running + 1 queued; `a`'s refusal gave its count back.
        let b1 = gate.admit("b").expect("other resource");
        assert!(gate.admit("c").is_err(), "global full");
        drop(a2);
        let c1 = gate.admit("c").expect("room again");
        drop((a1, b1, c1));
        assert_eq!(gate.admitted.load(Ordering::Acquire), 0);
    }
}
