//! Typing, read marks, resolving, posting without a socket.

use super::*;

#[actix_web::test]
async fn typing_reaches_only_the_other_side_and_is_never_stored() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    let agent = chat.connect(Role::Agent).await;

    chat.typing(Role::Customer, true).await;
    chat.typing(Role::Customer, false).await;
    chat.typing(Role::Agent, true).await;
    chat.post(Role::Customer, "done typing").await;
    customer.message(1).await;
    agent.message(1).await;

    assert_eq!(
        agent.frames_of_type("typing"),
        [
            json!({"type": "typing", "role": "customer", "active": true}),
            json!({"type": "typing", "role": "customer", "active": false}),
        ]
    );
    assert_eq!(
        customer.frames_of_type("typing"),
        [json!({"type": "typing", "role": "agent", "active": true,
                "author": {"id": 0, "name": "API"}})]
    );
    assert_eq!(seqs(&chat.whole_history().await), [1]);
}

#[actix_web::test]
async fn read_marks_reach_the_peer_only_move_forward_and_survive_eviction() {
    let chat = Chat::start_with(in_memory_backend(), quick_eviction());
    let customer = chat.connect(Role::Customer).await;
    let agent = chat.connect(Role::Agent).await;
    chat.post_many(Role::Customer, 1..=3).await;
    agent.message(3).await;

    chat.mark_read(Role::Agent, 2).await;
    chat.mark_read(Role::Agent, 1).await; // backwards: ignored
    chat.mark_read(Role::Agent, 2).await; // no news: ignored
    chat.mark_read(Role::Agent, 99).await; // beyond the end: clamped
    chat.post(Role::Customer, "marker").await;
    customer.message(4).await;
    assert_eq!(
        customer.frames_of_type("read"),
        [
            json!({"type": "read", "role": "agent", "seq": 2}),
            json!({"type": "read", "role": "agent", "seq": 3}),
        ]
    );
    assert!(
        agent.frames_of_type("read").is_empty(),
        "only the peer is told"
    );

    chat.leave_and_wait_for_eviction(&customer, &agent).await;
    let agent = chat.connect(Role::Agent).await;
    let (welcome, _) = agent.greeting().await;
    assert_eq!(welcome["read_seq"], 3, "the mark was stored");
    assert_eq!(welcome["peer_read_seq"], 0);
    let (welcome, _) = chat.connect(Role::Customer).await.greeting().await;
    assert_eq!(welcome["read_seq"], 0);
    assert_eq!(welcome["peer_read_seq"], 3);
}

#[actix_web::test]
async fn only_an_agent_resolves_and_a_customer_message_reopens() {
    let chat = Chat::start_with(in_memory_backend(), quick_eviction());
    let customer = chat.connect(Role::Customer).await;
    let agent = chat.connect(Role::Agent).await;
    assert_eq!(chat.resolve(Role::Agent).await, Err(AppError::NotFound));

    chat.post(Role::Customer, "my order is late").await;
    agent.message(1).await;
    assert!(matches!(
        chat.resolve(Role::Customer).await,
        Err(AppError::Forbidden(_))
    ));
    assert_eq!(chat.resolve(Role::Agent).await, Ok(()));
    assert_eq!(
        chat.resolve(Role::Agent).await,
        Ok(()),
        "resolving twice is fine"
    );
    let resolved = json!({"type": "status", "status": "resolved"});
    // Seq 2 is the "Resolved" event, which only agents see.
    chat.post(Role::Agent, "it is on its way").await;
    customer.message(3).await;
    for socket in [&customer, &agent] {
        assert_eq!(
            socket.frames_of_type("status"),
            std::slice::from_ref(&resolved)
        );
    }

    chat.post(Role::Customer, "it did not come").await;
    let reopened = json!({"type": "status", "status": "open"});
    for socket in [&customer, &agent] {
        socket.message(4).await;
        let frames = socket.frames();
        let after_message = frames
            .iter()
            .skip_while(|f| f["seq"] != 4)
            .cloned()
            .collect::<Vec<_>>();
        assert_eq!(
            of_type(&after_message, "status"),
            std::slice::from_ref(&reopened),
            "the customer's message reopens it, and is announced after it"
        );
    }

    chat.resolve(Role::Agent).await.unwrap();
    chat.leave_and_wait_for_eviction(&customer, &agent).await;
    let (welcome, _) = chat.connect(Role::Agent).await.greeting().await;
    assert_eq!(welcome["status"], "resolved", "the status was stored");
}

