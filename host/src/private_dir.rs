//! Directories only the user may write: the compile cache (whose contents
//! become executable code) and the state directory (whose contents are
//! tokens). One that belongs to someone else, or that others can write to,
//! is refused.

use std::fs;
use std::path::Path;

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

#[cfg(unix)]
unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}
