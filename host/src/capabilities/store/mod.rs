//! The `store` import: a key-value store private to each resource that
//! outlives the process (a Server-to-Server token across CLI runs, later
//! rotating refresh tokens). One SQLite database in the host's state
//! directory (0700, the file 0600), so two processes writing at once are
//! serialised by SQLite's locking, and compare-and-swap is one transaction.
//! A write over the bounds is an error the plugin sees, never a silent drop.
//! `Store::in_memory` keeps the same semantics for a run that must leave
//! nothing behind (`--no-store`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use wasmtime::component::{HasSelf, Linker};

use crate::bindings::{Contract, Project, StoreEntry, StoreError, v0_1, v0_2};

/// Bounds of what one resource may keep.
pub const MAX_ENTRIES_PER_RESOURCE: i64 = 256;
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
pub const MAX_KEY_BYTES: usize = 256;
/// How long a writer waits for another process's transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Store {
    db: Mutex<Connection>,
    /// Where it lives; `None` in memory.
    pub path: Option<PathBuf>,
}

impl Store {
    /// `$SOAR_HOST_STATE_DIR`, else `$XDG_STATE_HOME/soar-host`, else
    /// `~/.local/state/soar-host`.
    pub fn default_dir() -> Option<PathBuf> {
        std::env::var_os("SOAR_HOST_STATE_DIR")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("XDG_STATE_HOME").map(|d| PathBuf::from(d).join("soar-host"))
            })
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state/soar-host"))
            })
    }

    /// The store in `dir`, created private to the user; refused when the
    /// directory or the file is open to others.
    pub fn open(dir: &Path) -> Result<Self, String> {
        let (db, path) = crate::private_dir::open_sqlite(dir, "store.sqlite3")?;
        Self::init(db, Some(path))
    }

    pub fn in_memory() -> Self {
        let db = Connection::open_in_memory().expect("an in-memory database always opens");
        Self::init(db, None).expect("an in-memory database always initialises")
    }

    fn init(mut db: Connection, path: Option<PathBuf>) -> Result<Self, String> {
        let where_ = path
            .as_ref()
            .map_or("(memory)".to_owned(), |p| p.display().to_string());
        db.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| format!("{where_}: {e}"))?;
        // Many processes may open a new state directory at once (a
        // playbook's parallel steps). Turning the file to WAL can answer
        // "database is locked" at once, without the busy handler: retry
        // that for as long as a writer would wait.
        let deadline = Instant::now() + BUSY_TIMEOUT;
        loop {
            match Self::set_up(&mut db) {
                Ok(()) => break,
                Err(e) if is_busy(&e) && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(format!("{where_}: {e}")),
            }
        }
        Ok(Self {
            db: Mutex::new(db),
            path,
        })
    }

    /// WAL, then the tables in one immediate transaction (the write lock
    /// taken first, through the busy handler).
    fn set_up(db: &mut Connection) -> rusqlite::Result<()> {
        let mode: String = db.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") && !mode.eq_ignore_ascii_case("memory") {
            db.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        }
        db.execute_batch("PRAGMA synchronous = NORMAL;")?;
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS entries (
                 resource TEXT NOT NULL,
                 key TEXT NOT NULL,
                 value TEXT NOT NULL,
                 version INTEGER NOT NULL,
                 expires_at INTEGER,
                 PRIMARY KEY (resource, key)
             );
             CREATE TABLE IF NOT EXISTS versions (id INTEGER PRIMARY KEY CHECK (id = 0), last INTEGER NOT NULL);
             INSERT OR IGNORE INTO versions VALUES (0, 0);
             CREATE TABLE IF NOT EXISTS user_tokens (
                 key TEXT PRIMARY KEY,
                 sealed TEXT NOT NULL,
                 version INTEGER NOT NULL,
                 lease_until INTEGER NOT NULL DEFAULT 0,
                 reauth TEXT
             );",
        )?;
        tx.commit()
    }

    /// The view of one resource.
    pub fn scope(self: &Arc<Self>, resource: &str) -> StoreScope {
        StoreScope {
            store: Arc::clone(self),
            resource: resource.to_owned(),
        }
    }

    /// Run the write `f` in one immediate transaction: the write lock taken
    /// at once, so a compare-and-swap cannot interleave with another
    /// process's.
    fn write_tx<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let mut db = self
            .db
            .lock()
            .map_err(|_| StoreError::Unavailable("the store is poisoned".into()))?;
        let tx = db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(unavailable)?;
        let value = f(&tx).map_err(unavailable)?;
        tx.commit().map_err(unavailable)?;
        Ok(value)
    }

    /// One statement, outside an explicit transaction: SQLite reads it from
    /// one snapshot all the same, without a BEGIN and COMMIT to run.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let db = self
            .db
            .lock()
            .map_err(|_| StoreError::Unavailable("the store is poisoned".into()))?;
        f(&db).map_err(unavailable)
    }
}

