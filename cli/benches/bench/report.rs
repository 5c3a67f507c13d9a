//! The figures as markdown tables, each with its unit and what it measured,
//! and the goals judged against them.

use std::fmt::Write as _;
use std::time::Duration;

use crate::Options;
use crate::load::Load;
use crate::processes::Runs;
use crate::stats::{Samples, bytes, delta_us, ratio, ratio_of, time};

pub struct Throughput {
    pub concurrency: usize,
    pub hosted: Load,
    pub native: Load,
}

pub struct Cold {
    pub name: &'static str,
    pub what: &'static str,
    /// Whether it does what the native program does (its wall time is
    /// compared with the native program's).
    pub compared: bool,
    pub runs: Runs,
}

pub struct Report {
    quick: bool,
    options: String,
    pub first_hosted_call: Option<Duration>,
    /// (hosted, native) at concurrency 1.
    pub latency: Option<(Samples, Samples)>,
    pub throughput: Vec<Throughput>,
    /// The highest concurrency again, the sandbox answering after a delay.
    pub slow_upstream: Option<(Duration, Throughput)>,
    pub peak_rss: Option<u64>,
    pub cold: Vec<Cold>,
    /// Peak resident memory of the warm `invoke` and of the native program,
    /// per run: (the process's, that of the small process it was launched
    /// from).
    pub cli_peak_rss: Option<Vec<(u64, u64)>>,
    pub native_peak_rss: Option<Vec<(u64, u64)>>,
    /// "Python 3.11.7 requests 2.34.2"
    pub python: Option<String>,
    /// A recording downloaded through the CLI.
    pub download: Option<crate::download::Download>,
    /// Runs through `soar-host serve`.
    pub service: Option<crate::service::ServiceFigures>,
    /// Playbook runs in process.
    pub playbooks: Option<crate::playbooks::PlaybookFigures>,
}

/// One goal of the issue: what it asks, what was measured, whether it holds.
struct Goal {
    goal: &'static str,
    target: &'static str,
    measured: String,
    met: Option<bool>,
}

fn throughput_header(out: &mut String) {
    let _ = writeln!(
        out,
        "| concurrency | hosted | native | hosted ÷ native | hosted latency median / p99 | native latency median / p99 |"
    );
    let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- |");
}

fn throughput_row(out: &mut String, label: &str, t: &Throughput) {
    let _ = writeln!(
        out,
        "| {label} | {:.0} calls/s | {:.0} calls/s | {} | {} / {} | {} / {} |",
        t.hosted.per_sec(),
        t.native.per_sec(),
        ratio(t.hosted.per_sec(), t.native.per_sec()),
        time(t.hosted.latency.median()),
        time(t.hosted.latency.p99()),
        time(t.native.latency.median()),
        time(t.native.latency.p99()),
    );
}

impl Report {
    pub fn new(options: &Options) -> Self {
        Self {
            quick: options.quick,
            options: format!(
                "{} per-action calls per path, {} s per throughput run and path, \
                 {} runs per process kind ({} with an empty cache)",
                options.samples, options.seconds, options.runs, options.cold_runs
            ),
            first_hosted_call: None,
            latency: None,
            throughput: Vec::new(),
            slow_upstream: None,
            peak_rss: None,
            cold: Vec::new(),
            cli_peak_rss: None,
            native_peak_rss: None,
            python: None,
            download: None,
            service: None,
            playbooks: None,
        }
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        self.header(&mut out);
        self.per_action(&mut out);
        self.throughput(&mut out);
        self.memory(&mut out);
        self.service(&mut out);
        self.console(&mut out);
        self.playbooks(&mut out);
        self.cold_start(&mut out);
        self.download(&mut out);
        self.goals(&mut out);
        out
    }

