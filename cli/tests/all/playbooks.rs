//! Playbooks from the command line: `playbook check` and `playbook run`
//! against the Zoom sandbox, asserting what reached it (which calls, with
//! which bodies, in which order) and what the run record says.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use zoom_sandbox::{Fault, MEMBER_WITH_MEETINGS, Match, OWNER_EMAIL, RecordedRequest};

use crate::common::{Env, Run};

/// The sandbox, a resources directory with `zoom.toml`, and a playbooks
/// directory holding the repository's playbooks.
struct Book {
    env: Env,
    resources: PathBuf,
    playbooks: PathBuf,
}

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../playbooks")
}

impl Book {
    fn new() -> Self {
        let env = Env::new();
        let resources = env.dir.path().join("resources");
        let playbooks = env.dir.path().join("playbooks");
        std::fs::create_dir_all(&resources).unwrap();
        std::fs::create_dir_all(&playbooks).unwrap();
        std::fs::write(resources.join("zoom.toml"), env.resource_toml("Zoom", "")).unwrap();
        for entry in std::fs::read_dir(shipped()).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, playbooks.join(path.file_name().unwrap())).unwrap();
        }
        Self {
            env,
            resources,
            playbooks,
        }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.playbooks.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn playbook(&self, args: &[&str]) -> Run {
        let mut all = vec!["playbook"];
        all.extend_from_slice(args);
        all.extend_from_slice(&[
            "--resources",
            self.resources.to_str().unwrap(),
            "--playbooks",
            self.playbooks.to_str().unwrap(),
        ]);
        self.env.cli(&all)
    }

    fn run(&self, name: &str, inputs: Value) -> Run {
        self.playbook(&["run", name, "--input", &inputs.to_string()])
    }

    /// The API requests since the last clear, as `METHOD path`.
    fn calls(&self) -> Vec<String> {
        self.env
            .api_requests()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    fn request(&self, method: &str, path: &str) -> RecordedRequest {
        let requests = self.env.api_requests();
        requests
            .into_iter()
            .find(|r| r.method == method && r.path == path)
            .unwrap_or_else(|| panic!("no {method} {path} in {:?}", self.calls()))
    }
}

