//! `soar-host auth login|status|logout` against the sandbox's user OAuth:
//! the test plays the browser (the consent page, the decision, the
//! redirect to the CLI's loopback listener) and checks what reached the
//! provider and what the CLI printed and kept: never a token.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::common::{Env, cache_dir};

const APP_SECRET_VAR: &str = "TEST_ZOOM_APP_SECRET";

/// A resource with `auth = "user"` on `env`'s sandbox; `redirect` when given.
fn user_resource(env: &Env, redirect: Option<&str>) -> PathBuf {
    let c = env.sandbox.config();
    let url = env.sandbox.url();
    let redirect = redirect
        .map(|r| format!("redirect_uri = \"{r}\"\n"))
        .unwrap_or_default();
    env.write_resource(
        "zoom-user.toml",
        &format!(
            "plugin = \"zoom\"\nauth = \"user\"\n\n[oauth]\nclient_id = \"{}\"\n\
             client_secret = {{ env = \"{APP_SECRET_VAR}\" }}\n\
             authorize_url = \"{url}oauth/authorize\"\ntoken_url = \"{url}oauth/token\"\n\
             revoke_url = \"{url}oauth/revoke\"\nscopes = [\"user:read\", \"meeting:write\"]\n{redirect}\n\
             [config]\napi_url = \"{url}\"\n",
            c.user_client_id
        ),
    )
}

/// `soar-host auth ARGS…`.
fn command(env: &Env, args: &[&str]) -> Command {
    let mut cmd = soar_host(env);
    cmd.arg("auth").args(args);
    cmd
}

/// `soar-host` on `env`'s state directory, with the app's secret.
fn soar_host(env: &Env) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_soar-host"));
    cmd.env("SOAR_HOST_CACHE_DIR", cache_dir())
        .env("SOAR_HOST_STATE_DIR", state(env))
        .env(APP_SECRET_VAR, &env.sandbox.config().user_client_secret)
        .env_remove("RUST_LOG");
    cmd
}

fn state(env: &Env) -> PathBuf {
    env.dir.path().join("state")
}

