//! `soar-host playbook check|run`: check playbook files against the
//! resources' plugins, and run one's manual trigger in the foreground.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use soar_host::registry::Registry;
use soar_host::{Host, RunStatus};
use soar_host_cli::outln;
use soar_playbook::{
    Catalog, Checked, Direct, Finding, Limits, Observer, Playbook, Progress, RunQuery, RunRecord,
    RunStore, Start, Trigger,
};

#[derive(clap::Args)]
#[command(
    long_about = "Check and run playbooks: YAML files of steps that call actions, started by people, \
webhooks, schedules and watches (the format: docs/playbooks.md).\n\n\
Exit codes: 0 valid / the run succeeded; 1 the run failed; 2 invalid (a finding, bad inputs, \
a limit found before anything was sent).",
    after_help = "Examples:\n  soar-host playbook check\n  soar-host playbook check playbooks/contain-compromised-account.yaml --json\n  \
soar-host playbook run contain-compromised-account --input '{\"user_id\": \"jane@example.com\"}' --dry-run"
)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(clap::Args)]
struct Dirs {
    /// The resources directory: a playbook names a resource by its file's stem
    #[arg(long, value_name = "DIR", default_value = "resources")]
    resources: PathBuf,
    /// The playbooks directory [default: `playbooks` beside the resources directory]
    #[arg(long, value_name = "DIR")]
    playbooks: Option<PathBuf>,
}

impl Dirs {
    fn playbooks(&self) -> PathBuf {
        self.playbooks
            .clone()
            .unwrap_or_else(|| soar_playbook::default_dir(&self.resources))
    }
}

#[derive(clap::Subcommand)]
enum Sub {
    /// Check playbooks: YAML, ids, expressions and the names they use, and every step against its
    /// resource's plugin (the action exists, literal params fit its schema); each finding with
    /// file:line:column
    Check {
        /// A playbook file or a directory of them [default: the playbooks directory]
        path: Option<PathBuf>,
        #[command(flatten)]
        dirs: Dirs,
        /// Print the findings as JSON on stdout
        #[arg(long)]
        json: bool,
    },
    /// Run a playbook's manual trigger in the foreground and print the run record as JSON
    Run {
        /// A playbook file, or the name of one in the playbooks directory
        playbook: String,
        #[command(flatten)]
        dirs: Dirs,
        /// The inputs as a JSON object; `@FILE` reads a file, `@-` standard input
        #[arg(long, value_name = "JSON")]
        input: Option<String>,
        /// Evaluate conditions and params and print the calls it would make; call nothing
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        options: RunOptions,
    },
    /// List recorded runs (the CLI's and the service's), newest first, as JSON
    Runs {
        /// Only this playbook's runs
        #[arg(long)]
        playbook: Option<String>,
        /// Only runs in this status: queued, running, succeeded, failed, cancelled
        #[arg(long)]
        status: Option<RunStatus>,
        /// At most this many
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Print one recorded run as JSON
    Show {
        /// The run's id (`pr_…`)
        run: String,
    },
    /// Run a recorded run again from one of its steps: the steps before it keep their recorded
    /// results; a new run, linked to the old one
    Rerun {
        /// The run's id (`pr_…`)
        run: String,
        /// The step to run again, with the steps after it
        #[arg(long, value_name = "STEP")]
        from: String,
        #[command(flatten)]
        dirs: Dirs,
        #[command(flatten)]
        options: RunOptions,
    },
    /// Finish the runs that a process left unfinished when it died (kill -9, a crash): a step it
    /// left running is run again if its action is idempotent, else marked `unknown` and the run
    /// fails there
    Resume {
        #[command(flatten)]
        dirs: Dirs,
        #[command(flatten)]
        options: RunOptions,
    },
}

#[derive(clap::Args)]
struct RunOptions {
    /// The longest a run may take, e.g. 10m
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = humantime::parse_duration)]
    max_run_time: std::time::Duration,
    /// One line of JSON instead of indented
    #[arg(long)]
    compact: bool,
}

