//! Stopping and starting: a kill mid-run leaves the run `interrupted`
//! (never run again) and every record kept; SIGTERM lets a run finish and
//! exits 0; SIGHUP reloads resources, skipping a broken file.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use zoom_sandbox::{Fault, Match};

use super::Served;

#[tokio::test]
async fn killed_mid_run_the_run_is_interrupted_and_nothing_is_lost_or_rerun() {
    let mut s = Served::start(&[]);
    let token = s.token("t", &[]);
    let earlier = s
        .post(
            "/v1/resources/zoom/actions/get_user",
            &token,
            json!({"user_id": "me"}),
        )
        .await;
    assert_eq!(earlier.body["status"], "succeeded");
    let event = super::webhooks::deliver(&s, "user.created", None).await;
    assert_eq!(event.status, 200, "{event:?}");

    s.env.sandbox.clear_requests();
    s.env.sandbox.inject(
        Fault::Delay(Duration::from_secs(5)),
        Match::path("/v2/users"),
        1,
    );
    let slow = s
        .request(
            Method::POST,
            "/v1/resources/zoom/actions/list_users",
            Some(&token),
            &[("Prefer", "respond-async")],
            Some("{}".into()),
        )
        .await;
    let id = slow.body["id"].as_str().unwrap().to_owned();
    s.until(&id, &token, |e| e["status"] == "running").await;
    // The request is on its way to Zoom.
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while !s
        .env
        .sandbox
        .requests()
        .iter()
        .any(|r| r.path.starts_with("/v2/users"))
    {
        assert!(
            std::time::Instant::now() < until,
            "the run never reached Zoom"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    s.signal("KILL");
    s.wait(Duration::from_secs(10));

    s.spawn(&[]);
    let after = s.get(&format!("/v1/executions/{id}"), &token).await;
    assert_eq!(after.body["status"], "interrupted", "{after:?}");
    assert_eq!(after.body["error"]["kind"], "interrupted");
    assert_eq!(after.body["error"]["retryable"], false);
    let kept = s
        .get(
            &format!("/v1/executions/{}", earlier.body["id"].as_str().unwrap()),
            &token,
        )
        .await;
    assert_eq!(kept.body["status"], "succeeded");
    assert_eq!(kept.body["data"], earlier.body["data"]);
    let events = s.get("/v1/events", &token).await;
    assert_eq!(
        events.body["events"].as_array().unwrap().len(),
        1,
        "{events:?}"
    );
    // Not run again by the new process.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let list_calls = s
        .env
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.path == "/v2/users")
        .count();
    assert_eq!(list_calls, 1);
}

#[tokio::test]
async fn sigterm_lets_the_run_in_flight_finish_then_exits_0() {
    let mut s = Served::start(&["--grace-secs", "20"]);
    let token = s.token("t", &[]);
    s.env.sandbox.inject(
        Fault::Delay(Duration::from_secs(2)),
        Match::path("/v2/users/"),
        1,
    );
    let request = s.post(
        "/v1/resources/zoom/actions/get_user",
        &token,
        json!({"user_id": "me"}),
    );
    let signal = async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        s.signal("TERM");
    };
    let (answer, ()) = tokio::join!(request, signal);
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["status"], "succeeded", "{answer:?}");
    assert_eq!(s.wait(Duration::from_secs(20)), Some(0), "{}", s.log_text());
    assert!(s.log_text().contains("stopping"));
}

#[tokio::test]
async fn sighup_reloads_resources_and_skips_a_broken_file() {
    let s = Served::start(&[]);
    let token = s.token("t", &[]);
    let dir = s.resources_dir();
    std::fs::copy(dir.join("zoom.toml"), dir.join("second.toml")).unwrap();
    std::fs::write(dir.join("broken.toml"), "plugin = \"zoom\"\n[config\n").unwrap();
    let listed = s.reload(&token, 2).await;
    assert_eq!(
        listed.body["skipped"][0]["file"], "broken.toml",
        "{listed:?}"
    );
    let run = s
        .post(
            "/v1/resources/second/actions/get_user",
            &token,
            json!({"user_id": "me"}),
        )
        .await;
    assert_eq!(run.body["status"], "succeeded", "{run:?}");
    let first = s
        .post(
            "/v1/resources/zoom/actions/get_user",
            &token,
            json!({"user_id": "me"}),
        )
        .await;
    assert_eq!(first.body["status"], "succeeded", "{first:?}");
}

#[tokio::test]
async fn a_public_address_needs_tls_or_an_explicit_plaintext_flag() {
    let s = Served::start(&[]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_soar-host"))
        .args(["serve", "--resources"])
        .arg(s.resources_dir())
        .args(["--listen", "0.0.0.0:0"])
        .env("SOAR_HOST_STATE_DIR", s.state.path())
        .env("SOAR_HOST_CACHE_DIR", crate::common::cache_dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--tls-cert") && stderr.contains("--insecure-plaintext"),
        "{stderr}"
    );
}

#[tokio::test]
async fn with_a_certificate_it_serves_https_only() {
    let tls = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tls");
    let cert = tls.join("cert.pem");
    let key = tls.join("key.pem");
    let s = Served::start(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    assert!(s.url.starts_with("https://127.0.0.1:"), "{}", s.url);
    let trusting = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap(),
        )
        .build()
        .unwrap();
    let token = s.token("t", &[]);
    let run = trusting
        .post(format!("{}/v1/resources/zoom/actions/get_user", s.url))
        .bearer_auth(&token)
        .body(r#"{"user_id": "me"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(run.status(), 200);
    let body: serde_json::Value = serde_json::from_str(&run.text().await.unwrap()).unwrap();
    assert_eq!(body["status"], "succeeded", "{body}");
    // The console's cookies are Secure over TLS, its pages ask for HTTPS.
    let sign_in = trusting
        .get(format!("{}/sign-in", s.url))
        .send()
        .await
        .unwrap();
    let cookie = sign_in.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    assert!(sign_in.headers().contains_key("strict-transport-security"));
    // Plain HTTP on the same port gets no answer.
    let plain = s.url.replace("https://", "http://");
    assert!(reqwest::get(format!("{plain}/v1/health")).await.is_err());
    // A client that does not trust the certificate is refused.
    assert!(reqwest::get(format!("{}/v1/health", s.url)).await.is_err());
}

#[tokio::test]
async fn one_service_per_state_directory() {
    let s = Served::start(&[]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_soar-host"))
        .args(["serve", "--listen", "127.0.0.1:0", "--resources"])
        .arg(s.resources_dir())
        .env("SOAR_HOST_STATE_DIR", s.state.path())
        .env("SOAR_HOST_CACHE_DIR", crate::common::cache_dir())
        .env(crate::common::SECRET_VAR, s.env.secret())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("another `soar-host serve`"), "{stderr}");
    // The first still serves.
    let health = s.request(Method::GET, "/v1/health", None, &[], None).await;
    assert_eq!(health.status, 200);
}
