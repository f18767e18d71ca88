//! "Seen", typing, labels, languages and layouts.

use super::*;

/// The "Seen" mark of a chat view, and the bubble it is under.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct Seen {
    pub(crate) under_seq: Option<u64>,
    pub(crate) under_mine: bool,
    pub(crate) text: String,
    pub(crate) shown: bool,
}

pub(crate) async fn seen_mark(browser: &Browser) -> Option<Seen> {
    let script = format!(
        r#"{SHOWN_JS}
        const seen = document.querySelector('#messages .seen');
        if (!seen) return null;
        const above = seen.previousElementSibling;
        return {{
            under_seq: above && above.dataset.seq ? Number(above.dataset.seq) : null,
            under_mine: Boolean(above && above.classList.contains('mine')),
            text: seen.textContent,
            shown: shown(seen),
        }};"#
    );
    serde_json::from_value(browser.js(&script).await).expect("seen snapshot")
}

/// Waits until "Seen" shows under the page's own message `seq`.
pub(crate) async fn wait_for_seen(browser: &Browser, seq: u64) -> Seen {
    let what = format!("{}: \"Seen\" under its own message {seq}", browser.name);
    wait_for(&what, WAIT, || async {
        match seen_mark(browser).await {
            Some(seen) if seen.under_seq == Some(seq) && seen.under_mine && seen.shown => Ok(seen),
            other => Err(other),
        }
    })
    .await
}

/// The "… is typing" line of a chat view while it is shown.
pub(crate) async fn typing_line(browser: &Browser) -> Option<String> {
    let script = format!(
        "{SHOWN_JS} const t = document.getElementById('typing'); return shown(t) ? t.textContent : null;"
    );
    browser.js(&script).await.as_str().map(str::to_string)
}

/// Waits until the typing line says `want` (`None`: is hidden), for at most
/// `timeout`.
pub(crate) async fn wait_for_typing(browser: &Browser, want: Option<&str>, timeout: Duration) {
    let what = format!("{}: the typing line to be {want:?}", browser.name);
    wait_for(&what, timeout, || async {
        let now = typing_line(browser).await;
        if now.as_deref() == want {
            Ok(())
        } else {
            Err(now)
        }
    })
    .await
}

