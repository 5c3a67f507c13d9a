//! What the two binaries share: `soar-host` (the command line) and
//! `soar-host-server` (`serve`, `token`, `worker`, which `soar-host` execs).
//! Nothing here reaches the service or the worker, so the command line
//! links neither.
//!
//! The CLI contract scripts and playbooks rely on:
//! exit 0 success; 1 the action or test failed (upstream, network, timeout,
//! plugin); 2 rejected before anything was sent (usage, resource file,
//! secret, unknown action, invalid params). Results on stdout as JSON;
//! errors on stderr as one line; logs on stderr through `RUST_LOG`.

use std::path::PathBuf;

use soar_host::{Error, HostOptions};

/// The flags every subcommand takes.
#[derive(clap::Args)]
pub struct Globals {
    /// Directory for compiled plugins [default: $SOAR_HOST_CACHE_DIR, else ~/.cache/soar-host]
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Compile plugins afresh instead of using the on-disk cache
    #[arg(long, global = true)]
    pub no_cache: bool,

    /// Directory of the persistent store (tokens kept across runs) [default: $SOAR_HOST_STATE_DIR, else ~/.local/state/soar-host]
    #[arg(long, global = true, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// Keep the store in memory: the run leaves no token or other state behind
    #[arg(long, global = true)]
    pub no_store: bool,

    /// Log lines on stderr as text or as JSON objects (one per line)
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

impl Globals {
    pub fn host_options(&self) -> HostOptions {
        HostOptions {
            cache_dir: self.cache_dir.clone(),
            no_disk_cache: self.no_cache,
            state_dir: self.state_dir.clone(),
            no_store: self.no_store,
        }
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// `span_list`: JSON lines carry every span they are in (`spans`), not
/// only the innermost (`span`).
pub fn init_logging(format: LogFormat, default_level: &str, span_list: bool) {
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
pub fn report(error: &Error) -> i32 {
    let text = error.to_string().replace('\n', " ");
    eprintln!("error: {}", soar_host::redact::printable(&text));
    error.class().exit_code()
}

/// Parse the command line as `P`; on a usage error (or `--help`,
/// `--version`) print it and give the exit code to leave with.
pub fn parse<P: clap::Parser>() -> Result<P, i32> {
    parse_from(std::env::args_os())
}

/// [`parse`] of `argv` (its first item the binary's name).
pub fn parse_from<P: clap::Parser>(
    argv: impl IntoIterator<Item = std::ffi::OsString>,
) -> Result<P, i32> {
    P::try_parse_from(argv).map_err(|e| {
        let _ = e.print();
        if e.use_stderr() { 2 } else { 0 }
    })
}

/// Write to stdout as `print!` does, except that a reader gone away
/// (`soar-host invoke … | head`) ends the output quietly instead of a panic;
/// any other failure to write (a full disk) is said on stderr and the
/// process exits 1, as output lost.
pub fn write_out(args: std::fmt::Arguments) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_fmt(args).and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => {
            eprintln!("error: cannot write the output: {e}");
            std::process::exit(1);
        }
    }
}

/// `print!` through [`write_out`].
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::write_out(format_args!($($arg)*))
    };
}

/// `println!` through [`write_out`].
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::write_out(format_args!("{}\n", format_args!($($arg)*)))
    };
}
