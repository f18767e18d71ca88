//! [`SqlConn`] on a SQLite connection: the store's portable SQL as SQLite
//! runs it (placeholders `?1` are SQLite's own; statements are cached on
//! the connection).

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode, ToSql};

use crate::store::sql::{Param, Row, SqlConn, SqlError, Value};

pub(super) struct SqliteConn<'c>(pub(super) &'c Connection);

impl SqlConn for SqliteConn<'_> {
    fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<usize, SqlError> {
        let mut stmt = self.0.prepare_cached(sql).map_err(sql_err)?;
        stmt.execute(rusqlite::params_from_iter(params.iter().map(Bind)))
            .map_err(sql_err)
    }

    fn query(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, SqlError> {
        let mut stmt = self.0.prepare_cached(sql).map_err(sql_err)?;
        let columns = stmt.column_count();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params.iter().map(Bind)))
            .map_err(sql_err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(sql_err)? {
            let values = (0..columns)
                .map(|i| row.get_ref(i).map(value))
                .collect::<rusqlite::Result<_>>()
                .map_err(sql_err)?;
            out.push(Row(values));
        }
        Ok(out)
    }
}

/// Runs `f` in one transaction on `conn`: committed if `f` succeeds,
/// rolled back if it fails.
pub(super) fn in_transaction(
    conn: &Connection,
    f: impl FnOnce(&dyn SqlConn) -> Result<(), SqlError>,
) -> Result<(), SqlError> {
    let tx = conn.unchecked_transaction().map_err(sql_err)?;
    f(&SqliteConn(&tx))?;
    tx.commit().map_err(sql_err)
}

struct Bind<'p, 'a>(&'p Param<'a>);

impl ToSql for Bind<'_, '_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self.0 {
            Param::Null => ValueRef::Null,
            Param::Int(i) => ValueRef::Integer(i),
            Param::Bool(b) => ValueRef::Integer(i64::from(b)),
            Param::Text(s) => ValueRef::Text(s.as_bytes()),
            Param::Bytes(b) => ValueRef::Blob(b),
        }))
    }
}

fn value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    }
}

pub(super) fn sql_err(e: rusqlite::Error) -> SqlError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == ErrorCode::ConstraintViolation
                && matches!(
                    f.extended_code,
                    rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                        | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                ) =>
        {
            SqlError::Unique(e.to_string())
        }
        _ => SqlError::Engine(e.to_string()),
    }
}
