//! The SQLite backend: one file under the data directory, WAL mode, a
//! versioned schema with forward migrations (`schema.rs`), a lock file so two
//! servers never share a directory, one write connection (used only by the
//! writer thread, `write.rs`) and a fixed pool of read connections
//! (`pool.rs`, `read.rs`; routing's reads in `queue.rs`, full-text search
//! in `search.rs`).
//!
//! The writer keeps a transaction open between commits, journaling what it
//! acknowledges meanwhile (`transaction.rs`, `journal.rs`); short reads run
//! inside it, long ones commit it first.
//!
//! A clean stop commits, copies the whole log into the database file and
//! closes every connection, so `support-chat.db` alone then holds all the
//! data. While the server runs, or after a crash, the `-wal` file and the
//! journal are part of the database.

mod backup;
mod checkpoint;
mod journal;
mod pool;
mod queue;
mod read;
mod schema;
mod search;
mod search_queue;
mod sql;
mod transaction;
mod write;

#[cfg(test)]
mod contact_tests;
#[cfg(test)]
mod outbox_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_schema5;
#[cfg(test)]
mod tests_schema8;

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{
    Backend, ListPage, ListQuery, SearchPage, SearchQuery, Snapshot, SqlFn, StoreError, Write,
};
use crate::domain::{
    AgentId, AssigneeCounts, ChatMessage, ClientId, ConversationStatus, ConversationSummary, Role,
    Totals,
};
use checkpoint::{Checkpointer, Pacing};
use pool::ReadPool;
use schema::{check_log_present, check_schema, classify, mark_in_use, migrate};
use transaction::WriteSide;

pub use backup::{backup, restore, BackupError, Copied};
pub use schema::SCHEMA_VERSION;

const DB_FILE: &str = "support-chat.db";
const WAL_FILE: &str = "support-chat.db-wal";
const LOCK_FILE: &str = "support-chat.lock";
/// Bytes per database page of a new file. A commit rewrites every page it
/// touches, and a batch of chat messages touches a few pages per
/// conversation, so small pages mean far fewer bytes written per message.
const PAGE_SIZE: u32 = 1024;
/// Read connections. Reads are short index walks; more connections than
/// cores would only make them wait on each other for the CPU.
const READ_CONNECTIONS: usize = 4;
/// How long closing waits for reads still running.
const CLOSE_PATIENCE: Duration = Duration::from_secs(2);
/// Checkpoints tried after an erase while readers hold the log.
const SCRUB_ATTEMPTS: usize = 20;

/// How hard a commit pushes data to the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=NORMAL`: survives a crash of the process (the default).
    Normal,
    /// `synchronous=FULL`: also survives a power loss, at a cost per commit.
    Full,
}

/// `normal` or `full`, as configuration spells them.
impl std::str::FromStr for Durability {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "normal" => Ok(Durability::Normal),
            "full" => Ok(Durability::Full),
            _ => Err(format!("unknown durability {s:?}: use normal or full")),
        }
    }
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
    #[error("{path} was not stopped cleanly and its write-ahead log ({WAL_FILE}) is missing, so whatever was stored since its last checkpoint is missing too (the file alone holds {conversations} conversations); was it copied without its -wal file? The server will not start over it: put the {WAL_FILE} file back next to it, or move the file aside to start empty")]
    LogMissing { path: PathBuf, conversations: u64 },
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
    /// Copies the log into the file beside the writer; `None` in memory.
    /// First, so that it is dropped first: the last read-write connection
    /// to close removes the log, and that must stay the writer's (a backend
    /// dropped without `close` is left as a crash leaves it).
    checkpointer: Option<Checkpointer>,
    /// `None` once closed.
    writer: Mutex<Option<WriteSide>>,
    /// Whether the writer has a transaction open: short reads then use its
    /// connection, long ones commit it first.
    open: Arc<AtomicBool>,
    /// `None` for an in-memory database, whose only connection is `writer`.
    readers: Option<ReadPool>,
}

