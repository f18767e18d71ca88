//! The PostgreSQL backend (`--database-url postgres://…`), for several
//! nodes sharing one database: the same tables and semantics as the SQLite
//! backend (`schema.rs` says where and why they differ), a fixed pool of
//! read connections and one write connection (`pool.rs`), reads in
//! `read.rs` and `queue.rs`, the writer's transaction in `write.rs` (the
//! messages it stores in `messages.rs`), full-text search in `search.rs`.
//!
//! Every node writes. What keeps each conversation's seqs gapless and
//! unique across nodes is the writer's transaction: it locks the batch's
//! conversation rows (in client-id order, so two nodes never deadlock) and
//! stores a message only if it follows the stored last seq and its client
//! message id is new. A commit is acknowledged once PostgreSQL says it is
//! committed (`synchronous_commit = on`).

mod conn;
mod import;
mod messages;
mod pool;
mod queue;
mod read;
mod schema;
mod search;
mod sql;
mod write;

#[cfg(test)]
mod import_tests;
#[cfg(test)]
pub(crate) mod test_cluster;
#[cfg(test)]
mod tests;

use std::str::FromStr;

use tokio_postgres::Config;

use super::{
    Backend, ListPage, ListQuery, SearchPage, SearchQuery, Snapshot, SqlFn, StoreError, Write,
};
use crate::domain::{
    AgentId, AssigneeCounts, ChatMessage, ClientId, ConversationStatus, ConversationSummary, Role,
    Totals,
};
use conn::{block_on, Conn, Driver};
use pool::{Pool, WriterSlot};

pub use import::{migrate_sqlite_to_postgres, ImportError, Imported};
pub use schema::PG_SCHEMA_VERSION;

/// Read connections per node. Reads are short index walks; the server
/// does the work, so a few connections keep it busy without crowding its
/// connection limit when many nodes run.
const READ_CONNECTIONS: usize = 4;

/// Why the PostgreSQL database could not be opened. Messages never show
/// the URL's password.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("--database-url is not a valid PostgreSQL URL: {0}")]
    Url(String),
    #[error("cannot start the PostgreSQL client: {0}")]
    Runtime(std::io::Error),
    #[error("{0}; check --database-url and that PostgreSQL is running")]
    Connect(StoreError),
    #[error("the PostgreSQL database holds {tables} tables of another application; the server will not start over it: give support-chat a database of its own")]
    Foreign { tables: i64 },
    #[error("the PostgreSQL database was written by a newer support-chat (schema {found}, this build knows {PG_SCHEMA_VERSION}); upgrade support-chat")]
    TooNew { found: i64 },
    #[error("PostgreSQL refused the schema migration: {}", describe(.0))]
    Sql(#[from] tokio_postgres::Error),
}

pub struct PostgresBackend {
    reads: Pool,
    writer: WriterSlot,
}

impl PostgresBackend {
    /// Connects to the database at `url` and brings its schema up to date
    /// (waiting for another node doing so).
    pub fn open(url: &str) -> Result<PostgresBackend, OpenError> {
        let config = Config::from_str(url).map_err(|e| OpenError::Url(e.to_string()))?;
        let driver = Driver::start().map_err(OpenError::Runtime)?;
        let reads = Pool::new(config, driver, READ_CONNECTIONS);
        let mut conn = reads.connect().map_err(OpenError::Connect)?;
        block_on(schema::migrate(&mut conn))?;
        Ok(PostgresBackend {
            reads,
            writer: WriterSlot::new(conn),
        })
    }

    /// Runs an async read on a pooled connection.
    fn read<T>(
        &self,
        f: impl AsyncFnOnce(&mut Conn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.reads.with(|conn| block_on(f(conn)))
    }

    /// Runs `f` on the write connection.
    fn write<T>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.writer.with(&self.reads, f)
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> StoreError {
        StoreError::Backend(format!("PostgreSQL: {}", describe(&e)))
    }
}

/// The server's own message for a database error (the error's Display
/// says only "db error"), else the client's.
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => match std::error::Error::source(e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        },
    }
}

/// A stored value this build cannot read back.
fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("PostgreSQL holds an unreadable value: {what}"))
}

/// A seq or count as a BIGINT parameter; past `i64::MAX` it saturates (no
/// stored seq comes near it).
fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Backend for PostgresBackend {
    fn load(&self, client: &ClientId, recent: usize) -> Result<Snapshot, StoreError> {
        self.read(async |conn| read::load(conn, client, recent).await)
    }

    fn before(
        &self,
        client: &ClientId,
        before: u64,
        limit: usize,
        reader: Role,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        self.read(async |conn| read::before(conn, client, before, limit, reader).await)
    }

    fn after(
        &self,
        client: &ClientId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        self.read(async |conn| read::after(conn, client, after, limit).await)
    }

    fn find_by_client_id(
        &self,
        client: &ClientId,
        role: Role,
        id: &str,
    ) -> Result<Option<ChatMessage>, StoreError> {
        self.read(async |conn| read::find_by_client_id(conn, client, role, id).await)
    }

    fn summaries(&self, query: &ListQuery) -> Result<ListPage, StoreError> {
        let plan = read::ListPlan::new(query)?;
        self.read(async |conn| plan.run(conn).await)
    }

    fn summaries_of(&self, clients: &[ClientId]) -> Result<Vec<ConversationSummary>, StoreError> {
        self.read(async |conn| read::summaries_of(conn, clients).await)
    }

    fn totals(&self) -> Result<Totals, StoreError> {
        self.read(async |conn| read::totals(conn).await)
    }

    fn queue(&self, limit: usize) -> Result<Vec<ClientId>, StoreError> {
        self.read(async |conn| queue::queue(conn, limit).await)
    }

    fn search(&self, query: &SearchQuery) -> Result<SearchPage, StoreError> {
        self.read(async |conn| search::search(conn, query).await)
    }

    fn assigned_to(&self, agent: AgentId) -> Result<Vec<ClientId>, StoreError> {
        self.read(async |conn| queue::assigned_to(conn, agent).await)
    }

    fn assignee_counts(
        &self,
        status: Option<ConversationStatus>,
    ) -> Result<AssigneeCounts, StoreError> {
        self.read(async |conn| queue::assignee_counts(conn, status).await)
    }

    fn commit_batch(&self, writes: &[Write<'_>]) -> Result<Vec<bool>, StoreError> {
        self.write(|conn| block_on(write::commit(conn, writes)))
    }

    fn read_slots(&self) -> usize {
        self.reads.size()
    }

    fn sql_read(&self, f: &mut SqlFn<'_>) -> Result<(), StoreError> {
        self.reads.with(|conn| sql::read(conn, f))
    }

    /// On a pooled connection, not the writer's: a plain-SQL write may
    /// wait for another node's (see `sql.rs`), and the group commit must
    /// not wait with it.
    fn sql_write(&self, f: &mut SqlFn<'_>) -> Result<(), StoreError> {
        self.reads.with(|conn| sql::write(conn, f))
    }

    /// Asks the server itself (a pooled connection, reopened if broken).
    fn probe(&self) -> Result<(), StoreError> {
        self.read(async |conn| Ok(conn.query_one("SELECT 1", &[]).await.map(drop)?))
    }

    fn close(&self) -> Result<(), StoreError> {
        self.reads.close();
        self.writer.close();
        Ok(())
    }
}
