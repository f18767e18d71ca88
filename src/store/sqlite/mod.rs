//! The SQLite backend: one file under the data directory, WAL mode, a
//! versioned schema with forward migrations, a lock file so two servers never
//! share a directory, one write connection (used only by the writer thread)
//! and a small pool of read connections.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::DateTime;
use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension};

use super::{Backend, ListPage, ListQuery, Snapshot, StoreError, Write, WriteOp, MAX_KNOWN_IDS};
use crate::domain::{
    preview, ChatMessage, ClientId, ConversationStatus, ConversationSummary, Role, Totals,
};

/// The schema version this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 1;
const DB_FILE: &str = "support-chat.db";
const LOCK_FILE: &str = "support-chat.lock";
/// Bytes per database page of a new file. A commit rewrites every page it
/// touches, and a batch of chat messages touches a few pages per
/// conversation, so small pages mean far fewer bytes written per message.
const PAGE_SIZE: u32 = 1024;
/// WAL pages before the writer copies them into the database (4 MiB, as
/// SQLite's default with its default page size). The checkpoint runs on the
/// writer's own connection between commits: done concurrently, it could never
/// catch up with a busy writer and the WAL would grow without end.
const WAL_CHECKPOINT_PAGES: u32 = 4 * 1024;

/// Forward migrations; entry `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[r#"
    CREATE TABLE conversations (
        client_id         TEXT PRIMARY KEY,
        created_at        INTEGER NOT NULL,  -- unix ms
        last_activity_at  INTEGER NOT NULL,  -- unix ms of the newest message
        last_seq          INTEGER NOT NULL DEFAULT 0,
        last_from         INTEGER,           -- role of the newest message: 0 customer, 1 agent
        waiting_since     INTEGER,           -- unix ms of the first unanswered customer message
        customer_read_seq INTEGER NOT NULL DEFAULT 0,
        agent_read_seq    INTEGER NOT NULL DEFAULT 0,
        status            TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved'))
    ) WITHOUT ROWID;
    CREATE INDEX conversations_by_activity ON conversations (last_activity_at);
    CREATE TABLE messages (
        client_id     TEXT NOT NULL,
        seq           INTEGER NOT NULL,
        from_role     INTEGER NOT NULL,
        text          TEXT NOT NULL,
        ts            INTEGER NOT NULL,      -- unix ms
        client_msg_id TEXT,
        PRIMARY KEY (client_id, seq)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX messages_by_client_msg_id
        ON messages (client_id, from_role, client_msg_id)
        WHERE client_msg_id IS NOT NULL;
"#];

/// How hard a commit pushes data to the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Durability {
    /// `synchronous=NORMAL`: survives a crash of the process (the default).
    Normal,
    /// `synchronous=FULL`: also survives a power loss, at a cost per commit.
    Full,
}

/// Why the server could not open its data directory. Each message names the
/// path and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("data directory {path} is not usable: {source}; choose a writable --data-dir")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("data directory {path} is in use by another running support-chat (lock {lock} is held); stop that server or choose another --data-dir")]
    Locked { path: PathBuf, lock: PathBuf },
    #[error("{path} is not a valid support-chat database ({reason}); the server will not start over it: restore a backup, or move the file aside to start empty")]
    Corrupt { path: PathBuf, reason: String },
    #[error("{path} was written by a newer support-chat (schema {found}, this build knows {SCHEMA_VERSION}); upgrade support-chat")]
    TooNew { path: PathBuf, found: i64 },
    #[error("cannot open database {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

/// Holds the data directory's lock for as long as it lives.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

pub struct SqliteBackend {
    writer: Mutex<Connection>,
    /// `None` for an in-memory database, whose only connection is `writer`.
    readers: Option<ReadPool>,
}

struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl SqliteBackend {
    /// Opens (creating if needed) the database in `data_dir` and locks the
    /// directory against a second server.
    pub fn open(
        data_dir: &Path,
        durability: Durability,
    ) -> Result<(SqliteBackend, DataDirLock), StartupError> {
        let dir_err = |source| StartupError::DataDir {
            path: data_dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(dir_err)?;
        let lock_path = data_dir.join(LOCK_FILE);
        let lock_file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(dir_err)?;
        match lock_file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StartupError::Locked {
                    path: data_dir.to_owned(),
                    lock: lock_path,
                })
            }
            Err(TryLockError::Error(e)) => return Err(dir_err(e)),
        }

        let path = data_dir.join(DB_FILE);
        let sqlite_err = |source: rusqlite::Error| classify(&path, source);
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sqlite_err)?;
        // Check what the file is before changing anything in it: a foreign
        // or newer database must be left exactly as it was.
        let version = check_schema(&conn, &path)?;
        if version == 0 {
            conn.execute_batch(&format!("PRAGMA page_size = {PAGE_SIZE}"))
                .map_err(sqlite_err)?;
        }
        let sync = match durability {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        };
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(sqlite_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StartupError::Corrupt {
                path,
                reason: format!("cannot switch to WAL mode (got {mode})"),
            });
        }
        conn.execute_batch(&format!(
            "PRAGMA synchronous = {sync}; PRAGMA busy_timeout = 5000;
             PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES};"
        ))
        .map_err(sqlite_err)?;
        migrate(&conn, &path, version)?;
        let backend = SqliteBackend {
            writer: Mutex::new(conn),
            readers: Some(ReadPool {
                path,
                idle: Mutex::new(Vec::new()),
            }),
        };
        Ok((backend, DataDirLock { _file: lock_file }))
    }

    /// A private in-memory database, for tests and throwaway runs.
    pub fn open_in_memory() -> Result<SqliteBackend, StartupError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|e| classify(&path, e))?;
        let version = check_schema(&conn, &path)?;
        migrate(&conn, &path, version)?;
        Ok(SqliteBackend {
            writer: Mutex::new(conn),
            readers: None,
        })
    }

    /// Runs `f` on a read connection (the write connection for in-memory).
    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let Some(pool) = &self.readers else {
            let conn = self.writer.lock().map_err(|_| poisoned())?;
            return f(&conn).map_err(backend_err);
        };
        let conn = pool.idle.lock().map_err(|_| poisoned())?.pop();
        let conn = match conn {
            Some(conn) => conn,
            None => {
                let conn = Connection::open_with_flags(
                    &pool.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(backend_err)?;
                conn.busy_timeout(std::time::Duration::from_secs(5))
                    .map_err(backend_err)?;
                conn
            }
        };
        let result = f(&conn).map_err(backend_err);
        if let Ok(mut idle) = pool.idle.lock() {
            idle.push(conn);
        }
        result
    }
}

fn poisoned() -> StoreError {
    StoreError::Backend("store lock poisoned".into())
}

fn backend_err(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn classify(path: &Path, source: rusqlite::Error) -> StartupError {
    match source.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => StartupError::Corrupt {
            path: path.to_owned(),
            reason: source.to_string(),
        },
        _ => StartupError::Sqlite {
            path: path.to_owned(),
            source,
        },
    }
}

/// The schema version of the file, refusing newer and foreign databases.
fn check_schema(conn: &Connection, path: &Path) -> Result<i64, StartupError> {
    let err = |e| classify(path, e);
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err)?;
    if version > SCHEMA_VERSION {
        return Err(StartupError::TooNew {
            path: path.to_owned(),
            found: version,
        });
    }
    if version == 0 {
        let objects: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(err)?;
        if objects > 0 {
            return Err(StartupError::Corrupt {
                path: path.to_owned(),
                reason: "it holds tables of another application".into(),
            });
        }
    }
    Ok(version)
}

/// Runs the migrations from `version` to `SCHEMA_VERSION`.
fn migrate(conn: &Connection, path: &Path, version: i64) -> Result<(), StartupError> {
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let to = from + 1;
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE; {sql}; PRAGMA user_version = {to}; COMMIT;"
        ))
        .map_err(|e| classify(path, e))?;
        log::info!("migrated {} to schema version {to}", path.display());
    }
    Ok(())
}

const MESSAGE_COLUMNS: &str = "seq, from_role, text, ts, client_msg_id";

