//! The crates' arrows run one way, and each caller carries only what it runs:
//! the host library has no HTTP server, OpenAPI, Temporal or argument parser
//! in its tree, and the CLI without default features has neither the service
//! nor the worker.

use std::process::Command;

/// `cargo tree` of `package` with `args`: one `name features` line per
/// package in its normal (non-dev, non-build) dependency tree.
fn tree(package: &str, args: &[&str]) -> Vec<(String, String)> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .args(["tree", "--locked", "-e", "normal", "--prefix", "none"])
        .args(["-f", "{p}|{f}", "-p", package])
        .args(args)
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree -p {package} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .lines()
        .filter_map(|line| {
            let (package, features) = line.split_once('|')?;
            let name = package.split_whitespace().next()?;
            Some((
                name.to_owned(),
                features.trim_end_matches(" (*)").to_owned(),
            ))
        })
        .collect()
}

/// The names in `tree` that are any of `banned` (a trailing `*` matches a
/// prefix), or hyper with its server.
fn banned_in(tree: &[(String, String)], banned: &[&str]) -> Vec<String> {
    let mut found: Vec<String> = tree
        .iter()
        .filter(|(name, features)| {
            banned.iter().any(|b| match b.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == b,
            }) || (name == "hyper" && features.split(',').any(|f| f == "server"))
        })
        .map(|(name, features)| format!("{name} [{features}]"))
        .collect();
    found.sort();
    found.dedup();
    found
}

const SERVICE_AND_WORKER: &[&str] = &[
    "axum",
    "utoipa",
    "prometheus-client",
    "temporalio-*",
    "soar-host-service",
    "soar-host-worker",
];

#[test]
fn the_host_library_carries_no_server_openapi_temporal_or_argument_parser() {
    let host = tree("soar-host", &[]);
    assert!(host.iter().any(|(name, _)| name == "wasmtime"), "{host:?}");
    let mut banned = SERVICE_AND_WORKER.to_vec();
    banned.extend(["clap", "tracing-subscriber", "indicatif", "mimalloc"]);
    assert_eq!(banned_in(&host, &banned), Vec::<String>::new());
}

#[test]
fn playbooks_sit_on_the_host_alone() {
    let playbook = tree("soar-playbook", &[]);
    assert!(
        playbook.iter().any(|(name, _)| name == "soar-host"),
        "{playbook:?}"
    );
    assert!(
        playbook.iter().any(|(name, _)| name == "minijinja"),
        "{playbook:?}"
    );
    let mut banned = SERVICE_AND_WORKER.to_vec();
    banned.extend([
        "clap",
        "tracing-subscriber",
        "mimalloc",
        "serde_yaml",
        "serde_yml",
    ]);
    assert_eq!(banned_in(&playbook, &banned), Vec::<String>::new());
}

#[test]
fn the_lean_cli_carries_neither_the_service_nor_the_worker() {
    let lean = tree("soar-host-cli", &["--no-default-features"]);
    assert!(lean.iter().any(|(name, _)| name == "clap"), "{lean:?}");
    assert!(
        lean.iter().any(|(name, _)| name == "soar-playbook"),
        "{lean:?}"
    );
    assert_eq!(banned_in(&lean, SERVICE_AND_WORKER), Vec::<String>::new());
    // The full binary has both.
    let full = tree("soar-host-cli", &[]);
    for crate_name in [
        "soar-host-service",
        "soar-host-worker",
        "axum",
        "temporalio-sdk",
    ] {
        assert!(
            full.iter().any(|(name, _)| name == crate_name),
            "{crate_name} missing"
        );
    }
}
