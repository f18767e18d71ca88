//! The backend's connections: a fixed set for reads that readers wait for,
//! and the writer's one. A connection found broken (the server restarted)
//! is dropped and a new one made on the next use, so the backend recovers
//! by itself once PostgreSQL is back; until then every use fails with
//! `StoreError::Backend`.

use std::sync::{Condvar, Mutex, MutexGuard};

use tokio_postgres::Config;

use super::conn::{Conn, Driver};
use crate::store::StoreError;

/// Lends connections, opening them when first needed.
pub(super) struct Pool {
    config: Config,
    driver: Driver,
    state: Mutex<State>,
    returned: Condvar,
    size: usize,
}

struct State {
    /// Free slots; `None` is a slot whose connection is not open (yet, or
    /// any more).
    idle: Vec<Option<Conn>>,
    closed: bool,
}

impl Pool {
    pub(super) fn new(config: Config, driver: Driver, size: usize) -> Pool {
        Pool {
            config,
            driver,
            state: Mutex::new(State {
                idle: (0..size).map(|_| None).collect(),
                closed: false,
            }),
            returned: Condvar::new(),
            size,
        }
    }

    pub(super) fn size(&self) -> usize {
        self.size
    }

    /// A new connection outside the pool (the writer's, migrations).
    pub(super) fn connect(&self) -> Result<Conn, StoreError> {
        self.driver.connect(&self.config)
    }

    /// Runs `f` on a pooled connection, waiting for a free slot.
    pub(super) fn with<T>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut state = self.lock()?;
        let slot = loop {
            if state.closed {
                return Err(StoreError::Backend("store is closed".into()));
            }
            if let Some(slot) = state.idle.pop() {
                break slot;
            }
            state = self.returned.wait(state).map_err(|_| poisoned())?;
        };
        drop(state);
        // Given back by the guard even if `f` panics, so no slot is lost.
        let mut lease = Lease {
            pool: self,
            conn: slot.filter(|c| !c.is_broken()),
        };
        if lease.conn.is_none() {
            lease.conn = Some(self.connect()?);
        }
        let conn = lease.conn.as_mut().ok_or_else(closed)?;
        f(conn)
    }

    /// Refuses new reads and closes the idle connections.
    pub(super) fn close(&self) {
        if let Ok(mut state) = self.lock() {
            state.closed = true;
            state.idle.clear();
        }
        self.returned.notify_all();
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        self.state.lock().map_err(|_| poisoned())
    }
}

fn poisoned() -> StoreError {
    StoreError::Backend("store lock poisoned".into())
}

fn closed() -> StoreError {
    StoreError::Backend("store is closed".into())
}

struct Lease<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let conn = self.conn.take().filter(|c| !c.is_broken());
        if let Ok(mut state) = self.pool.state.lock() {
            if !state.closed {
                state.idle.push(conn);
            }
        }
        self.pool.returned.notify_one();
    }
}

/// The writer's connection, replaced when broken.
pub(super) struct WriterSlot {
    conn: Mutex<Option<Conn>>,
    closed: Mutex<bool>,
}

impl WriterSlot {
    pub(super) fn new(conn: Conn) -> WriterSlot {
        WriterSlot {
            conn: Mutex::new(Some(conn)),
            closed: Mutex::new(false),
        }
    }

    /// Runs `f` on the write connection (opened anew through `pool` if it
    /// broke).
    pub(super) fn with<T>(
        &self,
        pool: &Pool,
        f: impl FnOnce(&mut Conn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut slot = self.conn.lock().map_err(|_| poisoned())?;
        if *self.closed.lock().map_err(|_| poisoned())? {
            return Err(closed());
        }
        if slot.as_ref().is_none_or(Conn::is_broken) {
            *slot = None;
            *slot = Some(pool.connect()?);
        }
        let conn = slot.as_mut().ok_or_else(closed)?;
        let out = f(conn);
        if conn.is_broken() {
            *slot = None;
        }
        out
    }

    pub(super) fn close(&self) {
        if let Ok(mut closed) = self.closed.lock() {
            *closed = true;
        }
        if let Ok(mut slot) = self.conn.lock() {
            *slot = None;
        }
    }
}