fn message_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ChatMessage> {
    let role_code: i64 = row.get(1)?;
    let ts_ms: i64 = row.get(3)?;
    Ok(ChatMessage {
        seq: row.get::<_, i64>(0)? as u64,
        from: Role::from_code(role_code)
            .ok_or_else(|| rusqlite::Error::IntegralValueOutOfRange(1, role_code))?,
        text: row.get(2)?,
        ts: DateTime::from_timestamp_millis(ts_ms)
            .ok_or(rusqlite::Error::IntegralValueOutOfRange(3, ts_ms))?,
        id: row.get(4)?,
    })
}

/// Newest first from SQL, returned oldest first.
fn newest_before(
    conn: &Connection,
    client: &ClientId,
    before: u64,
    limit: usize,
) -> rusqlite::Result<Vec<ChatMessage>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages
         WHERE client_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"
    ))?;
    let before = i64::try_from(before).unwrap_or(i64::MAX);
    let mut messages = stmt
        .query_map(
            params![client.as_str(), before, limit as i64],
            message_from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    messages.reverse();
    Ok(messages)
}

impl Backend for SqliteBackend {
    fn load(&self, client: &ClientId, recent: usize) -> Result<Snapshot, StoreError> {
        self.read(|conn| {
            let row = conn
                .prepare_cached(
                    "SELECT last_seq, status, customer_read_seq, agent_read_seq
                     FROM conversations WHERE client_id = ?1",
                )?
                .query_row([client.as_str()], |r| {
                    Ok((
                        r.get::<_, i64>(0)? as u64,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)? as u64,
                        r.get::<_, i64>(3)? as u64,
                    ))
                })
                .optional()?;
            let Some((last_seq, status, customer_read_seq, agent_read_seq)) = row else {
                return Ok(Snapshot {
                    known_ids_complete: true,
                    ..Snapshot::default()
                });
            };
            // Any order will do: beyond the cap the set is marked incomplete.
            let known_ids = conn
                .prepare_cached(
                    "SELECT from_role, client_msg_id FROM messages
                     WHERE client_id = ?1 AND client_msg_id IS NOT NULL LIMIT ?2",
                )?
                .query_map(params![client.as_str(), MAX_KNOWN_IDS as i64 + 1], |r| {
                    let role: i64 = r.get(0)?;
                    let role = Role::from_code(role)
                        .ok_or(rusqlite::Error::IntegralValueOutOfRange(0, role))?;
                    Ok((role, r.get::<_, String>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Snapshot {
                last_seq,
                recent: newest_before(conn, client, last_seq + 1, recent)?,
                status: ConversationStatus::parse(&status).unwrap_or_default(),
                customer_read_seq,
                agent_read_seq,
                known_ids_complete: known_ids.len() <= MAX_KNOWN_IDS,
                known_ids,
            })
        })
    }

    fn before(
        &self,
        client: &ClientId,
        before: u64,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        self.read(|conn| newest_before(conn, client, before, limit))
    }

    fn after(
        &self,
        client: &ClientId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages
                 WHERE client_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
            ))?;
            let after = i64::try_from(after).unwrap_or(i64::MAX);
            let rows = stmt.query_map(
                params![client.as_str(), after, limit as i64],
                message_from_row,
            )?;
            rows.collect()
        })
    }

    fn summaries(&self, query: &ListQuery) -> Result<ListPage, StoreError> {
        let cursor = match query.cursor.as_deref() {
            Some(raw) => Some(Cursor::parse(raw).ok_or(StoreError::InvalidCursor)?),
            None => None,
        };
        let limit = query.limit.clamp(1, 200);
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT * FROM ({SUMMARY_SELECT})
                 WHERE (?1 IS NULL OR status = ?1)
                   AND (?2 IS NULL OR instr(client_id, ?2) > 0)
                   AND (?3 IS NULL OR (grp, k, client_id) > (?3, ?4, ?5))
                 ORDER BY grp, k, client_id LIMIT ?6"
            ))?;
            let mut items = stmt
                .query_map(
                    params![
                        query.status.map(|s| s.as_str()),
                        query.search.as_deref().filter(|s| !s.is_empty()),
                        cursor.as_ref().map(|c| c.group),
                        cursor.as_ref().map(|c| c.key),
                        cursor.as_ref().map(|c| c.client.as_str()),
                        (limit + 1) as i64,
                    ],
                    summary_from_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let next_cursor = if items.len() > limit {
                items.truncate(limit);
                items.last().map(|last| Cursor::of(last).encode())
            } else {
                None
            };
            Ok(ListPage { items, next_cursor })
        })
    }

    fn summaries_of(&self, clients: &[ClientId]) -> Result<Vec<ConversationSummary>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT * FROM ({SUMMARY_SELECT}) WHERE client_id = ?1"
            ))?;
            let mut out = Vec::with_capacity(clients.len());
            for client in clients {
                if let Some(summary) = stmt
                    .query_row([client.as_str()], summary_from_row)
                    .optional()?
                {
                    out.push(summary);
                }
            }
            Ok(out)
        })
    }

    fn totals(&self) -> Result<Totals, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT
                   coalesce(sum((SELECT count(*) FROM messages m
                                 WHERE m.client_id = c.client_id AND m.from_role = 0
                                   AND m.seq > c.agent_read_seq)), 0),
                   coalesce(sum(c.waiting_since IS NOT NULL), 0)
                 FROM conversations c WHERE c.status = 'open'",
            )?
            .query_row([], |r| {
                Ok(Totals {
                    unread: r.get::<_, i64>(0)? as u64,
                    waiting: r.get::<_, i64>(1)? as u64,
                })
            })
        })
    }

    fn find_by_client_id(
        &self,
        client: &ClientId,
        role: Role,
        id: &str,
    ) -> Result<Option<ChatMessage>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages
                 WHERE client_id = ?1 AND from_role = ?2 AND client_msg_id = ?3"
            ))?
            .query_row(params![client.as_str(), role.code(), id], message_from_row)
            .optional()
        })
    }

    fn commit_batch(&self, writes: &[Write<'_>]) -> Result<Vec<bool>, StoreError> {
        let conn = self.writer.lock().map_err(|_| poisoned())?;
        // Cached BEGIN/COMMIT: parsing them anew for every transaction is a
        // measurable share of a small batch.
        conn.prepare_cached("BEGIN")
            .and_then(|mut begin| begin.execute([]))
            .map_err(backend_err)?;
        let applied = apply_writes(&conn, writes).and_then(|accepted| {
            conn.prepare_cached("COMMIT")?.execute([])?;
            Ok(accepted)
        });
        if applied.is_err() && !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        applied.map_err(backend_err)
    }
}

