use std::path::Path;

use soar_host::{Host, Manifest, Resource};

#[derive(clap::Args)]
pub struct Args {
    /// A resource file (*.toml), a plugin name (`zoom`) or a path to a .wasm component
    target: String,
    /// Print the plugin's whole manifest as JSON
    #[arg(long, conflicts_with = "markdown")]
    json: bool,
    /// Print the action reference as Markdown (the README's is made this way)
    #[arg(long)]
    markdown: bool,
}

pub async fn run(host: &Host, args: Args) -> i32 {
    let manifest = if args.target.ends_with(".toml") {
        match Resource::load(Path::new(&args.target)) {
            Ok(resource) => host.manifest(&resource).await,
            Err(e) => Err(e),
        }
    } else {
        host.plugin(&args.target, Path::new("."))
            .await
            .map(|p| p.manifest.clone())
    };
    match manifest {
        Ok(manifest) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&manifest).unwrap_or_default()
                );
            } else if args.markdown {
                print!("{}", markdown(&manifest));
            } else {
                print!("{}", render(&manifest));
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
        let _ = writeln!(out, "    scopes: {}", a.scopes.join(" | "));
        for p in &a.params {
            let mut line = format!(
                "    {}{}: {}",
                p.name,
                if p.required { "" } else { "?" },
                p.value_type.name()
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
        let _ = writeln!(out, "| param | type | required | notes |");
        let _ = writeln!(out, "| --- | --- | --- | --- |");
        for p in &a.params {
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
                p.value_type.name(),
                if p.required { "yes" } else { "" }
            );
        }
    }
    out
}
