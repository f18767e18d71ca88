//! The pages in real browsers: headless Chromium driven through chromedriver
//! (WebDriver) with `fantoccini`, against the real server started in-process.
//!
//! Each test starts its own chromedriver on a free port and opens one
//! browser session (its own Chromium with a fresh profile) per person: a
//! customer and an agent. Everything is checked by polling the DOM against a
//! deadline; no test sleeps for correctness.
//!
//! Chromium and chromedriver come from Debian (`chromium`,
//! `chromium-driver`). Without them the tests are skipped with a notice,
//! except under `CI=true`, where a missing browser is a failure.

mod common;

use std::fmt::Debug;
use std::future::Future;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{spawn_app, AGENT_TOKEN};
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
const WAIT: Duration = Duration::from_secs(10);
/// Coming back after the server went away includes the pages' backoff.
const RECONNECT_WAIT: Duration = Duration::from_secs(30);
/// How often a waiting test looks at the DOM again.
const POLL: Duration = Duration::from_millis(100);

const DESKTOP: (u32, u32) = (1280, 900);
const PHONE: (u32, u32) = (390, 844);

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
struct Chromedriver {
    process: DriverProcess,
    _slot: SemaphorePermit<'static>,
}

impl Chromedriver {
    /// Starts chromedriver for one test. `None`, after a printed notice,
    /// when Chromium or chromedriver is not installed; under `CI=true` that
    /// fails the test instead.
    async fn start() -> Option<Chromedriver> {
        let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
            .into_iter()
            .filter(|path| !Path::new(path).exists())
            .collect();
        if !missing.is_empty() {
            let notice = format!(
                "the browser tests need {} (Debian packages chromium and chromium-driver)",
                missing.join(" and ")
            );
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{notice}: CI must install them");
            }
            eprintln!("SKIPPED: {notice}");
            return None;
        }
        let slot = BROWSER_SLOTS.acquire().await.expect("never closed");
        let mut errors = Vec::new();
        // The free port may be taken between finding and using it: retry.
        for _ in 0..3 {
            let mut process = DriverProcess::spawn();
            match process.wait_until_ready().await {
                Ok(()) => {
                    return Some(Chromedriver {
                        process,
                        _slot: slot,
                    })
                }
                Err(e) => errors.push(e),
            }
        }
        panic!("chromedriver did not start: {}", errors.join("; "));
    }

    /// A new browser session: its own headless Chromium with a fresh profile.
    async fn browser(&self, name: &'static str) -> Browser {
        let profile = TempDir::new().expect("profile dir");
        let capabilities = json!({
            "browserName": "chrome",
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
struct Browser {
    client: Client,
    name: &'static str,
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
    async fn quit(self) {
        let _ = self.client.close().await;
    }

    /// Runs `script` (its `return` value comes back as JSON).
    async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
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

    /// Fails the test if the page had an uncaught script error.
    async fn assert_no_script_errors(&self) {
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
struct Bubble {
    seq: Option<u64>,
    text: String,
    mine: bool,
    theirs: bool,
    pending: bool,
    failed: bool,
}

/// Polls `probe` until it returns `Ok`, for at most `timeout`; then fails
/// the test with `what` and the last thing `probe` saw.
async fn wait_for<T, E, F, Fut>(what: &str, timeout: Duration, probe: F) -> T
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
async fn wait_for_bubbles(
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
async fn wait_for_stored(browser: &Browser, expected: &[&str]) -> Vec<Bubble> {
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

async fn wait_for_state(browser: &Browser, state: &str, timeout: Duration) {
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

/// Opens the customer page of conversation `id` and waits until it is
/// connected (welcome and history received).
async fn open_customer(browser: &Browser, base: &str, id: &str) {
    browser
        .goto(&format!("{base}/chat/client/{id}"))
        .await
        .expect("customer page loads");
    wait_for_state(browser, "connected", WAIT).await;
}

/// Logs the agent in (one-click token login, which sets the cookie) and
/// lands on `next`.
async fn login(browser: &Browser, base: &str, next: &str) {
    let query =
        serde_urlencoded::to_string([("token", AGENT_TOKEN), ("next", next)]).expect("query");
    browser
        .goto(&format!("{base}/agent/login?{query}"))
        .await
        .expect("login page loads");
    let landed = browser.current_url().await.expect("current url");
    assert_eq!(landed.path(), next, "login redirects to where it was asked");
}

/// Logs in and opens the agent page of conversation `id`, connected.
async fn open_agent(browser: &Browser, base: &str, id: &str) {
    login(browser, base, &format!("/chat/server/{id}")).await;
    wait_for_state(browser, "connected", WAIT).await;
}

/// How a message leaves the composer.
#[derive(Clone, Copy)]
enum Via {
    Enter,
    SendButton,
}

/// Types `text` into `#input` and sends it; the composer is empty after.
async fn send_message(browser: &Browser, text: &str, via: Via) {
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
async fn screenshot(browser: &Browser, name: &str) -> (u32, u32) {
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
async fn set_viewport(browser: &Browser, target: (u32, u32)) {
    let what = format!("{}: a {}x{} viewport", browser.name, target.0, target.1);
    let reached = || async {
        let now = viewport(browser).await;
        if now == target {
            Ok(())
        } else {
            Err(now)
        }
    };
    browser
        .set_window_size(target.0, target.1)
        .await
        .expect("resize window");
    // The page sees a resize a moment later.
    if let Err(inner) = poll_until(Duration::from_secs(3), reached).await {
        // Window decorations take part of the window: make up for them.
        let outer = (
            target.0 + target.0.saturating_sub(inner.0),
            target.1 + target.1.saturating_sub(inner.1),
        );
        browser
            .set_window_size(outer.0, outer.1)
            .await
            .expect("resize window");
        wait_for(&what, WAIT, reached).await;
    }
}

/// Visible text outside the messages that no person should see: `null`,
/// `undefined`, `NaN`, or an unfilled `{placeholder}`. Returns where each is.
const LEFTOVER_TEXT: &str = r#"
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

// ---- tests ------------------------------------------------------------------

#[actix_web::test]
async fn customer_and_agent_chat_live_in_real_browsers() {
    let Some(driver) = Chromedriver::start().await else {
        return;
    };
    let app = spawn_app().await;
    let base = app.http("");
    let customer = driver.browser("customer").await;
    let agent = driver.browser("agent").await;

    open_customer(&customer, &base, "live-chat").await;
    open_agent(&agent, &base, "live-chat").await;
    wait_for_presence(&customer, true).await;
    wait_for_presence(&agent, true).await;

    let question = "你好，我的订单还没到";
    send_message(&customer, question, Via::Enter).await;
    let seen = wait_for_stored(&agent, &[question]).await;
    assert!(
        seen[0].theirs && !seen[0].mine,
        "the agent sees it as theirs"
    );
    let mine = wait_for_stored(&customer, &[question]).await;
    assert!(
        mine[0].mine && !mine[0].theirs,
        "the customer sees it as their own"
    );

    let answer = "Sorry about that! Let me check your order.";
    send_message(&agent, answer, Via::SendButton).await;
    let shown = wait_for_stored(&customer, &[question, answer]).await;
    assert!(shown[1].theirs, "the customer sees the reply as theirs");
    let shown = wait_for_stored(&agent, &[question, answer]).await;
    assert!(shown[1].mine, "the agent sees the reply as their own");

    customer.assert_no_script_errors().await;
    agent.assert_no_script_errors().await;
    customer.quit().await;
    agent.quit().await;
}

#[actix_web::test]
async fn reload_shows_the_history_exactly_once() {
    let Some(driver) = Chromedriver::start().await else {
        return;
    };
    let app = spawn_app().await;
    let base = app.http("");
    let customer = driver.browser("customer").await;
    let agent = driver.browser("agent").await;
    open_customer(&customer, &base, "reload").await;
    open_agent(&agent, &base, "reload").await;

    let mut expected = vec!["first", "second", "third"];
    for text in &expected {
        send_message(&customer, text, Via::Enter).await;
    }
    expected.push("an answer");
    send_message(&agent, "an answer", Via::SendButton).await;
    wait_for_stored(&customer, &expected).await;

    customer.refresh().await.expect("reload");
    wait_for_state(&customer, "connected", WAIT).await;
    let after = wait_for_stored(&customer, &expected).await;
    assert_eq!(seqs_of(&after), vec![1, 2, 3, 4], "each seq once, in order");
    assert_eq!(after.len(), 4, "nothing but the stored messages");

    // Anything shown twice after the reload would be there by the time the
    // next live message arrives.
    expected.push("after the reload");
    send_message(&agent, "after the reload", Via::SendButton).await;
    wait_for_stored(&customer, &expected).await;

    customer.assert_no_script_errors().await;
    agent.assert_no_script_errors().await;
    customer.quit().await;
    agent.quit().await;
}

#[actix_web::test]
async fn pages_reconnect_after_a_server_restart_and_go_on_chatting() {
    let Some(driver) = Chromedriver::start().await else {
        return;
    };
    let app = spawn_app().await;
    let base = app.http("");
    let customer = driver.browser("customer").await;
    let agent = driver.browser("agent").await;
    open_customer(&customer, &base, "restart").await;
    open_agent(&agent, &base, "restart").await;

    let mut expected = vec!["before the restart"];
    send_message(&customer, expected[0], Via::Enter).await;
    wait_for_stored(&agent, &expected).await;
    wait_for_stored(&customer, &expected).await;

    // Down and up again at once: both pages come back on their own.
    record_status_changes(&customer).await;
    record_status_changes(&agent).await;
    let app = app.restart().await;
    wait_for_reconnect(&customer).await;
    wait_for_reconnect(&agent).await;

    expected.push("after the restart");
    send_message(&customer, "after the restart", Via::Enter).await;
    expected.push("welcome back");
    wait_for_stored(&agent, &expected[..2]).await;
    send_message(&agent, "welcome back", Via::SendButton).await;
    wait_for_stored(&customer, &expected).await;
    wait_for_stored(&agent, &expected).await;

    // Down for a while: what the customer writes meanwhile waits, pending,
    // and is delivered once the server is back.
    record_status_changes(&customer).await;
    record_status_changes(&agent).await;
    let stopped = app.stop().await;
    wait_for(
        "customer: the page to notice the server is gone",
        WAIT,
        || async {
            let state = connection_state(&customer).await;
            if state == "connected" {
                Err(state)
            } else {
                Ok(())
            }
        },
    )
    .await;
    send_message(&customer, "written while the server was down", Via::Enter).await;
    let queued = bubbles(&customer).await;
    let last = queued.last().expect("a bubble for the new message");
    assert_eq!(last.text, "written while the server was down");
    assert!(
        last.mine && last.pending && last.seq.is_none(),
        "queued as pending, not stored: {last:?}"
    );
    assert_eq!(seqs_of(&queued), vec![1, 2, 3]);

    let app = stopped.start_again();
    wait_for_reconnect(&customer).await;
    wait_for_reconnect(&agent).await;
    expected.push("written while the server was down");
    wait_for_stored(&customer, &expected).await;
    wait_for_stored(&agent, &expected).await;

    customer.assert_no_script_errors().await;
    agent.assert_no_script_errors().await;
    customer.quit().await;
    agent.quit().await;
    app.stop().await;
}

#[actix_web::test]
async fn a_page_starts_afresh_when_the_server_lost_its_history() {
    let Some(driver) = Chromedriver::start().await else {
        return;
    };
    let app = spawn_app().await;
    let base = app.http("");
    let customer = driver.browser("customer").await;
    let agent = driver.browser("agent").await;
    open_customer(&customer, &base, "lost").await;
    open_agent(&agent, &base, "lost").await;

    let old = ["old one", "old two", "old three"];
    send_message(&customer, old[0], Via::Enter).await;
    send_message(&agent, old[1], Via::SendButton).await;
    wait_for_stored(&customer, &old[..2]).await;
    send_message(&customer, old[2], Via::Enter).await;
    wait_for_stored(&customer, &old).await;
    wait_for_stored(&agent, &old).await;

    record_status_changes(&customer).await;
    record_status_changes(&agent).await;
    let _app = app.restart_with_empty_store().await;
    wait_for_reconnect(&customer).await;
    wait_for_reconnect(&agent).await;
    // Connected means welcome and history are in: nothing stale remains.
    wait_for_stored(&customer, &[]).await;
    wait_for_stored(&agent, &[]).await;

    send_message(&customer, "a fresh start", Via::Enter).await;
    let shown = wait_for_stored(&agent, &["a fresh start"]).await;
    assert_eq!(shown[0].seq, Some(1), "new messages start at seq 1");
    wait_for_stored(&customer, &["a fresh start"]).await;
    send_message(&agent, "hello again", Via::SendButton).await;
    wait_for_stored(&customer, &["a fresh start", "hello again"]).await;
    wait_for_stored(&agent, &["a fresh start", "hello again"]).await;

    customer.assert_no_script_errors().await;
    agent.assert_no_script_errors().await;
    customer.quit().await;
    agent.quit().await;
}

#[actix_web::test]
async fn html_in_a_message_is_shown_as_text() {
    let Some(driver) = Chromedriver::start().await else {
        return;
    };
    let app = spawn_app().await;
    let base = app.http("");
    let customer = driver.browser("customer").await;
    let agent = driver.browser("agent").await;
    open_customer(&customer, &base, "html").await;
    open_agent(&agent, &base, "html").await;

    let payloads = [
        "<img src=x onerror=alert(1)>",
        "<script>alert(2)</script><b>bold?</b>",
    ];
    for text in payloads {
        send_message(&customer, text, Via::Enter).await;
    }
    // The marker arrives after the payloads: by then they are rendered and
    // an `img` would have failed to load (and fired `onerror`).
    send_message(&customer, "marker", Via::Enter).await;
    let expected = [payloads[0], payloads[1], "marker"];
    for page in [&agent, &customer] {
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
    wait_for_state(&agent, "connected", WAIT).await;
    wait_for_stored(&agent, &expected).await;
    assert_no_dialog(&agent).await;

    customer.assert_no_script_errors().await;
    agent.assert_no_script_errors().await;
    customer.quit().await;
    agent.quit().await;
}

#[actix_web::test]
async fn both_pages_fit_desktop_and_phone_screens() {
    let Some(driver) = Chromedriver::start().await else {
        return;
    };
    let app = spawn_app().await;
    let base = app.http("");
    let customer = driver.browser("customer").await;
    let agent = driver.browser("agent").await;
    open_customer(&customer, &base, "looks").await;
    open_agent(&agent, &base, "looks").await;

    let conversation = [
        "Hi! My order #10023 hasn't arrived yet. It was due on Monday.",
        "你好，我的订单还没到",
        "Sorry to hear that. I can see it left our warehouse on Friday; the courier \
         reports a delay in your area. It should reach you tomorrow before noon.",
        "Thanks, that helps 👍",
    ];
    send_message(&customer, conversation[0], Via::Enter).await;
    send_message(&customer, conversation[1], Via::Enter).await;
    wait_for_stored(&agent, &conversation[..2]).await;
    send_message(&agent, conversation[2], Via::SendButton).await;
    wait_for_stored(&customer, &conversation[..3]).await;
    send_message(&customer, conversation[3], Via::Enter).await;
    wait_for_stored(&agent, &conversation).await;
    wait_for_stored(&customer, &conversation).await;
    wait_for_presence(&customer, true).await;

    for (size, label) in [(DESKTOP, "desktop"), (PHONE, "phone")] {
        for page in [&customer, &agent] {
            set_viewport(page, size).await;
            // Nothing sticks out sideways, and the composer is on screen.
            let layout = page
                .js(r#"
                    const box = (id) => document.getElementById(id).getBoundingClientRect();
                    const input = box('input'), send = box('send');
                    return {
                        overflow: document.documentElement.scrollWidth - window.innerWidth,
                        composer_visible: input.left >= 0 && send.right <= window.innerWidth
                            && input.top >= 0 && send.bottom <= window.innerHeight,
                    };
                "#)
                .await;
            assert_eq!(
                layout["overflow"], 0,
                "{} at {label} size: no horizontal overflow",
                page.name
            );
            assert_eq!(
                layout["composer_visible"], true,
                "{} at {label} size: the composer is on screen",
                page.name
            );
            let leftovers = page.js(LEFTOVER_TEXT).await;
            assert_eq!(
                leftovers,
                json!([]),
                "{} at {label} size: text that is a bug, not a message",
                page.name
            );
            let shot = screenshot(page, &format!("{}-{label}", page.name)).await;
            assert_eq!(shot, size, "{} {label} screenshot size", page.name);
        }
    }

    customer.assert_no_script_errors().await;
    agent.assert_no_script_errors().await;
    customer.quit().await;
    agent.quit().await;
}
