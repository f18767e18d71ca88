//! The pages in real browsers: headless Chromium driven through chromedriver
//! (WebDriver) with `fantoccini`, against the real server started in-process.
//!
//! Each test is one story told with a `Chat`: its own server, its own
//! chromedriver on a free port, and one browser session (its own Chromium
//! with a fresh profile) per person, a customer and an agent. The agent uses
//! either the single-conversation page (`/chat/server/{id}`) or the console
//! (`/agent`). Everything is checked by polling the DOM against a deadline;
//! no test sleeps for correctness.
//!
//! Chromium and chromedriver come from Debian (`chromium`,
//! `chromium-driver`). The tests are `#[ignore]`d so that a plain
//! `cargo test` says they did not run; `cargo test -- --include-ignored`
//! (the README's test command, and CI's) runs them, and a missing browser
//! fails them.

use std::fmt::Debug;
use std::future::Future;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{
    http_client, session_cookie, spawn_app_with, TestApp, WsClient, ADMIN_EMAIL, ADMIN_NAME,
    ADMIN_PASSWORD, AGENT_TOKEN,
};
use fantoccini::cookies::Cookie;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde::Deserialize;
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::sync::{Semaphore, SemaphorePermit};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long the DOM may take to show what a test expects.
pub(crate) const WAIT: Duration = Duration::from_secs(10);
/// Coming back after the server went away includes the pages' backoff.
const RECONNECT_WAIT: Duration = Duration::from_secs(30);
/// How often a waiting test looks at the DOM again.
const POLL: Duration = Duration::from_millis(100);

pub(crate) const DESKTOP: (u32, u32) = (1280, 900);
pub(crate) const PHONE: (u32, u32) = (390, 844);

/// At most this many browser tests run at once (each runs two Chromiums).
static BROWSER_SLOTS: Semaphore = Semaphore::const_new(2);

// ---- chromedriver ---------------------------------------------------------

/// A running chromedriver child process. Dropping it asks chromedriver to
/// shut down (which quits the browsers it started) and then kills it, so
/// nothing outlives a test, even one that panicked.
struct DriverProcess {
    child: Child,
    port: u16,
}

impl DriverProcess {
    fn spawn() -> DriverProcess {
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}"));
        DriverProcess { child, port }
    }

    /// Waits until chromedriver answers `GET /status` with `ready: true`.
    async fn wait_until_ready(&mut self) -> Result<(), String> {
        let url = format!("http://127.0.0.1:{}/status", self.port);
        let http = reqwest::Client::new();
        let deadline = Instant::now() + WAIT;
        let mut last = String::from("no answer");
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("chromedriver exited with {status}"));
            }
            match http.get(&url).send().await {
                Ok(response) => match response.json::<Value>().await {
                    Ok(body) if body["value"]["ready"] == true => return Ok(()),
                    Ok(body) => last = format!("not ready: {body}"),
                    Err(e) => last = format!("unreadable /status: {e}"),
                },
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(POLL).await;
        }
        Err(format!("port {}: {last}", self.port))
    }
}

