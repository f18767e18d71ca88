//! The reopen link of an email in a real browser: it opens the customer's
//! conversation with the reply they missed, and once expired it shows why.

use std::time::Duration;

use serde_json::json;

use crate::browser::{wait_for, wait_for_stored, Chromedriver, WAIT};
use crate::common::{eventually, http_client, spawn_app_with, WsClient};
use crate::email::FROM;
use crate::smtp::{free_port, MailCatcher};

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn the_link_in_an_email_reopens_the_conversation_in_a_browser_until_it_expires() {
    let driver = Chromedriver::start().await;
    let smtp = MailCatcher::start(free_port()).await;
    let url = smtp.url();
    let app = spawn_app_with(&[
        "--smtp-url",
        &url,
        "--mail-from",
        FROM,
        "--notify-unseen-after",
        "1s",
        // Long enough for a browser to start on a loaded machine.
        "--reopen-link-ttl",
        "20s",
    ])
    .await;
    let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/come-back")).await;
    customer
        .send_json(json!({"type": "contact", "email": "ana@example.com"}))
        .await;
    customer.wait_for("contact").await;
    customer.say("Hello", Some("c-1")).await;
    customer.close().await;
    let (mut agent, _, _) = WsClient::join(&app.ws_as_agent("/ws/agent/come-back")).await;
    agent.say("Your parcel ships today", Some("a-1")).await;
    agent.wait_for("message").await;

    let mail = smtp.wait_for(1).await;
    let at = mail[0].find("Continue the conversation: ").expect("a link") + 27;
    let link = mail[0][at..]
        .split_whitespace()
        .next()
        .expect("the link")
        .to_owned();

    // Another device: a fresh browser, no cookie.
    let browser = driver.browser("customer").await;
    browser.goto(&link).await.expect("open the link");
    wait_for_stored(&browser, &["Hello", "Your parcel ships today"]).await;
    browser.assert_no_script_errors().await;

    eventually("the link to expire", Duration::from_secs(40), || {
        let link = link.clone();
        async move {
            let status = http_client().get(&link).send().await.expect("GET").status();
            (status == 410).then_some(())
        }
    })
    .await;
    browser.goto(&link).await.expect("open the expired link");
    wait_for("the expired page", WAIT, || async {
        let text = browser
            .js("return document.body ? document.body.textContent : ''")
            .await;
        let text = text.as_str().unwrap_or_default().to_owned();
        if text.contains("expired") {
            Ok(())
        } else {
            Err(text)
        }
    })
    .await;
    browser.quit().await;
}
