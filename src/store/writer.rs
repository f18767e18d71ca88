//! The writer thread: group commit. Each round takes everything waiting (up
//! to [`MAX_BATCH`]), hands it to the backend in one go (which commits it,
//! or makes it durable in its journal and commits later: see
//! `sqlite/journal.rs`), and tells each SessionActor the outcome of its
//! messages and the watcher which conversations changed. When it stops it
//! closes the backend, so a clean stop leaves the data in the database file
//! alone.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use actix::prelude::*;

use super::write_queue::{self, QueueReceiver, QueueSender};
use super::{Backend, Store, StoreChanged, StoreError, Write, WriteOp, WriteOutcome, WriteRequest};
use crate::domain::ClientId;
use crate::metrics::{Metrics, StoreFailure};

/// Writes waiting for the writer thread; beyond this senders get
/// `store_unavailable` instead of queueing without bound. The queue takes
/// memory only for the writes it holds (`write_queue`).
pub const WRITE_QUEUE_CAPACITY: usize = 65_536;
/// Most writes committed in one transaction.
pub const MAX_BATCH: usize = 8_192;
/// Shortest time between the starts of two rounds. Each round costs the
/// backend a write to the disk (a commit, or a journal append with an
/// fsync under `--durability full`), so a round for every message alone
/// would cost a syscall or an fsync per message under load; waiting this
/// long adds at most this much latency and only when messages are already
/// arriving.
pub const COMMIT_SPACING: Duration = Duration::from_micros(500);
/// After this long without a write the backend catches up with what
/// commits left for later (new messages for the search index).
pub const IDLE_CATCH_UP: Duration = Duration::from_millis(200);

// Nearly every command is a write: boxing it would add an allocation per
// message to save a few bytes on the rare flush and stop.
#[allow(clippy::large_enum_variant)]
pub(super) enum WriterCommand {
    Write(WriteRequest),
    Flush(mpsc::Sender<()>),
    /// Commit what is queued, then close the backend and end the thread.
    Stop,
}

/// Owns the writer thread; [`Writer::shutdown`] flushes and joins it.
pub struct Writer {
    thread: Option<JoinHandle<()>>,
}

/// Where the writer thread reports: the health flag and the watcher.
pub(super) struct Reporting {
    pub healthy: Arc<AtomicBool>,
    pub watcher: Arc<OnceLock<Recipient<StoreChanged>>>,
    pub metrics: Arc<Metrics>,
}

/// Starts the writer thread on `backend`; returns its queue.
pub(super) fn spawn(
    backend: Arc<dyn Backend>,
    reporting: Reporting,
) -> (QueueSender<WriterCommand>, Writer) {
    let (tx, rx) = write_queue::queue(WRITE_QUEUE_CAPACITY);
    let thread = std::thread::Builder::new()
        .name("store-writer".into())
        .spawn(move || run(&*backend, &rx, &reporting))
        .expect("spawning the store writer thread at start-up");
    (
        tx,
        Writer {
            thread: Some(thread),
        },
    )
}

