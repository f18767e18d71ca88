//! Paging back.

use super::*;

#[actix_web::test]
async fn history_before_pages_back_to_the_first_message_from_memory() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    chat.post_many(Role::Customer, 1..=30).await;
    customer.message(30).await;

    let page = chat.history_before(31, 10).await;
    assert_eq!(seqs(&history_messages(&page)), range(21, 30));
    assert_eq!(page["has_more"], true);
    let page = chat.history_before(21, 10).await;
    assert_eq!(seqs(&history_messages(&page)), range(11, 20));
    assert_eq!(page["has_more"], true);
    let page = chat.history_before(11, 10).await;
    assert_eq!(seqs(&history_messages(&page)), range(1, 10));
    assert_eq!(page["has_more"], false);
    assert_eq!(
        texts(&history_messages(&page))[0],
        "message 1",
        "oldest first"
    );

    // Beyond the end is clamped; a partial last page; nothing before 1.
    let page = chat.history_before(u64::MAX, 5).await;
    assert_eq!(seqs(&history_messages(&page)), range(26, 30));
    let page = chat.history_before(4, 10).await;
    assert_eq!(seqs(&history_messages(&page)), range(1, 3));
    assert_eq!(page["has_more"], false);
    for before in [0, 1] {
        let page = chat.history_before(before, 10).await;
        assert_eq!(
            page,
            json!({"type": "history", "messages": [], "has_more": false})
        );
    }
}

#[actix_web::test]
async fn history_before_pages_back_to_the_first_message_from_the_store() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    // More than a page and more than memory: the first seqs only in the store.
    let total = 300;
    assert!((RECENT_WINDOW as u64) < total - 200);
    chat.post_many(Role::Customer, 1..=total).await;
    let acks = customer.messages_through(total).await;

    let page = chat.history_before(total + 1, 200).await;
    assert_eq!(seqs(&history_messages(&page)), range(total - 199, total));
    assert_eq!(page["has_more"], true);
    let page = chat.history_before(total - 199, 200).await;
    assert_eq!(seqs(&history_messages(&page)), range(1, total - 200));
    assert_eq!(page["has_more"], false);
    let page = chat.history_before(60, 50).await;
    assert_eq!(seqs(&history_messages(&page)), range(10, 59));
    assert_eq!(page["has_more"], true);

    // Small pages all the way back: every message exactly once, in order,
    // the same from the store as it was live.
    let mut all = Vec::new();
    let mut before = total + 1;
    loop {
        let page = chat.history_before(before, 64).await;
        let mut messages = history_messages(&page);
        assert!(!messages.is_empty());
        before = messages[0]["seq"].as_u64().unwrap();
        assert_eq!(page["has_more"], before > 1);
        messages.extend(all);
        all = messages;
        if before == 1 {
            break;
        }
    }
    let live: Vec<Value> = acks.iter().map(as_history_entry).collect();
    assert_eq!(all, live);
}
