//! Full-text search over what people wrote: every word must match, case
//! and accents ignored, the last word also as a prefix, the best match of
//! each conversation, best conversations first, in pages; notes found,
//! events not; erased and anonymised texts gone from it.

use super::*;
use crate::store::{SearchPage, SearchQuery};

on_both!(
    words_find_their_conversations_best_first_with_the_match_marked,
    results_come_in_pages_of_conversations,
    erased_and_anonymised_texts_are_not_found,
);

fn search(engine: &Engine, text: &str) -> SearchPage {
    page(engine, text, 0, 20)
}

fn page(engine: &Engine, text: &str, offset: usize, limit: usize) -> SearchPage {
    engine.catch_up().expect("index caught up");
    engine
        .search(&SearchQuery {
            text: text.into(),
            offset,
            limit,
        })
        .expect("search")
}

fn found(page: &SearchPage) -> Vec<&str> {
    page.hits
        .iter()
        .map(|h| h.conversation.client_id.as_str())
        .collect()
}

fn words_find_their_conversations_best_first_with_the_match_marked(engine: &Engine) {
    commit(
        &**engine,
        "s-weak",
        &[saying(
            1,
            Role::Customer,
            "Hello, I have a question about my account and a late Order too",
        )],
    );
    commit(
        &**engine,
        "s-strong",
        &[saying(1, Role::Customer, "ORDER order order")],
    );
    let WriteOp::Message(mut note) = saying(2, Role::Agent, "internal: check the order history")
    else {
        unreachable!("saying() makes messages")
    };
    note.private = true;
    commit(
        &**engine,
        "s-none",
        &[
            saying(1, Role::Customer, "nothing to see here"),
            WriteOp::Message(note),
        ],
    );

    let hits = search(engine, "order");
    assert_eq!(found(&hits), ["s-strong", "s-none", "s-weak"], "ranked");
    let weak = &hits.hits[2];
    let marked: Vec<&str> = weak
        .highlight
        .iter()
        .filter(|f| f.matched)
        .map(|f| f.text.as_str())
        .collect();
    assert_eq!(marked, ["Order"], "case-insensitive, marked as written");
    assert_eq!(weak.message.seq, 1);
    assert!(hits.hits[1].message.private, "notes are found, flagged");

    assert_eq!(
        found(&search(engine, "late ord")),
        ["s-weak"],
        "a prefix last"
    );
    assert!(
        found(&search(engine, "late banana")).is_empty(),
        "every word"
    );
    assert!(
        found(&search(engine, "ord late")).is_empty(),
        "only the last is a prefix"
    );
    assert!(found(&search(engine, "\"order OR NEAR(")).is_empty());
    assert!(found(&search(engine, "  ")).is_empty());

    commit(
        &**engine,
        "s-accent",
        &[saying(1, Role::Customer, "Crème brûlée pour Zoë")],
    );
    assert_eq!(found(&search(engine, "creme BRULEE")), ["s-accent"]);
    assert_eq!(found(&search(engine, "zoe")), ["s-accent"]);
}

fn results_come_in_pages_of_conversations(engine: &Engine) {
    for i in 0..5 {
        commit(
            &**engine,
            &format!("p-{i}"),
            &[
                saying(1, Role::Customer, "refund please"),
                saying(2, Role::Customer, "my refund?"),
            ],
        );
    }
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let hits = page(engine, "refund", offset, 2);
        assert!(hits.hits.len() <= 2);
        seen.extend(found(&hits).into_iter().map(str::to_owned));
        match hits.next_offset {
            Some(next) => offset = next,
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, ["p-0", "p-1", "p-2", "p-3", "p-4"], "each once");
}

fn erased_and_anonymised_texts_are_not_found(engine: &Engine) {
    for id in ["gone", "blank", "kept"] {
        commit(
            &**engine,
            id,
            &[saying(1, Role::Customer, "my parcel tracking number")],
        );
    }
    assert_eq!(search(engine, "parcel").hits.len(), 3);
    commit(&**engine, "gone", &[WriteOp::Erase]);
    commit(&**engine, "blank", &[WriteOp::Anonymise]);
    assert_eq!(found(&search(engine, "parcel")), ["kept"]);
}
