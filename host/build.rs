//! Compiles the plugins to WASI 0.2 components (wasm32-wasip2) so that a
//! plain `cargo build` / `cargo test` of the host needs no other step, the way
//! wasmtime's test-programs crate builds its guests. The Zoom component is
//! embedded in the host binary as the built-in `zoom` plugin; the hostile
//! test plugin is only handed to the tests (`SOAR_HOSTILE_PLUGIN`).
//!
//! The nested cargo uses its own target directory (target/plugins), shared by
//! debug and release builds of the host and never locked by the outer build.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::Digest as _;

const TARGET: &str = "wasm32-wasip2";
/// The plugins' cargo profile (workspace Cargo.toml): release, optimised as
/// one unit.
const PROFILE: &str = "plugin";

/// (package, its directory, the file name it is copied to in OUT_DIR)
const PLUGINS: &[(&str, &str, &str)] = &[
    ("zoom-plugin", "zoom-plugin", "zoom.wasm"),
    ("hostile-plugin", "fixtures/hostile-plugin", "hostile.wasm"),
];

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir
        .parent()
        .expect("host/ sits in the workspace")
        .to_path_buf();
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("set by cargo"));
    let watched = ["wit", "Cargo.lock", "Cargo.toml"]
        .into_iter()
        .chain(PLUGINS.iter().map(|(_, dir, _)| *dir));
    for path in watched {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }
    println!("cargo:rerun-if-env-changed=SOAR_PLUGIN_TARGET_DIR");

    let target_dir = env::var_os("SOAR_PLUGIN_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target").join("plugins"));
    ensure_target(&root);

    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(&root)
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
    for (package, ..) in PLUGINS {
        cmd.args(["-p", package]);
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

    for (package, _, file) in PLUGINS {
        let built = target_dir
            .join(TARGET)
            .join(PROFILE)
            .join(format!("{}.wasm", package.replace('-', "_")));
        std::fs::copy(&built, out_dir.join(file))
            .unwrap_or_else(|e| panic!("cannot copy {}: {e}", built.display()));
        // Its SHA-256, the key of its compiled form in the host's caches:
        // hashing it here spares every process that starts the host.
        let wasm = std::fs::read(&built)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", built.display()));
        let digest: [u8; 32] = sha2::Sha256::digest(&wasm).into();
        std::fs::write(out_dir.join(format!("{file}.sha256")), digest)
            .unwrap_or_else(|e| panic!("cannot write the digest of {file}: {e}"));
    }
    println!(
        "cargo:rustc-env=SOAR_HOSTILE_PLUGIN={}",
        out_dir.join("hostile.wasm").display()
    );
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
