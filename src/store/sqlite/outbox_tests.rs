//! The outbox in SQLite: the migration that adds it. (What is queued, and
//! erase and anonymise taking it along, is tested on both backends in
//! `store/semantics/writes.rs`.)

use super::tests::{client, open_migrated, schema_database};
use super::*;

#[test]
fn the_previous_schema_gets_an_empty_outbox_with_every_conversation_intact() {
    let dir = tempfile::tempdir().expect("temp dir");
    drop(schema_database(dir.path(), 8));
    let (backend, _lock) = open_migrated(dir.path());
    assert_eq!(
        backend.load(&client("alpha"), 10).expect("load").last_seq,
        4
    );
    let queued: i64 = backend
        .read(|conn| conn.query_row("SELECT count(*) FROM outbox", [], |r| r.get(0)))
        .expect("count");
    assert_eq!(queued, 0, "the outbox starts empty");
}
