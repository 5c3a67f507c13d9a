//! `soar-host worker` against a real Temporal (the dev server), the Zoom
//! sandbox behind it: workflows started by name from Python, outcomes and
//! what reached the sandbox checked.

use std::time::{Duration, Instant};

use crate::common::Env;
use crate::temporal::{Worker, history, output, python, queue, resources, workflow};
use serde_json::{Value, json};
use zoom_sandbox::{Fault, MEMBER_WITH_MEETINGS, Match, OWNER_EMAIL};

fn get_user(user: &str) -> Value {
    json!({"resource": "zoom", "action": "get_user", "params": {"user_id": user}})
}

fn failure(outcome: &Value) -> &Value {
    assert_eq!(outcome["ok"], false, "expected a failure: {outcome:#}");
    &outcome["failure"]
}

fn requests_to(env: &Env, method: &str, prefix: &str) -> usize {
    env.api_requests()
        .iter()
        .filter(|r| r.method == method && r.path.starts_with(prefix))
        .count()
}

#[test]
fn two_workers_run_get_user_and_refuse_what_a_retry_cannot_mend() {
    let env = Env::new();
    let resources = resources(&env, 20, "");
    let queue = queue("basics");
    let a = Worker::start(&env, &resources, &queue, &["--metrics", "127.0.0.1:0"]);
    let b = Worker::start(&env, &resources, &queue, &["--log-format", "json"]);

    let outcome = workflow(&queue, get_user("me"));
    assert_eq!(outcome["ok"], true, "{outcome:#}");
    let succeeded = outcome["workflow_id"].as_str().unwrap().to_owned();
    let envelope = &outcome["result"];
    assert_eq!(envelope["status"], "success");
    assert_eq!(envelope["data"]["email"], OWNER_EMAIL);
    // The token request and the call: what reached the sandbox.
    assert_eq!(envelope["http_requests"], env.sandbox.requests().len());

    // Zoom's "user does not exist": one call, not retried, Zoom's code kept.
    let before = env.api_requests().len();
    let outcome = workflow(&queue, get_user("nobody@example.com"));
    let not_found = outcome["workflow_id"].as_str().unwrap().to_owned();
    let f = failure(&outcome);
    assert_eq!(f["type"], "not-found", "{f:#}");
    assert_eq!(f["non_retryable"], true);
    assert_eq!(f["details"]["upstream_code"], 1001, "{f:#}");
    assert_eq!(f["details"]["http_status"], 404);
    assert_eq!(env.api_requests().len(), before + 1, "one call only");

    // Bad input never reaches Zoom: refused by describe_action at once.
    let outcome = workflow(
        &queue,
        json!({"resource": "zoom", "action": "get_user", "params": {"user_id": 42, "extra": 1}}),
    );
    assert_eq!(failure(&outcome)["type"], "invalid-input", "{outcome:#}");
    let outcome = workflow(&queue, json!({"resource": "nope", "action": "get_user"}));
    let f = failure(&outcome);
    assert_eq!(f["type"], "resource");
    assert!(
        f["message"].as_str().unwrap().contains("it serves: zoom"),
        "{f:#}"
    );
    assert_eq!(env.api_requests().len(), before + 1, "nothing more sent");

    // Logs name the workflow and the activity, as text or JSON.
    let (text, json) = (a.log(), b.log());
    assert!(
        text.contains(&format!("temporalWorkflowID=\"{succeeded}\""))
            || json.contains(&format!("\"temporalWorkflowID\":\"{succeeded}\"")),
        "{text}\n{json}"
    );
    for line in json.lines() {
        let line: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if line["fields"]["message"] == "running" {
            assert!(line["spans"][0]["temporalActivityID"].is_string(), "{line}");
            assert_eq!(line["span"]["attempt"], 1, "{line}");
        }
    }
    // Temporal's worker metrics, for Prometheus.
    let metrics = crate::temporal::metrics(&a);
    assert!(
        metrics.contains("temporal_activity_execution_latency"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!("task_queue=\"{queue}\"")),
        "{metrics}"
    );

    // Nothing secret in what Temporal keeps: inputs, results, failures.
    for id in [&succeeded, &not_found] {
        let shown = history(id);
        assert!(shown.contains("get_user"), "the history is read: {shown}");
        assert!(!shown.contains(&env.secret()), "{shown}");
        assert!(!shown.to_lowercase().contains("bearer"), "{shown}");
    }
}

