use std::path::{Path, PathBuf};

use serde_json::json;
use soar_host::redact::printable;
use soar_host::{Error, Host, Resource, TestOutcome};
use soar_host_cli::{out, outln};

#[derive(clap::Args)]
pub struct Args {
    /// A resource file, or a directory whose *.toml resource files are all tested
    path: PathBuf,
    /// Print JSON on stdout (one object, or an array for a directory)
    #[arg(long)]
    json: bool,
}

pub async fn run(host: &Host, args: Args) -> i32 {
    if args.path.is_dir() {
        return run_dir(host, &args).await;
    }
    let (label, plugin, outcome) = test_one(host, &args.path).await;
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&as_json(&args.path, &label, &plugin, &outcome))
                .unwrap_or_default()
        );
    }
    match outcome {
        Ok(outcome) => {
            if !args.json {
                out!("{}", printable(&text_report(&label, &plugin, &outcome)));
            }
            0
        }
        Err(e) => super::report(&e),
    }
}

async fn run_dir(host: &Host, args: &Args) -> i32 {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&args.path) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
            .collect(),
        Err(e) => {
            return super::report(&Error::Usage(format!(
                "cannot read directory {}: {e}",
                args.path.display()
            )));
        }
    };
    files.sort();
    if files.is_empty() {
        return super::report(&Error::Usage(format!(
            "no *.toml resource files in {}",
            args.path.display()
        )));
    }
    let mut failed = 0;
    let mut reports = Vec::new();
    for file in &files {
        let (label, plugin, outcome) = test_one(host, file).await;
        if args.json {
            reports.push(as_json(file, &label, &plugin, &outcome));
        }
        let status = match &outcome {
            Ok(o) => format!("ok  {}", printable(&o.summary)),
            Err(e) => format!("FAILED  {}", printable(&e.to_string().replace('\n', " "))),
        };
        if outcome.is_err() {
            failed += 1;
        }
        if !args.json {
            outln!("{}\t{}\t{status}", printable(&label), printable(&plugin));
        }
    }
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&reports).unwrap_or_default()
        );
    } else {
        outln!("{} of {} resources ok", files.len() - failed, files.len());
    }
    if failed > 0 { 1 } else { 0 }
}

async fn test_one(host: &Host, path: &Path) -> (String, String, Result<TestOutcome, Error>) {
    match Resource::load(path) {
        Ok(resource) => {
            let outcome = host.test(&resource).await;
            (resource.label, resource.plugin, outcome)
        }
        Err(e) => (
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            "?".into(),
            Err(e),
        ),
    }
}

fn as_json(
    path: &Path,
    label: &str,
    plugin: &str,
    outcome: &Result<TestOutcome, Error>,
) -> serde_json::Value {
    let mut value = match outcome {
        Ok(o) => o.to_json(),
        Err(e) => json!({ "ok": false, "error": e.report() }),
    };
    value["file"] = path.display().to_string().into();
    value["label"] = label.into();
    value["plugin"] = plugin.into();
    value
}

/// The human report: what was verified, which actions will work, and where
/// the plugin may connect.
fn text_report(label: &str, plugin: &str, o: &TestOutcome) -> String {
    use std::fmt::Write;
    let mut out = format!("ok: {label} ({plugin}): {}\n", o.summary);
    for (name, detail) in &o.checks {
        let _ = writeln!(out, "  ✓ {name}: {detail}");
    }
    if !o.scopes.is_empty() {
        let _ = writeln!(out, "  scopes: {}", o.scopes.join(" "));
    }
    let blocked: Vec<_> = o.readiness.iter().filter(|r| !r.ready).collect();
    if !o.readiness.is_empty() {
        let _ = writeln!(
            out,
            "  actions: {} of {} ready",
            o.readiness.len() - blocked.len(),
            o.readiness.len()
        );
        for r in blocked {
            let _ = writeln!(out, "    ✗ {}: {}", r.action, r.reason);
        }
    }
    let _ = writeln!(out, "  egress:");
    for rule in &o.egress {
        let _ = writeln!(out, "    {rule}  ({})", origin(rule));
    }
    out
}

pub(crate) fn origin(rule: &soar_host::egress::Rule) -> String {
    use soar_host::egress::Origin;
    let field = rule.field.as_deref().unwrap_or("");
    match rule.origin {
        Origin::Resource => format!("from the resource's `{field}`"),
        Origin::PluginDefault => format!("the plugin's default for `{field}`"),
        Origin::Pinned => "pinned by the resource's `egress`".into(),
    }
}
