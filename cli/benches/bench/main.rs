//! The benchmark of issue #4: Zoom's `get_user` through the host against
//! native Rust, in-process and as fresh processes, against the Zoom sandbox
//! started in this process on loopback. It prints markdown tables to paste
//! into an issue.
//!
//! - `cargo bench -p soar-host-cli --bench bench` measures (release build).
//! - `cargo test` builds and runs it in quick mode (a handful of iterations on
//!   a debug build): it proves the benchmark still runs and asserts nothing
//!   timed.
//!
//! Flags (after `--`): `--quick`, `--samples N` (per-action calls per path),
//! `--seconds S` (each throughput run), `--runs N` (fresh processes per
//! kind), `--cold-runs N` (CLI runs with an empty cache), `--download-mib N`
//! (the size of the recording downloaded; 2048 by default, 64 in quick mode),
//! `--service-only` and `--playbooks-only` (one section).

mod console;
mod download;
mod load;
mod memory;
mod native;
mod playbooks;
mod processes;
mod report;
mod service;
#[allow(dead_code)]
#[path = "../../tests/all/common/signing.rs"]
mod signing;
mod stats;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use soar_host::{Host, HostOptions, Resource};
use zoom_sandbox::{Fault, Match, OWNER_EMAIL, Sandbox, SandboxConfig};

use load::{Load, Path as CallPath, Subject};
use native::Native;
use report::{Cold, Report, Throughput};

/// The variable every program reads the client secret from.
const SECRET_VAR: &str = "ZOOM_CLIENT_SECRET";
const CONCURRENCY: [usize; 3] = [1, 16, 64];
/// How long the sandbox takes to answer in the slow-upstream throughput run:
/// the order of the real Zoom's quicker calls.
const UPSTREAM_DELAY: Duration = Duration::from_millis(20);

#[derive(Debug)]
pub struct Options {
    pub quick: bool,
    pub samples: usize,
    pub seconds: f64,
    pub runs: usize,
    pub cold_runs: usize,
    pub download_mib: u64,
    /// `--service-only`: the service's section alone (its runs and the
    /// native calls beside them), for working on the service.
    pub service_only: bool,
    /// `--playbooks-only`: the playbooks' section alone.
    pub playbooks_only: bool,
}

impl Options {
    fn parse() -> Self {
        let args: Vec<String> = std::env::args().skip(1).collect();
        // `cargo bench` passes --bench; `cargo test` passes nothing.
        let quick = !args.iter().any(|a| a == "--bench") || args.iter().any(|a| a == "--quick");
        let mut options = if quick {
            Options {
                quick,
                samples: 40,
                seconds: 0.1,
                runs: 2,
                cold_runs: 1,
                download_mib: 64,
                service_only: false,
                playbooks_only: false,
            }
        } else {
            Options {
                quick,
                samples: 4000,
                seconds: 2.0,
                runs: 60,
                cold_runs: 5,
                download_mib: 2048,
                service_only: false,
                playbooks_only: false,
            }
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| -> f64 {
                args.next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| panic!("{name} takes a number"))
            };
            match arg.as_str() {
                "--samples" => options.samples = value(arg).max(1.0) as usize,
                "--seconds" => options.seconds = value(arg).max(0.01),
                "--runs" => options.runs = value(arg).max(1.0) as usize,
                "--cold-runs" => options.cold_runs = value(arg).max(1.0) as usize,
                "--download-mib" => options.download_mib = value(arg).max(1.0) as u64,
                "--service-only" => options.service_only = true,
                "--playbooks-only" => options.playbooks_only = true,
                "--bench" | "--quick" => {}
                other => eprintln!("bench: ignoring `{other}`"),
            }
        }
        options
    }
}

