//! Relaying messages and the history a socket gets on attach.

use super::*;

#[actix_web::test]
async fn a_customer_message_reaches_both_sides_and_the_agent_reply_comes_back() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    let agent = chat.connect(Role::Agent).await;

    chat.post_with_id(Role::Customer, "Hello, my order is late", "c-1")
        .await;
    let ack = customer.message(1).await;
    let seen = agent.message(1).await;
    assert_eq!(ack, seen, "both sides get the very same stored message");
    assert_eq!(ack["type"], "message");
    assert_eq!(ack["from"], "customer");
    assert_eq!(ack["text"], "Hello, my order is late");
    assert_eq!(
        ack["id"], "c-1",
        "the acknowledgement carries the sender's id"
    );
    assert!(ack["ts"].as_str().unwrap().ends_with('Z'));

    chat.post(Role::Agent, "Let me check").await;
    let reply = customer.message(2).await;
    assert_eq!(agent.message(2).await, reply);
    assert_eq!(reply["from"], "agent");
    assert_eq!(reply["text"], "Let me check");
    assert!(reply.get("id").is_none(), "no id when the sender gave none");

    assert_eq!(seqs(&customer.messages()), [1, 2]);
    assert_eq!(seqs(&agent.messages()), [1, 2]);
    assert!(customer.errors().is_empty() && agent.errors().is_empty());
}

#[actix_web::test]
async fn the_welcome_describes_the_conversation_and_the_role() {
    let chat = Chat::start();
    let customer = TestSocket::new();
    chat.attach(Role::Customer, 0, &customer.link).await;
    let (welcome, history) = customer.greeting().await;
    assert_eq!(
        welcome,
        json!({
            "type": "welcome",
            "role": "customer",
            "client_id": "alice",
            "last_seq": 0,
            "peer_online": false,
            "max_text_chars": 4000,
            "status": "open",
            "read_seq": 0,
            "peer_read_seq": 0,
            "contact": null,
        })
    );
    assert_eq!(
        history,
        json!({"type": "history", "messages": [], "has_more": false})
    );
}

// ---------------------------------------------------------------------------
// History on attach
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn a_socket_attaching_with_since_gets_welcome_then_exactly_the_newer_messages() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    chat.post_many(Role::Customer, 1..=10).await;
    let acks = customer.messages_through(10).await;
    assert_eq!(seqs(&acks), range(1, 10));

    for since in [0, 1, 6, 9, 10, 11] {
        let agent = chat.connect_since(Role::Agent, since).await;
        let (welcome, history) = agent.greeting().await;
        assert_eq!(welcome["last_seq"], 10);
        assert_eq!(welcome["peer_online"], true);
        let messages = history_messages(&history);
        let expected: Vec<u64> = (since + 1..=10).collect();
        assert_eq!(seqs(&messages), expected, "since={since}");
        assert_eq!(history["has_more"], false, "since={since}");
        let expected_entries: Vec<Value> = acks
            .iter()
            .filter(|m| m["seq"].as_u64().unwrap() > since)
            .map(as_history_entry)
            .collect();
        assert_eq!(
            messages, expected_entries,
            "history holds the stored messages"
        );
    }
}

#[actix_web::test]
async fn more_than_a_page_of_newer_messages_sends_the_newest_200_with_has_more() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    chat.post_many(Role::Customer, 1..=210).await;
    customer.message(210).await;

    for (since, has_more) in [(0, true), (9, true), (10, false), (150, false)] {
        let agent = chat.connect_since(Role::Agent, since).await;
        let (welcome, history) = agent.greeting().await;
        assert_eq!(welcome["last_seq"], 210);
        let messages = history_messages(&history);
        let first = (since + 1).max(11);
        assert_eq!(seqs(&messages), range(first, 210), "since={since}");
        assert_eq!(history["has_more"], has_more, "since={since}");
    }
}