fn statuses(record: &Value) -> Vec<(String, String)> {
    record["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_owned(),
                s["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn the_shipped_playbooks_check_clean() {
    let book = Book::new();
    let run = book.env.cli(&[
        "playbook",
        "check",
        shipped().to_str().unwrap(),
        "--resources",
        book.resources.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.json();
    assert_eq!(out["valid"], true);
    let names: Vec<&str> = out["playbooks"]
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
    assert!(
        book.env.sandbox.requests().is_empty(),
        "checking sends nothing"
    );
}

#[test]
fn contain_compromised_account_signs_out_deletes_meetings_deactivates_and_tells() {
    let book = Book::new();
    let sandbox = &book.env.sandbox;
    let user = sandbox.user_emails()[MEMBER_WITH_MEETINGS].clone();
    let meetings = sandbox.meeting_ids(&user);
    assert!(!meetings.is_empty(), "the seeded member hosts meetings");
    let channel = sandbox.chat_channels(OWNER_EMAIL)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let run = book.run(
        "contain-compromised-account",
        json!({"user_id": user, "notify_channel": channel}),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let record = run.json();
    assert_eq!(record["status"], "succeeded", "{record:#}");
    assert_eq!(record["trigger"], json!({"kind": "manual"}));
    assert_eq!(
        statuses(&record),
        pairs(&[
            ("revoke", "succeeded"),
            ("upcoming", "succeeded"),
            ("cancel", "succeeded"),
            ("deactivate", "succeeded"),
            ("notify", "succeeded"),
        ])
    );

    // What reached Zoom, in order.
    let mut expected = vec![
        format!("DELETE /v2/users/{user}/token"),
        format!("GET /v2/users/{user}/meetings"),
    ];
    let listed: Vec<u64> = record["steps"][1]["result"]["meetings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_u64().unwrap())
        .collect();
    assert!(!listed.is_empty());
    expected.extend(listed.iter().map(|id| format!("DELETE /v2/meetings/{id}")));
    expected.push(format!("PUT /v2/users/{user}/status"));
    expected.push("POST /v2/chat/users/me/messages".to_owned());
    assert_eq!(book.calls(), expected);
    assert_eq!(
        book.request("PUT", &format!("/v2/users/{user}/status"))
            .json,
        Some(json!({"action": "deactivate"}))
    );
    let message = book
        .request("POST", "/v2/chat/users/me/messages")
        .json
        .unwrap();
    assert_eq!(message["to_channel"], channel.as_str());
    let text = message["message"].as_str().unwrap();
    assert!(
        text.starts_with(&format!(
            "Contained {user}: signed out everywhere, {} upcoming meeting(s) deleted",
            listed.len()
        )),
        "{text}"
    );
    assert!(text.contains(record["id"].as_str().unwrap()), "{text}");

    // And what Zoom holds afterwards.
    assert_eq!(sandbox.user(&user).unwrap()["status"], "inactive");
    assert_eq!(sandbox.sign_outs(&user), 1);
    for id in listed {
        assert!(sandbox.meeting(id).is_none(), "meeting {id} deleted");
    }
    // The record keeps each call's params and result.
    assert_eq!(record["steps"][0]["params"], json!({"user_id": user}));
    assert_eq!(record["steps"][0]["result"]["sessions_revoked"], true);
}

#[test]
fn zoom_bombing_ends_the_meeting_and_turns_on_the_waiting_room() {
    let book = Book::new();
    let sandbox = &book.env.sandbox;
    let host = sandbox.user_emails()[MEMBER_WITH_MEETINGS].clone();
    let meeting = sandbox.meeting_ids(&host)[0];
    let run = book.run(
        "zoom-bombing",
        json!({"meeting_id": meeting.to_string(), "host_id": host}),
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        book.calls(),
        [
            format!("PUT /v2/meetings/{meeting}/status"),
            format!("PATCH /v2/users/{host}/settings"),
        ]
    );
    assert_eq!(
        book.request("PUT", &format!("/v2/meetings/{meeting}/status"))
            .json,
        Some(json!({"action": "end"}))
    );
    assert_eq!(
        book.request("PATCH", &format!("/v2/users/{host}/settings"))
            .json,
        Some(json!({"in_meeting": {"waiting_room": true}}))
    );
    assert_eq!(
        sandbox.user_settings(&host).unwrap()["in_meeting"]["waiting_room"],
        true
    );
}

#[test]
fn leaked_recording_stops_sharing_and_reports_who_attended() {
    let book = Book::new();
    let sandbox = &book.env.sandbox;
    let host = sandbox.user_emails()[MEMBER_WITH_MEETINGS].clone();
    let meeting = sandbox.meeting_ids(&host)[0];
    sandbox.add_recording(meeting, 1024);
    let channel = sandbox.chat_channels(OWNER_EMAIL)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let run = book.run(
        "leaked-recording",
        json!({"meeting_id": meeting.to_string(), "topic": "Board: merger", "notify_channel": channel}),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let record = run.json();
    let calls = book.calls();
    assert_eq!(
        calls[0],
        format!("PATCH /v2/meetings/{meeting}/recordings/settings")
    );
    assert_eq!(
        calls[1],
        format!("GET /v2/past_meetings/{meeting}/participants")
    );
    assert_eq!(calls[2], "POST /v2/chat/users/me/messages");
    assert_eq!(
        book.request(
            "PATCH",
            &format!("/v2/meetings/{meeting}/recordings/settings")
        )
        .json,
        Some(json!({"share_recording": "none"}))
    );
    let text = book
        .request("POST", "/v2/chat/users/me/messages")
        .json
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        text.starts_with("Recording of \"Board: merger\" taken off sharing. Attendees: "),
        "{text}"
    );
    // The attendees step may fail (a meeting that never took place has no
    // participants report): the playbook goes on, and says so.
    let attendees = &record["steps"][1];
    match attendees["status"].as_str().unwrap() {
        "succeeded" => {}
        "failed" => assert!(text.ends_with("Attendees: unknown."), "{text}"),
        other => panic!("attendees {other}: {record:#}"),
    }
}

#[test]
fn data_is_never_a_template() {
    let book = Book::new();
    let sandbox = &book.env.sandbox;
    let user = sandbox.user_emails()[MEMBER_WITH_MEETINGS].clone();
    // A user whose name looks like an expression, as an attacker would set it.
    let hostile = "${{ 7 * 7 }}{{ 1 + 1 }}{% if true %}x{% endif %}";
    let set = book.env.invoke(
        "update_user",
        json!({"user_id": user, "first_name": hostile}),
    );
    assert_eq!(set.code, 0, "{set:?}");
    book.env.sandbox.clear_requests();
    book.write(
        "echo-name.yaml",
        r#"
name: echo-name
on: { manual: { inputs: { user_id: { type: string } } } }
steps:
  - id: get
    resource: zoom
    action: get_user
    with: { user_id: "${{ inputs.user_id }}" }
  - id: copy
    resource: zoom
    action: update_user
    with:
      user_id: ${{ inputs.user_id }}
      last_name: ${{ steps.get.result.first_name }}
      job_title: "Name: ${{ steps.get.result.first_name }}"
"#,
    );
    let run = book.run("echo-name", json!({"user_id": user}));
    assert_eq!(run.code, 0, "{run:?}");
    let body = book
        .request("PATCH", &format!("/v2/users/{user}"))
        .json
        .unwrap();
    assert_eq!(body["last_name"], hostile);
    assert_eq!(body["job_title"], format!("Name: {hostile}"));
}

#[test]
fn check_reports_every_finding_at_its_line_and_column() {
    let book = Book::new();
    let file = book.write(
        "broken.yaml",
        r#"name: broken
on:
  manual:
  webhook:
    resource: zoom
    event: nosuch.*
steps:
  - id: get
    resource: zoom
    action: get_user
    with:
      user_id: ${{ steps.later.result.id }}
      login_type: "not a number"
      bogus: 1
  - id: get
    resource: nowhere
    action: get_user
  - id: later
    resource: zoom
    action: no_such_action
  - id: loop
    resource: zoom
    action: delete_meeting
    for_each: ${{ item }}
    with: { meeting_id: "${{ secrets.token }}" }
    if: ${{ inputs.a == }}
"#,
    );
    let run = book.playbook(&["check", file.to_str().unwrap(), "--json"]);
    assert_eq!(run.code, 2, "{run:?}");
    let out = run.json();
    assert_eq!(out["valid"], false);
    let found: Vec<(u64, u64, String)> = out["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
                f["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expect: &[(u64, u64, &str)] = &[
        (12, 16, "no step `later` comes before this one"),
        (15, 9, "step id `get` is used twice"),
        (24, 15, "`item` is not a name here"),
        (25, 25, "`secrets` is not a name here"),
        (26, 9, "does not parse"),
    ];
    assert_eq!(found.len(), expect.len(), "{found:#?}");
    for ((line, column, message), (l, c, needle)) in found.iter().zip(expect) {
        assert_eq!((line, column), (l, c), "{message}");
        assert!(message.contains(needle), "`{needle}` in {message}");
    }

    // With the file's own mistakes fixed, the resources' turn.
    let file = book.write(
        "broken.yaml",
        r#"name: broken
on:
  webhook:
    resource: zoom
    event: nosuch.*
steps:
  - id: get
    resource: zoom
    action: get_user
    with:
      user_id: me
      login_type: "not a number"
      bogus: 1
  - id: other
    resource: nowhere
    action: get_user
  - id: later
    resource: zoom
    action: no_such_action
  - id: settings
    resource: zoom
    action: update_user_settings
    with: { user_id: "${{ steps.get.result.id }}", option: wrong }
"#,
    );
    let run = book.playbook(&["check", file.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{run:?}");
    let path = file.display().to_string();
    let lines: Vec<&str> = run.stdout.lines().collect();
    let expect = [
        "5:12: no event type of plugin `zoom` matches `nosuch.*`",
        "12:19: step `get`: param `login_type` must be an integer, got a string \"not a number\"",
        "13:14: step `get`: unknown param `bogus`; get_user takes: user_id, login_type",
        "15:15: step `other`: no resource `nowhere` in",
        "19:13: step `later`: plugin `zoom` has no action `no_such_action`",
        "23:11: step `settings`: missing required param `settings`",
        "23:60: step `settings`: param `option` must be one of",
    ];
    assert_eq!(lines.len(), expect.len(), "{run:?}");
    for (line, want) in lines.iter().zip(expect) {
        assert!(
            line.starts_with(&format!("invalid  {path}:{want}")),
            "{line}\nwanted {want}"
        );
    }
    assert!(book.env.sandbox.requests().is_empty());
}

#[test]
fn a_yaml_mistake_is_reported_at_its_place() {
    let book = Book::new();
    let file = book.write(
        "typo.yaml",
        "name: typo\non: { manual: }\nsteps:\n  - id: a\n    resource: zoom\n    action: get_user\n    wth: { user_id: me }\n",
    );
    let run = book.playbook(&["check", file.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{run:?}");
    let line = run.stdout.trim();
    assert!(
        line.starts_with(&format!(
            "invalid  {}:7:5: unknown field `wth`",
            file.display()
        )),
        "{line}"
    );
}

#[test]
fn a_failed_step_stops_the_run_and_the_rest_are_skipped() {
    let book = Book::new();
    let user = book.env.sandbox.user_emails()[MEMBER_WITH_MEETINGS].clone();
    book.env.sandbox.inject(
        Fault::ZoomError {
            status: 400,
            code: 1120,
            message: "Invalid access.".into(),
        },
        Match::method_path("GET", "/v2/users/"),
        1,
    );
    let run = book.run("contain-compromised-account", json!({"user_id": user}));
    assert_eq!(run.code, 1, "{run:?}");
    let record = run.json();
    assert_eq!(record["status"], "failed");
    assert_eq!(
        statuses(&record),
        pairs(&[
            ("revoke", "succeeded"),
            ("upcoming", "failed"),
            ("cancel", "skipped"),
            ("deactivate", "skipped"),
            ("notify", "skipped"),
        ])
    );
    assert_eq!(record["error"]["step"], "upcoming");
    assert_eq!(record["steps"][1]["error"]["upstream_code"], 1120);
    assert!(
        run.stderr
            .contains("error: step `upcoming` (list_meetings) failed"),
        "{run:?}"
    );
    // Nothing after the failed step reached Zoom; a 400 is not retried.
    assert_eq!(
        book.calls(),
        [
            format!("DELETE /v2/users/{user}/token"),
            format!("GET /v2/users/{user}/meetings"),
        ]
    );
}

#[test]
fn limits_and_bad_inputs_are_refused_before_anything_is_sent() {
    let book = Book::new();
    book.write(
        "many.yaml",
        r#"
name: many
on: { manual: { inputs: { ids: { type: array } } } }
steps:
  - id: each
    for_each: ${{ inputs.ids }}
    resource: zoom
    action: get_meeting
    with: { meeting_id: "${{ item }}" }
"#,
    );
    let ids: Vec<u64> = (0..100_000).collect();
    let input = book.env.dir.path().join("ids.json");
    std::fs::write(&input, json!({"ids": ids}).to_string()).unwrap();
    let run = book.playbook(&[
        "run",
        "many",
        "--input",
        &format!("@{}", input.display()),
        "--compact",
    ]);
    assert_eq!(run.code, 2, "{run:?}");
    let record = run.json();
    assert_eq!(record["steps"][0]["status"], "failed");
    let message = record["steps"][0]["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("step `each`")
            && message.contains("100000 items")
            && message.contains("at most 1000"),
        "{message}"
    );

    book.write(
        "greedy.yaml",
        r#"
name: greedy
on: { manual: }
steps:
  - id: spin
    resource: zoom
    action: get_user
    with: { user_id: "${{ range(10000) | map('string') | join(',') | length }}" }
"#,
    );
    let run = book.run("greedy", json!({}));
    assert_eq!(run.code, 2, "{run:?}");
    let message = run.json()["steps"][0]["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("step `spin`") && message.contains("ran out of fuel"),
        "{message}"
    );

    // Inputs that do not fit the playbook's schema: not even a run.
    let run = book.run("contain-compromised-account", json!({"user": "x"}));
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("user_id"), "{run:?}");
    let run = book.playbook(&["run", "no-such-playbook"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("(valid playbooks: contain-compromised-account, greedy, leaked-recording, many, zoom-bombing)"), "{run:?}");
    assert!(book.env.sandbox.requests().is_empty(), "{:?}", book.calls());
}

#[test]
fn a_dry_run_shows_the_calls_and_sends_nothing() {
    let book = Book::new();
    let run = book.playbook(&[
        "run",
        "contain-compromised-account",
        "--input",
        r#"{"user_id": "jane@example.com"}"#,
        "--dry-run",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let record = run.json();
    assert_eq!(record["dry_run"], true);
    assert_eq!(
        record["steps"][0]["params"],
        json!({"user_id": "jane@example.com"})
    );
    assert_eq!(
        record["steps"][1]["params"],
        json!({"user_id": "jane@example.com", "type": "upcoming"})
    );
    // The meetings to delete are known only from a real listing.
    assert_eq!(record["steps"][2]["status"], "skipped");
    assert_eq!(
        record["steps"][4]["status"], "skipped",
        "no channel: no message"
    );
    assert!(book.env.sandbox.requests().is_empty());
}

impl Book {
    /// `playbook …` with a state directory of this test's own (runs are
    /// listed and taken over per state directory).
    fn recorded(&self, args: &[&str]) -> Run {
        let state = self.env.dir.path().join("state");
        let mut all = vec!["--state-dir", state.to_str().unwrap()];
        all.extend_from_slice(args);
        // `runs` and `show` read the state directory only.
        let mut run = if matches!(args[0], "runs" | "show") {
            let mut cmd = vec!["playbook"];
            cmd.extend_from_slice(&all);
            self.env.cli(&cmd)
        } else {
            self.playbook(&all)
        };
        run.stdout = run.stdout.trim().to_owned();
        run
    }

    /// The same, started in the background.
    fn spawn(&self, args: &[&str]) -> std::process::Child {
        let state = self.env.dir.path().join("state");
        std::process::Command::new(env!("CARGO_BIN_EXE_soar-host"))
            .args(["--state-dir", state.to_str().unwrap(), "playbook"])
            .args(args)
            .args(["--resources", self.resources.to_str().unwrap()])
            .args(["--playbooks", self.playbooks.to_str().unwrap()])
            .env("SOAR_HOST_CACHE_DIR", crate::common::cache_dir())
            .env(crate::common::SECRET_VAR, self.env.secret())
            .env_remove("RUST_LOG")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(self.env.dir.path().join("spawned.stderr")).unwrap())
            .spawn()
            .expect("soar-host starts")
    }

    /// Wait until the newest run of `playbook` has step `index` running.
    fn wait_for_running(&self, playbook: &str, index: usize) -> Value {
        for _ in 0..600 {
            let runs = self.recorded(&["runs", "--playbook", playbook]);
            if runs.code == 0 {
                let list = runs.json();
                if let Some(run) = list.as_array().and_then(|l| l.first())
                    && run["steps"][index]["status"] == "running"
                {
                    return run.clone();
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let stderr = std::fs::read_to_string(self.env.dir.path().join("spawned.stderr"));
        panic!("step {index} of {playbook} never ran: {stderr:?}");
    }
}

#[test]
fn runs_are_recorded_and_rerun_from_the_failed_step() {
    let book = Book::new();
    let user = book.env.sandbox.user_emails()[MEMBER_WITH_MEETINGS].clone();
    book.env.sandbox.inject(
        Fault::ZoomError {
            status: 400,
            code: 1120,
            message: "Invalid access.".into(),
        },
        Match::method_path("GET", "/v2/users/"),
        1,
    );
    let failed = book.recorded(&[
        "run",
        "contain-compromised-account",
        "--input",
        &json!({"user_id": user}).to_string(),
    ]);
    assert_eq!(failed.code, 1, "{failed:?}");
    let failed = failed.json();
    let id = failed["id"].as_str().unwrap();

    // Recorded as printed.
    let shown = book.recorded(&["show", id]);
    assert_eq!(shown.code, 0, "{shown:?}");
    assert_eq!(shown.json(), failed);
    let listed = book.recorded(&["runs", "--status", "failed"]);
    assert_eq!(listed.json()[0]["id"], id);

    book.env.sandbox.clear_requests();
    let rerun = book.recorded(&["rerun", id, "--from", "upcoming", "--compact"]);
    assert_eq!(rerun.code, 0, "{rerun:?}");
    let record = rerun.json();
    assert_eq!(record["rerun_of"], id);
    assert_ne!(record["id"], id);
    assert_eq!(record["status"], "succeeded");
    assert_eq!(record["steps"][0]["reused"], true);
    assert_eq!(record["steps"][0]["result"], failed["steps"][0]["result"]);
    assert_eq!(
        statuses(&record),
        pairs(&[
            ("revoke", "succeeded"),
            ("upcoming", "succeeded"),
            ("cancel", "succeeded"),
            ("deactivate", "succeeded"),
            ("notify", "skipped"),
        ])
    );
    // The sign-out was not sent again; the rest ran.
    let calls = book.calls();
    assert_eq!(calls[0], format!("GET /v2/users/{user}/meetings"));
    assert!(!calls.iter().any(|c| c.ends_with("/token")), "{calls:?}");
    assert_eq!(
        calls.last().unwrap(),
        &format!("PUT /v2/users/{user}/status")
    );

    let bad = book.recorded(&["rerun", id, "--from", "nope"]);
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(
        bad.stderr
            .contains("no step `nope`; its steps: revoke, upcoming, cancel, deactivate, notify"),
        "{bad:?}"
    );
}

const TELL_THEN_LOOK: &str = r#"
name: tell-then-look
on: { manual: { inputs: { channel: { type: string } } } }
steps:
  - id: look
    resource: zoom
    action: get_user
    with: { user_id: me }
  - id: tell
    resource: zoom
    action: send_chat_message
    with: { user_id: me, to_channel: "${{ inputs.channel }}", message: "hello" }
  - id: again
    resource: zoom
    action: get_user
    with: { user_id: me }
"#;

#[test]
fn a_killed_run_resumes_without_sending_a_non_idempotent_step_again() {
    let book = Book::new();
    book.write("tell-then-look.yaml", TELL_THEN_LOOK);
    let channel = book.env.sandbox.chat_channels(OWNER_EMAIL)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    book.env
        .sandbox
        .inject(Fault::Hang, Match::method_path("POST", "/v2/chat/"), 1);
    let mut child = book.spawn(&[
        "run",
        "tell-then-look",
        "--input",
        &json!({"channel": channel}).to_string(),
    ]);
    let running = book.wait_for_running("tell-then-look", 1);
    book.env.wait_for_request("POST", "/v2/chat/");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    book.env.sandbox.clear_requests();

    let resumed = book.recorded(&["resume", "--compact"]);
    assert_eq!(resumed.code, 1, "{resumed:?}");
    let record = resumed.json();
    assert_eq!(record["id"], running["id"]);
    assert_eq!(record["status"], "failed");
    assert_eq!(
        statuses(&record),
        pairs(&[
            ("look", "succeeded"),
            ("tell", "unknown"),
            ("again", "skipped")
        ])
    );
    assert_eq!(record["error"]["step"], "tell");
    assert!(
        record["error"]["message"]
            .as_str()
            .unwrap()
            .contains("is not sent again"),
        "{record:#}"
    );
    assert!(
        book.calls().is_empty(),
        "nothing sent again: {:?}",
        book.calls()
    );
    // Taken over once: a second resume finds nothing to do.
    let again = book.recorded(&["resume"]);
    assert_eq!((again.code, again.stdout.as_str()), (0, ""), "{again:?}");
}

#[test]
fn a_killed_run_resumes_an_idempotent_step_and_goes_on() {
    let book = Book::new();
    book.write(
        "tell-then-look.yaml",
        TELL_THEN_LOOK
            .replace("id: tell", "id: tell\n    if: false")
            .as_str(),
    );
    book.env
        .sandbox
        .inject(Fault::Hang, Match::method_path("GET", "/v2/users/me"), 1);
    let mut child = book.spawn(&["run", "tell-then-look", "--input", r#"{"channel": "c"}"#]);
    book.wait_for_running("tell-then-look", 0);
    book.env.wait_for_request("GET", "/v2/users/me");
    child.kill().unwrap();
    child.wait().unwrap();
    book.env.sandbox.clear_requests();

    let resumed = book.recorded(&["resume", "--compact"]);
    assert_eq!(resumed.code, 0, "{resumed:?}");
    assert_eq!(
        statuses(&resumed.json()),
        pairs(&[
            ("look", "succeeded"),
            ("tell", "skipped"),
            ("again", "succeeded")
        ])
    );
    assert_eq!(book.calls(), ["GET /v2/users/me", "GET /v2/users/me"]);
}
