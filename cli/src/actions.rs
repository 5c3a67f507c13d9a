use std::path::Path;

use soar_host::redact::printable;
use soar_host::{Host, Manifest, Resource};
use soar_host_cli::{out, outln};

#[derive(clap::Args)]
pub struct Args {
    /// A resource file (*.toml), a plugin name (`zoom`) or a path to a .wasm component
    target: String,
    /// Print the plugin's whole manifest as JSON
    #[arg(long, conflicts_with = "markdown")]
    json: bool,
    /// Print the action reference as Markdown (docs/reference/zoom-actions.md is made this way)
    #[arg(long)]
    markdown: bool,
}

pub async fn run(host: &Host, args: Args) -> i32 {
    // For a resource, also where its plugin may connect.
    let loaded = if args.target.ends_with(".toml") {
        async {
            let resource = Resource::load(Path::new(&args.target))?;
            let manifest = host.manifest(&resource).await?;
            let egress = Host::egress_for(&resource, &manifest)?;
            Ok((manifest, Some(egress)))
        }
        .await
    } else {
        host.plugin(&args.target, Path::new("."))
            .await
            .map(|p| (p.manifest.clone(), None))
    };
    match loaded {
        Ok((manifest, egress)) => {
            if args.json {
                let mut value = serde_json::to_value(&manifest).unwrap_or_default();
                if let Some(egress) = &egress {
                    value["egress"] = serde_json::to_value(egress).unwrap_or_default();
                }
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&value).unwrap_or_default()
                );
            } else if args.markdown {
                out!("{}", printable(&markdown(&manifest)));
            } else {
                let mut text = render(&manifest);
                if let Some(egress) = &egress {
                    text.push_str("egress:\n");
                    for rule in egress {
                        text.push_str(&format!("    {rule}  ({})\n", super::test::origin(rule)));
                    }
                }
                out!("{}", printable(&text));
            }
            0
        }
        Err(e) => super::report(&e),
    }
}

/// The human listing: each action, its kind and scopes, then its params.
pub fn render(m: &Manifest) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "{} {} — {}\n", m.name, m.version, m.description);
    for a in &m.actions {
        let kind = format!("{:?}", a.kind).to_lowercase();
        let _ = writeln!(out, "{}  [{kind}]  {}", a.name, a.description);
        if !a.operation.is_empty() {
            let _ = writeln!(out, "    calls: {}", a.operation);
        }
        let _ = writeln!(out, "    scopes: {}", a.scopes.join(" | "));
        if !a.idempotent {
            let _ = writeln!(out, "    not idempotent: running it twice may act twice");
        }
        for p in a.params() {
            let mut line = format!(
                "    {}{}: {}",
                p.name,
                if p.required { "" } else { "?" },
                p.type_name
            );
            if !p.allowed.is_empty() {
                let allowed: Vec<String> = p.allowed.iter().map(|v| v.to_string()).collect();
                let _ = write!(line, " (one of {})", allowed.join(", "));
            }
            if let Some(d) = &p.default {
                let _ = write!(line, " [default {d}]");
            }
            let _ = writeln!(out, "{line}  — {}", p.description);
        }
        out.push('\n');
    }
    out
}

/// The action reference as Markdown: a table of actions, then each one's params.
/// The fields an output schema promises (its `required`), as `name`s.
fn output_fields(schema: Option<&serde_json::Value>) -> Vec<String> {
    schema
        .and_then(|s| s.get("required"))
        .and_then(serde_json::Value::as_array)
        .map(|names| {
            names
                .iter()
                .filter_map(serde_json::Value::as_str)
                .map(|n| format!("`{n}`"))
                .collect()
        })
        .unwrap_or_default()
}

pub fn markdown(m: &Manifest) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "| action | kind | what it does | scopes (any of) |");
    let _ = writeln!(out, "| --- | --- | --- | --- |");
    for a in &m.actions {
        let kind = format!("{:?}", a.kind).to_lowercase();
        let scopes: Vec<String> = a.scopes.iter().map(|s| format!("`{s}`")).collect();
        let _ = writeln!(
            out,
            "| [`{}`](#{}) | {kind} | {} | {} |",
            a.name,
            a.name,
            a.description,
            scopes.join(" ")
        );
    }
    for a in &m.actions {
        let _ = writeln!(out, "\n#### {}\n\n{}.\n", a.name, a.description);
        // What a playbook may rely on: repeating it, and the result's fields.
        let repeat = if a.idempotent { "yes" } else { "no" };
        let _ = write!(out, "Idempotent: {repeat}.");
        let fields = output_fields(a.output_schema.as_deref());
        if !fields.is_empty() {
            let _ = write!(out, " Output: {}.", fields.join(", "));
        }
        let _ = writeln!(out, "\n");
        let _ = writeln!(out, "| param | type | required | notes |");
        let _ = writeln!(out, "| --- | --- | --- | --- |");
        for p in a.params() {
            let mut notes = p.description.replace('|', "\\|");
            if !p.allowed.is_empty() {
                let allowed: Vec<String> = p
                    .allowed
                    .iter()
                    .map(|v| {
                        format!(
                            "`{}`",
                            v.as_str()
                                .map(str::to_owned)
                                .unwrap_or_else(|| v.to_string())
                        )
                    })
                    .collect();
                let _ = write!(notes, "; one of {}", allowed.join(", "));
            }
            if let Some(d) = &p.default {
                let _ = write!(
                    notes,
                    "; default `{}`",
                    d.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| d.to_string())
                );
            }
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {notes} |",
                p.name,
                p.type_name,
                if p.required { "yes" } else { "" }
            );
        }
    }
    out
}
