//! The website widget in a real browser, embedded in pages of ANOTHER
//! origin: a tiny "shop" served by the test itself on a second local port,
//! as `http://localhost:<port>` (another site than the chat server's
//! `127.0.0.1`, so the frame's storage is partitioned as on the web). The
//! agent side is a protocol client. Screenshots of the closed, open and
//! offline widget at desktop and phone sizes go to `target/screenshots/`.

mod attach;
mod erase;
mod host;
mod shop;

use fantoccini::key::Key;
use serde_json::json;

use host::*;
use shop::{sign, Shop, SECRET};

use crate::browser::{
    assert_all_labels_in, screenshot, send_message, set_viewport, wait_for, wait_for_state,
    wait_for_stored, Chromedriver, Via, DESKTOP, PHONE, WAIT,
};
use crate::common::{WsClient, AGENT_TOKEN};

const AWAY: &str = "Nobody is here right now: leave your email and we write back.";

#[actix_web::test]
#[ignore = "needs chromium"]
async fn a_visitor_of_another_site_chats_through_the_widget_and_keeps_the_conversation() {
    let (shop, app) = Shop::with_app(&[
        "--away-en",
        AWAY,
        "--business-hours",
        "mon-sun 00:00-24:00",
        "--time-zone",
        "Asia/Shanghai",
    ])
    .await;
    let driver = Chromedriver::start().await;
    let customer = driver.browser("customer").await;

    customer.goto(&shop.url("/page1")).await.expect("shop page");
    let closed = wait_for_widget(&customer, "the launcher", |w| w["present"] == true).await;
    assert_eq!(
        closed["frame"], false,
        "no iframe (and no socket) before the click"
    );
    assert_eq!(
        closed["focus"], "host-input",
        "the shop's autofocus field keeps the focus"
    );
    assert_eq!(closed["expanded"], "false");
    screenshot(&customer, "widget-closed-desktop").await;

    open_with_keyboard(&customer).await;
    enter_chat(&customer).await;
    // Nobody is online: the widget says so and asks for an email address.
    wait_shown(&customer, "#away", true).await;
    wait_shown(&customer, "#away-email", true).await;
    let away = customer
        .js("return [document.getElementById('away-text').textContent,
                     document.getElementById('hours-state').textContent,
                     document.querySelector('.hours-title').textContent];")
        .await;
    assert_eq!(
        away,
        json!([AWAY, "We are open now.", "Our hours (Asia/Shanghai)"]),
        "the configured away text and the business hours"
    );
    let focused = customer.js("return document.activeElement.id;").await;
    assert_eq!(focused, "input", "opening puts the focus in the composer");
    screenshot(&customer, "widget-offline-desktop").await;
    customer
        .js(
            "document.getElementById('away-email').value = 'ana@example.com';
             document.querySelector('#away-form button').click(); return null;",
        )
        .await;
    wait_shown(&customer, "#away-saved", true).await;
    send_message(&customer, "Hello from the shop", Via::Enter).await;
    wait_for_stored(&customer, &["Hello from the shop"]).await;
    let id = conversation_id(&customer).await;

    let listed = summaries(&app).await;
    assert_eq!(listed["items"][0]["client_id"], id.as_str());
    assert_eq!(
        listed["items"][0]["contact"]["email"], "ana@example.com",
        "offline mode kept the email"
    );

    let (mut agent, _, history) =
        WsClient::join(&app.ws_as_agent(&format!("/ws/agent/{id}"))).await;
    assert_eq!(history["messages"][0]["text"], "Hello from the shop");
    wait_shown(&customer, "#away", false).await;
    agent.say("Hi, how can I help?", Some("a1")).await;
    wait_for_stored(&customer, &["Hello from the shop", "Hi, how can I help?"]).await;
    screenshot(&customer, "widget-open-desktop").await;
    // The open panel reads the answer (the agent sees the read mark).
    loop {
        let read = agent.wait_for("read").await;
        if read["seq"].as_u64() >= Some(2) {
            break;
        }
    }

    // Escape in the chat closes it and gives the focus back to the page.
    press(&customer, Key::Escape).await;
    let after = wait_for_widget(&customer, "the panel to close", |w| w["open"] == false).await;
    assert_eq!(after["focus"], "launcher", "focus back on the launcher");
    assert_eq!(after["expanded"], "false");

    // An answer while the panel is closed shows on the host page.
    agent.say("Are you still there?", Some("a2")).await;
    wait_for_widget(&customer, "an unread badge", |w| w["badge"] == "1").await;
    let hooks = host_hooks(&customer).await;
    assert_eq!(
        hooks["unread"].as_array().and_then(|u| u.last()),
        Some(&json!(1)),
        "on('unread') heard it"
    );

    // A reload: the unread conversation is watched at once, without focus.
    customer.goto(&shop.url("/page1")).await.expect("reload");
    let reloaded =
        wait_for_widget(&customer, "the badge after a reload", |w| w["badge"] == "1").await;
    assert_eq!(reloaded["open"], false);
    assert_eq!(
        reloaded["focus"], "host-input",
        "still not stealing the focus"
    );

    // Another page of the shop, with a foreign frame posting fake events.
    customer
        .goto(&shop.url("/foreign"))
        .await
        .expect("another page");
    wait_for_widget(&customer, "the launcher", |w| w["present"] == true).await;
    wait_for("fake events from the foreign frame", WAIT, || async {
        let hooks = host_hooks(&customer).await;
        if hooks["foreign"].as_u64().unwrap_or(0) >= 5 {
            Ok(())
        } else {
            Err(hooks)
        }
    })
    .await;
    let now = widget(&customer).await;
    assert_ne!(
        now["badge"], "42",
        "a foreign frame's postMessage is ignored"
    );
    let hooks = host_hooks(&customer).await;
    assert!(!hooks["unread"]
        .as_array()
        .expect("list")
        .contains(&json!(42)));
    customer.js("SupportChat.open(); return null;").await;
    wait_for_widget(&customer, "the panel to open", |w| w["open"] == true).await;
    enter_chat(&customer).await;
    assert_eq!(
        conversation_id(&customer).await,
        id,
        "the same conversation on every page"
    );
    wait_for_stored(
        &customer,
        &[
            "Hello from the shop",
            "Hi, how can I help?",
            "Are you still there?",
        ],
    )
    .await;
    wait_for_widget(&customer, "the badge to clear once read", |w| {
        w["badge"] == ""
    })
    .await;

    // Phone: the open panel is the whole screen.
    set_viewport(&customer, PHONE).await;
    let phone = wait_for_widget(&customer, "a full-screen panel", |w| {
        w["open"] == true && w["panel"][2] == w["viewport"][0] && w["panel"][3] == w["viewport"][1]
    })
    .await;
    assert_eq!(
        phone["launcher_visible"], false,
        "the panel covers the launcher"
    );
    enter_chat(&customer).await;
    wait_for("the composer to fit the phone", WAIT, || async {
        let fits = customer
            .js(
                "const s = document.getElementById('send').getBoundingClientRect();
                 return s.width > 0 && s.right <= innerWidth && s.bottom <= innerHeight;",
            )
            .await;
        if fits == true {
            Ok(())
        } else {
            Err(fits)
        }
    })
    .await;
    screenshot(&customer, "widget-open-phone").await;
    agent.close().await;
    enter_chat(&customer).await;
    wait_shown(&customer, "#away", true).await;
    screenshot(&customer, "widget-offline-phone").await;
    customer
        .js("document.getElementById('close-widget').click(); return null;")
        .await;
    wait_for_widget(&customer, "the panel to close", |w| w["open"] == false).await;
    screenshot(&customer, "widget-closed-phone").await;
    set_viewport(&customer, DESKTOP).await;

    // The customer can keep a link to the conversation, or start anew.
    customer.js("SupportChat.open(); return null;").await;
    enter_chat(&customer).await;
    customer
        .js("document.getElementById('copy-link').click(); return null;")
        .await;
    let link = format!("http://{}/chat/client/{id}", app.addr);
    wait_for("the conversation's link", WAIT, || async {
        let value = customer
            .js("return document.getElementById('conversation-link').value;")
            .await;
        if value == link.as_str() {
            Ok(())
        } else {
            Err(value)
        }
    })
    .await;
    customer
        .js("document.getElementById('new-conversation').click(); return null;")
        .await;
    wait_for_state(&customer, "connected", WAIT).await;
    let fresh = conversation_id(&customer).await;
    assert_ne!(fresh, id, "a new conversation, remembered from now on");
    wait_shown(&customer, "#greeting", true).await;

    // Reduced motion: the panel does not animate.
    customer.enter_parent_frame().await.expect("host page");
    customer
        .cdp(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]}),
        )
        .await;
    let motion = customer
        .js(
            "const s = document.getElementById('support-chat-widget').shadowRoot;
             return [getComputedStyle(s.querySelector('.panel')).transitionDuration,
                     getComputedStyle(s.querySelector('.launcher')).transitionDuration];",
        )
        .await;
    assert_eq!(motion, json!(["0s", "0s"]));

    customer.assert_no_script_errors().await;
    customer.quit().await;
}

