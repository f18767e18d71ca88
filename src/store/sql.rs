//! Plain SQL that runs on every engine of the store.
//!
//! The small tables beside the conversations (accounts, the desk, the mail
//! outbox, attachments, the audit log) are read and written with plain SQL
//! instead of operations of their own on [`Backend`](super::Backend). That
//! SQL is written once, in the subset SQLite and PostgreSQL share:
//! numbered placeholders `?1`, `?2`… (a backend rewrites them for its
//! engine), `ON CONFLICT … DO NOTHING/UPDATE`, `RETURNING` for new ids,
//! `COALESCE`, `EXISTS`, `string_agg`, `count(*) FILTER (…)`, `IS DISTINCT
//! FROM`, and `CAST(… AS BIGINT)` around an aggregate whose type would
//! differ. Not `INSERT OR IGNORE`, `IFNULL`, `GLOB`, `strftime`,
//! `last_insert_rowid()` or `COLLATE`: columns compared whatever their case
//! say so in each schema (`COLLATE NOCASE` in SQLite, `CITEXT` in
//! PostgreSQL), so `=` and `ORDER BY` on them need nothing more. Flags are
//! integers 0 and 1 in both schemas.
//!
//! Callers run it through [`Store::read_sql`] and [`Store::write_sql`]
//! (each write one transaction) or their `_now` forms on their own thread;
//! a backend hands the SQL a [`SqlConn`]; parameters are typed [`Param`]s
//! and rows come back as engine-neutral [`Row`]s, so a flag stored as an
//! integer by one engine and a boolean by the other reads the same through
//! [`Row::get`]. A placeholder used in several places must meet the same
//! type in each (PostgreSQL infers one type per parameter). Every statement
//! of the callers fits the common subset, so there is no dialect switch; a
//! statement that truly cannot would get one here, on [`SqlConn`], not in
//! its caller.

use std::future::Future;

use super::{Backend, Store, StoreError};

/// A connection (for writes: inside the transaction `sql_write` opened).
/// Methods take `&self` so helpers can share one connection freely.
pub trait SqlConn {
    /// Runs one statement; returns how many rows it changed.
    fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<usize, SqlError>;
    /// Every row of one statement.
    fn query(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, SqlError>;
}

impl dyn SqlConn + '_ {
    /// Every row of `sql`, each through `f`.
    pub fn query_map<T>(
        &self,
        sql: &str,
        params: &[Param<'_>],
        f: impl FnMut(&Row) -> Result<T, SqlError>,
    ) -> Result<Vec<T>, SqlError> {
        self.query(sql, params)?.iter().map(f).collect()
    }

    /// The first row of `sql` through `f`, if there is one.
    pub fn query_opt<T>(
        &self,
        sql: &str,
        params: &[Param<'_>],
        f: impl FnOnce(&Row) -> Result<T, SqlError>,
    ) -> Result<Option<T>, SqlError> {
        self.query(sql, params)?.first().map(f).transpose()
    }

    /// The first row of `sql` through `f`; [`SqlError::NoRow`] without one.
    pub fn query_row<T>(
        &self,
        sql: &str,
        params: &[Param<'_>],
        f: impl FnOnce(&Row) -> Result<T, SqlError>,
    ) -> Result<T, SqlError> {
        self.query_opt(sql, params, f)?.ok_or(SqlError::NoRow)
    }
}

/// What [`Backend::sql_read`](super::Backend::sql_read) and
/// [`Backend::sql_write`](super::Backend::sql_write) run.
pub type SqlFn<'a> = dyn FnMut(&dyn SqlConn) -> Result<(), SqlError> + 'a;

impl Store {
    /// Plain SQL on a read connection, off the actor threads.
    pub fn read_sql<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn SqlConn) -> Result<T, SqlError> + Send + 'static,
    ) -> impl Future<Output = Result<T, StoreError>> + 'static {
        self.blocking(move |backend| run_sql(backend, false, f))
    }

