//! The journal on a failing disk: a batch it cannot journal is refused and
//! leaves nothing behind, and a journal that cannot start over never costs
//! a committed write. The failures are real devices': `/dev/full` refuses
//! every write (ENOSPC), `/dev/null` takes writes but cannot be truncated.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::*;
use crate::store::semantics::{client, message};
use crate::store::sqlite::transaction::WriteSide;
use crate::store::sqlite::{Durability, SqliteBackend, DB_FILE};
use crate::store::Backend;

/// `journal` now writes to `device` (and reads back from `path`).
fn write_to(journal: &mut Journal, device: &str) {
    journal.file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(device)
        .expect("the device");
}

/// A journal in `dir` at epoch 1, its writes going to `device`.
fn journal_on(device: &str, dir: &Path) -> Journal {
    let mut journal = Journal::open(dir, 1, false).expect("journal");
    write_to(&mut journal, device);
    journal
}

/// A database with the current schema in `dir`, and the writer's side of it
/// journaling to `device`.
fn writer_on(device: &str, dir: &Path) -> WriteSide {
    let (backend, _lock) = SqliteBackend::open(dir, Durability::Normal).expect("open");
    backend.close().expect("close");
    let conn = Connection::open(dir.join(DB_FILE)).expect("the database");
    WriteSide::new(conn, Some(journal_on(device, dir))).expect("the writer")
}

fn customer_batch(id: &ClientId, seqs: std::ops::RangeInclusive<u64>) -> Vec<(ClientId, WriteOp)> {
    seqs.map(|seq| (id.clone(), message(seq, Role::Customer)))
        .collect()
}

fn writes(batch: &[(ClientId, WriteOp)]) -> Vec<Write<'_>> {
    batch
        .iter()
        .map(|(client, op)| Write { client, op })
        .collect()
}

/// Messages of `id` committed, as a new connection sees them.
fn committed(dir: &Path, id: &ClientId) -> i64 {
    Connection::open(dir.join(DB_FILE))
        .expect("the database")
        .query_row(
            "SELECT count(*) FROM messages WHERE client_id = ?1",
            [id.as_str()],
            |r| r.get(0),
        )
        .expect("count")
}

#[test]
fn a_batch_the_journal_cannot_take_is_refused_and_nothing_of_it_is_stored() {
    let dir = tempfile::tempdir().expect("temp dir");
    let id = client("disk-full");
    let mut side = writer_on("/dev/full", dir.path());
    let batch = customer_batch(&id, 1..=3);

    let refused = side.commit_batch(&writes(&batch), None);
    assert!(refused.is_err(), "nothing is acknowledged: {refused:?}");
    side.settle(None).expect("settle");
    assert_eq!(committed(dir.path(), &id), 0, "the batch was rolled back");
    let again = side.commit_batch(&writes(&batch), None);
    assert!(again.is_err(), "still refused while the disk is full");
    assert_eq!(committed(dir.path(), &id), 0);
}

#[test]
fn a_commit_stands_when_the_journal_cannot_start_over() {
    let dir = tempfile::tempdir().expect("temp dir");
    let id = client("no-truncate");
    let mut side = writer_on("/dev/null", dir.path());

    let first = customer_batch(&id, 1..=3);
    let accepted = side.commit_batch(&writes(&first), None).expect("journaled");
    assert_eq!(accepted, vec![true; 3]);
    side.settle(None)
        .expect("the commit is not failed by the journal's start-over");
    assert_eq!(committed(dir.path(), &id), 3);

    let next = customer_batch(&id, 4..=4);
    let refused = side.commit_batch(&writes(&next), None);
    assert!(
        refused.is_err(),
        "no record goes behind the old epoch's: {refused:?}"
    );
    side.settle(None).expect("settle");
    assert_eq!(
        committed(dir.path(), &id),
        3,
        "the refused batch left nothing"
    );
}

#[test]
fn a_start_over_that_failed_is_finished_before_the_next_append() {
    let dir = tempfile::tempdir().expect("temp dir");
    let id = client("finished-later");
    let first = customer_batch(&id, 1..=1);
    let mut journal = Journal::open(dir.path(), 1, false).expect("journal");
    journal.append(&writes(&first), &[true]).expect("append");

    write_to(&mut journal, "/dev/null");
    assert!(
        journal.start_over(2).is_err(),
        "/dev/null cannot be emptied"
    );
    assert!(journal.is_empty(), "what was committed is not replayed");
    let second = customer_batch(&id, 2..=2);
    assert!(journal.append(&writes(&second), &[true]).is_err());

    write_to(
        &mut journal,
        &dir.path().join(JOURNAL_FILE).to_string_lossy(),
    );
    journal.append(&writes(&second), &[true]).expect("append");
    let pending = Pending::read(dir.path()).expect("read");
    assert_eq!(pending.epoch, 2, "the start-over was finished first");
    assert_eq!(pending.writes, second);
}

#[test]
fn bytes_a_failed_append_left_are_cut_off_before_the_next_append() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path: PathBuf = dir.path().join(JOURNAL_FILE);
    let id = client("torn-tail");
    let first = customer_batch(&id, 1..=1);
    let mut journal = Journal::open(dir.path(), 1, false).expect("journal");
    journal.append(&writes(&first), &[true]).expect("append");

    write_to(&mut journal, "/dev/full");
    let second = customer_batch(&id, 2..=2);
    assert!(journal.append(&writes(&second), &[true]).is_err());
    // `/dev/full` takes nothing; a disk that fills up may take part of a
    // write. What such a write leaves: half a record.
    let mut file = OpenOptions::new().append(true).open(&path).expect("file");
    file.write_all(&[7; 12]).expect("the torn part");
    assert_eq!(
        journal.pending().expect("pending").writes,
        first,
        "only whole records are replayed after a failed append"
    );

    write_to(&mut journal, &path.to_string_lossy());
    journal.append(&writes(&second), &[true]).expect("append");
    let mut both = first;
    both.extend(second);
    assert_eq!(Pending::read(dir.path()).expect("read").writes, both);
}
