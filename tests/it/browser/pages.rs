//! Reading and driving a chat page: bubbles, states, sending, screens.

use super::*;

/// A chat bubble as the page shows it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct Bubble {
    pub(crate) seq: Option<u64>,
    pub(crate) text: String,
    pub(crate) mine: bool,
    pub(crate) theirs: bool,
    pub(crate) pending: bool,
    pub(crate) failed: bool,
}

/// Polls `probe` until it returns `Ok`, for at most `timeout`; then fails
/// the test with `what` and the last thing `probe` saw.
pub(crate) async fn wait_for<T, E, F, Fut>(what: &str, timeout: Duration, probe: F) -> T
where
    E: Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    match poll_until(timeout, probe).await {
        Ok(value) => value,
        Err(last) => panic!("timed out after {timeout:?} waiting for {what}; last seen: {last:#?}"),
    }
}

/// Polls `probe` until it returns `Ok`, for at most `timeout`; then returns
/// its last `Err`.
pub(crate) async fn poll_until<T, E, F, Fut>(timeout: Duration, mut probe: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match probe().await {
            Ok(value) => return Ok(value),
            Err(last) if Instant::now() >= deadline => return Err(last),
            Err(_) => tokio::time::sleep(POLL).await,
        }
    }
}

/// Every bubble in `#messages`, top to bottom.
pub(crate) async fn bubbles(browser: &Browser) -> Vec<Bubble> {
    let value = browser
        .js(
            r#"return Array.from(document.querySelectorAll('#messages .msg'), (el) => {
                const text = el.querySelector('.text');
                const seq = el.dataset.seq;
                return {
                    seq: seq ? Number(seq) : null,
                    text: text ? text.textContent : '',
                    mine: el.classList.contains('mine'),
                    theirs: el.classList.contains('theirs'),
                    pending: el.classList.contains('pending'),
                    failed: el.classList.contains('failed'),
                };
            });"#,
        )
        .await;
    serde_json::from_value(value).expect("bubble snapshot")
}

/// The texts of `bubbles`, in order.
pub(crate) fn texts_of(bubbles: &[Bubble]) -> Vec<&str> {
    bubbles.iter().map(|b| b.text.as_str()).collect()
}

/// The seqs of the stored bubbles, in order.
pub(crate) fn seqs_of(bubbles: &[Bubble]) -> Vec<u64> {
    bubbles.iter().filter_map(|b| b.seq).collect()
}

/// Waits until the page's bubbles satisfy `ok`, and returns them.
pub(crate) async fn wait_for_bubbles(
    browser: &Browser,
    what: &str,
    ok: impl Fn(&[Bubble]) -> bool,
) -> Vec<Bubble> {
    let what = format!("{}: {what}", browser.name);
    wait_for(&what, WAIT, || async {
        let now = bubbles(browser).await;
        if ok(&now) {
            Ok(now)
        } else {
            Err(now)
        }
    })
    .await
}

/// Waits until the stored bubbles are exactly `expected` (text by seq 1..),
/// with nothing pending, and returns them.
pub(crate) async fn wait_for_stored(browser: &Browser, expected: &[&str]) -> Vec<Bubble> {
    let what = format!("exactly the stored messages {expected:?}");
    wait_for_bubbles(browser, &what, |now| {
        let want: Vec<u64> = (1..=expected.len() as u64).collect();
        texts_of(now) == expected
            && seqs_of(now) == want
            && now.iter().all(|b| !b.pending && !b.failed)
    })
    .await
}

/// `#status[data-state]`: `connected`, `reconnecting` or `offline`.
pub(crate) async fn connection_state(browser: &Browser) -> String {
    let value = browser
        .js("const s = document.getElementById('status'); return s ? s.dataset.state : null;")
        .await;
    value.as_str().unwrap_or("(no #status)").to_string()
}