    /// Plain SQL in a write transaction, off the actor threads.
    pub fn write_sql<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn SqlConn) -> Result<T, SqlError> + Send + 'static,
    ) -> impl Future<Output = Result<T, StoreError>> + 'static {
        self.blocking(move |backend| run_sql(backend, true, f))
    }

    /// Like [`Store::read_sql`], on the calling thread (for the mail
    /// sender's own thread).
    pub fn read_sql_now<T>(
        &self,
        f: impl FnOnce(&dyn SqlConn) -> Result<T, SqlError>,
    ) -> Result<T, StoreError> {
        run_sql(&*self.backend, false, f)
    }

    /// Like [`Store::write_sql`], on the calling thread (for start-up and
    /// the mail sender's own thread).
    pub fn write_sql_now<T>(
        &self,
        f: impl FnOnce(&dyn SqlConn) -> Result<T, SqlError>,
    ) -> Result<T, StoreError> {
        run_sql(&*self.backend, true, f)
    }
}

/// Runs `f` once through the backend's SQL access and returns its result.
fn run_sql<T>(
    backend: &dyn Backend,
    write: bool,
    f: impl FnOnce(&dyn SqlConn) -> Result<T, SqlError>,
) -> Result<T, StoreError> {
    let mut f = Some(f);
    let mut out = None;
    {
        let mut call = |conn: &dyn SqlConn| {
            if let Some(f) = f.take() {
                out = Some(f(conn)?);
            }
            Ok(())
        };
        if write {
            backend.sql_write(&mut call)?;
        } else {
            backend.sql_read(&mut call)?;
        }
    }
    out.ok_or_else(|| StoreError::Backend("the store ran no SQL".into()))
}

/// Why SQL failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqlError {
    /// A unique constraint refused the write (a name already taken).
    #[error("unique constraint violated: {0}")]
    Unique(String),
    /// `query_row` found no row.
    #[error("the query returned no row")]
    NoRow,
    /// A column did not hold what the code reads from it.
    #[error("column {column}: {problem}")]
    Type { column: usize, problem: String },
    #[error("{0}")]
    Engine(String),
}

impl From<SqlError> for StoreError {
    fn from(e: SqlError) -> StoreError {
        match e {
            SqlError::Unique(what) => StoreError::Taken(what),
            other => StoreError::Backend(other.to_string()),
        }
    }
}

/// A parameter. Integers and flags adapt to the column they meet (a flag
/// binds as a boolean where the engine stores one, else as 0 or 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Param<'a> {
    Null,
    Int(i64),
    Bool(bool),
    Text(&'a str),
    Bytes(&'a [u8]),
}

impl From<i64> for Param<'_> {
    fn from(v: i64) -> Self {
        Param::Int(v)
    }
}

impl From<&i64> for Param<'_> {
    fn from(v: &i64) -> Self {
        Param::Int(*v)
    }
}

impl From<u32> for Param<'_> {
    fn from(v: u32) -> Self {
        Param::Int(i64::from(v))
    }
}

impl From<u8> for Param<'_> {
    fn from(v: u8) -> Self {
        Param::Int(i64::from(v))
    }
}

impl From<bool> for Param<'_> {
    fn from(v: bool) -> Self {
        Param::Bool(v)
    }
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(v: &'a str) -> Self {
        Param::Text(v)
    }
}

impl<'a> From<&'a String> for Param<'a> {
    fn from(v: &'a String) -> Self {
        Param::Text(v)
    }
}

impl<'a> From<&'a [u8]> for Param<'a> {
    fn from(v: &'a [u8]) -> Self {
        Param::Bytes(v)
    }
}

impl<'a> From<&'a Vec<u8>> for Param<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        Param::Bytes(v)
    }
}

impl<'a, T: Into<Param<'a>>> From<Option<T>> for Param<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Param::Null, Into::into)
    }
}