fn main() {
    // Started by `processes::peak_rss` to launch a command: only that.
    processes::launch_if_asked();
    let options = Options::parse();
    let config = SandboxConfig::default();
    // SAFETY: no other thread runs yet.
    unsafe { std::env::set_var(SECRET_VAR, &config.client_secret) };
    let sandbox = Arc::new(Sandbox::start(config.clone()).expect("the sandbox starts"));
    let scratch = tempfile::tempdir().expect("a scratch directory");
    let resource_path = write_resource(scratch.path(), &sandbox);
    let janitor = Janitor::start(Arc::clone(&sandbox));

    eprintln!("bench: {options:?}");
    let mut report = Report::new(&options);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let subject = Arc::new(Subject {
            host: Host::new(HostOptions {
                cache_dir: Some(scratch.path().join("cache-in-process")),
                no_disk_cache: false,
                state_dir: None,
                no_store: true,
            })
            .expect("the host starts"),
            resource: Resource::load(&resource_path).expect("the resource loads"),
            params: json!({"user_id": "me"}),
            native: Native::new(
                &sandbox.url(),
                &config.client_id,
                &config.client_secret,
                &config.account_id,
            ),
        });

        // The first hosted call compiles the component; the first calls of
        // both paths fetch a token. Neither is what is measured here.
        let started = Instant::now();
        subject.call(CallPath::Hosted).await;
        report.first_hosted_call = Some(started.elapsed());
        if options.service_only || options.playbooks_only {
            subject.call(CallPath::Native).await;
        } else {
            let warmup = if options.quick { 5 } else { 300 };
            for _ in 0..warmup {
                subject.call(CallPath::Native).await;
                subject.call(CallPath::Hosted).await;
            }

            eprintln!("bench: per-action latency, {} calls each", options.samples);
            let (hosted, native) = load::latency(&subject, options.samples).await;
            report.latency = Some((hosted, native));

            let half = Duration::from_secs_f64(options.seconds / 2.0);
            for concurrency in CONCURRENCY {
                eprintln!("bench: throughput at concurrency {concurrency}");
                report
                    .throughput
                    .push(throughput(&subject, concurrency, half).await);
            }
            // The same at the highest concurrency with an upstream as slow as
            // the real Zoom's fast calls: where the host's CPU is not the bound.
            let concurrency = CONCURRENCY[CONCURRENCY.len() - 1];
            eprintln!(
                "bench: throughput at concurrency {concurrency}, upstream answering after {} ms",
                UPSTREAM_DELAY.as_millis()
            );
            sandbox.inject(
                Fault::Delay(UPSTREAM_DELAY),
                Match::path("/v2/users"),
                usize::MAX,
            );
            report.slow_upstream = Some((
                UPSTREAM_DELAY,
                throughput(&subject, concurrency, half).await,
            ));
            sandbox.clear_faults();
            report.peak_rss = memory::overall_peak();
        }

        report.playbooks = Some(
            playbooks::run(
                &subject,
                &sandbox,
                options.samples.min(2000),
                if options.quick { 50 } else { 1000 },
                UPSTREAM_DELAY,
            )
            .await,
        );
        if options.playbooks_only {
            return;
        }
        report.service = Some(
            service::run(
                &sandbox,
                &janitor,
                &resource_path,
                scratch.path(),
                &subject,
                &options,
                UPSTREAM_DELAY,
            )
            .await,
        );
    });
    drop(runtime);
    if options.service_only || options.playbooks_only {
        print!("{}", report.markdown());
        return;
    }

    // Fresh processes: the CLI, the native program, the Python peer.
    let soar_host = PathBuf::from(env!("CARGO_BIN_EXE_soar-host"));
    let native_client = native_client(&soar_host, options.quick);
    let base = sandbox.url();
    let resource = resource_path.to_str().expect("a UTF-8 path").to_owned();
    let warm_cache = scratch.path().join("cache-warm");
    let soar_host_with = |cache: &Path, args: &[&str]| {
        let mut cmd = Command::new(&soar_host);
        cmd.args(args)
            .env("SOAR_HOST_CACHE_DIR", cache)
            .env(SECRET_VAR, &config.client_secret)
            .env_remove("RUST_LOG")
            .env_remove("SOAR_PLUGIN_PATH");
        cmd
    };
    // Like for like with the native program and the Python peer: a token
    // request per process (the store would keep one across runs).
    let invoke = [
        "--no-store",
        "invoke",
        &resource,
        "get_user",
        "-p",
        "user_id=me",
    ];
    let cli = |cache: &Path| soar_host_with(cache, &invoke);
    let runs_dir = scratch.path().join("runs");
    std::fs::create_dir_all(&runs_dir).expect("a directory for process output");

    eprintln!("bench: fresh processes");
    // One untimed run fills the warm cache.
    processes::repeat(1, &runs_dir, OWNER_EMAIL, |_| cli(&warm_cache));
    let native_cmd = || {
        let mut cmd = Command::new(&native_client);
        cmd.args([&base, &config.client_id, &config.account_id])
            .env(SECRET_VAR, &config.client_secret);
        cmd
    };
    let python = python();
    let peer = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peer.py");
    let python_cmd = |python: &Path| {
        let mut cmd = Command::new(python);
        cmd.arg(&peer)
            .args([&base, &config.client_id, &config.account_id])
            .env(SECRET_VAR, &config.client_secret);
        cmd
    };
    // The warm CLI, the native program, the CLI listing actions and
    // printing its version, and the Python peer take turns.
    let mut kinds: Vec<processes::Kind> = vec![
        (OWNER_EMAIL, Box::new(|_| cli(&warm_cache))),
        (OWNER_EMAIL, Box::new(|_| native_cmd())),
        (
            "get_user",
            Box::new(|_| soar_host_with(&warm_cache, &["actions", &resource])),
        ),
        (
            "soar-host",
            Box::new(|_| soar_host_with(&warm_cache, &["--version"])),
        ),
    ];
    match &python {
        Some((python, _)) => kinds.push((OWNER_EMAIL, Box::new(|_| python_cmd(python)))),
        // The measured run compares against it: without it, it fails.
        None if !options.quick => panic!(
            "bench: the Python peer needs python3 with `requests`: `python3 -m pip install requests`, then run again"
        ),
        // Quick mode (`cargo test`) only proves the benchmark runs; the
        // report says the peer was not run.
        None => {
            eprintln!("bench: quick mode without python3 `requests`: the Python peer is not run")
        }
    }
    let mut runs = processes::interleaved(options.runs, &runs_dir, &mut kinds).into_iter();
    drop(kinds);
    report.cold.push(Cold {
        name: "`soar-host invoke`, warm cache",
        what: "the CLI with the compiled component and its manifest in its disk cache: \
               start, load them, token request, GET /v2/users/me, print JSON",
        compared: true,
        runs: runs.next().expect("warm CLI runs"),
    });
    report.cold.push(Cold {
        name: "`soar-host invoke`, empty cache",
        what: "the same with a new, empty cache directory: the component is compiled \
               with Cranelift, described, and written to the cache first",
        compared: true,
        runs: processes::repeat(options.cold_runs, &runs_dir, OWNER_EMAIL, |i| {
            cli(&scratch.path().join(format!("cache-cold-{i}")))
        }),
    });
    report.cold.push(Cold {
        name: "native Rust process",
        what: "fixtures/native-client: tokio (current thread) and reqwest with rustls, \
               the same token request and GET, print JSON",
        compared: true,
        runs: runs.next().expect("native runs"),
    });
    report.cold.push(Cold {
        name: "`soar-host actions RESOURCE`",
        what: "the CLI listing the plugin's actions, warm cache: the resource read and \
               resolved, the manifest read from the cache, no code loaded, no network",
        compared: false,
        runs: runs.next().expect("actions runs"),
    });
    report.cold.push(Cold {
        name: "`soar-host --version`",
        what: "the binary's start and exit: the floor of every CLI run",
        compared: false,
        runs: runs.next().expect("--version runs"),
    });
    if let Some((_, version)) = python {
        report.python = Some(version);
        report.cold.push(Cold {
            name: "Python peer (`requests`)",
            what: "cli/benches/peer.py as a fresh interpreter: import requests, \
                   the same token request and GET, print JSON",
            compared: true,
            runs: runs.next().expect("Python runs"),
        });
    }
    // Peak memory apart from the timed turns: each process launched from a
    // small one (see `processes::peak_rss`).
    let rss_runs = (options.runs / 6).clamp(1, 10);
    let peaks = |cmd: Command, expect: &str| {
        (0..rss_runs)
            .map(|_| processes::peak_rss(&cmd, &runs_dir, expect))
            .collect::<Vec<_>>()
    };
    report.cli_peak_rss = Some(peaks(cli(&warm_cache), OWNER_EMAIL));
    report.native_peak_rss = Some(peaks(native_cmd(), OWNER_EMAIL));
    report.peak_rss = report.peak_rss.max(memory::overall_peak());
    // The download checks the storage host's request log: keep it.
    janitor.stop();

    let size = options.download_mib << 20;
    eprintln!("bench: a {} MiB download", size >> 20);
    let download_resource = write_download_resource(scratch.path(), &sandbox);
    report.download = Some(download::run(
        &soar_host,
        &sandbox,
        &download_resource,
        &runs_dir,
        size,
        (SECRET_VAR, &config.client_secret),
    ));

    print!("{}", report.markdown());
}