pub(crate) async fn wait_for_state(browser: &Browser, state: &str, timeout: Duration) {
    let reached = poll_until(timeout, || async {
        let now = connection_state(browser).await;
        if now == state {
            Ok(())
        } else {
            Err(now)
        }
    })
    .await;
    if let Err(last) = reached {
        panic!(
            "{}: timed out after {timeout:?} waiting for #status data-state={state}; \
             it is {last:?}; script errors: {:#?}",
            browser.name,
            browser.script_errors().await
        );
    }
}

/// Waits until the page shows the peer online (or offline).
pub(crate) async fn wait_for_presence(browser: &Browser, online: bool) {
    let want = if online { "true" } else { "false" };
    let what = format!("{}: #presence data-online={want}", browser.name);
    wait_for(&what, WAIT, || async {
        let now = browser
            .js("const p = document.getElementById('presence'); return p ? p.dataset.online : null;")
            .await;
        if now == want {
            Ok(())
        } else {
            Err(now)
        }
    })
    .await
}

/// Starts recording every change of `#status[data-state]` in the page, so
/// that a test can tell that a page went away and came back.
pub(crate) async fn record_status_changes(browser: &Browser) {
    browser
        .js(r#"
            window.__statusLog = [];
            const status = document.getElementById('status');
            new MutationObserver(() => window.__statusLog.push(status.dataset.state))
                .observe(status, { attributes: true, attributeFilter: ['data-state'] });
            return null;
        "#)
        .await;
}

/// After `record_status_changes`: waits until the page has been away
/// (not connected) and is connected again.
pub(crate) async fn wait_for_reconnect(browser: &Browser) {
    let what = format!("{}: to lose the connection and get it back", browser.name);
    wait_for(&what, RECONNECT_WAIT, || async {
        let log = browser
            .js("return { log: window.__statusLog || null, now: document.getElementById('status').dataset.state };")
            .await;
        let went_away = log["log"]
            .as_array()
            .is_some_and(|states| states.iter().any(|s| s != "connected"));
        if went_away && log["now"] == "connected" {
            Ok(())
        } else {
            Err(log)
        }
    })
    .await
}

/// How a message leaves the composer.
#[derive(Clone, Copy)]
pub(crate) enum Via {
    Enter,
    SendButton,
}

/// Types `text` into `#input` and sends it; the composer is empty after.
pub(crate) async fn send_message(browser: &Browser, text: &str, via: Via) {
    let input = browser
        .find(Locator::Id("input"))
        .await
        .expect("#input exists");
    input.click().await.expect("click #input");
    input.send_keys(text).await.expect("type into #input");
    let typed = input.prop("value").await.expect("#input value");
    assert_eq!(
        typed.as_deref(),
        Some(text),
        "{}: #input holds what was typed",
        browser.name
    );
    match via {
        Via::Enter => input.send_keys(&Key::Enter).await.expect("press Enter"),
        Via::SendButton => browser
            .find(Locator::Id("send"))
            .await
            .expect("#send exists")
            .click()
            .await
            .expect("click #send"),
    }
    let what = format!("{}: the composer to be cleared after sending", browser.name);
    wait_for(&what, WAIT, || async {
        match input.prop("value").await.expect("#input value") {
            Some(value) if value.is_empty() => Ok(()),
            other => Err(other),
        }
    })
    .await;
}

/// Where screenshots go: `target/screenshots/`.
pub(crate) fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

/// Saves a PNG of what the browser shows as `target/screenshots/NAME.png`;
/// returns its size in pixels.
pub(crate) async fn screenshot(browser: &Browser, name: &str) -> (u32, u32) {
    let png = browser.screenshot().await.expect("screenshot");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 24,
        "a PNG"
    );
    let path = screenshot_dir().join(format!("{name}.png"));
    std::fs::write(&path, &png).expect("write screenshot");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    (width, height)
}

