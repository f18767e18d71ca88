//! Tests: the agent console.

use super::*;

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn a_new_customer_appears_at_the_top_of_the_console_with_an_unread_badge() {
    let chat = Chat::start("newcomer").await;
    let (customer, agent) = (&chat.customer, &chat.agent);
    // An earlier conversation, answered and read: nobody waits there.
    let earlier = "earlier";
    seed_conversation(
        &chat.app,
        earlier,
        &["Do you ship to Norway?"],
        Some("Yes, we do."),
        false,
    )
    .await;
    chat.open_console().await;
    let before = wait_for_inbox(agent, "the earlier conversation, answered", |inbox| {
        inbox.ids() == [earlier]
    })
    .await;
    let row = &before.rows[0];
    assert!(
        !row.waiting && row.unread == 0 && !row.unread_shown,
        "answered and read: {row:?}"
    );
    assert_eq!(
        row.preview, "You: Yes, we do.",
        "the agent's own last message"
    );
    assert_eq!(
        before.title, "Inbox · Support chat",
        "nothing unread: no count"
    );
    assert!(!before.unread_total_shown, "no unread total: {before:?}");

    chat.open_customer().await;
    let said = ["Hello, is anyone there?", "My order has not arrived."];
    for text in said {
        send_message(customer, text, Via::Enter).await;
    }

    let now = wait_for_inbox(
        agent,
        "the new customer on top, waiting, 2 unread",
        |inbox| {
            inbox.rows.first().is_some_and(|row| {
                row.id == chat.id && row.waiting && row.unread == 2 && row.preview == said[1]
            }) && inbox.unread_total == 2
        },
    )
    .await;
    let row = &now.rows[0];
    assert!(row.unread_shown, "the unread badge shows: {row:?}");
    assert!(row.online, "the customer's online dot: {row:?}");
    assert_eq!(row.status, "open");
    assert!(!row.active, "nothing is opened by itself: {row:?}");
    assert_eq!(now.ids(), [chat.id, earlier], "the waiting customer first");
    assert_eq!(
        now.title, "(2) Inbox · Support chat",
        "the unread total in the title"
    );
    assert!(now.unread_total_shown, "#total-unread shows: {now:?}");
    assert_eq!(now.waiting_total, 1, "one customer waits");
    assert_eq!(now.view, "list");

    chat.finish().await;
}

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn the_agent_answers_from_the_console_and_the_customer_sees_it_and_seen() {
    let chat = Chat::start("parcel").await;
    let (customer, agent) = (&chat.customer, &chat.agent);
    chat.open_console().await;
    chat.open_customer().await;
    let question = "Where is my parcel? Order 4471.";
    send_message(customer, question, Via::Enter).await;
    wait_for_inbox(agent, "the question, unread", |inbox| {
        inbox.row(chat.id).is_some_and(|row| row.unread == 1)
            && inbox.title == "(1) Inbox · Support chat"
    })
    .await;
    assert_eq!(
        seen_mark(customer).await,
        None,
        "a row in the list is not the agent seeing the message"
    );

    // Opening the row shows the conversation in the right pane.
    click_row(agent, chat.id).await;
    let url = agent.current_url().await.expect("current url");
    assert_eq!((url.path(), url.fragment()), ("/agent", Some(chat.id)));
    wait_for_state(agent, "connected", WAIT).await;
    let shown = wait_for_stored(agent, &[question]).await;
    assert!(shown[0].theirs, "the customer's message, as theirs");
    let now = inbox(agent).await;
    assert_eq!(now.view, "chat");
    assert!(
        now.row(chat.id).is_some_and(|row| row.active),
        "the open row is marked: {now:?}"
    );

    // Shown on a visible page means read: the customer sees "Seen", and
    // the unread badge and the title count go.
    let seen = wait_for_seen(customer, 1).await;
    assert_eq!(seen.text, "Seen");
    let now = wait_for_inbox(agent, "the question read", |inbox| {
        inbox.row(chat.id).is_some_and(|row| row.unread == 0) && inbox.unread_total == 0
    })
    .await;
    assert!(!now.rows[0].unread_shown, "no badge: {now:?}");
    assert_eq!(now.title, "Inbox · Support chat", "no count in the title");
    assert!(!now.unread_total_shown, "no unread total: {now:?}");
    assert!(now.rows[0].waiting, "read is not answered: {now:?}");

    let answer = "It left our warehouse this morning and arrives tomorrow.";
    send_message(agent, answer, Via::Enter).await;
    let shown = wait_for_stored(customer, &[question, answer]).await;
    assert!(shown[1].theirs, "the customer sees the reply as theirs");
    wait_for_stored(agent, &[question, answer]).await;
    // The customer's page is visible too: "Seen" under the agent's reply.
    wait_for_seen(agent, 2).await;
    assert_eq!(
        seen_mark(customer).await.and_then(|seen| seen.under_seq),
        Some(1),
        "the customer's \"Seen\" stays under the customer's own message"
    );
    let now = wait_for_inbox(agent, "the conversation answered", |inbox| {
        inbox.row(chat.id).is_some_and(|row| !row.waiting) && inbox.waiting_total == 0
    })
    .await;
    assert_eq!(now.rows[0].preview, format!("You: {answer}"));

    chat.finish().await;
}

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn typing_shows_on_the_other_side() {
    let chat = Chat::start("typing").await;
    let (customer, agent) = (&chat.customer, &chat.agent);
    chat.open_customer().await;
    chat.open_console_on_conversation().await;
    wait_for_presence(customer, true).await;
    wait_for_presence(agent, true).await;
    assert_eq!(typing_line(agent).await, None, "nobody types yet");

    // The customer types: the agent sees it; sending ends it.
    type_into_composer(customer, "Can I change the size").await;
    wait_for_typing(agent, Some("Customer is typing…"), WAIT).await;
    type_into_composer(customer, &Key::Enter).await;
    wait_for_stored(agent, &["Can I change the size"]).await;
    wait_for_typing(agent, None, WAIT).await;

    // The agent types: the customer sees it; emptying the draft ends it,
    // sooner than the page would hide it by itself (5 s without a refresh).
    // Timed inside the pages, so a slow WebDriver round trip does not count;
    // a round that was too slow to tell the two apart is tried again.
    record_typing(customer).await;
    record_typing(agent).await;
    let draft = "Let me check";
    let mut rounds = Vec::new();
    for _ in 0..3 {
        type_into_composer(agent, draft).await;
        wait_for_typing(customer, Some(&format!("{ADMIN_NAME} is typing…")), WAIT).await;
        type_into_composer(agent, &Key::Backspace.repeat(draft.chars().count())).await;
        wait_for_typing(customer, None, WAIT).await;
        let shown = typing_times(customer).await;
        let cleared = typing_times(agent).await["cleared"].as_i64();
        let (Some(shown_at), Some(hidden_at), Some(cleared_at)) =
            (shown["shown"].as_i64(), shown["hidden"].as_i64(), cleared)
        else {
            panic!("typing times not recorded: {shown} {cleared:?}");
        };
        let round = (cleared_at - shown_at, hidden_at - shown_at);
        rounds.push(round);
        // Emptied in good time, and hidden after that but before the 5 s.
        if round.0 < 4000 && hidden_at >= cleared_at && round.1 < 4900 {
            break;
        }
    }
    let last = rounds.last().expect("a round");
    assert!(
        last.0 < 4000 && last.1 < 4900,
        "the customer's typing line went away only when it went stale, not \
         when the agent emptied the draft; (emptied, hidden) ms after shown: {rounds:?}"
    );

    chat.finish().await;
}

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn resolving_then_a_new_customer_message_reopens_the_conversation() {
    let chat = Chat::start("resolve").await;
    let (customer, agent) = (&chat.customer, &chat.agent);
    let earlier = ["Do you gift-wrap?"];
    seed_conversation(&chat.app, "answered", &earlier, Some("We do."), false).await;
    chat.open_customer().await;
    let thanks = "Thanks, that solved it!";
    send_message(customer, thanks, Via::Enter).await;
    chat.open_console_on_conversation().await;
    wait_for_stored(agent, &[thanks]).await;
    wait_for_inbox(agent, "the open conversation", |inbox| {
        inbox
            .row(chat.id)
            .is_some_and(|row| row.status == "open" && row.active)
    })
    .await;

    wait_for_labels(agent, &[("#resolve@disabled", "false")]).await;
    click(agent, "#resolve").await;
    wait_for_labels(
        agent,
        &[
            ("#conv-status@dataset.status", "resolved"),
            ("#conv-status", "Resolved"),
            ("#resolve@disabled", "true"),
        ],
    )
    .await;
    wait_for_shown(customer, "#resolved-note", true).await;
    // Resolved leaves the "Open" list and shows under "All".
    wait_for_inbox(agent, "no resolved row under Open", |inbox| {
        inbox.row(chat.id).is_none()
    })
    .await;
    click(agent, "#filter-all").await;
    let all = wait_for_inbox(agent, "the resolved row under All", |inbox| {
        inbox
            .row(chat.id)
            .is_some_and(|row| row.status == "resolved")
    })
    .await;
    let row = all.row(chat.id).expect("the row");
    assert!(
        !row.waiting && row.active,
        "resolved, still open in the pane: {row:?}"
    );

    // Back to the "Open" list, without it. The customer writes again: the
    // conversation is open again, and its row comes back on top, waiting.
    click(agent, "#filter-open").await;
    wait_for_inbox(agent, "only the other conversation under Open", |inbox| {
        inbox.ids() == ["answered"]
    })
    .await;
    let again = "Sorry, one more question.";
    send_message(customer, again, Via::Enter).await;
    wait_for_shown(customer, "#resolved-note", false).await;
    wait_for_labels(
        agent,
        &[
            ("#conv-status@dataset.status", "open"),
            ("#conv-status", "Open"),
            ("#resolve@disabled", "false"),
        ],
    )
    .await;
    // The agent's history records both changes as events (seqs 2 and 4),
    // shown as lines between the messages.
    let resolved = format!("Resolved by {ADMIN_NAME}");
    let reopened = "Reopened: the customer wrote again";
    wait_for_stored(agent, &[thanks, &resolved, again, reopened]).await;
    let events = agent
        .js("return Array.from(document.querySelectorAll('#messages .msg.event'), (e) => e.dataset.seq);")
        .await;
    assert_eq!(events, serde_json::json!(["2", "4"]));
    let open = wait_for_inbox(agent, "the row back under Open, on top", |inbox| {
        inbox.ids() == [chat.id, "answered"]
    })
    .await;
    let row = &open.rows[0];
    assert!(
        row.status == "open" && row.waiting && row.active,
        "open, waiting, still open in the pane: {row:?}"
    );

    chat.finish().await;
}

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn the_pages_speak_chinese() {
    let chat = Chat::start("zh-chat").await;
    let (customer, agent) = (&chat.customer, &chat.agent);

    // The customer by the address, the agent by the remembered cookie.
    chat.open_customer_with("?lang=zh").await;
    wait_for_labels(
        customer,
        &[
            ("html@lang", "zh"),
            ("title", "在线客服"),
            ("#title", "在线客服"),
            ("#send", "发送"),
            ("#input@placeholder", "输入消息…"),
            ("#status", "已连接"),
            ("#presence", "客服离线"),
            ("#lang@value", "zh"),
        ],
    )
    .await;
    let question = "你好，我想查询一下订单。";
    send_message(customer, question, Via::Enter).await;

    agent.goto(&chat.url("/")).await.expect("start page");
    // As the page itself writes it (a SameSite=None cookie must be Secure).
    // chromedriver wants the domain spelled out.
    let mut cookie = Cookie::parse("support_chat_lang=zh; Path=/; SameSite=Lax").expect("a cookie");
    cookie.set_domain(chat.app.addr.ip().to_string());
    agent
        .add_cookie(cookie)
        .await
        .expect("set the language cookie");
    chat.open_console_on_conversation().await;
    wait_for_stored(agent, &[question]).await;
    wait_for_labels(
        agent,
        &[
            ("html@lang", "zh"),
            ("title", "收件箱 · 在线客服"),
            (".console-brand", "收件箱"),
            ("#filter-open", "进行中"),
            ("#filter-resolved", "已解决"),
            ("#filter-all", "全部"),
            ("#search@placeholder", "搜索 ID 和消息…"),
            ("#inbox-status", "已连接"),
            ("#title", "会话 zh-chat"),
            ("#status", "已连接"),
            ("#presence", "客户在线"),
            ("#conv-status", "进行中"),
            ("#resolve", "标记为已解决"),
            ("#send", "发送"),
            (".msg.theirs .sender", "客户"),
            ("#lang@value", "zh"),
        ],
    )
    .await;

    let answer = "好的，请稍等，我帮您查一下。";
    send_message(agent, answer, Via::Enter).await;
    wait_for_stored(customer, &[question, answer]).await;
    wait_for_seen(customer, 1).await;
    wait_for_labels(
        customer,
        &[
            ("#presence", "客服在线"),
            (".msg.mine .sender", "我"),
            // Named by the agent who answered, by their account's name.
            (".msg.theirs .sender", ADMIN_NAME),
            ("#messages .seen", "已读"),
        ],
    )
    .await;
    assert_all_labels_in(customer, "zh").await;
    assert_all_labels_in(agent, "zh").await;
    set_viewport(customer, PHONE).await;
    assert_composer_fits(customer, "phone").await;
    let shot = screenshot(customer, "customer-zh").await;
    assert_eq!(shot, PHONE, "customer-zh screenshot size");

    // Back to English in the page, without a reload; a reload keeps it.
    let customer_in_english = [
        ("html@lang", "en"),
        ("title", "Support chat"),
        ("#send", "Send"),
        ("#input@placeholder", "Type a message…"),
        ("#status", "Connected"),
        ("#presence", "Agent online"),
        (".msg.mine .sender", "Me"),
        (".msg.theirs .sender", ADMIN_NAME),
        ("#messages .seen", "Seen"),
        ("#lang@value", "en"),
    ];
    mark_document(customer).await;
    switch_language(customer, "en").await;
    wait_for_labels(customer, &customer_in_english).await;
    assert_same_document(customer).await;
    assert_all_labels_in(customer, "en").await;
    customer.refresh().await.expect("reload");
    wait_for_state(customer, "connected", WAIT).await;
    wait_for_stored(customer, &[question, answer]).await;
    wait_for_labels(customer, &customer_in_english).await;

    let console_in_english = [
        ("html@lang", "en"),
        ("title", "Inbox · Support chat"),
        (".console-brand", "Inbox"),
        ("#filter-open", "Open"),
        ("#search@placeholder", "Search ids and messages…"),
        ("#inbox-status", "Connected"),
        ("#status", "Connected"),
        ("#conv-status", "Open"),
        ("#resolve", "Resolve"),
        ("#send", "Send"),
        ("#lang@value", "en"),
    ];
    mark_document(agent).await;
    switch_language(agent, "en").await;
    wait_for_labels(agent, &console_in_english).await;
    assert_same_document(agent).await;
    assert_all_labels_in(agent, "en").await;
    agent.refresh().await.expect("reload");
    wait_for_console(agent).await;
    wait_for_state(agent, "connected", WAIT).await;
    wait_for_labels(agent, &console_in_english).await;

    chat.finish().await;
}

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn the_console_fits_desktop_and_phone_screens() {
    let chat = Chat::start("web-4471").await;
    let (customer, agent) = (&chat.customer, &chat.agent);
    // Other customers, in every state the list can show.
    let app = &chat.app;
    seed_conversation(
        app,
        "anna-k",
        &["Hi, can I still change the delivery address?"],
        None,
        false,
    )
    .await;
    seed_conversation(
        app,
        "order-10023",
        &[
            "Hi! My order #10023 hasn't arrived yet.",
            "It was due on Monday.",
        ],
        Some("Sorry about that! The courier reports a delay; it arrives tomorrow before noon."),
        false,
    )
    .await;
    seed_conversation(
        app,
        "refund-77",
        &["退款什么时候到账？"],
        Some("退款已处理，3 个工作日内到账。"),
        true,
    )
    .await;

    let conversation = [
        "Hello! Do you have the rain jacket in size M?",
        "Yes, size M is in stock. Shall I reserve one for you?",
        "Yes please 👍",
    ];
    chat.open_customer().await;
    send_message(customer, conversation[0], Via::Enter).await;
    chat.open_console().await;
    click(agent, "#filter-all").await;
    wait_for_inbox(agent, "all four conversations", |inbox| {
        inbox.rows.len() == 4
    })
    .await;
    click_row(agent, chat.id).await;
    wait_for_stored(agent, &conversation[..1]).await;
    send_message(agent, conversation[1], Via::Enter).await;
    wait_for_stored(customer, &conversation[..2]).await;
    send_message(customer, conversation[2], Via::Enter).await;
    wait_for_stored(agent, &conversation).await;
    wait_for_presence(agent, true).await;
    wait_for_inbox(agent, "the open conversation read", |inbox| {
        inbox.ids() == ["anna-k", chat.id, "refund-77", "order-10023"]
            && inbox
                .row(chat.id)
                .is_some_and(|row| row.active && row.unread == 0)
    })
    .await;

    // Desktop: the list and the open conversation side by side.
    set_viewport(agent, DESKTOP).await;
    let layout = console_layout(agent, "desktop").await;
    assert!(
        layout.list_shown && layout.chat_shown && layout.side_by_side,
        "desktop: list left of the conversation: {layout:?}"
    );
    assert!(layout.composer_on_screen, "desktop: composer: {layout:?}");
    assert!(!layout.back_shown, "desktop: no Back button: {layout:?}");
    assert_eq!(screenshot(agent, "console-desktop").await, DESKTOP);

    // Phone: one pane at a time, the open conversation first.
    set_viewport(agent, PHONE).await;
    let layout = console_layout(agent, "phone, conversation").await;
    assert!(
        layout.view == "chat" && layout.chat_shown && !layout.list_shown,
        "phone: only the conversation: {layout:?}"
    );
    assert!(
        layout.composer_on_screen && layout.back_shown,
        "phone: composer and Back: {layout:?}"
    );
    assert_eq!(screenshot(agent, "console-phone-chat").await, PHONE);

    click(agent, "#back").await;
    wait_for_inbox(agent, "the list view", |inbox| inbox.view == "list").await;
    let layout = console_layout(agent, "phone, list").await;
    assert!(
        layout.list_shown && !layout.chat_shown && layout.rows == 4,
        "phone: only the list, every row: {layout:?}"
    );
    assert_eq!(screenshot(agent, "console-phone").await, PHONE);

    chat.finish().await;
}