/// Both paths at `concurrency`, in two alternating rounds each (`half` per
/// round), so that drift falls on both alike.
async fn throughput(subject: &Arc<Subject>, concurrency: usize, half: Duration) -> Throughput {
    let mut native: Option<Load> = None;
    let mut hosted: Option<Load> = None;
    for _round in 0..2 {
        for (path, total) in [
            (CallPath::Native, &mut native),
            (CallPath::Hosted, &mut hosted),
        ] {
            let run = load::load(subject, path, concurrency, half).await;
            *total = Some(match total.take() {
                Some(earlier) => earlier.merge(run),
                None => run,
            });
        }
    }
    Throughput {
        concurrency,
        hosted: hosted.expect("hosted runs"),
        native: native.expect("native runs"),
    }
}

/// A resource file for the sandbox, the secret read from the environment.
fn write_resource(dir: &Path, sandbox: &Sandbox) -> PathBuf {
    let c = sandbox.config();
    let url = sandbox.url();
    let path = dir.join("zoom-bench.toml");
    let text = format!(
        "label = \"Zoom bench\"\nplugin = \"zoom\"\ntimeout_secs = 20\n\n[config]\n\
         oauth_token_url = \"{url}\"\napi_url = \"{url}\"\nclient_id = \"{}\"\n\
         client_secret = {{ env = \"{SECRET_VAR}\" }}\naccount_id = \"{}\"\n",
        c.client_id, c.account_id
    );
    std::fs::write(&path, text).expect("write the resource file");
    path
}

