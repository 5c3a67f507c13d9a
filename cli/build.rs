//! The binaries' relative relocations packed (DT_RELR): on x86-64 Linux a
//! release soar-host has ~43 000 of them, 24 bytes each in `.rela.dyn`
//! (1 MB) that the loader reads at every start; packed, they are a few
//! kilobytes. Needs GNU ld 2.38 or lld to pack them (an older ld warns and
//! ignores the flag) and glibc 2.36 to run.
fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