#[test]
fn a_rate_limited_call_is_retried_after_zooms_retry_after() {
    let env = Env::new();
    // The host waits out a Retry-After that fits the action's deadline
    // itself; a longer one comes back to Temporal, which waits it out.
    let resources = resources(&env, 3, "");
    let queue = queue("ratelimit");
    let _a = Worker::start(&env, &resources, &queue, &[]);
    let _b = Worker::start(&env, &resources, &queue, &[]);
    env.sandbox.inject(
        Fault::RateLimited {
            retry_after: Some("5".into()),
            rate_limit_type: None,
        },
        Match::path("/v2/users/me"),
        1,
    );
    let started = Instant::now();
    let outcome = workflow(&queue, get_user("me"));
    assert_eq!(outcome["ok"], true, "{outcome:#}");
    let statuses: Vec<u16> = env.api_requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 200]);
    // Temporal's own first retry would come after 1 s.
    assert!(
        started.elapsed() >= Duration::from_secs(5),
        "retried before Zoom's Retry-After"
    );
}

#[test]
fn a_delete_that_times_out_ambiguously_is_not_run_twice() {
    let env = Env::new();
    let resources = resources(&env, 2, "");
    let queue = queue("ambiguous");
    let _a = Worker::start(&env, &resources, &queue, &[]);
    let _b = Worker::start(&env, &resources, &queue, &[]);
    let id = env.sandbox.meeting_ids("me")[0];
    // Zoom receives the delete and answers after the action's deadline.
    env.sandbox.inject(
        Fault::Delay(Duration::from_secs(4)),
        Match::method_path("DELETE", "/v2/meetings/"),
        1,
    );
    let outcome = workflow(
        &queue,
        json!({"resource": "zoom", "action": "delete_meeting", "params": {"meeting_id": id}}),
    );
    let f = failure(&outcome);
    assert_eq!(f["type"], "timeout", "{f:#}");
    assert_eq!(f["non_retryable"], true);
    assert_eq!(f["details"]["ambiguous"], true);
    assert!(
        f["message"].as_str().unwrap().contains("not retried"),
        "{f:#}"
    );
    // Longer than any retry would take to come.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(requests_to(&env, "DELETE", "/v2/meetings/"), 1);
}

#[test]
fn a_python_workflow_calls_run_action_by_name() {
    let env = Env::new();
    let resources = resources(&env, 20, "");
    let queue = queue("python");
    let _worker = Worker::start(&env, &resources, &queue, &[]);
    let user = env.sandbox.user_emails()[MEMBER_WITH_MEETINGS].clone();
    let outcome = crate::temporal::python(
        "containment",
        &queue,
        &json!({"resource": "zoom", "user_id": user}),
    );
    assert_eq!(outcome["ok"], true, "{outcome:#}");
    let result = &outcome["result"];
    assert!(result["meetings"]["meetings"].is_array(), "{result:#}");
    let sent: Vec<(String, String)> = env
        .api_requests()
        .into_iter()
        .map(|r| (r.method, r.path))
        .collect();
    let me = format!("/v2/users/{user}");
    assert_eq!(
        sent,
        [
            ("DELETE".to_owned(), format!("{me}/token")),
            ("PUT".to_owned(), format!("{me}/status")),
            ("GET".to_owned(), format!("{me}/meetings")),
        ]
    );
}