/// The writes of one transaction; per write, whether it was applied.
fn apply_writes(conn: &Connection, writes: &[Write<'_>]) -> rusqlite::Result<Vec<bool>> {
    let mut accepted = Vec::with_capacity(writes.len());
    for w in writes {
        let applied = match w.op {
            WriteOp::Message(m) => store_message(conn, w.client, m)?,
            WriteOp::Read { role, seq } => {
                let column = match role {
                    Role::Customer => "customer_read_seq",
                    Role::Agent => "agent_read_seq",
                };
                conn.prepare_cached(&format!(
                    "UPDATE conversations SET {column} = max({column}, min(?2, last_seq))
                     WHERE client_id = ?1"
                ))?
                .execute(params![w.client.as_str(), *seq as i64])?
                    == 1
            }
            WriteOp::Status(status) => {
                conn.prepare_cached("UPDATE conversations SET status = ?2 WHERE client_id = ?1")?
                    .execute(params![w.client.as_str(), status.as_str()])?
                    == 1
            }
        };
        accepted.push(applied);
    }
    Ok(accepted)
}

/// Stores one message if it directly follows the conversation's last seq.
fn store_message(tx: &Connection, client: &ClientId, m: &ChatMessage) -> rusqlite::Result<bool> {
    let ts = m.ts.timestamp_millis();
    let seq = m.seq as i64;
    tx.prepare_cached(
        "INSERT INTO conversations (client_id, created_at, last_activity_at)
         VALUES (?1, ?2, ?2) ON CONFLICT DO NOTHING",
    )?
    .execute(params![client.as_str(), ts])?;
    // The WHERE clause keeps seqs gapless: a write whose predecessor failed
    // is refused instead of stored after a hole. A customer message reopens
    // the conversation and starts (or continues) its wait; an agent message
    // ends the wait.
    let moved = tx
        .prepare_cached(
            "UPDATE conversations
             SET last_seq = ?2, last_activity_at = ?3, last_from = ?4,
                 status = CASE WHEN ?4 = 0 THEN 'open' ELSE status END,
                 waiting_since = CASE WHEN ?4 = 0 THEN coalesce(waiting_since, ?3) ELSE NULL END
             WHERE client_id = ?1 AND last_seq = ?2 - 1",
        )?
        .execute(params![client.as_str(), seq, ts, m.from.code()])?;
    if moved == 1 {
        tx.prepare_cached(
            "INSERT INTO messages (client_id, seq, from_role, text, ts, client_msg_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            client.as_str(),
            seq,
            m.from.code(),
            m.text,
            ts,
            m.id
        ])?;
    }
    Ok(moved == 1)
}

