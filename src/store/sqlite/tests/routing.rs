//! Issue 13 in the store: private notes and events keep their seq but
//! change nothing the customer's chat counts, and the customer's reads skip
//! them; the schema 4 to 5 migration.

use super::*;
use crate::domain::Event;

fn note(seq: u64, prev_public: u64) -> WriteOp {
    let WriteOp::Message(mut m) = message(seq, Role::Agent) else {
        unreachable!("message() makes messages")
    };
    m.private = true;
    m.text = format!("note {seq}");
    m.prev_public = prev_public;
    WriteOp::Message(m)
}

fn public(seq: u64, from: Role, prev_public: u64) -> WriteOp {
    let WriteOp::Message(mut m) = message(seq, from) else {
        unreachable!("message() makes messages")
    };
    m.prev_public = prev_public;
    WriteOp::Message(m)
}

#[test]
fn a_note_keeps_the_wait_the_unread_count_and_the_preview() {
    let backend = SqliteBackend::open_in_memory().expect("in memory");
    commit(&backend, "n1", &[public(1, Role::Customer, 0), note(2, 1)]);
    let summary = &backend.summaries_of(&[client("n1")]).expect("summary")[0];
    assert!(summary.waiting, "a note answers nobody");
    assert_eq!(summary.unread, 1);
    assert_eq!(summary.preview, "message 1");
    assert_eq!(summary.last_seq, 2, "the note has its own seq");
    assert_counters_agree(&backend);

    let snapshot = backend.load(&client("n1"), 10).expect("load");
    assert_eq!(snapshot.last_seq, 2);
    assert_eq!(snapshot.last_public_seq, 1);
    assert!(snapshot.recent[1].private);

    commit(&backend, "n1", &[public(3, Role::Agent, 1)]);
    let customer = backend
        .before(&client("n1"), 10, 10, Role::Customer)
        .expect("customer page");
    assert_eq!(customer.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 3]);
    assert_eq!(
        customer[1].prev_public, 1,
        "the customer's chain skips the note"
    );
    let agents = backend
        .before(&client("n1"), 10, 10, Role::Agent)
        .expect("agent page");
    assert_eq!(agents.len(), 3);
}

#[test]
fn an_event_is_stored_with_its_fields() {
    let backend = SqliteBackend::open_in_memory().expect("in memory");
    let event = Event::Resolved {
        by: Some(Author {
            id: AgentId(4),
            name: "Ana".into(),
        }),
    };
    let WriteOp::Message(mut m) = message(2, Role::Agent) else {
        unreachable!("message() makes messages")
    };
    m.text = event.agent_text();
    m.private = true;
    m.event = Some(Box::new(event.clone()));
    commit(
        &backend,
        "e1",
        &[public(1, Role::Customer, 0), WriteOp::Message(m)],
    );
    let snapshot = backend.load(&client("e1"), 10).expect("load");
    assert_eq!(snapshot.recent[1].event.as_deref(), Some(&event));
    assert_eq!(snapshot.recent[1].text, "Resolved by Ana");
}

#[test]
fn a_schema_4_database_gets_notes_and_events_with_every_message_visible() {
    let dir = tempfile::tempdir().expect("temp dir");
    let conn = schema_1_database(dir.path());
    migrate(&conn, &dir.path().join(DB_FILE), 1, 4).expect("schema 4");
    drop(conn);
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
