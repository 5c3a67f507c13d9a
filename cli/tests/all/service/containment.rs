//! What contract 0.2 gave a plugin — webhooks, downloads — turned against
//! the service by the hostile plugin of that contract
//! (fixtures/hostile-plugin/examples/hostile02), and shown contained: guests
//! that spin leave the service answering, a webhook reply is framed by the
//! service and scanned whole, events are bounded, checked and told apart by
//! their content, and a resource file cannot name a resource `..`.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use super::{Answer, Served};

const TOKEN: &str = "hostile02-very-secret-token";

/// A resource file for the hostile plugin (`silent`: the one declaring no
/// event types); `top` adds top-level keys.
fn hostile(silent: bool, top: &str) -> String {
    let plugin = match silent {
        false => test_plugins::HOSTILE02,
        true => test_plugins::HOSTILE02_SILENT,
    };
    format!(
        "plugin = \"{plugin}\"\ntimeout_secs = 3\n{top}\n[config]\napi_url = \"http://127.0.0.1:9/\"\ntoken = \"{TOKEN}\"\n"
    )
}

async fn webhook(s: &Served, resource: &str, body: Value) -> Answer {
    s.request(
        Method::POST,
        &format!("/v1/webhooks/{resource}"),
        None,
        &[("content-type", "application/json")],
        Some(body.to_string()),
    )
    .await
}

/// A webhook the service refused as the plugin's fault (503), saying `says`.
async fn refused(s: &Served, resource: &str, body: Value, says: &str) -> Answer {
    let answer = webhook(s, resource, body.clone()).await;
    assert_eq!(answer.status, 503, "{body}: {answer:?}");
    let detail = answer.body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(says),
        "{body}: expected `{says}` in {answer:?}"
    );
    answer
}

async fn events(s: &Served, token: &str) -> Vec<Value> {
    let answer = s.get("/v1/events?limit=500", token).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.body["events"].as_array().unwrap().clone()
}

