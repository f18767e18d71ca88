//! A fixed set of read-only connections that readers wait for, instead of
//! one new connection per thread.

use std::path::Path;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::store::StoreError;

pub(super) struct ReadPool {
    state: Mutex<PoolState>,
    returned: Condvar,
    size: usize,
}

struct PoolState {
    idle: Vec<Connection>,
    /// Connections lent out right now.
    leased: usize,
    closed: bool,
}

impl ReadPool {
    /// Opens `size` read-only connections to the database at `path`.
    pub(super) fn open(path: &Path, size: usize) -> rusqlite::Result<ReadPool> {
        let idle = (0..size)
            .map(|_| {
                let conn = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                conn.busy_timeout(Duration::from_secs(5))?;
                Ok(conn)
            })
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(ReadPool {
            state: Mutex::new(PoolState {
                idle,
                leased: 0,
                closed: false,
            }),
            returned: Condvar::new(),
            size,
        })
    }

    pub(super) fn size(&self) -> usize {
        self.size
    }

    /// Runs `f` on a connection, waiting for one to be free.
    pub(super) fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let mut state = self.lock()?;
        let conn = loop {
            if state.closed {
                return Err(StoreError::Backend("store is closed".into()));
            }
            if let Some(conn) = state.idle.pop() {
                state.leased += 1;
                break conn;
            }
            state = self.returned.wait(state).map_err(|_| poisoned())?;
        };
        drop(state);
        // Returned by the guard even if `f` panics, so the pool never shrinks.
        let lease = Lease {
            pool: self,
            conn: Some(conn),
        };
        let conn = lease
            .conn
            .as_ref()
            .expect("a lease holds its connection until dropped");
        f(conn).map_err(|e| StoreError::Backend(e.to_string()))
    }

    /// Refuses new reads, closes the idle connections and waits up to
    /// `patience` for the running reads, whose connections close when they
    /// come back.
    pub(super) fn close(&self, patience: Duration) {
        let Ok(mut state) = self.lock() else { return };
        state.closed = true;
        let deadline = Instant::now() + patience;
        state.idle.clear();
        while state.leased > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                log::warn!("closing the store with reads still running");
                break;
            }
            match self.returned.wait_timeout(state, left) {
                Ok((next, _)) => state = next,
                Err(_) => return,
            }
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, PoolState>, StoreError> {
        self.state.lock().map_err(|_| poisoned())
    }
}

fn poisoned() -> StoreError {
    StoreError::Backend("store lock poisoned".into())
}

struct Lease<'a> {
    pool: &'a ReadPool,
    conn: Option<Connection>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let (Some(conn), Ok(mut state)) = (self.conn.take(), self.pool.state.lock()) else {
            return;
        };
        state.leased -= 1;
        if !state.closed {
            state.idle.push(conn);
        }
        drop(state);
        self.pool.returned.notify_all();
    }
}