#[actix_web::test]
#[ignore = "needs chromium"]
async fn the_pre_chat_form_comes_first_in_either_language_and_a_site_not_allowed_gets_no_chat() {
    let (shop, app) = Shop::with_app(&[
        "--prechat-name",
        "required",
        "--prechat-email",
        "optional",
        "--greeting-en",
        "Questions about your order? Ask us.",
    ])
    .await;
    let driver = Chromedriver::start().await;
    let customer = driver.browser("customer").await;

    customer.goto(&shop.url("/page1")).await.expect("shop page");
    wait_for_widget(&customer, "the launcher", |w| w["present"] == true).await;
    let greeting = customer
        .js("const g = document.getElementById('support-chat-widget').shadowRoot.querySelector('.greeting');
             return g.hidden ? null : g.textContent;")
        .await;
    assert_eq!(
        greeting
            .as_str()
            .map(|g| g.contains("Questions about your order? Ask us.")),
        Some(true),
        "the configured greeting beside the bubble: {greeting}"
    );
    screenshot(&customer, "widget-greeting-desktop").await;
    customer.js("SupportChat.open(); return null;").await;
    enter_chat(&customer).await;
    wait_shown(&customer, "#prechat", true).await;
    assert!(
        !shown(&customer, "#composer").await,
        "no composer before the form"
    );
    assert!(
        !shown(&customer, "#prechat-skip").await,
        "a required name cannot be skipped"
    );
    customer
        .js("document.getElementById('prechat-start').click(); return null;")
        .await;
    wait_shown(&customer, "#prechat-error", true).await;
    customer
        .js("document.getElementById('prechat-name').value = 'Bo Chen';
             document.getElementById('prechat-email').value = 'bo@example.com';
             document.getElementById('prechat-start').click(); return null;")
        .await;
    wait_shown(&customer, "#prechat", false).await;
    wait_shown(&customer, "#composer", true).await;
    send_message(&customer, "I have a question", Via::SendButton).await;
    wait_for_stored(&customer, &["I have a question"]).await;
    let id = conversation_id(&customer).await;
    let (_, welcome, _) = WsClient::join(&app.ws_as_agent(&format!("/ws/agent/{id}"))).await;
    assert_eq!(
        welcome["contact"],
        json!({"name": "Bo Chen", "email": "bo@example.com", "lang": "en"}),
        "with the page's language, for the emails"
    );
    // The agent's page names the customer in its header.
    customer
        .goto(&app.http(&format!("/chat/server/{id}?token={AGENT_TOKEN}")))
        .await
        .expect("agent page");
    wait_for("the contact in the agent's header", WAIT, || async {
        let text = customer
            .js("const c = document.getElementById('contact'); return c && !c.hidden ? c.textContent : null;")
            .await;
        if text == "Bo Chen · bo@example.com" {
            Ok(())
        } else {
            Err(text)
        }
    })
    .await;
    // The agent corrects the name from the header; what the server then
    // tells both sides is what the header shows.
    customer
        .js("document.getElementById('edit-contact').click();
             document.getElementById('contact-name').value = 'Bo Chen-Li';
             document.getElementById('contact-form').requestSubmit(); return null;")
        .await;
    wait_for("the corrected contact in the header", WAIT, || async {
        let text = customer
            .js("const c = document.getElementById('contact'); return c.hidden ? null : c.textContent;")
            .await;
        if text == "Bo Chen-Li · bo@example.com" {
            Ok(())
        } else {
            Err(text)
        }
    })
    .await;

    // In Chinese (`data-lang="zh"`): the launcher and the whole chat.
    open_widget(&customer, &shop.url("/page2?lang=zh")).await;
    let label = customer
        .js(
            "return document.getElementById('support-chat-widget').shadowRoot
                 .querySelector('.launcher').getAttribute('aria-label');",
        )
        .await;
    assert_eq!(label, "关闭在线客服");
    enter_chat(&customer).await;
    wait_for_stored(&customer, &["I have a question"]).await;
    assert_all_labels_in(&customer, "zh").await;
    screenshot(&customer, "widget-open-zh").await;

    // At the chat server itself, /chat/client comes back to the last
    // conversation, and "New conversation" starts another one.
    let here = || async {
        let url = customer.current_url().await.expect("url");
        url.path().to_owned()
    };
    customer
        .goto(&app.http("/chat/client"))
        .await
        .expect("customer page");
    let first = here().await;
    customer
        .goto(&app.http("/chat/client"))
        .await
        .expect("customer page again");
    assert_eq!(here().await, first, "the same conversation again");
    wait_for_state(&customer, "connected", WAIT).await;
    customer
        .js("document.getElementById('new-conversation').click(); return null;")
        .await;
    let second = wait_for("a new conversation", WAIT, || async {
        let now = here().await;
        if now != first && now.starts_with("/chat/client/") {
            Ok(now)
        } else {
            Err(now)
        }
    })
    .await;
    customer
        .goto(&app.http("/chat/client"))
        .await
        .expect("customer page again");
    assert_eq!(here().await, second, "now that one is remembered");

    // The same shop page at an origin the server does not allow.
    let foreign = format!("http://127.0.0.1:{}/page1", shop.port);
    customer.goto(&foreign).await.expect("not allowed page");
    let said = wait_for("a console error", WAIT, || async {
        let hooks = host_hooks(&customer).await;
        let text = hooks["console"].to_string();
        if text.contains("may not embed this chat") {
            Ok(text)
        } else {
            Err(hooks)
        }
    })
    .await;
    assert!(
        said.contains("--allowed-origin"),
        "it says what to configure: {said}"
    );
    assert_eq!(
        widget(&customer).await["present"],
        false,
        "and shows no chat"
    );
    customer.quit().await;
}

#[actix_web::test]
#[ignore = "needs chromium"]
async fn identified_visitors_find_their_conversation_anywhere_and_bad_signatures_are_refused() {
    let (shop, app) = Shop::with_app(&["--identity-secret", SECRET]).await;
    let driver = Chromedriver::start().await;
    let laptop = driver.browser("laptop").await;

    let sig = sign("user-42");
    open_widget(
        &laptop,
        &shop.url(&format!("/page1?identify=user-42:{sig}")),
    )
    .await;
    enter_chat(&laptop).await;
    send_message(&laptop, "Where is my order?", Via::Enter).await;
    wait_for_stored(&laptop, &["Where is my order?"]).await;
    let (_, welcome, history) = WsClient::join(&app.ws_as_agent("/ws/agent/user-42")).await;
    assert_eq!(
        history["messages"][0]["text"], "Where is my order?",
        "the user's own conversation"
    );
    assert_eq!(
        welcome["contact"],
        json!({"name": "Ana", "email": "ana@example.com", "lang": "en"}),
        "identify's details, with the page's language"
    );

    // Another device: a fresh browser, identified by the script tag.
    let phone = driver.browser("phone").await;
    open_widget(&phone, &shop.url(&format!("/page2?attrs=user-42:{sig}"))).await;
    enter_chat(&phone).await;
    wait_for_stored(&phone, &["Where is my order?"]).await;
    phone.quit().await;

    // A signature of someone else is refused: no chat, and the page is told why.
    open_widget(
        &laptop,
        &shop.url(&format!("/page1?identify=user-43:{sig}")),
    )
    .await;
    wait_for_widget(&laptop, "the panel", |w| w["frame"] == true).await;
    enter_chat_frame(&laptop).await;
    wait_shown(&laptop, "#widget-notice", true).await;
    assert!(!shown(&laptop, "#input").await, "no composer");
    let told = wait_for("the refusal on the host page", WAIT, || async {
        let hooks = host_hooks(&laptop).await;
        if hooks["errors"].to_string().contains("invalid_identity") {
            Ok(hooks)
        } else {
            Err(hooks)
        }
    })
    .await;
    assert!(told["console"].to_string().contains("sig"), "{told}");
    laptop.quit().await;
}