/// The same, with the sandbox's storage host (where recording downloads
/// redirect) in the egress list.
fn write_download_resource(dir: &Path, sandbox: &Sandbox) -> PathBuf {
    let base = write_resource(dir, sandbox);
    let text = std::fs::read_to_string(&base).expect("the resource file");
    let path = dir.join("zoom-bench-download.toml");
    let text = format!("{text}storage_url = \"{}\"\n", sandbox.storage_url());
    std::fs::write(&path, text).expect("write the resource file");
    path
}

/// The sandbox records every request it receives; over a benchmark's
/// hundreds of thousands of calls that log would grow without bound and be
/// counted in the memory figures. The janitor empties it every 20 ms, except
/// while paused for a part of the benchmark that reads the log.
pub struct Janitor {
    stop: Arc<AtomicBool>,
    /// Paused when true; locked while the janitor checks it and clears, so
    /// that once [`Janitor::pause`] returns no clearing is under way.
    paused: Arc<std::sync::Mutex<bool>>,
    thread: std::thread::JoinHandle<()>,
}

impl Janitor {
    fn start(sandbox: Arc<Sandbox>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let paused = Arc::new(std::sync::Mutex::new(false));
        let (flag, lock) = (Arc::clone(&stop), Arc::clone(&paused));
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
                let paused = lock.lock().unwrap_or_else(|p| p.into_inner());
                if !*paused {
                    sandbox.clear_requests();
                }
                drop(paused);
            }
        });
        Self {
            stop,
            paused,
            thread,
        }
    }

    /// Stop clearing (`true`) or go on (`false`).
    pub fn pause(&self, paused: bool) {
        *self.paused.lock().unwrap_or_else(|p| p.into_inner()) = paused;
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

/// The native program, built with the profile this benchmark was built
/// with, into the same target directory (a no-op when it is up to date). In
/// quick mode a binary already there is taken as it is: a root `cargo test`
/// builds it (for its own test, fixtures/native-client/tests), and building
/// it alone would compile its dependencies again with another feature set.
fn native_client(soar_host: &Path, quick: bool) -> PathBuf {
    let dir = soar_host.parent().expect("the binary sits in a directory");
    let exe = dir.join(format!("native-client{}", std::env::consts::EXE_SUFFIX));
    if quick && exe.is_file() {
        return exe;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ sits in the workspace");
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root)
        .args(["build", "--quiet", "-p", "native-client"]);
    match dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => {}
        Some("release") => {
            cmd.arg("--release");
        }
        Some(profile) => {
            cmd.args(["--profile", profile]);
        }
    }
    eprintln!("bench: {cmd:?}");
    let status = cmd.status().expect("cargo runs");
    assert!(status.success(), "building native-client failed");
    assert!(exe.is_file(), "no {} after building it", exe.display());
    exe
}

/// The interpreter itself (not a pyenv shim) and the requests version, when
/// `python3` has requests.
fn python() -> Option<(PathBuf, String)> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys, requests; print(sys.executable); \
             print('Python %d.%d.%d' % sys.version_info[:3], 'requests', requests.__version__)",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let mut lines = text.lines();
    Some((PathBuf::from(lines.next()?), lines.next()?.to_owned()))
}
