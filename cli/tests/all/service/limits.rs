//! Backpressure: limits on runs in flight and a bounded queue (429 past
//! them), and an upstream's rate limit shared by a resource's runs.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use zoom_sandbox::{Fault, Match};

use super::Served;

#[tokio::test]
async fn past_its_limits_the_service_answers_429_and_keeps_serving() {
    let s = Served::start(&[
        "--max-in-flight",
        "1",
        "--max-per-resource",
        "1",
        "--queue",
        "1",
    ]);
    let token = s.token("t", &[]);
    s.env.sandbox.inject(
        Fault::Delay(Duration::from_millis(1500)),
        Match::method_path("GET", "/v2/users/"),
        2,
    );
    let start = || {
        s.request(
            Method::POST,
            "/v1/resources/zoom/actions/get_user",
            Some(&token),
            &[("Prefer", "respond-async")],
            Some(json!({"user_id": "me"}).to_string()),
        )
    };
    let running = start().await;
    let queued = start().await;
    assert_eq!((running.status, queued.status), (202, 202));
    let refused = start().await;
    assert_eq!(refused.status, 429, "{refused:?}");
    assert_eq!(refused.body["type"], "urn:soar-host:problem:overloaded");
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!(retry >= 1);
    // Still serving meanwhile.
    let health = s.request(Method::GET, "/v1/health", None, &[], None).await;
    assert_eq!(health.status, 200);
    for id in [&running.body["id"], &queued.body["id"]] {
        let done = s
            .until(id.as_str().unwrap(), &token, |e| {
                e["finished_at"].is_string()
            })
            .await;
        assert_eq!(done["status"], "succeeded", "{done:#}");
    }
    let metrics = s.metrics().await;
    assert!(
        metrics.contains("soar_runs_rejected_total{resource=\"zoom\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "soar_action_runs_total{plugin=\"zoom\",action=\"get_user\",outcome=\"succeeded\"} 2"
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn when_zoom_rate_limits_a_resource_its_other_runs_wait_instead_of_hammering() {
    let s = Served::start(&[]);
    let token = s.token("t", &[]);
    let warm = s
        .post(
            "/v1/resources/zoom/actions/get_user",
            &token,
            json!({"user_id": "me"}),
        )
        .await;
    assert_eq!(warm.body["status"], "succeeded", "{warm:?}");
    s.env.sandbox.clear_requests();
    s.env.sandbox.inject(
        Fault::RateLimited {
            retry_after: Some("2".into()),
            rate_limit_type: None,
        },
        Match::path("/v2/users/"),
        1,
    );
    let run = || {
        s.post(
            "/v1/resources/zoom/actions/get_user",
            &token,
            json!({"user_id": "me"}),
        )
    };
    let first = run();
    let second = async {
        // After the first was refused.
        tokio::time::sleep(Duration::from_millis(400)).await;
        run().await
    };
    let (first, second) = tokio::join!(first, second);
    for answer in [&first, &second] {
        assert_eq!(answer.body["status"], "succeeded", "{answer:?}");
    }
    // The second waited for the pause instead of sending at once.
    let waited = second.body["timings"]["run_ms"].as_i64().unwrap();
    assert!(waited >= 1000, "the second run did not wait: {second:?}");
    let statuses: Vec<u16> = s
        .env
        .sandbox
        .api_requests()
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [429, 200, 200], "Zoom saw {statuses:?}");
    let metrics = s.metrics().await;
    assert!(
        metrics.contains("soar_rate_limit_waits_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("soar_upstream_retries_total 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413() {
    let s = Served::start(&["--max-body-kib", "1"]);
    let token = s.token("t", &[]);
    let big = json!({"user_id": "me", "padding": "x".repeat(4096)});
    let answer = s
        .post("/v1/resources/zoom/actions/get_user", &token, big)
        .await;
    assert_eq!(answer.status, 413, "{answer:?}");
    assert_eq!(
        answer.body["type"],
        "urn:soar-host:problem:payload-too-large"
    );
    assert_eq!(
        answer.header("content-type"),
        Some("application/problem+json")
    );
}
