//! The message store, behind one seam.
//!
//! [`Backend`] is the seam: the few blocking operations the actors need,
//! implemented today by SQLite ([`SqliteBackend`]); a PostgreSQL backend would
//! implement the same trait. [`Store`] wraps any backend with what every
//! backend needs: one writer thread doing group commit (every write waiting
//! goes into one transaction, then each SessionActor is told its outcome) and
//! reads run on the blocking thread pool so no actor thread waits on disk.

mod sqlite;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use actix::prelude::*;

use crate::domain::{ChatMessage, ClientId, ConversationStatus, ConversationSummary, Role, Totals};

pub use sqlite::{DataDirLock, Durability, SqliteBackend, StartupError, SCHEMA_VERSION};

/// Writes waiting for the writer thread; beyond this senders get
/// `store_unavailable` instead of queueing without bound.
pub const WRITE_QUEUE_CAPACITY: usize = 65_536;
/// Most writes committed in one transaction.
pub const MAX_BATCH: usize = 8_192;
/// Shortest time between the starts of two commits. Each commit rewrites
/// whole pages, so committing every message alone under load would cost
/// several kilobytes of disk writes per message; waiting this long adds at
/// most this much latency and only when messages are already arriving.
pub const COMMIT_SPACING: Duration = Duration::from_micros(500);

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
}

