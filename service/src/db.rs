//! The service's own database: API tokens, executions (the audit log and the
//! idempotency keys), received events, the console's sessions and each
//! resource's last connectivity test, in `service.sqlite3` beside the
//! plugins' store in the state directory. WAL mode: a reader never waits for
//! a writer, and a commit survives the process being killed; an event is
//! also synced to disk before its sender is told it was received.
//! Migrations are numbered by SQLite's `user_version`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::problem::Fault;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use soar_host::{ErrorClass, ErrorKind, ErrorReport, ExecutionStatus};

/// Each entry moves the schema one version up; never edit a shipped one.
const MIGRATIONS: &[&str] = &[
    // 1: tokens, executions, events.
    "CREATE TABLE tokens (
         id TEXT PRIMARY KEY,
         name TEXT NOT NULL UNIQUE,
         hash BLOB NOT NULL,
         resources TEXT NOT NULL,
         kinds TEXT NOT NULL,
         created_ms INTEGER NOT NULL,
         revoked_ms INTEGER
     );
     CREATE TABLE executions (
         seq INTEGER PRIMARY KEY AUTOINCREMENT,
         id TEXT NOT NULL UNIQUE,
         resource TEXT NOT NULL,
         action TEXT NOT NULL,
         status TEXT NOT NULL,
         token TEXT NOT NULL,
         idempotency_key TEXT,
         request_hash TEXT NOT NULL,
         params TEXT NOT NULL,
         created_ms INTEGER NOT NULL,
         started_ms INTEGER,
         finished_ms INTEGER,
         outcome TEXT
     );
     CREATE UNIQUE INDEX executions_idempotency ON executions (token, idempotency_key)
         WHERE idempotency_key IS NOT NULL;
     CREATE INDEX executions_status ON executions (status);
     CREATE TABLE events (
         seq INTEGER PRIMARY KEY AUTOINCREMENT,
         resource TEXT NOT NULL,
         delivery_id TEXT NOT NULL,
         event_type TEXT NOT NULL,
         time_ms INTEGER NOT NULL,
         received_ms INTEGER NOT NULL,
         payload TEXT NOT NULL,
         UNIQUE (resource, delivery_id)
     );",
    // 2: only unfinished runs indexed by status (what a restart looks for):
    // finishing a run then drops one index entry instead of moving it.
    "DROP INDEX executions_status;
     CREATE INDEX executions_unfinished ON executions (status)
         WHERE status IN ('queued', 'running');",
    // 3: events told apart by the digest of what the sender signed, not by
    // the delivery id (an unsigned header, or none): the unique key on
    // (resource, delivery_id) goes with a rebuild of the table. Events
    // stored before keep no digest. Ids keep counting from where they were
    // (SSE subscribers resume after them).
    "CREATE TABLE events_v3 (
         seq INTEGER PRIMARY KEY AUTOINCREMENT,
         resource TEXT NOT NULL,
         delivery_id TEXT NOT NULL,
         event_type TEXT NOT NULL,
         time_ms INTEGER NOT NULL,
         received_ms INTEGER NOT NULL,
         payload TEXT NOT NULL,
         digest TEXT
     );
     INSERT INTO events_v3 (seq, resource, delivery_id, event_type, time_ms, received_ms, payload)
         SELECT seq, resource, delivery_id, event_type, time_ms, received_ms, payload FROM events;
     DELETE FROM sqlite_sequence WHERE name = 'events_v3';
     INSERT INTO sqlite_sequence (name, seq)
         SELECT 'events_v3', seq FROM sqlite_sequence WHERE name = 'events';
     DROP TABLE events;
     ALTER TABLE events_v3 RENAME TO events;
     CREATE INDEX events_digest ON events (resource, digest) WHERE digest IS NOT NULL;",
    // 4: playbook scopes (`playbooks:read`, `playbooks:run`); empty: both.
    "ALTER TABLE tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT '[]';",
    // 5: the console's sessions (the SHA-256 of the cookie's value, the
    // token that signed in, the form token against cross-site requests),
    // and each resource's last connectivity test.
    "CREATE TABLE console_sessions (
         hash BLOB PRIMARY KEY,
         token_id TEXT NOT NULL,
         csrf TEXT NOT NULL,
         created_ms INTEGER NOT NULL,
         expires_ms INTEGER NOT NULL
     );
     CREATE TABLE resource_tests (
         resource TEXT PRIMARY KEY,
         ok INTEGER NOT NULL,
         summary TEXT NOT NULL,
         tested_ms INTEGER NOT NULL
     );",
];