pub async fn run(host: &Host, args: Args) -> i32 {
    match args.command {
        Sub::Check { path, dirs, json } => check(host, path, &dirs, json).await,
        Sub::Run {
            playbook,
            dirs,
            input,
            dry_run,
            options,
        } => run_one(host, &playbook, &dirs, input.as_deref(), dry_run, &options).await,
        Sub::Runs {
            playbook,
            status,
            limit,
        } => with_store(host, |store| {
            let runs = store.list(&RunQuery {
                playbook,
                status,
                before: None,
                limit,
            })?;
            print(&runs, false);
            Ok(0)
        }),
        Sub::Show { run } => with_store(host, |store| match store.get(&run)? {
            Some(record) => {
                print(&record, false);
                Ok(0)
            }
            None => Err(format!("no run `{run}` in the state directory")),
        }),
        Sub::Rerun {
            run,
            from,
            dirs,
            options,
        } => rerun(host, &run, &from, &dirs, &options).await,
        Sub::Resume { dirs, options } => resume(host, &dirs, &options).await,
    }
}

/// The runs database of the host's state directory.
fn store(host: &Host) -> Result<Option<RunStore>, String> {
    host.state_dir()
        .map(|dir| {
            RunStore::open(dir).map_err(|e| {
                format!("cannot record playbook runs: {e}; fix it, point --state-dir elsewhere, or run with --no-store")
            })
        })
        .transpose()
}

fn with_store(host: &Host, f: impl FnOnce(&RunStore) -> Result<i32, String>) -> i32 {
    match store(host) {
        Ok(Some(store)) => f(&store).unwrap_or_else(usage),
        Ok(None) => usage("runs are recorded in the state directory: drop --no-store"),
        Err(e) => usage(e),
    }
}

fn print(value: &impl serde::Serialize, compact: bool) {
    let text = if compact {
        serde_json::to_string(value)
    } else {
        serde_json::to_string_pretty(value)
    };
    outln!("{}", text.expect("a run record is JSON"));
}

fn usage(message: impl std::fmt::Display) -> i32 {
    eprintln!(
        "error: {}",
        soar_host::redact::printable(&message.to_string().replace('\n', " "))
    );
    2
}

async fn resources(host: &Host, dirs: &Dirs) -> Result<Registry, String> {
    Registry::load(host, &dirs.resources)
        .await
        .map_err(|e| format!("{e}; point --resources at the directory of resource files"))
}

async fn check(host: &Host, path: Option<PathBuf>, dirs: &Dirs, json: bool) -> i32 {
    let path = path.unwrap_or_else(|| dirs.playbooks());
    let (playbooks, mut findings) = if path.is_dir() {
        match soar_playbook::load_dir(&path) {
            Ok((p, f)) => (p.into_values().collect::<Vec<_>>(), f),
            Err(e) => return usage(e),
        }
    } else if path.exists() {
        match Playbook::load(&path) {
            Ok(p) => (vec![p], Vec::new()),
            Err(f) => (Vec::new(), f),
        }
    } else {
        return usage(format!(
            "{} does not exist; give a playbook file or directory",
            path.display()
        ));
    };
    let registry = match resources(host, dirs).await {
        Ok(r) => r,
        Err(e) => return usage(e),
    };
    let mut catalog = Catalog::new(host, &registry, &dirs.resources);
    let mut valid = Vec::new();
    for playbook in playbooks {
        let file = playbook.file.display().to_string();
        match catalog.check(playbook).await {
            Ok(checked) => valid.push((checked.playbook.name.clone(), file)),
            Err(mut f) => findings.append(&mut f),
        }
    }
    let ok = findings.is_empty();
    if json {
        let out = json!({
            "valid": ok,
            "playbooks": valid.iter().map(|(name, file)| json!({"name": name, "file": file})).collect::<Vec<_>>(),
            "findings": findings,
        });
        outln!("{}", serde_json::to_string_pretty(&out).expect("JSON"));
    } else {
        for (name, file) in &valid {
            outln!("ok       {name} ({file})");
        }
        for f in &findings {
            outln!("invalid  {}", soar_host::redact::printable(&f.to_string()));
        }
        if valid.is_empty() && findings.is_empty() {
            outln!("no playbooks (*.yaml, *.yml) in {}", path.display());
        }
    }
    if ok { 0 } else { 2 }
}

