//! The failure paths of the CLI contract: exit 2 with nothing sent to Zoom for
//! whatever is wrong before a request could go out; exit 1 with Zoom's code
//! and message for what Zoom refused. No secret in any output.

use crate::common::{Env, SECRET_VAR, assert_rejected, cli_command};
use serde_json::json;
use zoom_sandbox::SandboxConfig;

#[test]
fn unknown_action() {
    let env = Env::new();
    let run = env.invoke("reboot_zoom", json!({}));
    assert_rejected(
        &env,
        &run,
        "unknown action `reboot_zoom` for plugin `zoom`; its actions are: get_user",
    );
}

#[test]
fn params_of_the_wrong_type_or_shape() {
    let env = Env::new();
    let run = env.invoke("delete_meeting", json!({"meeting_id": "abc"}));
    assert_rejected(
        &env,
        &run,
        "param `meeting_id` must be an integer, got a string \"abc\"",
    );
    let run = env.invoke("delete_meeting", json!({}));
    assert_rejected(&env, &run, "missing required param `meeting_id`");
    let run = env.invoke("list_meetings", json!({"user_id": "me", "type": "past"}));
    assert_rejected(&env, &run, "param `type` must be one of \"scheduled\"");
    let run = env.invoke("get_user", json!({"user_id": "me", "bogus": 1}));
    assert_rejected(&env, &run, "unknown param `bogus`");
    let run = env.invoke(
        "update_user_settings",
        json!({"user_id": "me", "settings": "chat=false"}),
    );
    assert_rejected(&env, &run, "param `settings` must be an object");
    let resource = env.resource.to_str().unwrap();
    let run = env.cli(&["invoke", resource, "get_user", "--params", "[1,2]"]);
    assert_rejected(&env, &run, "--params must be a JSON object");
    let run = env.cli(&["invoke", resource, "get_user", "--params", "{user_id: me}"]);
    assert_rejected(&env, &run, "--params is not valid JSON");
    let run = env.cli(&["invoke", resource, "get_user", "-p", "user_id"]);
    assert_rejected(&env, &run, "-p takes KEY=VALUE");
}

#[test]
fn plugin_refusal_before_sending_is_exit_2() {
    let env = Env::new();
    // Valid per the manifest, but update_user needs at least one field.
    let run = env.invoke("update_user", json!({"user_id": "me"}));
    assert_rejected(&env, &run, "give at least one field to change");
}

#[test]
fn missing_or_unreadable_secret() {
    let env = Env::new();
    let resource = env.resource.to_str().unwrap();
    let run = env.cli_env(&["invoke", resource, "get_user", "-p", "user_id=me"], &[]);
    assert_rejected(
        &env,
        &run,
        &format!("environment variable {SECRET_VAR} is not set"),
    );

    let path = env.write_resource(
        "file-secret.toml",
        &env.resource_toml("File secret", "").replace(
            &format!("{{ env = \"{SECRET_VAR}\" }}"),
            "{ file = \"missing-secret.txt\" }",
        ),
    );
    let run = env.cli(&["test", path.to_str().unwrap()]);
    assert_rejected(&env, &run, "cannot read secret file");
    assert!(run.stderr.contains("missing-secret.txt"), "{run:?}");
}

