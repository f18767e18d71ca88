//! The website widget in a real browser, embedded in pages of ANOTHER
//! origin: a tiny "shop" served by the test itself on a second local port,
//! as `http://localhost:<port>` (another site than the chat server's
//! `127.0.0.1`, so the frame's storage is partitioned as on the web). The
//! agent side is a protocol client. Screenshots of the closed, open and
//! offline widget at desktop and phone sizes go to `target/screenshots/`.

use std::sync::Arc;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::{Element, ElementRef};
use fantoccini::key::Key;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::browser::{
    screenshot, send_message, set_viewport, wait_for, wait_for_state, wait_for_stored, Browser,
    Chromedriver, Via, DESKTOP, PHONE, WAIT,
};
use crate::common::{http_client, spawn_app_with, TestApp, WsClient, AGENT_TOKEN};

const SECRET: &str = "widget-test-secret";
const AWAY: &str = "Nobody is here right now: leave your email and we write back.";

/// The shop: pages that embed the widget of `chat` (the chat server's
/// origin), with hooks the tests read (`window.__unread`, `__errors`,
/// `__console`, `__foreign`).
struct Shop {
    port: u16,
    chat: Arc<std::sync::Mutex<String>>,
    task: tokio::task::JoinHandle<()>,
}

impl Shop {
    async fn start() -> Shop {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let port = listener.local_addr().expect("address").port();
        let chat = Arc::new(std::sync::Mutex::new(String::new()));
        let served = Arc::clone(&chat);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let chat = served.lock().expect("chat origin").clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head);
                    let target = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    let body = shop_page(&target, &chat, port);
                    let response = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                         Cache-Control: no-store\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(response.as_bytes()).await;
                });
            }
        });
        Shop { port, chat, task }
    }

    /// The shop's origin: another site than the chat server's 127.0.0.1.
    fn origin(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin())
    }

    fn serve_chat_of(&self, app: &TestApp) {
        *self.chat.lock().expect("chat origin") = format!("http://{}", app.addr);
    }
}

impl Drop for Shop {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A shop page. `?identify=ID:SIG` calls `SupportChat.identify`;
/// `?attrs=ID:SIG` puts them on the script tag instead; `/foreign` also
/// holds a frame of another origin that posts fake widget events.
fn shop_page(target: &str, chat: &str, port: u16) -> String {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path == "/poster" {
        return "<!doctype html><script>setInterval(() => parent.postMessage(\
                {sc: 'support-chat/1', type: 'state', unread: 42, conversation: true}, '*'), 100);\
                </script>"
            .into();
    }
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.split_once(':'))
    };
    let identify = param("identify").map_or(String::new(), |(id, sig)| {
        format!("SupportChat.identify({{id: '{id}', sig: '{sig}', name: 'Ana', email: 'ana@example.com'}});")
    });
    let attrs = param("attrs").map_or(String::new(), |(id, sig)| {
        format!("data-user-id=\"{id}\" data-sig=\"{sig}\"")
    });
    let foreign = if path == "/foreign" {
        format!("<iframe id=\"foreign\" src=\"http://127.0.0.1:{port}/poster\" style=\"width:4px;height:4px;border:0\"></iframe>")
    } else {
        String::new()
    };
    format!(
        r##"<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Shop {path}</title></head>
<body style="font-family: sans-serif; margin: 2rem; background: #fafaf7">
<h1>Example shop</h1>
<p>Page {path}. <a id="next" href="/page2">Next page</a></p>
<label>Search <input id="host-input" autofocus></label>
<script>
window.__unread = []; window.__errors = []; window.__console = []; window.__foreign = 0;
const originalError = console.error;
console.error = (...args) => {{ window.__console.push(args.join(' ')); originalError(...args); }};
window.addEventListener('message', (e) => {{ if (e.data && e.data.unread === 42) window.__foreign += 1; }});
window.addEventListener('supportchat:ready', () => {{
  SupportChat.on('unread', (n) => window.__unread.push(n));
  SupportChat.on('error', (e) => window.__errors.push(e.message));
  {identify}
}});
</script>
<script src="{chat}/widget.js" async data-lang="en" data-color="#0f766e" {attrs}></script>
{foreign}
</body></html>"##
    )
}

fn sign(id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key");
    mac.update(id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

// ---- looking at the widget from the host page ------------------------------

/// What the host page shows of the widget.
const WIDGET_STATE: &str = r#"
    const host = document.getElementById('support-chat-widget');
    if (!host) return { present: false };
    const s = host.shadowRoot;
    const panel = s.querySelector('.panel');
    const badge = s.querySelector('.badge');
    const launcher = s.querySelector('.launcher');
    const rect = panel.getBoundingClientRect();
    const inner = document.activeElement === host ? s.activeElement : null;
    return {
        present: true,
        frame: Boolean(s.querySelector('iframe')),
        open: !panel.hidden && !panel.classList.contains('hidden-frame'),
        badge: badge.hidden ? '' : badge.textContent,
        expanded: launcher.getAttribute('aria-expanded'),
        launcher_visible: launcher.getBoundingClientRect().width > 0,
        focus: inner ? (inner.className || inner.tagName) : (document.activeElement.id || document.activeElement.tagName),
        panel: [Math.round(rect.left), Math.round(rect.top), Math.round(rect.width), Math.round(rect.height)],
        viewport: [innerWidth, innerHeight],
    };
"#;

async fn widget(browser: &Browser) -> Value {
    browser
        .enter_parent_frame()
        .await
        .expect("to the host page");
    browser.js(WIDGET_STATE).await
}

/// Waits until the host page's widget satisfies `ok`.
async fn wait_for_widget(browser: &Browser, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    wait_for(what, WAIT, || async {
        let now = widget(browser).await;
        if ok(&now) {
            Ok(now)
        } else {
            Err(now)
        }
    })
    .await
}

/// Presses `key` wherever the focus is.
async fn press(browser: &Browser, key: Key) {
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key.into() })
        .then(KeyAction::Up { value: key.into() });
    browser.perform_actions(keys).await.expect("key press");
}

