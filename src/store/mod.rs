//! The message store, behind one seam.
//!
//! [`Backend`] is the seam: the few blocking operations the actors need,
//! implemented by SQLite ([`SqliteBackend`], one node, the default) and by
//! PostgreSQL ([`PostgresBackend`], several nodes sharing one database). [`Store`] wraps any backend with what every
//! backend needs: one writer thread doing group commit (`writer.rs`: every
//! write waiting goes into one transaction, then each SessionActor is told
//! its outcome), and reads on the blocking thread pool, at most as many at
//! once as the backend has read slots, so no actor thread waits on disk and
//! a burst of reads cannot take a thread each.
//!
//! "Committed", here and in the actors, means durable and seen by every
//! read. SQLite gets there two ways: by a commit, or by the writer's journal
//! while its transaction stays open (`sqlite/transaction.rs`), whose
//! uncommitted writes reads are given too.

mod attachments;
mod audit;
mod cursor;
mod list_filter;
mod postgres;
mod privacy;
mod search;
#[cfg(test)]
mod semantics;
pub mod sql;
mod sqlite;
mod write_queue;
mod writer;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};

use actix::prelude::*;
use tokio::sync::Semaphore;

use crate::domain::{
    AgentId, AssigneeCounts, Author, ChatMessage, ClientId, Contact, ConversationStatus,
    ConversationSummary, Notice, Role, Totals, View,
};
use crate::metrics::{Metrics, StoreFailure};

pub use attachments::{Download, Unclaimable, Upload};
pub use audit::{
    agent_target, conversation_target, label_target, reply_target, token_target, AuditAction,
    AuditEvent, Who,
};
pub use postgres::{
    migrate_sqlite_to_postgres, ImportError, Imported, OpenError as PgOpenError, PostgresBackend,
    PG_SCHEMA_VERSION,
};
pub use search::{SearchHit, SearchPage, SearchQuery};
pub use sql::{SqlConn, SqlError, SqlFn};
pub use sqlite::{
    backup, restore, BackupError, Copied, DataDirLock, Durability, SqliteBackend, StartupError,
    SCHEMA_VERSION,
};
use write_queue::{QueueError, QueueSender};
pub use writer::Writer;
use writer::{Reporting, WriterCommand};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("store failure: {0}")]
    Backend(String),
    #[error("store write queue is full")]
    Overloaded,
    #[error("store writer has stopped")]
    WriterGone,
    /// The write does not follow the conversation's last stored seq (an
    /// earlier write of the same conversation failed); nothing was stored.
    #[error("write out of sequence")]
    OutOfSequence,
    #[error("invalid list cursor")]
    InvalidCursor,
    /// A unique constraint refused a plain-SQL write (a name taken).
    #[error("already taken: {0}")]
    Taken(String),
}

/// What a SessionActor starts from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Highest stored seq, 0 for a new conversation.
    pub last_seq: u64,
    /// Highest stored seq the customer sees (not a note or an internal
    /// event), 0 if none.
    pub last_public_seq: u64,
    /// The newest stored messages, oldest first.
    pub recent: Vec<ChatMessage>,
    pub status: ConversationStatus,
    pub customer_read_seq: u64,
    pub agent_read_seq: u64,
    /// The agent who has the conversation, if any.
    pub assignee: Option<Author>,
    /// The client message ids of the conversation, all of them if there are
    /// at most [`MAX_KNOWN_IDS`] (then `known_ids_complete`).
    pub known_ids: Vec<(Role, String)>,
    pub known_ids_complete: bool,
    /// The customer's contact details (empty if none were given).
    pub contact: Contact,
}

/// Most client message ids a session keeps in memory (as hashes) to tell a
/// new id from a retry without asking the store.
pub const MAX_KNOWN_IDS: usize = 100_000;

/// A page request of the conversation list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// `None`: every status.
    pub status: Option<ConversationStatus>,
    /// Substring of the client id.
    pub search: Option<String>,
    /// Mine, Unassigned or All.
    pub view: View,
    /// Who asks: whose conversations "Mine" lists.
    pub me: AgentId,
    /// Only conversations with this label (by id).
    pub label: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub limit: usize,
}