#[test]
fn secret_from_a_file_works() {
    let env = Env::new();
    std::fs::write(
        env.dir.path().join("secret.txt"),
        format!("{}\n", env.secret()),
    )
    .unwrap();
    let path = env.write_resource(
        "file-secret.toml",
        &env.resource_toml("File secret", "").replace(
            &format!("{{ env = \"{SECRET_VAR}\" }}"),
            "{ file = \"secret.txt\" }",
        ),
    );
    let run = env.cli_env(&["test", path.to_str().unwrap()], &[]);
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn bad_resource_files() {
    let env = Env::new();
    let cases = [
        (
            "malformed.toml",
            "plugin = \"zoom\"\nlabel = \n".to_owned(),
            "line 2, column",
        ),
        (
            "unknown-key.toml",
            format!("colour = \"red\"\n{}", env.resource_toml("X", "")),
            "unknown field `colour`",
        ),
        (
            "unknown-config.toml",
            env.resource_toml("X", "region = \"eu\"\n"),
            "unknown config field `region`",
        ),
        (
            "missing-field.toml",
            env.resource_toml("X", "")
                .replace("account_id", "#account_id"),
            "missing config field `account_id` in [config]",
        ),
        (
            "no-plugin.toml",
            "label = \"x\"\n".to_owned(),
            "missing field `plugin`",
        ),
        (
            "bad-plugin-path.toml",
            env.resource_toml("X", "")
                .replace("plugin = \"zoom\"", "plugin = \"./nope/zoom.wasm\""),
            "cannot read plugin",
        ),
        (
            "unknown-plugin.toml",
            env.resource_toml("X", "")
                .replace("plugin = \"zoom\"", "plugin = \"slack\""),
            "no plugin named `slack`",
        ),
        (
            "plain-http.toml",
            env.resource_toml("X", "").replace(
                &format!("api_url = \"{}\"", env.sandbox.url()),
                "api_url = \"http://api.zoom.us/\"",
            ),
            "`api_url`: plain http to api.zoom.us, a host that is not loopback; use https",
        ),
        (
            "not-wasm.toml",
            env.resource_toml("X", "")
                .replace("plugin = \"zoom\"", "plugin = \"not-wasm.wasm\""),
            "not a WebAssembly file",
        ),
    ];
    std::fs::write(env.dir.path().join("not-wasm.wasm"), "hello").unwrap();
    for (name, text, needle) in cases {
        let path = env.write_resource(name, &text);
        let run = env.cli(&[
            "invoke",
            path.to_str().unwrap(),
            "get_user",
            "-p",
            "user_id=me",
        ]);
        assert_rejected(&env, &run, needle);
        assert!(
            run.stderr.contains(name),
            "the error names the file: {run:?}"
        );
    }
    let run = env.cli(&["test", env.dir.path().join("absent.toml").to_str().unwrap()]);
    assert_rejected(&env, &run, "cannot read it");
}

#[test]
fn usage_errors_are_exit_2() {
    let env = Env::new();
    let run = env.cli(&["invoke"]);
    assert_eq!(run.code, 2, "{run:?}");
    let run = env.cli(&["frobnicate"]);
    assert_eq!(run.code, 2, "{run:?}");
    let run = env.cli(&["--help"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("Exit codes"), "{run:?}");
}

#[test]
fn wrong_secret_is_an_auth_failure_without_api_calls() {
    let env = Env::new();
    let resource = env.resource.to_str().unwrap();
    let wrong = "not-the-secret-at-all";
    let run = env.cli_env(&["test", resource], &[(SECRET_VAR, wrong)]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("error: auth (HTTP 400): Zoom refused the token request: Invalid client_id or client_secret (invalid_client)"), "{run:?}");
    assert!(env.api_requests().is_empty());
    assert!(!run.stderr.contains(wrong) && !run.stdout.contains(wrong));
}

#[test]
fn wrong_account_id_is_reported() {
    let env = Env::new();
    let path = env.write_resource(
        "wrong-account.toml",
        &env.resource_toml("X", "")
            .replace(&env.sandbox.config().account_id, "someone-elses-account"),
    );
    let run = env.cli(&["test", path.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("error: auth"), "{run:?}");
    assert!(run.stderr.to_lowercase().contains("account"), "{run:?}");
}

#[test]
fn unknown_user_keeps_zooms_code_and_message() {
    let env = Env::new();
    let run = env.invoke("get_user", json!({"user_id": "nobody@example.com"}));
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr.trim(),
        "error: not found (Zoom 1001): User does not exist: nobody@example.com."
    );
}

#[test]
fn unreachable_zoom_fails_fast_with_the_host_named() {
    let env = Env::new();
    // A loopback port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let path = env.write_resource(
        "unreachable.toml",
        &env.resource_toml("X", "")
            .replace(&env.sandbox.url(), &format!("http://127.0.0.1:{port}/")),
    );
    let run = env.cli(&["test", path.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("cannot reach 127.0.0.1"), "{run:?}");
}

#[test]
fn test_dir_prints_one_line_per_resource_and_fails_if_any_failed() {
    let env = Env::new();
    env.write_resource(
        "zz-broken.toml",
        &env.resource_toml("Broken", "")
            .replace(&env.sandbox.config().client_id, "wrong-id"),
    );
    let run = env.cli(&["test", env.dir.path().to_str().unwrap()]);
    assert_eq!(run.code, 1, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{run:?}");
    assert!(lines[0].starts_with("Zoom Sandbox\tzoom\tok"), "{run:?}");
    assert!(lines[1].starts_with("Broken\tzoom\tFAILED"), "{run:?}");
    assert!(
        lines[1].contains("Invalid client_id or client_secret"),
        "{run:?}"
    );
    assert_eq!(lines[2], "1 of 2 resources ok");

    std::fs::remove_file(env.dir.path().join("zz-broken.toml")).unwrap();
    let run = env.cli(&["test", env.dir.path().to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn secrets_never_printed_even_with_trace_logs() {
    let env = Env::new();
    let resource = env.resource.to_str().unwrap();
    let secret = env.secret();
    let run = env.cli_env(
        &["invoke", resource, "get_user", "-p", "user_id=me"],
        &[(SECRET_VAR, &secret), ("RUST_LOG", "trace")],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stderr.is_empty(), "trace logs were written");
    assert!(
        !run.stdout.contains(&secret) && !run.stderr.contains(&secret),
        "{run:?}"
    );
}

#[test]
fn actions_lists_every_action() {
    let env = Env::new();
    let run = env.cli(&["actions", "zoom", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let manifest = run.json();
    let mut names: Vec<&str> = manifest["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "activate_user",
            "add_meeting_registrant",
            "add_webinar_panelists",
            "add_webinar_registrant",
            "call_api",
            "create_meeting",
            "create_user",
            "create_webinar",
            "deactivate_user",
            "delete_meeting",
            "delete_meeting_recordings",
            "delete_meeting_registrant",
            "delete_recording_file",
            "delete_user",
            "delete_webinar",
            "delete_webinar_registrant",
            "download_recording",
            "end_meeting",
            "end_webinar",
            "get_meeting",
            "get_meeting_invitation",
            "get_meeting_recordings",
            "get_recording_settings",
            "get_user",
            "get_user_settings",
            "get_webinar",
            "list_call_history",
            "list_chat_channels",
            "list_chat_messages",
            "list_meeting_participants_report",
            "list_meeting_registrants",
            "list_meetings",
            "list_operation_logs",
            "list_past_meeting_participants",
            "list_recordings",
            "list_signin_activities",
            "list_user_call_history",
            "list_users",
            "list_webinar_panelists",
            "list_webinar_registrants",
            "list_webinars",
            "recover_meeting",
            "recover_meeting_recordings",
            "recover_recording_file",
            "remove_webinar_panelist",
            "revoke_user_sessions",
            "send_chat_message",
            "update_meeting",
            "update_meeting_registrant_status",
            "update_recording_settings",
            "update_user",
            "update_user_settings",
            "update_webinar",
            "update_webinar_registrant_status"
        ]
    );
    let secret_fields: Vec<&str> = manifest["config"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["secret"] == true)
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(secret_fields, ["client_secret", "webhook_secret_token"]);

    let run = env.cli(&["actions", env.resource.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("delete_meeting  [containment]"),
        "{run:?}"
    );
    assert!(run.stdout.contains("meeting_id: integer"), "{run:?}");
    assert!(env.sandbox.requests().is_empty());
}

#[test]
fn test_call_reports_missing_scopes() {
    let env = Env::with_config(SandboxConfig {
        scopes: vec!["meeting:read:admin".into()],
        ..SandboxConfig::default()
    });
    let run = env.cli(&["test", env.resource.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{run:?}");
    let line = run.stderr.trim();
    assert!(
        line.starts_with(
            "error: forbidden (Zoom 4711): Invalid access token, does not contain scopes:"
        ),
        "{run:?}"
    );
    assert!(
        line.contains("user:read:admin"),
        "names the scope to add: {run:?}"
    );
}

#[test]
fn dns_failure_names_the_host() {
    let env = Env::new();
    let path = env.write_resource(
        "dns.toml",
        &env.resource_toml("X", "")
            .replace(&env.sandbox.url(), "https://zoom-sandbox.invalid/"),
    );
    let run = env.cli(&["test", path.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("cannot reach zoom-sandbox.invalid"),
        "{run:?}"
    );
    assert_eq!(run.stderr.trim().lines().count(), 1, "{run:?}");
}

#[test]
fn tls_failure_names_the_host() {
    let env = Env::new();
    // The sandbox speaks plain HTTP: a TLS handshake with it fails.
    let https = env.sandbox.url().replace("http://", "https://");
    let path = env.write_resource(
        "tls.toml",
        &env.resource_toml("X", "")
            .replace(&env.sandbox.url(), &https),
    );
    let run = env.cli(&["test", path.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("cannot reach 127.0.0.1"), "{run:?}");
    assert!(
        run.stderr.to_lowercase().contains("tls") || run.stderr.to_lowercase().contains("ssl"),
        "{run:?}"
    );
    assert!(
        env.sandbox.requests().is_empty(),
        "no plain-text request got through"
    );
}

#[test]
fn every_action_carries_a_params_schema_a_standard_validator_accepts() {
    let env = Env::new();
    let run = env.cli(&["actions", "zoom", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let manifest = run.json();
    assert_eq!(manifest["contract"], "0.2.0");
    for action in manifest["actions"].as_array().unwrap() {
        let name = action["name"].as_str().unwrap();
        let schema = &action["params_schema"];
        jsonschema::draft202012::meta::validate(schema)
            .unwrap_or_else(|e| panic!("{name}: not a JSON Schema: {e}"));
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{name}"
        );
        // call_api calls any operation: it has no one operation or scope list.
        let any = name == "call_api";
        assert_eq!(
            action["operation"]
                .as_str()
                .is_some_and(|o| o.contains(" /")),
            !any,
            "{name}: {action}"
        );
        assert_eq!(
            action["scopes"].as_array().unwrap().is_empty(),
            any,
            "{name}"
        );
    }
}

#[test]
fn a_wrong_shape_deep_inside_settings_is_refused_with_its_path() {
    let env = Env::new();
    let run = env.invoke(
        "update_user_settings",
        json!({"user_id": "me", "settings": {"in_meeting": {"chat": "sometimes"}}}),
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains(
            "param `settings.in_meeting.chat` must be a boolean, got a string \"sometimes\""
        ),
        "{run:?}"
    );
    assert!(env.sandbox.requests().is_empty());
    // The playbook-friendly spelling of the same value is taken.
    let run = env.invoke(
        "update_user_settings",
        json!({"user_id": "me", "settings": {"in_meeting": {"chat": "false"}}}),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let sent = env.only_api_request();
    let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["in_meeting"]["chat"], json!(false));
}

#[test]
fn an_unusable_state_directory_stops_a_run_but_not_a_listing() {
    let env = Env::new();
    let resource = env.resource.to_str().unwrap();
    let blocked = tempfile::tempdir().unwrap();
    let file = blocked.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let state = file.join("state");
    let state = state.to_str().unwrap();
    // Listing actions runs no plugin: the store is not opened.
    let listed = env.cli(&["--state-dir", state, "actions", resource]);
    assert_eq!(listed.code, 0, "{listed:?}");
    assert!(listed.stdout.contains("get_user"), "{listed:?}");
    // A run needs it: refused before the plugin runs, with what to do.
    let run = env.cli(&[
        "--state-dir",
        state,
        "invoke",
        resource,
        "get_user",
        "-p",
        "user_id=me",
    ]);
    assert_rejected(&env, &run, "cannot use the state directory");
    assert!(run.stderr.contains("--no-store"), "{run:?}");
    let run = env.cli(&[
        "--state-dir",
        state,
        "--no-store",
        "invoke",
        resource,
        "get_user",
        "-p",
        "user_id=me",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
}

/// `soar-host invoke … | head`: the reader gone before the result is
/// written ends the output quietly, with the action's exit code.
#[test]
fn a_reader_that_goes_away_is_no_panic() {
    let env = Env::new();
    let resource = env.resource.to_str().unwrap();
    let secret = env.secret();
    let mut child = cli_command(
        &["invoke", resource, "list_users"],
        &[(SECRET_VAR, secret.as_str())],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .expect("soar-host runs");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("soar-host ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    // The action ran: the reader's going away only cut its output.
    assert_eq!(env.only_api_request().path, "/v2/users");
}
