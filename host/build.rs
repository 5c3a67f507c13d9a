//! Compiles the plugins to WASI 0.2 components (wasm32-wasip2) so that a
//! plain `cargo build` / `cargo test` of the host needs no other step, the way
//! wasmtime's test-programs crate builds its guests. The Zoom component is
//! embedded in the host binary as the built-in `zoom` plugin; the test
//! components are only handed to the tests, each through an environment
//! variable set at compile time (`SOAR_HOSTILE_PLUGIN`, ...).
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

/// A component to build.
struct Plugin {
    package: &'static str,
    dir: &'static str,
    /// An example of the package rather than its library.
    example: Option<&'static str>,
    /// The file name it is copied to in OUT_DIR.
    file: &'static str,
    /// For test components: the variable that hands the tests its path.
    test_env: Option<&'static str>,
}

const PLUGINS: &[Plugin] = &[
    Plugin {
        package: "zoom-plugin",
        dir: "zoom-plugin",
        example: None,
        file: "zoom.wasm",
        test_env: None,
    },
    // Built against the frozen soar:plugin@0.1.0.
    Plugin {
        package: "hostile-plugin",
        dir: "fixtures/hostile-plugin",
        example: None,
        file: "hostile.wasm",
        test_env: Some("SOAR_HOSTILE_PLUGIN"),
    },
    Plugin {
        package: "hostile-plugin",
        dir: "fixtures/hostile-plugin",
        example: Some("stuck_describe"),
        file: "stuck-describe.wasm",
        test_env: Some("SOAR_STUCK_DESCRIBE_PLUGIN"),
    },
    // Built against soar:plugin@0.2.0: downloads, webhooks, retries.
    Plugin {
        package: "hostile-plugin",
        dir: "fixtures/hostile-plugin",
        example: Some("hostile02"),
        file: "hostile02.wasm",
        test_env: Some("SOAR_HOSTILE02_PLUGIN"),
    },
    Plugin {
        package: "hostile-plugin",
        dir: "fixtures/hostile-plugin",
        example: Some("hostile02_silent"),
        file: "hostile02-silent.wasm",
        test_env: Some("SOAR_HOSTILE02_SILENT_PLUGIN"),
    },
    // The integration author's guide: a plugin the host knows nothing of.
    Plugin {
        package: "echo-plugin",
        dir: "examples/echo-plugin",
        example: None,
        file: "echo.wasm",
        test_env: Some("SOAR_ECHO_PLUGIN"),
    },
    Plugin {
        package: "hostile-plugin",
        dir: "fixtures/hostile-plugin",
        example: Some("bad_manifest"),
        file: "bad-manifest.wasm",
        test_env: Some("SOAR_BAD_MANIFEST_PLUGIN"),
    },
];

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir
        .parent()
        .expect("host/ sits in the workspace")
        .to_path_buf();
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("set by cargo"));
    let watched = ["wit", "Cargo.lock", "Cargo.toml", "plugin-sdk"]
        .into_iter()
        .chain(PLUGINS.iter().map(|p| p.dir));
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
    let mut packages: Vec<&str> = PLUGINS.iter().map(|p| p.package).collect();
    packages.dedup();
    for package in packages {
        cmd.args(["-p", package]);
    }
    cmd.arg("--lib");
    for example in PLUGINS.iter().filter_map(|p| p.example) {
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

    for plugin in PLUGINS {
        let file = plugin.file;
        let profile_dir = target_dir.join(TARGET).join(PROFILE);
        let built = match plugin.example {
            Some(example) => profile_dir.join("examples").join(format!("{example}.wasm")),
            None => profile_dir.join(format!("{}.wasm", plugin.package.replace('-', "_"))),
        };
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
    for plugin in PLUGINS {
        if let Some(var) = plugin.test_env {
            println!(
                "cargo:rustc-env={var}={}",
                out_dir.join(plugin.file).display()
            );
        }
    }
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
