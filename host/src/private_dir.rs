//! Directories only the user may write: the compile cache (whose contents
//! become executable code) and the state directory (whose contents are
//! tokens). One that belongs to someone else, or that others can write to,
//! is refused.

use std::fs;
use std::path::{Path, PathBuf};

/// Create `dir` (0700) if needed and check that it is the user's alone.
pub fn prepare(dir: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| e.to_string())?;
        let meta = fs::metadata(dir).map_err(|e| e.to_string())?;
        // SAFETY: geteuid has no preconditions.
        let uid = unsafe { libc_geteuid() };
        if meta.uid() != uid {
            return Err("it belongs to another user".into());
        }
        if meta.permissions().mode() & 0o022 != 0 {
            return Err("others can write to it".into());
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        fs::create_dir_all(dir).map_err(|e| e.to_string())
    }
}

/// The SQLite database `name` in the private directory `dir`: the file
/// created 0600 before SQLite opens it (SQLite gives its journal files the
/// database's mode), refused when others can read or write it.
pub fn open_sqlite(dir: &Path, name: &str) -> Result<(rusqlite::Connection, PathBuf), String> {
    prepare(dir).map_err(|e| format!("state directory {}: {e}", dir.display()))?;
    let path = dir.join(name);
    #[cfg(unix)]
    if let Ok(meta) = fs::metadata(&path) {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(format!(
                "{} can be read or written by others; `chmod 600` it",
                path.display()
            ));
        }
    }
    let mut create = fs::OpenOptions::new();
    create.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
    create
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let db = rusqlite::Connection::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((db, path))
}

#[cfg(unix)]
unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}
