//! The search index fed in bulk from the queue a trigger fills.

use super::*;

/// New messages reach the search index in bulk: not with each small commit,
/// but once enough wait, or when the writer catches up; none twice.
#[test]
fn the_search_index_takes_new_messages_in_bulk_and_on_catch_up() {
    use crate::store::sqlite::search_queue::SEARCH_BATCH;
    let backend = SqliteBackend::open_in_memory().expect("in-memory");
    let indexed = |backend: &SqliteBackend| -> i64 {
        backend
            .read(|c| c.query_row("SELECT count(*) FROM messages_fts", [], |r| r.get(0)))
            .expect("count")
    };
    commit(&backend, "s", &[message(1, Role::Customer)]);
    assert_eq!(indexed(&backend), 0, "one small commit leaves it queued");
    backend.catch_up().expect("catch up");
    assert_eq!(indexed(&backend), 1);
    let full: Vec<WriteOp> = (2..=SEARCH_BATCH as u64 + 1)
        .map(|seq| message(seq, Role::Agent))
        .collect();
    commit(&backend, "s", &full);
    assert_eq!(
        indexed(&backend),
        SEARCH_BATCH as i64 + 1,
        "a full queue is indexed with its commit"
    );
    backend.catch_up().expect("nothing left to do");
    assert_eq!(indexed(&backend), SEARCH_BATCH as i64 + 1);
}
