//! Idle eviction and store failure.

use super::*;

#[actix_web::test]
async fn an_idle_session_leaves_memory_and_comes_back_with_identical_history() {
    let chat = Chat::start_with(in_memory_backend(), quick_eviction());
    let customer = chat.connect(Role::Customer).await;
    let agent = chat.connect(Role::Agent).await;
    for i in 1..=6 {
        let (role, id) = if i % 2 == 1 {
            (Role::Customer, format!("c{i}"))
        } else {
            (Role::Agent, format!("a{i}"))
        };
        chat.post_with_id(role, &format!("line {i}"), &id).await;
    }
    chat.post(Role::Agent, "no id").await;
    let before: Vec<Value> = customer
        .messages_through(7)
        .await
        .iter()
        .map(as_history_entry)
        .collect();
    assert_eq!(chat.sessions_in_memory().await, 1);

    chat.detach(Role::Customer, &customer).await;
    chat.detach(Role::Agent, &agent).await;
    chat.wait_for_eviction().await;

    let customer = chat.connect(Role::Customer).await;
    let (welcome, history) = customer.greeting().await;
    assert_eq!(chat.sessions_in_memory().await, 1);
    assert_eq!(welcome["last_seq"], 7);
    assert_eq!(welcome["peer_online"], false);
    assert_eq!(
        history_messages(&history),
        before,
        "same seqs, texts, ts, ids"
    );

    // Numbering continues, and ids from before eviction are still known.
    chat.post_with_id(Role::Customer, "line 1 (retry)", "c1")
        .await;
    chat.post(Role::Customer, "back again").await;
    let acks = customer.messages_through(8).await;
    assert_eq!(acks[0], {
        let mut first = before[0].clone();
        first["type"] = json!("message");
        first
    });
    assert_eq!(seqs(&acks), [1, 8]);
    assert_eq!(acks[1]["text"], "back again");
}

// ---------------------------------------------------------------------------
// Store failure
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn a_failing_store_refuses_messages_and_numbering_resumes_without_a_gap() {
    let backend = ControlledBackend::new();
    let chat = Chat::start_with(backend.clone(), settings());
    let customer = chat.connect(Role::Customer).await;
    let agent = chat.connect(Role::Agent).await;

    chat.post(Role::Customer, "one").await;
    customer.message(1).await;
    agent.message(1).await;
    assert!(chat.store.is_healthy());

    backend.fail(true);
    chat.post_with_id(Role::Customer, "two", "c-2").await;
    let error = customer.error(1).await;
    assert_eq!(error["code"], "store_unavailable");
    assert_eq!(error["id"], "c-2");
    assert!(!chat.store.is_healthy());

    // A burst while failing: every one refused, none acknowledged.
    let session = chat.session().await;
    for i in 3..=7 {
        session.do_send(plain_post(
            Role::Customer,
            format!("burst {i}"),
            Some(&format!("c-{i}")),
            chat.poster(Role::Customer),
        ));
    }
    customer.error(6).await;
    let ids: Vec<Value> = customer.errors().iter().map(|e| e["id"].clone()).collect();
    assert_eq!(ids, ["c-2", "c-3", "c-4", "c-5", "c-6", "c-7"]);
    assert!(customer
        .errors()
        .iter()
        .all(|e| e["code"] == "store_unavailable"));
    assert_eq!(seqs(&customer.messages()), [1], "nothing acknowledged");
    assert!(agent.errors().is_empty(), "the peer hears nothing of it");
    let scraped = chat.store.metrics().encode();
    let failed_commits = scraped
        .lines()
        .find_map(|l| l.strip_prefix("support_chat_store_errors_total{kind=\"commit\"} "))
        .and_then(|n| n.parse::<u64>().ok());
    assert!(
        failed_commits.is_some_and(|n| n >= 1),
        "/metrics counts the failed commits: {failed_commits:?}"
    );

    backend.fail(false);
    chat.post_with_id(Role::Customer, "two", "c-2").await;
    let stored = customer.message(2).await;
    assert_eq!(stored["text"], "two");
    assert_eq!(stored["id"], "c-2", "the retried id is stored now");
    assert_eq!(agent.message(2).await, stored);
    assert!(chat.store.is_healthy());
    chat.post(Role::Agent, "three").await;
    customer.message(3).await;

    assert_eq!(seqs(&customer.messages()), [1, 2, 3]);
    assert_eq!(seqs(&agent.messages()), [1, 2, 3]);
    assert_eq!(texts(&chat.whole_history().await), ["one", "two", "three"]);
}
