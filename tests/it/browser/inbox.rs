//! The agent console: its list and rows.

use super::*;

/// A row of the console's conversation list, as shown.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Row {
    pub(crate) id: String,
    pub(crate) waiting: bool,
    pub(crate) active: bool,
    pub(crate) online: bool,
    pub(crate) preview: String,
    pub(crate) status: String,
    pub(crate) unread: u64,
    pub(crate) unread_shown: bool,
}

/// What the console shows about the conversations.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Inbox {
    /// `#inbox-status[data-state]`.
    pub(crate) state: String,
    /// `#list-state[data-state]`: `loading`, `idle`, `empty` or `nomatch`.
    pub(crate) list: String,
    pub(crate) rows: Vec<Row>,
    pub(crate) title: String,
    pub(crate) unread_total: u64,
    pub(crate) unread_total_shown: bool,
    pub(crate) waiting_total: u64,
    /// `#console[data-view]`: `list` or `chat` (what a narrow screen shows).
    pub(crate) view: String,
}

impl Inbox {
    pub(crate) fn row(&self, id: &str) -> Option<&Row> {
        self.rows.iter().find(|row| row.id == id)
    }

    pub(crate) fn ids(&self) -> Vec<&str> {
        self.rows.iter().map(|row| row.id.as_str()).collect()
    }
}

/// Is the element rendered? (`hidden`, `display: none` or in a hidden pane: no.)
pub(crate) const SHOWN_JS: &str =
    "const shown = (el) => Boolean(el && el.getClientRects().length);";

pub(crate) async fn inbox(browser: &Browser) -> Inbox {
    let script = format!(
        r#"{SHOWN_JS}
        // A page still loading (or another page) reads as "absent", so
        // a poll sees "not yet" instead of failing on a missing element.
        const part = (row, cls) => row.querySelector('.' + cls) || document.createElement('span');
        const $ = (id) => document.getElementById(id) || document.createElement('span');
        const data = (el, key, none) => el.dataset[key] ?? none;
        const rows = Array.from(document.querySelectorAll('#conv-list > a.conv-row'), (row) => ({{
            id: row.dataset.clientId,
            waiting: row.classList.contains('waiting'),
            active: row.classList.contains('active'),
            online: data(part(row, 'conv-online'), 'online', '') === 'true',
            preview: part(row, 'conv-preview').textContent,
            status: data(part(row, 'conv-status'), 'status', 'absent'),
            unread: Number(data(part(row, 'conv-unread'), 'count', 0)),
            unread_shown: shown(part(row, 'conv-unread')),
        }}));
        return {{
            state: data($('inbox-status'), 'state', 'absent'),
            list: data($('list-state'), 'state', 'absent'),
            rows,
            title: document.title,
            unread_total: Number(data($('total-unread'), 'count', 0)),
            unread_total_shown: shown($('total-unread')),
            waiting_total: Number(data($('total-waiting'), 'count', 0)),
            view: data($('console'), 'view', 'absent'),
        }};"#
    );
    serde_json::from_value(browser.js(&script).await).expect("inbox snapshot")
}

/// Waits until the console shows what `ok` wants, and returns it.
pub(crate) async fn wait_for_inbox(
    browser: &Browser,
    what: &str,
    ok: impl Fn(&Inbox) -> bool,
) -> Inbox {
    let what = format!("{}: the console to show {what}", browser.name);
    wait_for(&what, WAIT, || async {
        let now = inbox(browser).await;
        if ok(&now) {
            Ok(now)
        } else {
            Err(now)
        }
    })
    .await
}

/// Waits until the console's inbox socket is connected and a list is in.
pub(crate) async fn wait_for_console(browser: &Browser) {
    wait_for_inbox(browser, "a connected, loaded list", |inbox| {
        inbox.state == "connected" && inbox.list != "loading"
    })
    .await;
}

/// Clicks conversation `id` in the console's list.
pub(crate) async fn click_row(browser: &Browser, id: &str) {
    click(
        browser,
        &format!("#conv-list a.conv-row[data-client-id='{id}']"),
    )
    .await;
}

pub(crate) async fn click(browser: &Browser, selector: &str) {
    browser
        .find(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("{}: no {selector}: {e}", browser.name))
        .click()
        .await
        .unwrap_or_else(|e| panic!("{}: click {selector}: {e}", browser.name));
}

/// Waits until `selector` is rendered (`true`) or not (`false`).
pub(crate) async fn wait_for_shown(browser: &Browser, selector: &str, want: bool) {
    let what = format!(
        "{}: {selector} to be {}",
        browser.name,
        if want { "shown" } else { "gone" }
    );
    let script = format!("{SHOWN_JS} return shown(document.querySelector(arguments[0]));");
    wait_for(&what, WAIT, || async {
        let now = browser.js_with(&script, vec![json!(selector)]).await;
        if now == want {
            Ok(())
        } else {
            Err(now)
        }
    })
    .await
}