/// How long the same content delivered again is taken for a redelivery:
/// longer than Zoom's retries (5, 20 and 60 minutes apart).
pub const EVENT_DEDUPE_WINDOW: Duration = Duration::from_secs(24 * 3600);

pub struct Db {
    /// Writes outside the hot path (tokens, events, start-up) and the
    /// batches' writer thread.
    conn: Arc<Mutex<Connection>>,
    /// Reads, on a connection of their own: in WAL mode a reader never
    /// waits for a writer.
    reader: Mutex<Connection>,
    /// The executions' writes, committed in batches by one thread: under
    /// load, one commit (one WAL append and lock round) for many runs.
    batch: std::sync::mpsc::Sender<Op>,
    /// Counts the executions' committed changes (new, started, finished):
    /// wakes the console's live lists.
    changed: tokio::sync::watch::Sender<u64>,
}

/// A write in a batch: runs its statement, and returns what tells its
/// caller the outcome once the batch's commit is known.
type Op = Box<dyn FnOnce(&Connection) -> Deliver + Send>;
type Deliver = Box<dyn FnOnce(&Result<()>) + Send>;
/// The most writes one batch commits.
const MAX_BATCH: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub hash: Vec<u8>,
    /// Empty: every resource.
    pub resources: Vec<String>,
    /// Empty: every kind of action.
    pub kinds: Vec<String>,
    /// Empty: every scope (`playbooks:read`, `playbooks:run`).
    pub scopes: Vec<String>,
    pub created_ms: i64,
    pub revoked_ms: Option<i64>,
}

/// A console session: the cookie's value is never stored, only its hash.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub hash: Vec<u8>,
    pub token_id: String,
    pub csrf: String,
    pub created_ms: i64,
    pub expires_ms: i64,
}

#[derive(Debug, Clone)]
pub struct ExecutionRow {
    pub seq: i64,
    pub id: String,
    pub resource: String,
    pub action: String,
    pub status: ExecutionStatus,
    pub token: String,
    pub idempotency_key: Option<String>,
    pub request_hash: String,
    pub params: Value,
    pub created_ms: i64,
    pub started_ms: Option<i64>,
    pub finished_ms: Option<i64>,
    /// What the run ended with, once it has.
    pub outcome: Option<Outcome>,
}

/// How a run ended: its `outcome` column, and the answer's fields. The
/// result stays the JSON text it was serialised to once, so recording and
/// answering a run copy it rather than serialise it again.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Outcome {
    /// The action's result, when it succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<RawValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_requests: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct EventRow {
    pub seq: i64,
    pub resource: String,
    pub delivery_id: String,
    pub event_type: String,
    pub time_ms: i64,
    pub received_ms: i64,
    pub payload: Value,
    /// The SHA-256 (hex) of the body the sender signed; what tells a
    /// redelivery from a new event. Empty for events stored before it was
    /// kept.
    pub digest: String,
}

/// Filters of `GET /v1/executions`, newest first, before `before` (a seq).
#[derive(Debug, Default)]
pub struct ExecutionQuery<'a> {
    pub resources: Option<&'a [String]>,
    pub resource: Option<&'a str>,
    pub action: Option<&'a str>,
    pub status: Option<ExecutionStatus>,
    pub before: Option<i64>,
    /// Created at or after, before (milliseconds since the epoch).
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    pub limit: u32,
}

/// Filters of `GET /v1/events`, oldest first, after `after` (a seq); or,
/// with `before`, newest first below it (the console's pages).
#[derive(Debug, Default)]
pub struct EventQuery<'a> {
    pub resources: Option<&'a [String]>,
    pub event_type: Option<&'a str>,
    pub after: i64,
    pub before: Option<i64>,
    pub limit: u32,
}

