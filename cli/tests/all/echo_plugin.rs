//! The integration author's example (examples/echo-plugin, on the guest
//! SDK) runs under the host with no change to it: described, tested and
//! invoked through the CLI against a small HTTP server on loopback that
//! records what reached it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::common::run_cli;
use serde_json::json;

const KEY: &str = "echo-api-key-0123456789";

/// A loopback server answering every request with what it saw, as JSON.
struct Upstream {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Upstream {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = String::new();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    head.push_str(&line);
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let request_line = head.lines().next().unwrap_or("").to_owned();
                log.lock()
                    .unwrap()
                    .push(format!("{head}\n{}", String::from_utf8_lossy(&body)));
                let answer =
                    json!({"request": request_line, "body": String::from_utf8_lossy(&body)})
                        .to_string();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            }
        });
        Self { url, seen }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn resource(dir: &std::path::Path, upstream: &Upstream) -> String {
    let path = dir.join("echo.toml");
    std::fs::write(
        &path,
        format!(
            "plugin = \"{}\"\ntimeout_secs = 10\n[config]\nbase_url = \"{}\"\napi_key = \"{KEY}\"\n",
            test_plugins::ECHO,
            upstream.url
        ),
    )
    .unwrap();
    path.display().to_string()
}

#[test]
fn the_example_plugin_is_described_from_its_one_declaration_per_action() {
    let run = run_cli(&["actions", test_plugins::ECHO, "--json"], &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let manifest = run.json();
    assert_eq!(manifest["name"], "echo");
    assert_eq!(manifest["contract"], "0.2.0");
    let actions = manifest["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 2);
    assert_eq!(actions[0]["operation"], "GET /anything/{name}");
    assert_eq!(actions[0]["idempotent"], true);
    assert_eq!(actions[1]["kind"], "containment");
    assert_eq!(actions[1]["idempotent"], false);
    assert_eq!(actions[1]["params_schema"]["required"], json!(["address"]));
}

#[test]
fn the_example_plugin_tests_and_invokes_against_its_upstream() {
    let upstream = Upstream::start();
    let dir = tempfile::tempdir().unwrap();
    let resource = resource(dir.path(), &upstream);

    let run = run_cli(&["test", &resource], &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("GET /bearer accepted the API key"),
        "{run:?}"
    );

    let run = run_cli(
        &[
            "invoke",
            &resource,
            "lookup",
            "-p",
            "name=a/b",
            "-p",
            "verbose=true",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json()["request"],
        "GET /anything/a%2Fb?verbose=true HTTP/1.1"
    );
    let seen = upstream.seen();
    assert!(
        seen[1]
            .to_ascii_lowercase()
            .contains(&format!("authorization: bearer {KEY}").to_ascii_lowercase()),
        "{seen:?}"
    );

    let run = run_cli(
        &["invoke", &resource, "block", "-p", "address=203.0.113.9"],
        &[],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["blocked"], true);
    assert!(upstream.seen()[2].contains("{\"address\":\"203.0.113.9\"}"));

    // Bad input never reaches the upstream; the key is never printed.
    let run = run_cli(&["invoke", &resource, "block", "-p", "reason=x"], &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("missing required param `address`"),
        "{run:?}"
    );
    assert_eq!(upstream.seen().len(), 3);
    assert!(!run.stderr.contains(KEY));
}
