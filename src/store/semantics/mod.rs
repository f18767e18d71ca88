//! The store's semantics, tested on both backends: every test here is a
//! function of an [`Engine`], run once on SQLite (in memory) and once on
//! PostgreSQL (a fresh database of the test server, `postgres/test_cluster`)
//! by [`on_both!`]. What only one engine has (SQLite's file, PostgreSQL's
//! concurrent writers) is tested in that backend's own modules.

pub(super) mod counters;
mod history;
mod plain_sql;
mod routing;
mod search;
mod writes;

use std::ops::Deref;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::DateTime;

use super::{Backend, ListQuery, PostgresBackend, SqliteBackend, Write, WriteOp};
use crate::domain::{ChatMessage, ClientId, ConversationSummary, Role};

/// A backend under test. What the seam does not show (rows of the
/// outbox, an agent to assign) is read and written with [`rows`] and
/// [`exec`]: SQL that must run on both.
pub(super) enum Engine {
    Sqlite(Box<SqliteBackend>),
    Postgres(Box<PostgresBackend>),
}

impl Deref for Engine {
    type Target = dyn Backend;

    fn deref(&self) -> &Self::Target {
        match self {
            Engine::Sqlite(b) => &**b,
            Engine::Postgres(b) => &**b,
        }
    }
}

impl Engine {
    pub(super) fn sqlite() -> Engine {
        Engine::Sqlite(Box::new(
            SqliteBackend::open_in_memory().expect("in-memory SQLite"),
        ))
    }

    pub(super) fn postgres() -> Engine {
        Engine::postgres_at(&super::postgres::test_cluster::fresh_database())
    }

    pub(super) fn postgres_at(url: &str) -> Engine {
        Engine::Postgres(Box::new(
            PostgresBackend::open(url).expect("PostgreSQL opens"),
        ))
    }

    /// A blob literal of `hex` in the engine's SQL.
    pub(super) fn blob(&self, hex: &str) -> String {
        match self {
            Engine::Sqlite(_) => format!("X'{hex}'"),
            Engine::Postgres(_) => format!("decode('{hex}', 'hex')"),
        }
    }
}

/// Runs statements without parameters, through the plain-SQL seam.
pub(super) fn exec(backend: &dyn Backend, sql: &str) {
    backend
        .sql_write(&mut |conn| {
            for statement in sql.split(';').filter(|s| !s.trim().is_empty()) {
                conn.execute(statement, &[])?;
            }
            Ok(())
        })
        .expect("SQL runs");
}

/// The rows of a query whose columns are all text (or NULL).
pub(super) fn rows(backend: &dyn Backend, sql: &str) -> Vec<Vec<Option<String>>> {
    let mut out = Vec::new();
    backend
        .sql_read(&mut |conn| {
            for row in conn.query(sql, &[])? {
                out.push(
                    (0..row.0.len())
                        .map(|i| row.get(i))
                        .collect::<Result<_, _>>()?,
                );
            }
            Ok(())
        })
        .expect("SQL runs");
    out
}

/// Generates, for each named test function of an [`Engine`], a test on
/// SQLite and one on PostgreSQL.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[test] fn $name() { super::$name(&$crate::store::semantics::Engine::sqlite()) })*
        }
        mod on_postgres {
            $(#[test] fn $name() { super::$name(&$crate::store::semantics::Engine::postgres()) })*
        }
    };
}
use on_both;

pub(super) fn client(id: &str) -> ClientId {
    ClientId::parse(id).expect("valid test id")
}

/// A message one second after the previous one of any test, so the list
/// order depends on which conversation moved last.
pub(super) fn message(seq: u64, from: Role) -> WriteOp {
    static CLOCK: AtomicI64 = AtomicI64::new(1_700_000_000_000);
    let ms = CLOCK.fetch_add(1000, Ordering::Relaxed);
    WriteOp::Message(ChatMessage {
        seq,
        from,
        text: format!("message {seq}"),
        ts: DateTime::from_timestamp_millis(ms).expect("valid time"),
        id: Some(format!("id-{seq}")),
        author: None,
        private: false,
        event: None,
        attachments: Vec::new(),
        prev_public: seq - 1,
    })
}

/// A message with its own text.
pub(super) fn saying(seq: u64, from: Role, text: &str) -> WriteOp {
    let WriteOp::Message(mut m) = message(seq, from) else {
        unreachable!("message() makes messages")
    };
    m.text = text.into();
    WriteOp::Message(m)
}

/// Commits `ops` for `id` in one transaction; whether each applied.
pub(super) fn try_commit(backend: &dyn Backend, id: &str, ops: &[WriteOp]) -> Vec<bool> {
    let client = client(id);
    let writes: Vec<Write<'_>> = ops
        .iter()
        .map(|op| Write {
            client: &client,
            op,
        })
        .collect();
    backend.commit_batch(&writes).expect("commit")
}

/// Commits `ops` for `id` in one transaction; all must apply.
pub(super) fn commit(backend: &dyn Backend, id: &str, ops: &[WriteOp]) {
    let accepted = try_commit(backend, id, ops);
    assert!(
        accepted.iter().all(|&ok| ok),
        "every write applies: {ops:?} gave {accepted:?}"
    );
}

/// Every page of the list, through its cursors.
pub(super) fn all_summaries(backend: &dyn Backend, query: ListQuery) -> Vec<ConversationSummary> {
    let mut query = ListQuery { limit: 7, ..query };
    let mut out = Vec::new();
    loop {
        let page = backend.summaries(&query).expect("list page");
        out.extend(page.items);
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return out,
        }
    }
}

pub(super) fn ids(summaries: &[ConversationSummary]) -> Vec<String> {
    summaries
        .iter()
        .map(|s| s.client_id.as_str().to_owned())
        .collect()
}
