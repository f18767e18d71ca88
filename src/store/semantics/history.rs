//! A conversation's history: what a session loads, pages back and forth,
//! finds by client message id; a write that does not follow the last seq
//! changes nothing; notes and events keep their seq without touching the
//! customer's chat; contact details.

use super::*;
use crate::domain::{AgentId, Author, Contact, ContactEmail, ContactName, Event};

on_both!(
    a_snapshot_has_the_last_seq_the_newest_messages_and_the_known_ids,
    history_pages_go_back_and_forth_in_seq_order,
    a_message_that_does_not_follow_the_last_seq_changes_nothing,
    a_note_keeps_the_wait_the_unread_count_and_the_preview,
    an_event_is_stored_with_its_fields,
    contacts_are_replaced_cleared_and_shown_in_summaries,
);

fn seqs(messages: &[ChatMessage]) -> Vec<u64> {
    messages.iter().map(|m| m.seq).collect()
}

fn a_snapshot_has_the_last_seq_the_newest_messages_and_the_known_ids(engine: &Engine) {
    let empty = engine.load(&client("new"), 10).expect("load");
    assert_eq!(empty.last_seq, 0);
    assert!(empty.recent.is_empty() && empty.known_ids_complete);

    let ops: Vec<WriteOp> = (1..=5)
        .map(|seq| {
            message(
                seq,
                if seq % 2 == 1 {
                    Role::Customer
                } else {
                    Role::Agent
                },
            )
        })
        .collect();
    commit(&**engine, "five", &ops);
    let snapshot = engine.load(&client("five"), 3).expect("load");
    assert_eq!(snapshot.last_seq, 5);
    assert_eq!(snapshot.last_public_seq, 5);
    assert_eq!(seqs(&snapshot.recent), [3, 4, 5]);
    assert_eq!(snapshot.recent[2].text, "message 5");
    let mut known = snapshot.known_ids.clone();
    known.sort_by_key(|(_, id)| id.clone());
    assert_eq!(known[0], (Role::Customer, "id-1".to_owned()));
    assert_eq!(known.len(), 5);
    assert!(snapshot.known_ids_complete);

    let found = engine
        .find_by_client_id(&client("five"), Role::Agent, "id-2")
        .expect("find");
    assert_eq!(found.map(|m| m.seq), Some(2));
    let other_role = engine
        .find_by_client_id(&client("five"), Role::Customer, "id-2")
        .expect("find");
    assert_eq!(other_role, None, "ids are per role");
}

fn history_pages_go_back_and_forth_in_seq_order(engine: &Engine) {
    let ops: Vec<WriteOp> = (1..=9).map(|seq| message(seq, Role::Customer)).collect();
    commit(&**engine, "pages", &ops);
    let c = client("pages");
    let back = engine.before(&c, 8, 3, Role::Customer).expect("before");
    assert_eq!(seqs(&back), [5, 6, 7]);
    let first = engine.before(&c, 3, 10, Role::Agent).expect("before");
    assert_eq!(seqs(&first), [1, 2]);
    let forth = engine.after(&c, 6, 10).expect("after");
    assert_eq!(seqs(&forth), [7, 8, 9]);
    let capped = engine.after(&c, 0, 4).expect("after");
    assert_eq!(seqs(&capped), [1, 2, 3, 4]);
    assert!(engine.after(&c, 9, 10).expect("after").is_empty());
}

fn a_message_that_does_not_follow_the_last_seq_changes_nothing(engine: &Engine) {
    commit(&**engine, "gap", &[message(1, Role::Customer)]);
    let accepted = try_commit(&**engine, "gap", &[message(3, Role::Customer)]);
    assert_eq!(accepted, [false], "not the next seq");
    let accepted = try_commit(
        &**engine,
        "gap",
        &[message(2, Role::Agent), message(2, Role::Customer)],
    );
    assert_eq!(accepted, [true, false], "only the next seq, once");
    let accepted = try_commit(
        &**engine,
        "gap",
        &[message(4, Role::Customer), message(3, Role::Customer)],
    );
    assert_eq!(
        accepted,
        [false, false],
        "after a refused message its conversation's later ones in the batch are refused too"
    );
    let refused_start = try_commit(&**engine, "never", &[message(2, Role::Customer)]);
    assert_eq!(refused_start, [false]);
    assert!(engine
        .summaries_of(&[client("never")])
        .expect("summaries")
        .is_empty());
    let snapshot = engine.load(&client("gap"), 10).expect("load");
    assert_eq!(seqs(&snapshot.recent), [1, 2]);
    assert_eq!(snapshot.recent[1].from, Role::Agent);
    assert_eq!(all_summaries(&**engine, ListQuery::default()).len(), 1);
}

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

