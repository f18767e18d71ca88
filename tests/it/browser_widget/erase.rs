//! The visitor deletes their conversation from inside the widget (after
//! confirming; Cancel deletes nothing): it is gone from the server and the
//! widget starts fresh — a new conversation for an anonymous visitor, the
//! same id, empty, for an identified one (whose signature the DELETE
//! carries, so only their own can go).

use super::host::{conversation_id, enter_chat, open_widget};
use super::shop::{sign, Shop, SECRET};
use crate::browser::{
    click, send_message, wait_for, wait_for_shown, wait_for_state, wait_for_stored, Browser,
    Chromedriver, Via, WAIT,
};
use crate::common::{TestApp, WsClient};

/// What `GET /api/conversations/{id}/export` answers an admin.
async fn export_status(app: &TestApp, admin: &str, id: &str) -> u16 {
    app.get_with(&format!("/api/conversations/{id}/export"), admin)
        .await
        .status()
        .as_u16()
}

/// Says something, asks to delete, cancels, then deletes; waits until the
/// server has no such conversation and the widget shows an empty chat.
async fn say_then_delete(browser: &Browser, app: &TestApp, id: &str) {
    let admin = app.admin_cookie().await;
    send_message(browser, "words to be forgotten", Via::Enter).await;
    wait_for_stored(browser, &["words to be forgotten"]).await;
    assert_eq!(export_status(app, &admin, id).await, 200);

    click(browser, "#erase").await;
    wait_for_shown(browser, "#erase-confirm", true).await;
    click(browser, "#erase-no").await;
    wait_for_shown(browser, "#erase-confirm", false).await;
    assert_eq!(
        export_status(app, &admin, id).await,
        200,
        "Cancel deletes nothing"
    );

    click(browser, "#erase").await;
    click(browser, "#erase-yes").await;
    wait_for("the conversation gone from the server", WAIT, || async {
        match export_status(app, &admin, id).await {
            404 => Ok(()),
            other => Err(other),
        }
    })
    .await;
    wait_for_state(browser, "connected", WAIT).await;
    wait_for_stored(browser, &[]).await;
    wait_for_shown(browser, "#erase", true).await;
    let old = browser
        .js("return document.body.innerText.includes('words to be forgotten');")
        .await;
    assert_eq!(old, false, "nothing of it left in the widget");
}

#[actix_web::test]
#[ignore = "needs chromium"]
async fn an_anonymous_visitor_deletes_the_conversation_in_the_widget_and_starts_a_new_one() {
    let (shop, app) = Shop::with_app(&[]).await;
    let driver = Chromedriver::start().await;
    let browser = driver.browser("visitor").await;
    open_widget(&browser, &shop.url("/page1")).await;
    enter_chat(&browser).await;
    let first = conversation_id(&browser).await;

    say_then_delete(&browser, &app, &first).await;
    let second = conversation_id(&browser).await;
    assert_ne!(second, first, "a new conversation");
    send_message(&browser, "a fresh start", Via::Enter).await;
    wait_for_stored(&browser, &["a fresh start"]).await;
    let (_, _, history) = WsClient::join(&app.ws_as_agent(&format!("/ws/agent/{second}"))).await;
    assert_eq!(history["messages"][0]["text"], "a fresh start");
    browser.quit().await;
}

#[actix_web::test]
#[ignore = "needs chromium"]
async fn an_identified_visitor_deletes_their_own_conversation_in_the_widget() {
    let (shop, app) = Shop::with_app(&["--identity-secret", SECRET]).await;
    let driver = Chromedriver::start().await;
    let browser = driver.browser("visitor").await;
    let sig = sign("user-7");
    open_widget(
        &browser,
        &shop.url(&format!("/page1?identify=user-7:{sig}")),
    )
    .await;
    enter_chat(&browser).await;

    say_then_delete(&browser, &app, "user-7").await;
    send_message(&browser, "a fresh start", Via::Enter).await;
    wait_for_stored(&browser, &["a fresh start"]).await;
    let (_, _, history) = WsClient::join(&app.ws_as_agent("/ws/agent/user-7")).await;
    let texts: Vec<&serde_json::Value> = history["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| &m["text"])
        .collect();
    assert_eq!(texts, ["a fresh start"], "their id, with nothing of before");
    browser.quit().await;
}
