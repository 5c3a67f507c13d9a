//! Finding a plugin's component: a path to a `.wasm` file, or a name looked
//! up in `$SOAR_PLUGIN_PATH`, then `plugins/` beside the executable, then the
//! plugins built into this binary. Dropping `NAME.wasm` into a plugin
//! directory adds (or overrides) a plugin with no change to the host.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// Plugins compiled into the binary by the build script: (name, component,
/// its SHA-256 as the build script computed it).
pub const BUILTIN: &[(&str, &[u8], &[u8; 32])] = &[(
    "zoom",
    include_bytes!(concat!(env!("OUT_DIR"), "/zoom.wasm")),
    include_bytes!(concat!(env!("OUT_DIR"), "/zoom.wasm.sha256")),
)];

pub struct PluginSource {
    /// Where it came from, for messages: a path or `builtin:NAME`.
    pub origin: String,
    pub wasm: Cow<'static, [u8]>,
    /// The SHA-256 of `wasm` when it is already known (built-in plugins).
    pub digest: Option<[u8; 32]>,
}

/// Resolve `reference` (relative paths against `base_dir`).
pub fn resolve(reference: &str, base_dir: &Path) -> Result<PluginSource, String> {
    let looks_like_path = reference.ends_with(".wasm") || reference.contains(['/', '\\']);
    if looks_like_path {
        let path = base_dir.join(reference);
        return read(&path);
    }
    if !reference
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "`{reference}` is neither a plugin name (letters, digits, - and _) nor a path to a .wasm file"
        ));
    }
    let file = format!("{reference}.wasm");
    for dir in search_dirs() {
        let path = dir.join(&file);
        if path.is_file() {
            return read(&path);
        }
    }
    if let Some((name, wasm, digest)) = BUILTIN.iter().find(|(name, ..)| *name == reference) {
        return Ok(PluginSource {
            origin: format!("builtin:{name}"),
            wasm: Cow::Borrowed(wasm),
            digest: Some(**digest),
        });
    }
    let builtin: Vec<&str> = BUILTIN.iter().map(|(n, ..)| *n).collect();
    Err(format!(
        "no plugin named `{reference}`: not built in ({}), and no {file} in $SOAR_PLUGIN_PATH or plugins/ beside soar-host",
        builtin.join(", ")
    ))
}

fn search_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("SOAR_PLUGIN_PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(plugins) = beside_exe() {
        dirs.push(plugins.to_path_buf());
    }
    dirs
}

/// `plugins/` beside the running binary, looked up once: the binary does not
/// move, and asking the kernel on every call cost an invocation microseconds.
fn beside_exe() -> Option<&'static Path> {
    static DIR: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    DIR.get_or_init(|| Some(std::env::current_exe().ok()?.parent()?.join("plugins")))
        .as_deref()
}

fn read(path: &Path) -> Result<PluginSource, String> {
    let wasm =
        std::fs::read(path).map_err(|e| format!("cannot read plugin {}: {e}", path.display()))?;
    Ok(PluginSource {
        origin: path.display().to_string(),
        wasm: Cow::Owned(wasm),
        digest: None,
    })
}
