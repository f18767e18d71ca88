//! The writer's side of the database: its connection, the transaction it
//! keeps open between commits, and the journal that makes waiting safe
//! (`journal.rs` says why).
//!
//! A batch of messages and read marks is applied in the open transaction
//! and journaled, and is then acknowledged; any other write commits the
//! transaction first. The transaction commits when it is
//! [`SETTLE_AFTER`] old, when the writer is idle, and whenever a reader
//! needs to see everything acknowledged (readers use other connections).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::checkpoint::Checkpointer;
use super::journal::{self, Journal};
use super::search_queue::SearchQueue;
use super::write;
use crate::store::{StoreError, Write, WriteOp};

/// Longest a transaction stays open under a steady stream of messages.
/// Its commit writes every page it changed once, so longer means fewer
/// bytes per message, and more to replay after a crash (at 14,000 messages
/// a second, 28,000 records: well under a second).
pub const SETTLE_AFTER: Duration = Duration::from_secs(2);

/// Prepared statements the write connection keeps.
const WRITER_STATEMENTS: usize = 64;

/// The write connection and what it has not committed yet.
pub(super) struct WriteSide {
    conn: Connection,
    /// `None` for an in-memory database: every batch commits.
    journal: Option<Journal>,
    /// When the open transaction began.
    open_since: Option<Instant>,
    /// Set while a transaction is open, for readers to look at without
    /// taking the writer's lock.
    open: Arc<AtomicBool>,
    /// A transaction failed after journaled writes were acknowledged: they
    /// are replayed from the journal before anything else is written.
    must_replay: bool,
    /// Messages not yet in the search index.
    search: SearchQueue,
}