    fn header(&self, out: &mut String) {
        let profile = std::path::Path::new(env!("CARGO_BIN_EXE_soar-host"))
            .parent()
            .and_then(|d| d.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        let _ = writeln!(
            out,
            "\n## soar-host benchmark: Zoom `get_user` against the in-process sandbox\n"
        );
        if self.quick {
            let _ = writeln!(
                out,
                "**Quick mode** (`cargo test`): a handful of iterations on a `{profile}` build. \
                 These figures prove the benchmark runs; they measure nothing. \
                 Run `cargo bench -p soar-host-cli --bench bench` for the real figures.\n"
            );
        }
        let _ = writeln!(
            out,
            "Machine: {cores} cores, {}; build profile `{profile}`; {}.\n",
            cpu_model(),
            self.options
        );
        let _ = writeln!(
            out,
            "Every call is `get_user` for `me` against the Zoom sandbox on 127.0.0.1, served by \
             one thread of this process. **Hosted**: `Host::invoke(resource, \"get_user\", \
             {{\"user_id\": \"me\"}})` — params checked against the manifest, config resolved, \
             a fresh wasmtime `Store` and instance of the Zoom component, the plugin's request \
             through the host's `http` import, its JSON result parsed and redacted. **Native**: \
             a Rust function making the same `GET /v2/users/me` with a client from the host's \
             own `http::client()`, its answer parsed as JSON. Both keep their token (the host in \
             its per-resource cache, the native function in a field), so a warm call is one \
             HTTP request.\n"
        );
    }

    fn per_action(&self, out: &mut String) {
        let Some((hosted, native)) = &self.latency else {
            return;
        };
        let _ = writeln!(
            out,
            "### Per-action overhead (concurrency 1, {} calls per path, interleaved)\n",
            hosted.len()
        );
        let _ = writeln!(out, "| path | median | p99 | what it measured |");
        let _ = writeln!(out, "| --- | --- | --- | --- |");
        let _ = writeln!(
            out,
            "| hosted | {} | {} | wall time of one warm `Host::invoke` |",
            time(hosted.median()),
            time(hosted.p99())
        );
        let _ = writeln!(
            out,
            "| native | {} | {} | wall time of one warm native call |",
            time(native.median()),
            time(native.p99())
        );
        let _ = writeln!(
            out,
            "| hosted − native | {} | {} | latency the host adds to one call |",
            delta_us(hosted.median(), native.median()),
            delta_us(hosted.p99(), native.p99())
        );
        let _ = writeln!(
            out,
            "| hosted ÷ native | {} | {} | ratio of the two |",
            ratio_of(hosted.median(), native.median()),
            ratio_of(hosted.p99(), native.p99())
        );
        if let Some(first) = self.first_hosted_call {
            let _ = writeln!(
                out,
                "| first hosted call | {} | | a new `Host`, empty disk cache: compiling the \
                 component, describe, token request, the call |",
                time(first)
            );
        }
        out.push('\n');
    }

    fn throughput(&self, out: &mut String) {
        if self.throughput.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "### Throughput (tasks each calling in a loop on a 2-worker tokio runtime)\n"
        );
        throughput_header(out);
        for t in &self.throughput {
            throughput_row(out, &t.concurrency.to_string(), t);
        }
        out.push('\n');
        if let Some((delay, t)) = &self.slow_upstream {
            let _ = writeln!(
                out,
                "With an upstream as slow as the real Zoom's quicker calls (the sandbox \
                 answering every `GET /v2/users/...` after {} ms), the same {} tasks:\n",
                delay.as_millis(),
                t.concurrency
            );
            throughput_header(out);
            let label = format!("{}, upstream {} ms", t.concurrency, delay.as_millis());
            throughput_row(out, &label, t);
            out.push('\n');
        }
    }

