//! The SQLite backend on its own: the list costs the same at any size, the
//! schema migrations keep every conversation and its counters; the shared
//! helpers of the modules below (the file on disk, issue 13's migration,
//! the search queue). What both backends must do alike (counters, history,
//! the list, search, the outbox, erase) is tested on both in
//! `store/semantics/`.

use std::path::Path;

use rusqlite::{params_from_iter, Connection, StatementStatus};

use super::read::ListPlan;
use super::schema::migrate;
use super::*;
use crate::domain::{AgentId, Author, ConversationStatus, Role};
use crate::store::{ListQuery, WriteOp};

// The helpers every store test shares.
pub(super) use crate::store::semantics::counters::assert_counters_agree;
pub(super) use crate::store::semantics::{all_summaries, client, commit, message};

/// VM steps of one list query (a sort of every row, or a read of every
/// row walked, would make them grow with the number of conversations).
fn cost(backend: &SqliteBackend, query: &ListQuery) -> i32 {
    let plan = ListPlan::new(query).expect("plan");
    backend
        .read(|conn| {
            let mut stmt = conn.prepare(&plan.sql)?;
            let rows = stmt
                .query_map(params_from_iter(&plan.filter.values), |_| Ok(()))?
                .count();
            assert!(rows > 0, "the query finds rows");
            Ok(stmt.get_status(StatementStatus::VmStep))
        })
        .expect("cost")
}

#[test]
fn a_list_page_costs_the_same_at_any_number_of_conversations() {
    let backend = SqliteBackend::open_in_memory().expect("in-memory");
    let fill = |from: usize, to: usize| {
        for i in from..to {
            let ops: &[WriteOp] = if i % 2 == 0 {
                &[message(1, Role::Customer)]
            } else {
                &[message(1, Role::Customer), message(2, Role::Agent)]
            };
            commit(&backend, &format!("conv-{i}"), ops);
            if i % 3 == 0 {
                commit(
                    &backend,
                    &format!("conv-{i}"),
                    &[WriteOp::Status(ConversationStatus::Resolved)],
                );
            }
        }
    };
    let first = ListQuery {
        limit: 50,
        ..ListQuery::default()
    };
    let mut queries = vec![
        first.clone(),
        ListQuery {
            status: Some(ConversationStatus::Resolved),
            ..first.clone()
        },
        ListQuery {
            search: Some("CONV-".into()),
            ..first.clone()
        },
    ];
    fill(0, 300);
    let second = ListQuery {
        cursor: backend.summaries(&first).ok().and_then(|p| p.next_cursor),
        ..first.clone()
    };
    assert!(second.cursor.is_some(), "there is a second page");
    queries.push(second);
    let small: Vec<i32> = queries.iter().map(|q| cost(&backend, q)).collect();
    fill(300, 3_000);
    let large: Vec<i32> = queries.iter().map(|q| cost(&backend, q)).collect();
    for ((query, small_steps), large_steps) in queries.iter().zip(small).zip(large) {
        assert!(
            large_steps < small_steps * 3 / 2,
            "ten times the conversations, {small_steps} -> {large_steps} steps: {query:?}"
        );
    }
}

/// A data directory at `schema` (a schema-1 database migrated that far),
/// with its connection still open, to add rows as that schema kept them.
pub(super) fn schema_database(dir: &Path, schema: i64) -> Connection {
    let conn = schema_1_database(dir);
    migrate(&conn, &dir.join(DB_FILE), 1, schema).expect("the old schema");
    conn
}

/// Opens the data directory `dir` with this build, which migrates it to
/// [`SCHEMA_VERSION`] (checked).
pub(super) fn open_migrated(dir: &Path) -> (SqliteBackend, DataDirLock) {
    let (backend, lock) = SqliteBackend::open(dir, Durability::Normal).expect("opens");
    let version: i64 = backend
        .read(|conn| conn.query_row("PRAGMA user_version", [], |r| r.get(0)))
        .expect("version");
    assert_eq!(version, SCHEMA_VERSION);
    (backend, lock)
}

/// A data directory as schema 1 (the previous release) writes it, with its
/// connection still open.
pub(super) fn schema_1_database(dir: &Path) -> Connection {
    let path = dir.join(DB_FILE);
    let conn = Connection::open(&path).expect("create");
    conn.execute_batch("PRAGMA page_size = 1024; PRAGMA journal_mode = WAL;")
        .expect("pragmas");
    migrate(&conn, &path, 0, 1).expect("schema 1");
    // Rows as the schema-1 writes left them: no counters, agent read marks
    // only where an agent explicitly read.
    conn.execute_batch(
        "INSERT INTO conversations VALUES
           ('alpha', 1000, 4000, 4, 0, 4000, 4, 1, 'open'),
           ('beta',  1000, 1000, 1, 0, 1000, 0, 0, 'resolved'),
           ('gamma', 1000, 2000, 2, 1, NULL, 2, 0, 'open');
         INSERT INTO messages VALUES
           ('alpha', 1, 0, 'a1', 1000, 'x1'), ('alpha', 2, 0, 'a2', 2000, NULL),
           ('alpha', 3, 1, 'a3', 3000, 'y1'), ('alpha', 4, 0, 'a4', 4000, 'x2'),
           ('beta',  1, 0, 'b1', 1000, NULL),
           ('gamma', 1, 0, 'g1', 1000, NULL), ('gamma', 2, 1, 'g2', 2000, NULL);",
    )
    .expect("schema-1 rows");
    for i in 0..200 {
        conn.execute(
            "INSERT INTO conversations VALUES (?1, 500, 500, 1, 0, ?2, 1, 0, 'open')",
            rusqlite::params![format!("bulk-{i}"), 500 + i],
        )
        .expect("bulk conversation");
        conn.execute(
            "INSERT INTO messages VALUES (?1, 1, 0, 'hello', 500, NULL)",
            [format!("bulk-{i}")],
        )
        .expect("bulk message");
    }
    conn
}

