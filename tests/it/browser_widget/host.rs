//! Looking at the widget the way the tests need: its state on the host
//! page (inside its shadow root), the chat frame, keys, and the hooks of
//! the shop's pages.

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::{Element, ElementRef};
use fantoccini::key::Key;
use serde_json::Value;

use crate::browser::{wait_for, wait_for_state, Browser, WAIT};
use crate::common::TestApp;

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

pub(super) async fn widget(browser: &Browser) -> Value {
    browser
        .enter_parent_frame()
        .await
        .expect("to the host page");
    browser.js(WIDGET_STATE).await
}

/// Waits until the host page's widget satisfies `ok`.
pub(super) async fn wait_for_widget(
    browser: &Browser,
    what: &str,
    ok: impl Fn(&Value) -> bool,
) -> Value {
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

/// Goes to the shop page at `url` and, once its launcher is there, opens
/// the widget from the page's script (`SupportChat.open()`).
pub(super) async fn open_widget(browser: &Browser, url: &str) {
    browser.goto(url).await.expect("shop page");
    wait_for_widget(browser, "the launcher", |w| w["present"] == true).await;
    browser.js("SupportChat.open(); return null;").await;
}

/// Presses `key` wherever the focus is.
pub(super) async fn press(browser: &Browser, key: Key) {
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key.into() })
        .then(KeyAction::Up { value: key.into() });
    browser.perform_actions(keys).await.expect("key press");
}

/// Opens the widget from the keyboard: Tab-like focus on the launcher, Enter.
pub(super) async fn open_with_keyboard(browser: &Browser) {
    browser
        .js("document.getElementById('support-chat-widget').shadowRoot.querySelector('.launcher').focus(); return null;")
        .await;
    press(browser, Key::Enter).await;
    wait_for_widget(browser, "the panel to open", |w| w["open"] == true).await;
}

/// Switches the browser into the chat iframe. It lives in the widget's
/// shadow root, which `window.frames` does not list: the element itself
/// is looked up and entered.
pub(super) async fn enter_chat_frame(browser: &Browser) {
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
pub(super) async fn enter_chat(browser: &Browser) {
    enter_chat_frame(browser).await;
    wait_for_state(browser, "connected", WAIT).await;
}

pub(super) async fn conversation_id(browser: &Browser) -> String {
    let id = browser
        .js("return localStorage.getItem('support-chat:conversation');")
        .await;
    id.as_str()
        .expect("the frame remembers its conversation")
        .to_owned()
}

pub(super) async fn shown(browser: &Browser, selector: &str) -> bool {
    let script = format!(
        "const e = document.querySelector('{selector}'); return Boolean(e && e.getClientRects().length);"
    );
    browser.js(&script).await == true
}

pub(super) async fn wait_shown(browser: &Browser, selector: &str, want: bool) {
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

pub(super) async fn host_hooks(browser: &Browser) -> Value {
    browser
        .enter_parent_frame()
        .await
        .expect("to the host page");
    browser
        .js("return { unread: window.__unread, errors: window.__errors, console: window.__console, foreign: window.__foreign };")
        .await
}

pub(super) async fn summaries(app: &TestApp) -> Value {
    app.agent_json("/api/conversations").await
}