#[test]
fn a_killed_worker_s_activity_completes_on_the_other() {
    let env = Env::new();
    let resources = resources(&env, 20, "");
    let queue = queue("killed");
    let mut a = Worker::start(&env, &resources, &queue, &[]);
    let mut b = Worker::start(&env, &resources, &queue, &[]);
    env.sandbox.inject(
        Fault::Delay(Duration::from_secs(10)),
        Match::path("/v2/users/me"),
        1,
    );
    let caller = {
        let queue = queue.clone();
        std::thread::spawn(move || workflow(&queue, get_user("me")))
    };
    // Once the call has reached Zoom, kill whichever worker made it.
    let started = Instant::now();
    while requests_to(&env, "GET", "/v2/users/me") == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no worker ran it"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (victim, survivor) = match a.log().contains("running") {
        true => (&mut a, &mut b),
        false => (&mut b, &mut a),
    };
    victim.signal("KILL");
    let outcome = caller.join().unwrap();
    assert_eq!(outcome["ok"], true, "{outcome:#}");
    assert_eq!(outcome["result"]["data"]["email"], OWNER_EMAIL);
    assert!(
        survivor.log().contains("attempt=2"),
        "the survivor ran the second attempt:\n{}",
        survivor.log()
    );
    assert_eq!(requests_to(&env, "GET", "/v2/users/me"), 2);
}

#[test]
fn sigterm_lets_the_running_activity_finish_then_exits_0() {
    let env = Env::new();
    let resources = resources(&env, 20, "");
    let queue = queue("drain");
    let mut worker = Worker::start(&env, &resources, &queue, &["--grace-secs", "30"]);
    env.sandbox.inject(
        Fault::Delay(Duration::from_secs(3)),
        Match::path("/v2/users/me"),
        1,
    );
    let caller = {
        let queue = queue.clone();
        std::thread::spawn(move || workflow(&queue, get_user("me")))
    };
    assert!(
        worker.wait_for("running", Duration::from_secs(60)),
        "{}",
        worker.log()
    );
    worker.signal("TERM");
    assert_eq!(
        worker.exit_code(Duration::from_secs(30)),
        Some(0),
        "{}",
        worker.log()
    );
    assert!(worker.log().contains("stopping"), "{}", worker.log());
    // The activity's result is in; the workflow's last step needs a worker.
    let _next = Worker::start(&env, &resources, &queue, &[]);
    let outcome = caller.join().unwrap();
    assert_eq!(outcome["ok"], true, "{outcome:#}");
    assert_eq!(
        requests_to(&env, "GET", "/v2/users/me"),
        1,
        "finished, not retried"
    );
}

