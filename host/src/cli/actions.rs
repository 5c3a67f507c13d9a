use std::path::Path;

use soar_host::{Host, Manifest, Resource};

#[derive(clap::Args)]
pub struct Args {
    /// A resource file (*.toml), a plugin name (`zoom`) or a path to a .wasm component
    target: String,
    /// Print the plugin's whole manifest as JSON
    #[arg(long)]
    json: bool,
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