#[test]
fn a_schema_1_database_keeps_every_conversation_and_gets_its_counters() {
    let dir = tempfile::tempdir().expect("temp dir");
    drop(schema_1_database(dir.path()));
    let (backend, _lock) = SqliteBackend::open(dir.path(), Durability::Normal).expect("migrates");
    let listed = all_summaries(&backend, ListQuery::default());
    assert_eq!(listed.len(), 203, "every conversation is still there");
    assert_counters_agree(&backend);
    assert_eq!(
        backend.totals().expect("totals"),
        Totals {
            unread: 201,
            waiting: 201
        }
    );
    let alpha = &backend.summaries_of(&[client("alpha")]).expect("alpha")[0];
    assert_eq!(
        (alpha.unread, alpha.agent_read_seq, alpha.preview.as_str()),
        (1, 3, "a4"),
        "the agent's reply at seq 3 counts as read up to it"
    );
    // Waiting conversations first, longest wait first; then by activity.
    assert_eq!(listed[0].client_id.as_str(), "bulk-0");
    assert_eq!(listed[201].client_id.as_str(), "gamma");
    assert_eq!(listed[202].client_id.as_str(), "beta");
    // And it takes new writes: beta reopens.
    commit(&backend, "beta", &[message(2, Role::Customer)]);
    assert_eq!(backend.totals().expect("totals").waiting, 202);
    assert_counters_agree(&backend);
    let known = backend.load(&client("alpha"), 10).expect("load").known_ids;
    assert_eq!(known.len(), 3, "client message ids survive the migration");
    let recent = backend.load(&client("alpha"), 10).expect("load").recent;
    assert_eq!(recent[2].from, Role::Agent);
    assert_eq!(
        recent[2].author, None,
        "replies from before names have none"
    );
}

#[test]
fn a_schema_3_database_gets_the_account_tables_with_every_conversation_intact() {
    let dir = tempfile::tempdir().expect("temp dir");
    let conn = schema_database(dir.path(), 3);
    conn.execute(
        "INSERT INTO messages (client_id, seq, from_role, text, ts, author_id, author_name)
         VALUES ('gamma', 3, 1, 'g3', 3000, 7, 'Ana')",
        [],
    )
    .expect("an authored reply, as schema 3 keeps it");
    conn.execute(
        "UPDATE conversations SET last_seq = 3 WHERE client_id = 'gamma'",
        [],
    )
    .expect("its conversation");
    drop(conn);
    let before = {
        let (backend, _lock) = open_migrated(dir.path());
        all_summaries(&backend, ListQuery::default())
    };
    assert_eq!(before.len(), 203, "every conversation is still there");

    let (backend, _lock) = SqliteBackend::open(dir.path(), Durability::Normal).expect("reopens");
    assert_counters_agree(&backend);
    let recent = backend.load(&client("gamma"), 10).expect("load").recent;
    assert_eq!(
        recent.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["g1", "g2", "g3"]
    );
    assert_eq!(
        recent[2].author,
        Some(Author {
            id: AgentId(7),
            name: "Ana".into()
        })
    );
    let counts = |table: &str| {
        let mut n = 0;
        backend
            .sql_read(&mut |conn| {
                n = conn.query_row(&format!("SELECT count(*) FROM {table}"), &[], |r| r.get(0))?;
                Ok(())
            })
            .expect("an account table");
        n
    };
    for table in ["agents", "sessions", "invites", "setup_codes", "api_tokens"] {
        assert_eq!(counts(table), 0, "{table} starts empty");
    }
    backend
        .sql_write(&mut |conn| {
            conn.execute(
                "INSERT INTO agents (name, email, role, created_at) VALUES ('A', 'a@x', 'admin', 1)",
                &[],
            )?;
            let clash = conn.execute(
                "INSERT INTO agents (name, email, role, created_at) VALUES ('B', 'A@X', 'agent', 1)",
                &[],
            );
            assert!(clash.is_err(), "emails are unique whatever their case");
            Ok(())
        })
        .expect("accounts take writes");
}

mod files;
mod routing;
mod search_queue;
