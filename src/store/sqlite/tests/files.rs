//! What the database file holds after a clean stop, and refusing a copy
//! that lost its log.

use super::*;

fn wal_len(dir: &Path) -> u64 {
    std::fs::metadata(dir.join(WAL_FILE)).map_or(0, |m| m.len())
}

fn copy_db_alone(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().expect("temp dir");
    std::fs::copy(from.join(DB_FILE), to.path().join(DB_FILE)).expect("copy the .db file");
    to
}

fn fill_some(backend: &SqliteBackend) {
    for i in 0..50 {
        let ops: Vec<WriteOp> = (1..=20)
            .map(|seq| {
                message(
                    seq,
                    if seq % 2 == 0 {
                        Role::Agent
                    } else {
                        Role::Customer
                    },
                )
            })
            .collect();
        commit(backend, &format!("c-{i}"), &ops);
    }
}

#[test]
fn after_a_clean_close_the_database_file_alone_holds_everything() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (backend, lock) = SqliteBackend::open(dir.path(), Durability::Normal).expect("open");
    fill_some(&backend);
    backend.close().expect("close");
    drop((backend, lock));
    assert_eq!(wal_len(dir.path()), 0, "the log is empty or gone");
    let copy = copy_db_alone(dir.path());
    let (backend, _lock) = SqliteBackend::open(copy.path(), Durability::Normal).expect("reopen");
    assert_eq!(all_summaries(&backend, ListQuery::default()).len(), 50);
    let history = backend.after(&client("c-49"), 0, 100).expect("history");
    assert_eq!(history.len(), 20, "every message of the last conversation");
}

#[test]
fn a_copy_without_its_log_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (backend, _lock) = SqliteBackend::open(dir.path(), Durability::Normal).expect("open");
    fill_some(&backend);
    // Commits what waited in the journal (the writer does when idle).
    backend.catch_up().expect("commit");
    assert!(wal_len(dir.path()) > 0, "the messages are in the log");
    // What a naive backup of a running server takes.
    let copy = copy_db_alone(dir.path());
    for attempt in ["first", "second"] {
        let refusal = SqliteBackend::open(copy.path(), Durability::Normal)
            .err()
            .unwrap_or_else(|| panic!("{attempt} start over a .db without its -wal is refused"));
        let text = refusal.to_string();
        assert!(matches!(refusal, StartupError::LogMissing { .. }), "{text}");
        for needle in [DB_FILE, WAL_FILE, "not stopped cleanly", "put the", "move"] {
            assert!(text.contains(needle), "{needle:?} in: {text}");
        }
        assert!(!copy.path().join(WAL_FILE).exists(), "no log was made up");
    }
    // With its log beside it, the same copy is complete.
    std::fs::copy(dir.path().join(WAL_FILE), copy.path().join(WAL_FILE)).expect("copy -wal");
    let (copied, _lock) = SqliteBackend::open(copy.path(), Durability::Normal).expect("opens");
    assert_eq!(all_summaries(&copied, ListQuery::default()).len(), 50);
}

#[test]
fn an_old_database_whose_data_never_left_its_log_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Schema 1 ran in WAL mode and never closed its connections: the file
    // itself held no schema yet, everything was in the log.
    let open = schema_1_database(dir.path());
    let copy = copy_db_alone(dir.path());
    drop(open);
    let refusal = SqliteBackend::open(copy.path(), Durability::Normal).err();
    assert!(
        matches!(refusal, Some(StartupError::LogMissing { .. })),
        "refused: {refusal:?}"
    );
}
