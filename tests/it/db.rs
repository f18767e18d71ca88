//! The database of a running test server, opened beside it, for tests that
//! age rows or look for what must be gone: the SQLite file of its data
//! directory, or its PostgreSQL database. Statements are written once with
//! `?1` placeholders and text or integer parameters.

use std::time::Duration;

use crate::common::TestApp;

const DB_FILE: &str = "support-chat.db";

/// The bytes of every file in `dir` (the database, its log, the writer's
/// journal …), one after the other.
pub fn data_dir_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).expect("the data directory") {
        let path = entry.expect("an entry").path();
        if path.is_file() {
            bytes.extend(std::fs::read(&path).unwrap_or_default());
        }
    }
    bytes
}

pub enum TestDb {
    Sqlite {
        conn: rusqlite::Connection,
        dir: std::path::PathBuf,
    },
    Postgres(tokio_postgres::Client),
}

/// A parameter of a test statement.
#[derive(Clone, Copy, Debug)]
pub enum Arg<'a> {
    Text(&'a str),
    Int(i64),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Self {
        Arg::Text(s)
    }
}

impl From<i64> for Arg<'_> {
    fn from(i: i64) -> Self {
        Arg::Int(i)
    }
}

impl TestDb {
    pub async fn open(app: &TestApp) -> TestDb {
        let Some(url) = app.database_url() else {
            let dir = app.data_dir.path().to_owned();
            let conn = rusqlite::Connection::open(dir.join(DB_FILE)).expect("open");
            conn.busy_timeout(Duration::from_secs(10))
                .expect("busy timeout");
            return TestDb::Sqlite { conn, dir };
        };
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("the test database");
        actix_web::rt::spawn(connection);
        TestDb::Postgres(client)
    }

    /// Runs one statement; how many rows it changed.
    pub async fn execute(&self, sql: &str, args: &[Arg<'_>]) -> u64 {
        self.try_execute(sql, args)
            .await
            .expect("the statement runs")
    }

    /// Runs one statement the database may refuse; the refusal's message.
    pub async fn try_execute(&self, sql: &str, args: &[Arg<'_>]) -> Result<u64, String> {
        match self {
            TestDb::Sqlite { conn, .. } => conn
                .execute(sql, rusqlite::params_from_iter(args.iter().map(sqlite_arg)))
                .map(|n| n as u64)
                .map_err(|e| e.to_string()),
            TestDb::Postgres(client) => client
                .execute(&dollars(sql), &pg_args(args))
                .await
                .map_err(|e| {
                    e.as_db_error()
                        .map_or(e.to_string(), |d| d.message().to_owned())
                }),
        }
    }

    /// The one integer `sql` selects.
    pub async fn count(&self, sql: &str, args: &[Arg<'_>]) -> i64 {
        match self {
            TestDb::Sqlite { conn, .. } => conn
                .query_row(
                    sql,
                    rusqlite::params_from_iter(args.iter().map(sqlite_arg)),
                    |r| r.get(0),
                )
                .expect("the count"),
            TestDb::Postgres(client) => client
                .query_one(&dollars(sql), &pg_args(args))
                .await
                .expect("the count")
                .get(0),
        }
    }

    /// Whether the store still holds `text`: on SQLite anywhere in the
    /// bytes of the data directory's files, the database, its log and the
    /// writer's journal (erased text must not linger in free pages); on
    /// PostgreSQL in any row of any table, search
    /// vectors included (its files are the server's, and VACUUM's).
    pub async fn holds(&self, text: &str) -> bool {
        let client = match self {
            TestDb::Sqlite { dir, .. } => {
                return data_dir_bytes(dir)
                    .windows(text.len())
                    .any(|w| w == text.as_bytes());
            }
            TestDb::Postgres(client) => client,
        };
        let tables = client
            .query(
                "SELECT quote_ident(table_name) FROM information_schema.tables
                 WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
                &[],
            )
            .await
            .expect("the tables");
        assert!(!tables.is_empty(), "the test sees the tables");
        for table in tables {
            let table: String = table.get(0);
            let sql =
                format!("SELECT EXISTS (SELECT 1 FROM {table} x WHERE strpos(x::text, $1) > 0)");
            let found: bool = client
                .query_one(&sql, &[&text])
                .await
                .expect("a table's rows")
                .get(0);
            if found {
                return true;
            }
        }
        false
    }
}

fn sqlite_arg(arg: &Arg<'_>) -> rusqlite::types::Value {
    match *arg {
        Arg::Text(s) => rusqlite::types::Value::Text(s.to_owned()),
        Arg::Int(i) => rusqlite::types::Value::Integer(i),
    }
}

fn pg_args<'a>(args: &'a [Arg<'a>]) -> Vec<&'a (dyn tokio_postgres::types::ToSql + Sync)> {
    args.iter()
        .map(|arg| match arg {
            Arg::Text(s) => s as &(dyn tokio_postgres::types::ToSql + Sync),
            Arg::Int(i) => i as &(dyn tokio_postgres::types::ToSql + Sync),
        })
        .collect()
}

/// `?1` → `$1` (test statements quote no question mark).
fn dollars(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}