/// A customer message still being written when the agent resolves: the
/// session reopens the conversation when the message commits, so the store
/// must end up open too (the inbox and every reload read the store).
#[actix_web::test]
async fn a_customer_message_racing_a_resolve_leaves_the_store_agreeing_with_the_session() {
    let backend = ControlledBackend::new();
    let chat = Chat::start_with(backend.clone(), settings());
    let customer = chat.connect(Role::Customer).await;
    let agent = chat.connect(Role::Agent).await;
    chat.post(Role::Customer, "my order is late").await;
    chat.post(Role::Agent, "it is on its way, bye").await;
    customer.message(2).await;

    backend.hold();
    chat.post(Role::Customer, "wait, one more thing").await;
    let resolved = chat.resolve(Role::Agent).await;
    backend.release();
    assert_eq!(resolved, Ok(()));
    agent.message(3).await;
    let told = agent
        .wait_until("status open", |log| {
            let statuses = of_type(&frames_of(log), "status");
            (statuses.len() >= 2).then_some(statuses)
        })
        .await;
    assert_eq!(
        told.last().unwrap()["status"],
        "open",
        "the sockets are told the conversation is open again"
    );

    chat.store.flush_blocking();
    let stored = backend.inner.load(&chat.client, 1).unwrap();
    assert_eq!(
        stored.last_seq, 5,
        "the message, then the events Resolved (4) and Reopened (5)"
    );
    let summary = &backend
        .inner
        .summaries_of(std::slice::from_ref(&chat.client))
        .unwrap()[0];
    assert_eq!(
        (stored.status, summary.waiting),
        (ConversationStatus::Open, true),
        "the store must agree with the session: open, the customer waiting"
    );
}

#[actix_web::test]
async fn a_post_without_a_socket_learns_its_outcome_through_its_ack() {
    let backend = ControlledBackend::new();
    let chat = Chat::start_with(backend.clone(), settings());
    let customer = chat.connect(Role::Customer).await;

    let stored = chat
        .post_acked(Role::Agent, "Hello from the API", Some("api-1"))
        .await
        .expect("stored");
    assert_eq!((stored.seq, stored.from), (1, Role::Agent));
    let seen = customer.message(1).await;
    assert_eq!(seen["text"], "Hello from the API");
    assert_eq!(seen["id"], "api-1");
    assert_eq!(chat.last_seq().await, 1);

    let again = chat
        .post_acked(Role::Agent, "Hello from the API (retry)", Some("api-1"))
        .await;
    assert_eq!(again, Ok(stored.clone()), "a retry gets the stored message");

    backend.fail(true);
    let refused = chat.post_acked(Role::Agent, "lost", Some("api-2")).await;
    assert_eq!(refused, Err(AppError::StoreUnavailable));
    backend.fail(false);

    let next = chat.post_acked(Role::Agent, "found", None).await.unwrap();
    assert_eq!(next.seq, 2, "no seq was used up by the failure");
    customer.message(2).await;
    assert_eq!(
        seqs(&customer.messages()),
        [1, 2],
        "the retry was not relayed"
    );
    assert!(customer.errors().is_empty());
    assert_eq!(chat.last_seq().await, 2);
}

#[actix_web::test]
async fn a_conversation_nobody_watches_drops_its_window_and_serves_it_again() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    chat.post_with_id(Role::Customer, "before", "c-1").await;
    customer.message(1).await;
    chat.detach(Role::Customer, &customer).await;

    // While nobody is connected: an API post, and a retry of an old id.
    let stored = chat
        .post_acked(Role::Agent, "while away", Some("a-1"))
        .await
        .unwrap();
    assert_eq!(stored.seq, 2);
    let retry = chat
        .post_acked(Role::Customer, "before", Some("c-1"))
        .await
        .unwrap();
    assert_eq!(retry.seq, 1, "the old id is still known");

    let agent = chat.connect(Role::Agent).await;
    let (welcome, history) = agent.greeting().await;
    assert_eq!(welcome["last_seq"], 2);
    assert_eq!(texts(&history_messages(&history)), ["before", "while away"]);
    chat.post(Role::Agent, "after").await;
    assert_eq!(agent.message(3).await["text"], "after");
}
