//! Schema 4 to 5: the audit log (append-only) and the anonymised mark
//! arrive; every conversation and its counters stay as they were.

use super::tests::{all_summaries, assert_counters_agree, schema_database};
use super::*;
use crate::store::ListQuery;

#[test]
fn a_schema_4_database_gets_an_append_only_audit_log_with_every_conversation_intact() {
    let dir = tempfile::tempdir().expect("temp dir");
    drop(schema_database(dir.path(), 4));
    let (backend, _lock) = SqliteBackend::open(dir.path(), Durability::Normal).expect("opens");
    assert_eq!(all_summaries(&backend, ListQuery::default()).len(), 203);
    assert_counters_agree(&backend);
    backend
        .sql_write(&mut |conn| {
            let version: i64 = conn.query_row("PRAGMA user_version", &[], |r| r.get(0))?;
            assert_eq!(version, SCHEMA_VERSION);
            let anonymised: i64 = conn.query_row(
                "SELECT count(*) FROM conversations WHERE anonymised_at IS NOT NULL",
                &[],
                |r| r.get(0),
            )?;
            assert_eq!(anonymised, 0, "nothing is anonymised by the migration");
            let entries: i64 =
                conn.query_row("SELECT count(*) FROM audit_log", &[], |r| r.get(0))?;
            assert_eq!(entries, 0, "the audit log starts empty");
            conn.execute(
                "INSERT INTO audit_log (at, actor, action) VALUES (1, 'Ana', 'login')",
                &[],
            )?;
            let edited = conn.execute("UPDATE audit_log SET actor = 'Bo'", &[]);
            assert!(edited.is_err(), "an audit entry cannot be edited");
            Ok(())
        })
        .expect("the audit log");
}
