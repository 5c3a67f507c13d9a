//! Compiles the built-in Zoom plugin to a WASI 0.2 component, embedded in the
//! library (`plugins::BUILTIN`), with its SHA-256: the key of its compiled
//! form in the host's caches, hashed here to spare every process that starts
//! the host. The components only tests load are built by
//! `fixtures/test-plugins`, not here.

use std::env;
use std::path::PathBuf;

use sha2::Digest as _;
use soar_build_support::Component;

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir.parent().expect("host/ sits in the workspace");
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("set by cargo"));
    let zoom = Component {
        package: "zoom-plugin",
        dir: "zoom-plugin",
        example: None,
    };
    let [built] = &soar_build_support::build(root, &[zoom])[..] else {
        unreachable!("one component asked for")
    };
    let wasm =
        std::fs::read(built).unwrap_or_else(|e| panic!("cannot read {}: {e}", built.display()));
    std::fs::write(out_dir.join("zoom.wasm"), &wasm).expect("cannot write zoom.wasm");
    let digest: [u8; 32] = sha2::Sha256::digest(&wasm).into();
    std::fs::write(out_dir.join("zoom.wasm.sha256"), digest).expect("cannot write its digest");
}