pub enum Inserted {
    New,
    /// The same token already used this idempotency key.
    Existing(Box<ExecutionRow>),
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

type Result<T> = std::result::Result<T, Fault>;

fn err(e: rusqlite::Error) -> Fault {
    Fault(format!("the service database failed: {e}"))
}

impl Db {
    pub fn open(dir: &Path) -> Result<Self> {
        let (conn, path) = soar_host::private_dir::open_sqlite(dir, "service.sqlite3")?;
        let within = |e: Fault| Fault(format!("{}: {e}", path.display()));
        Self::migrate(&conn).map_err(within)?;
        let reader = Connection::open(&path).map_err(|e| within(err(e)))?;
        Self::start(conn, reader).map_err(within)
    }

    /// A database in memory, private to this value (tests).
    #[cfg(test)]
    pub fn in_memory() -> Self {
        use rusqlite::OpenFlags;
        let name = format!(
            "file:soar-{:x}?mode=memory&cache=shared",
            rand::random::<u64>()
        );
        let flags = OpenFlags::default() | OpenFlags::SQLITE_OPEN_URI;
        let open = || Connection::open_with_flags(&name, flags).expect("memory");
        let conn = open();
        Self::migrate(&conn).expect("migrations");
        Self::start(conn, open()).expect("init")
    }

    fn start(conn: Connection, reader: Connection) -> Result<Self> {
        reader.busy_timeout(Duration::from_secs(5)).map_err(err)?;
        let conn = Arc::new(Mutex::new(conn));
        let (batch, ops) = std::sync::mpsc::channel();
        let writer = Arc::clone(&conn);
        std::thread::Builder::new()
            .name("service-db".into())
            .spawn(move || write_batches(&writer, &ops))
            .map_err(|e| format!("cannot start the database writer: {e}"))?;
        Ok(Self {
            conn,
            reader: Mutex::new(reader),
            batch,
            changed: tokio::sync::watch::channel(0).0,
        })
    }

