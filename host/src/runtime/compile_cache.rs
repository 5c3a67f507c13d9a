//! Compiled components cached on disk, so a second CLI run does not compile
//! again. Keyed by the component's SHA-256 and the engine's compatibility
//! hash; loaded only from a directory the host itself created, owned by this
//! user and closed to others, because deserialising native code trusts it.
//! Beside each component, the manifest its `describe()` returned.

use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::manifest::Manifest;

pub struct CompileCache {
    dir: PathBuf,
    /// The engine's compatibility hash, part of every file name (computing
    /// it costs ~60 µs, so once).
    engine_hash: u64,
}

impl CompileCache {
    /// `$SOAR_HOST_CACHE_DIR`, else `$XDG_CACHE_HOME/soar-host`, else
    /// `~/.cache/soar-host`. `None` when no usable directory exists.
    /// `engine`: the engine whose compiled code this cache holds.
    pub fn open(explicit: Option<PathBuf>, engine: &Engine) -> Option<Self> {
        let dir = explicit
            .or_else(|| std::env::var_os("SOAR_HOST_CACHE_DIR").map(PathBuf::from))
            .or_else(|| {
                std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("soar-host"))
            })
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/soar-host"))
            })?
            .join("components");
        match crate::private_dir::prepare(&dir) {
            Ok(()) => {
                let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
                engine
                    .precompile_compatibility_hash()
                    .hash(&mut engine_hash);
                Some(Self {
                    dir,
                    engine_hash: engine_hash.finish(),
                })
            }
            Err(reason) => {
                tracing::warn!(
                    "not caching compiled plugins in {}: {reason}",
                    dir.display()
                );
                None
            }
        }
    }

    /// `digest`: the component's SHA-256, which the runtime has already
    /// computed (hashing it again cost a CLI run ~0.2 ms).
    fn path_for(&self, digest: &[u8; 32]) -> PathBuf {
        let name = format!(
            "{}-{:016x}-{}.cwasm",
            crate::hex(&digest[..16]),
            self.engine_hash,
            env!("CARGO_PKG_VERSION")
        );
        self.dir.join(name)
    }

    pub fn load(&self, engine: &Engine, digest: &[u8; 32]) -> Option<Component> {
        let path = self.path_for(digest);
        if !path.exists() {
            return None;
        }
        // SAFETY: the file was written by `store` below into a directory
        // that only this user can write (checked by `prepare`), from a
        // component with this exact hash compiled by a compatible engine.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::debug!("ignoring cached {}: {e}", path.display());
                let _ = fs::remove_file(&path);
                None
            }
        }
    }

    pub fn store(&self, digest: &[u8; 32], component: &Component) {
        let path = self.path_for(digest);
        let result = component
            .serialize()
            .map_err(|e| e.to_string())
            .and_then(|bytes| write_atomically(&path, &bytes));
        if let Err(e) = result {
            tracing::debug!("could not cache {}: {e}", path.display());
        }
    }

    /// The manifest the component's `describe()` returned, kept beside the
    /// compiled component so that a warm start need not instantiate the
    /// component to ask again. `None` when absent or unreadable.
    pub fn load_manifest(&self, digest: &[u8; 32]) -> Option<Manifest> {
        let path = self.manifest_path(digest);
        let bytes = fs::read(&path).ok()?;
        match serde_json::from_slice(&bytes) {
            Ok(manifest) => Some(manifest),
            Err(e) => {
                tracing::debug!("ignoring cached {}: {e}", path.display());
                let _ = fs::remove_file(&path);
                None
            }
        }
    }

    pub fn store_manifest(&self, digest: &[u8; 32], manifest: &Manifest) {
        let path = self.manifest_path(digest);
        let result = serde_json::to_vec(manifest)
            .map_err(|e| e.to_string())
            .and_then(|bytes| write_atomically(&path, &bytes));
        if let Err(e) = result {
            tracing::debug!("could not cache {}: {e}", path.display());
        }
    }

    fn manifest_path(&self, digest: &[u8; 32]) -> PathBuf {
        self.path_for(digest).with_extension("manifest.json")
    }

    /// Why this component could not be loaded, if a process found so: it
    /// is not tried again (a changed file has another digest).
    pub fn load_broken(&self, digest: &[u8; 32]) -> Option<String> {
        fs::read_to_string(self.path_for(digest).with_extension("broken")).ok()
    }

    pub fn store_broken(&self, digest: &[u8; 32], reason: &str) {
        let path = self.path_for(digest).with_extension("broken");
        if let Err(e) = write_atomically(&path, reason.as_bytes()) {
            tracing::debug!("could not record {}: {e}", path.display());
        }
    }
}

/// Write then rename, so a reader never sees half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, bytes)
        .and_then(|()| fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = fs::remove_file(&tmp);
            e.to_string()
        })
}
