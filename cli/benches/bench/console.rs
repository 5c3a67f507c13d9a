//! The web console's pages with many records stored: the service's
//! database topped up with executions (runs through the API) and events
//! (signed webhook deliveries), then each page fetched over loopback with a
//! session cookie, one request at a time; the time is the client's, from
//! sending the request to the last byte of the HTML (an upper bound of the
//! server's time).

use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::stats::Samples;

/// One page's fetches.
pub struct PageTiming {
    pub page: String,
    pub bytes: usize,
    pub took: Samples,
}

pub struct ConsoleFigures {
    /// Executions and events added before the pages were timed (the
    /// service held those of the earlier sections too).
    pub executions: usize,
    pub events: usize,
    pub pages: Vec<PageTiming>,
}

pub async fn run(url: &str, token: &str, webhook_secret: &str, quick: bool) -> ConsoleFigures {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let n = if quick { 200 } else { 10_000 };
    eprintln!("bench: storing {n} executions and {n} events for the console's pages");
    let mut tasks = JoinSet::new();
    for worker in 0..32 {
        let (client, url, token) = (client.clone(), url.to_owned(), token.to_owned());
        tasks.spawn(async move {
            for _ in (worker..n).step_by(32) {
                let answer = client
                    .post(format!("{url}/v1/resources/zoom/actions/get_user"))
                    .bearer_auth(&token)
                    .body(r#"{"user_id": "me"}"#)
                    .send()
                    .await
                    .expect("the service answers");
                assert!(answer.status().is_success(), "a run was refused");
            }
        });
    }
    for worker in 0..16 {
        let (client, url, secret) = (client.clone(), url.to_owned(), webhook_secret.to_owned());
        tasks.spawn(async move {
            for i in (worker..n).step_by(16) {
                let body = serde_json::json!({
                    "event": "meeting.started",
                    "event_ts": 1_700_000_000_000u64 + i as u64,
                    "payload": {"account_id": "acc", "object": {"id": i, "topic": format!("Meeting {i}")}}
                })
                .to_string();
                let mut request = client
                    .post(format!("{url}/v1/webhooks/zoom"))
                    .body(body.clone());
                for (name, value) in crate::signing::zoom_headers(
                    body.as_bytes(),
                    crate::signing::now_secs(),
                    &secret,
                ) {
                    request = request.header(name, value);
                }
                let answer = request.send().await.expect("the service answers");
                assert!(answer.status().is_success(), "a delivery was refused");
            }
        });
    }
    while let Some(task) = tasks.join_next().await {
        task.expect("a seeding task panicked");
    }

    let cookie = sign_in(&client, url, token).await;
    let first = |path: &'static str, field: &'static str| {
        let (client, url, token) = (client.clone(), url.to_owned(), token.to_owned());
        async move {
            let text = client
                .get(format!("{url}{path}"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("the service answers")
                .text()
                .await
                .expect("a body");
            let body: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            body[field][0]["id"]
                .to_string()
                .trim_matches('"')
                .to_owned()
        }
    };
    let execution = first("/v1/executions?limit=1", "executions").await;
    let event = first("/v1/events?limit=1", "events").await;
    let pages = [
        "/resources".to_owned(),
        "/resources/zoom".to_owned(),
        "/resources/zoom/actions".to_owned(),
        "/resources/zoom/actions/update_meeting".to_owned(),
        "/executions".to_owned(),
        // A filter no row matches: the whole table is looked through.
        "/executions?status=interrupted&action=none".to_owned(),
        format!("/executions/{execution}"),
        "/events".to_owned(),
        "/events?type=none.matches".to_owned(),
        format!("/events/{event}"),
        "/playbooks".to_owned(),
        "/tokens".to_owned(),
    ];
    let rounds = if quick { 3 } else { 30 };
    let mut timings = Vec::new();
    for page in pages {
        let mut took = Vec::with_capacity(rounds);
        let mut bytes = 0;
        for _ in 0..rounds {
            let started = Instant::now();
            let answer = client
                .get(format!("{url}{page}"))
                .header("cookie", &cookie)
                .send()
                .await
                .expect("the service answers");
            let status = answer.status();
            let html = answer.text().await.expect("a page");
            took.push(started.elapsed());
            assert!(
                status.is_success() && html.contains("<main"),
                "{page}: {status} {html}"
            );
            bytes = html.len();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        timings.push(PageTiming {
            page,
            bytes,
            took: Samples::new(took),
        });
    }
    ConsoleFigures {
        executions: n,
        events: n,
        pages: timings,
    }
}

/// The session cookie of a console sign-in with `token`.
async fn sign_in(client: &reqwest::Client, url: &str, token: &str) -> String {
    let form = client
        .get(format!("{url}/sign-in"))
        .send()
        .await
        .expect("the sign-in page");
    let pre = form.headers()["set-cookie"]
        .to_str()
        .expect("a cookie")
        .split(';')
        .next()
        .expect("a cookie")
        .to_owned();
    let html = form.text().await.expect("the sign-in page");
    let marker = "name=\"form_token\" value=\"";
    let at = html.find(marker).expect("a form token") + marker.len();
    let form_token = &html[at..at + html[at..].find('"').expect("its end")];
    let signed = client
        .post(format!("{url}/sign-in"))
        .header("cookie", pre)
        .form(&[("form_token", form_token), ("token", token), ("next", "/")])
        .send()
        .await
        .expect("sign-in answers");
    signed
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("soar_session="))
        .expect("a session cookie")
        .split(';')
        .next()
        .expect("a cookie")
        .to_owned()
}