/// The page's viewport size in CSS pixels.
pub(crate) async fn viewport(browser: &Browser) -> (u32, u32) {
    let size = browser
        .js("return [window.innerWidth, window.innerHeight];")
        .await;
    let dim = |i: usize| size[i].as_u64().expect("a size") as u32;
    (dim(0), dim(1))
}

/// Resizes the window so that the page's viewport is `width` x `height`.
pub(crate) async fn set_viewport(browser: &Browser, target: (u32, u32)) {
    let what = format!("{}: a {}x{} viewport", browser.name, target.0, target.1);
    let reached = || async {
        let now = viewport(browser).await;
        if now == target {
            Ok(())
        } else {
            Err(now)
        }
    };
    // Window decorations (headless Chromium keeps room for a toolbar) take
    // part of the window: ask for that much more at once.
    let decorations = browser
        .js("return [outerWidth - innerWidth, outerHeight - innerHeight];")
        .await;
    let extra = |i: usize| decorations[i].as_u64().unwrap_or(0) as u32;
    let window = (target.0 + extra(0), target.1 + extra(1));
    browser
        .set_window_size(window.0, window.1)
        .await
        .expect("resize window");
    // The page sees a resize a moment later.
    if let Err(inner) = poll_until(Duration::from_secs(3), reached).await {
        // Measured at a size the window cannot have: correct by what is
        // still off.
        let fix = |window: u32, want: u32, got: u32| {
            (i64::from(window) + i64::from(want) - i64::from(got)).max(1) as u32
        };
        browser
            .set_window_size(
                fix(window.0, target.0, inner.0),
                fix(window.1, target.1, inner.1),
            )
            .await
            .expect("resize window");
        wait_for(&what, WAIT, reached).await;
    }
}

/// Visible text outside the messages that no person should see: `null`,
/// `undefined`, `NaN`, or an unfilled `{placeholder}`. Returns where each is.
pub(crate) const LEFTOVER_TEXT: &str = r#"
    const found = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const el = node.parentElement;
        if (!el || el.closest('#messages .text, script, style, noscript')) continue;
        if (!el.getClientRects().length || getComputedStyle(el).visibility === 'hidden') continue;
        const text = node.textContent.trim();
        if (/^(null|undefined|NaN)$|\b(null|undefined|NaN)\b|\{\w+\}/.test(text)) {
            const where = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                (el.className ? '.' + String(el.className).split(/\s+/).join('.') : '');
            found.push(where + ': ' + JSON.stringify(text));
        }
    }
    return found;
"#;

/// Fails if an alert, confirm or prompt dialog is open.
pub(crate) async fn assert_no_dialog(browser: &Browser) {
    if let Ok(text) = browser.get_alert_text().await {
        panic!("{}: a dialog is open: {text:?}", browser.name);
    }
}

/// Where a page's composer is: the layout facts every screen size must keep.
pub(crate) const COMPOSER_LAYOUT: &str = r#"
    const box = (id) => document.getElementById(id).getBoundingClientRect();
    const input = box('input'), send = box('send');
    return {
        overflow: document.documentElement.scrollWidth - window.innerWidth,
        composer_visible: input.width > 0 && input.left >= 0 && send.right <= window.innerWidth
            && input.top >= 0 && send.bottom <= window.innerHeight,
    };
"#;

/// Asserts that nothing sticks out sideways, the composer is on screen and
/// no text is a bug (see `LEFTOVER_TEXT`).
pub(crate) async fn assert_composer_fits(browser: &Browser, label: &str) {
    let layout = browser.js(COMPOSER_LAYOUT).await;
    assert_eq!(
        layout["overflow"], 0,
        "{} at {label} size: no horizontal overflow",
        browser.name
    );
    assert_eq!(
        layout["composer_visible"], true,
        "{} at {label} size: the composer is on screen",
        browser.name
    );
    let leftovers = browser.js(LEFTOVER_TEXT).await;
    assert_eq!(
        leftovers,
        json!([]),
        "{} at {label} size: text that is a bug, not a message",
        browser.name
    );
}