#[test]
fn a_cancelled_download_stops_and_leaves_no_partial_file() {
    let env = Env::new();
    let storage = format!("storage_url = \"{}\"\n", env.sandbox.storage_url());
    let resources = resources(&env, 120, &storage);
    let queue = queue("cancel");
    let worker = Worker::start(&env, &resources, &queue, &[]);
    let meeting = env.sandbox.meeting_ids("me")[0];
    let file = env.sandbox.add_recording(meeting, 1 << 20);
    // The storage host keeps the download waiting.
    env.sandbox.inject(
        Fault::Delay(Duration::from_secs(120)),
        Match::path("/files/"),
        1,
    );
    let id = format!("cancel-{}", std::process::id());
    let input = json!({"resource": "zoom", "action": "download_recording",
                       "params": {"meeting_id": meeting, "file_id": file.id}});
    crate::temporal::cli(&[
        "workflow",
        "start",
        "--type",
        "run_action_workflow",
        "--task-queue",
        &queue,
        "--workflow-id",
        &id,
        "--input",
        &input.to_string(),
    ]);
    let out = output(&env);
    let entries = || -> Vec<String> {
        std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    let started = Instant::now();
    while !entries().iter().any(|n| n.ends_with(".part")) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no download began: {}",
            worker.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    crate::temporal::cli(&["workflow", "cancel", "-w", &id]);
    assert!(
        worker.wait_for("cancelled", Duration::from_secs(30)),
        "{}",
        worker.log()
    );
    let started = Instant::now();
    while !entries().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "left behind: {:?}",
            entries()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let described = crate::temporal::cli(&["workflow", "describe", "-w", &id, "--output", "json"]);
    assert!(described.contains("CANCELED"), "{described}");
}

#[test]
fn a_worker_that_cannot_start_says_why() {
    let env = Env::new();
    let run = crate::common::run_cli(&["worker", "--resources", "/nonexistent"], &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("--resources /nonexistent is not a directory"),
        "{run:?}"
    );

    let broken = env.dir.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    std::fs::write(broken.join("zoom.toml"), "plugin = ").unwrap();
    let run = crate::common::run_cli(&["worker", "--resources", broken.to_str().unwrap()], &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("no resource to serve"), "{run:?}");
    assert!(
        run.stderr.contains("zoom.toml"),
        "the broken file is named: {run:?}"
    );

    // Nothing listens there: a clear error, not a hang.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let resources = resources(&env, 20, "");
    let address = format!("127.0.0.1:{port}");
    let run = env.cli(&[
        "worker",
        "--resources",
        resources.to_str().unwrap(),
        "--address",
        &address,
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("cannot reach Temporal at {address}")),
        "{run:?}"
    );
}

/// A playbooks directory holding `retitle` (`get_user`, then
/// `update_user` with a job title made from its result) and `cancel`
/// (`delete_meeting`, not idempotent, then `get_user`).
fn playbooks(env: &Env) -> std::path::PathBuf {
    let dir = env.dir.path().join("playbooks");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("retitle.yaml"),
        r#"
name: retitle
on: { manual: { inputs: { user_id: { type: string } } } }
steps:
  - id: get
    resource: zoom
    action: get_user
    with: { user_id: "${{ inputs.user_id }}" }
  - id: retitle
    resource: zoom
    action: update_user
    with:
      user_id: ${{ inputs.user_id }}
      job_title: "Checked: ${{ steps.get.result.email }}"
"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("cancel.yaml"),
        r#"
name: cancel
on: { manual: { inputs: { meeting_id: { type: integer } } } }
steps:
  - id: cancel
    resource: zoom
    action: delete_meeting
    with: { meeting_id: "${{ inputs.meeting_id }}" }
  - id: after
    resource: zoom
    action: get_user
    with: { user_id: me }
"#,
    )
    .unwrap();
    dir
}

/// Start `run_playbook` with `input` from Python on another thread; once `action`'s
/// request (`method path`) reached the sandbox, kill the worker that sent
/// it. The workflow's outcome and the survivor.
fn kill_mid_step(
    env: &Env,
    input: Value,
    action: &str,
    method: &'static str,
    path: &'static str,
) -> (Value, Worker) {
    let resources = resources(env, 20, "");
    let playbooks = playbooks(env);
    let queue = queue(&format!("playbook-{}", method.to_lowercase()));
    let extra = ["--playbooks", playbooks.to_str().unwrap()];
    let a = Worker::start(env, &resources, &queue, &extra);
    let b = Worker::start(env, &resources, &queue, &extra);
    env.sandbox.inject(
        Fault::Delay(Duration::from_secs(15)),
        Match::method_path(method, path),
        1,
    );
    let caller = {
        let queue = queue.clone();
        std::thread::spawn(move || python("playbook", &queue, &input))
    };
    let started = Instant::now();
    while requests_to(env, method, path) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no worker sent {method} {path}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let running = format!("action={action}");
    let (victim, survivor) = if a.log().contains(&running) {
        (a, b)
    } else {
        (b, a)
    };
    victim.signal("KILL");
    drop(victim);
    (caller.join().unwrap(), survivor)
}

