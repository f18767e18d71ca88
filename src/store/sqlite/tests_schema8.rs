//! Schema 7 to 8: the attachments table arrives empty and every stored
//! message reads as before, with no attachments.

use super::tests::{all_summaries, assert_counters_agree, schema_database};
use super::*;
use crate::store::ListQuery;

#[test]
fn a_schema_7_database_gets_an_empty_attachments_table_and_reads_as_before() {
    let dir = tempfile::tempdir().expect("temp dir");
    drop(schema_database(dir.path(), 7));
    let (backend, _lock) = SqliteBackend::open(dir.path(), Durability::Normal).expect("opens");
    let summaries = all_summaries(&backend, ListQuery::default());
    assert_eq!(summaries.len(), 203);
    assert_counters_agree(&backend);
    let client = summaries[0].client_id.clone();
    let messages = backend.after(&client, 0, 1000).expect("messages");
    assert!(!messages.is_empty());
    assert!(messages.iter().all(|m| m.attachments.is_empty()));
    backend
        .sql_write(&mut |conn| {
            let version: i64 = conn.query_row("PRAGMA user_version", &[], |r| r.get(0))?;
            assert_eq!(version, SCHEMA_VERSION);
            let files: i64 =
                conn.query_row("SELECT count(*) FROM attachments", &[], |r| r.get(0))?;
            assert_eq!(files, 0);
            Ok(())
        })
        .expect("the attachments table");
}
