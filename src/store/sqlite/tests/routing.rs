//! Issue 13 in SQLite: the schema 4 to 5 migration. (Notes and events in
//! the store are tested on both backends in `store/semantics/history.rs`.)

use super::*;

fn public(seq: u64, from: Role, prev_public: u64) -> WriteOp {
    let WriteOp::Message(mut m) = message(seq, from) else {
        unreachable!("message() makes messages")
    };
    m.prev_public = prev_public;
    WriteOp::Message(m)
}

#[test]
fn a_schema_4_database_gets_notes_and_events_with_every_message_visible() {
    let dir = tempfile::tempdir().expect("temp dir");
    drop(schema_database(dir.path(), 4));
    let (backend, _lock) = SqliteBackend::open(dir.path(), Durability::Normal).expect("migrates");
    assert_eq!(all_summaries(&backend, ListQuery::default()).len(), 203);
    let old = backend
        .before(&client("alpha"), 10, 10, Role::Customer)
        .expect("customer page");
    assert_eq!(old.len(), 4, "every older message is the customer's to see");
    assert!(old.iter().all(|m| !m.private && m.event.is_none()));
    assert_eq!(
        old.iter().map(|m| m.prev_public).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    assert_eq!(
        backend
            .load(&client("alpha"), 10)
            .expect("load")
            .last_public_seq,
        4
    );
    assert_counters_agree(&backend);
    // What was stored before is searchable, and so is what comes after.
    let search = |text: &str| {
        let query = crate::store::SearchQuery {
            text: text.into(),
            offset: 0,
            limit: 10,
        };
        // As `Store::search` does: what commits queued is indexed first.
        backend.catch_up().expect("catch up");
        backend
            .search(&query)
            .expect("search")
            .hits
            .iter()
            .map(|h| h.conversation.client_id.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(search("b1"), ["beta"]);
    commit(&backend, "gamma", &[public(3, Role::Customer, 2)]);
    assert_eq!(search("message"), ["gamma"], "new ones are indexed too");
}