    fn migrate(conn: &Connection) -> Result<()> {
        conn.busy_timeout(Duration::from_secs(5)).map_err(err)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .map_err(err)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(err)?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(Fault(format!(
                "the database is at schema version {version}, newer than this soar-host knows ({known}); run the newer soar-host"
            )));
        }
        for (i, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            conn.execute_batch(&format!(
                "BEGIN IMMEDIATE; {migration}; PRAGMA user_version = {}; COMMIT;",
                i + 1
            ))
            .map_err(|e| format!("migration {} failed: {e}", i + 1))?;
        }
        Ok(())
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| Fault("the service database is poisoned".into()))?;
        f(&conn).map_err(err)
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = self
            .reader
            .lock()
            .map_err(|_| Fault("the service database is poisoned".into()))?;
        f(&conn).map_err(err)
    }

    /// `f` in the next batch; its result once the batch is committed.
    async fn batched<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let op: Op = Box::new(move |c: &Connection| -> Deliver {
            let result = f(c).map_err(err);
            Box::new(move |commit: &Result<()>| {
                let _ = tx.send(commit.clone().and(result));
            })
        });
        let stopped = || Fault("the service database's writer stopped".into());
        self.batch.send(op).map_err(|_| stopped())?;
        let result = rx.await.map_err(|_| stopped())?;
        // Only executions are written in batches.
        self.changed.send_modify(|n| *n += 1);
        result
    }

    /// Told each time executions change (a counter; many changes between
    /// two looks are seen as one).
    pub fn executions_changed(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }

    // --- tokens

    pub fn insert_token(&self, token: &TokenRow) -> Result<bool> {
        self.with(|c| {
            let inserted = c.execute(
                "INSERT INTO tokens (id, name, hash, resources, kinds, created_ms, scopes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
                params![
                    token.id,
                    token.name,
                    token.hash,
                    Value::from(token.resources.clone()).to_string(),
                    Value::from(token.kinds.clone()).to_string(),
                    token.created_ms,
                    Value::from(token.scopes.clone()).to_string()
                ],
            )?;
            Ok(inserted == 1)
        })
    }

    pub fn token(&self, id: &str) -> Result<Option<TokenRow>> {
        self.read(|c| {
            c.prepare_cached(&format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = ?1"))?
                .query_row([id], token_row)
                .optional()
        })
    }

    pub fn tokens(&self) -> Result<Vec<TokenRow>> {
        self.read(|c| {
            c.prepare(&format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created_ms"
            ))?
            .query_map([], token_row)?
            .collect()
        })
    }

    /// Whether a live token of that name was revoked.
    pub fn revoke_token(&self, name: &str) -> Result<bool> {
        self.with(|c| {
            c.execute(
                "UPDATE tokens SET revoked_ms = ?2 WHERE name = ?1 AND revoked_ms IS NULL",
                params![name, now_ms()],
            )
            .map(|n| n == 1)
        })
    }

    // --- the console's sessions

    pub fn insert_session(&self, row: &SessionRow) -> Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO console_sessions (hash, token_id, csrf, created_ms, expires_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    row.hash,
                    row.token_id,
                    row.csrf,
                    row.created_ms,
                    row.expires_ms
                ],
            )
            .map(drop)
        })
    }

    /// The session whose cookie hashes to `hash`, unless it expired.
    pub fn session(&self, hash: &[u8]) -> Result<Option<SessionRow>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT hash, token_id, csrf, created_ms, expires_ms FROM console_sessions
                 WHERE hash = ?1 AND expires_ms > ?2",
            )?
            .query_row(params![hash, now_ms()], |r| {
                Ok(SessionRow {
                    hash: r.get(0)?,
                    token_id: r.get(1)?,
                    csrf: r.get(2)?,
                    created_ms: r.get(3)?,
                    expires_ms: r.get(4)?,
                })
            })
            .optional()
        })
    }

    pub fn delete_session(&self, hash: &[u8]) -> Result<()> {
        self.with(|c| {
            c.execute("DELETE FROM console_sessions WHERE hash = ?1", [hash])
                .map(drop)
        })
    }

    // --- connectivity tests

    pub fn record_test(&self, resource: &str, ok: bool, summary: &str) -> Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO resource_tests (resource, ok, summary, tested_ms) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (resource) DO UPDATE SET ok = ?2, summary = ?3, tested_ms = ?4",
                params![resource, ok, summary, now_ms()],
            )
            .map(drop)
        })
    }

    /// Each resource's last test: (ok, summary, when).
    pub fn last_tests(&self) -> Result<HashMap<String, (bool, String, i64)>> {
        self.read(|c| {
            c.prepare_cached("SELECT resource, ok, summary, tested_ms FROM resource_tests")?
                .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?))))?
                .collect()
        })
    }

    // --- executions

    /// Record a new execution, queued; or, when its token already used its
    /// idempotency key, the execution that did.
    pub async fn insert_execution(&self, row: &ExecutionRow) -> Result<Inserted> {
        let row = row.clone();
        self.batched(move |c| {
            let inserted = c
                .prepare_cached(
                    "INSERT INTO executions (id, resource, action, status, token, idempotency_key,
                         request_hash, params, created_ms, started_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT DO NOTHING",
                )?
                .execute(params![
                    row.id,
                    row.resource,
                    row.action,
                    row.status.as_str(),
                    row.token,
                    row.idempotency_key,
                    row.request_hash,
                    row.params.to_string(),
                    row.created_ms,
                    row.started_ms
                ])?;
            if inserted == 1 {
                return Ok(Inserted::New);
            }
            c.query_row(
                &format!(
                    "SELECT {EXECUTION_COLUMNS} FROM executions WHERE token = ?1 AND idempotency_key = ?2"
                ),
                params![row.token, row.idempotency_key],
                execution_row,
            )
            .map(|r| Inserted::Existing(Box::new(r)))
        })
        .await
    }

    /// The run started (`running`).
    pub async fn start_execution(&self, row: &mut ExecutionRow) -> Result<()> {
        row.status = ExecutionStatus::Running;
        row.started_ms = Some(now_ms());
        let (id, started) = (row.id.clone(), row.started_ms);
        self.batched(move |c| {
            c.prepare_cached(
                "UPDATE executions SET status = 'running', started_ms = ?2 WHERE id = ?1",
            )?
            .execute(params![id, started])
            .map(drop)
        })
        .await
    }

    /// The run ended with `status` and `outcome`.
    pub async fn finish_execution(
        &self,
        row: &mut ExecutionRow,
        status: ExecutionStatus,
        outcome: Outcome,
    ) -> Result<()> {
        let now = now_ms();
        row.status = status;
        row.finished_ms = Some(now);
        row.started_ms.get_or_insert(now);
        let text = serde_json::to_string(&outcome).map_err(|e| e.to_string())?;
        row.outcome = Some(outcome);
        let (id, status, started) = (row.id.clone(), status.as_str(), row.started_ms);
        self.batched(move |c| {
            c.prepare_cached(
                "UPDATE executions SET status = ?2, finished_ms = ?3, outcome = ?4,
                     started_ms = ?5 WHERE id = ?1",
            )?
            .execute(params![id, status, now, text, started])
            .map(drop)
        })
        .await
    }

    /// Runs left queued or running by a process that ended without finishing
    /// them: marked `interrupted` (never run again). Returns how many.
    pub fn interrupt_unfinished(&self, why: &str) -> Result<usize> {
        let outcome = Outcome {
            error: Some(ErrorReport::new(
                ErrorKind::Interrupted,
                ErrorClass::Failed,
                why,
            )),
            ..Outcome::default()
        };
        let outcome = serde_json::to_string(&outcome).map_err(|e| e.to_string())?;
        self.with(|c| {
            c.execute(
                "UPDATE executions SET status = 'interrupted', finished_ms = ?1, outcome = ?2
                 WHERE status IN ('queued', 'running')",
                params![now_ms(), outcome],
            )
        })
    }

    pub fn execution(&self, id: &str) -> Result<Option<ExecutionRow>> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {EXECUTION_COLUMNS} FROM executions WHERE id = ?1"
            ))?
            .query_row([id], execution_row)
            .optional()
        })
    }

    pub fn executions(&self, q: &ExecutionQuery) -> Result<Vec<ExecutionRow>> {
        let mut sql = format!("SELECT {EXECUTION_COLUMNS} FROM executions WHERE 1 = 1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        push_in(&mut sql, &mut args, "resource", q.resources);
        for (column, value) in [
            ("resource", q.resource),
            ("action", q.action),
            ("status", q.status.map(ExecutionStatus::as_str)),
        ] {
            if let Some(value) = value {
                args.push(value.to_owned().into());
                sql += &format!(" AND {column} = ?{}", args.len());
            }
        }
        if let Some(before) = q.before {
            args.push(before.into());
            sql += &format!(" AND seq < ?{}", args.len());
        }
        for (op, at) in [(">=", q.created_from), ("<", q.created_to)] {
            if let Some(at) = at {
                args.push(at.into());
                sql += &format!(" AND created_ms {op} ?{}", args.len());
            }
        }
        sql += &format!(" ORDER BY seq DESC LIMIT {}", q.limit);
        self.read(|c| {
            c.prepare(&sql)?
                .query_map(rusqlite::params_from_iter(args), execution_row)?
                .collect()
        })
    }

    // --- events

    /// Store a verified event, synced to disk before this returns. `None`:
    /// the same content reached this resource within
    /// [`EVENT_DEDUPE_WINDOW`] (a sender's retry): an event whose body
    /// differs is always stored.
    pub fn insert_event(&self, row: &EventRow) -> Result<Option<i64>> {
        let since = row.received_ms - EVENT_DEDUPE_WINDOW.as_millis() as i64;
        self.with(|c| {
            let seen: Option<i64> = c
                .prepare_cached(
                    "SELECT seq FROM events WHERE resource = ?1 AND digest = ?2 AND received_ms >= ?3 LIMIT 1",
                )?
                .query_row(params![row.resource, row.digest, since], |r| r.get(0))
                .optional()?;
            if seen.is_some() {
                return Ok(None);
            }
            // This commit must survive a power cut, not only a crash: the
            // sender is told next that it need not deliver it again.
            c.execute_batch("PRAGMA synchronous = FULL")?;
            let inserted = c
                .prepare_cached(
                    "INSERT INTO events (resource, delivery_id, event_type, time_ms, received_ms, payload, digest)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING seq",
                )?
                .query_row(
                    params![
                        row.resource,
                        row.delivery_id,
                        row.event_type,
                        row.time_ms,
                        row.received_ms,
                        row.payload.to_string(),
                        row.digest
                    ],
                    |r| r.get(0),
                );
            c.execute_batch("PRAGMA synchronous = NORMAL")?;
            inserted.map(Some)
        })
    }

    pub fn events(&self, q: &EventQuery) -> Result<Vec<EventRow>> {
        let mut sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE seq > ?1");
        let mut args: Vec<rusqlite::types::Value> = vec![q.after.into()];
        push_in(&mut sql, &mut args, "resource", q.resources);
        if let Some(event_type) = q.event_type {
            args.push(event_type.to_owned().into());
            sql += &format!(" AND event_type = ?{}", args.len());
        }
        match q.before {
            Some(before) => {
                args.push(before.into());
                sql += &format!(" AND seq < ?{} ORDER BY seq DESC", args.len());
            }
            None => sql += " ORDER BY seq",
        }
        sql += &format!(" LIMIT {}", q.limit);
        self.read(|c| {
            c.prepare(&sql)?
                .query_map(rusqlite::params_from_iter(args), event_row)?
                .collect()
        })
    }

    pub fn event(&self, seq: i64) -> Result<Option<EventRow>> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE seq = ?1"
            ))?
            .query_row([seq], event_row)
            .optional()
        })
    }

    /// Drop finished executions and events older than `keep`.
    pub fn purge(&self, keep: Duration) -> Result<(usize, usize)> {
        let cutoff = now_ms() - keep.as_millis() as i64;
        self.with(|c| {
            let executions = c.execute(
                "DELETE FROM executions WHERE finished_ms IS NOT NULL AND finished_ms < ?1",
                [cutoff],
            )?;
            let events = c.execute("DELETE FROM events WHERE received_ms < ?1", [cutoff])?;
            c.execute(
                "DELETE FROM console_sessions WHERE expires_ms < ?1",
                [now_ms()],
            )?;
            Ok((executions, events))
        })
    }
}

