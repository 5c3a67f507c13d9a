//! soar-host, the command line: the work is in the library (`soar-host`, the
//! service and the worker crates); this parses arguments, sets up logging and
//! turns results into output and exit codes.
//!
//! The CLI contract scripts and playbooks rely on:
//! exit 0 success; 1 the action or test failed (upstream, network, timeout,
//! plugin); 2 rejected before anything was sent (usage, resource file,
//! secret, unknown action, invalid params). Results on stdout as JSON;
//! errors on stderr as one line; logs on stderr through `RUST_LOG`.

mod actions;
mod auth;
mod invoke;
mod playbook;
#[cfg(feature = "serve")]
mod serve;
mod test;
#[cfg(feature = "serve")]
mod token;
#[cfg(feature = "worker")]
mod worker;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use soar_host::{Allocation, Error, Host, HostOptions};

/// mimalloc rather than glibc's malloc: a run through `soar-host serve`
/// allocates and frees on every thread of the runtime, where glibc's arenas
/// (their locks, and consolidating freed chunks) took a quarter of the
/// service's CPU (`perf`, concurrency 64).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "soar-host",
    version,
    about = "Run SOAR integrations (WebAssembly plugins) against resources",
    long_about = "Run SOAR integrations — WebAssembly components such as the built-in Zoom plugin — \
against resources: TOML files that name a plugin and hold its connection settings.\n\n\
Exit codes: 0 success; 1 the action or test failed (upstream error, network, timeout, plugin fault); \
2 rejected before anything was sent (usage, resource file, missing secret, unknown action, invalid params).\n\n\
Logs go to stderr; set RUST_LOG (e.g. RUST_LOG=debug) for more.",
    after_help = "Examples:\n  soar-host test zoom-prod.toml\n  soar-host actions zoom\n  \
soar-host invoke zoom-prod.toml get_user -p user_id=me\n  \
soar-host invoke zoom-prod.toml delete_meeting --params '{\"meeting_id\": 85746065432}'"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,

    /// Directory for compiled plugins [default: $SOAR_HOST_CACHE_DIR, else ~/.cache/soar-host]
    #[arg(long, global = true, value_name = "DIR")]
    cache_dir: Option<PathBuf>,

    /// Compile plugins afresh instead of using the on-disk cache
    #[arg(long, global = true)]
    no_cache: bool,

    /// Directory of the persistent store (tokens kept across runs) [default: $SOAR_HOST_STATE_DIR, else ~/.local/state/soar-host]
    #[arg(long, global = true, value_name = "DIR")]
    state_dir: Option<PathBuf>,

    /// Keep the store in memory: the run leaves no token or other state behind
    #[arg(long, global = true)]
    no_store: bool,

    /// Log lines on stderr as text or as JSON objects (one per line)
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Connectivity test: get a token and make one cheap authenticated call
    #[command(
        long_about = "Connectivity test: get a token and make one cheap authenticated call, then print \
what was verified (identity, granted scopes).\n\nWith a directory, test every *.toml resource file in it \
and print one line per resource; exit 1 if any failed."
    )]
    Test(test::Args),
    /// Run an action and print its result as JSON on stdout
    Invoke(invoke::Args),
    /// List a plugin's actions with their params, kind and scopes
    Actions(actions::Args),
    /// Check playbooks and run one's manual trigger
    Playbook(playbook::Args),
    /// Sign in as a user for a resource with `auth = "user"`; status; sign out
    Auth(auth::Args),
    /// Serve the HTTP API: run actions, read executions, receive webhooks
    #[cfg(feature = "serve")]
    Serve(serve::Args),
    /// Manage the service's API tokens
    #[cfg(feature = "serve")]
    Token(token::Args),
    /// Run actions as Temporal activities, polling a task queue
    #[cfg(feature = "worker")]
    Worker(worker::Args),
}

fn main() {
    std::process::exit(run());
}

fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let options = HostOptions {
        cache_dir: cli.cache_dir,
        no_disk_cache: cli.no_cache,
        state_dir: cli.state_dir,
        no_store: cli.no_store,
    };
    let command = match cli.command {
        #[cfg(feature = "serve")]
        Command::Token(args) => {
            init_logging(cli.log_format, "warn", false);
            return token::run(&options, args);
        }
        #[cfg(feature = "serve")]
        Command::Serve(args) => {
            init_logging(cli.log_format, "info", false);
            return on_every_core(serve::run(options, args));
        }
        #[cfg(feature = "worker")]
        Command::Worker(args) => {
            // An activity's lines sit in the SDK's span (workflow, run and
            // activity ids) and ours (the attempt): JSON lines carry both.
            init_logging(cli.log_format, "info", true);
            return on_every_core(worker::run(options, args));
        }
        other => other,
    };
    init_logging(cli.log_format, "warn", false);
    // One thread: the CLI runs one action (or a directory's tests one after
    // another); starting worker threads cost more than they would save.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    runtime.block_on(async move {
        let command = match command {
            // Needs the store, never a plugin.
            Command::Auth(args) => return auth::run(&options, args).await,
            other => other,
        };
        // One process, one call (or one per resource for `test DIR`): a
        // pool of instances would cost more to reserve than it saves.
        let host = match Host::with_allocation(options, Allocation::OnDemand) {
            Ok(host) => host,
            Err(e) => return report(&e),
        };
        let code = match command {
            Command::Test(args) => test::run(&host, args).await,
            Command::Invoke(args) => invoke::run(&host, args).await,
            Command::Actions(args) => actions::run(&host, args).await,
            Command::Playbook(args) => playbook::run(&host, args).await,
            Command::Auth(_) => unreachable!("handled above"),
            #[cfg(feature = "serve")]
            Command::Serve(_) | Command::Token(_) => unreachable!("handled above"),
            #[cfg(feature = "worker")]
            Command::Worker(_) => unreachable!("handled above"),
        };
        // The process exits next and the kernel reclaims it all: unmapping
        // the engine's code and memories one by one cost a run 0.25 ms.
        std::mem::forget(host);
        code
    })
}

/// A long-running command (serve, worker): many runs at once, a thread
/// per core.
#[cfg(any(feature = "serve", feature = "worker"))]
fn on_every_core(command: impl Future<Output = i32>) -> i32 {
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(command),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            1
        }
    }
}

/// Whether `path`, given as `flag`, is a directory; says so on stderr if not.
#[cfg(any(feature = "serve", feature = "worker"))]
pub(crate) fn is_dir(flag: &str, path: &std::path::Path) -> bool {
    let ok = path.is_dir();
    if !ok {
        eprintln!("error: {flag} {} is not a directory", path.display());
    }
    ok
}

/// `span_list`: JSON lines carry every span they are in (`spans`), not
/// only the innermost (`span`).
fn init_logging(format: LogFormat, default_level: &str, span_list: bool) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    // Every log line passes the redaction at the edge and has control
    // characters escaped before it reaches the terminal.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| soar_host::redact::Writer::new(std::io::stderr()))
        // No colours: the writer escapes control characters, theirs too.
        .with_ansi(false)
        .with_target(true);
    match format {
        LogFormat::Text => builder.init(),
        // The request's span (its id, route, token name) on every line.
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(span_list)
            .init(),
    }
}

/// Print an error as one line on stderr; return its exit code.
pub(crate) fn report(error: &Error) -> i32 {
    let text = error.to_string().replace('\n', " ");
    eprintln!("error: {}", soar_host::redact::printable(&text));
    error.class().exit_code()
}
