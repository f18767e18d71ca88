//! Idempotent message ids.

use super::*;

#[actix_web::test]
async fn a_retried_message_id_is_stored_once_and_acknowledged_again() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    let agent = chat.connect(Role::Agent).await;

    chat.post_with_id(Role::Customer, "Where is my parcel?", "m1")
        .await;
    let original = customer.message(1).await;
    agent.message(1).await;

    chat.post_with_id(Role::Customer, "Where is my parcel? (retry)", "m1")
        .await;
    // A later message marks the point by which the retry was answered.
    chat.post(Role::Customer, "hello?").await;
    customer.message(2).await;
    agent.message(2).await;

    let acks = customer.messages();
    assert_eq!(
        seqs(&acks),
        [1, 1, 2],
        "the sender gets the stored copy again"
    );
    assert_eq!(
        acks[1], original,
        "the stored message, not the retried text"
    );
    assert_eq!(seqs(&agent.messages()), [1, 2], "the peer sees it once");

    // The same id from the other role is a different message.
    chat.post_with_id(Role::Agent, "On its way", "m1").await;
    let reply = agent.message(3).await;
    assert_eq!(reply["from"], "agent");
    assert_eq!(reply["id"], "m1");
    assert_eq!(customer.message(3).await, reply);

    let stored = chat.whole_history().await;
    assert_eq!(seqs(&stored), [1, 2, 3]);
    assert_eq!(
        texts(&stored),
        ["Where is my parcel?", "hello?", "On its way"]
    );
}

#[actix_web::test]
async fn a_retry_sent_before_the_original_is_acknowledged_is_stored_once() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    let agent = chat.connect(Role::Agent).await;
    let session = chat.session().await;
    for _ in 0..3 {
        session.do_send(plain_post(
            Role::Customer,
            "quick".into(),
            Some("fast"),
            chat.poster(Role::Customer),
        ));
    }
    chat.post(Role::Customer, "marker").await;
    customer.message(2).await;
    agent.message(2).await;

    assert_eq!(seqs(&agent.messages()), [1, 2], "stored once");
    let acks = customer.messages();
    assert!(!acks.is_empty() && acks.iter().all(|m| m["seq"] == 1 || m["seq"] == 2));
    assert!(
        acks.iter().filter(|m| m["seq"] == 1).all(|m| *m == acks[0]),
        "every acknowledgement of the retried id is the same stored message"
    );
    assert_eq!(seqs(&chat.whole_history().await), [1, 2]);
}

#[actix_web::test]
async fn an_id_older_than_the_memory_window_is_still_recognised() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    let agent = chat.connect(Role::Agent).await;

    chat.post_with_id(Role::Customer, "the very first", "old-1")
        .await;
    let original = customer.message(1).await;
    let newer = RECENT_WINDOW as u64 + 50;
    chat.post_many(Role::Agent, 2..=newer + 1).await;
    customer.message(newer + 1).await;
    agent.message(newer + 1).await;

    chat.post_with_id(Role::Customer, "the very first, again", "old-1")
        .await;
    // A fresh id also goes through the store lookup, and is stored.
    chat.post_with_id(Role::Customer, "something new", "new-1")
        .await;
    let fresh = customer.message(newer + 2).await;
    assert_eq!(fresh["id"], "new-1");
    agent.message(newer + 2).await;

    let acks = customer.messages();
    let again: Vec<&Value> = acks.iter().filter(|m| m["seq"] == 1).collect();
    assert_eq!(
        again.len(),
        2,
        "the retry was answered with the stored copy"
    );
    assert_eq!(*again[1], original);
    assert_eq!(
        agent.messages().len() as u64,
        newer + 2,
        "the peer never sees the retry"
    );
    let last = chat.history_before(u64::MAX, 1).await;
    assert_eq!(seqs(&history_messages(&last)), [newer + 2]);
}