/// The writer thread: each batch in one immediate transaction, every
/// caller told once the commit is known. Ends when the `Db` is dropped.
fn write_batches(conn: &Mutex<Connection>, ops: &std::sync::mpsc::Receiver<Op>) {
    while let Ok(first) = ops.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match ops.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let Ok(conn) = conn.lock() else { return };
        let (delivers, commit): (Vec<Deliver>, Result<()>) =
            match conn.execute_batch("BEGIN IMMEDIATE").map_err(err) {
                Ok(()) => {
                    let delivers = batch.into_iter().map(|op| op(&conn)).collect();
                    let commit = conn.execute_batch("COMMIT").map_err(err);
                    if commit.is_err() {
                        let _ = conn.execute_batch("ROLLBACK");
                    }
                    (delivers, commit)
                }
                Err(e) => {
                    drop(batch);
                    tracing::error!("{e}");
                    continue;
                }
            };
        drop(conn);
        for deliver in delivers {
            deliver(&commit);
        }
    }
}

/// `AND column IN (…)` when the caller may see only some resources.
fn push_in(
    sql: &mut String,
    args: &mut Vec<rusqlite::types::Value>,
    column: &str,
    values: Option<&[String]>,
) {
    let Some(values) = values else { return };
    if values.is_empty() {
        *sql += " AND 0";
        return;
    }
    let start = args.len() + 1;
    args.extend(values.iter().map(|v| v.clone().into()));
    let marks: Vec<String> = (start..start + values.len())
        .map(|i| format!("?{i}"))
        .collect();
    *sql += &format!(" AND {column} IN ({})", marks.join(", "));
}