#[tokio::test]
async fn guests_that_spin_leave_the_service_answering_and_end_at_their_deadline() {
    let s = Served::start_with(&[("hostile.toml", hostile(false, ""))], &[]);
    let token = s.token("t", &[]);
    let spinners = 2 * std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut ids = Vec::new();
    for _ in 0..spinners {
        let started = s
            .request(
                Method::POST,
                "/v1/resources/hostile/actions/spin",
                Some(&token),
                &[("Prefer", "respond-async")],
                Some("{}".into()),
            )
            .await;
        assert_eq!(started.status, 202, "{started:?}");
        ids.push(started.body["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        s.until(id, &token, |e| e["status"] == "running").await;
    }
    // As many webhook receivers spinning at once, each within its 2 s.
    let receivers: Vec<_> = (0..spinners)
        .map(|_| {
            let (client, url) = (s.client.clone(), format!("{}/v1/webhooks/hostile", s.url));
            tokio::spawn(async move {
                let started = Instant::now();
                let answer = client
                    .post(url)
                    .body(json!({"attack": "spin"}).to_string())
                    .send()
                    .await
                    .unwrap();
                (answer.status().as_u16(), started.elapsed())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The service answers while every guest still spins: its answers come
    // before any of them ends (they run for seconds).
    for _ in 0..5 {
        let health = s.request(Method::GET, "/v1/health", None, &[], None).await;
        assert_eq!(health.status, 200, "{health:?}");
    }
    let listed = s.get("/v1/executions?limit=100", &token).await;
    assert_eq!(listed.status, 200);
    for id in &ids {
        let run = s.get(&format!("/v1/executions/{id}"), &token).await;
        assert_eq!(
            run.body["status"], "running",
            "health was answered only after a guest stopped: {run:?}"
        );
    }
    assert!(
        receivers.iter().all(|r| !r.is_finished()),
        "health was answered only after a webhook receiver stopped"
    );

    // Each ends at its own deadline (3 s for runs, 2 s for webhooks), plus a
    // margin far below what a stalled runtime took (the whole spin).
    for id in &ids {
        let done = s.until(id, &token, |e| e["finished_at"].is_string()).await;
        assert_eq!(done["status"], "failed", "{done:#}");
        assert_eq!(done["error"]["kind"], "timeout", "{done:#}");
        let ran = done["timings"]["run_ms"].as_i64().unwrap();
        assert!((2900..6000).contains(&ran), "ran {ran} ms: {done:#}");
    }
    for receiver in receivers {
        let (status, took) = receiver.await.unwrap();
        assert_eq!(status, 503);
        assert!(took < Duration::from_secs(5), "{took:?}");
    }
    // And the next call is served.
    let health = s.request(Method::GET, "/v1/health", None, &[], None).await;
    assert_eq!(health.status, 200);
}

/// `request` written on a raw connection; what came back, as text.
fn raw_exchange(s: &Served, request: &str) -> String {
    let address = s.url.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(address).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // The service may answer and close before it has read all of it.
    let _ = conn.write_all(request.as_bytes());
    let mut raw = Vec::new();
    let _ = conn.read_to_end(&mut raw);
    String::from_utf8_lossy(&raw).into_owned()
}

/// A webhook POST on a raw connection, then a health check on the same
/// connection: the service's framing, not the plugin's, decides where the
/// first answer ends. Returns both answers' heads and the first's body.
fn two_requests_on_one_connection(s: &Served, body: &str) -> (String, String, String) {
    let text = raw_exchange(
        s,
        &format!(
            "POST /v1/webhooks/hostile HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}GET /v1/health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
            body.len()
        ),
    );
    let (head, rest) = text.split_once("\r\n\r\n").expect("a head");
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap_or_else(|| panic!("the service frames with content-length: {head}"));
    let (first_body, second) = rest.split_at(length);
    let second_head = second.split("\r\n\r\n").next().unwrap().to_owned();
    (head.to_owned(), first_body.to_owned(), second_head)
}

#[tokio::test]
async fn a_webhook_reply_is_framed_by_the_service_and_keeps_to_its_allow_list() {
    let s = Served::start_with(&[("hostile.toml", hostile(false, ""))], &[]);
    let attack = json!({
        "attack": "reply",
        "status": 202,
        "body": "{\"ok\":true}",
        "headers": [
            ["content-length", "1"],
            ["transfer-encoding", "chunked"],
            ["connection", "close"],
            ["set-cookie", "session=evil; Path=/"],
            ["access-control-allow-origin", "*"],
            ["content-security-policy", "default-src *"],
            ["content-type", "application/json"],
            ["cache-control", "no-store"]
        ]
    });
    let (head, body, second) = two_requests_on_one_connection(&s, &attack.to_string());
    assert!(head.starts_with("HTTP/1.1 202"), "{head}");
    assert_eq!(body, "{\"ok\":true}");
    let head = head.to_ascii_lowercase();
    for absent in [
        "transfer-encoding",
        "connection: close",
        "set-cookie",
        "access-control",
        "default-src *",
    ] {
        assert!(!head.contains(absent), "`{absent}` passed: {head}");
    }
    for present in [
        "content-type: application/json",
        "cache-control: no-store",
        "x-content-type-options: nosniff",
        "content-security-policy: default-src 'none'; sandbox",
    ] {
        assert!(head.contains(present), "no `{present}`: {head}");
    }
    // The connection was not desynchronised: the next answer is whole.
    assert!(second.starts_with("HTTP/1.1 200"), "{second}");

    // What cannot be framed or sent as asked is refused whole.
    for attack in [
        json!({"attack": "reply", "status": 101, "headers": [["upgrade", "h2c"]]}),
        json!({"attack": "reply", "status": 600}),
        json!({"attack": "reply", "status": 99}),
        json!({"attack": "reply", "headers": [["content-type", "text/html"]], "body": "<script>alert(1)</script>"}),
        json!({"attack": "reply", "headers": [["content-type", "text/plain\r\nset-cookie: a=b"]]}),
    ] {
        let answer = refused(&s, "hostile", attack, "reply was refused").await;
        assert!(answer.header("set-cookie").is_none());
        assert!(!answer.body.to_string().contains("<script>"), "{answer:?}");
    }
}

#[tokio::test]
async fn every_byte_of_a_webhook_reply_is_scanned_for_secrets() {
    let s = Served::start_with(&[("hostile.toml", hostile(false, ""))], &[]);
    // As text: masked.
    let answer = webhook(
        &s,
        "hostile",
        json!({"attack": "reply", "body": "token=", "secret": "utf8"}),
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body, "token=[REDACTED]");
    // As bytes the scan cannot read (not UTF-8; UTF-16 with NULs): refused,
    // and the secret is in no form in the answer.
    for secret in ["latin1", "utf16"] {
        let response = s
            .client
            .post(format!("{}/v1/webhooks/hostile", s.url))
            .body(json!({"attack": "reply", "body": "t=", "secret": secret}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 503, "{secret}");
        let bytes = response.bytes().await.unwrap();
        let utf16: Vec<u8> = TOKEN.bytes().flat_map(|b| [b, 0]).collect();
        for form in [TOKEN.as_bytes(), &utf16] {
            assert!(
                !bytes.windows(form.len()).any(|w| w == form),
                "{secret}: {bytes:?}"
            );
        }
    }
    // A rejection's reason, megabytes long with the secret at its end, is
    // cut short and masked.
    let answer = webhook(&s, "hostile", json!({"attack": "reject"})).await;
    assert_eq!(answer.status, 401);
    let text = answer.body.to_string();
    assert!(text.len() < 4096, "{} bytes", text.len());
    assert!(!text.contains(TOKEN));
}

#[tokio::test]
async fn webhook_bodies_replies_and_events_are_bounded() {
    let s = Served::start_with(
        &[(
            "hostile.toml",
            hostile(
                false,
                "webhook_max_kib = 4\nwebhook_reply_max_kib = 1\nevent_max_kib = 2\n",
            ),
        )],
        &[],
    );
    let token = s.token("t", &[]);
    // Inbound: refused on its stated length before it is read...
    let big = format!(
        "{{\"attack\": \"event\", \"pad\": \"{}\"}}",
        "p".repeat(8 << 10)
    );
    let answer = s
        .request(
            Method::POST,
            "/v1/webhooks/hostile",
            None,
            &[],
            Some(big.clone()),
        )
        .await;
    assert_eq!(answer.status, 413, "{answer:?}");
    assert_eq!(
        answer.body["type"],
        "urn:soar-host:problem:payload-too-large"
    );
    // ... and without one (chunked), once past the limit.
    let chunk = format!("400\r\n{}\r\n", " ".repeat(1024));
    let head = raw_exchange(
        &s,
        &format!(
            "POST /v1/webhooks/hostile HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n{}0\r\n\r\n",
            chunk.repeat(64)
        ),
    );
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    // The reply: 2 KiB is over the resource's 1 KiB.
    let reply = json!({"attack": "reply", "kib": 2});
    refused(&s, "hostile", reply, "webhook_reply_max_kib").await;
    // The event: 3 KiB is over the resource's 2 KiB; nothing stored.
    let event = json!({"attack": "big_event", "kib": 3});
    refused(&s, "hostile", event, "event_max_kib").await;
    assert!(events(&s, &token).await.is_empty());
    // Within the bounds all passes.
    let answer = webhook(&s, "hostile", json!({"attack": "big_event", "kib": 1})).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(events(&s, &token).await.len(), 1);
}

#[tokio::test]
async fn event_types_are_declared_and_well_formed_and_a_bad_one_breaks_no_stream() {
    let s = Served::start_with(
        &[
            ("hostile.toml", hostile(false, "")),
            ("silent.toml", hostile(true, "")),
        ],
        &[],
    );
    let token = s.token("t", &[]);
    let mut stream = s.events_stream(&token, None).await;
    // Declaring none, it may emit none.
    let event = json!({"attack": "event", "type": "thing.happened"});
    refused(&s, "silent", event, "declares (none)").await;
    for (event_type, says) in [
        ("thing.happened\nevent: evil", "not a name"),
        ("thing.happened\r", "not a name"),
        ("", "not a name"),
        ("other.thing", "not among"),
    ] {
        let event = json!({"attack": "event", "type": event_type});
        refused(&s, "hostile", event, says).await;
    }
    // An id that is not a plain token.
    let event = json!({"attack": "event", "id": "a\nb"});
    refused(&s, "hostile", event, "its id").await;
    assert!(events(&s, &token).await.is_empty());

    // The stream still works for everyone: a good event arrives on it, and
    // a new subscriber gets it too.
    let answer = webhook(
        &s,
        "hostile",
        json!({"attack": "event", "type": "thing.changed"}),
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let mut seen = String::new();
    let until = Instant::now() + Duration::from_secs(10);
    while !seen.contains("event: thing.changed") {
        let chunk = tokio::time::timeout_at(until.into(), stream.chunk())
            .await
            .expect("the event arrives")
            .unwrap()
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let mut late = s.events_stream(&token, None).await;
    let first = tokio::time::timeout(Duration::from_secs(10), late.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&first).contains("thing.changed"));
}

#[tokio::test]
async fn events_without_an_id_are_told_apart_by_their_content() {
    let s = Served::start_with(&[("hostile.toml", hostile(false, ""))], &[]);
    let token = s.token("t", &[]);
    let first = json!({"attack": "event", "n": 1});
    let second = json!({"attack": "event", "n": 2});
    for body in [&first, &second, &first] {
        let answer = webhook(&s, "hostile", body.clone()).await;
        assert_eq!(answer.status, 200, "{answer:?}");
    }
    let stored = events(&s, &token).await;
    let ns: Vec<&Value> = stored.iter().map(|e| &e["payload"]["n"]).collect();
    assert_eq!(ns, [&json!(1), &json!(2)], "{stored:#?}");
    // The same id on other content: both kept.
    for n in [3, 4] {
        let answer = webhook(
            &s,
            "hostile",
            json!({"attack": "event", "id": "same", "n": n}),
        )
        .await;
        assert_eq!(answer.body["duplicate"], false, "{answer:?}");
    }
    assert_eq!(events(&s, &token).await.len(), 4);
}

#[tokio::test]
async fn a_resource_file_whose_name_is_not_a_resource_name_is_skipped() {
    let s = Served::start_with(
        &[
            ("...toml", hostile(false, "")),
            (".hidden.toml", hostile(false, "")),
            ("-rf.toml", hostile(false, "")),
        ],
        &[],
    );
    let token = s.token("t", &[]);
    let listed = s.get("/v1/resources", &token).await;
    let names: Vec<&str> = listed.body["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["zoom"], "{listed:?}");
    let skipped = listed.body["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 3, "{listed:?}");
    for entry in skipped {
        assert!(
            entry["error"]
                .as_str()
                .unwrap()
                .contains("is not a resource name"),
            "{entry}"
        );
    }
    for path in [
        "/v1/resources/..",
        "/v1/resources/%2e%2e",
        "/v1/webhooks/..",
    ] {
        let answer = s.request(Method::GET, path, Some(&token), &[], None).await;
        assert!(matches!(answer.status, 404 | 405), "{path}: {answer:?}");
    }
    // Nothing was made in the state directory for them.
    let downloads = s.state.path().join("downloads");
    let made: Vec<String> = std::fs::read_dir(&downloads)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(made, ["zoom"], "{made:?}");
}
