//! Contact details in SQLite: the schema-4 to schema-5 migration, writes
//! that replace and clear them, and where reads find them.

use super::schema::migrate;
use super::tests::{client, commit, message, schema_1_database};
use super::*;
use crate::domain::{Contact, ContactEmail, ContactName, Lang, Role};
use crate::store::{ListQuery, WriteOp};

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
    let conn = schema_1_database(dir.path());
    migrate(&conn, &dir.path().join(DB_FILE), 1, 4).expect("schema 4");
    drop(conn);
    let (backend, _lock) = SqliteBackend::open(dir.path(), Durability::Normal).expect("opens");
    let version: i64 = backend
        .read(|conn| conn.query_row("PRAGMA user_version", [], |r| r.get(0)))
        .expect("version");
    assert_eq!(version, SCHEMA_VERSION);
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
fn contacts_are_replaced_cleared_and_shown_in_summaries() {
    let backend = SqliteBackend::open_in_memory().expect("store");
    let early = contact(Some("Bo"), None);
    commit(&backend, "bo", &[WriteOp::Contact(early.clone())]);
    let snapshot = backend.load(&client("bo"), 10).expect("load");
    assert_eq!(snapshot.last_seq, 0, "no conversation row yet");
    assert_eq!(snapshot.contact, early, "but the pre-chat details are kept");
    assert!(
        backend
            .summaries(&ListQuery::default())
            .expect("list")
            .items
            .is_empty(),
        "a contact alone lists nothing"
    );

    commit(&backend, "bo", &[message(1, Role::Customer)]);
    let both = contact(Some("Bo"), Some("bo@example.com"));
    commit(&backend, "bo", &[WriteOp::Contact(both.clone())]);
    let listed = backend.summaries(&ListQuery::default()).expect("list");
    assert_eq!(listed.items[0].contact, Some(both.clone()));
    let of = backend.summaries_of(&[client("bo")]).expect("summaries");
    assert_eq!(of[0].contact, Some(both));

    commit(&backend, "bo", &[WriteOp::Contact(Contact::default())]);
    let of = backend.summaries_of(&[client("bo")]).expect("summaries");
    assert_eq!(of[0].contact, None, "cleared");
}

/// The list's search finds a conversation by the name or email its customer
/// gave, ignoring case, as well as by its id.
#[test]
fn the_list_search_finds_customers_by_name_and_email() {
    let backend = SqliteBackend::open_in_memory().expect("in-memory");
    for id in ["order-1", "order-2", "other"] {
        commit(&backend, id, &[message(1, Role::Customer)]);
    }
    commit(
        &backend,
        "order-2",
        &[WriteOp::Contact(contact(
            Some("Ana Lima"),
            Some("ana@shop.example"),
        ))],
    );
    let found = |search: &str| -> Vec<String> {
        let query = ListQuery {
            search: Some(search.into()),
            limit: 50,
            ..ListQuery::default()
        };
        let mut ids: Vec<String> = backend
            .summaries(&query)
            .expect("list")
            .items
            .into_iter()
            .map(|s| s.client_id.as_str().to_owned())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(found("LIMA"), ["order-2"]);
    assert_eq!(found("shop.example"), ["order-2"]);
    assert_eq!(found("order"), ["order-1", "order-2"], "ids still match");
    assert!(found("nobody").is_empty());
}

#[test]
fn a_schema_9_contact_has_no_language_nor_opt_in_until_the_customer_gives_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let conn = schema_1_database(dir.path());
    migrate(&conn, &dir.path().join(DB_FILE), 1, 9).expect("schema 9");
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
