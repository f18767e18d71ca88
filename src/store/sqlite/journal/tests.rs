//! The journal: what a crash leaves in it comes back, once and only once,
//! and damage at its end loses nothing acknowledged before it.

use std::path::Path;

use tempfile::TempDir;

use super::*;
use crate::domain::{AgentId, AttachmentId, FileName};
use crate::store::semantics::{client, commit, message};
use crate::store::sqlite::{Durability, SqliteBackend, DB_FILE, WAL_FILE};
use crate::store::Backend;

fn open(dir: &Path) -> (SqliteBackend, crate::store::sqlite::DataDirLock) {
    SqliteBackend::open(dir, Durability::Normal).expect("open")
}

/// What a crash of `running` leaves: its files as they are now (a backend
/// dropped would still close its connections, which tidies the log away).
fn crash(running: (SqliteBackend, crate::store::sqlite::DataDirLock), dir: &Path) -> TempDir {
    let left = tempfile::tempdir().expect("temp dir");
    for file in [DB_FILE, WAL_FILE, JOURNAL_FILE] {
        std::fs::copy(dir.join(file), left.path().join(file)).expect("copy what a crash leaves");
    }
    drop(running);
    left
}

fn history_len(backend: &SqliteBackend, id: &str) -> usize {
    backend.after(&client(id), 0, 1000).expect("history").len()
}

fn journal_bytes(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join(JOURNAL_FILE)).expect("the journal")
}

/// Replaces the journal of `dir`, as a crash at another moment or damage
/// would have left it.
fn put_journal(dir: &Path, bytes: &[u8]) {
    std::fs::write(dir.join(JOURNAL_FILE), bytes).expect("write the journal");
}

/// The customer's messages `1..=last`.
fn customer_messages(last: u64) -> Vec<WriteOp> {
    (1..=last).map(|seq| message(seq, Role::Customer)).collect()
}

#[test]
fn acknowledged_writes_that_a_crash_left_uncommitted_come_back_from_the_journal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let running = open(dir.path());
    commit(&running.0, "crashed", &customer_messages(30));
    commit(
        &running.0,
        "crashed",
        &[WriteOp::Read {
            role: Role::Agent,
            seq: 30,
        }],
    );
    assert!(
        journal_bytes(dir.path()).len() > 30 * 50,
        "the writes wait in the journal, not in a commit"
    );
    let dir = crash(running, dir.path());

    let (backend, _lock) = open(dir.path());
    assert_eq!(history_len(&backend, "crashed"), 30);
    let summary = &backend.summaries_of(&[client("crashed")]).expect("summary")[0];
    assert_eq!(summary.unread, 0, "the agents' read mark came back too");
    assert_eq!(
        journal_bytes(dir.path()).len(),
        8,
        "the journal starts over once replayed"
    );
}

#[test]
fn a_journal_whose_transaction_committed_is_not_applied_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let running = open(dir.path());
    commit(&running.0, "erased", &customer_messages(5));
    let stale = journal_bytes(dir.path());
    // The transaction commits, then an erase commits after it.
    running.0.catch_up().expect("commit");
    commit(&running.0, "erased", &[WriteOp::Erase]);
    let dir = crash(running, dir.path());
    // As if the crash came between the commit and the journal's start-over.
    put_journal(dir.path(), &stale);

    let (backend, _lock) = open(dir.path());
    assert_eq!(
        history_len(&backend, "erased"),
        0,
        "the erased conversation stays erased"
    );
}

#[test]
fn a_torn_record_at_the_end_loses_only_itself() {
    let dir = tempfile::tempdir().expect("temp dir");
    let running = open(dir.path());
    commit(&running.0, "torn", &customer_messages(3));
    let whole = journal_bytes(dir.path());
    commit(&running.0, "torn", &[message(4, Role::Agent)]);
    let dir = crash(running, dir.path());
    let mut torn = journal_bytes(dir.path());
    assert!(torn.len() > whole.len() + 8);
    torn.truncate(torn.len() - 3);
    put_journal(dir.path(), &torn);

    let (backend, _lock) = open(dir.path());
    assert_eq!(history_len(&backend, "torn"), 3);
}

#[test]
fn a_damaged_record_ends_the_replay_there() {
    let dir = tempfile::tempdir().expect("temp dir");
    let running = open(dir.path());
    commit(&running.0, "damaged", &[message(1, Role::Customer)]);
    let first = journal_bytes(dir.path()).len();
    commit(&running.0, "damaged", &[message(2, Role::Customer)]);
    commit(&running.0, "damaged", &[message(3, Role::Customer)]);
    let dir = crash(running, dir.path());
    let mut bytes = journal_bytes(dir.path());
    // A flipped bit in the second record's payload.
    bytes[first + RECORD_HEAD_BYTES + 4] ^= 0x20;
    put_journal(dir.path(), &bytes);

    let (backend, _lock) = open(dir.path());
    assert_eq!(history_len(&backend, "damaged"), 1);
}