fn print_findings(findings: &[Finding]) {
    for f in findings {
        eprintln!("error: {}", soar_host::redact::printable(&f.to_string()));
    }
}

async fn run_one(
    host: &Host,
    reference: &str,
    dirs: &Dirs,
    input: Option<&str>,
    dry_run: bool,
    options: &RunOptions,
) -> i32 {
    let path = {
        let given = Path::new(reference);
        if given.is_file() {
            given.to_owned()
        } else {
            let dir = dirs.playbooks();
            match soar_playbook::load_dir(&dir) {
                Ok((playbooks, _)) => match playbooks.get(reference) {
                    Some(p) => p.file.clone(),
                    None => {
                        let known: Vec<&str> = playbooks.keys().map(String::as_str).collect();
                        return usage(format!(
                            "no playbook file or name `{reference}` in {} (valid playbooks: {}); `soar-host playbook check` says why one is not",
                            dir.display(),
                            if known.is_empty() {
                                "none".into()
                            } else {
                                known.join(", ")
                            }
                        ));
                    }
                },
                Err(e) => return usage(format!("`{reference}` is not a file, and {e}")),
            }
        }
    };
    let playbook = match Playbook::load(&path) {
        Ok(p) => p,
        Err(f) => {
            print_findings(&f);
            return 2;
        }
    };
    let inputs = match inputs(input) {
        Ok(v) => v,
        Err(e) => return usage(e),
    };
    let registry = match resources(host, dirs).await {
        Ok(r) => r,
        Err(e) => return usage(e),
    };
    let checked = match Catalog::new(host, &registry, &dirs.resources)
        .check(playbook)
        .await
    {
        Ok(c) => c,
        Err(f) => {
            print_findings(&f);
            return 2;
        }
    };
    let start = Start {
        trigger: Trigger {
            kind: "manual".into(),
            occurrence: None,
        },
        inputs,
        event: None,
        dry_run,
    };
    let record = match checked.new_run(start) {
        Ok(r) => r,
        Err(e) => return usage(e),
    };
    // A dry run acts on nothing and is not recorded.
    let store = match dry_run {
        true => None,
        false => match store(host) {
            Ok(s) => s,
            Err(e) => return usage(e),
        },
    };
    record_and_execute(host, &registry, &checked, record, store.as_ref(), options).await
}

/// A playbook of the playbooks directory, checked.
async fn checked_by_name(
    host: &Host,
    registry: &Registry,
    dirs: &Dirs,
    name: &str,
) -> Result<Checked, String> {
    let (mut playbooks, _) = soar_playbook::load_dir(&dirs.playbooks())?;
    let playbook = playbooks.remove(name).ok_or_else(|| {
        format!(
            "no valid playbook `{name}` in {}; `soar-host playbook check` says why",
            dirs.playbooks().display()
        )
    })?;
    Catalog::new(host, registry, &dirs.resources)
        .check(playbook)
        .await
        .map_err(|f| {
            let first = f.first().map(ToString::to_string).unwrap_or_default();
            format!("playbook `{name}` is not valid now: {first}")
        })
}

async fn rerun(host: &Host, id: &str, from: &str, dirs: &Dirs, options: &RunOptions) -> i32 {
    let prepared = async {
        let store =
            store(host)?.ok_or("runs are recorded in the state directory: drop --no-store")?;
        let old = store
            .get(id)?
            .ok_or_else(|| format!("no run `{id}` in the state directory"))?;
        let registry = resources(host, dirs).await?;
        let checked = checked_by_name(host, &registry, dirs, &old.playbook).await?;
        let record = checked.rerun(&old, from)?;
        Ok::<_, String>((store, registry, checked, record))
    };
    match prepared.await {
        Ok((store, registry, checked, record)) => {
            record_and_execute(host, &registry, &checked, record, Some(&store), options).await
        }
        Err(e) => usage(e),
    }
}

