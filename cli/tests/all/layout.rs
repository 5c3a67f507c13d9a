//! The crates' arrows run one way, and each caller carries only what it runs:
//! the host library has no HTTP server, OpenAPI, Temporal or argument parser
//! in its tree, and the CLI without default features has neither the service
//! nor the worker; nor does the `soar-host` binary of a full build, which
//! execs `soar-host-server` for `serve`, `token` and `worker`.

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

/// Whether the binary at `path` holds `name` anywhere (its symbols, its
/// panic locations' paths).
fn binary_mentions(path: &str, names: &[&str]) -> Vec<String> {
    let bytes = std::fs::read(path).expect("read the binary");
    names
        .iter()
        .filter(|name| memchr::memmem::find(&bytes, name.as_bytes()).is_some())
        .map(|name| name.to_string())
        .collect()
}

#[test]
fn the_command_line_binary_links_neither_the_service_nor_temporal() {
    // Not utoipa: with the full build's features, the host's wire types
    // derive their schemas, which only the service's OpenAPI document reads.
    const NAMES: &[&str] = &[
        "soar_host_service",
        "soar_host_worker",
        "temporalio_sdk",
        "axum",
    ];
    assert_eq!(
        binary_mentions(env!("CARGO_BIN_EXE_soar-host"), NAMES),
        Vec::<String>::new()
    );
    assert_eq!(
        binary_mentions(env!("CARGO_BIN_EXE_soar-host-server"), NAMES),
        NAMES
    );
    // And it runs them, through soar-host-server.
    let out = Command::new(env!("CARGO_BIN_EXE_soar-host"))
        .args(["worker", "--help"])
        .output()
        .expect("run soar-host worker --help");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        help.contains("Usage: soar-host worker [OPTIONS] --resources <DIR>"),
        "{help}"
    );
}

#[test]
fn without_soar_host_server_beside_it_serve_says_what_to_install() {
    let dir = tempfile::tempdir().expect("temp dir");
    let alone = dir.path().join("soar-host");
    std::fs::copy(env!("CARGO_BIN_EXE_soar-host"), &alone).expect("copy soar-host");
    let out = Command::new(&alone)
        .args(["serve", "--resources", "."])
        .output()
        .expect("run soar-host serve");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("soar-host-server")
            && stderr.contains("cargo install --path cli")
            && stderr.ends_with(")\n")
            && stderr.lines().count() == 1,
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}
