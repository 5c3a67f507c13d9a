//! `soar-host serve` end to end: the real binary listening on loopback, the
//! Zoom sandbox behind it, driven over HTTP the way curl or a playbook
//! engine would, with what reached the sandbox checked.

mod api;
mod containment;
mod lifecycle;
mod limits;
mod playbooks;
pub mod webhooks;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::Env;
use serde_json::Value;

/// The webhook secret token the resource files hold.
pub const WEBHOOK_SECRET: &str = "zoom-webhook-secret-token";

/// A service process over a resources directory with one resource, `zoom`,
/// pointing at a sandbox.
pub struct Served {
    pub env: Env,
    pub resources: PathBuf,
    pub state: tempfile::TempDir,
    pub child: Option<Child>,
    pub url: String,
    pub client: reqwest::Client,
    log: PathBuf,
}

pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:#}", self.status, self.body)
    }
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Served {
    pub fn start(extra: &[&str]) -> Self {
        Self::start_with(&[], extra)
    }

    /// [`Served::start`], with these files (name, text) in the resources
    /// directory beside `zoom.toml`.
    pub fn start_with(files: &[(&str, String)], extra: &[&str]) -> Self {
        let env = Env::new();
        let resources = env.dir.path().join("resources");
        std::fs::create_dir(&resources).unwrap();
        let text = env.resource_toml(
            "Zoom Sandbox",
            &format!("webhook_secret_token = \"{WEBHOOK_SECRET}\"\n"),
        );
        std::fs::write(resources.join("zoom.toml"), text).unwrap();
        for (name, text) in files {
            std::fs::write(resources.join(name), text).unwrap();
        }
        let state = tempfile::tempdir().unwrap();
        let log = state.path().join("serve.log");
        let mut served = Served {
            env,
            resources,
            state,
            child: None,
            url: String::new(),
            client: reqwest::Client::new(),
            log,
        };
        served.spawn(extra);
        served
    }

    /// Start the process (again, on the same state directory).
    pub fn spawn(&mut self, extra: &[&str]) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut child = self
            .command("serve")
            .args(["--resources", self.resources.to_str().unwrap()])
            .args(["--listen", "127.0.0.1:0", "--log-format", "json"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("soar-host serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("no address: {line:?}\n{}", self.log_text()))
            .to_owned();
        self.url = url;
        self.child = Some(child);
    }

    fn command(&self, subcommand: &str) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_soar-host"));
        cmd.arg(subcommand)
            .env("SOAR_HOST_CACHE_DIR", crate::common::cache_dir())
            .env("SOAR_HOST_STATE_DIR", self.state.path())
            .env(crate::common::SECRET_VAR, self.env.secret())
            .env_remove("RUST_LOG")
            .env_remove("SOAR_PLUGIN_PATH");
        cmd
    }

    /// `soar-host token create NAME ARGS…`: the token printed.
    pub fn token(&self, name: &str, args: &[&str]) -> String {
        let out = self
            .command("token")
            .args(["create", name])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    pub fn token_cli(&self, args: &[&str]) -> std::process::Output {
        self.command("token").args(args).output().unwrap()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id();
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Wait for the process to exit; its exit code.
    pub fn wait(&mut self, within: Duration) -> Option<i32> {
        let child = self.child.as_mut().expect("running");
        let until = Instant::now() + within;
        while Instant::now() < until {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the service did not exit within {within:?}");
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Answer {
        let mut request = self.client.request(method, format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.expect("the service answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.request(reqwest::Method::GET, path, Some(token), &[], None)
            .await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.request(
            reqwest::Method::POST,
            path,
            Some(token),
            &[],
            Some(body.to_string()),
        )
        .await
    }

    /// Poll an execution until `done` holds of it.
    pub async fn until(&self, id: &str, token: &str, done: impl Fn(&Value) -> bool) -> Value {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let answer = self.get(&format!("/v1/executions/{id}"), token).await;
            assert_eq!(answer.status, 200, "{answer:?}");
            if done(&answer.body) {
                return answer.body;
            }
            assert!(
                Instant::now() < until,
                "execution never got there: {answer:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// `GET /metrics` as text.
    /// `GET /v1/events/stream`, resumed after `after` when given; asserts it opened.
    pub async fn events_stream(&self, token: &str, after: Option<&str>) -> reqwest::Response {
        let mut request = self
            .client
            .get(format!("{}/v1/events/stream", self.url))
            .bearer_auth(token);
        if let Some(after) = after {
            request = request.header("Last-Event-ID", after);
        }
        let stream = request.send().await.unwrap();
        assert_eq!(stream.status(), 200);
        stream
    }

    pub async fn metrics(&self) -> String {
        let answer = self
            .request(reqwest::Method::GET, "/metrics", None, &[], None)
            .await;
        answer.body.as_str().expect("metrics are text").to_owned()
    }

    /// SIGHUP, then wait until `GET /v1/resources` lists `count` resources.
    pub async fn reload(&self, token: &str, count: usize) -> Answer {
        self.signal("HUP");
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            let answer = self.get("/v1/resources", token).await;
            if answer.body["resources"].as_array().map_or(0, Vec::len) == count {
                return answer;
            }
            assert!(
                Instant::now() < until,
                "the reload never showed {count} resources: {answer:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn resources_dir(&self) -> &Path {
        &self.resources
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
