//! Tests: the chat pages.

use super::*;

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn customer_and_agent_chat_live_in_real_browsers() {
    let chat = Chat::open("live-chat").await;
    let (customer, agent) = (&chat.customer, &chat.agent);
    wait_for_presence(customer, true).await;
    wait_for_presence(agent, true).await;

    let question = "你好，我的订单还没到";
    send_message(customer, question, Via::Enter).await;
    let seen = wait_for_stored(agent, &[question]).await;
    assert!(
        seen[0].theirs && !seen[0].mine,
        "the agent sees it as theirs"
    );
    let mine = wait_for_stored(customer, &[question]).await;
    assert!(
        mine[0].mine && !mine[0].theirs,
        "the customer sees it as their own"
    );

    let answer = "Sorry about that! Let me check your order.";
    send_message(agent, answer, Via::SendButton).await;
    let shown = wait_for_stored(customer, &[question, answer]).await;
    assert!(shown[1].theirs, "the customer sees the reply as theirs");
    let shown = wait_for_stored(agent, &[question, answer]).await;
    assert!(shown[1].mine, "the agent sees the reply as their own");

    chat.finish().await;
}

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn reload_shows_the_history_exactly_once() {
    let chat = Chat::open("reload").await;
    let (customer, agent) = (&chat.customer, &chat.agent);

    let mut expected = vec!["first", "second", "third"];
    for text in &expected {
        send_message(customer, text, Via::Enter).await;
    }
    expected.push("an answer");
    send_message(agent, "an answer", Via::SendButton).await;
    wait_for_stored(customer, &expected).await;

    customer.refresh().await.expect("reload");
    wait_for_state(customer, "connected", WAIT).await;
    let after = wait_for_stored(customer, &expected).await;
    assert_eq!(seqs_of(&after), vec![1, 2, 3, 4], "each seq once, in order");
    assert_eq!(after.len(), 4, "nothing but the stored messages");

    // Anything shown twice after the reload would be there by the time the
    // next live message arrives.
    expected.push("after the reload");
    send_message(agent, "after the reload", Via::SendButton).await;
    wait_for_stored(customer, &expected).await;

    chat.finish().await;
}

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn pages_reconnect_after_a_server_restart_and_go_on_chatting() {
    let mut chat = Chat::open("restart").await;
    let (customer, agent) = (&chat.customer, &chat.agent);

    let mut expected = vec!["before the restart"];
    send_message(customer, expected[0], Via::Enter).await;
    wait_for_stored(agent, &expected).await;
    wait_for_stored(customer, &expected).await;

    // Down and up again at once: both pages come back on their own.
    record_status_changes(customer).await;
    record_status_changes(agent).await;
    chat.app = chat.app.restart().await;
    wait_for_reconnect(customer).await;
    wait_for_reconnect(agent).await;

    expected.push("after the restart");
    send_message(customer, "after the restart", Via::Enter).await;
    expected.push("welcome back");
    wait_for_stored(agent, &expected[..2]).await;
    send_message(agent, "welcome back", Via::SendButton).await;
    wait_for_stored(customer, &expected).await;
    wait_for_stored(agent, &expected).await;

    // Down for a while: what the customer writes meanwhile waits, pending,
    // and is delivered once the server is back.
    record_status_changes(customer).await;
    record_status_changes(agent).await;
    let stopped = chat.app.stop().await;
    wait_for(
        "customer: the page to notice the server is gone",
        WAIT,
        || async {
            let state = connection_state(customer).await;
            if state == "connected" {
                Err(state)
            } else {
                Ok(())
            }
        },
    )
    .await;
    send_message(customer, "written while the server was down", Via::Enter).await;
    let queued = bubbles(customer).await;
    let last = queued.last().expect("a bubble for the new message");
    assert_eq!(last.text, "written while the server was down");
    assert!(
        last.mine && last.pending && last.seq.is_none(),
        "queued as pending, not stored: {last:?}"
    );
    assert_eq!(seqs_of(&queued), vec![1, 2, 3]);

    chat.app = stopped.start_again();
    wait_for_reconnect(customer).await;
    wait_for_reconnect(agent).await;
    expected.push("written while the server was down");
    wait_for_stored(customer, &expected).await;
    wait_for_stored(agent, &expected).await;

    chat.finish().await;
}

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn a_page_starts_afresh_when_the_server_lost_its_history() {
    let mut chat = Chat::start("lost").await;
    let (customer, agent) = (&chat.customer, &chat.agent);
    chat.open_customer().await;
    // With the service token in the address: an empty store has no
    // accounts, so a login session would not survive what this test does.
    let page = chat.url(&format!("/chat/server/lost?token={AGENT_TOKEN}"));
    agent.goto(&page).await.expect("agent page loads");
    wait_for_state(agent, "connected", WAIT).await;

    let old = ["old one", "old two", "old three"];
    send_message(customer, old[0], Via::Enter).await;
    send_message(agent, old[1], Via::SendButton).await;
    wait_for_stored(customer, &old[..2]).await;
    send_message(customer, old[2], Via::Enter).await;
    wait_for_stored(customer, &old).await;
    wait_for_stored(agent, &old).await;

    record_status_changes(customer).await;
    record_status_changes(agent).await;
    chat.app = chat.app.restart_with_empty_store().await;
    wait_for_reconnect(customer).await;
    wait_for_reconnect(agent).await;
    // Connected means welcome and history are in: nothing stale remains.
    wait_for_stored(customer, &[]).await;
    wait_for_stored(agent, &[]).await;

    send_message(customer, "a fresh start", Via::Enter).await;
    let shown = wait_for_stored(agent, &["a fresh start"]).await;
    assert_eq!(shown[0].seq, Some(1), "new messages start at seq 1");
    wait_for_stored(customer, &["a fresh start"]).await;
    send_message(agent, "hello again", Via::SendButton).await;
    wait_for_stored(customer, &["a fresh start", "hello again"]).await;
    wait_for_stored(agent, &["a fresh start", "hello again"]).await;

    chat.finish().await;
}

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn html_in_a_message_is_shown_as_text() {
    let chat = Chat::open("html").await;
    let (customer, agent) = (&chat.customer, &chat.agent);

    let payloads = [
        "<img src=x onerror=alert(1)>",
        "<script>alert(2)</script><b>bold?</b>",
    ];
    for text in payloads {
        send_message(customer, text, Via::Enter).await;
    }
    // The marker arrives after the payloads: by then they are rendered and
    // an `img` would have failed to load (and fired `onerror`).
    send_message(customer, "marker", Via::Enter).await;
    let expected = [payloads[0], payloads[1], "marker"];
    for page in [agent, customer] {
        wait_for_stored(page, &expected).await;
        assert_no_dialog(page).await;
        let injected = page
            .js("return document.querySelectorAll('#messages img, #messages script, #messages b').length;")
            .await;
        assert_eq!(
            injected, 0,
            "{}: no element made from message text",
            page.name
        );
    }
    // Reloaded from history, the same.
    agent.refresh().await.expect("reload");
    wait_for_state(agent, "connected", WAIT).await;
    wait_for_stored(agent, &expected).await;
    assert_no_dialog(agent).await;

    chat.finish().await;
}

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn both_pages_fit_desktop_and_phone_screens() {
    let chat = Chat::open("looks").await;
    let (customer, agent) = (&chat.customer, &chat.agent);

    let conversation = [
        "Hi! My order #10023 hasn't arrived yet. It was due on Monday.",
        "你好，我的订单还没到",
        "Sorry to hear that. I can see it left our warehouse on Friday; the courier \
         reports a delay in your area. It should reach you tomorrow before noon.",
        "Thanks, that helps 👍",
    ];
    send_message(customer, conversation[0], Via::Enter).await;
    send_message(customer, conversation[1], Via::Enter).await;
    wait_for_stored(agent, &conversation[..2]).await;
    send_message(agent, conversation[2], Via::SendButton).await;
    wait_for_stored(customer, &conversation[..3]).await;
    send_message(customer, conversation[3], Via::Enter).await;
    wait_for_stored(agent, &conversation).await;
    wait_for_stored(customer, &conversation).await;
    wait_for_presence(customer, true).await;

    for (size, label) in [(DESKTOP, "desktop"), (PHONE, "phone")] {
        for page in [customer, agent] {
            set_viewport(page, size).await;
            assert_composer_fits(page, label).await;
            let shot = screenshot(page, &format!("{}-{label}", page.name)).await;
            assert_eq!(shot, size, "{} {label} screenshot size", page.name);
        }
    }

    chat.finish().await;
}