impl Drop for DriverProcess {
    fn drop(&mut self) {
        // The polite way first: chromedriver quits its browsers.
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        if let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(1)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            let _ = stream.write_all(
                b"GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            );
            let _ = stream.read_to_end(&mut Vec::new());
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free local port")
        .port()
}

/// A test's chromedriver, holding one of the browser slots.
pub(crate) struct Chromedriver {
    process: DriverProcess,
    _slot: SemaphorePermit<'static>,
}

impl Chromedriver {
    /// Starts chromedriver for one test; fails the test, saying what to
    /// install, when Chromium or chromedriver is missing (these tests are
    /// `#[ignore]`d, so they run only when asked for).
    pub(crate) async fn start() -> Chromedriver {
        let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
            .into_iter()
            .filter(|path| !Path::new(path).exists())
            .collect();
        if !missing.is_empty() {
            let notice = format!(
                "the browser tests need {} (Debian packages chromium and chromium-driver)",
                missing.join(" and ")
            );
            panic!("{notice}");
        }
        let slot = BROWSER_SLOTS.acquire().await.expect("never closed");
        let mut errors = Vec::new();
        // The free port may be taken between finding and using it: retry.
        for _ in 0..3 {
            let mut process = DriverProcess::spawn();
            match process.wait_until_ready().await {
                Ok(()) => {
                    return Chromedriver {
                        process,
                        _slot: slot,
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        panic!("chromedriver did not start: {}", errors.join("; "));
    }

    /// A new browser session: its own headless Chromium with a fresh profile.
    pub(crate) async fn browser(&self, name: &'static str) -> Browser {
        self.session(name, false).await
    }

    /// Like `browser`, trusting self-signed certificates (the proxy test's).
    pub(crate) async fn browser_trusting_any_certificate(&self, name: &'static str) -> Browser {
        self.session(name, true).await
    }

    async fn session(&self, name: &'static str, insecure_certs: bool) -> Browser {
        let profile = TempDir::new().expect("profile dir");
        let capabilities = json!({
            "browserName": "chrome",
            "acceptInsecureCerts": insecure_certs,
            // An alert must stay open, so that a test can see it.
            "unhandledPromptBehavior": "ignore",
            // Keep the console, for `script_errors`.
            "goog:loggingPrefs": { "browser": "ALL" },
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--remote-debugging-pipe",
                    format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("json! of an object")
        };
        let driver_url = format!("http://127.0.0.1:{}", self.process.port);
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver_url)
            .await
            .unwrap_or_else(|e| panic!("{name}: cannot start a Chromium session: {e}"));
        Browser {
            client,
            name,
            driver_url,
            _profile: profile,
        }
    }
}

/// One person's browser. Derefs to the fantoccini `Client`.
pub(crate) struct Browser {
    client: Client,
    pub(crate) name: &'static str,
    driver_url: String,
    _profile: TempDir,
}

impl std::ops::Deref for Browser {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Browser {
    /// Ends the session (and its Chromium).
    pub(crate) async fn quit(self) {
        let _ = self.client.close().await;
    }

    /// Runs `script` (its `return` value comes back as JSON).
    pub(crate) async fn js(&self, script: &str) -> Value {
        self.js_with(script, vec![]).await
    }

    /// Runs `script` with `arguments[0..]` set to `args`.
    pub(crate) async fn js_with(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("{}: script failed: {e}\n{script}", self.name))
    }
}

impl Browser {
    /// Uncaught script errors in the page since the last call (console
    /// messages and failed loads are not counted).
    async fn script_errors(&self) -> Vec<String> {
        // chromedriver's own command, asked directly.
        let session = self.client.session_id().await.ok().flatten();
        let url = format!(
            "{}/session/{}/se/log",
            self.driver_url,
            session.expect("a session id")
        );
        let response = reqwest::Client::new()
            .post(&url)
            .json(&json!({ "type": "browser" }))
            .send()
            .await
            .and_then(|r| r.error_for_status());
        let body: Value = match response {
            Ok(response) => response.json().await.expect("browser log JSON"),
            Err(e) => panic!("{}: browser log: {e}", self.name),
        };
        let entries = &body["value"];
        entries
            .as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["source"] == "javascript")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Runs a Chrome DevTools command (chromedriver's own endpoint), e.g.
    /// to emulate a media feature.
    pub(crate) async fn cdp(&self, cmd: &str, params: Value) {
        let session = self.client.session_id().await.ok().flatten();
        let url = format!(
            "{}/session/{}/goog/cdp/execute",
            self.driver_url,
            session.expect("a session id")
        );
        reqwest::Client::new()
            .post(&url)
            .json(&json!({ "cmd": cmd, "params": params }))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .unwrap_or_else(|e| panic!("{}: {cmd}: {e}", self.name));
    }

    /// Fails the test if the page had an uncaught script error.
    pub(crate) async fn assert_no_script_errors(&self) {
        let errors = self.script_errors().await;
        assert!(
            errors.is_empty(),
            "{}: script errors: {errors:#?}",
            self.name
        );
    }
}

// ---- page helpers -----------------------------------------------------------

/// A chat bubble as the page shows it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct Bubble {
    seq: Option<u64>,
    text: String,
    mine: bool,
    theirs: bool,
    pending: bool,
    failed: bool,
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
async fn poll_until<T, E, F, Fut>(timeout: Duration, mut probe: F) -> Result<T, E>
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
async fn bubbles(browser: &Browser) -> Vec<Bubble> {
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
fn texts_of(bubbles: &[Bubble]) -> Vec<&str> {
    bubbles.iter().map(|b| b.text.as_str()).collect()
}

/// The seqs of the stored bubbles, in order.
fn seqs_of(bubbles: &[Bubble]) -> Vec<u64> {
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
async fn connection_state(browser: &Browser) -> String {
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
async fn wait_for_presence(browser: &Browser, online: bool) {
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
async fn record_status_changes(browser: &Browser) {
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
async fn wait_for_reconnect(browser: &Browser) {
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
fn screenshot_dir() -> PathBuf {
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
async fn viewport(browser: &Browser) -> (u32, u32) {
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
async fn assert_no_dialog(browser: &Browser) {
    if let Ok(text) = browser.get_alert_text().await {
        panic!("{}: a dialog is open: {text:?}", browser.name);
    }
}

/// Where a page's composer is: the layout facts every screen size must keep.
const COMPOSER_LAYOUT: &str = r#"
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
async fn assert_composer_fits(browser: &Browser, label: &str) {
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

// ---- the fixture: a server, a customer and an agent -------------------------------

/// One test's world: a fresh server and two people, each in their own
/// browser, about conversation `id`. `finish` ends it and fails the test if
/// either page had a script error.
struct Chat {
    id: &'static str,
    app: TestApp,
    customer: Browser,
    agent: Browser,
    /// Declared last, so dropped last: it takes its browsers down with it,
    /// even when a test panics.
    driver: Chromedriver,
}

impl Chat {
    /// Starts chromedriver, the server and both browsers (on blank pages).
    async fn start(id: &'static str) -> Chat {
        Chat::start_with(id, &[]).await
    }

    /// `start` with extra server flags.
    async fn start_with(id: &'static str, flags: &[&str]) -> Chat {
        let driver = Chromedriver::start().await;
        let app = spawn_app_with(flags).await;
        // The agent's account, which `log_agent_in` logs in with.
        app.admin_cookie().await;
        let (customer, agent) = tokio::join!(driver.browser("customer"), driver.browser("agent"));
        Chat {
            id,
            app,
            customer,
            agent,
            driver,
        }
    }

    /// `start`, then the customer page and the agent's single-conversation
    /// page of `id`, both connected.
    async fn open(id: &'static str) -> Chat {
        let chat = Chat::start(id).await;
        tokio::join!(chat.open_customer(), chat.open_agent_page());
        chat
    }

    fn url(&self, path: &str) -> String {
        self.app.http(path)
    }

    /// Opens the customer page and waits until it is connected (welcome and
    /// history received).
    async fn open_customer(&self) {
        self.open_customer_with("").await;
    }

    /// `open_customer` with a query string, e.g. `?lang=zh`.
    async fn open_customer_with(&self, query: &str) {
        let url = self.url(&format!("/chat/client/{}{query}", self.id));
        self.customer.goto(&url).await.expect("customer page loads");
        wait_for_state(&self.customer, "connected", WAIT).await;
    }

    /// Logs the agent in with the login form (which sets the session
    /// cookie) and lands on `next`.
    async fn log_agent_in(&self, next: &str) {
        let query = serde_urlencoded::to_string([("next", next)]).expect("query");
        let url = self.url(&format!("/agent/login?{query}"));
        self.agent.goto(&url).await.expect("login page loads");
        fill_login_form(&self.agent).await;
        let landed = self.agent.current_url().await.expect("current url");
        assert_eq!(landed.path(), next, "login redirects to where it was asked");
    }

    /// The agent's single-conversation page, connected.
    async fn open_agent_page(&self) {
        self.log_agent_in(&format!("/chat/server/{}", self.id))
            .await;
        wait_for_state(&self.agent, "connected", WAIT).await;
    }

    /// The agent's console at `/agent`, with its list loaded.
    async fn open_console(&self) {
        self.log_agent_in("/agent").await;
        wait_for_console(&self.agent).await;
    }

    /// The console with this conversation open (`/agent#<id>`), connected.
    async fn open_console_on_conversation(&self) {
        self.open_console().await;
        let url = self.url(&format!("/agent#{}", self.id));
        self.agent.goto(&url).await.expect("console route");
        wait_for_state(&self.agent, "connected", WAIT).await;
    }

    /// Checks both pages for script errors, closes the browsers and stops
    /// the server (which must shut down cleanly).
    async fn finish(self) {
        let Chat {
            app,
            customer,
            agent,
            driver,
            ..
        } = self;
        customer.assert_no_script_errors().await;
        agent.assert_no_script_errors().await;
        customer.quit().await;
        agent.quit().await;
        app.stop().await;
        drop(driver);
    }
}

/// Types the admin's email and password into the login form and submits.
pub(crate) async fn fill_login_form(browser: &Browser) {
    fill_login_form_as(browser, ADMIN_EMAIL, ADMIN_PASSWORD).await;
}

/// Types `email` and `password` into the login form and submits.
pub(crate) async fn fill_login_form_as(browser: &Browser, email: &str, password: &str) {
    for (id, keys) in [("email", email), ("password", password)] {
        browser
            .find(Locator::Id(id))
            .await
            .expect("the login form")
            .send_keys(keys)
            .await
            .expect("type into the login form");
    }
    let before = browser.current_url().await.expect("current url");
    click(browser, "#login").await;
    let left = || async {
        match browser.current_url().await {
            Ok(now) if now != before => Ok(()),
            other => Err(format!("{other:?}")),
        }
    };
    wait_for("the login form to be submitted", WAIT, left).await;
}

/// Makes conversation `id` over plain sockets, without a browser: the
/// customer writes `said`; with `answer`, an agent replies and reads it all;
/// with `resolve` too, the agent then resolves it.
async fn seed_conversation(
    app: &TestApp,
    id: &str,
    said: &[&str],
    answer: Option<&str>,
    resolve: bool,
) {
    let (mut customer, _, _) = WsClient::join(&app.ws(&format!("/ws/customer/{id}"))).await;
    for text in said {
        customer.say(text, None).await;
        customer.wait_for("message").await; // stored
    }
    if let Some(answer) = answer {
        let url = app.ws_as_agent(&format!("/ws/agent/{id}"));
        let (mut agent, _, _) = WsClient::join(&url).await;
        agent.say(answer, None).await;
        let reply = agent.wait_for("message").await;
        agent
            .send_json(json!({"type": "read", "seq": reply["seq"]}))
            .await;
        // The customer hears of the read mark once it is stored.
        let read = customer.wait_for("read").await;
        assert_eq!(read["seq"], reply["seq"], "{id}: the agent's read mark");
        if resolve {
            agent.send_json(json!({"type": "resolve"})).await;
            let status = agent.wait_for("status").await;
            assert_eq!(status["status"], "resolved", "{id}: resolved");
        }
        agent.close().await;
    }
    customer.close().await;
}

// ---- the console --------------------------------------------------------------------

/// A row of the console's conversation list, as shown.
#[derive(Debug, Clone, Deserialize)]
struct Row {
    id: String,
    waiting: bool,
    active: bool,
    online: bool,
    preview: String,
    status: String,
    unread: u64,
    unread_shown: bool,
}

/// What the console shows about the conversations.
#[derive(Debug, Clone, Deserialize)]
struct Inbox {
    /// `#inbox-status[data-state]`.
    state: String,
    /// `#list-state[data-state]`: `loading`, `idle`, `empty` or `nomatch`.
    list: String,
    rows: Vec<Row>,
    title: String,
    unread_total: u64,
    unread_total_shown: bool,
    waiting_total: u64,
    /// `#console[data-view]`: `list` or `chat` (what a narrow screen shows).
    view: String,
}

impl Inbox {
    fn row(&self, id: &str) -> Option<&Row> {
        self.rows.iter().find(|row| row.id == id)
    }

    fn ids(&self) -> Vec<&str> {
        self.rows.iter().map(|row| row.id.as_str()).collect()
    }
}

/// Is the element rendered? (`hidden`, `display: none` or in a hidden pane: no.)
const SHOWN_JS: &str = "const shown = (el) => Boolean(el && el.getClientRects().length);";

async fn inbox(browser: &Browser) -> Inbox {
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
async fn wait_for_inbox(browser: &Browser, what: &str, ok: impl Fn(&Inbox) -> bool) -> Inbox {
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
async fn click_row(browser: &Browser, id: &str) {
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

// ---- "Seen", typing, labels --------------------------------------------------------------

/// The "Seen" mark of a chat view, and the bubble it is under.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Seen {
    under_seq: Option<u64>,
    under_mine: bool,
    text: String,
    shown: bool,
}

async fn seen_mark(browser: &Browser) -> Option<Seen> {
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
async fn wait_for_seen(browser: &Browser, seq: u64) -> Seen {
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
async fn typing_line(browser: &Browser) -> Option<String> {
    let script = format!(
        "{SHOWN_JS} const t = document.getElementById('typing'); return shown(t) ? t.textContent : null;"
    );
    browser.js(&script).await.as_str().map(str::to_string)
}

/// Waits until the typing line says `want` (`None`: is hidden), for at most
/// `timeout`.
async fn wait_for_typing(browser: &Browser, want: Option<&str>, timeout: Duration) {
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
async fn record_typing(browser: &Browser) {
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
async fn typing_times(browser: &Browser) -> Value {
    browser.js("return window.__typing || null;").await
}

/// Types into `#input` without sending.
async fn type_into_composer(browser: &Browser, keys: &str) {
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
const LABELS: &str = r#"
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
async fn wait_for_labels(browser: &Browser, expected: &[(&str, &str)]) {
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
const WRONG_LANGUAGE: &str = r#"
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
async fn mark_document(browser: &Browser) {
    browser
        .js("window.__sameDocument = true; return null;")
        .await;
}

async fn assert_same_document(browser: &Browser) {
    let same = browser.js("return window.__sameDocument === true;").await;
    assert_eq!(same, true, "{}: the page was not reloaded", browser.name);
}

/// The console's layout: which panes show, and whether anything sticks out.
const CONSOLE_LAYOUT: &str = r#"
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
struct ConsoleLayout {
    overflow: i64,
    sticking_out: Vec<String>,
    view: String,
    list_shown: bool,
    chat_shown: bool,
    side_by_side: bool,
    composer_on_screen: bool,
    back_shown: bool,
    rows: usize,
}

async fn console_layout(browser: &Browser, label: &str) -> ConsoleLayout {
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

// ---- tests: the chat pages ------------------------------------------------------------

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

// ---- tests: the agent console ---------------------------------------------------------

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

// ---- tests: defects seen by a new user (issue 10) ---------------------------------------

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
