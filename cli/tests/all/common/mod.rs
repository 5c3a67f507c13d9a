//! Test harness: the Zoom sandbox on loopback, resource files pointing at it,
//! and the real `soar-host` binary run as a user would run it.
#![allow(dead_code)]

pub mod signing;
pub mod upstream;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use zoom_sandbox::{RecordedRequest, Sandbox, SandboxConfig};

/// The env var the generated resource files read the client secret from.
pub const SECRET_VAR: &str = "TEST_ZOOM_CLIENT_SECRET";

pub struct Env {
    pub sandbox: Sandbox,
    pub dir: tempfile::TempDir,
    pub resource: PathBuf,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl Env {
    pub fn new() -> Self {
        Self::with_config(SandboxConfig::default())
    }

    /// Waits until the sandbox has received a `method` request whose path
    /// starts with `path` (a hanging call has arrived, so killing its
    /// caller now leaves nothing in flight that could land after a
    /// `clear_requests`).
    pub fn wait_for_request(&self, method: &str, path: &str) {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !self
            .sandbox
            .requests()
            .iter()
            .any(|r| r.method == method && r.path.starts_with(path))
        {
            assert!(
                std::time::Instant::now() < until,
                "no {method} {path}… reached the sandbox"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    pub fn with_config(config: SandboxConfig) -> Self {
        let sandbox = Sandbox::start(config).expect("sandbox starts");
        let dir = tempfile::tempdir().expect("tempdir");
        let resource = dir.path().join("zoom-sandbox.toml");
        let env = Env {
            sandbox,
            dir,
            resource,
        };
        env.write_resource("zoom-sandbox.toml", &env.resource_toml("Zoom Sandbox", ""));
        env
    }

    /// A resource file for this sandbox; `extra_config` lines go into [config].
    pub fn resource_toml(&self, label: &str, extra_config: &str) -> String {
        let c = self.sandbox.config();
        let url = self.sandbox.url();
        format!(
            "label = \"{label}\"\nplugin = \"zoom\"\ntimeout_secs = 20\n\n[config]\n\
             oauth_token_url = \"{url}\"\napi_url = \"{url}\"\nclient_id = \"{}\"\n\
             client_secret = {{ env = \"{SECRET_VAR}\" }}\naccount_id = \"{}\"\n{extra_config}",
            c.client_id, c.account_id
        )
    }

    pub fn write_resource(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write resource");
        path
    }

    pub fn secret(&self) -> String {
        self.sandbox.config().client_secret.clone()
    }

    /// Run soar-host with the sandbox's secret in the environment.
    pub fn cli(&self, args: &[&str]) -> Run {
        self.cli_env(args, &[(SECRET_VAR, &self.secret())])
    }

    pub fn cli_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        run_cli(args, env)
    }

    /// `soar-host invoke <resource> <action> --params <json>`
    pub fn invoke(&self, action: &str, params: Value) -> Run {
        let resource = self.resource.to_str().expect("utf-8 path");
        self.cli(&["invoke", resource, action, "--params", &params.to_string()])
    }

    pub fn api_requests(&self) -> Vec<RecordedRequest> {
        self.sandbox.api_requests()
    }

    pub fn token_requests(&self) -> Vec<RecordedRequest> {
        self.sandbox
            .requests()
            .into_iter()
            .filter(|r| r.path == "/oauth/token")
            .collect()
    }

    /// The one API request of an action, asserted to be the only one.
    pub fn only_api_request(&self) -> RecordedRequest {
        let mut requests = self.api_requests();
        assert_eq!(
            requests.len(),
            1,
            "expected one API request, got {requests:#?}"
        );
        requests.remove(0)
    }

    /// [`Env::only_api_request`], which must be `method` on `path`.
    pub fn only_api_request_to(&self, method: &str, path: &str) -> RecordedRequest {
        let r = self.only_api_request();
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            (method, path),
            "{r:#?}"
        );
        r
    }
}

/// `soar-host ARGS` with the shared caches and `env`.
pub fn cli_command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_soar-host"));
    cmd.args(args)
        .env("SOAR_HOST_CACHE_DIR", cache_dir())
        .env("SOAR_HOST_STATE_DIR", state_dir())
        .env_remove("RUST_LOG")
        .env_remove("SOAR_PLUGIN_PATH");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

pub fn run_cli(args: &[&str], env: &[(&str, &str)]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = cli_command(args, env).output().expect("soar-host runs");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// One compiled-component cache for every test, so each compiles once.
pub fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("soar-host-cache")
}

/// One state directory for every test: the store partitions by resource
/// file, and each test's resource files live in a directory of its own.
pub fn state_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("soar-host-state")
}

/// A library host as the tests use it: the shared caches, the real store.
pub fn host_options() -> soar_host::HostOptions {
    soar_host::HostOptions {
        cache_dir: Some(cache_dir()),
        no_disk_cache: false,
        state_dir: Some(state_dir()),
        no_store: false,
    }
}

/// Exit 2, one clear line on stderr containing `needle`, nothing sent.
pub fn assert_rejected(env: &Env, run: &Run, needle: &str) {
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stdout, "", "{run:?}");
    let line = run.stderr.trim();
    assert!(line.starts_with("error: "), "{run:?}");
    assert_eq!(line.lines().count(), 1, "one line: {run:?}");
    assert!(line.contains(needle), "expected `{needle}` in: {line}");
    assert!(
        env.sandbox.requests().is_empty(),
        "nothing may reach Zoom: {:#?}",
        env.sandbox.requests()
    );
}

/// Exit 1, Zoom's refusal as the one line on stderr.
pub fn assert_zoom_error(run: &Run, line: &str) {
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout, "", "{run:?}");
    assert_eq!(run.stderr.trim(), line, "{run:?}");
}

/// Every API request the sandbox received follows Zoom's own specs.
pub fn assert_follows_zooms_specs(env: &Env) {
    let requests = env.api_requests();
    assert!(!requests.is_empty());
    assert_eq!(
        zoom_sandbox::contract::Spec::load().check_all(&requests),
        Ok(())
    );
}

pub fn query(r: &RecordedRequest) -> Vec<(&str, &str)> {
    r.query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// One of the owner's recurring meetings and the id of its first occurrence.
pub fn recurring_meeting(sandbox: &Sandbox) -> (u64, String) {
    sandbox
        .meeting_ids("me")
        .into_iter()
        .find_map(|id| {
            let occurrence = sandbox.meeting(id)?["occurrences"][0]["occurrence_id"]
                .as_str()?
                .to_owned();
            Some((id, occurrence))
        })
        .expect("the sandbox seeds recurring meetings")
}
