//! `migrate-sqlite-to-postgres`: a data directory with something in every
//! table arrives whole in PostgreSQL, and the backend reads it as SQLite
//! did; a database that is not empty is refused.

use super::test_cluster::fresh_database;
use super::*;
use crate::domain::{AgentId, ConversationStatus};
use crate::store::semantics::{client, exec, message, rows, saying, Engine};
use crate::store::{Durability, SearchQuery, SqliteBackend, WriteOp};

/// A data directory with a row in every table the import copies.
fn installation() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let (sqlite, lock) = SqliteBackend::open(dir.path(), Durability::Normal).expect("opens");
    let c = client("imported");
    let ops = [
        saying(1, Role::Customer, "Où est ma commande?"),
        message(2, Role::Agent),
        WriteOp::Assign(Some(AgentId(5))),
        WriteOp::Status(ConversationStatus::Resolved),
    ];
    let writes: Vec<Write<'_>> = ops.iter().map(|op| Write { client: &c, op }).collect();
    assert!(sqlite
        .commit_batch(&writes)
        .expect("commit")
        .iter()
        .all(|&ok| ok));
    sqlite.close().expect("closes");
    drop((sqlite, lock));
    let conn = rusqlite::Connection::open(dir.path().join("support-chat.db")).expect("file");
    conn.execute_batch(
        "INSERT INTO agents (id, name, email, role, created_at) VALUES (5, 'Ana', 'ana@x.com', 'admin', 1);
         INSERT INTO sessions (id, hash, agent_id, created_at, last_used_at, expires_at)
             VALUES (3, X'01', 5, 1, 1, 9);
         INSERT INTO invites (hash, agent_id, expires_at) VALUES (X'02', 5, 9);
         INSERT INTO setup_codes (hash, created_at, used) VALUES (X'03', 1, 1);
         INSERT INTO api_tokens (id, hash, agent_id, name, created_at) VALUES (4, X'04', 5, 'ci', 1);
         INSERT INTO contacts (client_id, name, email, updated_at, lang, transcript)
             VALUES ('imported', 'Zoë', 'zoe@x.com', 1, 'zh', 1);
         INSERT INTO saved_replies (id, shortcut, name, text, created_at) VALUES (2, 'Hi', 'hi', 'Hello!', 1);
         INSERT INTO labels (id, name, color) VALUES (6, 'VIP', '#123');
         INSERT INTO conversation_labels (client_id, label_id) VALUES ('imported', 6);
         INSERT INTO audit_log (id, at, actor, action) VALUES (8, 1, 'Ana', 'login');
         INSERT INTO attachments (id, client_id, uploader, name, mime, size, created_at, seq, data)
             VALUES ('f1', 'imported', 0, 'a.bin', 'application/octet-stream', 3, 1, 1, X'00FF10');
         INSERT INTO outbox (id, client_id, kind, seq, recipient, created_at, next_attempt_at)
             VALUES (7, 'imported', 'transcript', 2, 'zoe@x.com', 1, 1);
         INSERT INTO reply_tokens (token, client_id, expires_at) VALUES ('tok', 'imported', 9);
         INSERT INTO server_secrets (name, value) VALUES ('reopen', X'AB');",
    )
    .expect("rows of every table");
    dir
}

#[test]
fn every_table_of_a_sqlite_installation_arrives_in_postgresql() {
    let dir = installation();
    let url = fresh_database();
    let imported = migrate_sqlite_to_postgres(dir.path(), &url).expect("migrates");
    let copied = |table: &str| {
        imported
            .tables
            .iter()
            .find(|(t, _)| *t == table)
            .map(|r| r.1)
    };
    assert_eq!(copied("messages"), Some(2));
    for (table, rows) in &imported.tables {
        assert!(*rows >= 1, "{table} has its row");
    }

    let engine = Engine::postgres_at(&url);
    let snapshot = engine.load(&client("imported"), 10).expect("load");
    assert_eq!(snapshot.last_seq, 2);
    assert_eq!(snapshot.recent[0].text, "Où est ma commande?");
    assert_eq!(snapshot.status, ConversationStatus::Resolved);
    assert_eq!(snapshot.assignee.map(|a| a.name), Some("Ana".to_owned()));
    assert!(snapshot.contact.transcript);
    let listed = engine.summaries(&ListQuery::default()).expect("list");
    assert_eq!(listed.items[0].labels[0].name, "VIP");
    let found = engine
        .search(&SearchQuery {
            text: "commande".into(),
            offset: 0,
            limit: 5,
        })
        .expect("search");
    assert_eq!(found.hits.len(), 1, "the search index is built");
    let blob = rows(
        &*engine,
        "SELECT encode(data, 'hex') FROM attachments WHERE id = 'f1'",
    );
    assert_eq!(
        blob,
        [vec![Some("00ff10".to_owned())]],
        "files byte for byte"
    );
    exec(
        &*engine,
        "INSERT INTO agents (name, email, role, created_at) VALUES ('Bo', 'bo@x.com', 'agent', 2)",
    );
    let ids = rows(&*engine, "SELECT CAST(id AS TEXT) FROM agents ORDER BY id");
    assert_eq!(
        ids,
        [vec![Some("5".to_owned())], vec![Some("6".to_owned())]],
        "ids go on"
    );

    let again = migrate_sqlite_to_postgres(dir.path(), &url).expect_err("refused");
    assert!(matches!(again, ImportError::NotEmpty(_)), "{again}");
    let messages = rows(&*engine, "SELECT CAST(count(*) AS TEXT) FROM messages");
    assert_eq!(messages, [vec![Some("2".to_owned())]], "nothing doubled");
}