/// `params![a, b, …]`: the parameters `?1`, `?2`, … of a statement.
macro_rules! params {
    ($($p:expr),* $(,)?) => {
        &[$($crate::store::sql::Param::from($p)),*] as &[$crate::store::sql::Param<'_>]
    };
}
pub(crate) use params;

/// A column's value, as the engine returned it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Bool(bool),
    Real(f64),
    Text(String),
    Bytes(Vec<u8>),
}

/// One result row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<Value>);

impl Row {
    /// Column `i` (from 0) as a `T`.
    pub fn get<T: FromValue>(&self, i: usize) -> Result<T, SqlError> {
        let value = self.0.get(i).ok_or_else(|| SqlError::Type {
            column: i,
            problem: format!("the row has {} columns", self.0.len()),
        })?;
        T::from_value(value).map_err(|problem| SqlError::Type { column: i, problem })
    }
}

/// A Rust type a column converts to.
pub trait FromValue: Sized {
    fn from_value(v: &Value) -> Result<Self, String>;
}

fn unexpected<T>(want: &str, v: &Value) -> Result<T, String> {
    Err(format!("expected {want}, found {v:?}"))
}

impl FromValue for i64 {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Int(i) => Ok(*i),
            Value::Bool(b) => Ok(i64::from(*b)),
            _ => unexpected("an integer", v),
        }
    }
}

impl FromValue for u32 {
    fn from_value(v: &Value) -> Result<Self, String> {
        let i = i64::from_value(v)?;
        u32::try_from(i).map_err(|_| format!("{i} is out of range"))
    }
}

impl FromValue for u64 {
    fn from_value(v: &Value) -> Result<Self, String> {
        let i = i64::from_value(v)?;
        u64::try_from(i).map_err(|_| format!("{i} is out of range"))
    }
}

impl FromValue for i32 {
    fn from_value(v: &Value) -> Result<Self, String> {
        let i = i64::from_value(v)?;
        i32::try_from(i).map_err(|_| format!("{i} is out of range"))
    }
}

impl FromValue for u8 {
    fn from_value(v: &Value) -> Result<Self, String> {
        let i = i64::from_value(v)?;
        u8::try_from(i).map_err(|_| format!("{i} is out of range"))
    }
}

/// A flag: a boolean, or an integer where the engine has none (non-zero
/// is true).
impl FromValue for bool {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Bool(b) => Ok(*b),
            Value::Int(i) => Ok(*i != 0),
            _ => unexpected("a flag", v),
        }
    }
}

impl FromValue for String {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Text(s) => Ok(s.clone()),
            _ => unexpected("text", v),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Bytes(b) => Ok(b.clone()),
            _ => unexpected("bytes", v),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_read_the_same_stored_as_integers_or_booleans() {
        let row = Row(vec![Value::Int(1), Value::Bool(false), Value::Null]);
        assert_eq!(row.get::<bool>(0), Ok(true));
        assert_eq!(row.get::<bool>(1), Ok(false));
        assert_eq!(row.get::<i64>(1), Ok(0));
        assert_eq!(row.get::<Option<bool>>(2), Ok(None));
        assert!(row.get::<bool>(2).is_err(), "NULL is no flag");
        assert!(row.get::<i64>(3).is_err(), "no fourth column");
    }

    #[test]
    fn integers_out_of_range_are_errors_not_wrapped() {
        let row = Row(vec![Value::Int(-1), Value::Int(i64::from(u32::MAX) + 1)]);
        assert!(row.get::<u64>(0).is_err());
        assert!(row.get::<u32>(1).is_err());
        assert_eq!(row.get::<u64>(1), Ok(u64::from(u32::MAX) + 1));
    }

    #[test]
    fn a_unique_violation_stays_distinguishable_in_the_store_error() {
        let e: StoreError = SqlError::Unique("labels.name".into()).into();
        assert_eq!(e, StoreError::Taken("labels.name".into()));
        let e: StoreError = SqlError::NoRow.into();
        assert!(matches!(e, StoreError::Backend(_)));
    }
}
