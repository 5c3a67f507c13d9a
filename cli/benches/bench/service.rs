//! `soar-host serve` under load: the real binary as a separate process, the
//! sandbox answering after 20 ms, `get_user` runs posted over HTTP by
//! `concurrency` tasks of this process, beside the native function making
//! the same calls from as many tasks; the service's own CPU per run read
//! from /proc; its peak memory with many runs in flight at once; and how
//! long its health check takes while 2 × cores plugins spin (the hostile
//! plugin's `spin` action), against an idle service.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use zoom_sandbox::{Fault, Match, Sandbox};

use crate::Options;
use crate::load::{self, Load, Path as CallPath, Subject};

pub const CONCURRENCY: [usize; 3] = [1, 64, 512];

pub struct ServiceRow {
    pub concurrency: usize,
    pub served: Load,
    pub native: Load,
    /// The service process's CPU (user + system) per run.
    pub service_cpu: Duration,
    /// This process's CPU per native call: the client and the sandbox
    /// answering it.
    pub native_cpu: Duration,
}

pub struct ServiceFigures {
    pub delay: Duration,
    pub rows: Vec<ServiceRow>,
    /// Runs sent at once for the memory figure, and the upstream's delay then.
    pub in_flight: usize,
    pub in_flight_delay: Duration,
    /// The service's resident memory before, and its peak with them in flight.
    pub rss_before: Option<u64>,
    pub rss_peak: Option<u64>,
    pub spinning: Spinning,
    /// From a signed webhook's 200 to its playbook's first action call
    /// reaching the sandbox, one delivery at a time.
    pub webhook_starts: Vec<Duration>,
    /// The web console's pages with many records stored.
    pub console: crate::console::ConsoleFigures,
}

/// The health check's latency, idle and while guests spin, and how long the
/// spinning runs took against their deadline.
pub struct Spinning {
    pub guests: usize,
    pub deadline: Duration,
    /// Health checks, one after another: idle, then with the guests spinning.
    pub idle: Vec<Duration>,
    pub busy: Vec<Duration>,
    /// Each spinning run's `run_ms`.
    pub runs: Vec<Duration>,
}