#[test]
fn run_playbook_goes_on_after_a_killed_worker_and_resends_only_the_idempotent_step() {
    let env = Env::new();
    let input = json!({"playbook": "retitle", "inputs": {"user_id": "me"}});
    let (outcome, survivor) = kill_mid_step(&env, input, "get_user", "GET", "/v2/users/me");
    assert_eq!(outcome["ok"], true, "{outcome:#}\n{}", survivor.log());
    let record = &outcome["result"];
    assert_eq!(record["status"], "succeeded", "{record:#}");
    assert_eq!(record["playbook"], "retitle");
    assert_eq!(record["trigger"]["kind"], "manual");
    let get = &record["steps"][0];
    assert_eq!(get["status"], "succeeded", "{record:#}");
    assert_eq!(
        get["attempts"], 2,
        "sent again after the worker died: {record:#}"
    );
    assert_eq!(get["result"]["email"], OWNER_EMAIL);
    assert_eq!(record["steps"][1]["status"], "succeeded", "{record:#}");
    // What reached Zoom, in order: the get twice, then the update with the
    // title made from the get's result.
    let calls: Vec<String> = env
        .api_requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        calls,
        ["GET /v2/users/me", "GET /v2/users/me", "PATCH /v2/users/me"]
    );
    let patch = env.api_requests().pop().unwrap().json.unwrap();
    assert_eq!(
        patch,
        json!({"job_title": format!("Checked: {OWNER_EMAIL}")})
    );
    // The history holds the run, never the resource's secret.
    let shown = history(outcome["workflow_id"].as_str().unwrap());
    assert!(shown.contains("Checked: "), "the history holds the params");
    assert!(!shown.contains(&env.secret()), "a secret in the history");
}

#[test]
fn run_playbook_never_sends_a_non_idempotent_step_twice() {
    let env = Env::new();
    let id = env.sandbox.meeting_ids("me")[0];
    let input = json!({"playbook": "cancel", "inputs": {"meeting_id": id}});
    let (outcome, survivor) =
        kill_mid_step(&env, input, "delete_meeting", "DELETE", "/v2/meetings/");
    assert_eq!(outcome["ok"], true, "{outcome:#}\n{}", survivor.log());
    let record = &outcome["result"];
    assert_eq!(record["status"], "failed", "{record:#}");
    let cancel = &record["steps"][0];
    assert_eq!(cancel["status"], "unknown", "{record:#}");
    assert_eq!(cancel["attempts"], 1);
    assert_eq!(cancel["error"]["ambiguous"], true);
    assert_eq!(
        record["steps"][1]["status"], "skipped",
        "the run stops there"
    );
    let why = record["error"]["message"].as_str().unwrap();
    assert!(
        why.contains("`cancel`") && why.contains("not sent again"),
        "{why}"
    );
    // Longer than a retry would take to come.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(requests_to(&env, "DELETE", "/v2/meetings/"), 1);
    assert_eq!(requests_to(&env, "GET", "/v2/users/me"), 0);
}

#[test]
fn run_playbook_refuses_an_unknown_playbook_and_bad_inputs_before_any_call() {
    let env = Env::new();
    let resources = resources(&env, 20, "");
    let playbooks = playbooks(&env);
    let queue = queue("playbook-refused");
    let _w = Worker::start(
        &env,
        &resources,
        &queue,
        &["--playbooks", playbooks.to_str().unwrap()],
    );
    let unknown = python("playbook", &queue, &json!({"playbook": "nope"}));
    let f = failure(&unknown);
    assert_eq!(f["type"], "invalid-input", "{f:#}");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("it serves: cancel, retitle"),
        "{f:#}"
    );
    let bad = python(
        "playbook",
        &queue,
        &json!({"playbook": "retitle", "inputs": {"user_id": 7}}),
    );
    let f = failure(&bad);
    assert_eq!(f["type"], "invalid-input", "{f:#}");
    assert!(f["message"].as_str().unwrap().contains("user_id"), "{f:#}");
    assert!(env.api_requests().is_empty());
}

/// Started by `user.signed_in`: looks the user up, then writes where they
/// signed in from into their job title.
const ON_SIGN_IN: &str = r#"
name: on-sign-in
on:
  webhook: { resource: zoom, event: user.signed_in }