impl Writer {
    /// Commits everything queued, closes the backend, then joins the writer
    /// thread. Writes submitted afterwards fail with
    /// [`StoreError::WriterGone`].
    pub fn shutdown(mut self, store: &Store) {
        let _ = store.writes.send_control(WriterCommand::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What one round took from the queue.
#[derive(Default)]
struct Round {
    writes: Vec<WriteRequest>,
    flushes: Vec<mpsc::Sender<()>>,
    stop: bool,
}

fn run(backend: &dyn Backend, rx: &QueueReceiver<WriterCommand>, reporting: &Reporting) {
    let mut last_commit: Option<Instant> = None;
    let mut fences = Fences::default();
    loop {
        let first = match rx.recv_timeout(IDLE_CATCH_UP) {
            Ok(command) => command,
            Err(RecvTimeoutError::Timeout) => {
                catch_up(backend);
                // A failed commit marked the store failing; with nothing to
                // write, an empty transaction tells when it works again (a
                // database back after a restart), so /healthz recovers
                // without waiting for traffic.
                if !reporting.healthy.load(Ordering::Relaxed) && backend.commit_batch(&[]).is_ok() {
                    reporting.healthy.store(true, Ordering::Relaxed);
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        // Under load, let a group form: at most one commit per spacing.
        // When idle the first write goes at once.
        if let Some(wait) = last_commit.and_then(|at| COMMIT_SPACING.checked_sub(at.elapsed())) {
            std::thread::sleep(wait);
        }
        last_commit = Some(Instant::now());
        let round = collect(first, rx);
        if !round.writes.is_empty() {
            let metrics = &reporting.metrics;
            rx.taken(round.writes.len());
            metrics.write_queue_depth.dec_by(round.writes.len() as i64);
            let started = Instant::now();
            let outcome = commit(backend, &round.writes, &fences, &reporting.healthy);
            let durable = started.elapsed();
            fences.update(&round.writes, &outcome);
            count_stored(metrics, &round.writes, &outcome);
            let writes = round.writes.len();
            report(round.writes, &outcome, reporting.watcher.get());
            // After the outcomes are out: a commit the journal let wait
            // holds up the next round, not this one's acknowledgements.
            let settling = Instant::now();
            if let Err(e) = backend.settle() {
                log::error!("store commit failed: {e}");
            }
            metrics.commit(writes, durable + settling.elapsed());
        }
        for done in round.flushes {
            let _ = done.send(());
        }
        if round.stop {
            break;
        }
    }
    catch_up(backend);
    if let Err(e) = backend.close() {
        log::error!("store close failed: {e}");
    }
}

/// The work commits left for later (the search index), while idle.
fn catch_up(backend: &dyn Backend) {
    if let Err(e) = backend.catch_up() {
        log::error!("store catch-up failed: {e}");
    }
}

/// `first` and whatever else is already waiting, up to `MAX_BATCH` writes
/// or a stop.
fn collect(first: WriterCommand, rx: &QueueReceiver<WriterCommand>) -> Round {
    let mut round = Round::default();
    let mut next = Some(first);
    while let Some(command) = next.take() {
        match command {
            WriterCommand::Write(w) => round.writes.push(w),
            WriterCommand::Flush(done) => round.flushes.push(done),
            WriterCommand::Stop => {
                round.stop = true;
                break;
            }
        }
        if round.writes.len() < MAX_BATCH {
            next = rx.try_recv();
        }
    }
    round
}

/// Conversations whose messages the writer refuses up to a generation (see
/// `WriteRequest::generation`).
#[derive(Default)]
struct Fences(HashMap<ClientId, u64>);

impl Fences {
    fn holds(&self, write: &WriteRequest) -> bool {
        matches!(write.op, WriteOp::Message(_))
            && self
                .0
                .get(&write.client)
                .is_some_and(|fenced| write.generation <= *fenced)
    }

    /// A refused message fences its generation; a stored one of a newer
    /// generation lifts the fence.
    fn update(&mut self, batch: &[WriteRequest], outcome: &Result<Vec<bool>, StoreError>) {
        for (i, write) in batch.iter().enumerate() {
            if !matches!(write.op, WriteOp::Message(_)) {
                continue;
            }
            let stored = matches!(outcome, Ok(accepted) if accepted.get(i) == Some(&true));
            match self.0.get_mut(&write.client) {
                Some(fenced) if stored && write.generation > *fenced => {
                    self.0.remove(&write.client);
                }
                Some(fenced) if !stored => *fenced = (*fenced).max(write.generation),
                None if !stored => {
                    self.0.insert(write.client.clone(), write.generation);
                }
                _ => {}
            }
        }
    }
}

/// One transaction for the whole round; per write, whether it was stored.
/// Fenced messages are refused without asking the backend.
fn commit(
    backend: &dyn Backend,
    batch: &[WriteRequest],
    fences: &Fences,
    healthy: &AtomicBool,
) -> Result<Vec<bool>, StoreError> {
    let open: Vec<bool> = batch.iter().map(|w| !fences.holds(w)).collect();
    let writes: Vec<Write<'_>> = batch
        .iter()
        .zip(&open)
        .filter(|(_, open)| **open)
        .map(|(w, _)| Write {
            client: &w.client,
            op: &w.op,
        })
        .collect();
    let committed = match writes.is_empty() {
        true => Ok(Vec::new()),
        false => backend.commit_batch(&writes),
    };
    let outcome = committed.map(|accepted| {
        let mut accepted = accepted.into_iter();
        open.iter()
            .map(|open| *open && accepted.next().unwrap_or(false))
            .collect()
    });
    match &outcome {
        Ok(_) => healthy.store(true, Ordering::Relaxed),
        Err(e) => {
            healthy.store(false, Ordering::Relaxed);
            log::error!("store commit of {} writes failed: {e}", batch.len());
        }
    }
    outcome
}

fn count_stored(
    metrics: &Metrics,
    batch: &[WriteRequest],
    outcome: &Result<Vec<bool>, StoreError>,
) {
    match outcome {
        Ok(accepted) => {
            let stored = batch
                .iter()
                .zip(accepted)
                .filter(|(w, ok)| **ok && matches!(w.op, WriteOp::Message(_)))
                .count();
            metrics.messages_stored.inc_by(stored as u64);
        }
        Err(_) => metrics.store_failed(StoreFailure::Commit),
    }
}

/// Tells each session the outcome of its messages (one actor message per
/// session and round, not one per chat message) and the watcher which
/// conversations changed.
fn report(
    batch: Vec<WriteRequest>,
    outcome: &Result<Vec<bool>, StoreError>,
    watcher: Option<&Recipient<StoreChanged>>,
) {
    let mut changed: HashSet<ClientId> = HashSet::new();
    let mut outcomes: HashMap<ClientId, (Recipient<WriteOutcome>, WriteOutcome)> = HashMap::new();
    for (i, write) in batch.into_iter().enumerate() {
        let result = match outcome {
            Ok(accepted) if accepted.get(i) == Some(&true) => Ok(()),
            Ok(_) => Err(StoreError::OutOfSequence),
            Err(e) => Err(e.clone()),
        };
        if result.is_ok() && watcher.is_some() {
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
    for (reply, outcome) in outcomes.into_values() {
        reply.do_send(outcome);
    }
    if let Some(watcher) = watcher.filter(|_| !changed.is_empty()) {
        watcher.do_send(StoreChanged {
            clients: changed.into_iter().collect(),
        });
    }
}