impl SqliteBackend {
    /// Opens (creating if needed) the database in `data_dir` and locks the
    /// directory against a second server.
    pub fn open(
        data_dir: &Path,
        durability: Durability,
    ) -> Result<(SqliteBackend, DataDirLock), StartupError> {
        let lock = lock_data_dir(data_dir)?;
        let path = data_dir.join(DB_FILE);
        let sqlite_err = |source: rusqlite::Error| classify(&path, source);
        // Looked at before SQLite opens the file, which creates the log.
        let log_present = data_dir.join(WAL_FILE).exists();
        let wal_mode = in_wal_mode(&path);
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sqlite_err)?;
        // Check what the file is before changing anything in it: a foreign,
        // newer or incomplete database must be left exactly as it was.
        let version = check_schema(&conn, &path)?;
        if !log_present {
            check_log_present(&conn, &path, version, wal_mode)?;
        }
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(sqlite_err)?;
        if version == 0 {
            conn.execute_batch(&format!("PRAGMA page_size = {PAGE_SIZE}"))
                .map_err(sqlite_err)?;
        }
        // A new file is migrated before it turns to WAL mode, so its schema
        // is in the file itself from the start.
        migrate(&conn, &path, version, SCHEMA_VERSION)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(sqlite_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StartupError::Corrupt {
                path,
                reason: format!("cannot switch to WAL mode (got {mode})"),
            });
        }
        let sync = match durability {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        };
        // secure_delete: an erased or anonymised text is overwritten with
        // zeros, not left in a free page of the file. No automatic
        // checkpoints: the checkpointer copies the log on its own thread.
        let pacing = Pacing::default();
        conn.execute_batch(&format!(
            "PRAGMA synchronous = {sync}; PRAGMA wal_autocheckpoint = 0;
             PRAGMA journal_size_limit = {}; PRAGMA secure_delete = ON;",
            pacing.log_size_limit(PAGE_SIZE)
        ))
        .map_err(sqlite_err)?;
        mark_in_use(&conn, true).map_err(sqlite_err)?;
        let journal = journal::recover(&conn, data_dir, durability == Durability::Full)?;
        let readers = ReadPool::open(&path, READ_CONNECTIONS).map_err(sqlite_err)?;
        let checkpointer = Checkpointer::start(&path, sync, pacing).map_err(sqlite_err)?;
        let side = WriteSide::new(conn, Some(journal)).map_err(sqlite_err)?;
        let backend = SqliteBackend {
            open: side.open_flag(),
            writer: Mutex::new(Some(side)),
            readers: Some(readers),
            checkpointer: Some(checkpointer),
        };
        Ok((backend, lock))
    }

    /// A private in-memory database, for tests and throwaway runs.
    pub fn open_in_memory() -> Result<SqliteBackend, StartupError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|e| classify(&path, e))?;
        let version = check_schema(&conn, &path)?;
        migrate(&conn, &path, version, SCHEMA_VERSION)?;
        let side = WriteSide::new(conn, None).map_err(|e| classify(&path, e))?;
        Ok(SqliteBackend {
            open: side.open_flag(),
            writer: Mutex::new(Some(side)),
            readers: None,
            checkpointer: None,
        })
    }

    /// Runs `f` on the writer's side under its lock.
    fn write<T>(
        &self,
        f: impl FnOnce(&mut WriteSide, Option<&Checkpointer>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut side = self
            .writer
            .lock()
            .map_err(|_| StoreError::Backend("store lock poisoned".into()))?;
        let side = side
            .as_mut()
            .ok_or_else(|| StoreError::Backend("store is closed".into()))?;
        f(side, self.checkpointer.as_ref())
    }

    /// Runs a short read: on a read connection, or on the writer's while it
    /// has a transaction open, which holds acknowledged writes that readers
    /// must see (committing it for every read would undo its purpose: the
    /// inbox reads every 100 ms while agents have the console open).
    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        match &self.readers {
            Some(pool) if !self.open.load(Ordering::Acquire) => pool.with(f),
            _ => self.write(|side, _| f(side.conn()).map_err(backend_err)),
        }
    }

    /// Runs a long read (a list page, a search, plain SQL) on a read
    /// connection, committing the open transaction first: it must not hold
    /// up the writer.
    fn read_settled<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let Some(pool) = &self.readers else {
            return self.read(f);
        };
        if self.open.load(Ordering::Acquire) {
            self.write(|side, checkpointer| side.settle(checkpointer))?;
        }
        pool.with(f)
    }
}

fn lock_data_dir(data_dir: &Path) -> Result<DataDirLock, StartupError> {
    let dir_err = |source| StartupError::DataDir {
        path: data_dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(data_dir).map_err(dir_err)?;
    let lock_path = data_dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(dir_err)?;
    match file.try_lock() {
        Ok(()) => Ok(DataDirLock { _file: file }),
        Err(TryLockError::WouldBlock) => Err(StartupError::Locked {
            path: data_dir.to_owned(),
            lock: lock_path,
        }),
        Err(TryLockError::Error(e)) => Err(dir_err(e)),
    }
}

/// Whether the file's header says it is in WAL mode (file format version 2
/// at offsets 18 and 19), read without SQLite.
fn in_wal_mode(path: &Path) -> bool {
    let mut header = [0u8; 20];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .is_ok_and(|()| header[18] == 2 && header[19] == 2)
}

/// After an erase: copies the log (whose frames still hold the erased
/// text) into the database file, where `secure_delete` has zeroed it, and
/// empties the log. A reader holding an old snapshot can keep a frame
/// alive for a moment, so a few attempts are made.
fn scrub(conn: &Connection) {
    for _ in 0..SCRUB_ATTEMPTS {
        match conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            r.get::<_, i64>(0)
        }) {
            Ok(0) => return,
            Ok(_) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                log::error!("checkpoint after an erase failed: {e}");
                return;
            }
        }
    }
    log::warn!("the log still holds erased data; the next checkpoint removes it");
}

