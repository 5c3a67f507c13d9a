//! The resources of a directory, as the service and the worker serve them:
//! every `*.toml` in it, named by the file's stem (`zoom-prod.toml` is `zoom-prod`).
//! A file that does not load (bad TOML, unknown plugin, missing secret) is
//! reported and skipped; the others serve. Reloading builds a new registry;
//! runs in flight keep the resource they started with.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::{Host, Resource};

pub struct Registry {
    pub resources: BTreeMap<String, Arc<Resource>>,
    pub skipped: Vec<Skipped>,
}

/// A resource file that could not be served, and why.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub file: String,
    pub error: String,
}

impl Registry {
    /// Load `dir`; an unreadable directory is an error, a broken file is not.
    pub async fn load(host: &Host, dir: &Path) -> Result<Self, String> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| format!("resources directory {}: {e}", dir.display()))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
            .collect();
        files.sort();
        let mut registry = Registry {
            resources: BTreeMap::new(),
            skipped: Vec::new(),
        };
        for path in files {
            let file = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match load_one(host, &path).await {
                Ok((name, resource)) => {
                    registry.resources.insert(name, Arc::new(resource));
                }
                Err(error) => {
                    tracing::warn!(file = %file, "resource skipped: {error}");
                    registry.skipped.push(Skipped { file, error });
                }
            }
        }
        Ok(registry)
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Resource>> {
        self.resources.get(name)
    }
}

/// The registry of a resources directory, swapped whole by a reload:
/// whoever took the current one (a run in flight) keeps it.
pub struct Resources {
    dir: PathBuf,
    current: RwLock<Arc<Registry>>,
}

impl Resources {
    pub async fn load(host: &Host, dir: &Path) -> Result<Self, String> {
        let registry = Registry::load(host, dir).await?;
        Ok(Resources {
            dir: dir.to_owned(),
            current: RwLock::new(Arc::new(registry)),
        })
    }

    /// The directory it reads.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn current(&self) -> Arc<Registry> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Read the directory again; `prepare` sees the new registry before it
    /// serves. An unreadable directory is logged and the old one stays.
    pub async fn reload(&self, host: &Host, prepare: impl FnOnce(&Registry)) {
        match Registry::load(host, &self.dir).await {
            Ok(registry) => {
                prepare(&registry);
                tracing::info!(
                    resources = registry.resources.len(),
                    skipped = registry.skipped.len(),
                    "resources reloaded"
                );
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(registry);
            }
            Err(e) => tracing::error!("reload failed, the resources stay as they were: {e}"),
        }
    }
}

async fn load_one(host: &Host, path: &Path) -> Result<(String, Resource), String> {
    let name = crate::resource::name_of(path)?;
    let resource = Resource::load(path).map_err(|e| e.to_string())?;
    // Loads the plugin and resolves the config: a missing secret or an
    // unknown plugin shows now, not at the first run.
    host.egress(&resource).await.map_err(|e| e.to_string())?;
    Ok((name, resource))
}
