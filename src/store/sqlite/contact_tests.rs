//! Contact details in SQLite: the schema-4 to schema-5 migration and the
//! schema-9 columns. (Writes and reads of contacts are tested on both
//! backends in `store/semantics/`.)

use super::tests::{client, commit, open_migrated, schema_database};
use super::*;
use crate::domain::{Contact, ContactEmail, ContactName, Lang};
use crate::store::WriteOp;

fn contact(name: Option<&str>, email: Option<&str>) -> Contact {
    Contact {
        name: name.map(|n| ContactName::parse(n).expect("a name")),
        email: email.map(|e| ContactEmail::parse(e).expect("an email")),
        lang: None,
        transcript: false,
    }
}

#[test]
fn a_schema_4_database_gets_contacts_with_every_conversation_intact() {
    let dir = tempfile::tempdir().expect("temp dir");
    drop(schema_database(dir.path(), 4));
    let (backend, _lock) = open_migrated(dir.path());
    let alpha = backend.load(&client("alpha"), 10).expect("load");
    assert_eq!(alpha.last_seq, 4, "conversations are untouched");
    assert_eq!(alpha.contact, Contact::default(), "and have no contact yet");
    let ana = contact(Some("Ana"), Some("ana@example.com"));
    commit(&backend, "alpha", &[WriteOp::Contact(ana.clone())]);
    assert_eq!(
        backend.load(&client("alpha"), 10).expect("load").contact,
        ana
    );
}

#[test]
fn a_schema_9_contact_has_no_language_nor_opt_in_until_the_customer_gives_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let conn = schema_database(dir.path(), 9);
    conn.execute(
        "INSERT INTO contacts (client_id, email, updated_at) VALUES ('alpha', 'a@example.com', 1)",
        [],
    )
    .expect("a schema-9 contact");
    drop(conn);
    let (backend, _lock) = SqliteBackend::open(dir.path(), Durability::Normal).expect("opens");
    let before = backend.load(&client("alpha"), 10).expect("load").contact;
    assert_eq!(
        before,
        contact(None, Some("a@example.com")),
        "kept, no language"
    );
    let chinese = Contact {
        lang: Some(Lang::Zh),
        transcript: true,
        ..before
    };
    commit(&backend, "alpha", &[WriteOp::Contact(chinese.clone())]);
    let after = backend.load(&client("alpha"), 10).expect("load").contact;
    assert_eq!(
        after, chinese,
        "the language and opt-in are stored with the contact"
    );
}
