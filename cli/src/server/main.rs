//! soar-host-server: `serve` (and `token`, its API tokens) and `worker`, the
//! long-running commands. `soar-host serve|token|worker …` execs this binary
//! with its arguments as given, so the command line never loads the service
//! or Temporal; it takes the same global flags and prints the same usage.

#[cfg(feature = "serve")]
mod serve;
#[cfg(feature = "serve")]
mod token;
#[cfg(feature = "worker")]
mod worker;

use clap::{Parser, Subcommand};
use soar_host_cli::{Globals, init_logging};

/// mimalloc rather than glibc's malloc: a run through `soar-host serve`
/// allocates and frees on every thread of the runtime, where glibc's arenas
/// (their locks, and consolidating freed chunks) took a quarter of the
/// service's CPU (`perf`, concurrency 64). The CLI, one thread and one call,
/// keeps glibc's: with mimalloc, a warm `invoke` took 0.4–0.7 ms longer,
/// `--version` 419 page faults instead of 325.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "soar-host",
    version,
    about = "The service and the Temporal worker of soar-host (run as `soar-host serve|token|worker`)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,

    #[command(flatten)]
    globals: Globals,
}

#[derive(Subcommand)]
enum Command {
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
    let cli: Cli = match soar_host_cli::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let options = cli.globals.host_options();
    let format = cli.globals.log_format;
    match cli.command {
        #[cfg(feature = "serve")]
        Command::Token(args) => {
            init_logging(format, "warn", false);
            token::run(&options, args)
        }
        #[cfg(feature = "serve")]
        Command::Serve(args) => {
            init_logging(format, "info", false);
            on_every_core(serve::run(options, args))
        }
        #[cfg(feature = "worker")]
        Command::Worker(args) => {
            // An activity's lines sit in the SDK's span (workflow, run and
            // activity ids) and ours (the attempt): JSON lines carry both.
            init_logging(format, "info", true);
            on_every_core(worker::run(options, args))
        }
    }
}

/// A long-running command (serve, worker): many runs at once, a thread
/// per core.
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
pub(crate) fn is_dir(flag: &str, path: &std::path::Path) -> bool {
    let ok = path.is_dir();
    if !ok {
        eprintln!("error: {flag} {} is not a directory", path.display());
    }
    ok
}
