//! The agents' list and routing's reads: pages through cursors in the
//! list's order, the views Mine and Unassigned, labels, the list's search
//! by id, name and email, the queue, an agent's conversations and the
//! counts per assignee.

use super::history::contact;
use super::*;
use crate::domain::{AgentId, ConversationStatus, View};

on_both!(
    the_list_pages_through_every_conversation_in_its_order,
    views_labels_and_the_queue_follow_assignment,
    search_ignores_case_but_ids_do_not,
    the_list_search_finds_customers_by_name_and_email,
);

fn the_list_pages_through_every_conversation_in_its_order(engine: &Engine) {
    for i in 0..20 {
        let from = if i % 3 == 0 {
            Role::Agent
        } else {
            Role::Customer
        };
        commit(&**engine, &format!("c{i:02}"), &[message(1, from)]);
    }
    commit(
        &**engine,
        "c05",
        &[WriteOp::Status(ConversationStatus::Resolved)],
    );
    let listed = all_summaries(&**engine, ListQuery::default());
    assert_eq!(listed.len(), 20, "every conversation once");
    let waiting: Vec<String> = ids(&listed[..12]);
    let expected: Vec<String> = (0..20)
        .filter(|i| i % 3 != 0 && *i != 5)
        .map(|i| format!("c{i:02}"))
        .collect();
    assert_eq!(
        waiting, expected,
        "the waiting first, the longest wait first"
    );
    assert!(listed[12..].iter().all(|s| !s.waiting));
    let resolved = all_summaries(
        &**engine,
        ListQuery {
            status: Some(ConversationStatus::Resolved),
            ..ListQuery::default()
        },
    );
    assert_eq!(ids(&resolved), ["c05"]);
    let bad = engine.summaries(&ListQuery {
        cursor: Some("not a cursor".into()),
        limit: 5,
        ..ListQuery::default()
    });
    assert_eq!(bad, Err(crate::store::StoreError::InvalidCursor));
}

fn views_labels_and_the_queue_follow_assignment(engine: &Engine) {
    exec(
        &**engine,
        "INSERT INTO agents (id, name, email, role, created_at) VALUES
             (7, 'Ana', 'ana@example.com', 'agent', 0), (8, 'Bo', 'bo@example.com', 'agent', 0);
         INSERT INTO labels (id, name, color) VALUES (3, 'Refund', '#f00'), (4, 'bug', '#0f0');
         INSERT INTO conversation_labels (client_id, label_id) VALUES ('q2', 3), ('q2', 4);",
    );
    for id in ["q1", "q2", "q3", "q4"] {
        commit(&**engine, id, &[message(1, Role::Customer)]);
    }
    commit(&**engine, "q2", &[WriteOp::Assign(Some(AgentId(7)))]);
    commit(&**engine, "q3", &[WriteOp::Assign(Some(AgentId(7)))]);
    commit(&**engine, "q4", &[WriteOp::Assign(Some(AgentId(8)))]);
    commit(
        &**engine,
        "q3",
        &[WriteOp::Status(ConversationStatus::Resolved)],
    );

    let view = |view: View| {
        ids(&all_summaries(
            &**engine,
            ListQuery {
                view,
                me: AgentId(7),
                ..ListQuery::default()
            },
        ))
    };
    assert_eq!(view(View::Mine), ["q2", "q3"]);
    assert_eq!(view(View::Unassigned), ["q1"]);
    let labelled = all_summaries(
        &**engine,
        ListQuery {
            label: Some(3),
            ..ListQuery::default()
        },
    );
    assert_eq!(ids(&labelled), ["q2"]);
    let names: Vec<&str> = labelled[0].labels.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["bug", "Refund"], "labels by name, ignoring case");
    assert_eq!(
        labelled[0].assignee.as_ref().map(|a| a.name.as_str()),
        Some("Ana")
    );
    let snapshot = engine.load(&client("q2"), 1).expect("load");
    assert_eq!(snapshot.assignee.map(|a| a.id), Some(AgentId(7)));

    assert_eq!(
        engine.queue(10).expect("queue"),
        [client("q1")],
        "open, unassigned, waiting"
    );
    assert_eq!(
        engine.assigned_to(AgentId(7)).expect("assigned"),
        [client("q2")]
    );
    let open = engine
        .assignee_counts(Some(ConversationStatus::Open))
        .expect("counts");
    assert_eq!(open.unassigned, 1);
    assert_eq!(open.by_agent.get(&AgentId(7)), Some(&1));
    let all = engine.assignee_counts(None).expect("counts");
    assert_eq!(all.by_agent.get(&AgentId(7)), Some(&2));
    commit(&**engine, "q2", &[WriteOp::Assign(None)]);
    assert_eq!(engine.queue(10).expect("queue").len(), 2);
}

fn search_ignores_case_but_ids_do_not(engine: &Engine) {
    for id in ["load-12", "LOAD-120", "other"] {
        commit(&**engine, id, &[message(1, Role::Customer)]);
    }
    for search in ["LOAD-12", "load-12", "Load-12"] {
        let query = ListQuery {
            search: Some(search.into()),
            ..ListQuery::default()
        };
        let mut found = ids(&all_summaries(&**engine, query));
        found.sort();
        assert_eq!(found, ["LOAD-120", "load-12"], "search {search:?}");
    }
    let exact = engine.summaries_of(&[client("LOAD-12")]).expect("summary");
    assert!(exact.is_empty(), "LOAD-12 is not the id load-12");
    // `_` is an id character, not a wildcard.
    commit(&**engine, "a_b", &[message(1, Role::Customer)]);
    commit(&**engine, "axb", &[message(1, Role::Customer)]);
    let query = ListQuery {
        search: Some("A_B".into()),
        ..ListQuery::default()
    };
    assert_eq!(ids(&all_summaries(&**engine, query)), ["a_b"]);
}

fn the_list_search_finds_customers_by_name_and_email(engine: &Engine) {
    for id in ["order-1", "order-2", "other"] {
        commit(&**engine, id, &[message(1, Role::Customer)]);
    }
    commit(
        &**engine,
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
        let mut found = ids(&engine.summaries(&query).expect("list").items);
        found.sort();
        found
    };
    assert_eq!(found("LIMA"), ["order-2"]);
    assert_eq!(found("shop.example"), ["order-2"]);
    assert_eq!(found("order"), ["order-1", "order-2"], "ids still match");
    assert!(found("nobody").is_empty());
}