/// `auth login RESOURCE --no-browser` started; the sign-in URL it printed.
fn start_login(env: &Env, resource: &Path) -> (Child, String) {
    let mut child = command(
        env,
        &[
            "login",
            resource.to_str().unwrap(),
            "--no-browser",
            "--timeout",
            "30s",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut url = String::new();
    for _ in 0..5 {
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        if line.starts_with("http") {
            url = line.trim().to_owned();
            break;
        }
    }
    assert!(!url.is_empty(), "no sign-in URL printed");
    // Keep reading stderr in the background so the child never blocks on it.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    (child, url)
}

struct Finished {
    code: i32,
    stdout: String,
}

fn finish(child: Child) -> Finished {
    let out = child.wait_with_output().unwrap();
    Finished {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    }
}

fn query_of(url: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(url.split_once('?').map_or("", |(_, q)| q)).unwrap()
}

fn value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The browser: the consent page, the person's decision; where the
/// provider sends the browser next.
async fn consent(url: &str, decision: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client.get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("would like to access your Zoom account")
    );
    let mut form = query_of(url);
    form.push(("decision".into(), decision.into()));
    let base = url.split_once('?').unwrap().0;
    let answer = client.post(base).form(&form).send().await.unwrap();
    assert_eq!(answer.status(), 302);
    answer.headers()["location"].to_str().unwrap().to_owned()
}

/// The browser following the provider's redirect to the CLI's listener.
async fn back_to_cli(location: &str) -> String {
    let answer = reqwest::get(location).await.unwrap();
    assert_eq!(answer.status(), 200);
    answer.text().await.unwrap()
}

fn token_posts(env: &Env) -> Vec<zoom_sandbox::RecordedRequest> {
    env.sandbox
        .requests()
        .into_iter()
        .filter(|r| r.path == "/oauth/token")
        .collect()
}

/// Every byte the CLI kept in the state directory, and `outputs`, free of
/// every token the provider handed out.
fn assert_no_token(env: &Env, outputs: &[&str]) {
    let issued = env.sandbox.user_tokens_issued();
    assert!(!issued.is_empty());
    let mut kept = Vec::new();
    for entry in std::fs::read_dir(state(env)).unwrap() {
        kept.push(std::fs::read(entry.unwrap().path()).unwrap());
    }
    for token in &issued {
        for output in outputs {
            assert!(
                !output.contains(token.as_str()),
                "a token printed: {output}"
            );
        }
        for bytes in &kept {
            assert!(
                !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
                "a token kept in the clear"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_through_the_loopback_redirect_then_status_then_logout() {
    let env = Env::new();
    let resource = user_resource(&env, None);
    let (child, url) = start_login(&env, &resource);
    let asked = query_of(&url);
    assert_eq!(value(&asked, "response_type"), Some("code"));
    assert_eq!(value(&asked, "code_challenge_method"), Some("S256"));
    assert_eq!(value(&asked, "scope"), Some("user:read meeting:write"));
    assert!(value(&asked, "state").is_some_and(|s| s.len() >= 16));
    let redirect = value(&asked, "redirect_uri").unwrap().to_owned();
    assert!(redirect.starts_with("http://127.0.0.1:"), "{redirect}");

    let location = consent(&url, "allow").await;
    assert!(location.starts_with(&redirect), "{location}");
    let page = back_to_cli(&location).await;
    assert!(page.contains("Signed in"), "{page}");
    let login = finish(child);
    assert_eq!(login.code, 0, "{}", login.stdout);
    let status: Value = serde_json::from_str(&login.stdout).unwrap();
    assert_eq!(status["signed_in"], true);
    assert_eq!(status["refreshable"], true);
    // Who signed in: the connectivity test as that user.
    let identity = status["identity"].as_str().unwrap_or_default();
    assert!(identity.contains(zoom_sandbox::OWNER_EMAIL), "{status}");
    assert!(status["scopes"].as_array().is_some_and(|s| !s.is_empty()));
    assert!(
        status["expires_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );

    // One code exchange reached the provider, with the verifier of the
    // challenge and the app's credentials.
    let posts = token_posts(&env);
    assert_eq!(posts.len(), 1, "{posts:#?}");
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&posts[0].body).unwrap();
    assert_eq!(value(&form, "grant_type"), Some("authorization_code"));
    assert!(value(&form, "code_verifier").is_some_and(|v| v.len() >= 43));
    assert!(
        posts[0]
            .header("authorization")
            .is_some_and(|h| h.starts_with("Basic "))
    );

    let shown = command(&env, &["status", resource.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(shown.status.success(), "{shown:?}");
    let shown_text = String::from_utf8_lossy(&shown.stdout).into_owned();
    let status: Value = serde_json::from_str(&shown_text).unwrap();
    assert_eq!(status["signed_in"], true);
    assert!(
        status["identity"]
            .as_str()
            .is_some_and(|i| i.contains(zoom_sandbox::OWNER_EMAIL)),
        "the identity is kept: {status}"
    );
    assert_no_token(&env, &[&login.stdout, &shown_text, &url, &location]);

    let out = command(&env, &["logout", resource.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let revokes: Vec<_> = env
        .sandbox
        .requests()
        .into_iter()
        .filter(|r| r.path == "/oauth/revoke")
        .collect();
    assert_eq!(revokes.len(), 1);
    assert_eq!(revokes[0].status, 200);
    // The grant is over at the provider: its access token no longer works.
    let access = &env.sandbox.user_tokens_issued()[0];
    let me = reqwest::Client::new()
        .get(format!("{}v2/users/me", env.sandbox.url()))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
    let after = command(&env, &["status", resource.to_str().unwrap()])
        .output()
        .unwrap();
    let status: Value = serde_json::from_slice(&after.stdout).unwrap();
    assert_eq!(status["signed_in"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_state_or_a_declined_consent_exchanges_nothing() {
    let env = Env::new();
    let resource = user_resource(&env, None);

    // An answer that is not this login's: a forged `state`.
    let (child, url) = start_login(&env, &resource);
    let location = consent(&url, "allow").await;
    let forged = location.replace(
        &format!("state={}", value(&query_of(&location), "state").unwrap()),
        "state=forged",
    );
    back_to_cli(&forged).await;
    let login = finish(child);
    assert_eq!(login.code, 2);
    assert!(token_posts(&env).is_empty(), "the code was never exchanged");

    // The person declines.
    let (child, url) = start_login(&env, &resource);
    let location = consent(&url, "deny").await;
    assert!(location.contains("error=access_denied"), "{location}");
    back_to_cli(&location).await;
    assert_eq!(finish(child).code, 2);
    assert!(token_posts(&env).is_empty());
    let status = command(&env, &["status", resource.to_str().unwrap()])
        .output()
        .unwrap();
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["signed_in"], false);
}

#[test]
fn a_redirect_off_loopback_and_an_account_resource_are_refused_before_anything_is_sent() {
    let env = Env::new();
    let resource = user_resource(&env, Some("https://soar.example.com/callback"));
    let out = command(&env, &["login", resource.to_str().unwrap(), "--no-browser"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("must be http://127.0.0.1"),
        "{out:?}"
    );

    // A resource that pins its egress elsewhere: the provider is off its list.
    let text = std::fs::read_to_string(user_resource(&env, None)).unwrap();
    let pinned = env.write_resource(
        "zoom-pinned.toml",
        &text.replace(
            "auth = \"user\"\n",
            "auth = \"user\"\negress = [\"https://api.zoom.us\"]\n",
        ),
    );
    let out = command(&env, &["login", pinned.to_str().unwrap(), "--no-browser"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not in the resource's `egress` list"),
        "{out:?}"
    );

    let out = command(&env, &["status", env.resource.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`auth` is not \"user\""),
        "{out:?}"
    );
    assert!(env.sandbox.requests().is_empty());
}

/// What a person removing the app does: the provider ends the grant of
/// `token` (an access or refresh token of it).
pub(crate) async fn revoke_at_provider(token: &str, env: &Env) {
    let c = env.sandbox.config();
    let revoked = reqwest::Client::new()
        .post(format!("{}oauth/revoke", env.sandbox.url()))
        .basic_auth(&c.user_client_id, Some(&c.user_client_secret))
        .query(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
}

/// Sign `resource` in through the whole flow.
async fn sign_in(env: &Env, resource: &Path) {
    let (child, url) = start_login(env, resource);
    let location = consent(&url, "allow").await;
    back_to_cli(&location).await;
    let login = finish(child);
    assert_eq!(login.code, 0, "{}", login.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_processes_refresh_once_and_a_refused_refresh_needs_a_new_login() {
    // Signed in with an access token that lives 60 s: within the two
    // minutes before expiry in which the host refreshes. The refreshed one
    // lives an hour.
    let env = Env::new();
    let resource = user_resource(&env, None);
    env.sandbox.set_user_token_ttl(60);
    sign_in(&env, &resource).await;
    env.sandbox.set_user_token_ttl(3600);
    // The login's own connectivity test may have refreshed already.
    let base = env.sandbox.user_refreshes();
    let path = resource.to_str().unwrap().to_owned();

    let racers: Vec<Child> = (0..8)
        .map(|_| {
            command(&env, &["refresh", &path])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut refreshed = 0;
    let mut outputs = Vec::new();
    for racer in racers {
        let out = racer.wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
        let status: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(status["signed_in"], true);
        refreshed += usize::from(status["refreshed"] == true);
        outputs.push(String::from_utf8_lossy(&out.stdout).into_owned());
        outputs.push(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    assert_eq!(
        refreshed, 1,
        "one process refreshed, the others used its token"
    );
    assert_eq!(
        env.sandbox.user_refreshes(),
        base + 1,
        "one refresh reached the provider"
    );
    let outputs: Vec<&str> = outputs.iter().map(String::as_str).collect();
    assert_no_token(&env, &outputs);

    // The person removes the app: the provider refuses the refresh token.
    revoke_at_provider(env.sandbox.user_tokens_issued().last().unwrap(), &env).await;
    let out = command(&env, &["refresh", &path, "--force"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("no longer valid") && said.contains("auth login"),
        "{said}"
    );
    assert_eq!(env.sandbox.user_refreshes(), base + 2);
    let status = command(&env, &["status", &path]).output().unwrap();
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["signed_in"], false);
    assert!(
        status["reauth_required"]
            .as_str()
            .is_some_and(|r| r.contains("invalid_grant")),
        "{status}"
    );
    // Nothing tries that token again.
    let out = command(&env, &["refresh", &path, "--force"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        env.sandbox.user_refreshes(),
        base + 2,
        "no second try at a refused token"
    );
    // A new login mends it.
    sign_in(&env, &resource).await;
    let status = command(&env, &["status", &path]).output().unwrap();
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["signed_in"], true, "{status}");
}

#[test]
fn the_shipped_sandbox_user_resource_reads_and_starts_signed_out() {
    let env = Env::new();
    let shipped =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/resources/zoom-sandbox-user.toml");
    let out = command(&env, &["status", shipped.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["signed_in"], false);
    assert_eq!(status["resource"], "Zoom Sandbox (user)");
}

/// `invoke get_user` on the user resource at `path`, which must be refused
/// with exit 2 and kind `reauth-required`: its envelope.
fn refused_for_reauth(env: &Env, path: &str) -> Value {
    let out = soar_host(env)
        .args(["invoke", path, "get_user", "-p", "user_id=me", "--envelope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let envelope: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(envelope["error"]["kind"], "reauth-required", "{envelope}");
    envelope
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_and_the_test_run_with_the_user_s_token() {
    let env = Env::new();
    let resource = user_resource(&env, None);
    let path = resource.to_str().unwrap().to_owned();

    // Not signed in: refused before anything reaches Zoom.
    let envelope = refused_for_reauth(&env, &path);
    assert!(
        envelope["error"]["message"]
            .as_str()
            .unwrap()
            .contains("auth login")
    );
    assert!(env.sandbox.api_requests().is_empty());

    sign_in(&env, &resource).await;
    let access = env.sandbox.user_tokens_issued()[0].clone();
    let out = soar_host(&env)
        .args(["invoke", &path, "get_user", "-p", "user_id=me"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let user: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(user["email"], zoom_sandbox::OWNER_EMAIL);
    let call = env.sandbox.api_requests().pop().unwrap();
    assert_eq!(call.path, "/v2/users/me");
    assert_eq!(
        call.header("authorization"),
        Some(format!("Bearer {access}").as_str())
    );
    // No Server-to-Server token was asked for: the resource has no such app.
    assert!(
        token_posts(&env)
            .iter()
            .all(|r| r.query_value("grant_type") != Some("account_credentials")),
        "{:#?}",
        token_posts(&env)
    );
    let out = soar_host(&env)
        .args(["test", &path, "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["summary"].as_str().unwrap().contains("as the user"),
        "{report}"
    );
    // The scopes the sign-in was granted, and which actions they allow.
    let scopes = report["scopes"].as_array().expect("scopes");
    assert!(scopes.iter().any(|s| s == "user:read:admin"), "{report}");
    assert!(!scopes.iter().any(|s| s == "phone:write:admin"), "{report}");
    let ready = |action: &str| {
        report["readiness"]
            .as_array()
            .expect("readiness")
            .iter()
            .find(|r| r["action"] == action)
            .unwrap_or_else(|| panic!("{action} in {report}"))["ready"]
            .clone()
    };
    assert_eq!(ready("get_user"), true, "{report}");
    assert_no_token(
        &env,
        &[
            &String::from_utf8_lossy(&out.stdout),
            &String::from_utf8_lossy(&out.stderr),
        ],
    );

    // The user removes the app; the next call's refresh is refused: the
    // kind says a person must sign in, and Zoom's API is not called.
    env.sandbox.set_user_token_ttl(60);
    sign_in(&env, &resource).await;
    revoke_at_provider(env.sandbox.user_tokens_issued().last().unwrap(), &env).await;
    env.sandbox.clear_requests();
    refused_for_reauth(&env, &path);
    assert!(
        env.sandbox.api_requests().is_empty(),
        "nothing reached the API"
    );
}

/// A resource with `auth = "user"` on `env`'s sandbox in `dir` (for a
/// service's or a worker's resources directory), its app's secret read from
/// a file beside it.
pub(crate) fn write_user_resource(env: &Env, dir: &Path, name: &str) -> PathBuf {
    let c = env.sandbox.config();
    let url = env.sandbox.url();
    std::fs::write(dir.join("app-secret"), &c.user_client_secret).unwrap();
    let resource = dir.join(name);
    std::fs::write(
        &resource,
        format!(
            "plugin = \"zoom\"\nauth = \"user\"\n\n[oauth]\nclient_id = \"{}\"\n\
             client_secret = {{ file = \"app-secret\" }}\n\
             authorize_url = \"{url}oauth/authorize\"\ntoken_url = \"{url}oauth/token\"\n\n\
             [config]\napi_url = \"{url}\"\n",
            c.user_client_id
        ),
    )
    .unwrap();
    resource
}

/// Sign `resource` in through the library, the test as the browser: what
/// the service's users would have done with `auth login` on its state
/// directory.
pub(crate) async fn sign_in_with_library(resource: &Path, state: &Path) {
    use soar_host::user_auth;
    let resource = soar_host::Resource::load(resource).unwrap();
    let login = user_auth::begin(&resource, "http://127.0.0.1:9/callback").unwrap();
    let location = consent(&login.url, "allow").await;
    let store = soar_host::Store::open(state).unwrap();
    user_auth::finish(&resource, &store, state, login, &query_of(&location))
        .await
        .unwrap();
}

/// Four CLI processes and four calls through the service on one state
/// directory, while the user's token is about to expire: one refresh
/// reaches the provider, every call succeeds with the refreshed token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_and_cli_processes_share_one_refresh() {
    let s = crate::service::Served::start(&[]);
    let env = &s.env;
    let resource = write_user_resource(env, &s.resources, "zoom-user.toml");
    let token = s.token("ops", &[]);
    s.reload(&token, 2).await;
    env.sandbox.set_user_token_ttl(60);
    sign_in_with_library(&resource, s.state.path()).await;
    env.sandbox.set_user_token_ttl(3600);
    env.sandbox.clear_requests();

    let state = s.state.path().to_str().unwrap().to_owned();
    let path = resource.to_str().unwrap().to_owned();
    let processes: Vec<_> = (0..4)
        .map(|_| {
            let (state, path) = (state.clone(), path.clone());
            std::thread::spawn(move || {
                crate::common::run_cli(
                    &["invoke", &path, "get_user", "-p", "user_id=me"],
                    &[("SOAR_HOST_STATE_DIR", &state)],
                )
            })
        })
        .collect();
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (client, url, token) = (s.client.clone(), s.url.clone(), token.clone());
        calls.spawn(async move {
            let answer = client
                .post(format!("{url}/v1/resources/zoom-user/actions/get_user"))
                .bearer_auth(token)
                .body(r#"{"user_id": "me"}"#)
                .send()
                .await
                .unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        });
    }
    while let Some(call) = calls.join_next().await {
        let (status, body) = call.unwrap();
        assert!(
            status == 200 && body.contains("\"status\":\"succeeded\""),
            "{status} {body}\n{}",
            s.log_text()
        );
    }
    for process in processes {
        let run = process.join().unwrap();
        assert_eq!(run.code, 0, "{run:?}");
    }
    assert_eq!(env.sandbox.user_refreshes(), 1, "one refresh for all eight");
    let refreshed = env.sandbox.user_tokens_issued()[2].clone();
    let calls = env.sandbox.api_requests();
    assert_eq!(calls.len(), 8, "{calls:#?}");
    for call in &calls {
        assert_eq!(
            call.header("authorization"),
            Some(format!("Bearer {refreshed}").as_str()),
            "every call with the refreshed token"
        );
    }
    assert!(
        !s.log_text().contains(&refreshed),
        "a token in the service's log"
    );
}

/// Zoom ends the user's access token early: the call's 401 gets one new
/// token and the request once more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_the_api_refuses_is_renewed_once_and_the_call_sent_again() {
    let env = Env::new();
    let resource = user_resource(&env, None);
    sign_in(&env, &resource).await;
    env.sandbox.clear_requests();
    env.sandbox.inject(
        zoom_sandbox::Fault::ExpireTokens,
        zoom_sandbox::Match::method_path("GET", "/v2/users/me"),
        1,
    );
    let out = soar_host(&env)
        .args([
            "invoke",
            resource.to_str().unwrap(),
            "get_user",
            "-p",
            "user_id=me",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let calls: Vec<(String, u16)> = env
        .sandbox
        .api_requests()
        .iter()
        .map(|r| (r.path.clone(), r.status))
        .collect();
    assert_eq!(
        calls,
        [
            ("/v2/users/me".to_owned(), 401),
            ("/v2/users/me".to_owned(), 200)
        ]
    );
    assert_eq!(env.sandbox.user_refreshes(), 1);
    let renewed = env.sandbox.user_tokens_issued()[2].clone();
    let last = env.sandbox.api_requests().pop().unwrap();
    assert_eq!(
        last.header("authorization"),
        Some(format!("Bearer {renewed}").as_str())
    );
}

/// What a console's Connect button does: the service hands out the consent
/// URL, the provider sends the browser back to the service's callback, and
/// the service's calls then act as that user. A callback whose `state` the
/// service did not hand out exchanges nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_through_the_service_s_callback_route() {
    let s = crate::service::Served::start(&[]);
    let env = &s.env;
    write_user_resource(env, &s.resources, "zoom-user.toml");
    let token = s.token("ops", &[]);
    s.reload(&token, 2).await;

    // Not signed in yet: the service's call says who must do what.
    let run = s
        .post(
            "/v1/resources/zoom-user/actions/get_user",
            &token,
            serde_json::json!({"user_id": "me"}),
        )
        .await;
    assert_eq!(run.body["status"], "failed", "{run:?}");
    assert_eq!(run.body["error"]["kind"], "reauth-required", "{run:?}");

    // A forged callback exchanges nothing.
    let forged = reqwest::get(format!("{}/v1/auth/callback?state=forged&code=x", s.url))
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);

    let started = s
        .post(
            "/v1/resources/zoom-user/auth/login",
            &token,
            serde_json::json!({}),
        )
        .await;
    assert_eq!(started.status, 200, "{started:?}");
    let redirect = started.body["redirect_uri"].as_str().unwrap();
    assert_eq!(redirect, format!("{}/v1/auth/callback", s.url));
    let location = consent(started.body["authorize_url"].as_str().unwrap(), "allow").await;
    assert!(location.starts_with(redirect), "{location}");
    let page = reqwest::get(&location).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Signed in"));
    // The same answer again: used already.
    assert_eq!(reqwest::get(&location).await.unwrap().status(), 400);
    assert_eq!(token_posts(env).len(), 1, "one code exchange");

    let run = s
        .post(
            "/v1/resources/zoom-user/actions/get_user",
            &token,
            serde_json::json!({"user_id": "me"}),
        )
        .await;
    assert_eq!(run.body["status"], "succeeded", "{run:?}");
    let issued = env.sandbox.user_tokens_issued();
    let call = env.sandbox.api_requests().pop().unwrap();
    assert_eq!(
        call.header("authorization"),
        Some(format!("Bearer {}", issued[0]).as_str())
    );
    let log = s.log_text();
    for secret in issued.iter().chain([&location]) {
        assert!(
            !log.contains(secret.as_str()),
            "the service logged a token or the code"
        );
    }
}

/// A recording's `download_url` on another host than the API (as real
/// Zoom's `zoom.us` beside `api.zoom.us`): the download takes the user's
/// token there, and the storage host it redirects to gets none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_on_another_host_takes_the_user_s_token() {
    let env = Env::new();
    let api = env.sandbox.url();
    let port = api
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    let storage = env.sandbox.storage_url();
    let c = env.sandbox.config();
    // The API by the name `localhost`; download_url's are 127.0.0.1's.
    let resource = env.write_resource(
        "zoom-user.toml",
        &format!(
            "plugin = \"zoom\"\nauth = \"user\"\n\
             egress = [\"http://localhost:{port}\", \"{}\", \"{}\"]\n\n\
             [oauth]\nclient_id = \"{}\"\nclient_secret = {{ env = \"{APP_SECRET_VAR}\" }}\n\
             authorize_url = \"{api}oauth/authorize\"\ntoken_url = \"{api}oauth/token\"\n\n\
             [config]\napi_url = \"http://localhost:{port}/\"\n",
            api.trim_end_matches('/'),
            storage.trim_end_matches('/'),
            c.user_client_id
        ),
    );
    sign_in(&env, &resource).await;
    let meeting = env.sandbox.meeting_ids("me")[0];
    let file = env.sandbox.add_recording(meeting, 1 << 20);
    let out_dir = env.dir.path().join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let params = serde_json::json!({"meeting_id": file.meeting_id, "file_id": file.id});
    let out = soar_host(&env)
        .args([
            "invoke",
            resource.to_str().unwrap(),
            "download_recording",
            "--params",
        ])
        .arg(params.to_string())
        .arg("--output")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let access = &env.sandbox.user_tokens_issued()[0];
    let asked = env
        .sandbox
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/rec/download/"))
        .expect("the download_url was asked");
    assert_eq!(
        asked.header("authorization"),
        Some(format!("Bearer {access}").as_str())
    );
    for r in env.sandbox.storage_requests() {
        assert!(
            r.header("authorization").is_none(),
            "the token went to storage: {r:?}"
        );
    }
}