const TOKEN_COLUMNS: &str = "id, name, hash, resources, kinds, created_ms, revoked_ms, scopes";

fn token_row(r: &rusqlite::Row) -> rusqlite::Result<TokenRow> {
    let list = |i: usize| -> rusqlite::Result<Vec<String>> {
        Ok(serde_json::from_str(&r.get::<_, String>(i)?).unwrap_or_default())
    };
    Ok(TokenRow {
        id: r.get(0)?,
        name: r.get(1)?,
        hash: r.get(2)?,
        resources: list(3)?,
        kinds: list(4)?,
        created_ms: r.get(5)?,
        revoked_ms: r.get(6)?,
        scopes: list(7)?,
    })
}

const EXECUTION_COLUMNS: &str = "seq, id, resource, action, status, token, idempotency_key, \
     request_hash, params, created_ms, started_ms, finished_ms, outcome";

fn execution_row(r: &rusqlite::Row) -> rusqlite::Result<ExecutionRow> {
    let json = |text: Option<String>| text.and_then(|t| serde_json::from_str(&t).ok());
    Ok(ExecutionRow {
        seq: r.get(0)?,
        id: r.get(1)?,
        resource: r.get(2)?,
        action: r.get(3)?,
        status: r.get::<_, String>(4)?.parse().map_err(|e: String| {
            rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, e.into())
        })?,
        token: r.get(5)?,
        idempotency_key: r.get(6)?,
        request_hash: r.get(7)?,
        params: json(r.get(8)?).unwrap_or(Value::Null),
        created_ms: r.get(9)?,
        started_ms: r.get(10)?,
        finished_ms: r.get(11)?,
        outcome: r
            .get::<_, Option<String>>(12)?
            .and_then(|t| serde_json::from_str(&t).ok()),
    })
}

