//! The outbox in SQLite: the migration that adds it. (What is queued, and
//! erase and anonymise taking it along, is tested on both backends in
//! `store/semantics/writes.rs`.)

use super::schema::migrate;
use super::tests::{client, schema_1_database};
use super::*;

#[test]
fn the_previous_schema_gets_an_empty_outbox_with_every_conversation_intact() {
    let dir = tempfile::tempdir().expect("temp dir");
    let conn = schema_1_database(dir.path());
    migrate(&conn, &dir.path().join(DB_FILE), 1, 8).expect("schema 8");
    drop(conn);
    let (backend, _lock) = SqliteBackend::open(dir.path(), Durability::Normal).expect("opens");
    let version: i64 = backend
        .read(|conn| conn.query_row("PRAGMA user_version", [], |r| r.get(0)))
        .expect("version");
    assert_eq!(version, SCHEMA_VERSION);
    assert_eq!(
        backend.load(&client("alpha"), 10).expect("load").last_seq,
        4
    );
    let queued: i64 = backend
        .read(|conn| conn.query_row("SELECT count(*) FROM outbox", [], |r| r.get(0)))
        .expect("count");
    assert_eq!(queued, 0, "the outbox starts empty");
}