    fn playbooks(&self, out: &mut String) {
        let Some(f) = &self.playbooks else { return };
        let (runs, delay, wall, peak) = f.concurrent;
        let _ = writeln!(
            out,
            "### Playbooks (in process)\n\n\
             A three-step playbook (`get_user` three times, the later steps' params from \
             expressions over the earlier steps' params and results) run through \
             `Checked::run` with the host's own caller, against the bare `Host::invoke` of \
             the same action, alternating, {} of each.\n",
            f.bare.len()
        );
        let _ = writeln!(out, "| | median | p99 |\n| --- | --- | --- |");
        let _ = writeln!(
            out,
            "| bare `get_user` | {} | {} |",
            time(f.bare.median()),
            time(f.bare.p99())
        );
        let _ = writeln!(
            out,
            "| three-step run | {} | {} |",
            time(f.run.median()),
            time(f.run.p99())
        );
        let _ = writeln!(
            out,
            "| added per step ((run − 3 × bare) ÷ 3) | {:.0} µs | |\n",
            f.added_per_step() * 1e6
        );
        let _ = writeln!(
            out,
            "{runs} runs of it at once, the sandbox answering after {} ms: all done in {}, \
             peak memory {} over what was resident before.\n",
            delay.as_millis(),
            time(wall),
            peak.map_or_else(|| "not measured".to_owned(), bytes)
        );
    }

    fn service(&self, out: &mut String) {
        let Some(f) = &self.service else { return };
        let _ = writeln!(
            out,
            "### Through the service (`soar-host serve`, a separate process)\n\n\
             `POST /v1/resources/zoom/actions/get_user` over HTTP/1.1 from N tasks of this \
             process (a bearer token checked, the execution recorded in SQLite, a log line \
             per request), the sandbox answering every `GET /v2/users/...` after {} ms; \
             beside the native function making the same calls from N tasks. CPU per run: \
             the service process's user + system time (from /proc) ÷ runs; native: this \
             process's ÷ calls, which includes the sandbox answering them, so the \
             host-added figure (service − native) is a lower bound.\n",
            f.delay.as_millis()
        );
        let _ = writeln!(
            out,
            "| concurrency | service | native | service ÷ native | service latency median / p99 | native latency median / p99 | service CPU per run | native CPU per call | host-added CPU per run |"
        );
        let _ = writeln!(
            out,
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
        );
        for r in &f.rows {
            let _ = writeln!(
                out,
                "| {} | {:.0} runs/s | {:.0} calls/s | {} | {} / {} | {} / {} | {} | {} | ≥ {} |",
                r.concurrency,
                r.served.per_sec(),
                r.native.per_sec(),
                ratio(r.served.per_sec(), r.native.per_sec()),
                time(r.served.latency.median()),
                time(r.served.latency.p99()),
                time(r.native.latency.median()),
                time(r.native.latency.p99()),
                time(r.service_cpu),
                time(r.native_cpu),
                time(r.service_cpu.saturating_sub(r.native_cpu)),
            );
        }
        let _ = writeln!(
            out,
            "\nMemory: {} runs posted at once, the sandbox answering after {} ms: the \
             service's resident memory {} before, peak {} (VmHWM of its process).\n",
            f.in_flight,
            f.in_flight_delay.as_millis(),
            f.rss_before.map_or("n/a".into(), bytes),
            f.rss_peak.map_or("n/a".into(), bytes),
        );
        let starts = Samples::new(f.webhook_starts.clone());
        let _ = writeln!(
            out,
            "Playbook start: {} signed `user.signed_in` deliveries one after another, each \
             starting a one-step playbook (`get_user` of the event's user); from the \
             delivery's 200 reaching the client to that call reaching the sandbox (its \
             arrival as the sandbox recorded it): median {}, p99 {}, max {}.\n",
            starts.len(),
            time(starts.median()),
            time(starts.p99()),
            time(starts.percentile(100.0)),
        );
        let spin = &f.spinning;
        let (idle, busy) = (
            Samples::new(spin.idle.clone()),
            Samples::new(spin.busy.clone()),
        );
        let runs = Samples::new(spin.runs.clone());
        let _ = writeln!(
            out,
            "Containment: `GET /v1/health` one after another, idle and while {} runs of \
             the hostile plugin's `spin` compute until their {} s deadline (guests run on \
             threads of their own and yield at every epoch tick; goal: ≤ 100 ms).\n\n\
             | | checks | median | p99 | max |\n\
             | --- | --- | --- | --- | --- |\n\
             | idle | {} | {} | {} | {} |\n\
             | {} guests spinning | {} | {} | {} | {} |\n\n\
             The spinning runs ended after {} (median) to {} (max) of running: their \
             deadline plus {} at most.\n",
            spin.guests,
            spin.deadline.as_secs(),
            idle.len(),
            time(idle.median()),
            time(idle.p99()),
            time(idle.percentile(100.0)),
            spin.guests,
            busy.len(),
            time(busy.median()),
            time(busy.p99()),
            time(busy.percentile(100.0)),
            time(runs.median()),
            time(runs.percentile(100.0)),
            time(runs.percentile(100.0).saturating_sub(spin.deadline)),
        );
    }