const EVENT_COLUMNS: &str =
    "seq, resource, delivery_id, event_type, time_ms, received_ms, payload, digest";

fn event_row(r: &rusqlite::Row) -> rusqlite::Result<EventRow> {
    Ok(EventRow {
        seq: r.get(0)?,
        resource: r.get(1)?,
        delivery_id: r.get(2)?,
        event_type: r.get(3)?,
        time_ms: r.get(4)?,
        received_ms: r.get(5)?,
        payload: serde_json::from_str(&r.get::<_, String>(6)?).unwrap_or(Value::Null),
        digest: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn execution(id: &str, key: Option<&str>) -> ExecutionRow {
        ExecutionRow {
            seq: 0,
            id: id.into(),
            resource: "zoom".into(),
            action: "get_user".into(),
            status: ExecutionStatus::Queued,
            token: "ops".into(),
            idempotency_key: key.map(Into::into),
            request_hash: "h".into(),
            params: serde_json::json!({"user_id": "me"}),
            created_ms: now_ms(),
            started_ms: None,
            finished_ms: None,
            outcome: None,
        }
    }

    #[tokio::test]
    async fn an_idempotency_key_is_used_once_per_token() {
        let db = Db::in_memory();
        assert!(matches!(
            db.insert_execution(&execution("a", Some("k")))
                .await
                .unwrap(),
            Inserted::New
        ));
        match db
            .insert_execution(&execution("b", Some("k")))
            .await
            .unwrap()
        {
            Inserted::Existing(row) => assert_eq!(row.id, "a"),
            Inserted::New => panic!("the key was used twice"),
        }
        let mut other = execution("c", Some("k"));
        other.token = "someone-else".into();
        assert!(matches!(
            db.insert_execution(&other).await.unwrap(),
            Inserted::New
        ));
        // No key: never a replay.
        assert!(matches!(
            db.insert_execution(&execution("d", None)).await.unwrap(),
            Inserted::New
        ));
        assert!(matches!(
            db.insert_execution(&execution("e", None)).await.unwrap(),
            Inserted::New
        ));
    }

    #[tokio::test]
    async fn unfinished_runs_are_interrupted_and_finished_ones_kept() {
        let db = Db::in_memory();
        for id in ["a", "b", "c"] {
            db.insert_execution(&execution(id, None)).await.unwrap();
        }
        db.start_execution(&mut execution("b", None)).await.unwrap();
        db.finish_execution(
            &mut execution("c", None),
            ExecutionStatus::Succeeded,
            Outcome {
                data: serde_json::value::to_raw_value(&1).ok(),
                ..Outcome::default()
            },
        )
        .await
        .unwrap();
        let data = db.execution("c").unwrap().unwrap().outcome.unwrap().data;
        assert_eq!(data.map(|d| d.get().to_owned()).as_deref(), Some("1"));
        assert_eq!(db.interrupt_unfinished("restarted").unwrap(), 2);
        let status = |id| db.execution(id).unwrap().unwrap().status;
        assert_eq!(
            [status("a"), status("b"), status("c")],
            [
                ExecutionStatus::Interrupted,
                ExecutionStatus::Interrupted,
                ExecutionStatus::Succeeded
            ]
        );
        let page = db
            .executions(&ExecutionQuery {
                status: Some(ExecutionStatus::Interrupted),
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            page.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["b", "a"]
        );
    }

    fn event(delivery_id: &str, digest: &str) -> EventRow {
        EventRow {
            seq: 0,
            resource: "zoom".into(),
            delivery_id: delivery_id.into(),
            event_type: "user.created".into(),
            time_ms: 1,
            received_ms: now_ms(),
            payload: serde_json::json!({}),
            digest: digest.into(),
        }
    }

    #[test]
    fn events_are_told_apart_by_content_not_by_id() {
        let db = Db::in_memory();
        assert_eq!(db.insert_event(&event("", "a")).unwrap(), Some(1));
        // No id, other content: another event.
        assert_eq!(db.insert_event(&event("", "b")).unwrap(), Some(2));
        // The same id, other content: another event.
        assert_eq!(db.insert_event(&event("t1", "c")).unwrap(), Some(3));
        assert_eq!(db.insert_event(&event("t1", "d")).unwrap(), Some(4));
        // The same content, another id: a redelivery.
        assert_eq!(db.insert_event(&event("t2", "c")).unwrap(), None);
        // The same content on another resource: its own event.
        let mut other = event("", "a");
        other.resource = "zoom-eu".into();
        assert_eq!(db.insert_event(&other).unwrap(), Some(5));
        // The same content after the window: a new event.
        let mut later = event("", "a");
        later.received_ms += EVENT_DEDUPE_WINDOW.as_millis() as i64 + 1;
        assert_eq!(db.insert_event(&later).unwrap(), Some(6));
    }

    #[test]
    fn migration_3_keeps_events_and_their_ids_counting() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&format!(
            "BEGIN; {} ; {}; PRAGMA user_version = 2; COMMIT;",
            MIGRATIONS[0], MIGRATIONS[1]
        ))
        .unwrap();
        for (seq, id) in [(1, "same"), (2, "other")] {
            conn.execute(
                "INSERT INTO events (seq, resource, delivery_id, event_type, time_ms, received_ms, payload)
                 VALUES (?1, 'zoom', ?2, 'user.created', 1, 1, '{}')",
                params![seq, id],
            )
            .unwrap();
        }
        // A purge took the newest: ids still go on after it.
        conn.execute("DELETE FROM events WHERE seq = 2", [])
            .unwrap();
        Db::migrate(&conn).unwrap();
        let (reader, writer) = (Connection::open_in_memory().unwrap(), conn);
        let db = Db::start(writer, reader).unwrap();
        assert_eq!(db.insert_event(&event("same", "x")).unwrap(), Some(3));
        assert_eq!(db.insert_event(&event("same", "y")).unwrap(), Some(4));
    }

    #[test]
    fn an_event_delivered_twice_is_stored_once() {
        let db = Db::in_memory();
        let event = event("d1", "digest");
        assert_eq!(db.insert_event(&event).unwrap(), Some(1));
        assert_eq!(db.insert_event(&event).unwrap(), None);
        let only = |resources: &[String]| {
            db.events(&EventQuery {
                resources: Some(resources),
                limit: 10,
                ..Default::default()
            })
            .unwrap()
            .len()
        };
        assert_eq!(only(&["zoom".into()]), 1);
        assert_eq!(only(&["other".into()]), 0);
        assert_eq!(only(&[]), 0);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA user_version = 99").unwrap();
        let Err(e) = Db::migrate(&conn) else {
            panic!("opened")
        };
        assert!(e.0.contains("newer"), "{e}");
    }
}