/// Summary columns plus the list's sort keys: `grp` 0 for waiting
/// conversations (sorted by the longest wait), 1 for the rest (sorted by
/// newest activity, hence the negated key).
const SUMMARY_SELECT: &str = "
    SELECT c.client_id, c.status, c.waiting_since, c.created_at, c.last_activity_at,
           c.last_seq, c.last_from,
           (SELECT text FROM messages m WHERE m.client_id = c.client_id AND m.seq = c.last_seq),
           (SELECT count(*) FROM messages m WHERE m.client_id = c.client_id
              AND m.from_role = 0 AND m.seq > c.agent_read_seq),
           c.customer_read_seq, c.agent_read_seq,
           CASE WHEN c.status = 'open' AND c.waiting_since IS NOT NULL THEN 0 ELSE 1 END AS grp,
           CASE WHEN c.status = 'open' AND c.waiting_since IS NOT NULL
                THEN c.waiting_since ELSE -c.last_activity_at END AS k
    FROM conversations c";

fn summary_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ConversationSummary> {
    let ms = |i: usize| -> rusqlite::Result<chrono::DateTime<chrono::Utc>> {
        let v: i64 = row.get(i)?;
        DateTime::from_timestamp_millis(v).ok_or(rusqlite::Error::IntegralValueOutOfRange(i, v))
    };
    let client: String = row.get(0)?;
    let status: String = row.get(1)?;
    let status = ConversationStatus::parse(&status).unwrap_or_default();
    let waiting_since = match row.get::<_, Option<i64>>(2)? {
        Some(_) => Some(ms(2)?),
        None => None,
    };
    let text: Option<String> = row.get(7)?;
    Ok(ConversationSummary {
        client_id: ClientId::parse(&client)
            .map_err(|_| rusqlite::Error::InvalidColumnName(client.clone()))?,
        status,
        waiting: status == ConversationStatus::Open && waiting_since.is_some(),
        waiting_since,
        created: ms(3)?,
        last_activity: ms(4)?,
        last_seq: row.get::<_, i64>(5)? as u64,
        last_from: row.get::<_, Option<i64>>(6)?.and_then(Role::from_code),
        preview: preview(text.as_deref().unwrap_or("")),
        unread: row.get::<_, i64>(8)? as u64,
        customer_read_seq: row.get::<_, i64>(9)? as u64,
        agent_read_seq: row.get::<_, i64>(10)? as u64,
        customer_online: false,
    })
}

/// Position in the list: after (group, key, client id).
struct Cursor {
    group: i64,
    key: i64,
    client: String,
}

impl Cursor {
    fn of(summary: &ConversationSummary) -> Cursor {
        let (group, key) = match summary.waiting_since.filter(|_| summary.waiting) {
            Some(since) => (0, since.timestamp_millis()),
            None => (1, -summary.last_activity.timestamp_millis()),
        };
        Cursor {
            group,
            key,
            client: summary.client_id.as_str().to_owned(),
        }
    }

    fn encode(&self) -> String {
        format!("{}.{}.{}", self.group, self.key, self.client)
    }

    fn parse(raw: &str) -> Option<Cursor> {
        let mut parts = raw.splitn(3, '.');
        let group = parts.next()?.parse().ok()?;
        let key = parts.next()?.parse().ok()?;
        let client = ClientId::parse(parts.next()?).ok()?;
        Some(Cursor {
            group,
            key,
            client: client.as_str().to_owned(),
        })
    }
}