fn a_note_keeps_the_wait_the_unread_count_and_the_preview(engine: &Engine) {
    commit(&**engine, "n1", &[public(1, Role::Customer, 0), note(2, 1)]);
    let summary = &engine.summaries_of(&[client("n1")]).expect("summary")[0];
    assert!(summary.waiting, "a note answers nobody");
    assert_eq!(summary.unread, 1);
    assert_eq!(summary.preview, "message 1");
    assert_eq!(summary.last_seq, 2, "the note has its own seq");
    super::counters::assert_counters_agree(&**engine);

    let snapshot = engine.load(&client("n1"), 10).expect("load");
    assert_eq!(snapshot.last_seq, 2);
    assert_eq!(snapshot.last_public_seq, 1);
    assert!(snapshot.recent[1].private);

    commit(&**engine, "n1", &[public(3, Role::Agent, 1)]);
    let customer = engine
        .before(&client("n1"), 10, 10, Role::Customer)
        .expect("customer page");
    assert_eq!(seqs(&customer), [1, 3]);
    assert_eq!(
        customer[1].prev_public, 1,
        "the customer's chain skips the note"
    );
    let agents = engine
        .before(&client("n1"), 10, 10, Role::Agent)
        .expect("agent page");
    assert_eq!(agents.len(), 3);
}

fn an_event_is_stored_with_its_fields(engine: &Engine) {
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
        &**engine,
        "e1",
        &[public(1, Role::Customer, 0), WriteOp::Message(m)],
    );
    let snapshot = engine.load(&client("e1"), 10).expect("load");
    assert_eq!(snapshot.recent[1].event.as_deref(), Some(&event));
    assert_eq!(snapshot.recent[1].text, "Resolved by Ana");
}

pub(super) fn contact(name: Option<&str>, email: Option<&str>) -> Contact {
    Contact {
        name: name.map(|n| ContactName::parse(n).expect("a name")),
        email: email.map(|e| ContactEmail::parse(e).expect("an email")),
        lang: None,
        transcript: false,
    }
}

fn contacts_are_replaced_cleared_and_shown_in_summaries(engine: &Engine) {
    let early = contact(Some("Bo"), None);
    commit(&**engine, "bo", &[WriteOp::Contact(early.clone())]);
    let snapshot = engine.load(&client("bo"), 10).expect("load");
    assert_eq!(snapshot.last_seq, 0, "no conversation row yet");
    assert_eq!(snapshot.contact, early, "but the pre-chat details are kept");
    assert!(
        engine
            .summaries(&ListQuery::default())
            .expect("list")
            .items
            .is_empty(),
        "a contact alone lists nothing"
    );

    commit(&**engine, "bo", &[message(1, Role::Customer)]);
    let mut both = contact(Some("Bo"), Some("bo@example.com"));
    both.transcript = true;
    both.lang = crate::domain::Lang::parse("zh");
    commit(&**engine, "bo", &[WriteOp::Contact(both.clone())]);
    assert_eq!(engine.load(&client("bo"), 1).expect("load").contact, both);
    let listed = engine.summaries(&ListQuery::default()).expect("list");
    let shown = listed.items[0].contact.clone().expect("a contact");
    assert_eq!(
        (shown.name, shown.email),
        (both.name.clone(), both.email.clone())
    );
    let of = engine.summaries_of(&[client("bo")]).expect("summaries");
    assert!(of[0].contact.is_some());

    commit(&**engine, "bo", &[WriteOp::Contact(Contact::default())]);
    let of = engine.summaries_of(&[client("bo")]).expect("summaries");
    assert_eq!(of[0].contact, None, "cleared");
}
