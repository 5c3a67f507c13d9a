//! Compiles the Zoom plugin to a WASI 0.2 component (wasm32-wasip2) so that a
//! plain `cargo build` / `cargo test` of the host needs no other step, the way
//! wasmtime's test-programs crate builds its guests. The component is
//! embedded in the host binary as the built-in `zoom` plugin.
//!
//! The nested cargo uses its own target directory (target/plugins), shared by
//! debug and release builds of the host and never locked by the outer build.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir
        .parent()
        .expect("host/ sits in the workspace")
        .to_path_buf();
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("set by cargo"));
    for watched in [
        "zoom-plugin/src",
        "zoom-plugin/Cargo.toml",
        "wit",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=SOAR_PLUGIN_TARGET_DIR");

    let target_dir = env::var_os("SOAR_PLUGIN_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target").join("plugins"));
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    ensure_target(&root);

    let mut cmd = Command::new(&cargo);
    cmd.current_dir(&root)
        .args([
            "build",
            "--release",
            "--locked",
            "-p",
            "zoom-plugin",
            "--target",
            TARGET,
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    // The outer build's settings are for the host, not for the guest.
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_") && key != "CARGO_HOME"
            || key == "RUSTFLAGS"
            || key == "RUSTC_WRAPPER"
        {
            cmd.env_remove(key.as_ref());
        }
    }
    let status = cmd
        .status()
        .expect("cannot run cargo to build the Zoom plugin");
    assert!(status.success(), "building zoom-plugin for {TARGET} failed");

    let built = target_dir
        .join(TARGET)
        .join("release")
        .join("zoom_plugin.wasm");
    std::fs::copy(&built, out_dir.join("zoom.wasm"))
        .unwrap_or_else(|e| panic!("cannot copy {}: {e}", built.display()));
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
