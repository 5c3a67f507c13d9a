//! Finding a plugin's component: a path to a `.wasm` file, or a name looked
//! up in `$SOAR_PLUGIN_PATH`, then `plugins/` beside the executable, then the
//! plugins built into this binary. Dropping `NAME.wasm` into a plugin
//! directory adds (or overrides) a plugin with no change to the host.

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
    pub body: Body,
}

pub enum Body {
    /// Built in, with its SHA-256 as the build script computed it.
    Builtin {
        wasm: &'static [u8],
        digest: [u8; 32],
    },
    /// A file, not read yet: what it is now, to tell whether it changed.
    File(FileStamp),
}

/// A plugin file as the file system describes it: a file replaced or
/// rewritten gets another stamp, so a stamp seen before names the same
/// component without reading and hashing it again.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileStamp {
    pub path: PathBuf,
    len: u64,
    modified: Option<std::time::SystemTime>,
    inode: u64,
}

impl FileStamp {
    fn of(path: &Path) -> Result<Self, String> {
        let meta = std::fs::metadata(path)
            .map_err(|e| format!("cannot read plugin {}: {e}", path.display()))?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        Ok(Self {
            path: path.to_path_buf(),
            len: meta.len(),
            modified: meta.modified().ok(),
            inode,
        })
    }

    /// The component's bytes. (Errors follow the path in messages.)
    pub fn read(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.path).map_err(|e| format!("cannot read it: {e}"))
    }
}

/// Resolve `reference` (relative paths against `base_dir`).
pub fn resolve(reference: &str, base_dir: &Path) -> Result<PluginSource, String> {
    let looks_like_path = reference.ends_with(".wasm") || reference.contains(['/', '\\']);
    if looks_like_path {
        let path = base_dir.join(reference);
        return from_file(&path);
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
            return from_file(&path);
        }
    }
    if let Some((name, wasm, digest)) = BUILTIN.iter().find(|(name, ..)| *name == reference) {
        return Ok(PluginSource {
            origin: format!("builtin:{name}"),
            body: Body::Builtin {
                wasm,
                digest: **digest,
            },
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

fn from_file(path: &Path) -> Result<PluginSource, String> {
    Ok(PluginSource {
        origin: path.display().to_string(),
        body: Body::File(FileStamp::of(path)?),
    })
}
