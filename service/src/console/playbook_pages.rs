//! Playbooks in the console: the served ones with their triggers and last
//! run (and the files skipped, each finding at its line and column), a run
//! started from the manual trigger's inputs form, a run's steps updating
//! live, rerun from a failed step, cancel.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};
use soar_playbook::{RunQuery, RunRecord};

use super::forms;
use super::session::{Posted, Viewer};
use super::view::{self, PageError, page};
use crate::Service;
use crate::playbooks::{
    cancel_run, checked_named, list_runs, rerun_from, run_of, start_run, summaries,
};

type Page = Result<Response, PageError>;

/// The newest `limit` runs of the playbook `name`.
fn newest(name: &str, limit: u32) -> RunQuery {
    RunQuery {
        playbook: Some(name.to_owned()),
        status: None,
        before: None,
        limit,
    }
}

/// The newest run of each playbook: (status, created).
async fn last_runs(
    service: &Arc<Service>,
    viewer: &Viewer,
    names: &[String],
) -> Result<Vec<Value>, PageError> {
    let mut last = Vec::with_capacity(names.len());
    for name in names {
        let runs = list_runs(service, &viewer.grant, newest(name, 1)).await?;
        last.push(runs.first().map_or(
            Value::Null,
            |r| json!({"id": r.id, "status": r.status, "created_at": r.created_at}),
        ));
    }
    Ok(last)
}