/// One page of the conversation list, waiting conversations first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPage {
    pub items: Vec<ConversationSummary>,
    pub next_cursor: Option<String>,
}

/// The seam: blocking operations on durable storage. Implementations must be
/// safe to call from several threads; `commit_batch` is only ever called from
/// the single writer thread.
pub trait Backend: Send + Sync + 'static {
    /// The conversation's last seq and its newest `recent` messages.
    fn load(&self, client: &ClientId, recent: usize) -> Result<Snapshot, StoreError>;
    /// Up to `limit` items `reader` may see with `seq < before`, oldest
    /// first (the customer sees no private item).
    fn before(
        &self,
        client: &ClientId,
        before: u64,
        limit: usize,
        reader: Role,
    ) -> Result<Vec<ChatMessage>, StoreError>;
    /// The message `role` sent with client message id `id`, if stored.
    fn find_by_client_id(
        &self,
        client: &ClientId,
        role: Role,
        id: &str,
    ) -> Result<Option<ChatMessage>, StoreError>;
    /// Up to `limit` messages with `seq > after`, oldest first.
    fn after(
        &self,
        client: &ClientId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StoreError>;
    /// A page of conversation summaries (`customer_online` left false).
    fn summaries(&self, query: &ListQuery) -> Result<ListPage, StoreError>;
    /// The summaries of these conversations (missing ones are skipped).
    fn summaries_of(&self, clients: &[ClientId]) -> Result<Vec<ConversationSummary>, StoreError>;
    fn totals(&self) -> Result<Totals, StoreError>;
    /// The queue: open, unassigned conversations whose customer waits,
    /// the longest wait first, at most `limit`.
    fn queue(&self, limit: usize) -> Result<Vec<ClientId>, StoreError>;
    /// Full-text search over messages and notes (for agents).
    fn search(&self, query: &SearchQuery) -> Result<SearchPage, StoreError>;
    /// The open conversations assigned to `agent`.
    fn assigned_to(&self, agent: AgentId) -> Result<Vec<ClientId>, StoreError>;
    /// Conversations per assignee, of one status (`None`: every status).
    fn assignee_counts(
        &self,
        status: Option<ConversationStatus>,
    ) -> Result<AssigneeCounts, StoreError>;
    /// Stores all `writes` in one transaction. A message is accepted only if
    /// its seq directly follows the conversation's last stored seq; the
    /// result says, per write, whether it was stored.
    fn commit_batch(&self, writes: &[Write<'_>]) -> Result<Vec<bool>, StoreError>;
    /// How many reads can run at once; [`Store`] never runs more, so
    /// further readers wait for a free slot instead of taking a thread each.
    fn read_slots(&self) -> usize {
        1
    }
    /// Reads from the durable copy itself, past any cache, to tell whether
    /// the database can still be read (for `/healthz`).
    fn probe(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Commits what earlier commits only journaled, once it has waited
    /// long enough (SQLite keeps a transaction open between them); the
    /// writer calls it after each round, once its outcomes are out.
    fn settle(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Does now what commits may leave for later (the search index): the
    /// writer calls it when idle, and a search before it reads.
    fn catch_up(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Called once by the writer thread after its last commit: leave the
    /// durable copy complete and self-contained, and release connections.
    /// Operations afterwards may fail.
    fn close(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Runs `f` on a connection that sees every committed write. The small
    /// tables beside the conversations (accounts, the desk, the outbox,
    /// attachments, the audit log) get plain SQL (see `sql.rs`) instead of
    /// operations of their own on this seam. Backends without them (test
    /// doubles) refuse.
    fn sql_read(&self, _f: &mut SqlFn<'_>) -> Result<(), StoreError> {
        Err(no_sql())
    }
    /// Runs `f` in one transaction that writes: committed if `f` succeeds,
    /// rolled back if it fails (see `sql_read`).
    fn sql_write(&self, _f: &mut SqlFn<'_>) -> Result<(), StoreError> {
        Err(no_sql())
    }
}

fn no_sql() -> StoreError {
    StoreError::Backend("this store keeps no accounts".into())
}

/// A change to one conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOp {
    Message(ChatMessage),
    /// `role` has seen the conversation up to `seq` (marks only move forward).
    Read {
        role: Role,
        seq: u64,
    },
    Status(ConversationStatus),
    /// Resolves the conversation and queues its transcript in the same
    /// transaction, so a crash cannot keep one without the other.
    ResolveWithTranscript(Notice),
    /// The customer's contact details, as they now are.
    Contact(Contact),
    /// The conversation's assignee (`None`: back to the queue).
    Assign(Option<AgentId>),
    /// Deletes the conversation and its messages (the erase and retention).
    Erase,
    /// Replaces every message text, keeping seqs, roles, times and counts
    /// (retention's anonymise mode).
    Anonymise,
}

impl WriteOp {
    /// Whether it removes data, so the commit must also scrub the file.
    pub fn removes_data(&self) -> bool {
        matches!(self, WriteOp::Erase | WriteOp::Anonymise)
    }
}

/// One write as the backend sees it.
#[derive(Debug, Clone, Copy)]
pub struct Write<'a> {
    pub client: &'a ClientId,
    pub op: &'a WriteOp,
}

/// A write handed to the writer thread.
pub struct WriteRequest {
    pub client: ClientId,
    pub op: WriteOp,
    /// Told the outcome of a message once its transaction has ended.
    pub reply: Option<Recipient<WriteOutcome>>,
    /// The writing session's generation (see [`next_generation`]). Once a
    /// message is refused, the writer refuses the conversation's later
    /// messages of the same generation: they were written assuming it was
    /// stored (another node may have stored one with its seq meanwhile).
    pub generation: u64,
}

/// A generation no write has used yet, for a session that starts or resumes
/// writing after a refused message.
pub fn next_generation() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Conversations changed by a committed transaction, for whoever watches
/// (the inbox).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct StoreChanged {
    pub clients: Vec<ClientId>,
}

/// The outcomes of a session's messages in one transaction, in seq order,
/// sent back to the SessionActor.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct WriteOutcome {
    pub results: Vec<(u64, Result<(), StoreError>)>,
}

/// A cheap, cloneable handle on the store shared by all actors.
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
    writes: QueueSender<WriterCommand>,
    healthy: Arc<AtomicBool>,
    watcher: Arc<OnceLock<Recipient<StoreChanged>>>,
    /// One permit per read slot of the backend: a burst of reads queues
    /// here (without a thread) instead of on the blocking pool.
    reads: Arc<Semaphore>,
    metrics: Arc<Metrics>,
}

impl Store {
    /// Starts the writer thread for `backend`.
    pub fn start(backend: Arc<dyn Backend>) -> (Store, Writer) {
        let healthy = Arc::new(AtomicBool::new(true));
        let watcher = Arc::new(OnceLock::new());
        let metrics = Arc::new(Metrics::new());
        let reporting = Reporting {
            healthy: Arc::clone(&healthy),
            watcher: Arc::clone(&watcher),
            metrics: Arc::clone(&metrics),
        };
        let (writes, writer) = writer::spawn(Arc::clone(&backend), reporting);
        let reads = Arc::new(Semaphore::new(backend.read_slots().max(1)));
        let store = Store {
            backend,
            writes,
            healthy,
            watcher,
            reads,
            metrics,
        };
        (store, writer)
    }

    /// Tells `watcher` which conversations each commit changed. Only the
    /// first watcher set is kept.
    pub fn watch(&self, watcher: Recipient<StoreChanged>) {
        let _ = self.watcher.set(watcher);
    }

    /// Whether the last commit succeeded.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// This server's metrics, which every holder of the store reports to.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Queues a write; its outcome goes to `request.reply`.
    pub fn submit(&self, request: WriteRequest) -> Result<(), StoreError> {
        // Counted before it is queued, so the writer never counts it out first.
        self.metrics.write_queue_depth.inc();
        self.writes
            .try_send(WriterCommand::Write(request))
            .map_err(|e| {
                self.metrics.write_queue_depth.dec();
                match e {
                    QueueError::Full => {
                        self.metrics.store_failed(StoreFailure::QueueFull);
                        StoreError::Overloaded
                    }
                    QueueError::Closed => StoreError::WriterGone,
                }
            })
    }

    /// Waits (blocking) until every write queued so far has been committed.
    pub fn flush_blocking(&self) {
        let (tx, rx) = mpsc::channel();
        if self.writes.send_control(WriterCommand::Flush(tx)).is_ok() {
            let _ = rx.recv();
        }
    }

    pub fn load(
        &self,
        client: ClientId,
        recent: usize,
    ) -> impl Future<Output = Result<Snapshot, StoreError>> + 'static {
        self.blocking(move |backend| backend.load(&client, recent))
    }

    pub fn before(
        &self,
        client: ClientId,
        before: u64,
        limit: usize,
        reader: Role,
    ) -> impl Future<Output = Result<Vec<ChatMessage>, StoreError>> + 'static {
        self.blocking(move |backend| backend.before(&client, before, limit, reader))
    }

    pub fn after(
        &self,
        client: ClientId,
        after: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<ChatMessage>, StoreError>> + 'static {
        self.blocking(move |backend| backend.after(&client, after, limit))
    }

    pub fn summaries(
        &self,
        query: ListQuery,
    ) -> impl Future<Output = Result<(ListPage, Totals), StoreError>> + 'static {
        self.blocking(move |backend| Ok((backend.summaries(&query)?, backend.totals()?)))
    }

    pub fn summaries_of(
        &self,
        clients: Vec<ClientId>,
    ) -> impl Future<Output = Result<(Vec<ConversationSummary>, Totals), StoreError>> + 'static
    {
        self.blocking(move |backend| Ok((backend.summaries_of(&clients)?, backend.totals()?)))
    }

    pub fn queue(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<ClientId>, StoreError>> + 'static {
        self.blocking(move |backend| backend.queue(limit))
    }

    /// Searches every committed message: what commits left for the index
    /// is indexed first.
    pub fn search(
        &self,
        query: SearchQuery,
    ) -> impl Future<Output = Result<SearchPage, StoreError>> + 'static {
        self.blocking(move |backend| {
            backend.catch_up()?;
            backend.search(&query)
        })
    }

    pub fn assigned_to(
        &self,
        agent: AgentId,
    ) -> impl Future<Output = Result<Vec<ClientId>, StoreError>> + 'static {
        self.blocking(move |backend| backend.assigned_to(agent))
    }

    pub fn assignee_counts(
        &self,
        status: Option<ConversationStatus>,
    ) -> impl Future<Output = Result<AssigneeCounts, StoreError>> + 'static {
        self.blocking(move |backend| backend.assignee_counts(status))
    }

    pub fn find_by_client_id(
        &self,
        client: ClientId,
        role: Role,
        id: String,
    ) -> impl Future<Output = Result<Option<ChatMessage>, StoreError>> + 'static {
        self.blocking(move |backend| backend.find_by_client_id(&client, role, &id))
    }

    /// Whether the database can still be read, asked of the file itself.
    pub fn probe(&self) -> impl Future<Output = Result<(), StoreError>> + 'static {
        self.blocking(|backend| backend.probe())
    }

    /// Runs `f` on the blocking pool once a read slot is free.
    fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Backend) -> Result<T, StoreError> + Send + 'static,
    ) -> impl Future<Output = Result<T, StoreError>> + 'static {
        let backend = Arc::clone(&self.backend);
        let reads = Arc::clone(&self.reads);
        async move {
            let _slot = reads
                .acquire_owned()
                .await
                .map_err(|_| StoreError::Backend("store read slots closed".into()))?;
            actix_rt::task::spawn_blocking(move || f(&*backend))
                .await
                .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?
        }
    }
}

#[cfg(test)]
mod tests;
