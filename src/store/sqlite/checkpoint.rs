//! The checkpointer: copies the write-ahead log into the database file on a
//! thread and connection of its own, so that no acknowledgement waits for a
//! checkpoint and its fsyncs (up to tens of milliseconds on a busy disk).
//!
//! Copying beside a busy writer is easy (a PASSIVE checkpoint never blocks
//! it); emptying the log is not: SQLite starts the log over only when a
//! write transaction begins while every frame has been copied, which a
//! writer committing every half millisecond never lets happen, so the log
//! would grow without end. Hence, once the log is past `restart_frames`:
//! 1. the checkpointer copies everything up to now while the writer goes on
//!    (the big copy and the fsync of most of the log),
//! 2. the writer waits before its next commit while the checkpointer copies
//!    the few frames committed meanwhile, and its next transaction then
//!    starts the log over.
//!
//! When no commit came for `idle`, a TRUNCATE checkpoint empties the file.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

/// When and how hard the checkpointer works.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pacing {
    /// Shortest time between two copies while commits keep coming: each copy
    /// writes every page changed since the last one once, however often it
    /// changed, so rarer copies write less.
    pub interval: Duration,
    /// Log frames past which the log is started over (see the module).
    pub restart_frames: u64,
    /// Time without a commit after which the log file is emptied.
    pub idle: Duration,
    /// Longest a commit waits for the last copy before a restart; on a
    /// slower copy it goes on and the log is started over another time.
    pub patience: Duration,
}

impl Pacing {
    /// The log file's size to cut it back to when it starts over (SQLite's
    /// `journal_size_limit`): what `restart_frames` frames of `page_size`
    /// take, so a burst does not leave a large file behind.
    pub fn log_size_limit(&self, page_size: u32) -> u64 {
        self.restart_frames * (u64::from(page_size) + 24) + 32
    }
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing {
            interval: Duration::from_millis(250),
            // 64 MiB of 1 KiB pages: at 14,000 messages a second a restart
            // (and its short wait) about once a second.
            restart_frames: 64 * 1024,
            idle: Duration::from_millis(500),
            patience: Duration::from_millis(200),
        }
    }
}

/// Where the log's restart stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Restart {
    /// The log is not long enough yet.
    No,
    /// Step 1 asked for or running: copy beside the writer.
    Copying,
    /// Step 1 done: the next commit waits for step 2.
    Ready,
    /// The writer waits while the checkpointer runs step 2.
    Waiting,
}

struct State {
    commits: u64,
    last_commit: Instant,
    /// Frames in the log at the last copy.
    log_frames: u64,
    restart: Restart,
    stop: bool,
    /// The checkpointer waits without a deadline: only then must a commit
    /// wake it. Otherwise it wakes at its own time and sees the commits
    /// then; waking it on every commit cost a context switch per commit.
    asleep: bool,
}