    fn console(&self, out: &mut String) {
        let Some(f) = &self.service else { return };
        let c = &f.console;
        let _ = writeln!(
            out,
            "### The web console's pages\n\n\
             The service's database topped up with {} executions (runs through the API) and \
             {} events (signed webhook deliveries) beyond those of the sections before; each \
             page then fetched {} times one after another with a session cookie; from \
             sending the request to the HTML's last byte (goal: ≤ 100 ms per page).\n\n\
             | page | HTML | median | p99 | max |\n| --- | --- | --- | --- | --- |",
            c.executions,
            c.events,
            c.pages.first().map_or(0, |p| p.took.len()),
        );
        for p in &c.pages {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                p.page,
                bytes(p.bytes as u64),
                time(p.took.median()),
                time(p.took.p99()),
                time(p.took.percentile(100.0)),
            );
        }
        let slowest = c
            .pages
            .iter()
            .map(|p| p.took.median())
            .max()
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "\nSlowest page's median: {} — goal ≤ 100 ms {}.\n",
            time(slowest),
            if slowest <= Duration::from_millis(100) {
                "met"
            } else {
                "missed"
            }
        );
    }

    fn memory(&self, out: &mut String) {
        let top = self.throughput.iter().max_by_key(|t| t.concurrency);
        let _ = writeln!(out, "### Memory (resident set of the benchmark process)\n");
        let _ = writeln!(out, "| figure | value | what it measured |");
        let _ = writeln!(out, "| --- | --- | --- |");
        let _ = writeln!(
            out,
            "| peak resident memory | {} | VmHWM over the whole in-process run: host, \
             native client, the sandbox |",
            self.peak_rss.map_or("n/a".into(), bytes)
        );
        if let Some(t) = top {
            let c = t.concurrency as u64;
            for (name, load) in [("hosted", &t.hosted), ("native", &t.native)] {
                let _ = writeln!(
                    out,
                    "| per concurrent {name} call | {} | (peak RSS during the first {c}-task \
                     {name} run − RSS before it) ÷ {c}; {} in all, the sandbox's side included |",
                    load.rss_added.map_or("n/a".into(), |b| bytes(b / c)),
                    load.rss_added.map_or("n/a".into(), bytes),
                );
            }
        }
        out.push('\n');
    }

    fn download(&self, out: &mut String) {
        let Some(d) = &self.download else { return };
        let _ = writeln!(
            out,
            "### Streamed download (`download_recording` through the CLI)\n"
        );
        let _ = writeln!(
            out,
            "A synthetic recording of {} from the sandbox: `download_url` redirects to its \
             storage host, which resets the connection half-way; {}. Size and SHA-256 \
             checked against the sandbox's.\n",
            bytes(d.bytes),
            if d.resumed {
                "the host resumed with `Range`"
            } else {
                "**no resume was seen**"
            }
        );
        let _ = writeln!(out, "| figure | value |");
        let _ = writeln!(out, "| --- | --- |");
        let _ = writeln!(
            out,
            "| peak resident memory of the soar-host process | {} |",
            d.peak_rss.map_or("n/a".into(), bytes)
        );
        let _ = writeln!(out, "| wall time | {:.2} s |", d.wall.as_secs_f64());
        let _ = writeln!(
            out,
            "| throughput | {:.0} MiB/s |\n",
            d.bytes as f64 / (1 << 20) as f64 / d.wall.as_secs_f64()
        );
    }

    fn cold_start(&self, out: &mut String) {
        if self.cold.is_empty() {
            return;
        }
        let native = self.native_process().map(|r| r.wall.median());
        let _ = writeln!(
            out,
            "### Cold start: one `get_user` as a fresh process (token request + GET /v2/users/me)\n"
        );
        let _ = writeln!(
            out,
            "| process | runs | wall median | wall p99 | CPU median | wall ÷ native | what it ran |"
        );
        let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- | --- |");
        for c in &self.cold {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                c.name,
                c.runs.wall.len(),
                time(c.runs.wall.median()),
                time(c.runs.wall.p99()),
                c.runs
                    .cpu
                    .as_ref()
                    .map_or("n/a".into(), |s| time(s.median())),
                native
                    .filter(|_| c.compared)
                    .map_or("—".into(), |n| ratio_of(c.runs.wall.median(), n)),
                c.what,
            );
        }
        if let Some(python) = &self.python {
            let _ = writeln!(
                out,
                "\nWall time is from spawn to exit, output captured; CPU is user + system time \
                 (`wait4`). Python: {python}, the interpreter run directly, not through a shim."
            );
        }
        if let (Some(cli), Some(native)) = (&self.cli_peak_rss, &self.native_peak_rss) {
            let _ = writeln!(
                out,
                "\nPeak resident memory (`ru_maxrss`, {} runs each, each launched from a small \
                 process whose own peak was at most {}): the warm `invoke` {}, the native \
                 program {} (medians).",
                cli.len(),
                bytes(cli.iter().chain(native).map(|r| r.1).max().unwrap_or(0)),
                bytes(median_peak(cli)),
                bytes(median_peak(native)),
            );
        }
        out.push('\n');
    }

    fn goals(&self, out: &mut String) {
        let mut goals = Vec::new();
        if let Some(f) = &self.playbooks {
            goals.push(Goal {
                goal: "time a playbook adds per step",
                target: "≤ 200 µs",
                measured: format!("{:.0} µs (median)", f.added_per_step() * 1e6),
                met: Some(f.added_per_step() <= 200e-6),
            });
            let (runs, _, wall, peak) = f.concurrent;
            goals.push(Goal {
                goal: "three-step playbook runs at once, 20 ms upstream",
                target: "1000 in ≤ 256 MiB",
                measured: format!(
                    "{runs} in {}, peak {}",
                    time(wall),
                    peak.map_or_else(|| "not measured".to_owned(), bytes)
                ),
                met: peak.map(|p| runs >= 1000 && p <= 256 << 20),
            });
        }
        if let Some(t) = self.throughput.iter().max_by_key(|t| t.concurrency) {
            let r = t.hosted.per_sec() / t.native.per_sec();
            goals.push(Goal {
                goal: "hosted get_user at concurrency 64, instant upstream",
                target: "≥ 0.85× native (issue #24)",
                measured: format!("{r:.2}× native throughput"),
                met: Some(r >= 0.85),
            });
        }
        if let Some((hosted, native)) = &self.latency {
            let added = hosted.median().as_secs_f64() - native.median().as_secs_f64();
            goals.push(Goal {
                goal: "latency added at concurrency 1",
                target: "≤ +60 µs (issue #24)",
                measured: format!("{} (median)", delta_us(hosted.median(), native.median())),
                met: Some(added <= 60e-6),
            });
        }
        if let Some(row) = self
            .service
            .as_ref()
            .and_then(|f| f.rows.iter().find(|r| r.concurrency == 64))
        {
            goals.push(Goal {
                goal: "host CPU per run in the service, concurrency 64",
                target: "≤ 100 µs (issue #24)",
                measured: format!(
                    "{} (≥ {} over the native call)",
                    time(row.service_cpu),
                    time(row.service_cpu.saturating_sub(row.native_cpu))
                ),
                met: Some(row.service_cpu <= Duration::from_micros(100)),
            });
        }
        if let (Some(cli), Some(native)) = (self.warm_cli(), self.native_process()) {
            let (cli, native) = (cli.wall.median(), native.wall.median());
            goals.push(Goal {
                goal: "`soar-host invoke`, warm cache, vs native process",
                target: "≤ 1.5× (issue #24)",
                measured: format!(
                    "{} ({} vs {})",
                    ratio_of(cli, native),
                    time(cli),
                    time(native)
                ),
                met: Some(cli.as_secs_f64() <= 1.5 * native.as_secs_f64()),
            });
            goals.push(Goal {
                goal: "`soar-host invoke`, warm cache",
                target: "well under 25 ms",
                measured: time(cli),
                met: Some(cli < Duration::from_millis(25)),
            });
        }
        if let (Some(cli), Some(python)) = (self.warm_cli(), self.python_process()) {
            let times = python.wall.median().as_secs_f64() / cli.wall.median().as_secs_f64();
            goals.push(Goal {
                goal: "`soar-host invoke`, warm cache, vs the Python peer",
                target: "≥ 40× faster (issue #24)",
                measured: format!("{times:.1}× faster"),
                met: Some(times >= 40.0),
            });
        }
        if let Some(peaks) = &self.cli_peak_rss {
            let peak = median_peak(peaks);
            goals.push(Goal {
                goal: "peak resident memory of that `invoke`",
                target: "≤ 16 MiB (issue #24)",
                measured: bytes(peak),
                // Only if the figure is the CLI's, not its launcher's.
                met: peaks.iter().all(|p| p.0 > p.1).then_some(peak <= 16 << 20),
            });
        }
        if let Some(actions) = self.cold.iter().find(|c| c.name.contains("actions")) {
            let wall = actions.runs.wall.median();
            goals.push(Goal {
                goal: "`soar-host actions RESOURCE` (no network)",
                target: "≤ 4 ms (issue #24)",
                measured: format!("{} (median)", time(wall)),
                met: Some(wall <= Duration::from_millis(4)),
            });
        }
        if let Some(t) = self.throughput.iter().max_by_key(|t| t.concurrency)
            && let Some(added) = t.hosted.rss_added
        {
            let per = added / t.concurrency as u64;
            goals.push(Goal {
                goal: "memory per concurrent invocation",
                target: "under 2 MiB",
                measured: bytes(per),
                met: Some(per < 2 << 20),
            });
        }
        if let Some(d) = &self.download {
            goals.push(Goal {
                goal: "peak memory of a 2 GiB download (redirect, reset mid-body)",
                target: "under 64 MiB",
                measured: d.peak_rss.map_or("n/a".into(), bytes),
                // Judged only at the size the goal names, in any mode.
                met: (d.bytes >= 2 << 30)
                    .then_some(d.peak_rss.is_some_and(|p| p < 64 << 20) && d.resumed),
            });
        }
        let _ = writeln!(out, "### Goals\n");
        let _ = writeln!(out, "| goal | target | measured | verdict |");
        let _ = writeln!(out, "| --- | --- | --- | --- |");
        for g in goals {
            let verdict = match g.met {
                Some(met) if g.goal.contains("download") => {
                    if met {
                        "met"
                    } else {
                        "**missed**"
                    }
                }
                _ if self.quick => "not judged (quick mode)",
                Some(true) => "met",
                Some(false) => "**missed**",
                None => "n/a",
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                g.goal, g.target, g.measured, verdict
            );
        }
        out.push('\n');
    }

    fn warm_cli(&self) -> Option<&Runs> {
        self.cold
            .iter()
            .find(|c| c.name.contains("warm"))
            .map(|c| &c.runs)
    }

    fn native_process(&self) -> Option<&Runs> {
        self.cold
            .iter()
            .find(|c| c.name.starts_with("native"))
            .map(|c| &c.runs)
    }

    fn python_process(&self) -> Option<&Runs> {
        self.cold
            .iter()
            .find(|c| c.name.starts_with("Python"))
            .map(|c| &c.runs)
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned())
}

/// The median of the processes' own peaks.
fn median_peak(peaks: &[(u64, u64)]) -> u64 {
    let mut own: Vec<u64> = peaks.iter().map(|p| p.0).collect();
    own.sort_unstable();
    own.get(own.len() / 2).copied().unwrap_or(0)
}