fn backend_err(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl Backend for SqliteBackend {
    fn load(&self, client: &ClientId, recent: usize) -> Result<Snapshot, StoreError> {
        self.read(|conn| read::load(conn, client, recent))
    }

    fn before(
        &self,
        client: &ClientId,
        before: u64,
        limit: usize,
        reader: Role,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        self.read(|conn| read::before(conn, client, before, limit, reader))
    }

    fn after(
        &self,
        client: &ClientId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        self.read(|conn| read::after(conn, client, after, limit))
    }

    fn summaries(&self, query: &ListQuery) -> Result<ListPage, StoreError> {
        let plan = read::ListPlan::new(query)?;
        self.read_settled(|conn| plan.run(conn))
    }

    fn summaries_of(&self, clients: &[ClientId]) -> Result<Vec<ConversationSummary>, StoreError> {
        self.read(|conn| read::summaries_of(conn, clients))
    }

    fn totals(&self) -> Result<Totals, StoreError> {
        self.read(read::totals)
    }

    fn queue(&self, limit: usize) -> Result<Vec<ClientId>, StoreError> {
        self.read(|conn| queue::queue(conn, limit))
    }

    fn search(&self, query: &SearchQuery) -> Result<SearchPage, StoreError> {
        self.read_settled(|conn| search::search(conn, query))
    }

    fn assigned_to(&self, agent: AgentId) -> Result<Vec<ClientId>, StoreError> {
        self.read(|conn| queue::assigned_to(conn, agent))
    }

    fn assignee_counts(
        &self,
        status: Option<ConversationStatus>,
    ) -> Result<AssigneeCounts, StoreError> {
        self.read(|conn| queue::assignee_counts(conn, status))
    }

    fn find_by_client_id(
        &self,
        client: &ClientId,
        role: Role,
        id: &str,
    ) -> Result<Option<ChatMessage>, StoreError> {
        self.read(|conn| read::find_by_client_id(conn, client, role, id))
    }

    fn commit_batch(&self, writes: &[Write<'_>]) -> Result<Vec<bool>, StoreError> {
        self.write(|side, checkpointer| {
            let accepted = side.commit_batch(writes, checkpointer)?;
            if writes.iter().any(|w| w.op.removes_data()) {
                // Such a write committed the transaction (it is not journaled).
                scrub(side.settled_conn(checkpointer)?);
            }
            Ok(accepted)
        })
    }

    fn settle(&self) -> Result<(), StoreError> {
        self.write(|side, checkpointer| side.settle_if_due(checkpointer))
    }

    fn catch_up(&self) -> Result<(), StoreError> {
        self.write(|side, checkpointer| side.catch_up(checkpointer))
    }

    fn sql_read(&self, f: &mut SqlFn<'_>) -> Result<(), StoreError> {
        self.read_settled(|conn| Ok(f(&sql::SqliteConn(conn))))?
            .map_err(StoreError::from)
    }

    /// On the writer thread's own connection, under its lock: SQLite has
    /// one writer, and a second write connection would wait on (or make
    /// wait) the group commit through busy timeouts. Sharing the connection
    /// means an account write never fails busy; it delays at most one
    /// commit by its own short transaction (password hashing is done before,
    /// outside the lock).
    fn sql_write(&self, f: &mut SqlFn<'_>) -> Result<(), StoreError> {
        self.write(|side, checkpointer| {
            let conn = side.settled_conn(checkpointer)?;
            if let Some(checkpointer) = checkpointer {
                checkpointer.before_commit();
            }
            let result = sql::in_transaction(conn, |c| f(c)).map_err(StoreError::from);
            if let Some(checkpointer) = checkpointer {
                checkpointer.committed();
            }
            result
        })
    }

    fn read_slots(&self) -> usize {
        self.readers.as_ref().map_or(1, ReadPool::size)
    }

    fn probe(&self) -> Result<(), StoreError> {
        // An in-memory database has no file to lose.
        let Some(pool) = &self.readers else {
            return Ok(());
        };
        pool.with(|conn| {
            // Without its cached pages, the connection has to read the file.
            conn.release_memory()?;
            read::totals(conn).map(drop)
        })
    }

    /// Closes the readers and the checkpointer first, so the checkpoint can
    /// copy the whole log into the database file and empty it; then clears
    /// the in-use mark and closes the writer, the last connection, which
    /// removes the log.
    fn close(&self) -> Result<(), StoreError> {
        let Some(pool) = &self.readers else {
            return Ok(());
        };
        pool.close(CLOSE_PATIENCE);
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.stop();
        }
        let mut writer = self
            .writer
            .lock()
            .map_err(|_| StoreError::Backend("store lock poisoned".into()))?;
        let Some(side) = writer.take() else {
            return Ok(());
        };
        let conn = side.close(None)?;
        mark_in_use(&conn, false).map_err(backend_err)?;
        conn.close().map_err(|(_, e)| backend_err(e))
    }
}