fn backend_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl WriteSide {
    pub(super) fn new(conn: Connection, journal: Option<Journal>) -> rusqlite::Result<WriteSide> {
        // The writer's statements and the short reads it serves while a
        // transaction is open, all kept prepared.
        conn.set_prepared_statement_cache_capacity(WRITER_STATEMENTS);
        let mut side = WriteSide {
            conn,
            journal,
            open_since: None,
            open: Arc::default(),
            must_replay: false,
            search: SearchQueue::default(),
        };
        side.count_search_backlog()?;
        Ok(side)
    }

    /// The flag readers check before they read (see [`WriteSide::settle`]).
    pub(super) fn open_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.open)
    }

    /// The connection, for a short read that must see what is open.
    pub(super) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The connection, with nothing left uncommitted on it.
    pub(super) fn settled_conn(
        &mut self,
        checkpointer: Option<&Checkpointer>,
    ) -> Result<&Connection, StoreError> {
        self.settle(checkpointer)?;
        Ok(&self.conn)
    }

    /// What a previous run (or a failed transaction) left for the index.
    fn count_search_backlog(&mut self) -> rusqlite::Result<()> {
        let left: i64 = self
            .conn
            .query_row("SELECT count(*) FROM search_pending", [], |r| r.get(0))?;
        self.search = SearchQueue::default();
        self.search.add(usize::try_from(left).unwrap_or(0));
        Ok(())
    }

    /// Applies one batch; per write, whether it was applied. When this
    /// returns, each applied write is committed or journaled.
    pub(super) fn commit_batch(
        &mut self,
        writes: &[Write<'_>],
        checkpointer: Option<&Checkpointer>,
    ) -> Result<Vec<bool>, StoreError> {
        self.replay_if_needed(checkpointer)?;
        self.begin(checkpointer)?;
        let keep_open = self.journal.is_some() && writes.iter().all(|w| journal::journaled(w.op));
        let result = self.apply(writes).and_then(|accepted| {
            match (&mut self.journal, keep_open) {
                (Some(journal), true) => journal.append(writes, &accepted).map_err(backend_err)?,
                _ => self.settle(checkpointer)?,
            }
            Ok(accepted)
        });
        // A failed commit was abandoned by `settle` already.
        if result.is_err() && !self.conn.is_autocommit() {
            self.abandon(checkpointer);
        }
        result
    }

    fn apply(&mut self, writes: &[Write<'_>]) -> Result<Vec<bool>, StoreError> {
        let accepted = write::apply(&self.conn, writes).map_err(backend_err)?;
        self.search.add(queued_for_search(writes, &accepted));
        if self.search.due() {
            write::index_pending(&self.conn).map_err(backend_err)?;
            self.search.clear();
        }
        Ok(accepted)
    }

    /// Indexes what waits for the search index, in a commit of its own.
    pub(super) fn catch_up(
        &mut self,
        checkpointer: Option<&Checkpointer>,
    ) -> Result<(), StoreError> {
        self.settle(checkpointer)?;
        if self.search.is_empty() {
            return Ok(());
        }
        self.begin(checkpointer)?;
        let indexed = write::index_pending(&self.conn)
            .map_err(backend_err)
            .and_then(|_| self.settle(checkpointer));
        match indexed {
            Ok(()) => {
                self.search.clear();
                Ok(())
            }
            Err(e) => {
                self.abandon(checkpointer);
                Err(e)
            }
        }
    }

    /// Commits the open transaction if it has been open long enough.
    pub(super) fn settle_if_due(
        &mut self,
        checkpointer: Option<&Checkpointer>,
    ) -> Result<(), StoreError> {
        match self.open_since {
            Some(since) if since.elapsed() >= SETTLE_AFTER => self.settle(checkpointer),
            _ => Ok(()),
        }
    }

    /// Commits the open transaction, if any, recording the journal's epoch
    /// in it, and starts the journal over.
    pub(super) fn settle(&mut self, checkpointer: Option<&Checkpointer>) -> Result<(), StoreError> {
        if self.conn.is_autocommit() {
            return Ok(());
        }
        let committed = match &self.journal {
            Some(journal) => journal::record_epoch(&self.conn, journal.epoch()),
            None => Ok(()),
        }
        .and_then(|()| self.conn.prepare_cached("COMMIT")?.execute([]).map(drop));
        if let Err(e) = committed {
            self.abandon(checkpointer);
            return Err(backend_err(e));
        }
        self.ended(checkpointer);
        if let Some(journal) = &mut self.journal {
            // The writes are committed whatever happens to the journal; one
            // not started over finishes that before its next append.
            if let Err(e) = journal.start_over(journal.epoch() + 1) {
                log::error!("the journal could not start over: {e}");
            }
        }
        Ok(())
    }

    /// Begins a transaction unless one is open.
    fn begin(&mut self, checkpointer: Option<&Checkpointer>) -> Result<(), StoreError> {
        if !self.conn.is_autocommit() {
            return Ok(());
        }
        if let Some(checkpointer) = checkpointer {
            checkpointer.before_commit();
        }
        // Cached: parsing BEGIN anew for every transaction is a measurable
        // share of a small one.
        self.conn
            .prepare_cached("BEGIN")
            .and_then(|mut begin| begin.execute([]))
            .map_err(backend_err)?;
        self.open_since = Some(Instant::now());
        self.open.store(true, Ordering::Release);
        Ok(())
    }

    /// After a commit or a rollback.
    fn ended(&mut self, checkpointer: Option<&Checkpointer>) {
        self.open_since = None;
        self.open.store(false, Ordering::Release);
        if let Some(checkpointer) = checkpointer {
            checkpointer.committed();
        }
    }

    /// Rolls back a failed transaction. What the journal holds of it was
    /// acknowledged, so it is replayed at once (or before the next write).
    fn abandon(&mut self, checkpointer: Option<&Checkpointer>) {
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        self.ended(checkpointer);
        self.must_replay = self.journal.as_ref().is_some_and(|j| !j.is_empty());
        if let Err(e) = self.replay_if_needed(checkpointer) {
            log::error!("replaying the journal after a failed transaction failed: {e}");
        }
    }

    fn replay_if_needed(&mut self, checkpointer: Option<&Checkpointer>) -> Result<(), StoreError> {
        let Some(journal) = self.journal.as_mut().filter(|_| self.must_replay) else {
            return Ok(());
        };
        let pending = journal.pending().map_err(backend_err)?;
        if let Some(checkpointer) = checkpointer {
            checkpointer.before_commit();
        }
        let replayed = pending.replay(&self.conn);
        if let Some(checkpointer) = checkpointer {
            checkpointer.committed();
        }
        let replayed = replayed.map_err(backend_err)?;
        journal
            .start_over(journal.epoch().max(pending.epoch) + 1)
            .map_err(backend_err)?;
        log::warn!("replayed {replayed} journaled writes after a failed transaction");
        self.must_replay = false;
        self.count_search_backlog().map_err(backend_err)
    }

    /// Commits what is open and takes the journal away (a clean stop).
    pub(super) fn close(
        mut self,
        checkpointer: Option<&Checkpointer>,
    ) -> Result<Connection, StoreError> {
        self.settle(checkpointer)?;
        if let Some(journal) = self.journal.take() {
            journal.remove().map_err(backend_err)?;
        }
        Ok(self.conn)
    }
}

/// Messages of the batch that the schema's trigger queued for the index:
/// those stored, but not events.
fn queued_for_search(writes: &[Write<'_>], accepted: &[bool]) -> usize {
    writes
        .iter()
        .zip(accepted)
        .filter(|(w, ok)| **ok && matches!(w.op, WriteOp::Message(m) if m.event.is_none()))
        .count()
}
