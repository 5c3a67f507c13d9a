//! The library entry point, in one process: token reuse through the host's
//! cache, token expiry, retries, and every request checked against Zoom's
//! published specs (the guard against drifting from the real API).

use std::time::Duration;

use crate::common::{Env, SECRET_VAR};
use serde_json::{Value, json};
use soar_host::{Error, ErrorKind, Host, HostOptions, Invocation, Resource};
use zoom_sandbox::contract::Spec;
use zoom_sandbox::{Fault, Match};

fn host() -> Host {
    Host::new(crate::common::host_options()).expect("host starts")
}

fn resource(env: &Env) -> Resource {
    // SAFETY: tests in this file set the same value; nothing reads it concurrently in another way.
    unsafe { std::env::set_var(SECRET_VAR, env.secret()) };
    Resource::load(&env.resource).expect("resource loads")
}

/// A sandbox, a host, and the sandbox's resource.
fn sandbox_host() -> (Env, Host, Resource) {
    let env = Env::new();
    let resource = resource(&env);
    (env, host(), resource)
}

/// [`sandbox_host`], the resource with a one-second deadline.
fn impatient_sandbox_host() -> (Env, Host, Resource) {
    let env = Env::new();
    let text = env
        .resource_toml("Impatient", "")
        .replace("timeout_secs = 20", "timeout_secs = 1");
    env.write_resource("zoom-sandbox.toml", &text);
    let resource = resource(&env);
    (env, host(), resource)
}

/// `get_user` of `me`.
async fn get_me(host: &Host, resource: &Resource) -> Result<Invocation, Error> {
    host.invoke(resource, "get_user", &json!({"user_id": "me"}))
        .await
}

/// The status of each API request the sandbox received (0: the connection
/// dropped unanswered).
fn api_statuses(env: &Env) -> Vec<u16> {
    env.api_requests().iter().map(|r| r.status).collect()
}

#[tokio::test]
async fn one_token_serves_many_invocations() {
    let (env, host, resource) = sandbox_host();
    for _ in 0..3 {
        let out = get_me(&host, &resource).await.expect("ok");
        assert!(out.data["email"].is_string());
    }
    assert_eq!(env.token_requests().len(), 1);
    assert_eq!(env.api_requests().len(), 3);
}

#[tokio::test]
async fn expired_token_is_renewed_once() {
    let (env, host, resource) = sandbox_host();
    get_me(&host, &resource).await.expect("ok");
    env.sandbox.expire_tokens();
    env.sandbox.clear_requests();
    let out = get_me(&host, &resource).await.expect("renewed");
    assert!(out.data["email"].is_string());
    let statuses: Vec<(String, u16)> = env
        .sandbox
        .requests()
        .iter()
        .map(|r| (r.path.clone(), r.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("/v2/users/me".into(), 401),
            ("/oauth/token".into(), 200),
            ("/v2/users/me".into(), 200)
        ]
    );
}

