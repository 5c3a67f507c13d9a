use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};
use soar_host::{Error, Host, InvokeOptions, Resource};
use soar_host_cli::outln;

#[derive(clap::Args)]
pub struct Args {
    /// The resource file (TOML) naming the plugin and its connection settings
    resource: PathBuf,
    /// The action to run (see `soar-host actions RESOURCE`)
    action: String,
    /// Params as a JSON object; `@FILE` reads a file, `@-` standard input
    #[arg(long, value_name = "JSON")]
    params: Option<String>,
    /// One param; VALUE is parsed as JSON when it is JSON, else taken as a string. Repeatable; wins over --params
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
    param: Vec<String>,
    /// Print a result envelope on stdout, on failure too: {"status", "data" | "error", "http_requests", "elapsed_ms"}
    #[arg(long)]
    envelope: bool,
    /// One line of JSON instead of indented
    #[arg(long)]
    compact: bool,
    /// Where actions that download (recordings) write their files
    #[arg(long, value_name = "DIR", default_value = ".")]
    output: PathBuf,
}

pub async fn run(host: &Host, args: Args) -> i32 {
    let outcome = async {
        let params = params(&args)?;
        let resource = Resource::load(&args.resource)?;
        if !args.output.is_dir() {
            return Err(Error::Usage(format!(
                "--output {} is not a directory",
                args.output.display()
            )));
        }
        let options = InvokeOptions {
            output_dir: Some(args.output.clone()),
            progress: progress_bar(),
        };
        host.invoke_with(&resource, &args.action, &params, &options)
            .await
    }
    .await;
    match outcome {
        Ok(invocation) => {
            if args.envelope {
                print(&invocation.to_envelope(), args.compact);
            } else {
                print(&invocation.data, args.compact);
            }
            0
        }
        Err(e) => {
            if args.envelope {
                print(
                    &soar_host::Envelope::Failed { error: e.report() },
                    args.compact,
                );
            }
            super::report(&e)
        }
    }
}

fn print(value: &impl serde::Serialize, compact: bool) {
    let text = if compact {
        serde_json::to_string(value)
    } else {
        serde_json::to_string_pretty(value)
    };
    outln!("{}", text.expect("a result is JSON"));
}

fn params(args: &Args) -> Result<Value, Error> {
    let mut map = match &args.params {
        None => Map::new(),
        Some(text) => {
            let text = match text.strip_prefix('@') {
                Some("-") => {
                    let mut s = String::new();
                    std::io::stdin()
                        .read_to_string(&mut s)
                        .map_err(|e| Error::Usage(format!("cannot read params from stdin: {e}")))?;
                    s
                }
                Some(path) => std::fs::read_to_string(path)
                    .map_err(|e| Error::Usage(format!("cannot read params file {path}: {e}")))?,
                None => text.clone(),
            };
            match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(map)) => map,
                Ok(_) => {
                    return Err(Error::Usage(
                        "--params must be a JSON object, e.g. '{\"user_id\": \"me\"}'".into(),
                    ));
                }
                Err(e) => return Err(Error::Usage(format!("--params is not valid JSON: {e}"))),
            }
        }
    };
    for pair in &args.param {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(Error::Usage(format!("-p takes KEY=VALUE, got `{pair}`")));
        };
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
        map.insert(key.trim().to_owned(), value);
    }
    Ok(Value::Object(map))
}

/// A progress bar on stderr for downloads, when stderr is a terminal;
/// nothing otherwise (a script reading stderr wants no animation).
fn progress_bar() -> Option<soar_host::Progress> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::hidden();
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    let style = indicatif::ProgressStyle::with_template(
        "{bytes}/{total_bytes} {wide_bar} {bytes_per_sec} eta {eta}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    Some(Arc::new(move |done: u64, total: Option<u64>| {
        if let Some(total) = total {
            bar.set_length(total);
        }
        bar.set_position(done);
        if total == Some(done) {
            bar.finish_and_clear();
        }
    }))
}
