//! Playbook runs kept in the state directory (`playbooks.sqlite3`, beside
//! the service's database): the CLI and the service record runs in the same
//! place, so the service lists the CLI's runs and can rerun them. A run is
//! written before its first step; each step's record is written when it
//! starts and when it ends, on its own row, so that a long run does not
//! rewrite its earlier steps' results. One trigger occurrence (an event, a
//! schedule tick, a watch key, an idempotency key) starts at most one run
//! per playbook: a unique index says so, across processes.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;
use soar_host::RunStatus;

use crate::record::{RunRecord, StepRecord};
use crate::run::Progress;

/// How long a run stays its process's without a word from it.
pub const LEASE: Duration = Duration::from_secs(30);
/// How often a running process renews its runs' leases.
pub const HEARTBEAT: Duration = Duration::from_secs(10);

const MIGRATIONS: &[&str] = &["
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    playbook TEXT NOT NULL,
    status TEXT NOT NULL,
    occurrence TEXT,
    created_ms INTEGER NOT NULL,
    head TEXT NOT NULL,
    -- Who runs it: until when (a lease renewed while it runs), and which
    -- process on which machine, so that a run whose process died can be
    -- taken over at once instead of when its lease runs out.
    lease_ms INTEGER NOT NULL DEFAULT 0,
    owner_host TEXT NOT NULL DEFAULT '',
    owner_pid INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX runs_occurrence ON runs (playbook, occurrence) WHERE occurrence IS NOT NULL;
CREATE INDEX runs_by_playbook ON runs (playbook, created_ms);
CREATE INDEX runs_by_time ON runs (created_ms);
CREATE INDEX runs_unfinished ON runs (status) WHERE status IN ('queued', 'running');
CREATE TABLE run_steps (
    run TEXT NOT NULL,
    idx INTEGER NOT NULL,
    step TEXT NOT NULL,
    PRIMARY KEY (run, idx)
) WITHOUT ROWID;
CREATE TABLE watch_keys (
    playbook TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (playbook, key)
) WITHOUT ROWID;
CREATE TABLE schedules (
    playbook TEXT PRIMARY KEY,
    first_loaded_ms INTEGER NOT NULL,
    last_tick_ms INTEGER
)"];

pub struct RunStore {
    conn: Mutex<Connection>,
}

/// What [`RunStore::insert`] did.
#[derive(Debug)]
pub enum Inserted {
    New,
    /// The occurrence had started a run already: this one.
    Existing(Box<RunRecord>),
}

/// Which runs to list, newest first.
#[derive(Debug, Default, Clone)]
pub struct RunQuery {
    pub playbook: Option<String>,
    pub status: Option<RunStatus>,
    /// Only runs created before this run (its id): the next page.
    pub before: Option<String>,
    pub limit: u32,
}

fn err(e: rusqlite::Error) -> String {
    format!("the playbook runs database failed: {e}")
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl RunStore {
    pub fn open(state_dir: &Path) -> Result<Self, String> {
        let (conn, path) = soar_host::private_dir::open_sqlite(state_dir, "playbooks.sqlite3")?;
        Self::start(conn).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// A store in memory: the runs of this process only.
    pub fn in_memory() -> Self {
        Self::start(Connection::open_in_memory().expect("SQLite opens in memory"))
            .expect("migrations apply in memory")
    }

    fn start(conn: Connection) -> Result<Self, String> {
        conn.busy_timeout(Duration::from_secs(5)).map_err(err)?;
        // Turning a new file to WAL while another process does can answer
        // "database is locked" at once, without the busy handler: retry it
        // for as long as a writer would wait.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            match conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;") {
                Ok(()) => break,
                Err(e)
                    if matches!(
                        e.sqlite_error_code(),
                        Some(
                            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                        )
                    ) && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(err(e)),
            }
        }
        // Each migration under the write lock, the version read again
        // there: two processes opening a new database at once migrate it
        // once.
        let mut conn = conn;
        let known = MIGRATIONS.len() as i64;
        for (i, migration) in MIGRATIONS.iter().enumerate() {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(err)?;
            let version: i64 = tx
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(err)?;
            if version > known {
                return Err(format!(
                    "the playbook runs database is at schema version {version}, newer than this soar-host knows ({known}); run the newer soar-host"
                ));
            }
            if version > i as i64 {
                continue;
            }
            tx.execute_batch(migration)
                .and_then(|()| tx.pragma_update(None, "user_version", i as i64 + 1))
                .and_then(|()| tx.commit())
                .map_err(|e| format!("migration {} failed: {e}", i + 1))?;
        }
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T, String> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| "the playbook runs database is poisoned".to_owned())?;
        f(&mut conn).map_err(err)
    }

    /// Record a new run with its steps, before any of them runs. A run for
    /// an occurrence seen before is not recorded: the earlier one is
    /// answered.
    pub fn insert(&self, record: &RunRecord) -> Result<Inserted, String> {
        let head = head_json(record);
        let occurrence = record.trigger.occurrence.clone();
        let existing = self.with(|conn| {
            let tx = conn.transaction()?;
            let inserted = tx.execute(
                "INSERT INTO runs (id, playbook, status, occurrence, created_ms, head, lease_ms, owner_host, owner_pid)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (playbook, occurrence) WHERE occurrence IS NOT NULL DO NOTHING",
                params![
                    record.id,
                    record.playbook,
                    record.status.as_str(),
                    occurrence,
                    now_ms(),
                    head,
                    lease_until(),
                    host_name(),
                    std::process::id()
                ],
            )?;
            if inserted == 0 {
                let id: String = tx.query_row(
                    "SELECT id FROM runs WHERE playbook = ?1 AND occurrence = ?2",
                    params![record.playbook, occurrence],
                    |r| r.get(0),
                )?;
                return Ok(Some(id));
            }
            for (i, step) in record.steps.iter().enumerate() {
                tx.execute(
                    "INSERT INTO run_steps (run, idx, step) VALUES (?1, ?2, ?3)",
                    params![record.id, i as i64, step_json(step)],
                )?;
            }
            tx.commit()?;
            Ok(None)
        })?;
        match existing {
            None => Ok(Inserted::New),
            Some(id) => self
                .get(&id)?
                .map(|r| Inserted::Existing(Box::new(r)))
                .ok_or_else(|| format!("run {id} vanished")),
        }
    }

    /// Write what changed: the run's head and status, and the step that
    /// started or ended.
    pub fn save(&self, record: &RunRecord, progress: Progress) -> Result<(), String> {
        let head = head_json(record);
        self.with(|conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "UPDATE runs SET status = ?2, head = ?3, lease_ms = ?4 WHERE id = ?1",
                params![record.id, record.status.as_str(), head, lease_until()],
            )?;
            let steps: Vec<usize> = match progress {
                Progress::Step(i) => vec![i],
                // The end skips the steps after a failure: all are written.
                Progress::Started | Progress::Finished => (0..record.steps.len()).collect(),
            };
            for i in steps {
                tx.execute(
                    "UPDATE run_steps SET step = ?3 WHERE run = ?1 AND idx = ?2",
                    params![record.id, i as i64, step_json(&record.steps[i])],
                )?;
            }
            tx.commit()
        })
    }

    pub fn get(&self, id: &str) -> Result<Option<RunRecord>, String> {
        self.with(|conn| {
            let head: Option<String> = conn
                .query_row("SELECT head FROM runs WHERE id = ?1", [id], |r| r.get(0))
                .optional()?;
            head.map(|head| read_run(conn, id, &head)).transpose()
        })
    }

    /// Runs newest first.
    pub fn list(&self, q: &RunQuery) -> Result<Vec<RunRecord>, String> {
        self.with(|conn| {
            let before_ms: Option<i64> = match &q.before {
                Some(id) => conn
                    .query_row("SELECT created_ms FROM runs WHERE id = ?1", [id], |r| {
                        r.get(0)
                    })
                    .optional()?,
                None => None,
            };
            let mut stmt = conn.prepare(
                "SELECT id, head FROM runs
                 WHERE (?1 IS NULL OR playbook = ?1) AND (?2 IS NULL OR status = ?2)
                   AND (?3 IS NULL OR created_ms < ?3 OR (created_ms = ?3 AND id < ?4))
                 ORDER BY created_ms DESC, id DESC LIMIT ?5",
            )?;
            let rows: Vec<(String, String)> = stmt
                .query_map(
                    params![
                        q.playbook,
                        q.status.map(RunStatus::as_str),
                        before_ms,
                        q.before,
                        q.limit.clamp(1, 500)
                    ],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?
                .collect::<rusqlite::Result<_>>()?;
            rows.iter()
                .map(|(id, head)| read_run(conn, id, head))
                .collect()
        })
    }

    /// Keep holding run `id` (while a step takes long).
    pub fn renew(&self, id: &str) -> Result<(), String> {
        self.with(|conn| {
            conn.execute(
                "UPDATE runs SET lease_ms = ?2 WHERE id = ?1",
                params![id, lease_until()],
            )
            .map(drop)
        })
    }

    /// Renew the lease of run `id` every [`HEARTBEAT`], for as long as the
    /// future runs (select it against the run).
    pub async fn hold(&self, id: &str) {
        loop {
            tokio::time::sleep(HEARTBEAT).await;
            if let Err(e) = self.renew(id) {
                tracing::warn!(run = id, "cannot renew the run's lease: {e}");
            }
        }
    }

    /// Take over the runs left queued or running by a process that is gone
    /// (its lease ran out, or it was on this machine and has exited),
    /// oldest first; each is this process's from now on. Two processes
    /// asking at once take each run once.
    pub fn take_over_unfinished(&self) -> Result<Vec<RunRecord>, String> {
        let me = host_name();
        let ids: Vec<String> = self.with(|conn| {
            let tx = conn.transaction()?;
            let candidates: Vec<(String, i64, String, i64)> = {
                let mut stmt = tx.prepare(
                    "SELECT id, lease_ms, owner_host, owner_pid FROM runs
                     WHERE status IN ('queued', 'running') ORDER BY created_ms",
                )?;
                stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                    .collect::<rusqlite::Result<_>>()?
            };
            let now = now_ms();
            let mut taken = Vec::new();
            for (id, lease, host, pid) in candidates {
                let gone = lease < now || (host == me && !process_alive(pid));
                if !gone || pid == i64::from(std::process::id()) && host == me {
                    continue;
                }
                let n = tx.execute(
                    "UPDATE runs SET lease_ms = ?2, owner_host = ?3, owner_pid = ?4
                     WHERE id = ?1 AND lease_ms = ?5 AND owner_pid = ?6",
                    params![id, lease_until(), me, std::process::id(), lease, pid],
                )?;
                if n == 1 {
                    taken.push(id);
                }
            }
            tx.commit()?;
            Ok(taken)
        })?;
        ids.iter()
            .filter_map(|id| self.get(id).transpose())
            .collect()
    }

    /// Of a watch's `keys`, those it had not seen; all are remembered.
    pub fn new_watch_keys(&self, playbook: &str, keys: &[String]) -> Result<Vec<String>, String> {
        self.with(|conn| {
            let tx = conn.transaction()?;
            let mut new = Vec::new();
            for key in keys {
                let n = tx.execute(
                    "INSERT OR IGNORE INTO watch_keys (playbook, key) VALUES (?1, ?2)",
                    params![playbook, key],
                )?;
                if n == 1 {
                    new.push(key.clone());
                }
            }
            tx.commit()?;
            Ok(new)
        })
    }

    /// When the schedule of `playbook` was first loaded (recorded now if it
    /// never was) and the tick it last ran, in ms since the epoch.
    pub fn schedule_state(&self, playbook: &str) -> Result<(i64, Option<i64>), String> {
        self.with(|conn| {
            conn.execute(
                "INSERT OR IGNORE INTO schedules (playbook, first_loaded_ms) VALUES (?1, ?2)",
                params![playbook, now_ms()],
            )?;
            conn.query_row(
                "SELECT first_loaded_ms, last_tick_ms FROM schedules WHERE playbook = ?1",
                [playbook],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
    }

    /// The schedule of `playbook` ran its tick at `tick_ms`.
    pub fn schedule_ticked(&self, playbook: &str, tick_ms: i64) -> Result<(), String> {
        self.with(|conn| {
            conn.execute(
                "UPDATE schedules SET last_tick_ms = max(coalesce(last_tick_ms, 0), ?2) WHERE playbook = ?1",
                params![playbook, tick_ms],
            )
            .map(drop)
        })
    }

    /// Whether the watch of `playbook` has polled before (its baseline).
    pub fn watch_has_baseline(&self, playbook: &str) -> Result<bool, String> {
        self.with(|conn| {
            conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM watch_keys WHERE playbook = ?1)",
                [playbook],
                |r| r.get(0),
            )
        })
    }
}

fn lease_until() -> i64 {
    now_ms() + LEASE.as_millis() as i64
}

/// This machine's name, to tell its processes from another's on a shared
/// state directory.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}

/// Whether process `pid` of this machine still runs (Linux: /proc; else
/// assumed alive, and the lease decides).
fn process_alive(pid: i64) -> bool {
    if !Path::new("/proc/self").exists() {
        return true;
    }
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        // A zombie (state Z) has exited.
        .is_ok_and(|stat| {
            stat.rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with('Z'))
        })
}