#[tokio::test]
async fn a_token_that_stays_invalid_fails_with_auth_and_no_loop() {
    let (env, host, resource) = sandbox_host();
    env.sandbox
        .inject(Fault::ExpireTokens, Match::path("/v2/"), 10);
    let err = get_me(&host, &resource).await.unwrap_err();
    match &err {
        Error::Action { failure, sent } => {
            assert_eq!(failure.kind, ErrorKind::Auth);
            assert_eq!(failure.upstream_code, Some(124));
            assert!(*sent);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(env.token_requests().len(), 2);
    assert_eq!(env.api_requests().len(), 2);
}

#[tokio::test]
async fn rate_limit_with_short_retry_after_is_waited_out() {
    let (env, host, resource) = sandbox_host();
    env.sandbox.inject(
        Fault::RateLimited {
            retry_after: Some("1".into()),
            rate_limit_type: None,
        },
        Match::path("/v2/users/me"),
        1,
    );
    let out = get_me(&host, &resource).await.expect("retried");
    assert!(out.data["email"].is_string());
    assert_eq!(api_statuses(&env), [429, 200]);
}

#[tokio::test]
async fn rate_limit_beyond_the_deadline_fails_at_once_saying_when() {
    let (env, host, resource) = sandbox_host();
    env.sandbox.inject(
        Fault::RateLimited {
            retry_after: Some("2099-01-01T00:00:00Z".into()),
            rate_limit_type: Some("Daily-limit".into()),
        },
        Match::path("/v2/meetings/"),
        1,
    );
    let id = env.sandbox.meeting_ids("me")[0];
    let started = std::time::Instant::now();
    let err = host
        .invoke(&resource, "delete_meeting", &json!({"meeting_id": id}))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    let Error::Action { failure, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(failure.kind, ErrorKind::RateLimited);
    assert_eq!(failure.http_status, Some(429));
    assert!(failure.retry_after_secs.unwrap() > 86_400);
    assert!(env.sandbox.meeting(id).is_some(), "nothing was deleted");
}

#[tokio::test]
async fn server_errors_are_retried_for_idempotent_calls() {
    let (env, host, resource) = sandbox_host();
    env.sandbox
        .inject(Fault::Status(503), Match::path("/v2/users"), 2);
    let out = host
        .invoke(&resource, "list_users", &json!({"page_size": 5}))
        .await
        .expect("retried");
    assert_eq!(out.data["users"].as_array().unwrap().len(), 5);
    assert_eq!(api_statuses(&env), [503, 503, 200]);
}

#[tokio::test]
async fn hung_upstream_times_out_saying_what_it_waited_for() {
    let (env, host, resource) = impatient_sandbox_host();
    env.sandbox
        .inject(Fault::Hang, Match::path("/v2/users/me"), 1);
    let err = get_me(&host, &resource).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err.class(), soar_host::ErrorClass::Failed));
    assert!(
        text.contains("timed out") || text.contains("timeout"),
        "{text}"
    );
    assert!(text.contains("/v2/users/me"), "{text}");
    // The host goes on serving.
    let out = get_me(&host, &resource).await.expect("next call works");
    assert!(out.data["email"].is_string());
}

/// Run every action once and check each request the sandbox received
/// against Zoom's own OpenAPI specs.
#[tokio::test]
async fn every_request_matches_zooms_published_api() {
    let (env, host, resource) = sandbox_host();
    let owner = env.sandbox.owner();
    let id = owner["id"].as_str().unwrap().to_owned();
    let meetings = env.sandbox.meeting_ids("me");
    let (recurring, occurrence) = crate::common::recurring_meeting(&env.sandbox);
    let calls: Vec<(&str, Value)> = vec![
        ("get_user", json!({"user_id": "me", "login_type": 100})),
        (
            "list_users",
            json!({"status": "active", "page_size": 10, "limit": 15}),
        ),
        (
            "update_user",
            json!({"user_id": id, "first_name": "Ada", "type": 1, "use_pmi": true, "phone_numbers": [{"country": "US", "code": "+1", "number": "5550100", "label": "Mobile"}]}),
        ),
        (
            "get_user_settings",
            json!({"user_id": id, "option": "meeting_authentication", "login_type": 100}),
        ),
        (
            "update_user_settings",
            json!({"user_id": id, "settings": {"in_meeting": {"chat": false}}}),
        ),
        (
            "list_meetings",
            json!({"user_id": "me", "type": "upcoming", "page_size": 10, "limit": 12, "from": "2024-01-01", "to": "2030-01-01"}),
        ),
        ("get_meeting_invitation", json!({"meeting_id": meetings[0]})),
        (
            "update_meeting",
            json!({"meeting_id": meetings[0], "topic": "Bridge", "duration": 30, "type": 2, "settings": {"waiting_room": true}}),
        ),
        (
            "delete_meeting",
            json!({"meeting_id": recurring, "occurrence_id": occurrence, "cancel_meeting_reminder": false}),
        ),
    ];
    for (action, params) in calls {
        host.invoke(&resource, action, &params)
            .await
            .unwrap_or_else(|e| panic!("{action}: {e}"));
    }
    host.test(&resource).await.expect("test call");
    let spec = Spec::load();
    let requests = env.api_requests();
    assert!(requests.len() >= 10);
    for request in &requests {
        if let Err(problems) = spec.check(request) {
            panic!(
                "{} {} drifts from Zoom's API: {problems:?}",
                request.method, request.path
            );
        }
    }
}

#[tokio::test]
async fn rate_limit_with_an_http_date_is_waited_out() {
    let (env, host, resource) = sandbox_host();
    let at = std::time::SystemTime::now() + Duration::from_secs(2);
    env.sandbox.inject(
        Fault::RateLimited {
            retry_after: Some(httpdate::fmt_http_date(at)),
            rate_limit_type: None,
        },
        Match::path("/v2/users/me"),
        1,
    );
    let out = get_me(&host, &resource)
        .await
        .expect("waited, then retried");
    assert!(out.data["email"].is_string());
    assert_eq!(api_statuses(&env), [429, 200]);
}

#[tokio::test]
async fn connection_resets_are_retried_for_reads_and_updates() {
    let (env, host, resource) = sandbox_host();
    env.sandbox
        .inject(Fault::ResetConnection, Match::path("/v2/users/me"), 1);
    let out = get_me(&host, &resource)
        .await
        .expect("retried after the reset");
    assert!(out.data["email"].is_string());
    // 0: the sandbox recorded the request and dropped the connection unanswered.
    assert_eq!(api_statuses(&env), [0, 200]);

    // Zoom's PATCH updates are idempotent too: the same body twice leaves the same meeting.
    env.sandbox.clear_requests();
    let id = env.sandbox.meeting_ids("me")[0];
    env.sandbox
        .inject(Fault::ResetConnection, Match::path("/v2/meetings/"), 1);
    host.invoke(
        &resource,
        "update_meeting",
        &json!({"meeting_id": id, "topic": "After reset"}),
    )
    .await
    .expect("retried after the reset");
    assert_eq!(api_statuses(&env), [0, 204]);
    assert_eq!(env.sandbox.meeting(id).unwrap()["topic"], "After reset");
}

#[tokio::test]
async fn persistent_server_errors_give_up_after_bounded_attempts() {
    let (env, host, resource) = sandbox_host();
    env.sandbox
        .inject(Fault::Status(502), Match::path("/v2/users/me"), 100);
    let err = get_me(&host, &resource).await.unwrap_err();
    let Error::Action { failure, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(failure.http_status, Some(502), "{err}");
    assert!(failure.retryable(), "{err}");
    assert_eq!(env.api_requests().len(), 4, "one try and three retries");
    env.sandbox.clear_faults();
    get_me(&host, &resource).await.expect("the next call works");
}

#[tokio::test]
async fn the_deadline_covers_the_token_fetch() {
    let (env, host, resource) = impatient_sandbox_host();
    env.sandbox
        .inject(Fault::Hang, Match::path("/oauth/token"), 1);
    let started = std::time::Instant::now();
    let err = get_me(&host, &resource).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    // The HTTP request's own timeout and the action's deadline are the same
    // instant; whichever the runtime sees first reports, as the same kind.
    let text = err.to_string();
    assert_eq!(err.kind(), soar_host::ErrorKind::Timeout, "{text}");
    assert!(text.contains("POST 127.0.0.1/oauth/token"), "{text}");
    assert!(env.api_requests().is_empty(), "no API call without a token");
}

/// A 200 whose body is not JSON (a proxy's or captive portal's page) is an
/// upstream error, both for actions that pass Zoom's answer on as it came
/// (`get_user`) and for those that build their result from it.
#[tokio::test]
async fn an_answer_that_is_not_json_is_an_upstream_error() {
    let (env, host, resource) = sandbox_host();
    let page = "<html><body>Please sign in to the proxy</body></html>";
    for (action, params, path) in [
        ("get_user", json!({"user_id": "me"}), "/v2/users/me"),
        ("list_users", json!({"page_size": 5}), "/v2/users"),
    ] {
        env.sandbox
            .inject(Fault::Garbled(page.into()), Match::path(path), 1);
        let err = host.invoke(&resource, action, &params).await.unwrap_err();
        let Error::Action { failure, .. } = &err else {
            panic!("{action}: {err:?}")
        };
        assert_eq!(failure.kind, ErrorKind::Upstream, "{action}");
        assert!(
            failure.message.contains("not JSON"),
            "{action}: {failure:?}"
        );
        assert!(
            !failure.message.contains("sign in"),
            "{action}: {failure:?}"
        );
        // The next call gets Zoom's answer.
        let out = host.invoke(&resource, action, &params).await.expect(action);
        assert!(out.data.is_object(), "{action}: {}", out.data);
    }
}

/// A warm start takes the manifest from beside the compiled component
/// instead of asking the component again; a damaged one is asked again and
/// rewritten.
#[tokio::test]
async fn a_warm_start_reads_the_manifest_from_the_compile_cache() {
    let env = Env::new();
    let resource = resource(&env);
    let cache = tempfile::tempdir().expect("a cache directory");
    let host = || {
        Host::new(HostOptions {
            cache_dir: Some(cache.path().to_path_buf()),
            ..crate::common::host_options()
        })
        .expect("host starts")
    };
    let described = host().manifest(&resource).await.expect("manifest");
    let files: Vec<_> = walk(cache.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".manifest.json"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let file = &files[0];
    let stored: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    assert_eq!(stored, serde_json::to_value(&described).unwrap());

    // What the file says is what a new host reports: it was read, not asked.
    let mut edited = stored.clone();
    edited["title"] = json!("Zoom (from the cache)");
    std::fs::write(file, edited.to_string()).unwrap();
    let warm = host().manifest(&resource).await.expect("manifest");
    assert_eq!(warm.title, "Zoom (from the cache)");

    // A damaged file: the component is asked again and the file rewritten.
    std::fs::write(file, "{\"name\": ").unwrap();
    let again = host().manifest(&resource).await.expect("manifest");
    assert_eq!(
        serde_json::to_value(&again).unwrap(),
        serde_json::to_value(&described).unwrap()
    );
    let rewritten: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    assert_eq!(rewritten, stored);
    // And actions still run.
    let out = host()
        .invoke(&resource, "get_user", &json!({"user_id": "me"}))
        .await
        .expect("get_user");
    assert!(out.data["email"].is_string());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// An answer over the 32 MiB limit fails at once: asking again would get
/// the same, so even an idempotent GET is sent once.
#[tokio::test]
async fn an_answer_over_the_size_limit_fails_at_once() {
    let (env, host, resource) = sandbox_host();
    env.sandbox.inject(
        Fault::Garbled("x".repeat((32 << 20) + 1)),
        Match::path("/v2/users/me"),
        1,
    );
    let err = get_me(&host, &resource).await.unwrap_err();
    let Error::Action { failure, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(failure.kind, ErrorKind::Upstream);
    assert!(failure.message.contains("over 32 MiB"), "{failure:?}");
    let sent: Vec<String> = env.api_requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(sent, ["/v2/users/me"], "sent once, not retried");
    // The next call gets Zoom's answer.
    let out = get_me(&host, &resource).await.expect("get_user");
    assert!(out.data["email"].is_string());
}

/// One `Resource` runs many times in a service; its config is resolved once
/// and kept, except a value read from a file, which is read again on every
/// run: a rotated secret file takes effect at the next run.
#[tokio::test]
async fn a_rotated_secret_file_is_read_at_the_next_run() {
    let env = Env::new();
    let host = host();
    let secret_file = env.write_resource("client_secret.txt", &env.secret());
    let text = env.resource_toml("Zoom Sandbox", "").replace(
        &format!(
            "client_secret = {{ env = \"{}\" }}",
            crate::common::SECRET_VAR
        ),
        "client_secret = { file = \"client_secret.txt\" }",
    );
    assert!(text.contains("client_secret.txt"), "{text}");
    let resource = Resource::load(&env.write_resource("rotating.toml", &text)).expect("loads");
    get_me(&host, &resource)
        .await
        .expect("the first secret is Zoom's");
    std::fs::write(&secret_file, "a-revoked-secret-0000").expect("rotate the file");
    let err = get_me(&host, &resource).await.unwrap_err();
    assert_eq!(err.kind(), soar_host::ErrorKind::Auth, "{err:?}");
    // The new secret asked for its own token (and Zoom refused it).
    assert_eq!(env.token_requests().len(), 2);
    assert_eq!(env.api_requests().len(), 1);
}