/// What a SessionActor starts from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Highest stored seq, 0 for a new conversation.
    pub last_seq: u64,
    /// The newest stored messages, oldest first.
    pub recent: Vec<ChatMessage>,
    pub status: ConversationStatus,
    pub customer_read_seq: u64,
    pub agent_read_seq: u64,
    /// The client message ids of the conversation, all of them if there are
    /// at most [`MAX_KNOWN_IDS`] (then `known_ids_complete`).
    pub known_ids: Vec<(Role, String)>,
    pub known_ids_complete: bool,
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
    /// Up to `limit` messages with `seq < before`, oldest first.
    fn before(
        &self,
        client: &ClientId,
        before: u64,
        limit: usize,
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
    /// Stores all `writes` in one transaction. A message is accepted only if
    /// its seq directly follows the conversation's last stored seq; the
    /// result says, per write, whether it was stored.
    fn commit_batch(&self, writes: &[Write<'_>]) -> Result<Vec<bool>, StoreError>;
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

enum WriterCommand {
    Write(WriteRequest),
    Flush(mpsc::Sender<()>),
    /// Commit what is queued, then end the thread.
    Stop,
}

/// A cheap, cloneable handle on the store shared by all actors.
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
    writes: SyncSender<WriterCommand>,
    healthy: Arc<AtomicBool>,
    watcher: Arc<OnceLock<Recipient<StoreChanged>>>,
}

/// Owns the writer thread; [`Writer::shutdown`] flushes and joins it.
pub struct Writer {
    thread: Option<JoinHandle<()>>,
}

impl Store {
    /// Starts the writer thread for `backend`.
    pub fn start(backend: Arc<dyn Backend>) -> (Store, Writer) {
        let (tx, rx) = mpsc::sync_channel(WRITE_QUEUE_CAPACITY);
        let healthy = Arc::new(AtomicBool::new(true));
        let watcher = Arc::new(OnceLock::new());
        let thread = {
            let backend = Arc::clone(&backend);
            let healthy = Arc::clone(&healthy);
            let watcher = Arc::clone(&watcher);
            std::thread::Builder::new()
                .name("store-writer".into())
                .spawn(move || run_writer(&*backend, rx, &healthy, &watcher))
                .expect("spawning the store writer thread") // ok: only at start-up
        };
        let store = Store {
            backend,
            writes: tx,
            healthy,
            watcher,
        };
        (
            store,
            Writer {
                thread: Some(thread),
            },
        )
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

    /// Queues a write; its outcome goes to `request.reply`.
    pub fn submit(&self, request: WriteRequest) -> Result<(), StoreError> {
        self.writes
            .try_send(WriterCommand::Write(request))
            .map_err(|e| match e {
                TrySendError::Full(_) => StoreError::Overloaded,
                TrySendError::Disconnected(_) => StoreError::WriterGone,
            })
    }

    /// Waits (blocking) until every write queued so far has been committed.
    pub fn flush_blocking(&self) {
        let (tx, rx) = mpsc::channel();
        if self.writes.send(WriterCommand::Flush(tx)).is_ok() {
            let _ = rx.recv();
        }
    }

    pub fn load(
        &self,
        client: ClientId,
        recent: usize,
    ) -> impl Future<Output = Result<Snapshot, StoreError>> + 'static {
        let backend = Arc::clone(&self.backend);
        blocking(move || backend.load(&client, recent))
    }

    pub fn before(
        &self,
        client: ClientId,
        before: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<ChatMessage>, StoreError>> + 'static {
        let backend = Arc::clone(&self.backend);
        blocking(move || backend.before(&client, before, limit))
    }

    pub fn after(
        &self,
        client: ClientId,
        after: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<ChatMessage>, StoreError>> + 'static {
        let backend = Arc::clone(&self.backend);
        blocking(move || backend.after(&client, after, limit))
    }

    pub fn summaries(
        &self,
        query: ListQuery,
    ) -> impl Future<Output = Result<(ListPage, Totals), StoreError>> + 'static {
        let backend = Arc::clone(&self.backend);
        blocking(move || Ok((backend.summaries(&query)?, backend.totals()?)))
    }

    pub fn summaries_of(
        &self,
        clients: Vec<ClientId>,
    ) -> impl Future<Output = Result<(Vec<ConversationSummary>, Totals), StoreError>> + 'static
    {
        let backend = Arc::clone(&self.backend);
        blocking(move || Ok((backend.summaries_of(&clients)?, backend.totals()?)))
    }

    pub fn find_by_client_id(
        &self,
        client: ClientId,
        role: Role,
        id: String,
    ) -> impl Future<Output = Result<Option<ChatMessage>, StoreError>> + 'static {
        let backend = Arc::clone(&self.backend);
        blocking(move || backend.find_by_client_id(&client, role, &id))
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    actix_rt::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?
}

impl Writer {
    /// Commits everything queued, then stops and joins the writer thread.
    /// Writes submitted afterwards fail with [`StoreError::WriterGone`].
    pub fn shutdown(mut self, store: &Store) {
        let _ = store.writes.send(WriterCommand::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The writer loop: take everything waiting (up to `MAX_BATCH`), commit it
/// in one transaction, tell each writer's SessionActor, repeat.
fn run_writer(
    backend: &dyn Backend,
    rx: Receiver<WriterCommand>,
    healthy: &AtomicBool,
    watcher: &OnceLock<Recipient<StoreChanged>>,
) {
    let mut batch: Vec<WriteRequest> = Vec::new();
    let mut flushes: Vec<mpsc::Sender<()>> = Vec::new();
    let mut stopping = false;
    let mut last_commit = Instant::now() - COMMIT_SPACING;
    while let Ok(first) = rx.recv() {
        // Under load, let a group form: at most one commit per spacing.
        // When idle the first write goes at once.
        let since = last_commit.elapsed();
        if since < COMMIT_SPACING {
            std::thread::sleep(COMMIT_SPACING - since);
        }
        last_commit = Instant::now();
        let mut next = Some(first);
        while let Some(command) = next.take() {
            match command {
                WriterCommand::Write(w) => batch.push(w),
                WriterCommand::Flush(done) => flushes.push(done),
                WriterCommand::Stop => stopping = true,
            }
            if stopping {
                break;
            }
            if batch.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            let writes: Vec<Write<'_>> = batch
                .iter()
                .map(|w| Write {
                    client: &w.client,
                    op: &w.op,
                })
                .collect();
            let outcome = backend.commit_batch(&writes);
            drop(writes);
            match &outcome {
                Ok(_) => healthy.store(true, Ordering::Relaxed),
                Err(e) => {
                    healthy.store(false, Ordering::Relaxed);
                    log::error!("store commit of {} messages failed: {e}", batch.len());
                }
            }
            let watching = watcher.get();
            let mut changed: HashSet<ClientId> = HashSet::new();
            // One message per session and batch, not one per message.
            let mut outcomes: HashMap<ClientId, (Recipient<WriteOutcome>, WriteOutcome)> =
                HashMap::new();
            for (i, write) in batch.drain(..).enumerate() {
                let result = match &outcome {
                    Ok(accepted) if accepted.get(i) == Some(&true) => Ok(()),
                    Ok(_) => Err(StoreError::OutOfSequence),
                    Err(e) => Err(e.clone()),
                };
                if result.is_ok() && watching.is_some() {
                    changed.insert(write.client.clone());
                }
                if let (Some(reply), WriteOp::Message(message)) = (write.reply, &write.op) {
                    outcomes
                        .entry(write.client)
                        .or_insert_with(|| {
                            (
                                reply,
                                WriteOutcome {
                                    results: Vec::new(),
                                },
                            )
                        })
                        .1
                        .results
                        .push((message.seq, result));
                }
            }
            for (_, (reply, outcome)) in outcomes {
                reply.do_send(outcome);
            }
            if let Some(watcher) = watching {
                if !changed.is_empty() {
                    watcher.do_send(StoreChanged {
                        clients: changed.into_iter().collect(),
                    });
                }
            }
        }
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
        if stopping {
            return;
        }
    }
}
