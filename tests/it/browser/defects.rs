//! Tests: defects seen by a new user (issue 10).

use super::*;

/// Waits until the page's stored bubbles are exactly `expected` in order
/// (seq 1..), allowing `timeout` (longer than `WAIT` for rate-limited bursts).
async fn wait_for_stored_within(browser: &Browser, expected: &[String], timeout: Duration) {
    let what = format!(
        "{}: exactly {} stored messages, in order",
        browser.name,
        expected.len()
    );
    wait_for(&what, timeout, || async {
        let now = bubbles(browser).await;
        let want: Vec<u64> = (1..=expected.len() as u64).collect();
        if texts_of(&now) == expected && seqs_of(&now) == want && now.iter().all(|b| !b.pending) {
            Ok(())
        } else {
            Err(texts_of(&now).join(" | "))
        }
    })
    .await
}

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn a_burst_over_the_rate_limit_is_stored_in_the_order_typed() {
    // A tight limit, so that a burst is surely refused in part.
    let chat = Chat::start_with("burst", &["--rate-limit", "4", "--rate-burst", "5"]).await;
    tokio::join!(chat.open_customer(), chat.open_agent_page());
    let (customer, agent) = (&chat.customer, &chat.agent);
    // 20 messages at once, as fast as a paste.
    let texts: Vec<String> = (0..20).map(|i| format!("burst {i}")).collect();
    customer
        .js_with(
            r#"const notice = document.getElementById('notice');
            window.__notices = [];
            new MutationObserver(() => window.__notices.push(notice.textContent))
                .observe(notice, { childList: true, characterData: true, subtree: true });
            const input = document.getElementById('input');
            const form = document.getElementById('composer');
            for (const text of arguments[0]) { input.value = text; form.requestSubmit(); }
            return null;"#,
            vec![json!(texts)],
        )
        .await;
    wait_for_stored_within(agent, &texts, RECONNECT_WAIT).await;
    wait_for_stored_within(customer, &texts, WAIT).await;
    let stored: Value = reqwest::Client::new()
        .get(chat.url("/api/conversations/burst/messages?limit=100"))
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .expect("the API answers")
        .json()
        .await
        .expect("JSON");
    let api: Vec<&str> = stored["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(api, texts, "the API has them once each, in order");
    let notices = customer.js("return window.__notices;").await;
    assert!(
        notices.as_array().is_some_and(|n| n
            .iter()
            .any(|t| t == "Too many messages at once; retrying…")),
        "the server refused some, and the page said it retries: {notices}"
    );

    chat.finish().await;
}

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn a_logged_out_agent_is_told_and_the_reply_is_sent_after_login() {
    let chat = Chat::start("logout").await;
    let (customer, agent) = (&chat.customer, &chat.agent);
    chat.open_customer().await;
    chat.open_console_on_conversation().await;

    // The agent logs out everywhere from another device: the open console
    // is closed (4003), and its next upgrades are refused with 401.
    let phone = session_cookie(&chat.app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await);
    let everywhere = http_client()
        .post(chat.url("/agent/logout-everywhere"))
        .header("cookie", phone)
        .send()
        .await
        .expect("log out everywhere");
    assert_eq!(everywhere.status(), 303);
    wait_for_shown(agent, "#logged-out", true).await;
    wait_for_labels(
        agent,
        &[
            ("#inbox-status@dataset.state", "offline"),
            ("#status", "Logged out"),
            (
                "#login-again@href",
                &chat.url("/agent/login?next=%2Fagent%23logout"),
            ),
        ],
    )
    .await;
    let reply = "Sorry, I was logged out. Here is your answer.";
    send_message(agent, reply, Via::Enter).await;
    let queued = bubbles(agent).await;
    assert!(
        queued.last().is_some_and(|b| b.pending && b.text == reply),
        "kept as pending: {queued:?}"
    );

    // Logging in comes back to the open conversation, which sends the reply.
    click(agent, "#login-again").await;
    fill_login_form(agent).await;
    wait_for_state(agent, "connected", WAIT).await;
    let url = agent.current_url().await.expect("current url");
    assert_eq!((url.path(), url.fragment()), ("/agent", Some(chat.id)));
    wait_for_stored(agent, &[reply]).await;
    wait_for_stored(customer, &[reply]).await;
    wait_for_shown(agent, "#logged-out", false).await;

    chat.finish().await;
}

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn a_taken_over_tab_keeps_its_draft_but_cannot_send_until_it_reconnects() {
    let chat = Chat::open("takeover").await;
    let (customer, agent) = (&chat.customer, &chat.agent);
    let draft = "Half-written question";
    type_into_composer(customer, draft).await;
    // The same conversation as a customer in another window: it wins.
    agent
        .goto(&chat.url("/chat/client/takeover"))
        .await
        .expect("second tab");
    wait_for_state(agent, "connected", WAIT).await;
    wait_for_shown(customer, "#replaced", true).await;
    wait_for_labels(
        customer,
        &[
            ("#input@disabled", "true"),
            ("#send@disabled", "true"),
            ("#input@value", draft),
        ],
    )
    .await;

    click(customer, "#reconnect-here").await;
    wait_for_state(customer, "connected", WAIT).await;
    wait_for_labels(
        customer,
        &[("#input@disabled", "false"), ("#input@value", draft)],
    )
    .await;
    type_into_composer(customer, &Key::Enter).await;
    wait_for_stored(customer, &[draft]).await;
    wait_for_shown(agent, "#replaced", true).await;

    chat.finish().await;
}

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn http_links_are_clickable_and_other_schemes_stay_text() {
    let chat = Chat::open("links").await;
    let (customer, agent) = (&chat.customer, &chat.agent);
    let text = "Order: https://example.com/orders/12345?ref=abc. Not: javascript:alert(1)";
    send_message(customer, text, Via::Enter).await;
    for page in [agent, customer] {
        wait_for_stored(page, &[text]).await;
        let links = page
            .js(r#"return Array.from(document.querySelectorAll('#messages .text a'), (a) => ({
                href: a.getAttribute('href'), text: a.textContent, rel: a.rel, target: a.target }));"#)
            .await;
        assert_eq!(
            links,
            json!([{
                "href": "https://example.com/orders/12345?ref=abc",
                "text": "https://example.com/orders/12345?ref=abc",
                "rel": "noopener noreferrer nofollow",
                "target": "_blank",
            }]),
            "{}: one link, the https one",
            page.name
        );
    }

    chat.finish().await;
}

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn the_start_page_carries_the_language_into_the_chat_and_keeps_agents_aside() {
    let chat = Chat::start("landing").await;
    let customer = &chat.customer;
    customer
        .goto(&chat.url("/?lang=zh"))
        .await
        .expect("start page");
    wait_for_labels(
        customer,
        &[
            ("#start-chat", "开始聊天"),
            ("#start-chat@href", &chat.url("/chat/client?lang=zh")),
        ],
    )
    .await;
    // Customers see one thing to do; agents a small link.
    let landing = customer
        .js(r#"return { forms: document.querySelectorAll('form').length,
            headings: document.querySelectorAll('h2').length,
            agentLink: document.getElementById('open-console').getAttribute('href') };"#)
        .await;
    assert_eq!(
        landing,
        json!({"forms": 0, "headings": 0, "agentLink": "/agent"})
    );
    for (size, label) in [(DESKTOP, "desktop"), (PHONE, "phone")] {
        set_viewport(customer, size).await;
        screenshot(customer, &format!("landing-{label}")).await;
    }

    click(customer, "#start-chat").await;
    wait_for_state(customer, "connected", WAIT).await;
    wait_for_labels(customer, &[("html@lang", "zh"), ("#send", "发送")]).await;
    let url = customer.current_url().await.expect("current url");
    assert!(url.path().starts_with("/chat/client/"), "{url}");

    chat.finish().await;
}

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn an_agent_is_warned_before_replying_to_nobody() {
    let chat = Chat::start("typo-id").await;
    let (customer, agent) = (&chat.customer, &chat.agent);
    chat.open_agent_page().await;
    let nobody =
        "No conversation with this id yet. Nobody will read a reply until a customer opens it.";
    wait_for_labels(agent, &[("#peer-hint", nobody)]).await;

    let reply = "Hello, how can I help?";
    type_into_composer(agent, reply).await;
    type_into_composer(agent, &Key::Enter).await;
    wait_for_shown(agent, "#confirm-create", true).await;
    wait_for_labels(agent, &[("#input@value", reply)]).await;
    assert!(bubbles(agent).await.is_empty(), "nothing sent unasked");
    for (size, label) in [(DESKTOP, "desktop"), (PHONE, "phone")] {
        set_viewport(agent, size).await;
        assert_composer_fits(agent, label).await;
        screenshot(agent, &format!("agent-confirm-{label}")).await;
    }

    click(agent, "#confirm-send").await;
    wait_for_stored(agent, &[reply]).await;
    wait_for_shown(agent, "#confirm-create", false).await;
    wait_for_labels(
        agent,
        &[(
            "#peer-hint",
            "The customer is offline; they will see your reply when they come back.",
        )],
    )
    .await;
    chat.open_customer().await;
    wait_for_stored(customer, &[reply]).await;
    wait_for_shown(agent, "#peer-hint", false).await;

    chat.finish().await;
}

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn a_long_id_wraps_in_the_agent_header_and_a_resolved_one_offers_reopen() {
    let id = "customer-with-a-very-long-identifier-0123456789-abcdefghijklmnop";
    assert_eq!(id.len(), 64);
    let chat = Chat::start(id).await;
    let agent = &chat.agent;
    seed_conversation(&chat.app, id, &["Thanks!"], Some("You're welcome."), true).await;
    chat.open_agent_page().await;
    // Resolving is an event of the history, shown to agents as a line.
    wait_for_stored(agent, &["Thanks!", "You're welcome.", "Resolved by API"]).await;
    wait_for_shown(agent, "#resolve", false).await;
    wait_for_shown(agent, "#reopen", true).await;
    wait_for_labels(
        agent,
        &[("#reopen", "Reopen"), ("#reopen@disabled", "false")],
    )
    .await;
    for (size, label) in [(DESKTOP, "desktop"), (PHONE, "phone")] {
        set_viewport(agent, size).await;
        assert_composer_fits(agent, label).await;
        let header = agent
            .js(r#"const title = document.getElementById('title').getBoundingClientRect();
                const header = document.querySelector('.chat-header').getBoundingClientRect();
                return { inside: title.left >= header.left && title.right <= header.right + 0.5,
                    words_whole: getComputedStyle(document.getElementById('title')).wordBreak !== 'break-all' };"#)
            .await;
        assert_eq!(
            header,
            json!({"inside": true, "words_whole": true}),
            "{label}: the id wraps inside the header"
        );
        screenshot(agent, &format!("agent-long-id-{label}")).await;
    }

    chat.finish().await;
}

/// The DOM-free page modules' own tests (`tests/js/`, Node's built-in
/// runner), so that `cargo test` runs them too.
#[test]
fn the_page_modules_pass_their_node_tests() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = Command::new("node")
        .args(["--test", "tests/js/"])
        .current_dir(dir)
        .output();
    let output = run.unwrap_or_else(|e| panic!("node --test: {e}: install Node 20 (apt: nodejs)"));
    assert!(
        output.status.success(),
        "node --test tests/js/ failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
