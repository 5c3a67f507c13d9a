//! `soar-host worker` against a real Temporal (the dev server), the Zoom
//! sandbox behind it: workflows started by name from Python, outcomes and
//! what reached the sandbox checked.

use std::time::{Duration, Instant};

use crate::common::Env;
use crate::temporal::{Worker, history, output, queue, resources, workflow};
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
