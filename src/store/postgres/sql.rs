//! [`SqlConn`] on a PostgreSQL connection: the store's portable SQL (see
//! `store/sql.rs`) as PostgreSQL runs it. Placeholders `?1` become `$1`;
//! parameters take the type the server inferred for them (a flag meets a
//! BIGINT column as 0/1); columns come back as engine-neutral values.
//!
//! Writes run in one transaction that first takes a cluster-wide advisory
//! lock: plain-SQL writes of all nodes then follow one another, as they
//! do on SQLite's one write connection, so the rules they check before
//! writing (the last admin, the setup code, an upload's quota) hold across
//! nodes without a retry loop.

use std::borrow::Cow;
use std::cell::RefCell;
use std::error::Error as StdError;

use bytes::BytesMut;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};

use super::conn::{block_on, Conn};
use crate::store::sql::{Param, Row, SqlConn, SqlError, Value};
use crate::store::StoreError;

/// Key of the advisory lock plain-SQL writes hold ("sc-sqlw").
const SQL_WRITE_LOCK: i64 = 0x0073_632d_7371_6c77;

pub(super) struct PgConn<'c>(RefCell<&'c mut Conn>);

impl SqlConn for PgConn<'_> {
    fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<usize, SqlError> {
        let sql = dollar_placeholders(sql);
        let binds = binds(params);
        let mut conn = self.0.borrow_mut();
        let changed = block_on(conn.execute(&sql, &binds)).map_err(sql_err)?;
        usize::try_from(changed).map_err(|e| SqlError::Engine(e.to_string()))
    }

    fn query(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, SqlError> {
        let sql = dollar_placeholders(sql);
        let binds = binds(params);
        let mut conn = self.0.borrow_mut();
        let rows = block_on(conn.query(&sql, &binds)).map_err(sql_err)?;
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| row.try_get::<_, Column>(i).map(|c| c.0))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Row)
                    .map_err(sql_err)
            })
            .collect()
    }
}

/// Runs `f` on `conn` outside any transaction (reads).
pub(super) fn read(
    conn: &mut Conn,
    f: impl FnOnce(&dyn SqlConn) -> Result<(), SqlError>,
) -> Result<(), StoreError> {
    f(&PgConn(RefCell::new(conn))).map_err(StoreError::from)
}

/// Runs `f` in one transaction on `conn`, after the other nodes' plain-SQL
/// writes: committed if `f` succeeds, rolled back if it fails.
pub(super) fn write(
    conn: &mut Conn,
    f: impl FnOnce(&dyn SqlConn) -> Result<(), SqlError>,
) -> Result<(), StoreError> {
    block_on(conn.batch("BEGIN"))?;
    let done = {
        let sql = PgConn(RefCell::new(&mut *conn));
        sql.execute(
            "SELECT pg_advisory_xact_lock(?1)",
            &[Param::Int(SQL_WRITE_LOCK)],
        )
        .and_then(|_| f(&sql))
    };
    match done {
        Ok(()) => Ok(block_on(conn.batch("COMMIT"))?),
        Err(e) => {
            // A broken connection is replaced by the pool; a live one must
            // not keep the failed transaction open.
            let _ = block_on(conn.batch("ROLLBACK"));
            Err(e.into())
        }
    }
}

/// `?1` → `$1` outside quoted text and identifiers.
fn dollar_placeholders(sql: &str) -> Cow<'_, str> {
    if !sql.contains('?') {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let mut quote = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '?') if chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push('$');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    Cow::Owned(out)
}

fn binds<'p>(params: &'p [Param<'_>]) -> Vec<&'p (dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

/// The server's own message where there is one (the client's `Display`
/// says only "db error").
fn sql_err(e: tokio_postgres::Error) -> SqlError {
    let Some(db) = e.as_db_error() else {
        return SqlError::Engine(format!("PostgreSQL: {e}"));
    };
    let message = format!("PostgreSQL: {} ({})", db.message(), db.code().code());
    if *db.code() == SqlState::UNIQUE_VIOLATION {
        SqlError::Unique(message)
    } else {
        SqlError::Engine(message)
    }
}

type BoxError = Box<dyn StdError + Sync + Send>;

/// A parameter meets the type the server inferred from its use.
impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match *self {
            Param::Null => Ok(IsNull::Yes),
            Param::Int(i) => int_to_sql(i, ty, out),
            Param::Bool(b) if *ty == Type::BOOL => b.to_sql(ty, out),
            Param::Bool(b) => int_to_sql(i64::from(b), ty, out),
            Param::Text(s) => s.to_sql(ty, out),
            Param::Bytes(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn int_to_sql(i: i64, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    match *ty {
        Type::INT8 => i.to_sql(ty, out),
        Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
        Type::INT2 => i16::try_from(i)?.to_sql(ty, out),
        Type::BOOL => (i != 0).to_sql(ty, out),
        _ => Err(format!("an integer cannot be bound as {ty}").into()),
    }
}

/// One column, whatever its type.
struct Column(Value);

impl<'a> FromSql<'a> for Column {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Column, BoxError> {
        Ok(Column(match *ty {
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Value::Int(i16::from_sql(ty, raw)?.into()),
            Type::BOOL => Value::Bool(bool::from_sql(ty, raw)?),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Value::Real(f32::from_sql(ty, raw)?.into()),
            Type::BYTEA => Value::Bytes(raw.to_vec()),
            // TEXT, VARCHAR, NAME and CITEXT are UTF-8 text on the wire.
            _ if <&str as FromSql>::accepts(ty) => Value::Text(String::from_utf8(raw.to_vec())?),
            _ => return Err(format!("column type {ty} is not read by plain SQL").into()),
        }))
    }

    fn from_sql_null(_: &Type) -> Result<Column, BoxError> {
        Ok(Column(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_placeholders_become_dollars_outside_quotes() {
        assert_eq!(
            dollar_placeholders("SELECT ?1, '?2', \"a?3\" WHERE x = ?12 AND y = ?"),
            "SELECT $1, '?2', \"a?3\" WHERE x = $12 AND y = ?"
        );
        assert!(matches!(dollar_placeholders("SELECT 1"), Cow::Borrowed(_)));
    }
}