/// The record without its steps (they have their own rows).
fn head_json(record: &RunRecord) -> String {
    let mut value = serde_json::to_value(record).expect("a run record is JSON");
    if let Value::Object(map) = &mut value {
        map.remove("steps");
    }
    value.to_string()
}

fn step_json(step: &StepRecord) -> String {
    serde_json::to_string(step).expect("a step record is JSON")
}

fn read_run(conn: &Connection, id: &str, head: &str) -> rusqlite::Result<RunRecord> {
    let bad = |e: serde_json::Error| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    };
    let mut value: Value = serde_json::from_str(head).map_err(bad)?;
    let mut stmt = conn.prepare_cached("SELECT step FROM run_steps WHERE run = ?1 ORDER BY idx")?;
    let steps: Vec<Value> = stmt
        .query_map([id], |r| r.get::<_, String>(0))?
        .map(|s| s.and_then(|s| serde_json::from_str(&s).map_err(bad)))
        .collect::<rusqlite::Result<_>>()?;
    value["steps"] = Value::Array(steps);
    serde_json::from_value(value).map_err(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Trigger, now, run_id};
    use serde_json::json;

    fn record(occurrence: Option<&str>) -> RunRecord {
        RunRecord {
            id: run_id(),
            playbook: "p".into(),
            trigger: Trigger {
                kind: "webhook".into(),
                occurrence: occurrence.map(str::to_owned),
            },
            status: RunStatus::Queued,
            inputs: json!({}),
            event: None,
            steps: vec![StepRecord::new("a", "zoom", "get_user")],
            error: None,
            created_at: now(),
            finished_at: None,
            rerun_of: None,
            workflow_id: None,
            dry_run: false,
        }
    }

    #[test]
    fn one_occurrence_starts_one_run_across_processes() {
        let dir = tempfile::tempdir().unwrap();
        // Two handles opened at once on a new file: each its own connection,
        // as two processes would have; the schema is made once.
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| RunStore::open(dir.path()));
            let b = s.spawn(|| RunStore::open(dir.path()));
            (a.join().unwrap().unwrap(), b.join().unwrap().unwrap())
        });
        let first = record(Some("event:1"));
        assert!(matches!(a.insert(&first).unwrap(), Inserted::New));
        match b.insert(&record(Some("event:1"))).unwrap() {
            Inserted::Existing(run) => assert_eq!(run.id, first.id),
            Inserted::New => panic!("a second run for one occurrence"),
        }
        assert!(matches!(
            b.insert(&record(Some("event:2"))).unwrap(),
            Inserted::New
        ));
        assert!(matches!(b.insert(&record(None)).unwrap(), Inserted::New));
        assert!(matches!(a.insert(&record(None)).unwrap(), Inserted::New));
        let all = a
            .list(&RunQuery {
                limit: 10,
                ..RunQuery::default()
            })
            .unwrap();
        assert_eq!(all.len(), 4);
    }

    #[test]
    fn a_saved_step_is_read_back_and_a_live_run_is_not_taken_over() {
        let store = RunStore::in_memory();
        let mut run = record(None);
        store.insert(&run).unwrap();
        run.status = RunStatus::Running;
        run.steps[0].status = soar_host::StepStatus::Running;
        store.save(&run, Progress::Step(0)).unwrap();
        let read = store.get(&run.id).unwrap().unwrap();
        assert_eq!(read.steps[0].status, soar_host::StepStatus::Running);
        // This process holds it, with a fresh lease.
        assert!(store.take_over_unfinished().unwrap().is_empty());
        let listed = store
            .list(&RunQuery {
                status: Some(RunStatus::Running),
                limit: 5,
                ..RunQuery::default()
            })
            .unwrap();
        assert_eq!(listed.len(), 1);
    }

    #[test]
    fn new_watch_keys_are_told_once() {
        let store = RunStore::in_memory();
        assert!(!store.watch_has_baseline("p").unwrap());
        let keys = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            store.new_watch_keys("p", &keys(&["a", "b"])).unwrap(),
            keys(&["a", "b"])
        );
        assert!(store.watch_has_baseline("p").unwrap());
        assert_eq!(
            store.new_watch_keys("p", &keys(&["b", "c"])).unwrap(),
            keys(&["c"])
        );
    }
}
