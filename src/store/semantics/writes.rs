//! Writes with consequences beyond the conversation's row: the outbox row
//! queued in the transaction of its resolve, files claimed by the message
//! that sends them, erase and anonymise taking everything personal along.

use super::*;
use crate::domain::{
    Attachment, AttachmentId, ContactEmail, ConversationStatus, FileName, Notice, NoticeKind,
};

on_both!(
    a_resolve_queues_its_transcript_once_in_the_same_transaction,
    a_customer_who_unsubscribed_gets_no_transcript,
    a_file_belongs_to_the_one_message_that_sends_it,
    erase_removes_the_conversation_and_everything_of_it,
    anonymise_keeps_the_numbering_and_removes_the_rest,
);

fn transcript(seq: u64) -> WriteOp {
    WriteOp::ResolveWithTranscript(Notice {
        kind: NoticeKind::Transcript,
        seq,
        to: ContactEmail::parse("ana@example.com").expect("an email"),
    })
}

fn count(engine: &Engine, table: &str, id: &str) -> usize {
    rows(
        &**engine,
        &format!("SELECT client_id FROM {table} WHERE client_id = '{id}'"),
    )
    .len()
}

fn outbox_rows(engine: &Engine, id: &str) -> Vec<Vec<Option<String>>> {
    rows(
        &**engine,
        &format!(
        "SELECT kind, CAST(seq AS TEXT), recipient FROM outbox WHERE client_id = '{id}' ORDER BY id"
    ),
    )
}

fn a_resolve_queues_its_transcript_once_in_the_same_transaction(engine: &Engine) {
    commit(
        &**engine,
        "ana",
        &[
            message(1, Role::Customer),
            message(2, Role::Agent),
            transcript(2),
        ],
    );
    assert_eq!(
        engine.load(&client("ana"), 10).expect("load").status,
        ConversationStatus::Resolved
    );
    commit(&**engine, "ana", &[transcript(2)]);
    let text = |s: &str| Some(s.to_owned());
    assert_eq!(
        outbox_rows(engine, "ana"),
        [vec![text("transcript"), text("2"), text("ana@example.com")]],
        "the same notice is queued once"
    );
    let unknown = try_commit(&**engine, "nobody", &[transcript(1)]);
    assert_eq!(unknown, [false], "no conversation, no resolve, no email");
    assert!(outbox_rows(engine, "nobody").is_empty());
}

fn a_customer_who_unsubscribed_gets_no_transcript(engine: &Engine) {
    commit(&**engine, "optout", &[message(1, Role::Customer)]);
    exec(
        &**engine,
        "INSERT INTO contacts (client_id, email, updated_at, email_optout)
         VALUES ('optout', 'ana@example.com', 0, 1)",
    );
    commit(&**engine, "optout", &[transcript(1)]);
    assert!(outbox_rows(engine, "optout").is_empty());
}

/// An uploaded, not yet sent file of `client`, by `uploader`.
fn upload(engine: &Engine, client: &str, uploader: Role) -> Attachment {
    let id = AttachmentId::random();
    exec(
        &**engine,
        &format!(
            "INSERT INTO attachments (id, client_id, uploader, name, mime, size, created_at, data)
         VALUES ('{}', '{client}', {}, 'a.txt', 'text/plain', 2, 0, {})",
            id.as_str(),
            uploader.code(),
            engine.blob("6869")
        ),
    );
    Attachment {
        id,
        name: FileName::sanitise("a.txt", "file"),
        size: 2,
        mime: "text/plain".into(),
        width: None,
        height: None,
    }
}

fn with_file(seq: u64, from: Role, file: &Attachment) -> WriteOp {
    let WriteOp::Message(mut m) = saying(seq, from, "") else {
        unreachable!("saying() makes messages")
    };
    m.attachments = vec![file.clone()];
    WriteOp::Message(m)
}