#[test]
fn a_message_keeps_every_field_through_the_journal() {
    let author = Author {
        id: AgentId(7),
        name: "Ana 安娜".into(),
    };
    let message = ChatMessage {
        seq: 12,
        from: Role::Agent,
        text: "line one\n\"quoted\" ✓".into(),
        ts: Utc.timestamp_millis_opt(1_765_000_000_123).unwrap(),
        id: Some("m-12".into()),
        author: Some(author.clone()),
        private: true,
        event: Some(Box::new(Event::Assigned {
            by: None,
            to: author,
        })),
        attachments: vec![Attachment {
            id: AttachmentId::random(),
            name: FileName::sanitise("report.pdf", "file"),
            size: 1234,
            mime: "application/pdf".into(),
            width: None,
            height: None,
        }],
        prev_public: 9,
    };
    let id = client("kept");
    let ops = [
        WriteOp::Message(message),
        WriteOp::Read {
            role: Role::Customer,
            seq: 11,
        },
    ];
    let writes: Vec<Write<'_>> = ops.iter().map(|op| Write { client: &id, op }).collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut journal = Journal::open(dir.path(), 3, false).expect("journal");
    journal.append(&writes, &[true, true]).expect("append");

    let pending = Pending::read(dir.path()).expect("read");
    assert_eq!(pending.epoch, 3);
    let read: Vec<(ClientId, WriteOp)> = ops.iter().map(|op| (id.clone(), op.clone())).collect();
    assert_eq!(pending.writes, read);
}

#[test]
fn refused_writes_and_other_kinds_are_not_journaled() {
    let id = client("only-some");
    let ops = [
        message(1, Role::Customer),
        message(2, Role::Customer),
        WriteOp::Erase,
    ];
    let writes: Vec<Write<'_>> = ops.iter().map(|op| Write { client: &id, op }).collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut journal = Journal::open(dir.path(), 1, false).expect("journal");
    journal
        .append(&writes, &[true, false, true])
        .expect("append");

    let pending = Pending::read(dir.path()).expect("read");
    assert_eq!(pending.writes, vec![(id, ops[0].clone())]);
    assert!(!journaled(&WriteOp::Erase));
}

#[test]
fn a_short_read_sees_journaled_writes_without_committing_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (backend, _lock) = open(dir.path());
    commit(&backend, "fresh", &customer_messages(4));
    let journaled = journal_bytes(dir.path()).len();

    assert_eq!(history_len(&backend, "fresh"), 4);
    let summary = &backend.summaries_of(&[client("fresh")]).expect("summary")[0];
    assert_eq!(summary.last_seq, 4);
    assert_eq!(
        journal_bytes(dir.path()).len(),
        journaled,
        "the transaction stays open"
    );
}

#[test]
fn a_list_page_commits_the_open_transaction_first() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (backend, _lock) = open(dir.path());
    commit(&backend, "listed", &[message(1, Role::Customer)]);
    assert!(journal_bytes(dir.path()).len() > 8);

    let page = backend
        .summaries(&crate::store::ListQuery::default())
        .expect("list");
    assert_eq!(page.items.len(), 1);
    assert_eq!(
        journal_bytes(dir.path()).len(),
        8,
        "committed, so the journal started over"
    );
}

#[test]
fn a_restore_puts_the_old_journal_aside_with_the_old_database() {
    let kept = tempfile::tempdir().expect("temp dir");
    let (backend, lock) = open(kept.path());
    commit(&backend, "kept", &[message(1, Role::Customer)]);
    backend.close().expect("close");
    drop((backend, lock));
    let copies = tempfile::tempdir().expect("temp dir");
    let file = copies.path().join("kept.db");
    crate::store::sqlite::backup(kept.path(), &file).expect("backup");

    let dir = tempfile::tempdir().expect("temp dir");
    let running = open(dir.path());
    for seq in 1..=3 {
        // Each commit moves the journal to a later epoch than the backup's.
        commit(&running.0, "earlier", &[message(seq, Role::Customer)]);
        running.0.catch_up().expect("commit");
    }
    commit(&running.0, "stale", &[message(1, Role::Customer)]);
    let crashed = crash(running, dir.path());
    crate::store::sqlite::restore(&file, crashed.path(), true).expect("restore");

    let aside = std::fs::read_dir(crashed.path())
        .expect("the directory")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".replaced-") && name.ends_with(".journal"))
        .count();
    assert_eq!(aside, 1, "the old journal is kept aside");
    let (backend, _lock) = open(crashed.path());
    assert_eq!(history_len(&backend, "kept"), 1);
    assert_eq!(
        history_len(&backend, "stale"),
        0,
        "nothing of the old journal went into the restored database"
    );
}
