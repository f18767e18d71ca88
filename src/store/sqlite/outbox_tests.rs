//! The outbox in SQLite: the migration that adds it, a notice queued in the
//! transaction of its resolve and never twice, and erase and anonymise
//! taking a conversation's emails and reply addresses with it.

use super::schema::migrate;
use super::tests::{client, commit, message, schema_1_database};
use super::*;
use crate::domain::{ContactEmail, ConversationStatus, Notice, NoticeKind, Role};
use crate::store::WriteOp;

fn transcript(seq: u64) -> WriteOp {
    WriteOp::ResolveWithTranscript(Notice {
        kind: NoticeKind::Transcript,
        seq,
        to: ContactEmail::parse("ana@example.com").expect("an email"),
    })
}

fn outbox_rows(backend: &SqliteBackend, id: &str) -> Vec<(String, i64, String)> {
    let id = id.to_owned();
    backend
        .read(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT kind, seq, recipient FROM outbox WHERE client_id = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect()
        })
        .expect("outbox rows")
}

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

#[test]
fn a_resolve_queues_its_transcript_once_in_the_same_transaction() {
    let backend = SqliteBackend::open_in_memory().expect("opens");
    commit(
        &backend,
        "ana",
        &[
            message(1, Role::Customer),
            message(2, Role::Agent),
            transcript(2),
        ],
    );
    assert_eq!(
        backend.load(&client("ana"), 10).expect("load").status,
        ConversationStatus::Resolved
    );
    commit(&backend, "ana", &[transcript(2)]);
    assert_eq!(
        outbox_rows(&backend, "ana"),
        [("transcript".to_owned(), 2, "ana@example.com".to_owned())],
        "the same notice is queued once"
    );
}

#[test]
fn erase_and_anonymise_take_the_conversations_emails_with_them() {
    let backend = SqliteBackend::open_in_memory().expect("opens");
    let reply_tokens = |id: &str| -> i64 {
        let id = id.to_owned();
        backend
            .read(move |conn| {
                conn.query_row(
                    "SELECT count(*) FROM reply_tokens WHERE client_id = ?1",
                    [id],
                    |r| r.get(0),
                )
            })
            .expect("count")
    };
    for id in ["erased", "anonymised"] {
        commit(&backend, id, &[message(1, Role::Customer), transcript(1)]);
        assert_eq!(outbox_rows(&backend, id).len(), 1);
        let id = id.to_owned();
        backend
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO reply_tokens (token, client_id, expires_at) VALUES (?1, ?1, 0)",
                    [id],
                )
                .map_err(backend_err)
            })
            .expect("a reply token");
    }
    commit(&backend, "erased", &[WriteOp::Erase]);
    commit(&backend, "anonymised", &[WriteOp::Anonymise]);
    for id in ["erased", "anonymised"] {
        assert!(outbox_rows(&backend, id).is_empty(), "{id}");
        assert_eq!(
            reply_tokens(id),
            0,
            "{id}: its reply addresses stop working"
        );
    }
}