struct Served {
    child: Child,
    url: String,
    token: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn run(
    sandbox: &Sandbox,
    janitor: &crate::Janitor,
    resource: &Path,
    scratch: &Path,
    subject: &Arc<Subject>,
    options: &Options,
    delay: Duration,
) -> ServiceFigures {
    let (quick, seconds) = (options.quick, options.seconds);
    let secret = (crate::SECRET_VAR, sandbox.config().client_secret.as_str());
    let served = start(
        Path::new(env!("CARGO_BIN_EXE_soar-host")),
        resource,
        scratch,
        secret,
        quick,
    );
    let client = reqwest::Client::new();
    let url = format!("{}/v1/resources/zoom/actions/get_user", served.url);
    let call = |client: reqwest::Client, url: String, token: String| async move {
        let answer = client
            .post(&url)
            .bearer_auth(&token)
            .body(r#"{"user_id": "me"}"#)
            .send()
            .await
            .expect("the service answers");
        let status = answer.status();
        let body = answer.text().await.expect("a body");
        assert!(
            status == 200 && body.contains("\"status\":\"succeeded\""),
            "a run through the service failed: {status} {body}"
        );
    };
    for _ in 0..20 {
        call(client.clone(), url.clone(), served.token.clone()).await;
    }
    // On the idle service: a start measured behind a load's backlog would
    // time the backlog.
    eprintln!("bench: webhook deliveries starting a playbook");
    // The janitor would empty the log that the calls are looked for in.
    janitor.pause(true);
    let webhook_starts = webhook_starts(&client, &served, sandbox, quick).await;
    janitor.pause(false);

    sandbox.inject(Fault::Delay(delay), Match::path("/v2/users"), usize::MAX);
    let duration = Duration::from_secs_f64(seconds);
    let pid = served.child.id();
    let mut rows = Vec::new();
    for concurrency in CONCURRENCY {
        eprintln!("bench: the service at concurrency {concurrency}");
        let cpu = cpu_of("self");
        let native = load::load(subject, CallPath::Native, concurrency, duration).await;
        let native_cpu = per(cpu_of("self") - cpu, native.calls);
        let cpu = cpu_of(&pid.to_string());
        let (c, u, t) = (client.clone(), url.clone(), served.token.clone());
        let served_load = load::load_with(concurrency, duration, move || {
            call(c.clone(), u.clone(), t.clone())
        })
        .await;
        let service_cpu = per(cpu_of(&pid.to_string()) - cpu, served_load.calls);
        rows.push(ServiceRow {
            concurrency,
            served: served_load,
            native,
            service_cpu,
            native_cpu,
        });
    }
    sandbox.clear_faults();

    // Many runs at once: each holds an instance (or waits for one from the
    // pool) and an upstream request for the whole delay.
    let (in_flight, in_flight_delay) = if quick {
        (50, Duration::from_millis(200))
    } else {
        (1000, Duration::from_secs(2))
    };
    eprintln!("bench: {in_flight} runs in flight through the service");
    let rss_before = crate::memory::status_of(&pid.to_string()).map(|(now, _)| now);
    sandbox.inject(
        Fault::Delay(in_flight_delay),
        Match::path("/v2/users"),
        usize::MAX,
    );
    let mut tasks = JoinSet::new();
    for _ in 0..in_flight {
        tasks.spawn(call(client.clone(), url.clone(), served.token.clone()));
    }
    while let Some(task) = tasks.join_next().await {
        task.expect("a run task panicked");
    }
    sandbox.clear_faults();
    let rss_peak = crate::memory::status_of(&pid.to_string()).map(|(_, peak)| peak);
    eprintln!("bench: the health check while guests spin");
    let spinning = spinning(&client, &served, quick).await;
    let console = crate::console::run(&served.url, &served.token, WEBHOOK_SECRET, quick).await;
    ServiceFigures {
        delay,
        rows,
        in_flight,
        in_flight_delay,
        rss_before,
        rss_peak,
        spinning,
        webhook_starts,
        console,
    }
}

/// The token that signs the bench's webhook deliveries.
const WEBHOOK_SECRET: &str = "bench-webhook-secret";

/// Started by each `user.signed_in`: its first step's call is the one timed.
const WEBHOOK_PLAYBOOK: &str = r#"
name: bench-webhook
on:
  webhook: { resource: zoom, event: user.signed_in }
steps:
  - id: get
    resource: zoom
    action: get_user
    with: { user_id: "${{ event.payload.object.id }}" }
"#;

/// Signed `user.signed_in` deliveries one after another (each a new
/// event): for each, the time from its 200 reaching this process to the
/// playbook's `GET /v2/users/{id}` reaching the sandbox (its arrival time
/// as the sandbox recorded it, so polling does not count).
async fn webhook_starts(
    client: &reqwest::Client,
    served: &Served,
    sandbox: &Sandbox,
    quick: bool,
) -> Vec<Duration> {
    let url = format!("{}/v1/webhooks/zoom", served.url);
    let mut starts = Vec::new();
    for n in 0..if quick { 5 } else { 200 } {
        let user = format!("bench-{n}");
        let body = serde_json::json!({
            "event": "user.signed_in",
            "event_ts": 1_700_000_000_000u64 + n,
            "payload": {"account_id": "acc", "object": {"id": user, "client_type": "mac"}}
        })
        .to_string();
        let mut request = client.post(&url).body(body.clone());
        for (name, value) in crate::signing::zoom_headers(
            body.as_bytes(),
            crate::signing::now_secs(),
            WEBHOOK_SECRET,
        ) {
            request = request.header(name, value);
        }
        // Only this delivery's call is looked for in the log.
        sandbox.clear_requests();
        let answer = request.send().await.expect("the service answers");
        let answered = std::time::Instant::now();
        let status = answer.status();
        let text = answer.text().await.expect("a body");
        assert!(
            status == 200 && text.contains("\"duplicate\":false"),
            "the delivery was not taken as a new event: {status} {text}"
        );
        let path = format!("/v2/users/{user}");
        let deadline = answered + Duration::from_secs(30);
        let received = loop {
            if let Some(r) = sandbox.api_requests().iter().find(|r| r.path == path) {
                break r.received;
            }
            if std::time::Instant::now() > deadline {
                let runs = client
                    .get(format!("{}/v1/playbook-runs", served.url))
                    .bearer_auth(&served.token)
                    .send()
                    .await
                    .expect("the service answers");
                panic!(
                    "the playbook never called {path} within 30 s; its runs: {}",
                    runs.text().await.unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        starts.push(received.saturating_duration_since(answered));
    }
    starts
}

/// Health checks one after another, idle and while 2 × cores runs of the
/// hostile plugin's `spin` compute until their deadline.
async fn spinning(client: &reqwest::Client, served: &Served, quick: bool) -> Spinning {
    let guests = 2 * std::thread::available_parallelism().map_or(2, |n| n.get());
    let health = format!("{}/v1/health", served.url);
    let checks = async |n: usize| {
        let mut took = Vec::with_capacity(n);
        for _ in 0..n {
            let started = std::time::Instant::now();
            let answer = client.get(&health).send().await.expect("health answers");
            assert!(answer.status().is_success());
            took.push(started.elapsed());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        took
    };
    let idle = checks(50).await;
    let mut ids = Vec::new();
    for _ in 0..guests {
        let answer = client
            .post(format!("{}/v1/resources/spin/actions/spin", served.url))
            .bearer_auth(&served.token)
            .header("prefer", "respond-async")
            .body("{}")
            .send()
            .await
            .expect("the service answers");
        let body: serde_json::Value =
            serde_json::from_str(&answer.text().await.expect("a body")).expect("JSON");
        ids.push(body["id"].as_str().expect("an execution id").to_owned());
    }
    // While they spin: the deadline is 2 s (quick) or 5 s.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let busy = checks(if quick { 20 } else { 100 }).await;
    let mut runs = Vec::new();
    for id in ids {
        loop {
            let answer = client
                .get(format!("{}/v1/executions/{id}", served.url))
                .bearer_auth(&served.token)
                .send()
                .await
                .expect("the service answers");
            let body: serde_json::Value =
                serde_json::from_str(&answer.text().await.expect("a body")).expect("JSON");
            if let Some(ms) = body["timings"]["run_ms"]
                .as_u64()
                .filter(|_| body["finished_at"].is_string())
            {
                runs.push(Duration::from_millis(ms));
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Spinning {
        guests,
        deadline: spin_deadline(quick),
        idle,
        busy,
        runs,
    }
}

fn spin_deadline(quick: bool) -> Duration {
    Duration::from_secs(if quick { 2 } else { 5 })
}

/// The service on a free loopback port, over a directory with the bench's
/// resource as `zoom`, with limits above anything the load reaches; and a
/// token for it.
fn start(
    binary: &Path,
    resource: &Path,
    scratch: &Path,
    secret: (&str, &str),
    quick: bool,
) -> Served {
    let resources = scratch.join("service-resources");
    let playbooks = scratch.join("service-playbooks");
    let state = scratch.join("service-state");
    std::fs::create_dir_all(&resources).expect("a resources directory");
    std::fs::create_dir_all(&playbooks).expect("a playbooks directory");
    // Its `[config]` comes last: the webhook's secret token goes there.
    let zoom = std::fs::read_to_string(resource).expect("the resource file");
    std::fs::write(
        resources.join("zoom.toml"),
        format!("{zoom}webhook_secret_token = \"{WEBHOOK_SECRET}\"\n"),
    )
    .expect("the service's resource file");
    std::fs::write(playbooks.join("bench-webhook.yaml"), WEBHOOK_PLAYBOOK)
        .expect("the bench's playbook");
    std::fs::write(
        resources.join("spin.toml"),
        format!(
            "plugin = \"{}\"\ntimeout_secs = {}\n[config]\napi_url = \"http://127.0.0.1:9/\"\n",
            test_plugins::HOSTILE02,
            spin_deadline(quick).as_secs()
        ),
    )
    .expect("the spinning resource's file");
    let command = |args: &[&str]| {
        let mut cmd = Command::new(binary);
        cmd.args(args)
            .env("SOAR_HOST_STATE_DIR", &state)
            // The in-process host's cache: the component is compiled already.
            .env("SOAR_HOST_CACHE_DIR", scratch.join("cache-in-process"))
            .env(secret.0, secret.1)
            .env_remove("RUST_LOG");
        cmd
    };
    let out = command(&["token", "create", "bench"])
        .output()
        .expect("soar-host token runs");
    assert!(out.status.success(), "token create: {out:?}");
    let token = String::from_utf8(out.stdout)
        .expect("UTF-8")
        .trim()
        .to_owned();
    let mut child = command(&[
        "serve",
        "--resources",
        resources.to_str().expect("a UTF-8 path"),
        "--playbooks",
        playbooks.to_str().expect("a UTF-8 path"),
        "--listen",
        "127.0.0.1:0",
        "--max-in-flight",
        "4096",
        "--max-per-resource",
        "4096",
        "--queue",
        "4096",
    ])
    // The service logs a line per request (the default, info): its cost is
    // part of what is measured; where it goes is not.
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .expect("soar-host serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the address line");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("soar-host serve printed {line:?}"))
        .to_owned();
    Served { child, url, token }
}

fn per(total: Duration, n: usize) -> Duration {
    total / (n.max(1) as u32)
}

/// User + system CPU of a process (`self` or a pid), from /proc.
fn cpu_of(pid: &str) -> Duration {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // Fields after the command name (which may hold spaces), in parentheses.
    let rest = text.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line: 12 and 13 here.
    let total = ticks(11) + ticks(12);
    // The kernel's USER_HZ is 100 on Linux for every architecture.
    Duration::from_millis(total * 10)
}