fn a_file_belongs_to_the_one_message_that_sends_it(engine: &Engine) {
    let file = upload(engine, "files", Role::Customer);
    let theirs = upload(engine, "files", Role::Agent);
    let elsewhere = upload(engine, "other", Role::Customer);
    commit(&**engine, "files", &[message(1, Role::Customer)]);
    let accepted: Vec<bool> = [
        with_file(2, Role::Customer, &theirs),
        with_file(2, Role::Customer, &elsewhere),
        with_file(2, Role::Customer, &file),
        with_file(3, Role::Customer, &file),
    ]
    .into_iter()
    .flat_map(|write| try_commit(&**engine, "files", &[write]))
    .collect();
    assert_eq!(
        accepted,
        [false, false, true, false],
        "only this side's own unsent file of this conversation, once"
    );
    let stored = engine.load(&client("files"), 10).expect("load").recent;
    assert_eq!(stored[1].attachments, std::slice::from_ref(&file));
    let summary = &engine.summaries_of(&[client("files")]).expect("summary")[0];
    assert_eq!(
        summary.preview, "📎 a.txt",
        "a file without text shows its name"
    );
    let claimed = rows(
        &**engine,
        &format!(
            "SELECT CAST(seq AS TEXT) FROM attachments WHERE id = '{}'",
            file.id.as_str()
        ),
    );
    assert_eq!(claimed, [vec![Some("2".to_owned())]]);
}

/// A conversation with a message, a contact, a label, a file, an email
/// queued and a reply address.
fn full_conversation(engine: &Engine, id: &str) {
    let file = upload(engine, id, Role::Customer);
    commit(
        &**engine,
        id,
        &[
            saying(1, Role::Customer, "my secret address"),
            with_file(2, Role::Customer, &file),
            WriteOp::Contact(super::history::contact(
                Some("Ana"),
                Some("ana@example.com"),
            )),
            transcript(2),
        ],
    );
    exec(
        &**engine,
        &format!(
            "INSERT INTO reply_tokens (token, client_id, expires_at) VALUES ('{id}', '{id}', 0);
         INSERT INTO conversation_labels (client_id, label_id) VALUES ('{id}', 1);"
        ),
    );
}

const PERSONAL: [&str; 4] = ["contacts", "attachments", "outbox", "reply_tokens"];

fn erase_removes_the_conversation_and_everything_of_it(engine: &Engine) {
    full_conversation(engine, "erased");
    full_conversation(engine, "kept");
    commit(&**engine, "erased", &[WriteOp::Erase]);
    for table in PERSONAL
        .iter()
        .chain(&["messages", "conversations", "conversation_labels"])
    {
        assert_eq!(count(engine, table, "erased"), 0, "{table}");
        assert_eq!(
            count(engine, table, "kept"),
            if *table == "messages" { 2 } else { 1 },
            "{table}"
        );
    }
    let snapshot = engine.load(&client("erased"), 10).expect("load");
    assert_eq!(snapshot.last_seq, 0);
    assert_eq!(try_commit(&**engine, "erased", &[WriteOp::Erase]), [false]);
}

fn anonymise_keeps_the_numbering_and_removes_the_rest(engine: &Engine) {
    full_conversation(engine, "anon");
    commit(&**engine, "anon", &[WriteOp::Anonymise]);
    for table in PERSONAL {
        assert_eq!(count(engine, table, "anon"), 0, "{table}");
    }
    let snapshot = engine.load(&client("anon"), 10).expect("load");
    assert_eq!(snapshot.last_seq, 2);
    assert!(snapshot.known_ids.is_empty(), "client message ids removed");
    assert!(snapshot
        .recent
        .iter()
        .all(|m| m.text == "[removed]" && m.attachments.is_empty() && m.id.is_none()));
    let summary = &engine.summaries_of(&[client("anon")]).expect("summary")[0];
    assert_eq!((summary.last_seq, summary.unread), (2, 2), "counters stay");
    commit(&**engine, "anon", &[message(3, Role::Agent)]);
}