/// Opens the widget from the keyboard: Tab-like focus on the launcher, Enter.
async fn open_with_keyboard(browser: &Browser) {
    browser
        .js("document.getElementById('support-chat-widget').shadowRoot.querySelector('.launcher').focus(); return null;")
        .await;
    press(browser, Key::Enter).await;
    wait_for_widget(browser, "the panel to open", |w| w["open"] == true).await;
}

/// Switches the browser into the chat iframe. It lives in the widget's
/// shadow root, which `window.frames` does not list: the element itself
/// is looked up and entered.
async fn enter_chat_frame(browser: &Browser) {
    browser
        .enter_parent_frame()
        .await
        .expect("to the host page");
    let found = browser
        .js("return document.getElementById('support-chat-widget').shadowRoot.querySelector('iframe');")
        .await;
    let id = found
        .as_object()
        .and_then(|o| o.values().next())
        .and_then(Value::as_str)
        .expect("an iframe element")
        .to_owned();
    let client: fantoccini::Client = (**browser).clone();
    Element::from_element_id(client, ElementRef::from(id))
        .enter_frame()
        .await
        .expect("into the chat frame");
}

/// Into the chat iframe, once its chat is connected.
async fn enter_chat(browser: &Browser) {
    enter_chat_frame(browser).await;
    wait_for_state(browser, "connected", WAIT).await;
}

async fn conversation_id(browser: &Browser) -> String {
    let id = browser
        .js("return localStorage.getItem('support-chat:conversation');")
        .await;
    id.as_str()
        .expect("the frame remembers its conversation")
        .to_owned()
}

async fn shown(browser: &Browser, selector: &str) -> bool {
    let script = format!(
        "const e = document.querySelector('{selector}'); return Boolean(e && e.getClientRects().length);"
    );
    browser.js(&script).await == true
}

async fn wait_shown(browser: &Browser, selector: &str, want: bool) {
    let what = format!("{selector} shown: {want}");
    wait_for(&what, WAIT, || async {
        if shown(browser, selector).await == want {
            Ok(())
        } else {
            Err(())
        }
    })
    .await
}

async fn host_hooks(browser: &Browser) -> Value {
    browser
        .enter_parent_frame()
        .await
        .expect("to the host page");
    browser
        .js("return { unread: window.__unread, errors: window.__errors, console: window.__console, foreign: window.__foreign };")
        .await
}

async fn summaries(app: &TestApp) -> Value {
    http_client()
        .get(app.http("/api/conversations"))
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("JSON")
}

// ---- the stories ----------------------------------------------------------------

#[actix_web::test]
#[ignore = "needs chromium"]
async fn a_visitor_of_another_site_chats_through_the_widget_and_keeps_the_conversation() {
    let shop = Shop::start().await;
    let app = spawn_app_with(&[
        "--allowed-origin",
        &shop.origin(),
        "--away-en",
        AWAY,
        "--business-hours",
        "mon-sun 00:00-24:00",
        "--time-zone",
        "Asia/Shanghai",
    ])
    .await;
    shop.serve_chat_of(&app);
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
async fn the_pre_chat_form_comes_first_and_a_site_that_is_not_allowed_gets_no_chat() {
    let shop = Shop::start().await;
    let app = spawn_app_with(&[
        "--allowed-origin",
        &shop.origin(),
        "--prechat-name",
        "required",
        "--prechat-email",
        "optional",
        "--greeting-en",
        "Questions about your order? Ask us.",
    ])
    .await;
    shop.serve_chat_of(&app);
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
        json!({"name": "Bo Chen", "email": "bo@example.com"})
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
    let shop = Shop::start().await;
    let app = spawn_app_with(&[
        "--allowed-origin",
        &shop.origin(),
        "--identity-secret",
        SECRET,
    ])
    .await;
    shop.serve_chat_of(&app);
    let driver = Chromedriver::start().await;
    let laptop = driver.browser("laptop").await;

    let sig = sign("user-42");
    laptop
        .goto(&shop.url(&format!("/page1?identify=user-42:{sig}")))
        .await
        .expect("shop page");
    wait_for_widget(&laptop, "the launcher", |w| w["present"] == true).await;
    laptop.js("SupportChat.open(); return null;").await;
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
        json!({"name": "Ana", "email": "ana@example.com"}),
        "identify's details"
    );

    // Another device: a fresh browser, identified by the script tag.
    let phone = driver.browser("phone").await;
    phone
        .goto(&shop.url(&format!("/page2?attrs=user-42:{sig}")))
        .await
        .expect("shop page");
    wait_for_widget(&phone, "the launcher", |w| w["present"] == true).await;
    phone.js("SupportChat.open(); return null;").await;
    enter_chat(&phone).await;
    wait_for_stored(&phone, &["Where is my order?"]).await;
    phone.quit().await;

    // A signature of someone else is refused: no chat, and the page is told why.
    laptop
        .goto(&shop.url(&format!("/page1?identify=user-43:{sig}")))
        .await
        .expect("shop page");
    wait_for_widget(&laptop, "the launcher", |w| w["present"] == true).await;
    laptop.js("SupportChat.open(); return null;").await;
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