/// Starts recording, in the page, when the typing line last showed and hid
/// and when the composer was last emptied (`Date.now()`: one clock for
/// every browser on this machine).
pub(crate) async fn record_typing(browser: &Browser) {
    browser
        .js(r#"
            const line = document.getElementById('typing');
            const input = document.getElementById('input');
            const log = window.__typing = { shown: null, hidden: null, cleared: null };
            new MutationObserver(() => { log[line.hidden ? 'hidden' : 'shown'] = Date.now(); })
                .observe(line, { attributes: true, attributeFilter: ['hidden'] });
            input.addEventListener('input', () => { if (!input.value) log.cleared = Date.now(); });
            return null;
        "#)
        .await;
}

/// What `record_typing` saw: `shown`, `hidden`, `cleared` (ms or `null`).
pub(crate) async fn typing_times(browser: &Browser) -> Value {
    browser.js("return window.__typing || null;").await
}

/// Types into `#input` without sending.
pub(crate) async fn type_into_composer(browser: &Browser, keys: &str) {
    browser
        .find(Locator::Id("input"))
        .await
        .expect("#input exists")
        .send_keys(keys)
        .await
        .expect("type into #input");
}

/// What the page shows for each key: `title` is the document title,
/// `selector@property` a property of the element (`#input@placeholder`,
/// `html@lang`, `#x@dataset.status`), a bare selector its trimmed text; `None`
/// when nothing matches.
pub(crate) const LABELS: &str = r#"
    return arguments[0].map((key) => {
        if (key === 'title') return document.title;
        const at = key.indexOf('@');
        const el = document.querySelector(at < 0 ? key : key.slice(0, at));
        if (!el) return null;
        if (at < 0) return el.textContent.trim();
        const value = key.slice(at + 1).split('.').reduce((v, k) => (v == null ? v : v[k]), el);
        return value === undefined || value === null ? null : String(value);
    });
"#;

/// Waits until the page shows every `(key, text)` of `expected` (keys as
/// in `LABELS`).
pub(crate) async fn wait_for_labels(browser: &Browser, expected: &[(&str, &str)]) {
    let keys: Vec<&str> = expected.iter().map(|(key, _)| *key).collect();
    let want: Vec<(&str, Option<&str>)> = expected.iter().map(|(k, t)| (*k, Some(*t))).collect();
    let what = format!("{}: the labels {want:#?}", browser.name);
    wait_for(&what, WAIT, || async {
        let now = browser.js_with(LABELS, vec![json!(keys)]).await;
        let now: Vec<Option<String>> = serde_json::from_value(now).expect("labels");
        let now: Vec<(&str, Option<&str>)> = keys
            .iter()
            .copied()
            .zip(now.iter().map(|t| t.as_deref()))
            .collect();
        if now == want {
            Ok(())
        } else {
            Err(format!("{now:#?}"))
        }
    })
    .await
}

/// Translated texts (`data-i18n`, `data-i18n-placeholder`) on screen that are
/// not in the language `arguments[0]` (`zh`: has Chinese characters, `en`:
/// has none). Returns where each is.
pub(crate) const WRONG_LANGUAGE: &str = r#"
    const cjk = /[\u3400-\u9fff\uff01-\uff5e]/;
    const zh = arguments[0] === 'zh';
    const found = [];
    for (const el of document.querySelectorAll('[data-i18n], [data-i18n-placeholder]')) {
        if (!el.getClientRects().length) continue;
        const text = el.dataset.i18n !== undefined ? el.textContent : el.placeholder;
        if (cjk.test(text) !== zh) found.push((el.id || el.className || el.tagName) + ': ' + text);
    }
    return found;
"#;

pub(crate) async fn assert_all_labels_in(browser: &Browser, lang: &str) {
    let wrong = browser.js_with(WRONG_LANGUAGE, vec![json!(lang)]).await;
    assert_eq!(
        wrong,
        json!([]),
        "{}: labels that are not in {lang}",
        browser.name
    );
}

/// Picks `lang` in the page's `#lang` switcher.
pub(crate) async fn switch_language(browser: &Browser, lang: &str) {
    browser
        .find(Locator::Id("lang"))
        .await
        .expect("#lang exists")
        .select_by_value(lang)
        .await
        .expect("pick a language");
}

/// Marks the current document, so that `assert_same_document` can tell
/// that it was not reloaded since.
pub(crate) async fn mark_document(browser: &Browser) {
    browser
        .js("window.__sameDocument = true; return null;")
        .await;
}

pub(crate) async fn assert_same_document(browser: &Browser) {
    let same = browser.js("return window.__sameDocument === true;").await;
    assert_eq!(same, true, "{}: the page was not reloaded", browser.name);
}

/// The console's layout: which panes show, and whether anything sticks out.
pub(crate) const CONSOLE_LAYOUT: &str = r#"
    const rect = (selector) => {
        const el = document.querySelector(selector);
        const r = el && el.getBoundingClientRect();
        return r && r.width > 0 && r.height > 0 ? r : null;
    };
    const onScreen = (r) => Boolean(r) && r.left >= 0 && r.top >= 0
        && r.right <= window.innerWidth + 0.5 && r.bottom <= window.innerHeight + 0.5;
    const list = rect('#inbox'), chat = rect('#chat-pane');
    const sticking = [];
    for (const el of document.querySelectorAll('.console *')) {
        const r = el.getBoundingClientRect();
        if (r.width > 0 && r.right > window.innerWidth + 0.5) {
            sticking.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '.' + el.className);
        }
    }
    return {
        overflow: document.documentElement.scrollWidth - window.innerWidth,
        sticking_out: sticking,
        view: document.getElementById('console').dataset.view,
        list_shown: Boolean(list),
        chat_shown: Boolean(chat),
        side_by_side: Boolean(list && chat && list.right <= chat.left + 0.5),
        composer_on_screen: onScreen(rect('#input')) && onScreen(rect('#send')),
        back_shown: Boolean(rect('#back')),
        rows: document.querySelectorAll('#conv-list > .conv-row').length,
    };
"#;

#[derive(Debug, Deserialize)]
pub(crate) struct ConsoleLayout {
    pub(crate) overflow: i64,
    pub(crate) sticking_out: Vec<String>,
    pub(crate) view: String,
    pub(crate) list_shown: bool,
    pub(crate) chat_shown: bool,
    pub(crate) side_by_side: bool,
    pub(crate) composer_on_screen: bool,
    pub(crate) back_shown: bool,
    pub(crate) rows: usize,
}

pub(crate) async fn console_layout(browser: &Browser, label: &str) -> ConsoleLayout {
    let layout: ConsoleLayout =
        serde_json::from_value(browser.js(CONSOLE_LAYOUT).await).expect("layout");
    assert_eq!(
        layout.overflow, 0,
        "console at {label}: no horizontal overflow"
    );
    assert!(
        layout.sticking_out.is_empty(),
        "console at {label}: elements past the right edge: {:?}",
        layout.sticking_out
    );
    let leftovers = browser.js(LEFTOVER_TEXT).await;
    assert_eq!(
        leftovers,
        json!([]),
        "console at {label}: text that is a bug, not a message"
    );
    layout
}
