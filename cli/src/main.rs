//! soar-host, the command line: the work is in the library (`soar-host`, the
//! playbook crate); this parses arguments, sets up logging and turns results
//! into output and exit codes (the contract: the `soar_host_cli` library).
//! `serve`, `token` and `worker` are run by `soar-host-server`, installed
//! beside this binary (src/server): this one execs it.

mod actions;
mod auth;
mod invoke;
mod playbook;
mod test;

use clap::{Parser, Subcommand};
use soar_host::{Allocation, Host};
use soar_host_cli::{Globals, init_logging, report};

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
soar-host invoke zoom-prod.toml delete_meeting --params '{\"meeting_id\": 85746065432}'",
    // Ours (Command::Help): `help serve` is soar-host-server's to answer.
    disable_help_subcommand = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,

    #[command(flatten)]
    globals: Globals,
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
    Serve(Server),
    /// Manage the service's API tokens
    #[cfg(feature = "serve")]
    Token(Server),
    /// Run actions as Temporal activities, polling a task queue
    #[cfg(feature = "worker")]
    Worker(Server),
    /// Print this message or the help of the given subcommand(s)
    Help {
        /// Print help for the subcommand(s)
        #[arg(value_name = "COMMAND")]
        command: Vec<String>,
    },
}

/// A command soar-host-server runs: its arguments, help included, are
/// passed on as given.
#[cfg(any(feature = "serve", feature = "worker"))]
#[derive(clap::Args)]
#[command(disable_help_flag = true)]
struct Server {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    _args: Vec<std::ffi::OsString>,
}

fn main() {
    std::process::exit(run());
}

fn run() -> i32 {
    let cli: Cli = match soar_host_cli::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    if let Command::Help { command } = cli.command {
        return help(command);
    }
    #[cfg(any(feature = "serve", feature = "worker"))]
    if cli.command.in_server() {
        return run_server();
    }
    let options = cli.globals.host_options();
    init_logging(cli.globals.log_format, "warn", false);
    let command = cli.command;
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
            Command::Auth(_) | Command::Help { .. } => unreachable!("handled above"),
            #[cfg(any(feature = "serve", feature = "worker"))]
            _ => unreachable!("run by soar-host-server"),
        };
        // The process exits next and the kernel reclaims it all: unmapping
        // the engine's code and memories one by one cost a run 0.25 ms.
        std::mem::forget(host);
        code
    })
}

/// `help COMMAND…`: what `COMMAND… --help` prints (soar-host-server's, for
/// its commands).
fn help(command: Vec<String>) -> i32 {
    let arg0 = std::env::args_os()
        .next()
        .unwrap_or_else(|| "soar-host".into());
    let argv = std::iter::once(arg0)
        .chain(command.into_iter().map(Into::into))
        .chain(std::iter::once("--help".into()));
    match soar_host_cli::parse_from::<Cli>(argv) {
        Err(code) => code,
        // Only a command soar-host-server runs takes `--help` as an argument.
        #[cfg(any(feature = "serve", feature = "worker"))]
        Ok(_) => run_server(),
        #[cfg(not(any(feature = "serve", feature = "worker")))]
        Ok(_) => unreachable!("--help ends the parse"),
    }
}

#[cfg(any(feature = "serve", feature = "worker"))]
impl Command {
    /// Whether soar-host-server runs it.
    fn in_server(&self) -> bool {
        match self {
            #[cfg(feature = "serve")]
            Command::Serve(_) | Command::Token(_) => true,
            #[cfg(feature = "worker")]
            Command::Worker(_) => true,
            _ => false,
        }
    }
}

/// Run this command line in soar-host-server, beside this binary: exec it
/// (same process id, signals and exit code), with the name this one was
/// called by, so its usage lines say `soar-host`.
#[cfg(any(feature = "serve", feature = "worker"))]
fn run_server() -> i32 {
    use std::process::Command;
    let name = format!("soar-host-server{}", std::env::consts::EXE_SUFFIX);
    let server = match std::env::current_exe() {
        Ok(exe) => exe.with_file_name(&name),
        Err(e) => {
            eprintln!("error: cannot find {name}: where this binary is is unknown: {e}");
            return 2;
        }
    };
    let mut args = std::env::args_os();
    let mut command = Command::new(&server);
    #[cfg(unix)]
    let error = {
        use std::os::unix::process::CommandExt;
        if let Some(arg0) = args.next() {
            command.arg0(arg0);
        }
        command.args(args).exec()
    };
    #[cfg(not(unix))]
    let error = match command.args(args.skip(1)).status() {
        Ok(status) => return status.code().unwrap_or(1),
        Err(e) => e,
    };
    eprintln!(
        "error: cannot run {}: {error}; `serve`, `token` and `worker` run in soar-host-server, \
which a build with the default features installs beside soar-host (`cargo install --path cli`)",
        server.display()
    );
    2
}
