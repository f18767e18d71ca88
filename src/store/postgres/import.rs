//! `support-chat migrate-sqlite-to-postgres`: copies a single-node
//! installation (the SQLite database of a data directory) into an empty
//! PostgreSQL database, every table the two schemas share (conversations,
//! messages, contacts, accounts, sessions, tokens, labels, saved replies,
//! the audit log, files, the outbox, reply addresses, server keys), in one
//! transaction: all of it or nothing. What PostgreSQL computes itself (the
//! list's order, the search index, the totals) is computed there.

use std::path::Path;
use std::str::FromStr;

use rusqlite::types::ValueRef;
use rusqlite::OpenFlags;
use tokio_postgres::types::ToSql;
use tokio_postgres::Config;

use super::conn::{block_on, Conn, Driver};
use super::{schema, OpenError};
use crate::store::{Backend, Durability, SqliteBackend, StartupError, StoreError};

/// Tables copied, parents before the rows that refer to them.
const TABLES: &[&str] = &[
    "agents",
    "sessions",
    "invites",
    "setup_codes",
    "api_tokens",
    "conversations",
    "messages",
    "contacts",
    "saved_replies",
    "labels",
    "conversation_labels",
    "audit_log",
    "attachments",
    "outbox",
    "reply_tokens",
    "server_secrets",
];

/// Tables whose ids PostgreSQL numbers (identity columns): their counters
/// move past the copied ids.
const NUMBERED: &[&str] = &[
    "agents",
    "sessions",
    "api_tokens",
    "saved_replies",
    "labels",
    "audit_log",
    "outbox",
];

/// The SQLite file of a data directory (as `sqlite/mod.rs` names it).
const SQLITE_FILE: &str = "support-chat.db";

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Source(#[from] StartupError),
    #[error("cannot read {what} of the SQLite database: {source}")]
    Read {
        what: String,
        source: rusqlite::Error,
    },
    #[error("cannot close the SQLite database: {0}")]
    Close(StoreError),
    #[error(transparent)]
    Target(#[from] OpenError),
    #[error("the PostgreSQL database already holds {0}; migrate into an empty database")]
    NotEmpty(String),
    #[error("{table}: {reason}")]
    Value { table: String, reason: String },
    #[error("copied {table}: {copied} rows, but the source has {expected}; nothing was kept")]
    Count {
        table: String,
        copied: i64,
        expected: i64,
    },
}

/// Rows copied per table.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Imported {
    pub tables: Vec<(&'static str, i64)>,
}

/// Copies the SQLite database of `data_dir` into the PostgreSQL database
/// at `url` (migrated first, and refused unless empty). The data
/// directory stays locked, so no server writes to it meanwhile; the SQLite
/// file itself is left as it was (migrated to this build's schema).
pub fn migrate_sqlite_to_postgres(data_dir: &Path, url: &str) -> Result<Imported, ImportError> {
    // Opening takes the lock, migrates the file to this build's schema and
    // refuses damaged ones; closing it copies its log into the file.
    let (sqlite, _lock) = SqliteBackend::open(data_dir, Durability::Normal)?;
    sqlite.close().map_err(ImportError::Close)?;
    drop(sqlite);
    let path = data_dir.join(SQLITE_FILE);
    let source = rusqlite::Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|source| ImportError::Read {
            what: path.display().to_string(),
            source,
        })?;

    let config = Config::from_str(url).map_err(|e| OpenError::Url(e.to_string()))?;
    let driver = Driver::start().map_err(OpenError::Runtime)?;
    let mut target = driver.connect(&config).map_err(OpenError::Connect)?;
    block_on(schema::migrate(&mut target))?;
    block_on(async {
        target.batch("BEGIN").await.map_err(OpenError::Sql)?;
        let copied = copy_all(&source, &mut target).await;
        let end = if copied.is_ok() { "COMMIT" } else { "ROLLBACK" };
        target.batch(end).await.map_err(OpenError::Sql)?;
        copied
    })
}

async fn copy_all(
    source: &rusqlite::Connection,
    target: &mut Conn,
) -> Result<Imported, ImportError> {
    for table in ["conversations", "agents"] {
        let rows: i64 = target
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .map_err(OpenError::Sql)?
            .get(0);
        if rows > 0 {
            return Err(ImportError::NotEmpty(format!("{rows} {table}")));
        }
    }
    let mut imported = Imported::default();
    for &table in TABLES {
        let copied = copy_table(source, target, table).await?;
        imported.tables.push((table, copied));
    }
    for table in NUMBERED {
        target
            .query(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                                   coalesce(max(id), 0) + 1, false) FROM {table}"
                ),
                &[],
            )
            .await
            .map_err(OpenError::Sql)?;
    }
    Ok(imported)
}

/// A value of one column, typed as the PostgreSQL column takes it.
type Value = Box<dyn ToSql + Sync + Send>;

async fn copy_table(
    source: &rusqlite::Connection,
    target: &mut Conn,
    table: &'static str,
) -> Result<i64, ImportError> {
    // The target's stored columns (not its generated ones), all present in
    // the source's schema of this build.
    let columns: Vec<(String, String)> = target
        .query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1
               AND is_generated = 'NEVER' ORDER BY ordinal_position",
            &[&table],
        )
        .await
        .map_err(OpenError::Sql)?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
    let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
    let insert = format!(
        "INSERT INTO {table} ({}) OVERRIDING SYSTEM VALUE VALUES ({})",
        names.join(", "),
        placeholders.join(", ")
    );
    let read = |source| ImportError::Read {
        what: table.into(),
        source,
    };
    let mut select = source
        .prepare(&format!("SELECT {} FROM {table}", names.join(", ")))
        .map_err(read)?;
    let mut rows = select.query([]).map_err(read)?;
    let mut copied = 0;
    while let Some(row) = rows.next().map_err(read)? {
        let values = columns
            .iter()
            .enumerate()
            .map(|(i, (name, kind))| {
                let value = row.get_ref(i).map_err(read)?;
                typed(value, kind).map_err(|reason| ImportError::Value {
                    table: table.into(),
                    reason: format!("column {name}: {reason}"),
                })
            })
            .collect::<Result<Vec<Value>, _>>()?;
        let params: Vec<&(dyn ToSql + Sync)> =
            values.iter().map(|v| &**v as &(dyn ToSql + Sync)).collect();
        target
            .execute(&insert, &params)
            .await
            .map_err(OpenError::Sql)?;
        copied += 1;
    }
    let expected: i64 = source
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .map_err(read)?;
    if copied != expected {
        return Err(ImportError::Count {
            table: table.into(),
            copied,
            expected,
        });
    }
    Ok(copied)
}

/// `value` as the PostgreSQL column of type `kind` takes it.
fn typed(value: ValueRef<'_>, kind: &str) -> Result<Value, String> {
    Ok(match (kind, value) {
        ("bigint", ValueRef::Null) => Box::new(None::<i64>),
        ("bigint", ValueRef::Integer(v)) => Box::new(v),
        ("bytea", ValueRef::Null) => Box::new(None::<Vec<u8>>),
        ("bytea", ValueRef::Blob(b)) => Box::new(b.to_vec()),
        // text, and citext (USER-DEFINED)
        (_, ValueRef::Null) => Box::new(None::<String>),
        (_, ValueRef::Text(t)) => Box::new(
            std::str::from_utf8(t)
                .map_err(|e| format!("text that is not UTF-8 ({e})"))?
                .to_owned(),
        ),
        (kind, other) => {
            return Err(format!(
                "a {:?} value for a {kind} column",
                other.data_type()
            ))
        }
    })
}
