//! Compiles plugins of this workspace to WASI 0.2 components (wasm32-wasip2)
//! from a build script, so that a plain `cargo build` / `cargo test` needs no
//! other step, the way wasmtime's test-programs crate builds its guests. Used
//! by the host's build script (the built-in Zoom plugin, embedded in the
//! library) and by `fixtures/test-plugins` (the components only tests load).
//!
//! The nested cargo uses its own target directory (target/plugins, or
//! `SOAR_PLUGIN_TARGET_DIR`), shared by every build of the host and never
//! locked by the outer build.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const TARGET: &str = "wasm32-wasip2";
/// The plugins' cargo profile (workspace Cargo.toml): release, optimised as
/// one unit.
pub const PROFILE: &str = "plugin";

/// A component to build: a package's library, or one of its examples.
pub struct Component {
    pub package: &'static str,
    /// The package's directory, relative to the workspace root.
    pub dir: &'static str,
    pub example: Option<&'static str>,
}

/// Build `components` of the workspace at `root` in one nested cargo run and
/// return where each was written, in order. Tells cargo to run the calling
/// build script again when a plugin, the WIT contract or the SDK changes.
pub fn build(root: &Path, components: &[Component]) -> Vec<PathBuf> {
    let watched = ["wit", "Cargo.lock", "Cargo.toml", "plugin-sdk"]
        .into_iter()
        .chain(components.iter().map(|c| c.dir));
    for path in watched {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }
    println!("cargo:rerun-if-env-changed=SOAR_PLUGIN_TARGET_DIR");

    let target_dir = env::var_os("SOAR_PLUGIN_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target").join("plugins"));
    ensure_target(root);

    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root)
        .args([
            "build",
            "--profile",
            PROFILE,
            "--locked",
            "--target",
            TARGET,
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    let mut packages: Vec<&str> = components.iter().map(|c| c.package).collect();
    packages.sort_unstable();
    packages.dedup();
    for package in packages {
        cmd.args(["-p", package]);
    }
    if components.iter().any(|c| c.example.is_none()) {
        cmd.arg("--lib");
    }
    for example in components.iter().filter_map(|c| c.example) {
        cmd.args(["--example", example]);
    }
    // The outer build's settings are for the host, not for the guests.
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy();
        if (key.starts_with("CARGO_") && key != "CARGO_HOME")
            || key == "RUSTFLAGS"
            || key == "RUSTC_WRAPPER"
        {
            cmd.env_remove(key.as_ref());
        }
    }
    let status = cmd.status().expect("cannot run cargo to build the plugins");
    assert!(status.success(), "building the plugins for {TARGET} failed");

    let profile_dir = target_dir.join(TARGET).join(PROFILE);
    components
        .iter()
        .map(|c| match c.example {
            Some(example) => profile_dir.join("examples").join(format!("{example}.wasm")),
            None => profile_dir.join(format!("{}.wasm", c.package.replace('-', "_"))),
        })
        .collect()
}

/// A toolchain installed before the project pinned `wasm32-wasip2` lacks its
/// standard library; add it, so a fresh machine needs no manual step.
fn ensure_target(root: &Path) {
    let sysroot = Command::new(env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| PathBuf::from(s.trim()));
    let installed = sysroot
        .map(|s| s.join("lib/rustlib").join(TARGET).exists())
        .unwrap_or(false);
    if !installed {
        println!("cargo:warning=installing the {TARGET} target with rustup");
        let status = Command::new("rustup")
            .current_dir(root)
            .args(["target", "add", TARGET])
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            panic!(
                "the {TARGET} target is missing and `rustup target add {TARGET}` failed; run it by hand"
            );
        }
    }
}