/// A resource's user-level OAuth tokens as kept: sealed by the vault
/// (`user_auth`), never readable from the store alone. Plugins cannot reach
/// this table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedTokens {
    pub sealed: String,
    /// Bumped by every write: compare-and-swap.
    pub version: i64,
    /// Why the provider refused the refresh token, when it did.
    pub reauth: Option<String>,
}

impl Store {
    pub fn user_tokens(&self, key: &str) -> Result<Option<SealedTokens>, StoreError> {
        self.read(|db| {
            db.query_row(
                "SELECT sealed, version, reauth FROM user_tokens WHERE key = ?1",
                params![key],
                |row| {
                    Ok(SealedTokens {
                        sealed: row.get(0)?,
                        version: row.get(1)?,
                        reauth: row.get(2)?,
                    })
                },
            )
            .optional()
        })
    }

    /// Write `sealed` when the row's version is `expected` (`None`: when
    /// there is no row); its new version, or `None` when another process
    /// wrote first. A write clears any lease and `reauth`.
    pub fn put_user_tokens(
        &self,
        key: &str,
        sealed: &str,
        expected: Option<i64>,
    ) -> Result<Option<i64>, StoreError> {
        self.write_tx(|tx| {
            let current: Option<i64> = tx
                .query_row(
                    "SELECT version FROM user_tokens WHERE key = ?1",
                    params![key],
                    |row| row.get(0),
                )
                .optional()?;
            if current != expected {
                return Ok(None);
            }
            let version = current.unwrap_or(0) + 1;
            tx.execute(
                "INSERT INTO user_tokens (key, sealed, version, lease_until, reauth) VALUES (?1, ?2, ?3, 0, NULL)
                 ON CONFLICT (key) DO UPDATE SET sealed = ?2, version = ?3, lease_until = 0, reauth = NULL",
                params![key, sealed, version],
            )?;
            Ok(Some(version))
        })
    }

    /// Take the refresh lease of version `version` until `until` (seconds
    /// since the epoch): `true` when this process may refresh, `false` when
    /// the row moved on or another process holds a live lease.
    pub fn lease_user_tokens(
        &self,
        key: &str,
        version: i64,
        until: i64,
    ) -> Result<bool, StoreError> {
        self.write_tx(|tx| {
            tx.execute(
                "UPDATE user_tokens SET lease_until = ?3
                 WHERE key = ?1 AND version = ?2 AND lease_until < ?4 AND reauth IS NULL",
                params![key, version, until, now()],
            )
            .map(|n| n == 1)
        })
    }

    /// Give the lease of `version` back without a new token.
    pub fn release_user_tokens(&self, key: &str, version: i64) -> Result<(), StoreError> {
        self.write_tx(|tx| {
            tx.execute(
                "UPDATE user_tokens SET lease_until = 0 WHERE key = ?1 AND version = ?2",
                params![key, version],
            )
            .map(drop)
        })
    }