steps:
  - id: get
    resource: zoom
    action: get_user
    with: { user_id: "${{ event.payload.object.id }}" }
  - id: note
    resource: zoom
    action: update_user
    with:
      user_id: ${{ steps.get.result.id }}
      job_title: "Signed in from ${{ event.payload.object.client_type }}"
"#;

/// `serve --temporal`: the service records each run and hands it to a
/// worker as `run_playbook` (the workflow's id the run's); killed -9 while
/// the workflow runs, the next service follows the same workflow and
/// records its end; nothing is sent twice. A cancel terminates the workflow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_hands_its_runs_to_temporal_and_follows_them_after_a_kill() {
    let t = crate::temporal::temporal();
    let queue = queue("service-handover");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("on-sign-in.yaml"), ON_SIGN_IN).unwrap();
    let playbooks = dir.path().to_str().unwrap();
    let args = [
        "--playbooks",
        playbooks,
        "--temporal",
        &t.address,
        "--temporal-task-queue",
        &queue,
    ];
    let mut s = crate::service::Served::start(&args);
    let _worker = Worker::start(&s.env, &s.resources, &queue, &["--playbooks", playbooks]);
    let token = s.token("ops", &[]);
    let email = s.env.sandbox.user_emails()[MEMBER_WITH_MEETINGS].clone();
    let user = format!("/v2/users/{email}");
    s.env.sandbox.inject(
        Fault::Delay(Duration::from_secs(3)),
        Match::method_path("GET", &user),
        1,
    );
    let event = json!({
        "event": "user.signed_in",
        "event_ts": crate::common::signing::now_secs() * 1000,
        "payload": {"account_id": "acc", "object": {"id": email, "client_type": "android"}}
    });
    let delivered = crate::service::webhooks::deliver(&s, "user.signed_in", Some(&event)).await;
    assert_eq!(delivered.status, 200, "{delivered:?}");

    // The run, recorded and handed over; kill -9 the service while the
    // workflow's first call is in flight.
    let until = Instant::now() + Duration::from_secs(30);
    let id = loop {
        let page = s.get("/v1/playbook-runs?playbook=on-sign-in", &token).await;
        if let Some(run) = page.body["runs"].get(0)
            && run["workflow_id"].is_string()
            && !s.env.sandbox.api_requests().is_empty()
        {
            assert_eq!(run["workflow_id"], run["id"], "{run:#}");
            assert_eq!(run["status"], "running", "{run:#}");
            break run["id"].as_str().unwrap().to_owned();
        }
        assert!(
            Instant::now() < until,
            "no run handed over: {page:?}\n{}",
            s.log_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut child = s.child.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    s.spawn(&args);

    let until = Instant::now() + Duration::from_secs(60);
    let run = loop {
        let run = s.get(&format!("/v1/playbook-runs/{id}"), &token).await;
        if run.body["status"] != "running" {
            break run.body;
        }
        assert!(Instant::now() < until, "{run:?}\n{}", s.log_text());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(run["status"], "succeeded", "{run:#}\n{}", s.log_text());
    assert_eq!(run["trigger"]["kind"], "webhook");
    assert_eq!(run["steps"][0]["result"]["email"], email.as_str());
    let id_path = format!(
        "/v2/users/{}",
        run["steps"][0]["result"]["id"].as_str().unwrap()
    );
    assert_eq!(run["steps"][1]["status"], "succeeded", "{run:#}");
    let calls: Vec<String> = s
        .env
        .sandbox
        .api_requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(calls, [format!("GET {user}"), format!("PATCH {id_path}")]);
    let patch = s.env.sandbox.api_requests().pop().unwrap().json.unwrap();
    assert_eq!(patch, json!({"job_title": "Signed in from android"}));
    // Temporal kept the run (the event in it), never the resource's secret.
    let shown = history(&id);
    assert!(shown.contains("Signed in from android"), "{shown}");
    assert!(!shown.contains(&s.env.secret()), "a secret in the history");

    // Cancel: the workflow is terminated, its hanging call abandoned, the
    // next step never runs.
    s.env
        .sandbox
        .inject(Fault::Hang, Match::method_path("GET", &user), 1);
    let mut again = event.clone();
    again["event_ts"] = json!(event["event_ts"].as_u64().unwrap() + 1);
    let delivered = crate::service::webhooks::deliver(&s, "user.signed_in", Some(&again)).await;
    assert_eq!(delivered.status, 200, "{delivered:?}");
    let until = Instant::now() + Duration::from_secs(30);
    while s.env.sandbox.api_requests().len() < 3 {
        assert!(Instant::now() < until, "the second run never called");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let page = s.get("/v1/playbook-runs?playbook=on-sign-in", &token).await;
    let id = page.body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["status"] == "running")
        .expect("the second run")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cancel = s
        .post(&format!("/v1/playbook-runs/{id}/cancel"), &token, json!({}))
        .await;
    assert_eq!(cancel.status, 202, "{cancel:?}");
    let until = Instant::now() + Duration::from_secs(30);
    let run = loop {
        let run = s.get(&format!("/v1/playbook-runs/{id}"), &token).await;
        if run.body["status"] != "running" {
            break run.body;
        }
        assert!(Instant::now() < until, "{run:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(run["status"], "cancelled", "{run:#}");
    assert_eq!(run["steps"][1]["status"], "cancelled", "{run:#}");
    let shown = history(&id);
    assert!(
        shown.contains("WorkflowExecutionTerminated")
            || shown.contains("EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED"),
        "{shown}"
    );
    assert_eq!(
        s.env.sandbox.api_requests().len(),
        3,
        "nothing after the cancel"
    );
}

/// A resource with `auth = "user"` signed in on the worker's state
/// directory: `run_action_workflow` acts as that user; a sign-in Zoom no
/// longer honours is `reauth-required`, not retried; Temporal's history
/// holds no token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_acts_with_a_user_s_sign_in() {
    let env = Env::new();
    let dir = env.dir.path().join("user-resources");
    std::fs::create_dir_all(&dir).unwrap();
    let resource = crate::user_auth::write_user_resource(&env, &dir, "zoom.toml");
    // The worker's state directory (see `Worker::start`).
    crate::user_auth::sign_in_with_library(&resource, &env.dir.path().join("state")).await;
    let queue = queue("user-oauth");
    let _worker = Worker::start(&env, &dir, &queue, &[]);
    let outcome = tokio::task::spawn_blocking({
        let queue = queue.clone();
        move || workflow(&queue, get_user("me"))
    })
    .await
    .unwrap();
    assert_eq!(outcome["ok"], true, "{outcome:#}");
    assert_eq!(outcome["result"]["data"]["email"], OWNER_EMAIL);
    let issued = env.sandbox.user_tokens_issued();
    let call = env.api_requests().pop().unwrap();
    assert_eq!(
        call.header("authorization"),
        Some(format!("Bearer {}", issued[0]).as_str())
    );
    let shown = history(outcome["workflow_id"].as_str().unwrap());
    for token in &issued {
        assert!(!shown.contains(token.as_str()), "a token in the history");
    }

    // The person removes the app: refused before Zoom's API, not retried.
    crate::user_auth::revoke_at_provider(&issued[1], &env).await;
    let before = env.api_requests().len();
    let outcome = tokio::task::spawn_blocking(move || workflow(&queue, get_user("me")))
        .await
        .unwrap();
    let f = failure(&outcome);
    // The revoked grant's access token is refused (401), its refresh too.
    assert_eq!(f["type"], "reauth-required", "{f:#}");
    assert_eq!(f["non_retryable"], true, "{f:#}");
    assert!(
        f["message"].as_str().unwrap().contains("auth login"),
        "{f:#}"
    );
    assert!(env.api_requests().len() <= before + 1, "no retry loop");
}
