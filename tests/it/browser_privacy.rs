//! The customer deletes their conversation from its page, in a real
//! browser: the button asks first (Cancel erases nothing), Delete erases it
//! and leaves for the start page.

use std::time::Duration;

use crate::browser::{click, wait_for, wait_for_shown, Chromedriver, WAIT};
use crate::common::{eventually, spawn_app, WsClient};

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
    assert_eq!(stored(), 1, "Cancel erases nothing");

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
