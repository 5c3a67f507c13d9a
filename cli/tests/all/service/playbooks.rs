//! Playbooks in the service: started by a signed webhook event (once per
//! event, however often Zoom delivers it) and over the API (idempotency
//! keys, reruns, cancel), each step an execution of the service, progress
//! on the event stream, runs a killed service left unfinished finished by
//! the next one.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use zoom_sandbox::{Fault, MEMBER_WITH_MEETINGS, Match};

use super::Served;
use super::webhooks::deliver;

/// A playbooks directory: the shipped playbooks and `extra` (name, text).
fn playbooks(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../playbooks");
    for entry in std::fs::read_dir(shipped).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    for (name, text) in extra {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn serve(dir: &Path) -> Served {
    Served::start(&["--playbooks", dir.to_str().unwrap()])
}

/// Poll the runs of `playbook` until `n` of them have finished.
async fn finished_runs(s: &Served, token: &str, playbook: &str, n: usize) -> Vec<Value> {
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let page = s
            .get(&format!("/v1/playbook-runs?playbook={playbook}"), token)
            .await;
        assert_eq!(page.status, 200, "{page:?}");
        let runs = page.body["runs"].as_array().unwrap().clone();
        let done = runs
            .iter()
            .filter(|r| {
                ["succeeded", "failed", "cancelled"].contains(&r["status"].as_str().unwrap())
            })
            .count();
        if done >= n {
            return runs;
        }
        assert!(Instant::now() < until, "runs never finished: {runs:#?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn run_until_done(s: &Served, token: &str, id: &str) -> Value {
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let run = s.get(&format!("/v1/playbook-runs/{id}"), token).await;
        assert_eq!(run.status, 200, "{run:?}");
        if ["succeeded", "failed", "cancelled"].contains(&run.body["status"].as_str().unwrap()) {
            return run.body;
        }
        assert!(Instant::now() < until, "run never finished: {run:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn signed_in(user_id: &str, login_type: &str) -> Value {
    json!({
        "event": "user.signed_in",
        "event_ts": 1626230691572u64,
        "payload": {"account_id": "acc", "object": {
            "id": user_id, "client_type": "android", "date_time": "2021-07-26T20:13:57Z",
            "email": "x@example.com", "version": "5.7.4.1585", "login_type": login_type}}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_event_starts_its_playbook_once() {
    let dir = playbooks(&[]);
    let s = serve(dir.path());
    let token = s.token("ops", &[]);
    let sandbox = &s.env.sandbox;
    let email = sandbox.user_emails()[MEMBER_WITH_MEETINGS].clone();
    let user_id = sandbox.user(&email).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let listed = s.get("/v1/playbooks", &token).await;
    assert_eq!(listed.status, 200, "{listed:?}");
    let names: Vec<&str> = listed.body["playbooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "contain-compromised-account",
            "leaked-recording",
            "zoom-bombing"
        ]
    );

    // A sign-in through SSO is expected: its `if` starts nothing.
    let sso = deliver(&s, "user.signed_in", Some(&signed_in(&user_id, "101"))).await;
    assert_eq!(sso.status, 200, "{sso:?}");
    // Zoom delivers the same event twice: one run.
    let event = signed_in(&user_id, "100");
    for _ in 0..2 {
        let answer = deliver(&s, "user.signed_in", Some(&event)).await;
        assert_eq!(answer.status, 200, "{answer:?}");
    }
    let runs = finished_runs(&s, &token, "contain-compromised-account", 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let runs_now = s
        .get(
            "/v1/playbook-runs?playbook=contain-compromised-account",
            &token,
        )
        .await;
    assert_eq!(
        runs_now.body["runs"].as_array().unwrap().len(),
        1,
        "{runs_now:?}"
    );
    let run = &runs[0];
    assert_eq!(run["status"], "succeeded", "{run:#}");
    assert_eq!(run["trigger"]["kind"], "webhook");
    assert!(
        run["trigger"]["occurrence"]
            .as_str()
            .unwrap()
            .starts_with("event:zoom:")
    );
    assert_eq!(run["event"]["type"], "user.signed_in");
    assert_eq!(run["inputs"], json!({"notify_channel": ""}), "the defaults");
    assert_eq!(run["steps"][0]["params"], json!({"user_id": user_id}));
    assert_eq!(sandbox.user(&email).unwrap()["status"], "inactive");
    assert_eq!(sandbox.sign_outs(&email), 1);

    // Each call is an execution of the service, in the audit trail.
    let execution = run["steps"][0]["execution_ids"][0].as_str().unwrap();
    let execution = s.get(&format!("/v1/executions/{execution}"), &token).await;
    assert_eq!(execution.body["action"], "revoke_user_sessions");
    assert!(
        execution.body["token"]
            .as_str()
            .unwrap()
            .starts_with("playbook:contain-compromised-account (event "),
        "{execution:?}"
    );
    // Progress is on the event stream.
    let events = s.get("/v1/events?type=playbook_run.finished", &token).await;
    let finished = events.body["events"].as_array().unwrap();
    assert_eq!(finished.len(), 1, "{events:?}");
    assert_eq!(finished[0]["payload"]["run"], run["id"]);
    assert_eq!(finished[0]["payload"]["status"], "succeeded");
    let steps = s
        .get("/v1/events?type=playbook_run.step&limit=500", &token)
        .await;
    assert_eq!(
        steps.body["events"].as_array().unwrap().len(),
        10,
        "a start and an end per step"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_runs_honour_idempotency_keys_and_rerun_from_a_step() {
    let dir = playbooks(&[(
        "broken.yaml",
        "name: broken\non: { manual: }\nsteps:\n  - { id: a, resource: zoom, action: nope }\n",
    )]);
    let s = serve(dir.path());
    let token = s.token("ops", &[]);
    let sandbox = &s.env.sandbox;
    let host = sandbox.user_emails()[MEMBER_WITH_MEETINGS].clone();
    let meeting = sandbox.meeting_ids(&host)[0];

    // The broken file is skipped, with its place; the others are served.
    let listed = s.get("/v1/playbooks", &token).await;
    let skipped = &listed.body["skipped"][0];
    assert_eq!(
        (skipped["line"].as_u64(), skipped["column"].as_u64()),
        (Some(4), Some(38)),
        "{listed:?}"
    );
    assert!(
        skipped["message"]
            .as_str()
            .unwrap()
            .contains("has no action `nope`")
    );

    let inputs = json!({"inputs": {"meeting_id": meeting.to_string(), "host_id": host}});
    let path = "/v1/playbooks/zoom-bombing/runs";
    let first = s
        .request(
            reqwest::Method::POST,
            path,
            Some(&token),
            &[("idempotency-key", "k1")],
            Some(inputs.to_string()),
        )
        .await;
    assert_eq!(first.status, 202, "{first:?}");
    let id = first.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        first.header("location"),
        Some(format!("/v1/playbook-runs/{id}").as_str())
    );
    let again = s
        .request(
            reqwest::Method::POST,
            path,
            Some(&token),
            &[("idempotency-key", "k1")],
            Some(inputs.to_string()),
        )
        .await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.body["id"], id.as_str());
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let run = run_until_done(&s, &token, &id).await;
    assert_eq!(run["status"], "succeeded", "{run:#}");
    let ends = sandbox
        .api_requests()
        .iter()
        .filter(|r| r.method == "PUT" && r.path == format!("/v2/meetings/{meeting}/status"))
        .count();
    assert_eq!(ends, 1, "one key, one run");

    sandbox.clear_requests();
    let rerun = s
        .post(
            &format!("/v1/playbook-runs/{id}/rerun"),
            &token,
            json!({"from": "waiting_room"}),
        )
        .await;
    assert_eq!(rerun.status, 202, "{rerun:?}");
    let rerun = run_until_done(&s, &token, rerun.body["id"].as_str().unwrap()).await;
    assert_eq!(rerun["rerun_of"], id.as_str());
    assert_eq!(rerun["steps"][0]["reused"], true);
    let calls: Vec<String> = sandbox
        .api_requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(calls, [format!("PATCH /v2/users/{host}/settings")]);

    // Refusals, each before anything runs.
    let bad = s
        .post(path, &token, json!({"inputs": {"meeting_id": "1"}}))
        .await;
    assert_eq!(bad.status, 422, "{bad:?}");
    assert!(
        bad.body["detail"].as_str().unwrap().contains("host_id"),
        "{bad:?}"
    );
    let missing = s.post("/v1/playbooks/nope/runs", &token, json!({})).await;
    assert_eq!(missing.status, 404, "{missing:?}");
    let reader = s.token("reader", &["--kind", "enrichment"]);
    let denied = s.post(path, &reader, inputs.clone()).await;
    assert_eq!(denied.status, 403, "{denied:?}");
    let other = s.token("other", &["--resource", "elsewhere"]);
    let hidden = s.get("/v1/playbooks", &other).await;
    assert_eq!(hidden.body["playbooks"], json!([]), "{hidden:?}");
    let hidden = s.get(&format!("/v1/playbook-runs/{id}"), &other).await;
    assert_eq!(hidden.status, 403, "{hidden:?}");
    // Scopes: read sees, run starts.
    let watcher = s.token("watcher", &["--scope", "playbooks:read"]);
    assert_eq!(s.get("/v1/playbooks", &watcher).await.status, 200);
    assert_eq!(
        s.get(&format!("/v1/playbook-runs/{id}"), &watcher)
            .await
            .status,
        200
    );
    let refused = s.post(path, &watcher, inputs.clone()).await;
    assert_eq!(refused.status, 403, "{refused:?}");
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("playbooks:run"),
        "{refused:?}"
    );
    let runner = s.token("runner", &["--scope", "playbooks:run"]);
    assert_eq!(
        s.get("/v1/playbooks", &runner).await.status,
        200,
        "run brings read"
    );
    let not_running = s
        .post(&format!("/v1/playbook-runs/{id}/cancel"), &token, json!({}))
        .await;
    assert_eq!(not_running.status, 409, "{not_running:?}");
}

const LOOK_TWICE: &str = r#"
name: look-twice
on: { manual: }
steps:
  - id: look
    resource: zoom
    action: get_user
    with: { user_id: me }
  - id: again
    resource: zoom
    action: get_user
    with: { user_id: me }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_service_goes_on_with_its_runs_and_a_run_can_be_cancelled() {
    let dir = playbooks(&[("look-twice.yaml", LOOK_TWICE)]);
    let mut s = serve(dir.path());
    let token = s.token("ops", &[]);
    s.env
        .sandbox
        .inject(Fault::Hang, Match::method_path("GET", "/v2/users/me"), 1);
    let started = s
        .post("/v1/playbooks/look-twice/runs", &token, json!({}))
        .await;
    assert_eq!(started.status, 202, "{started:?}");
    let id = started.body["id"].as_str().unwrap().to_owned();
    // Wait for the hanging call, then kill -9 the service.
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let run = s.get(&format!("/v1/playbook-runs/{id}"), &token).await;
        if run.body["steps"][0]["status"] == "running" {
            break;
        }
        assert!(Instant::now() < until, "{run:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    s.env.wait_for_request("GET", "/v2/users/me");
    let mut child = s.child.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    s.env.sandbox.clear_requests();

    s.spawn(&["--playbooks", dir.path().to_str().unwrap()]);
    let run = run_until_done(&s, &token, &id).await;
    assert_eq!(run["status"], "succeeded", "{run:#}");
    let calls: Vec<String> = s
        .env
        .sandbox
        .api_requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        calls,
        ["GET /v2/users/me", "GET /v2/users/me"],
        "the idempotent step again, then the next"
    );

    // Cancel: the hanging step is abandoned, the next never runs.
    s.env
        .sandbox
        .inject(Fault::Hang, Match::method_path("GET", "/v2/users/me"), 1);
    let started = s
        .post("/v1/playbooks/look-twice/runs", &token, json!({}))
        .await;
    let id = started.body["id"].as_str().unwrap().to_owned();
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let cancel = s
            .post(&format!("/v1/playbook-runs/{id}/cancel"), &token, json!({}))
            .await;
        if cancel.status == 202 {
            break;
        }
        assert!(Instant::now() < until, "{cancel:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let run = run_until_done(&s, &token, &id).await;
    assert_eq!(run["status"], "cancelled", "{run:#}");
    assert_eq!(run["steps"][1]["status"], "cancelled");
}

const EVERY_SECOND: &str = r#"
name: every-second
on:
  schedule: { cron: "* * * * * *", timezone: Europe/Berlin }
steps:
  - id: look
    resource: zoom
    action: get_user
    with: { user_id: me }
"#;

const NEW_INVITES: &str = r#"
name: new-invites
on:
  watch:
    resource: zoom
    action: list_users
    with: { status: pending, page_size: 300 }
    every: 1s
    items: ${{ result.users }}
    key: ${{ item.id }}
steps:
  - id: look
    resource: zoom
    action: get_user
    with: { user_id: "${{ event.item.id }}" }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_tick_and_watches_start_a_run_per_new_item() {
    let dir = playbooks(&[
        ("every-second.yaml", EVERY_SECOND),
        ("new-invites.yaml", NEW_INVITES),
    ]);
    let s = serve(dir.path());
    let token = s.token("ops", &[]);

    let ticks = finished_runs(&s, &token, "every-second", 2).await;
    let occurrences: Vec<&str> = ticks
        .iter()
        .map(|r| r["trigger"]["occurrence"].as_str().unwrap())
        .collect();
    assert!(
        occurrences.iter().all(|o| o.starts_with("tick:")),
        "{occurrences:?}"
    );
    let mut unique = occurrences.clone();
    unique.dedup();
    assert_eq!(unique.len(), occurrences.len(), "one run per tick");
    assert_eq!(ticks[0]["event"]["type"], "schedule");

    // The invitations pending at the first poll are the baseline: no run.
    // Wait for that poll (it lists pending users), then invite someone.
    let until = Instant::now() + Duration::from_secs(20);
    while !s
        .env
        .sandbox
        .api_requests()
        .iter()
        .any(|r| r.path == "/v2/users" && r.method == "GET")
    {
        assert!(Instant::now() < until, "the watch never polled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let invited = s.env.invoke(
        "create_user",
        json!({"action": "create", "user_info": {"email": "new.hire@example.com", "type": 1}}),
    );
    assert_eq!(invited.code, 0, "{invited:?}");
    let id = invited.json()["id"].as_str().unwrap().to_owned();
    let runs = finished_runs(&s, &token, "new-invites", 1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let again = s
        .get("/v1/playbook-runs?playbook=new-invites", &token)
        .await;
    assert_eq!(
        again.body["runs"].as_array().unwrap().len(),
        1,
        "one run for one new item: {again:?}"
    );
    let run = &runs[0];
    assert_eq!(run["status"], "succeeded", "{run:#}");
    assert_eq!(run["trigger"]["occurrence"], format!("watch:{id}"));
    assert_eq!(run["event"]["item"]["email"], "new.hire@example.com");
    assert_eq!(run["steps"][0]["params"], json!({"user_id": id}));
}

const EVERY_FEW_SECONDS: &str = r#"
name: every-few-seconds
on:
  schedule: { cron: "*/4 * * * * *" }
steps:
  - id: look
    resource: zoom
    action: get_user
    with: { user_id: me }
"#;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The ticks of the runs of `every-few-seconds` so far, in ms.
async fn ticks(s: &Served, token: &str) -> Vec<i64> {
    let page = s
        .get("/v1/playbook-runs?playbook=every-few-seconds", token)
        .await;
    assert_eq!(page.status, 200, "{page:?}");
    page.body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let occurrence = r["trigger"]["occurrence"].as_str().unwrap();
            occurrence.strip_prefix("tick:").unwrap().parse().unwrap()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tick_missed_while_stopped_runs_once_on_start() {
    let dir = playbooks(&[("every-few-seconds.yaml", EVERY_FEW_SECONDS)]);
    let first_start = now_ms();
    let mut s = serve(dir.path());
    let token = s.token("ops", &[]);
    finished_runs(&s, &token, "every-few-seconds", 1).await;
    s.signal("TERM");
    assert_eq!(s.wait(Duration::from_secs(30)), Some(0));
    let stopped = now_ms();
    // Restart a second after a tick, two ticks at least after the stop:
    // ticks fall on multiples of 4 s, so `last_missed` is the catch-up,
    // and the next regular tick is 3 s away from the restart.
    let last_missed = ((stopped + 5000) / 4000 + 1) * 4000;
    let restarted = last_missed + 1000;
    std::thread::sleep(Duration::from_millis((restarted - now_ms()) as u64));
    s.spawn(&["--playbooks", dir.path().to_str().unwrap()]);
    let missed = |ticks: &[i64]| -> Vec<i64> {
        let mut missed: Vec<i64> = ticks
            .iter()
            .copied()
            .filter(|t| *t > stopped && *t < restarted)
            .collect();
        missed.sort_unstable();
        missed
    };
    let until = Instant::now() + Duration::from_secs(10);
    while missed(&ticks(&s, &token).await).is_empty() {
        assert!(Instant::now() < until, "no missed tick ran on start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let the next regular tick come too: nothing else of the gap runs.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let all = ticks(&s, &token).await;
    assert_eq!(
        missed(&all),
        [last_missed],
        "one catch-up run, the latest missed tick, not one per missed tick: {all:?}"
    );
    // A tick before the playbook was first loaded never runs.
    assert!(all.iter().all(|t| *t >= first_start), "{all:?}");
    let mut unique = all.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), all.len(), "one run per tick: {all:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_past_its_max_run_time_fails_naming_the_step() {
    let dir = playbooks(&[(
        "look.yaml",
        "name: look\non: { manual: {} }\nsteps:\n  - id: look\n    resource: zoom\n    action: get_user\n    with: { user_id: me }\n",
    )]);
    let s = Served::start(&[
        "--playbooks",
        dir.path().to_str().unwrap(),
        "--max-run-time",
        "1s",
    ]);
    let token = s.token("ops", &[]);
    s.env
        .sandbox
        .inject(Fault::Hang, Match::method_path("GET", "/v2/users/me"), 1);
    let started = s.post("/v1/playbooks/look/runs", &token, json!({})).await;
    assert_eq!(started.status, 202, "{started:?}");
    let id = started.body["id"].as_str().unwrap();
    let run = run_until_done(&s, &token, id).await;
    assert_eq!(run["status"], "failed", "{run:#}");
    let step = &run["steps"][0];
    assert_eq!(step["error"]["kind"], "timeout", "{run:#}");
    assert!(
        step["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the run's time ran out"),
        "{run:#}"
    );
    assert!(
        run["error"]["message"].as_str().unwrap().contains("`look`"),
        "{run:#}"
    );
}