pub async fn playbooks(State(service): State<Arc<Service>>, viewer: Viewer) -> Page {
    let list = serde_json::to_value(summaries(&service, &viewer.grant)?).unwrap_or_default();
    let names: Vec<String> = list["playbooks"]
        .as_array()
        .map(|p| {
            p.iter()
                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let last = last_runs(&service, &viewer, &names).await?;
    Ok(page(
        &viewer,
        "playbooks",
        "playbooks.html",
        json!({
            "title": "Playbooks",
            "playbooks": list["playbooks"],
            "last": last,
            "skipped": list.get("skipped").cloned().unwrap_or(json!([])),
        }),
    ))
}

/// A playbook's page: its triggers and steps, the inputs form of its
/// manual trigger, its recent runs.
async fn playbook_page(
    service: &Arc<Service>,
    viewer: &Viewer,
    name: &str,
    posted: Option<&super::session::Fields>,
    errors: &std::collections::HashMap<String, String>,
    error: Option<String>,
) -> Page {
    // Only what the viewer may see.
    let listed = summaries(service, &viewer.grant)?;
    let listed = serde_json::to_value(listed).unwrap_or_default();
    let Some(summary) = listed["playbooks"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == name))
        .cloned()
    else {
        return Err(PageError::not_found(format!(
            "no playbook named `{}` that this token may see",
            soar_host::redact::printable(name)
        )));
    };
    let checked = checked_named(service, name)?;
    let fields = checked
        .playbook
        .manual
        .as_ref()
        .map(|m| forms::fields(&m.inputs, posted.unwrap_or(&Default::default()), errors));
    let runs = list_runs(service, &viewer.grant, newest(name, 20)).await?;
    let may_run = viewer.grant.has(crate::tokens::Scope::PlaybooksRun)
        && checked.kinds.iter().all(|k| viewer.grant.may_run(*k));
    let mut response = page(
        viewer,
        "playbooks",
        "playbook.html",
        json!({
            "title": format!("Playbook {name}"),
            "playbook": summary,
            "manual": checked.playbook.manual.is_some(),
            "fields": fields,
            "form_key": super::session::random_text(16),
            "may_run": may_run,
            "runs": runs.iter().map(run_row).collect::<Vec<_>>(),
            "error": error,
        }),
    );
    if posted.is_some() {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

fn run_row(r: &RunRecord) -> Value {
    json!({
        "id": r.id, "playbook": r.playbook, "status": r.status, "trigger": r.trigger.kind,
        "created_at": r.created_at, "finished_at": r.finished_at,
    })
}

pub async fn playbook(
    State(service): State<Arc<Service>>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Page {
    playbook_page(&service, &viewer, &name, None, &Default::default(), None).await
}

/// Start a run from the inputs form; to its page.
pub async fn start(
    State(service): State<Arc<Service>>,
    Path(name): Path<String>,
    posted: Posted,
) -> Page {
    let checked = checked_named(&service, &name)?;
    let Some(manual) = &checked.playbook.manual else {
        return Err(PageError::bad_request(format!(
            "playbook `{name}` has no manual trigger: it starts on its events or schedule"
        )));
    };
    let blank = forms::fields(&manual.inputs, &Default::default(), &Default::default());
    let inputs = match forms::params(&blank, &posted.form) {
        Ok(inputs) => inputs,
        Err(errors) => {
            return playbook_page(
                &service,
                &posted.viewer,
                &name,
                Some(&posted.form),
                &errors,
                None,
            )
            .await;
        }
    };
    let key = posted
        .form
        .get("form_key")
        .filter(|k| !k.is_empty())
        .map(|k| format!("console:{k}"));
    match start_run(&service, &posted.viewer.grant, &name, inputs, key).await {
        Ok((record, _)) => {
            Ok(Redirect::to(&format!("/playbook-runs/{}", record.id)).into_response())
        }
        Err(problem) => {
            playbook_page(
                &service,
                &posted.viewer,
                &name,
                Some(&posted.form),
                &Default::default(),
                Some(problem.detail),
            )
            .await
        }
    }
}

/// A run as the page shows it: each step with its params, result or
/// error (and what to do), executions; whether it may be rerun from it.
fn run_view(record: &RunRecord) -> Value {
    let finished = record.finished_at.is_some();
    let steps: Vec<Value> = record
        .steps
        .iter()
        .map(|step| {
            let call = &step.call;
            let tree = |v: &Option<Value>| v.as_ref().and_then(view::tree);
            json!({
                "id": step.id,
                "resource": step.resource,
                "action": step.action,
                "status": step.status,
                "attempts": call.attempts,
                "params_tree": tree(&call.params),
                "result_tree": tree(&call.result),
                "error": call.error,
                "advice": call.error.as_ref().map(|e| view::advice(e.kind.as_str())),
                "execution_ids": call.execution_ids,
                "items": step.items.len(),
                "started_at": step.started_at,
                "finished_at": step.finished_at,
                "reused": step.reused,
                "rerun": finished && step.status == soar_host::StepStatus::Failed,
            })
        })
        .collect();
    json!({
        "id": record.id,
        "playbook": record.playbook,
        "status": record.status,
        "trigger": record.trigger.kind,
        "created_at": record.created_at,
        "finished_at": record.finished_at,
        "rerun_of": record.rerun_of,
        "workflow_id": record.workflow_id,
        "error": record.error,
        "finished": finished,
        "inputs_tree": view::tree(&record.inputs),
        "steps": steps,
    })
}

/// What the run's page and its live steps show: the run `id`, if the
/// viewer may see it, and whether they may rerun or cancel it.
async fn run_context(
    service: &Arc<Service>,
    viewer: &Viewer,
    id: String,
) -> Result<Value, PageError> {
    let record = run_of(service, &viewer.grant, id).await?;
    Ok(json!({
        "title": format!("Run {}", record.id),
        "run": run_view(&record),
        "may_run": viewer.grant.has(crate::tokens::Scope::PlaybooksRun),
    }))
}

pub async fn run(
    State(service): State<Arc<Service>>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Page {
    let ctx = run_context(&service, &viewer, id).await?;
    Ok(page(&viewer, "playbooks", "run.html", ctx))
}

/// The run's steps alone: what the page fetches when told runs changed.
pub async fn run_steps(
    State(service): State<Arc<Service>>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Page {
    let mut ctx = run_context(&service, &viewer, id).await?;
    ctx["csrf"] = viewer.csrf.clone().into();
    Ok(view::render("run_steps.html", ctx))
}

pub async fn rerun(
    State(service): State<Arc<Service>>,
    Path(id): Path<String>,
    posted: Posted,
) -> Page {
    let from = posted.form.get("from").unwrap_or_default().to_owned();
    let record = rerun_from(&service, &posted.viewer.grant, id, &from).await?;
    Ok(Redirect::to(&format!("/playbook-runs/{}", record.id)).into_response())
}

pub async fn cancel(
    State(service): State<Arc<Service>>,
    Path(id): Path<String>,
    posted: Posted,
) -> Page {
    let record = cancel_run(&service, &posted.viewer.grant, id).await?;
    Ok(Redirect::to(&format!("/playbook-runs/{}", record.id)).into_response())
}