struct Shared {
    state: Mutex<State>,
    /// The checkpointer waits on it for commits, restarts and the stop.
    wake: Condvar,
    /// A writer waiting at step 2 waits on it.
    copied: Condvar,
    pacing: Pacing,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Owns the checkpointer thread; the writer tells it of each commit.
pub(super) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    /// Opens a connection of its own to the database at `path` (with the
    /// writer's `synchronous` setting, which decides the checkpoint's
    /// fsyncs) and starts the thread.
    pub(super) fn start(
        path: &Path,
        synchronous: &str,
        pacing: Pacing,
    ) -> rusqlite::Result<Checkpointer> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.execute_batch(&format!(
            "PRAGMA synchronous = {synchronous}; PRAGMA wal_autocheckpoint = 0;"
        ))?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                commits: 0,
                last_commit: Instant::now(),
                log_frames: 0,
                restart: Restart::No,
                stop: false,
                asleep: false,
            }),
            wake: Condvar::new(),
            copied: Condvar::new(),
            pacing,
        });
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("store-checkpoint".into())
                .spawn(move || run(&conn, &shared))
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?
        };
        Ok(Checkpointer {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Called by the writer before it begins a transaction: waits for step
    /// 2 of a restart when one is due (bounded by the pacing's patience).
    pub(super) fn before_commit(&self) {
        let shared = &*self.shared;
        let mut state = shared.lock();
        match state.restart {
            Restart::No if state.log_frames >= shared.pacing.restart_frames => {
                state.restart = Restart::Copying;
                shared.wake.notify_one();
            }
            Restart::Ready => {
                state.restart = Restart::Waiting;
                shared.wake.notify_one();
                let deadline = Instant::now() + shared.pacing.patience;
                while state.restart == Restart::Waiting && !state.stop {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        // Too slow: go on; the checkpointer finishes its copy
                        // and the restart is tried again later.
                        state.restart = Restart::No;
                        state.log_frames = 0;
                        break;
                    }
                    state = shared
                        .copied
                        .wait_timeout(state, left)
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .0;
                }
            }
            _ => {}
        }
    }

    /// Called by the writer after each commit.
    pub(super) fn committed(&self) {
        let mut state = self.shared.lock();
        state.commits += 1;
        state.last_commit = Instant::now();
        if state.asleep {
            self.shared.wake.notify_one();
        }
    }

    /// Stops the thread (after the copy it may be running) and closes its
    /// connection, so that the writer's is the last one.
    pub(super) fn stop(&self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_one();
        self.shared.copied.notify_all();
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the checkpointer does next.
enum Step {
    /// Copy what was committed since the last copy.
    Copy,
    /// Step 1 or 2 of a restart.
    Restart(Restart),
    /// Nothing was committed for a while: empty the log file.
    Truncate,
}

fn run(conn: &Connection, shared: &Shared) {
    let pacing = shared.pacing;
    let mut seen = 0u64;
    let mut last_copy = Instant::now();
    // Whether the log file may hold frames.
    let mut dirty = true;
    loop {
        let step = {
            let mut state = shared.lock();
            loop {
                if state.stop {
                    return;
                }
                if matches!(state.restart, Restart::Copying | Restart::Waiting) {
                    break Step::Restart(state.restart);
                }
                let now = Instant::now();
                let mut wake_at = None;
                if state.commits != seen {
                    dirty = true;
                    let due = last_copy + pacing.interval;
                    if now >= due {
                        seen = state.commits;
                        break Step::Copy;
                    }
                    wake_at = Some(due);
                } else if dirty {
                    let due = state.last_commit + pacing.idle;
                    if now >= due {
                        break Step::Truncate;
                    }
                    wake_at = Some(due);
                }
                state = match wake_at {
                    Some(at) => {
                        shared
                            .wake
                            .wait_timeout(state, at.saturating_duration_since(now))
                            .unwrap_or_else(|poisoned| poisoned.into_inner())
                            .0
                    }
                    None => {
                        state.asleep = true;
                        let mut state = shared
                            .wake
                            .wait(state)
                            .unwrap_or_else(|poisoned| poisoned.into_inner());
                        state.asleep = false;
                        state
                    }
                };
            }
        };
        match step {
            Step::Copy => {
                let frames = checkpoint(conn, "PASSIVE").map(|(_, log, _)| log);
                last_copy = Instant::now();
                if let Some(frames) = frames {
                    shared.lock().log_frames = frames;
                }
            }
            Step::Restart(stage) => {
                checkpoint(conn, "PASSIVE");
                last_copy = Instant::now();
                let mut state = shared.lock();
                if stage == Restart::Copying {
                    if state.restart == Restart::Copying {
                        state.restart = Restart::Ready;
                    }
                } else {
                    state.restart = Restart::No;
                    state.log_frames = 0;
                    shared.copied.notify_all();
                }
            }
            Step::Truncate => {
                // Blocks a writer that starts meanwhile, which is rare: the
                // writer has been idle for a while.
                let done = checkpoint(conn, "TRUNCATE").is_some_and(|(busy, _, _)| busy == 0);
                let mut state = shared.lock();
                if done {
                    dirty = state.commits != seen;
                    state.log_frames = 0;
                    if state.restart == Restart::Ready {
                        state.restart = Restart::No;
                    }
                } else {
                    // A reader holds the log: try again after another idle time.
                    state.last_commit = Instant::now();
                }
            }
        }
    }
}

/// One checkpoint: (busy, frames in the log, frames copied), or None on an
/// error (logged; the next round tries again).
fn checkpoint(conn: &Connection, mode: &str) -> Option<(i64, u64, u64)> {
    let sql = format!("PRAGMA wal_checkpoint({mode})");
    match conn.query_row(&sql, [], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
        ))
    }) {
        Ok((busy, log, copied)) => Some((
            busy,
            u64::try_from(log).unwrap_or(0),
            u64::try_from(copied).unwrap_or(0),
        )),
        Err(e) => {
            log::error!("checkpoint ({mode}) failed: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer in WAL mode without automatic checkpoints, as the backend's.
    fn writer(path: &Path, pacing: &Pacing) -> Connection {
        let conn = Connection::open(path).expect("open");
        conn.execute_batch(&format!(
            "PRAGMA page_size = 1024; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
             PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {};
             CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB);",
            pacing.log_size_limit(1024)
        ))
        .expect("schema");
        conn
    }

    fn commit(conn: &Connection, checkpointer: &Checkpointer, k: i64) {
        checkpointer.before_commit();
        conn.execute(
            "INSERT INTO t (k, v) VALUES (?1, zeroblob(3000))",
            rusqlite::params![k],
        )
        .expect("insert");
        checkpointer.committed();
    }

    fn log_bytes(dir: &Path) -> u64 {
        std::fs::metadata(dir.join("db-wal")).map_or(0, |m| m.len())
    }

    #[test]
    fn a_busy_writer_keeps_its_log_bounded_and_an_idle_one_empties_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db");
        let pacing = Pacing {
            interval: Duration::from_millis(5),
            restart_frames: 200,
            idle: Duration::from_millis(100),
            patience: Duration::from_secs(5),
        };
        let conn = writer(&path, &pacing);
        let checkpointer = Checkpointer::start(&path, "NORMAL", pacing).expect("start");
        // About 4 frames a commit, 2,000 commits at a steady pace: 8,000
        // frames, 40 times the limit.
        let mut sizes = Vec::new();
        for k in 0..2_000 {
            commit(&conn, &checkpointer, k);
            if k % 20 == 19 {
                sizes.push(log_bytes(dir.path()));
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let frame = 1024 + 24;
        let written = 8_000 * frame;
        let starts_over = sizes.windows(2).filter(|w| w[1] < w[0]).count();
        assert!(starts_over >= 3, "the log started over {starts_over} times");
        let last = sizes.last().copied().unwrap_or(0);
        assert!(
            last < written / 4,
            "the log holds {last} bytes of {written} written"
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while log_bytes(dir.path()) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(log_bytes(dir.path()), 0, "an idle writer's log is emptied");
        let count: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .expect("count");
        assert_eq!(count, 2_000);
        checkpointer.stop();
    }
}
