//! The SQLite backend: one file under the data directory, WAL mode, a
//! versioned schema with forward migrations, a lock file so two servers never
//! share a directory, one write connection (used only by the writer thread)
//! and a small pool of read connections.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::DateTime;
use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension};

use super::{Backend, NewMessage, Snapshot, StoreError};
use crate::domain::{ChatMessage, ClientId, Role};

/// The schema version this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 1;
const DB_FILE: &str = "support-chat.db";
const LOCK_FILE: &str = "support-chat.lock";

/// Forward migrations; entry `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[r#"
    CREATE TABLE conversations (
        client_id         TEXT PRIMARY KEY,
        created_at        INTEGER NOT NULL,  -- unix ms
        last_activity_at  INTEGER NOT NULL,  -- unix ms of the newest message
        last_seq          INTEGER NOT NULL DEFAULT 0,
        last_from         INTEGER,           -- role of the newest message: 0 customer, 1 agent
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
            "PRAGMA synchronous = {sync}; PRAGMA busy_timeout = 5000;"
        ))
        .map_err(sqlite_err)?;
        migrate(&conn, &path)?;
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
        migrate(&conn, &path)?;
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

fn migrate(conn: &Connection, path: &Path) -> Result<(), StartupError> {
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
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let to = from + 1;
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE; {sql}; PRAGMA user_version = {to}; COMMIT;"
        ))
        .map_err(err)?;
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
            let last_seq: Option<i64> = conn
                .prepare_cached("SELECT last_seq FROM conversations WHERE client_id = ?1")?
                .query_row([client.as_str()], |r| r.get(0))
                .optional()?;
            let last_seq = last_seq.unwrap_or(0) as u64;
            let recent = newest_before(conn, client, last_seq + 1, recent)?;
            Ok(Snapshot { last_seq, recent })
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

    fn commit_batch(&self, writes: &[NewMessage<'_>]) -> Result<Vec<bool>, StoreError> {
        let mut conn = self.writer.lock().map_err(|_| poisoned())?;
        let tx = conn.transaction().map_err(backend_err)?;
        let mut accepted = Vec::with_capacity(writes.len());
        {
            let mut create = tx
                .prepare_cached(
                    "INSERT INTO conversations (client_id, created_at, last_activity_at)
                     VALUES (?1, ?2, ?2) ON CONFLICT DO NOTHING",
                )
                .map_err(backend_err)?;
            // The WHERE clause keeps seqs gapless: a write whose predecessor
            // failed is refused instead of stored after a hole.
            let mut advance = tx
                .prepare_cached(
                    "UPDATE conversations
                     SET last_seq = ?2, last_activity_at = ?3, last_from = ?4,
                         status = CASE WHEN ?4 = 0 THEN 'open' ELSE status END
                     WHERE client_id = ?1 AND last_seq = ?2 - 1",
                )
                .map_err(backend_err)?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO messages (client_id, seq, from_role, text, ts, client_msg_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(backend_err)?;
            for w in writes {
                let m = w.message;
                let ts = m.ts.timestamp_millis();
                let seq = m.seq as i64;
                create
                    .execute(params![w.client.as_str(), ts])
                    .map_err(backend_err)?;
                let moved = advance
                    .execute(params![w.client.as_str(), seq, ts, m.from.code()])
                    .map_err(backend_err)?;
                if moved == 1 {
                    insert
                        .execute(params![
                            w.client.as_str(),
                            seq,
                            m.from.code(),
                            m.text,
                            ts,
                            m.id
                        ])
                        .map_err(backend_err)?;
                }
                accepted.push(moved == 1);
            }
        }
        tx.commit().map_err(backend_err)?;
        Ok(accepted)
    }
}