    /// Record that the provider refused version `version`'s refresh token:
    /// `false` when the row moved on meanwhile (another process rotated it).
    pub fn refuse_user_tokens(
        &self,
        key: &str,
        version: i64,
        reason: &str,
    ) -> Result<bool, StoreError> {
        self.write_tx(|tx| {
            tx.execute(
                "UPDATE user_tokens SET reauth = ?3, lease_until = 0 WHERE key = ?1 AND version = ?2",
                params![key, version, reason],
            )
            .map(|n| n == 1)
        })
    }

    pub fn delete_user_tokens(&self, key: &str) -> Result<(), StoreError> {
        self.write_tx(|tx| {
            tx.execute("DELETE FROM user_tokens WHERE key = ?1", params![key])
                .map(drop)
        })
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn unavailable(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(format!("the host's store failed: {e}"))
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// One resource's part of the store.
pub struct StoreScope {
    store: Arc<Store>,
    resource: String,
}

impl StoreScope {
    pub fn get(&self, key: &str) -> Result<Option<StoreEntry>, StoreError> {
        self.store.read(|db| {
            // Prepared once per connection: every hosted call reads its token.
            db.prepare_cached(
                "SELECT value, version FROM entries WHERE resource = ?1 AND key = ?2
                 AND (expires_at IS NULL OR expires_at > ?3)",
            )?
            .query_row(params![self.resource, key, now()], |row| {
                Ok(StoreEntry {
                    value: row.get(0)?,
                    version: row.get::<_, i64>(1)? as u64,
                })
            })
            .optional()
        })
    }

    /// Write `value` when the live entry's version is `expected` (`None`:
    /// when there is none), or always when `expected` is not checked.
    /// `Ok(None)`: someone else wrote first.
    pub fn write(
        &self,
        key: &str,
        value: &str,
        ttl_secs: u32,
        expected: Option<Option<u64>>,
    ) -> Result<Option<u64>, StoreError> {
        if key.len() > MAX_KEY_BYTES {
            return Err(StoreError::TooLarge(format!(
                "a store key is at most {MAX_KEY_BYTES} bytes, this one has {}",
                key.len()
            )));
        }
        if value.len() > MAX_VALUE_BYTES {
            return Err(StoreError::TooLarge(format!(
                "a store value is at most {} KiB, this one has {} bytes",
                MAX_VALUE_BYTES >> 10,
                value.len()
            )));
        }
        let now = now();
        let expires_at = (ttl_secs > 0).then(|| now + i64::from(ttl_secs));
        let resource = &self.resource;
        let outcome = self.store.write_tx(|tx| {
            tx.execute(
                "DELETE FROM entries WHERE resource = ?1 AND expires_at IS NOT NULL AND expires_at <= ?2",
                params![resource, now],
            )?;
            let current: Option<i64> = tx
                .query_row(
                    "SELECT version FROM entries WHERE resource = ?1 AND key = ?2",
                    params![resource, key],
                    |row| row.get(0),
                )
                .optional()?;
            if let Some(expected) = expected
                && expected != current.map(|v| v as u64)
            {
                return Ok(Err(None));
            }
            if current.is_none() {
                let count: i64 = tx.query_row(
                    "SELECT COUNT(*) FROM entries WHERE resource = ?1",
                    params![resource],
                    |row| row.get(0),
                )?;
                if count >= MAX_ENTRIES_PER_RESOURCE {
                    return Ok(Err(Some(())));
                }
            }
            let version: i64 = tx.query_row(
                "UPDATE versions SET last = last + 1 WHERE id = 0 RETURNING last",
                [],
                |row| row.get(0),
            )?;
            tx.execute(
                "INSERT INTO entries (resource, key, value, version, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (resource, key) DO UPDATE SET value = ?3, version = ?4, expires_at = ?5",
                params![resource, key, value, version, expires_at],
            )?;
            Ok(Ok(version as u64))
        })?;
        match outcome {
            Ok(version) => Ok(Some(version)),
            Err(None) => Ok(None),
            Err(Some(())) => Err(StoreError::TooLarge(format!(
                "this resource keeps {MAX_ENTRIES_PER_RESOURCE} entries already; delete some first"
            ))),
        }
    }

    pub fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.store.write_tx(|tx| {
            tx.execute(
                "DELETE FROM entries WHERE resource = ?1 AND key = ?2",
                params![self.resource, key],
            )
            .map(drop)
        })
    }
}

impl v0_2::soar::plugin::store::Host for StoreScope {
    async fn get(
        &mut self,
        key: String,
    ) -> wasmtime::Result<Result<Option<StoreEntry>, StoreError>> {
        Ok(StoreScope::get(self, &key))
    }

    async fn set(
        &mut self,
        key: String,
        value: String,
        ttl_secs: u32,
    ) -> wasmtime::Result<Result<u64, StoreError>> {
        Ok(self
            .write(&key, &value, ttl_secs, None)
            .map(|v| v.expect("an unconditional write always writes")))
    }

    async fn compare_and_swap(
        &mut self,
        key: String,
        expected: Option<u64>,
        value: String,
        ttl_secs: u32,
    ) -> wasmtime::Result<Result<Option<u64>, StoreError>> {
        Ok(self.write(&key, &value, ttl_secs, Some(expected)))
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<Result<(), StoreError>> {
        Ok(StoreScope::delete(self, &key))
    }
}

/// Link the store for a plugin built against `contract` (0.1 calls it
/// `cache`).
pub fn link<S: Project<StoreScope> + Send + 'static>(
    linker: &mut Linker<S>,
    contract: Contract,
) -> wasmtime::Result<()> {
    match contract {
        Contract::V0_1 => {
            v0_1::soar::plugin::cache::add_to_linker::<S, v0_1::AsLatest<StoreScope>>(
                linker,
                v0_1::latest::<S, StoreScope>,
            )
        }
        Contract::V0_2 => {
            v0_2::soar::plugin::store::add_to_linker::<S, HasSelf<StoreScope>>(linker, |s| {
                s.project()
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_isolated_and_writes_are_versioned() {
        let store = Arc::new(Store::in_memory());
        let a = store.scope("a");
        let b = store.scope("b");
        let v1 = a.write("token", "A", 60, None).unwrap().unwrap();
        assert_eq!(a.get("token").unwrap().unwrap().value, "A");
        assert!(b.get("token").unwrap().is_none());
        // Compare-and-swap: only from the version read.
        assert_eq!(a.write("token", "B", 60, Some(Some(v1 + 7))).unwrap(), None);
        let v2 = a.write("token", "B", 60, Some(Some(v1))).unwrap().unwrap();
        assert!(v2 > v1);
        assert_eq!(a.write("token", "C", 60, Some(None)).unwrap(), None);
        assert!(a.write("fresh", "x", 60, Some(None)).unwrap().is_some());
        a.delete("token").unwrap();
        assert!(a.get("token").unwrap().is_none());
    }

    #[test]
    fn bounds_are_errors_not_drops() {
        let store = Arc::new(Store::in_memory());
        let s = store.scope("r");
        let big = "x".repeat(MAX_VALUE_BYTES + 1);
        assert!(matches!(
            s.write("k", &big, 0, None),
            Err(StoreError::TooLarge(_))
        ));
        for i in 0..MAX_ENTRIES_PER_RESOURCE {
            s.write(&format!("k{i}"), "v", 0, None).unwrap();
        }
        let err = s.write("one-more", "v", 0, None).unwrap_err();
        assert!(matches!(err, StoreError::TooLarge(m) if m.contains("delete some")));
        // Replacing an existing key is still fine.
        s.write("k0", "w", 0, None).unwrap();
    }

    #[test]
    fn the_file_is_private_and_shared_between_handles() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let one = Arc::new(Store::open(&state).unwrap());
        let two = Arc::new(Store::open(&state).unwrap());
        one.scope("r").write("k", "v", 0, None).unwrap();
        assert_eq!(two.scope("r").get("k").unwrap().unwrap().value, "v");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(state.join("store.sqlite3"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
            std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o777)).unwrap();
            let refused = Store::open(&state).err().expect("refused");
            assert!(refused.contains("others can write"), "{refused}");
        }
    }
}
