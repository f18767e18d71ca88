//! Privacy pages in a real browser: the customer deletes their
//! conversation from its page (the button asks first, Cancel erases
//! nothing, Delete erases it and leaves for the start page); an admin reads
//! the audit log page, in English and Chinese.

use std::time::Duration;

use crate::browser::{
    assert_all_labels_in, click, fill_login_form, switch_language, wait_for, wait_for_shown,
    Chromedriver, WAIT,
};
use crate::common::{eventually, spawn_app, WsClient, ADMIN_NAME};

const DB_FILE: &str = "support-chat.db";

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn the_customer_deletes_their_conversation_after_confirming() {
    let driver = Chromedriver::start().await;
    let app = spawn_app().await;
    let (mut agent, _, _) = WsClient::join(&app.ws_as_agent("/ws/agent/self-erase")).await;
    agent.say("golf words for the customer", Some("g-1")).await;
    agent.wait_for("message").await;
    let browser = driver.browser("customer").await;
    browser
        .goto(&app.http("/chat/client/self-erase"))
        .await
        .expect("open the customer page");
    wait_for_shown(&browser, "#erase", true).await;
    let shown = "return document.body.innerText.includes('golf words for the customer');";
    wait_for("the agent's message on the page", WAIT, || async {
        if browser.js(shown).await == true {
            Ok(())
        } else {
            Err("not yet")
        }
    })
    .await;

    click(&browser, "#erase").await;
    wait_for_shown(&browser, "#erase-confirm", true).await;
    click(&browser, "#erase-no").await;
    wait_for_shown(&browser, "#erase-confirm", false).await;
    wait_for_shown(&browser, "#erase", true).await;
    let db = app.data_dir.path().join(DB_FILE);
    let stored = || {
        let conn = rusqlite::Connection::open(&db).expect("open");
        conn.query_row(
            "SELECT count(*) FROM messages WHERE client_id = 'self-erase'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .expect("count")
    };
    // Read beside the server: it commits what its journal holds once idle.
    wait_for("the message, still stored after Cancel", WAIT, || async {
        if stored() == 1 {
            Ok(())
        } else {
            Err("not in the file")
        }
    })
    .await;

    click(&browser, "#erase").await;
    click(&browser, "#erase-yes").await;
    wait_for("the start page", WAIT, || async {
        match browser.current_url().await {
            Ok(url) if url.path() == "/" => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert_eq!(
        agent.expect_close().await,
        Some(4004),
        "the agent's page is told"
    );
    eventually(
        "the conversation to be gone",
        Duration::from_secs(5),
        || async { (stored() == 0).then_some(()) },
    )
    .await;
    browser.assert_no_script_errors().await;
    browser.quit().await;
}

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn an_admin_reads_the_audit_log_page_in_both_languages() {
    let driver = Chromedriver::start().await;
    let app = spawn_app().await;
    app.admin_cookie().await;
    let browser = driver.browser("admin").await;
    browser
        .goto(&app.http("/agent/login?next=/agent/audit"))
        .await
        .expect("the login page");
    fill_login_form(&browser).await;
    let rows = "return [...document.querySelectorAll('#audit-rows tr')]
                  .map(tr => [...tr.cells].map(td => td.textContent));";
    let table = wait_for("the audit rows", WAIT, || async {
        let table = browser.js(rows).await;
        match table.as_array() {
            Some(rows) if rows.len() >= 2 => Ok(table.clone()),
            _ => Err(table),
        }
    })
    .await;
    // Newest first: this login, then the setup.
    assert_eq!(table[0][1], ADMIN_NAME);
    assert_eq!(table[0][2], "login");
    assert_eq!(table[0][5], "127.0.0.1");
    assert_eq!(table[1][2], "setup");
    assert_all_labels_in(&browser, "en").await;
    switch_language(&browser, "zh").await;
    assert_all_labels_in(&browser, "zh").await;
    browser.assert_no_script_errors().await;
    browser.quit().await;
}