async fn resume(host: &Host, dirs: &Dirs, options: &RunOptions) -> i32 {
    let prepared = async {
        let store =
            store(host)?.ok_or("runs are recorded in the state directory: drop --no-store")?;
        let registry = resources(host, dirs).await?;
        Ok::<_, String>((store, registry))
    };
    let (store, registry) = match prepared.await {
        Ok(p) => p,
        Err(e) => return usage(e),
    };
    let runs = match store.take_over_unfinished() {
        Ok(r) => r,
        Err(e) => return usage(e),
    };
    let mut code = 0;
    for record in runs {
        let checked = match checked_by_name(host, &registry, dirs, &record.playbook).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!(
                    "error: run {}: {}",
                    record.id,
                    soar_host::redact::printable(&e)
                );
                code = code.max(2);
                continue;
            }
        };
        let record = checked.resume(record);
        code = code.max(execute(host, &registry, &checked, record, Some(&store), options).await);
    }
    code
}

/// Records a run's changes in the store, and shows each step on a terminal.
struct Recorder<'a> {
    store: Option<&'a RunStore>,
    terminal: bool,
}

impl Observer for Recorder<'_> {
    async fn changed(&self, record: &RunRecord, progress: Progress) {
        if let Some(store) = self.store
            && let Err(e) = store.save(record, progress)
        {
            eprintln!(
                "error: run {}: its record could not be saved: {e}",
                record.id
            );
        }
        if let (true, Progress::Step(i)) = (self.terminal, progress) {
            let step = &record.steps[i];
            eprintln!("step {:<24} {}", step.id, step.status);
        }
    }
}

/// Record a new run (unless `store` is `None`), run it, print it; the
/// exit code.
async fn record_and_execute(
    host: &Host,
    registry: &Registry,
    checked: &Checked,
    record: RunRecord,
    store: Option<&RunStore>,
    options: &RunOptions,
) -> i32 {
    if let Some(store) = store
        && let Err(e) = store.insert(&record)
    {
        return usage(format!("cannot record the run: {e}"));
    }
    execute(host, registry, checked, record, store, options).await
}

/// Run a recorded run (or an unrecorded one, `store` `None`), print it;
/// the exit code.
async fn execute(
    host: &Host,
    registry: &Registry,
    checked: &Checked,
    record: RunRecord,
    store: Option<&RunStore>,
    options: &RunOptions,
) -> i32 {
    let limits = Limits {
        run_time: options.max_run_time,
        ..Limits::default()
    };
    let caller = Direct {
        host,
        resources: registry,
    };
    let observer = Recorder {
        store,
        terminal: std::io::stderr().is_terminal(),
    };
    let id = record.id.clone();
    let run = checked.run(record, &caller, &limits, &observer);
    let record = match store {
        Some(store) => tokio::select! {
            record = run => record,
            () = store.hold(&id) => unreachable!("holding a run never ends"),
        },
        None => run.await,
    };
    print(&record, options.compact);
    if let Some(e) = &record.error {
        eprintln!(
            "error: {}",
            soar_host::redact::printable(&e.message.replace('\n', " "))
        );
    }
    exit_code(&record)
}

/// 0 succeeded; 2 failed before anything was sent (an expression, a
/// limit); 1 failed otherwise.
fn exit_code(record: &RunRecord) -> i32 {
    if record.status == RunStatus::Succeeded {
        0
    } else if record.steps.iter().all(|s| s.call.attempts == 0) {
        2
    } else {
        1
    }
}

/// `--input`: a JSON object, `@FILE`, or `@-`; none is `{}`.
fn inputs(input: Option<&str>) -> Result<Value, String> {
    let Some(input) = input else {
        return Ok(json!({}));
    };
    let text = match input.strip_prefix('@') {
        Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("--input @-: {e}"))?;
            text
        }
        Some(file) => std::fs::read_to_string(file).map_err(|e| format!("--input @{file}: {e}"))?,
        None => input.to_owned(),
    };
    match serde_json::from_str(&text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err("--input must be a JSON object, e.g. '{\"user_id\": \"me\"}'".into()),
        Err(e) => Err(format!("--input is not JSON: {e}")),
    }
}
